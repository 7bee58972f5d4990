"""Warm starts: a lab VM resumed from the saved state of one that booted, instead of booting again.

A boot under software emulation costs about 100 CPU seconds (the kernel, the initramfs, systemd, AppArmor loading its
profiles), and the test command's lanes share two cores, so every boot slows every other lane. The first `lab up` of
an image and LSM boots as before on a disk of its own (an overlay over the image), waits until systemd has finished
starting everything, and saves the VM's whole state (memory, CPU, devices) with qemu's migration to a file; the disk
is then frozen. Every later `lab up` gives each VM a fresh overlay over that frozen disk and resumes the saved state
(seconds), sets the guest's clock (it resumes at the time it was saved) and lets the guest reseed its random
generator (a VM generation id that changes on every start). The kernel, its enforcing SELinux or AppArmor, the disk
and every process are the ones that booted; a reboot inside a test is a real reboot.

The saved state is kept next to the image, keyed by everything the guest sees (the qemu command line, qemu's binary,
the accelerator, CPUs, memory, kernel arguments): any change makes a new one. `lab up --cold`, or CONFINE_LAB_WARM=0,
boots instead.
"""
import fcntl
import glob
import hashlib
import json
import os
import shlex
import shutil
import socket
import time

from . import util, vm

VERSION = 2  # bump when what is saved, or how, changes


def enabled():
    text = os.environ.get("CONFINE_LAB_WARM", "1")
    if text not in ("0", "1"):
        raise util.LabError("CONFINE_LAB_WARM=%r: expected 1 (resume saved VMs) or 0 (always boot)" % text)
    return text == "1"


