"""Boot lab VMs under qemu and talk to them over SSH."""
import hashlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import tempfile
import threading
import time

from . import util

KERNEL_ARGS = {
    "selinux": "security=selinux selinux=1",
    "apparmor": "security=apparmor apparmor=1",
}
HOSTKEY_ALIAS = "confine-lab"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# Under emulation the plain qemu64 model costs about 9% less host CPU for the same guest work, and 11% less for a
# boot, than max (which offers AVX2 and more for the guest to use): bench/qemu_cpu.py, bench/results/qemu-cpu-*.json.
TCG_DEFAULT_CPU = "qemu64"
TCG = ["-accel", "tcg,thread=multi", "-cpu", TCG_DEFAULT_CPU]
TCG_CPU = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.,=+-]*")
KERNEL_EXTRA = re.compile(r"[A-Za-z0-9_.,=-]+")
KVM = ["-accel", "kvm", "-cpu", "host"]


def qemu_identity():
    """The qemu binary as a cache key: its path, size and mtime (what a probe or a saved VM depends on)."""
    qemu = util.which("qemu-system-x86_64")
    st = os.stat(qemu)
    return qemu, st.st_size, int(st.st_mtime)


def process_cpu_seconds(pid):
    """CPU a process has used so far (user + system, from /proc/PID/stat), or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def overlay(path, backing):
    """A fresh copy-on-write disk at path over backing (an image, or a saved VM's frozen disk)."""
    if os.path.exists(path):
        os.unlink(path)
    util.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", path], quiet=True)
    return path


def kvm_works(kernel, timeout=45):
    """Boot kernel under KVM with no root disk and see whether it gets as far as looking for one.

    Measured on these machines: /dev/kvm exists but qemu aborts ("failed to set MSR 0x10a") or the guest hangs
    in the decompressor, so only a kernel that really runs counts. The answer is cached per qemu binary and
    kernel (its content, not its path: an image's kernel is probed in the build directory and used from the cache
    directory, and a cold `make demo` probed twice when the path was the key), so the probe runs once.
    """
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "/dev/kvm is missing or not accessible"
    with open(kernel, "rb") as f:
        kernel_sha = hashlib.sha256(f.read()).hexdigest()
    identity = qemu_identity()
    qemu = identity[0]
    key = hashlib.sha256(("%s %d %d %s" % (identity + (kernel_sha,))).encode()).hexdigest()[:12]
    cache = os.path.join(util.cache_dir(), "kvm-probe-%s.json" % key)
    if os.path.exists(cache):
        with open(cache) as f:
            result = json.load(f)
        return result["works"], result["why"]
    util.step("probe KVM (once per qemu and kernel)")
    with tempfile.TemporaryDirectory() as tmp:
        console = os.path.join(tmp, "console.log")
        argv = [qemu, "-machine", "q35"] + KVM + [
            "-m", "256", "-display", "none", "-monitor", "none", "-no-reboot", "-serial", "file:" + console,
            "-kernel", kernel, "-append", "console=ttyS0 panic=-1 root=/dev/confine-no-such-disk"]
        try:
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                                  timeout=timeout, check=False)
            with open(console, errors="replace") as f:
                text = f.read()
            if "VFS:" in text or "Kernel panic" in text:
                works, why = True, "a kernel booted under KVM"
            else:
                works, why = False, "qemu -accel kvm exited (rc=%d): %s" % (
                    proc.returncode, (proc.stdout.strip().splitlines() or ["no output"])[-1])
        except subprocess.TimeoutExpired:
            works, why = False, "a kernel under KVM made no progress in %d s" % timeout
    with open(cache + ".%d" % os.getpid(), "w") as f:  # lanes probing at once never read half a file
        json.dump({"works": works, "why": why}, f)
    os.replace(cache + ".%d" % os.getpid(), cache)
    return works, why


def vcpus():
    """Virtual CPUs per lab VM: CONFINE_LAB_VCPUS, default 1. The test suite keeps both host cores busy, and there a
    second vCPU costs CPU without saving time: measured side by side on a loaded host (two busy loops), the same
    work (a policy rebuild, a Python compile, setfiles -c) took 75 CPU s and 121 s with 1 vCPU, 97 CPU s and 133 s
    with 2 (probably a vCPU spinning on a lock held by a vCPU the host has preempted)."""
    text = os.environ.get("CONFINE_LAB_VCPUS", "1")
    if not text.isdigit() or not 1 <= int(text) <= 16:
        raise util.LabError("CONFINE_LAB_VCPUS=%r: expected a number of CPUs from 1 to 16" % text)
    return text


_ACCEL = {}  # kernel -> (KVM works, why): said once per process
_ACCEL_LOCK = threading.Lock()


