"""confine.lsm lab: Debian VMs where SELinux and AppArmor really enforce, and container base images.

  python -m lab build [--suite bookworm] [--vm] [--containers] [--force]
  python -m lab up [--name default] [--lsm selinux,apparmor] [--suite bookworm] [--cold]
  python -m lab status|inventory|down [--name default]
  python -m lab ssh HOST [command ...]
  python -m lab dockerd
  python -m lab collections-path
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import sys

from . import images, util, vm, warm

LSMS = ("selinux", "apparmor")


def lab_dir(name):
    return os.path.join(util.state_dir(), name)


def load_state(name):
    path = os.path.join(lab_dir(name), "lab.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def save_state(name, state):
    path = os.path.join(lab_dir(name), "lab.json")
    with open(path + ".tmp", "w") as f:
        json.dump(state, f, indent=1)
    os.replace(path + ".tmp", path)


def vm_of(entry):
    return vm.VM(entry["image_dir"], entry["overlay"], entry["lsm"], entry["host"], rundir=entry["rundir"],
                 port=entry["port"], pid=entry["pid"], key=entry.get("key"))


def host_vars(machine):
    return {
        "ansible_host": "127.0.0.1",
        "ansible_port": machine.port,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": machine.key,
        # keepalives: behind qemu's port forward a rebooting guest never closes the TCP connection, so without
        # them a run whose host reboots under it waits forever instead of failing as unreachable
        "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o HostKeyAlias=%s -o StrictHostKeyChecking=yes "
                                   "-o IdentitiesOnly=yes -o ServerAliveInterval=15 -o ServerAliveCountMax=4"
                                   % (machine.known_hosts, vm.HOSTKEY_ALIAS),
        "ansible_python_interpreter": "/usr/bin/python3",
        # modules go through the open SSH session instead of being copied as files first: a quarter less time per
        # task under emulation (measured: 5 tasks 36-37 s against 48-53 s); root needs no sudo, so no requiretty issue
        "ansible_pipelining": True,
        # connection timeout: ansible's default 10 s is too short for an emulated guest on a loaded machine to start
        # mitogen's interpreter (the fleet-playbook lane failed "Connection timed out" with it); Molecule uses 60
        "ansible_timeout": 60,
        "confine_lab_lsm": machine.lsm,
    }


def write_inventory(name, state):
    groups = {lsm: {"hosts": {}} for lsm in LSMS}
    for entry in state["vms"]:
        groups[entry["lsm"]]["hosts"][entry["host"]] = host_vars(vm_of(entry))
    inv = {"all": {"children": {k: v for k, v in groups.items() if v["hosts"]}}}
    path = os.path.join(lab_dir(name), "inventory.json")
    with open(path, "w") as f:
        json.dump(inv, f, indent=1)
    return path


def cmd_build(args):
    want_vm = args.vm or not args.containers
    want_ctr = args.containers or not args.vm
    for suite in args.suite:
        if want_vm:
            images.build_vm(suite, force=args.force)
        if want_ctr:
            images.build_container(suite, force=args.force)


def cmd_up(args):
    name = args.name
    old = load_state(name)
    if old:
        machines = [vm_of(e) for e in old["vms"]]
        dead = [m.name for m in machines if not m.alive()]
        # a qemu process that runs is not a VM that answers: a hung guest is reported and the lab started again
        silent = [m.name for m in machines if m.name not in dead and not m.can_login(connect_timeout=15, attempts=2)]
        asked = {m.lsm for m in machines} == set(args.lsm) and args.suite in (None, old["suite"])
        if not dead and not silent and asked:
            for machine in machines:  # still enforcing: a lab a test left lowered is not handed out as up
                check_lsm(machine)
            util.say("lab %r already up; inventory: %s" % (name, write_inventory(name, old)))
            print(write_inventory(name, old))
            return
        util.say("lab %r is up but %s: starting it again" % (name, "; ".join(
            ["%s stopped" % n for n in dead] + ["%s does not answer SSH" % n for n in silent]) or
            "not as asked (suite %s, LSMs %s)" % (old["suite"], ",".join(m.lsm for m in machines))))
        cmd_down(args)
    args.suite = args.suite or "bookworm"
    image_dir = images.build_vm(args.suite)
    rundir = lab_dir(name)
    os.makedirs(rundir, exist_ok=True)
    os.chmod(rundir, 0o700)
    state = {"name": name, "suite": args.suite, "vms": []}
    machines = []
    # Each lab gets its own SSH key; the image's build key is replaced on every VM as soon as it boots.
    key = os.path.join(rundir, "id_ed25519")
    for stale in (key, key + ".pub"):
        if os.path.exists(stale):
            os.unlink(stale)
    util.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "confine-lab-" + name, "-f", key], quiet=True)
    # a saved VM per LSM to resume (made now, in parallel, when there is none); None: boot
    warm_starts = dict((lsm, None) for lsm in args.lsm)
    if not args.cold and warm.enabled():
        with concurrent.futures.ThreadPoolExecutor(len(args.lsm)) as pool:
            futures = dict((lsm, pool.submit(warm.saved, image_dir, lsm, args.timeout)) for lsm in args.lsm)
            for lsm, future in futures.items():
                try:
                    warm_starts[lsm] = future.result()
                except Exception as exc:  # pylint: disable=broad-except  # a warm start is only a shortcut
                    util.say("warm start for %s unavailable, booting instead: %s" % (lsm, exc))
    try:
        for lsm in args.lsm:
            host = "lab-%s-%s" % (lsm, args.suite) if name == "default" else "%s-%s" % (name, lsm)
            machine = start_vm(image_dir, lsm, host, rundir, warm_starts[lsm])
            machines.append(machine)
            state["vms"].append({"host": host, "lsm": lsm, "port": machine.port, "pid": machine.pid,
                                 "overlay": machine.disk, "image_dir": image_dir, "rundir": rundir, "key": key,
                                 "started": "resumed" if machine.resumed else "booted"})
            save_state(name, state)
        for i, machine in enumerate(machines):
            try:
                machine.wait_ssh(min(args.timeout, 180) if machine.resumed else args.timeout)
                if machine.resumed:
                    warm.after_resume(machine)
            except util.LabError as exc:
                if not machine.resumed:
                    raise
                machine.kill()
                machine = machines[i] = boot_instead(image_dir, machine.lsm, machine.name, rundir,
                                                     warm_starts[machine.lsm], exc)
                state["vms"][i].update(port=machine.port, pid=machine.pid, started="booted")
                save_state(name, state)
                machine.wait_ssh(args.timeout)
            machine.install_key(key)
            check_lsm(machine)
    except BaseException:
        for machine in machines:
            machine.kill()
        raise
    path = write_inventory(name, state)
    util.step("lab %r up: %s" % (name, ", ".join("%s (%s, port %d)" % (m.name, m.lsm, m.port) for m in machines)))
    print(path)


def start_vm(image_dir, lsm, host, rundir, saved):
    """A VM on a fresh overlay: over the image to boot, or over a saved VM's frozen disk to resume it."""
    disk = vm.overlay(os.path.join(rundir, host + ".qcow2"),
                      saved.disk if saved else os.path.join(image_dir, "base.qcow2"))
    try:
        return vm.VM(image_dir, disk, lsm, host, rundir=rundir).start(incoming=saved.state if saved else None)
    except util.LabError as exc:
        if not saved:
            raise
        return boot_instead(image_dir, lsm, host, rundir, saved, exc)


