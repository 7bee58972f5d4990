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
import os
import subprocess
import sys

import labwork as lw

DEFAULT = 'qemu64,max'  # the lab's default first: the ratios are to it


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
    busy = lw.burners(args.burners)
    try:
        ups = dict((v, subprocess.Popen([sys.executable, '-m', 'lab', 'up', '--name', name, '--lsm', 'selinux',
                                         '--suite', args.suite], cwd=lw.ROOT, stdout=subprocess.DEVNULL,
                                        env=dict(os.environ, **variant_env(v)))) for v, name in names.items())
        for v, proc in ups.items():
            if proc.wait() != 0:
                raise SystemExit('lab up failed for variant %s' % v)
            boots[v] = round(lw.cpu_seconds(names[v]), 1)
        rows = lw.rounds(names, args.rounds, 'variant')
    finally:
        lw.stop(busy, names)
    base = variants[0]

    def work(v):
        return sum(r['cpu_s'] for r in rows if r['variant'] == v)
    lw.write_result('qemu-cpu', {
        'what': 'one SELinux lab VM per variant (CPU model + kernel args), booted and worked at once, host loaded '
                'with %d busy loops' % len(busy), 'suite': args.suite, 'work': lw.WORK, 'boot_cpu_s': boots,
        'rows': rows,
        'work_cpu_ratio_to_%s' % base: dict((v, round(work(v) / max(0.1, work(base)), 2)) for v in variants),
        'boot_cpu_ratio_to_%s' % base: dict((v, round(boots[v] / max(0.1, boots[base]), 2)) for v in variants)})


if __name__ == '__main__':
    main()
