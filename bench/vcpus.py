"""Lab VMs with 1 and 2 vCPUs side by side on a loaded host: CPU and wall time of the same work in each.

The test suite keeps both host cores busy, so what a VM's work costs is its qemu process's CPU. This boots two SELinux
labs (CONFINE_LAB_VCPUS=1 and 2), starts as many busy loops as the host has cores, runs one workload in both VMs at
once (a policy rebuild without reload, a Python byte-compile of the system's packages, setfiles -c), and writes the
qemu CPU seconds and wall seconds of each to bench/results/vcpus-<time>.json.

Usage: python3 bench/vcpus.py [--suite bookworm] [--rounds 1]
"""
import argparse
import os

import labwork as lw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--suite', default='bookworm')
    ap.add_argument('--rounds', type=int, default=1)
    args = ap.parse_args()
    names = {1: 'bench-vcpu1', 2: 'bench-vcpu2'}
    for n, name in names.items():
        lw.lab('up', '--name', name, '--lsm', 'selinux', '--suite', args.suite, CONFINE_LAB_VCPUS=str(n))
    busy = lw.burners(os.cpu_count() or 2)
    try:
        rows = lw.rounds(names, args.rounds, 'vcpus')
    finally:
        lw.stop(busy, names)
    lw.write_result('vcpus', {
        'what': 'same work in a 1-vCPU and a 2-vCPU lab VM at once, host loaded with %d busy loops' % len(busy),
        'suite': args.suite, 'work': lw.WORK, 'rows': rows,
        'cpu_ratio_2_to_1': round(sum(r['cpu_s'] for r in rows if r['vcpus'] == 2) /
                                  max(0.1, sum(r['cpu_s'] for r in rows if r['vcpus'] == 1)), 2)})


if __name__ == '__main__':
    main()