def boot_instead(image_dir, lsm, host, rundir, saved, exc):
    """A saved state that does not resume (qemu's firmware changed, a damaged file) is discarded; the VM boots."""
    warm.discard(image_dir, lsm, saved, str(exc))
    return start_vm(image_dir, lsm, host, rundir, None)


def check_lsm(machine):
    """Refuse a lab whose MAC is not really enforcing: that is the whole point of the lab."""
    if machine.lsm == "selinux":
        mode = machine.ssh(["getenforce"]).strip()
        if mode != "Enforcing":
            raise util.LabError("%s: getenforce says %s, expected Enforcing" % (machine.name, mode))
        util.say("%s: SELinux %s" % (machine.name, mode))
    else:
        machine.ssh(["aa-status", "--enabled"])
        util.say("%s: AppArmor enabled, %s profiles in enforce mode" % (
            machine.name, machine.ssh(["aa-status", "--enforced"]).strip()))


def cmd_down(args):
    state = load_state(args.name)
    if not state:
        util.say("lab %r is not up" % args.name)
        return
    for entry in state["vms"]:
        machine = vm_of(entry)
        if machine.alive():
            util.say("stopping %s (pid %d, %.0f CPU seconds)" % (machine.name, machine.pid, machine.cpu_seconds() or 0))
            machine.kill()
        if os.path.exists(entry["overlay"]):
            os.unlink(entry["overlay"])
    shutil.rmtree(lab_dir(args.name), ignore_errors=True)
    util.say("lab %r down" % args.name)


