"""Where a test run's CPU goes: the lab VMs, the containers and the rest (the controller), sampled while it runs.

The test command runs on two cores and everything shares them, so a lane's wall time says little about what it
costs; CPU seconds add up. Run in the background by tests/run-all.sh:

    python3 tests/cpu_account.py OUT.txt   (stops on SIGTERM or SIGINT and writes OUT.txt)

Every few seconds it reads each qemu process's CPU (/proc/PID/stat, named by its -name) and each Docker container's
(its cpuacct cgroup, named from Docker's config), keeping the last value seen, and the machine's total from
/proc/stat. A VM or container that ends loses at most one interval. The controller's share is what is left.
"""
import glob
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab import vm  # noqa: E402  pylint: disable=wrong-import-position

INTERVAL = 5.0
TICK = os.sysconf('SC_CLK_TCK')


def machine_busy():
    """Seconds of CPU the machine spent not idle, all cores."""
    with open('/proc/stat') as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:7]) - idle) / float(TICK)  # user nice system idle iowait irq softirq; steal is not ours


def qemu_cpu():
    found = {}
    for stat in glob.glob('/proc/[0-9]*/stat'):
        pid = int(stat.split('/')[2])
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                argv = f.read().decode(errors='replace').split('\0')
        except OSError:
            continue
        if not argv or 'qemu-system' not in argv[0] or '-name' not in argv:
            continue
        name = argv[argv.index('-name') + 1]
        secs = vm.process_cpu_seconds(pid) if name.startswith('confine-lab-') else None
        if secs is not None:
            found['vm %s (pid %d)' % (name, pid)] = secs
    return found


_NAMES = {}


def container_name(cid):
    if cid not in _NAMES:
        try:
            with open('/var/lib/docker/containers/%s/config.v2.json' % cid) as f:
                _NAMES[cid] = json.load(f).get('Name', '').lstrip('/') or cid[:12]
        except (OSError, ValueError):
            return None
    return _NAMES[cid]


def container_cpu():
    found = {}
    for usage in (glob.glob('/sys/fs/cgroup/cpuacct/docker/*/cpuacct.usage') +  # cgroup v1
                  glob.glob('/sys/fs/cgroup/system.slice/docker-*.scope/cpu.stat') +  # v2, systemd driver
                  glob.glob('/sys/fs/cgroup/docker/*/cpu.stat')):  # v2, cgroupfs driver
        cid = os.path.basename(os.path.dirname(usage)).replace('docker-', '').replace('.scope', '')
        try:
            with open(usage) as f:
                text = f.read()
        except OSError:
            continue
        if usage.endswith('cpu.stat'):
            secs = int(dict(line.split() for line in text.splitlines())['usage_usec']) / 1e6
        else:
            secs = int(text) / 1e9
        name = container_name(cid) or cid[:12]
        found['container %s (%s)' % (name, cid[:12])] = secs
    return found


def main(out):
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    t0, busy0 = time.time(), machine_busy()
    # what ran before the sampler started counts from then on only (another run's VMs are not this run's)
    first = dict(qemu_cpu(), **container_cpu())
    last = {}
    while not stop:
        last.update(qemu_cpu())
        last.update(container_cpu())
        for dummy in range(int(INTERVAL * 10)):
            if stop:
                break
            time.sleep(0.1)
    last.update(qemu_cpu())
    last.update(container_cpu())
    wall, busy = time.time() - t0, machine_busy() - busy0
    last = dict((k, v - first.get(k, 0.0)) for k, v in last.items())
    vms = sum(v for k, v in last.items() if k.startswith('vm '))
    ctrs = sum(v for k, v in last.items() if k.startswith('container '))
    lines = ['CPU seconds over %.0f s of wall time (%d cores): machine busy %.0f' % (wall, os.cpu_count(), busy),
             '  lab VMs (qemu) %.0f, containers %.0f, the rest (controller: ansible, pytest, lint) %.0f' % (
                 vms, ctrs, busy - vms - ctrs)]
    lines += ['  %8.0f  %s' % (v, k) for k, v in sorted(last.items(), key=lambda kv: -kv[1])]
    with open(out, 'w') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main(sys.argv[1])