def accel_args(kernel):
    """qemu acceleration: CONFINE_LAB_ACCEL=kvm|tcg forces one; the default (auto) uses KVM only if it works."""
    accel = os.environ.get("CONFINE_LAB_ACCEL", "auto")
    if accel == "kvm":
        return KVM
    if accel == "tcg":
        return tcg()
    if accel != "auto":
        raise util.LabError("CONFINE_LAB_ACCEL=%r: expected auto, kvm or tcg" % accel)
    with _ACCEL_LOCK:  # lab up saves VMs in threads
        if kernel not in _ACCEL:
            _ACCEL[kernel] = kvm_works(kernel)
            works, why = _ACCEL[kernel]
            util.say("accelerator: %s, because %s" % ("KVM" if works else "software emulation (TCG)", why))
        works, why = _ACCEL[kernel]
    if works:
        return KVM
    return tcg()


def tcg():
    """The TCG arguments; CONFINE_LAB_TCG_CPU picks another emulated CPU model than qemu64 (bench/qemu_cpu.py)."""
    model = os.environ.get("CONFINE_LAB_TCG_CPU", TCG_DEFAULT_CPU)
    if not TCG_CPU.fullmatch(model):
        raise util.LabError("CONFINE_LAB_TCG_CPU=%r: expected a qemu CPU model such as max or Haswell" % model)
    return TCG[:-1] + [model]