def cmd_status(args):
    state = load_state(args.name)
    if not state:
        print("lab %r: down" % args.name)
        return 1
    rc = 0
    for entry in state["vms"]:
        machine = vm_of(entry)
        if not machine.alive():
            print("%s: not running" % machine.name)
            rc = 1
            continue
        try:
            check_lsm(machine)
            print("%s: running, %s, 127.0.0.1:%d" % (machine.name, machine.lsm, machine.port))
        except util.LabError as exc:
            print("%s: running but %s" % (machine.name, exc))
            rc = 1
    return rc


def cmd_inventory(args):
    state = load_state(args.name)
    if not state:
        raise util.LabError("lab %r is not up: run `python -m lab up` first" % args.name)
    print(write_inventory(args.name, state))


def cmd_ssh(args):
    state = load_state(args.name)
    if not state:
        raise util.LabError("lab %r is not up" % args.name)
    for entry in state["vms"]:
        if entry["host"] == args.host or entry["lsm"] == args.host:
            argv = vm_of(entry).ssh_argv(args.command)
            os.execvp(argv[0], argv)
    raise util.LabError("no host %r in lab %r (hosts: %s)" % (
        args.host, args.name, ", ".join(e["host"] for e in state["vms"])))


def cmd_dockerd(args):
    util.ensure_dockerd()
    print("dockerd is running")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def csv(choices):
        def parse(text):
            items = [x for x in text.split(",") if x]
            if not items:
                raise argparse.ArgumentTypeError("name at least one of %s" % ", ".join(choices))
            bad = [x for x in items if x not in choices]
            if bad:
                raise argparse.ArgumentTypeError("unknown %s (choose from %s)" % (", ".join(bad), ", ".join(choices)))
            return items
        return parse

    p = sub.add_parser("build", help="build (or reuse) VM and container images")
    p.add_argument("--suite", type=csv(images.SUITES), default=["bookworm"])
    p.add_argument("--vm", action="store_true", help="only the VM image")
    p.add_argument("--containers", action="store_true", help="only the container images")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("up", help="boot the lab VMs and write an inventory")
    p.add_argument("--name", default="default")
    p.add_argument("--lsm", type=csv(LSMS), default=list(LSMS))
    p.add_argument("--suite", choices=images.SUITES, default=None,
                   help="bookworm unless given (a lab already up keeps its suite)")
    p.add_argument("--timeout", type=int, default=600)
    p.add_argument("--cold", action="store_true",
                   help="boot every VM instead of resuming the saved state of one that booted (lab/warm.py)")
    p.set_defaults(func=cmd_up)
    for cmd, func, text in (("down", cmd_down, "stop the lab's VMs and remove their overlays"),
                            ("status", cmd_status, "is the lab up and enforcing"),
                            ("inventory", cmd_inventory, "print the path of the lab's inventory")):
        p = sub.add_parser(cmd, help=text)
        p.add_argument("--name", default="default")
        p.set_defaults(func=func)
    p = sub.add_parser("ssh", help="SSH into a lab host (name or lsm)")
    p.add_argument("--name", default="default")
    p.add_argument("host")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_ssh)
    p = sub.add_parser("dockerd", help="start dockerd when none runs")
    p.set_defaults(func=cmd_dockerd)
    p = sub.add_parser("collections-path", help="print a collections path where ansible finds this checkout")
    p.set_defaults(func=lambda args: print(util.checkout_collections_path()))
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except util.LabError as exc:
        print("lab: error: %s" % exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
