"""Lab VMs with 1 and 2 vCPUs side by side on a loaded host: CPU and wall time of the same work in each.

The test suite keeps both host cores busy, so what a VM's work costs is its qemu process's CPU. This boots two SELinux
labs (CONFINE_LAB_VCPUS=1 and 2), starts as many busy loops as the host has cores, runs one workload in both VMs at
once (a policy rebuild without reload, a Python byte-compile of the system's packages, setfiles -c), and writes the
qemu CPU seconds and wall seconds of each to bench/results/vcpus-<time>.json.

Usage: python3 bench/vcpus.py [--suite bookworm] [--rounds 1]
"""
import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from lab import cli as labcli, vm as labvm  # noqa: E402  pylint: disable=wrong-import-position

WORK = ('semodule -B -n && python3 -m compileall -f -q /usr/lib/python3/dist-packages >/dev/null 2>&1; '
        'setfiles -c /etc/selinux/default/policy/policy.33 /etc/selinux/default/contexts/files/file_contexts')


def lab(*argv, **env):
    return subprocess.run([sys.executable, '-m', 'lab'] + list(argv), cwd=ROOT, check=True, universal_newlines=True,
                          stdout=subprocess.PIPE, env=dict(os.environ, **env)).stdout


def qemu_pid(name):
    """The SELinux VM's qemu pid, as `lab up` recorded it in the lab's state."""
    return [v['pid'] for v in labcli.load_state(name)['vms'] if v['lsm'] == 'selinux'][0]


def burn():
    while True:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--suite', default='bookworm')
    ap.add_argument('--rounds', type=int, default=1)
    args = ap.parse_args()
    names = {1: 'bench-vcpu1', 2: 'bench-vcpu2'}
    for n, name in names.items():
        lab('up', '--name', name, '--lsm', 'selinux', '--suite', args.suite, CONFINE_LAB_VCPUS=str(n))
    burners = [multiprocessing.Process(target=burn, daemon=True) for dummy in range(os.cpu_count() or 2)]
    rows = []
    try:
        for p in burners:
            p.start()
        for r in range(args.rounds):
            pids = dict((n, qemu_pid(name)) for n, name in names.items())
            before = dict((n, labvm.process_cpu_seconds(pid)) for n, pid in pids.items())
            t0 = time.time()
            procs = dict((n, subprocess.Popen([sys.executable, '-m', 'lab', 'ssh', '--name', name, 'selinux',
                                               'sh', '-c', WORK], cwd=ROOT, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL)) for n, name in names.items())
            walls = {}
            while len(walls) < len(procs):
                for n, p in procs.items():
                    if n not in walls and p.poll() is not None:
                        walls[n] = time.time() - t0
                time.sleep(0.5)
            for n, pid in pids.items():
                rows.append({'round': r, 'vcpus': n, 'cpu_s': round(labvm.process_cpu_seconds(pid) - before[n], 1),
                             'wall_s': round(walls[n], 1), 'rc': procs[n].returncode})
    finally:
        for p in burners:
            p.terminate()
        for name in names.values():
            lab('down', '--name', name)
    result = {'what': 'same work in a 1-vCPU and a 2-vCPU lab VM at once, host loaded with %d busy loops'
                      % len(burners), 'suite': args.suite, 'work': WORK, 'rows': rows,
              'cpu_ratio_2_to_1': round(sum(r['cpu_s'] for r in rows if r['vcpus'] == 2) /
                                        max(0.1, sum(r['cpu_s'] for r in rows if r['vcpus'] == 1)), 2)}
    os.makedirs(os.path.join(ROOT, 'bench', 'results'), exist_ok=True)
    path = os.path.join(ROOT, 'bench', 'results', 'vcpus-%s.json' % time.strftime('%Y-%m-%dT%H%M%SZ', time.gmtime()))
    with open(path, 'w') as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))
    print('written to', path)


if __name__ == '__main__':
    main()