def kernel_extra():
    """CONFINE_LAB_KERNEL_EXTRA: kernel arguments added to every lab VM's command line (bench/qemu_cpu.py)."""
    words = os.environ.get("CONFINE_LAB_KERNEL_EXTRA", "").split()
    bad = [w for w in words if not KERNEL_EXTRA.fullmatch(w)]
    if bad:
        raise util.LabError("CONFINE_LAB_KERNEL_EXTRA: %r is not a plain kernel argument" % bad[0])
    return words


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid_is_ours(pid, marker):
    """True when pid is still a qemu process started for marker (an overlay path)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = f.read().decode(errors="replace")
    except OSError:
        return False
    return "qemu-system" in cmd and marker in cmd


class VM:
    def __init__(self, image_dir, disk, lsm, name, rundir, port=None, pid=None, memory=2048, key=None):
        self.image_dir = image_dir
        self.disk = disk
        self.lsm = lsm
        self.name = name
        self.rundir = rundir
        self.port = port
        self.pid = pid
        self.memory = memory
        # The image's build key only bootstraps a lab; `lab up` replaces it with the lab's own key.
        self.key = key or os.path.join(image_dir, "id_ed25519")
        self.known_hosts = os.path.join(rundir, "known_hosts")
        self.console = os.path.join(rundir, name + "-console.log")
        self.resumed = False  # started from a saved state (lab/warm.py) rather than booted

    # -------------------------------------------------------------- lifecycle

    def argv(self, pidfile):
        """The qemu command line. Everything the guest sees is here; a warm start (lab/warm.py) must use the same
        one, with only the disk file, the port, the console file and the pidfile differing."""
        # systemd's 90 s unit start timeout is too short for an emulated guest on a loaded host: in CI,
        # systemd-networkd timed out at boot and the guest never got SSH. Give units ten minutes.
        append = " ".join(["root=/dev/vda rw console=ttyS0 panic=-1 systemd.default_timeout_start_sec=600",
                           KERNEL_ARGS[self.lsm]] + kernel_extra())
        return ["qemu-system-x86_64", "-name", "confine-lab-" + self.name, "-machine", "q35"] + accel_args(
            os.path.join(self.image_dir, "vmlinuz")) + [
            "-smp", vcpus(), "-m", str(self.memory), "-display", "none", "-monitor", "none",
            "-serial", "file:" + self.console,
            "-kernel", os.path.join(self.image_dir, "vmlinuz"),
            "-initrd", os.path.join(self.image_dir, "initrd.img"), "-append", append,
            "-drive", "file=%s,if=virtio,format=qcow2,cache=unsafe" % self.disk,
            "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22" % self.port,
            "-device", "virtio-net-pci,netdev=n0",
            "-object", "rng-random,filename=/dev/urandom,id=rng0", "-device", "virtio-rng-pci,rng=rng0",
            # a VM generation id: a guest restored from a saved state (a warm start) reseeds its random generator
            "-device", "vmgenid,guid=auto",
            "-daemonize", "-pidfile", pidfile,
        ]

    def start(self, incoming=None, qmp=None):
        """Boot, or with incoming (a saved state file) resume where the saved VM stopped; qmp: a control socket."""
        os.makedirs(self.rundir, exist_ok=True)
        with open(os.path.join(self.image_dir, "hostkey.pub")) as f:
            hostkey = " ".join(f.read().split()[:2])
        with open(self.known_hosts, "w") as f:
            f.write("%s %s\n" % (HOSTKEY_ALIAS, hostkey))
        self.port = self.port or free_port()
        pidfile = os.path.join(self.rundir, self.name + ".pid")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        argv = self.argv(pidfile)
        if incoming:
            argv += ["-incoming", "exec:cat " + shlex.quote(incoming)]
        if qmp:
            argv += ["-qmp", "unix:%s,server=on,wait=off" % qmp]
        util.step("%s %s (%s) on 127.0.0.1:%d, console log %s" % (
            "resume" if incoming else "boot", self.name, self.lsm, self.port, self.console))
        util.run(argv, quiet=True)
        try:
            with open(pidfile) as f:
                self.pid = int(f.read().strip())
        except (OSError, ValueError):  # qemu ended before it wrote one (a saved state it could not load, say)
            raise util.LabError("%s: qemu exited at start (no pidfile %s)" % (self.name, pidfile))
        self.resumed = bool(incoming)
        return self

    def cpu_seconds(self):
        """CPU the qemu process has used so far, or None when it is gone."""
        return process_cpu_seconds(self.pid)

    def alive(self):
        return bool(self.pid) and pid_is_ours(self.pid, self.disk)

    def ssh_argv(self, argv, connect_timeout=30):
        return ["ssh", "-F", "/dev/null", "-i", self.key, "-p", str(self.port),
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", "UserKnownHostsFile=" + self.known_hosts, "-o", "HostKeyAlias=" + HOSTKEY_ALIAS,
                "-o", "ConnectTimeout=%d" % connect_timeout, "-o", "ServerAliveInterval=10",
                "-o", "LogLevel=ERROR", "root@127.0.0.1"] + ([shlex.join(argv)] if argv else [])

    # ssh's own failures (exit 255) that a loaded machine causes and a retry cures; "Permission denied" is not one.
    TRANSIENT = ("timed out", "banner exchange", "Connection refused", "Connection reset", "closed by remote host")

    def _ssh_run(self, argv, connect_timeout=30, attempts=5, capture=True):
        """Run argv over SSH; retry ssh's transient failures (an emulated guest under load answers late)."""
        for attempt in range(attempts):
            proc = subprocess.run(self.ssh_argv(argv, connect_timeout=connect_timeout), check=False,
                                  stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, universal_newlines=True, stdin=subprocess.DEVNULL)
            if proc.returncode != 255 or not any(t in proc.stderr for t in self.TRANSIENT):
                return proc
            time.sleep(5 * (attempt + 1))
        return proc

    def ssh(self, argv, check=True):
        proc = self._ssh_run(argv)
        if check and proc.returncode != 0:
            raise util.LabError("%s: %s failed (rc=%d): %s" % (self.name, shlex.join(argv), proc.returncode,
                                                               proc.stderr.strip()[-2000:]))
        return proc.stdout

    def can_login(self, connect_timeout=30, attempts=5):
        """True when `true` runs over SSH with the current key."""
        return self._ssh_run(["true"], connect_timeout=connect_timeout, attempts=attempts,
                             capture=False).returncode == 0

    def wait_ssh(self, timeout=600):
        started = time.time()
        while time.time() - started < timeout:
            if not self.alive():
                raise util.LabError("%s: qemu exited while booting; see %s" % (self.name, self.console))
            if self.can_login(connect_timeout=5, attempts=1):
                util.say("%s: SSH up after %.0f s" % (self.name, time.time() - started))
                return
            time.sleep(3)
        raise util.LabError("%s: no SSH after %d s; see %s" % (self.name, timeout, self.console))

    def poweroff(self, timeout=180):
        subprocess.run(self.ssh_argv(["systemctl", "poweroff"]), check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        started = time.time()
        while self.alive() and time.time() - started < timeout:
            time.sleep(1)
        if self.alive():
            util.say("%s: did not power off in %d s, killing it" % (self.name, timeout))
            self.kill()

    def install_key(self, key):
        """Make key the only key that logs in as root, then use it (the SSH label of the file is kept)."""
        with open(key + ".pub") as f:
            pub = f.read().strip()
        self.ssh(["sh", "-c", 'umask 077 && printf "%s\\n" "$1" > /root/.ssh/authorized_keys', "sh", pub])
        old, self.key = self.key, key
        if not self.can_login():
            raise util.LabError("%s: the lab's own key does not log in after installing it" % self.name)
        self.key = old
        if self.can_login():
            raise util.LabError("%s: the image's build key still logs in" % self.name)
        self.key = key

    def kill(self):
        if not self.alive():
            return
        os.kill(self.pid, signal.SIGTERM)
        for dummy in range(50):
            if not self.alive():
                return
            time.sleep(0.2)
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)


class Booted:
    """Context manager: a VM booted on disk, killed on the way out if still running."""

    def __init__(self, image_dir, disk, lsm, name, timeout=600):
        self.vm = VM(image_dir, disk, lsm, name, rundir=image_dir)
        self.timeout = timeout

    def __enter__(self):
        self.vm.start()
        self.vm.wait_ssh(self.timeout)
        return self.vm

    def __exit__(self, *exc):
        self.vm.kill()
        return False
