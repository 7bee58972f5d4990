"""Emulated CPU model and guest kernel arguments side by side: what a lab VM's boot and work cost in host CPU.

Under software emulation (TCG) every guest instruction is translated, so the CPU model qemu emulates (`-cpu max`
offers AVX2 and more, which glibc and the kernel then use; qemu64, the lab's default, much less) and the guest
kernel's arguments (speculation mitigations, console verbosity) may change what the same work costs. This boots one SELinux
lab VM per variant (cold, no saved state, so the boot is measured too), all at once, starts as many busy loops as
the host has cores (the test suite keeps both cores busy), runs one workload in every VM at once (a policy rebuild
without reload, a Python byte-compile of the system's packages, setfiles -c), and writes the qemu CPU seconds of
the boot and of the work, and the wall seconds of the work, to bench/results/qemu-cpu-<time>.json.

Usage: python3 bench/qemu_cpu.py [--suite bookworm] [--rounds 1] [--variants max,max+mitigations=off] [--burners N]
A variant is a qemu CPU model, optionally followed by +ARG kernel arguments.
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
DEFAULT = 'qemu64,max'  # the lab's default first: the ratios are to it


def lab(*argv, **env):
    return subprocess.run([sys.executable, '-m', 'lab'] + list(argv), cwd=ROOT, check=True, universal_newlines=True,
                          stdout=subprocess.PIPE, env=dict(os.environ, **env)).stdout


def qemu_pid(name):
    return [v['pid'] for v in labcli.load_state(name)['vms'] if v['lsm'] == 'selinux'][0]


def burn():
    while True:
        pass


def variant_env(variant):
    model, dummy, extra = variant.partition('+')
    return {'CONFINE_LAB_ACCEL': 'tcg', 'CONFINE_LAB_WARM': '0', 'CONFINE_LAB_TCG_CPU': model,
            'CONFINE_LAB_KERNEL_EXTRA': extra.replace('+', ' ')}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--suite', default='bookworm')
    ap.add_argument('--rounds', type=int, default=1)
    ap.add_argument('--variants', default=DEFAULT)
    ap.add_argument('--burners', type=int, default=os.cpu_count() or 2,
                    help='busy loops beside the VMs (default: one per core; 0 when the host is loaded already)')
    args = ap.parse_args()
    variants = args.variants.split(',')
    names = dict((v, 'bench-cpu%d' % i) for i, v in enumerate(variants))
    rows, boots = [], {}
    burners = [multiprocessing.Process(target=burn, daemon=True) for dummy in range(args.burners)]
    try:
        for p in burners:
            p.start()
        ups = dict((v, subprocess.Popen([sys.executable, '-m', 'lab', 'up', '--name', name, '--lsm', 'selinux',
                                         '--suite', args.suite], cwd=ROOT, stdout=subprocess.DEVNULL,
                                        env=dict(os.environ, **variant_env(v)))) for v, name in names.items())
        for v, proc in ups.items():
            if proc.wait() != 0:
                raise SystemExit('lab up failed for variant %s' % v)
            boots[v] = round(labvm.process_cpu_seconds(qemu_pid(names[v])), 1)
        for r in range(args.rounds):
            pids = dict((v, qemu_pid(name)) for v, name in names.items())
            before = dict((v, labvm.process_cpu_seconds(pid)) for v, pid in pids.items())
            t0 = time.time()
            procs = dict((v, subprocess.Popen([sys.executable, '-m', 'lab', 'ssh', '--name', name, 'selinux',
                                               'sh', '-c', WORK], cwd=ROOT, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL)) for v, name in names.items())
            walls = {}
            while len(walls) < len(procs):
                for v, p in procs.items():
                    if v not in walls and p.poll() is not None:
                        walls[v] = time.time() - t0
                time.sleep(0.5)
            for v, pid in pids.items():
                rows.append({'round': r, 'variant': v, 'cpu_s': round(labvm.process_cpu_seconds(pid) - before[v], 1),
                             'wall_s': round(walls[v], 1), 'rc': procs[v].returncode})
    finally:
        for p in burners:
            p.terminate()
        for name in names.values():
            subprocess.run([sys.executable, '-m', 'lab', 'down', '--name', name], cwd=ROOT, check=False,
                           stdout=subprocess.DEVNULL)
    base = variants[0]

    def work(v):
        return sum(r['cpu_s'] for r in rows if r['variant'] == v)
    result = {'what': 'one SELinux lab VM per variant (CPU model + kernel args), booted and worked at once, host '
                      'loaded with %d busy loops' % len(burners), 'suite': args.suite, 'work': WORK,
              'boot_cpu_s': boots, 'rows': rows,
              'work_cpu_ratio_to_%s' % base: dict((v, round(work(v) / max(0.1, work(base)), 2)) for v in variants),
              'boot_cpu_ratio_to_%s' % base: dict((v, round(boots[v] / max(0.1, boots[base]), 2)) for v in variants)}
    os.makedirs(os.path.join(ROOT, 'bench', 'results'), exist_ok=True)
    path = os.path.join(ROOT, 'bench', 'results', 'qemu-cpu-%s.json' % time.strftime('%Y-%m-%dT%H%M%SZ', time.gmtime()))
    with open(path, 'w') as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))
    print('written to', path)


if __name__ == '__main__':
    main()
