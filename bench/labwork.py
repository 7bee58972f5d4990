"""What bench/vcpus.py and bench/qemu_cpu.py share: the same work run in several lab VMs at once, with the host kept
busy, measured by each VM's qemu CPU seconds (what a VM costs a host whose cores are all busy) and wall seconds."""
import json
import multiprocessing
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from lab import cli as labcli, vm as labvm  # noqa: E402  pylint: disable=wrong-import-position

# a policy rebuild without reload, a Python byte-compile of the system's packages, setfiles -c
WORK = ('semodule -B -n && python3 -m compileall -f -q /usr/lib/python3/dist-packages >/dev/null 2>&1; '
        'setfiles -c /etc/selinux/default/policy/policy.33 /etc/selinux/default/contexts/files/file_contexts')


def lab(*argv, **env):
    return subprocess.run([sys.executable, '-m', 'lab'] + list(argv), cwd=ROOT, check=True, universal_newlines=True,
                          stdout=subprocess.PIPE, env=dict(os.environ, **env)).stdout


def qemu_pid(name):
    """The SELinux VM's qemu pid, as `lab up` recorded it in the lab's state."""
    return [v['pid'] for v in labcli.load_state(name)['vms'] if v['lsm'] == 'selinux'][0]


def cpu_seconds(name):
    return labvm.process_cpu_seconds(qemu_pid(name))


def _burn():
    while True:
        pass


def burners(count):
    """count busy loops (daemon processes, started): terminate each when done."""
    procs = [multiprocessing.Process(target=_burn, daemon=True) for dummy in range(count)]
    for p in procs:
        p.start()
    return procs


def work_at_once(names, work=WORK):
    """Run work in the SELinux VM of every lab in names ({key: lab name}) at once: {key: row} with the qemu CPU
    seconds the work cost, its wall seconds and its exit status."""
    pids = dict((k, qemu_pid(name)) for k, name in names.items())
    before = dict((k, labvm.process_cpu_seconds(pid)) for k, pid in pids.items())
    t0 = time.time()
    procs = dict((k, subprocess.Popen([sys.executable, '-m', 'lab', 'ssh', '--name', name, 'selinux', 'sh', '-c', work],
                                      cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                 for k, name in names.items())
    walls = {}
    while len(walls) < len(procs):
        for k, p in procs.items():
            if k not in walls and p.poll() is not None:
                walls[k] = time.time() - t0
        time.sleep(0.5)
    return dict((k, {'cpu_s': round(labvm.process_cpu_seconds(pid) - before[k], 1), 'wall_s': round(walls[k], 1),
                     'rc': procs[k].returncode}) for k, pid in pids.items())


def write_result(prefix, result):
    """bench/results/PREFIX-<time>.json, and the result printed."""
    os.makedirs(os.path.join(ROOT, 'bench', 'results'), exist_ok=True)
    stamp = time.strftime('%Y-%m-%dT%H%M%SZ', time.gmtime())
    path = os.path.join(ROOT, 'bench', 'results', '%s-%s.json' % (prefix, stamp))
    with open(path, 'w') as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))
    print('written to', path)


def rounds(names, count, key):
    """work_at_once count times: one row per lab and round, the lab's key under KEY."""
    rows = []
    for r in range(count):
        for k, row in work_at_once(names).items():
            rows.append(dict(row, round=r, **{key: k}))
    return rows


def stop(busy, names):
    """End the busy loops and take the labs down (a lab that is not up is no error)."""
    for p in busy:
        p.terminate()
    for name in names.values():
        subprocess.run([sys.executable, '-m', 'lab', 'down', '--name', name], cwd=ROOT, check=False,
                       stdout=subprocess.DEVNULL)