def key(image_dir, lsm):
    """What the saved state depends on: the qemu command line with its per-run parts fixed, and qemu itself."""
    shape = vm.VM(image_dir, "DISK", lsm, "NAME", rundir="RUNDIR", port=1).argv("PIDFILE")
    text = json.dumps([VERSION, shape] + list(vm.qemu_identity()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class Saved:
    """A saved VM: its frozen disk and its state file."""

    def __init__(self, path):
        self.path = path
        self.disk = os.path.join(path, "disk.qcow2")
        self.state = os.path.join(path, "state")
        self.ready = os.path.join(path, "ready.json")

    def exists(self):
        return all(os.path.isfile(p) for p in (self.ready, self.disk, self.state))


# Units that fail on every boot of the lab images, cold or not (measured on both suites): saving such a boot is
# saving what every boot gives. Any other failed unit (auditd, ssh, a unit that timed out under load) is not saved.
KNOWN_FAILED = {"systemd-network-generator.service"}


class QMP:
    """The smallest QMP client: one command at a time, events skipped."""

    def __init__(self, path, timeout=60):
        started = time.time()
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() - started > timeout:
                    raise util.LabError("no QMP socket at %s after %d s" % (path, timeout))
                time.sleep(0.5)
        self.sock.settimeout(timeout)
        self.reader = self.sock.makefile("r")
        self._read()  # greeting
        self.command("qmp_capabilities")

    def _read(self):
        while True:
            line = self.reader.readline()
            if not line:
                raise util.LabError("QMP connection closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def command(self, name, **arguments):
        self.sock.sendall((json.dumps({"execute": name, "arguments": arguments}) + "\n").encode())
        reply = self._read()
        if "error" in reply:
            raise util.LabError("QMP %s: %s" % (name, reply["error"].get("desc", reply["error"])))
        return reply.get("return")

    def close(self):
        self.reader.close()
        self.sock.close()


def _lock(image_dir, lsm):
    """One lock per image and LSM (its name matches no saved state's), held while a state is made or removed."""
    lock = open(os.path.join(image_dir, "warm-%s.lock" % lsm), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def saved(image_dir, lsm, timeout=600):
    """The saved VM for image and LSM, made now (one boot) when there is none; None when warm starts are off.

    Lanes that start together and want the same one wait for the first."""
    if not enabled():
        return None
    s = Saved(os.path.join(image_dir, "warm-%s-%s" % (lsm, key(image_dir, lsm))))
    with _lock(image_dir, lsm):
        if not s.exists():
            _save(image_dir, lsm, s, timeout)
    return s


def discard(image_dir, lsm, s, why):
    """A saved state that did not resume is never trusted again: the next lab up saves a new one."""
    with _lock(image_dir, lsm):
        util.say("discarding the saved %s VM (%s): %s" % (lsm, s.path, why))
        shutil.rmtree(s.path, ignore_errors=True)


def _kill_leftover(image_dir, path, lsm):
    """A save that was killed leaves its daemonized qemu running: stop it before its directory goes."""
    try:
        with open(os.path.join(path, "warm-%s.pid" % lsm)) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    leftover = vm.VM(image_dir, os.path.join(path, "disk.qcow2"), lsm, "warm-" + lsm, rundir=path, pid=pid)
    if leftover.alive():
        util.say("stopping qemu %d left by an interrupted save" % pid)
        leftover.kill()


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _save(image_dir, lsm, s, timeout):
    for old in glob.glob(os.path.join(image_dir, "warm-%s-*" % lsm)):  # saved under another command line
        if old != s.path and os.path.isdir(old):
            util.say("removing %s (saved under another qemu command line)" % old)
            _kill_leftover(image_dir, old, lsm)
            shutil.rmtree(old, ignore_errors=True)
    _kill_leftover(image_dir, s.path, lsm)
    shutil.rmtree(s.path, ignore_errors=True)
    os.makedirs(s.path)
    vm.overlay(s.disk, os.path.join(image_dir, "base.qcow2"))
    machine = vm.VM(image_dir, s.disk, lsm, "warm-" + lsm, rundir=s.path)
    sock = os.path.join(s.path, "qmp.sock")
    if len(sock) > 100 or "," in sock:
        raise util.LabError("cannot save a VM under %s: the QMP socket path is too long or has a comma" % s.path)
    part, done = s.state + ".part", s.state + ".done"
    started = time.time()
    util.step("saving a booted %s VM for warm starts (once per image: a boot, then the save; %s)" % (lsm, s.path))
    try:
        machine.start(qmp=sock)
        machine.wait_ssh(timeout)
        # every unit started, so that no resumed VM repeats the end of a boot; a boot with a unit that failed
        # (one that timed out under load, say) is not what every lab should start from
        status = machine.ssh(["systemctl", "is-system-running", "--wait"], check=False).strip()
        failed = set(line.split()[0] for line in machine.ssh(
            ["systemctl", "list-units", "--failed", "--plain", "--no-legend"], check=False).splitlines() if line.strip())
        if status not in ("running", "degraded") or failed - KNOWN_FAILED:
            raise util.LabError("the %s boot is %s (failed units: %s): not saved" % (
                lsm, status or "unknown", ", ".join(sorted(failed)) or "none"))
        machine.ssh(["sync"])
        qmp = QMP(sock)
        # migrated while running (qemu stops it at the end; a state saved from a stopped VM resumes stopped),
        # unthrottled (qemu's default 128 MiB/s is for networks); cat's file is complete only once renamed
        qmp.command("migrate-set-parameters", **{"max-bandwidth": 8 << 30})
        qmp.command("migrate", uri="exec:cat > %s && mv %s %s" % (
            shlex.quote(part), shlex.quote(part), shlex.quote(done)))
        deadline = time.time() + timeout
        while True:
            status = qmp.command("query-migrate").get("status")
            if status == "completed":
                break
            if status in ("failed", "cancelled"):
                raise util.LabError("saving the %s VM's state: migration %s" % (lsm, status))
            if time.time() > deadline:
                qmp.command("migrate_cancel")
                raise util.LabError("saving the %s VM's state: not done after %d s" % (lsm, timeout))
            time.sleep(0.5)
        try:
            qmp.command("quit")
        except (util.LabError, OSError):
            pass  # qemu may close the socket before it answers
        qmp.close()
        for dummy in range(300):
            if not machine.alive() and os.path.exists(done):
                break
            time.sleep(0.2)
        machine.kill()
        if not os.path.exists(done):
            raise util.LabError("saving the %s VM's state: the state file was not completed" % lsm)
        for path in (done, s.disk):
            _fsync(path)
        os.replace(done, s.state)
        os.chmod(s.disk, 0o444)  # qemu opens backing files read-only; this says so to anyone else
        seconds = time.time() - started
        with open(s.ready + ".tmp", "w") as f:
            json.dump({"lsm": lsm, "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "seconds": round(seconds), "state_bytes": os.path.getsize(s.state),
                       "failed_units": sorted(failed)}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(s.ready + ".tmp", s.ready)
    except BaseException:
        machine.kill()
        shutil.rmtree(s.path, ignore_errors=True)
        raise
    util.say("%s VM saved in %.0f s (state %d MB)" % (lsm, seconds, os.path.getsize(s.state) >> 20))


def after_resume(machine):
    """The guest resumes with the clock of the moment it was saved: set it to now."""
    machine.ssh(["date", "-u", "-s", "@%.3f" % time.time()])
