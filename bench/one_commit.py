"""One policy commit for four kinds of local change against one commit per kind, side by side on a lab VM.

The confine_selinux role sets a run's booleans, permissive domains, port labels and login mappings with one
selinux_local task: one libsemanage transaction, one commit, one policy rebuild. The contender is what the role did
before: the four modules of their own kinds (sebool_persist, selinux_permissive, selinux_port, selinux_login), one
commit each. Each round runs both contenders in both directions (all four applied, all four taken back; the order
of the contenders alternates between rounds) and records each ansible-playbook run's wall seconds and the SELinux
VM's qemu CPU seconds (the guest's whole cost to a host whose cores are busy). Writes
bench/results/one-commit-<time>.json.

Usage: python3 bench/one_commit.py [--suite bookworm] [--rounds 2] [--keep-lab]
"""
import argparse
import os
import subprocess
import sys
import time

import labwork as lw

NAME = 'bench-commit'
PLAY = os.path.join(lw.ROOT, 'bench', 'plays', 'one_commit.yml')
CONTENDERS = ('selinux_local', 'modules')


def play(inventory, contender, state):
    cpu0, t0 = lw.cpu_seconds(NAME), time.time()
    proc = subprocess.run(['ansible-playbook', '-i', inventory, PLAY, '-e', 'bench_contender=%s' % contender,
                           '-e', 'bench_state=%s' % state], cwd=lw.ROOT, universal_newlines=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    row = dict(contender=contender, state=state, wall_s=round(time.time() - t0, 1),
               vm_cpu_s=round(lw.cpu_seconds(NAME) - cpu0, 1), rc=proc.returncode)
    if proc.returncode:
        sys.stdout.write(proc.stdout[-4000:])
        raise SystemExit('%s %s failed (rc %d)' % (contender, state, proc.returncode))
    print(row, flush=True)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--suite', default='bookworm')
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--keep-lab', action='store_true')
    args = ap.parse_args()
    inventory = lw.lab('up', '--name', NAME, '--lsm', 'selinux', '--suite', args.suite).strip().splitlines()[-1]
    rows = []
    try:
        play(inventory, 'modules', 'off')  # a known start (untimed): nothing of the four there
        for r in range(args.rounds):
            order = CONTENDERS if r % 2 == 0 else CONTENDERS[::-1]
            for contender in order:
                for state in ('on', 'off'):
                    rows.append(dict(play(inventory, contender, state), round=r))
    finally:
        if not args.keep_lab:
            lw.stop([], {'selinux': NAME})

    def total(contender, key):
        return sum(row[key] for row in rows if row['contender'] == contender)
    lw.write_result('one-commit', {
        'what': 'a boolean, a permissive domain, a port label and a login mapping applied and taken back: one '
                'selinux_local task (one commit) against the four modules of their kinds (one commit each)',
        'suite': args.suite, 'rounds': args.rounds, 'rows': rows,
        'vm_cpu_ratio_local_to_modules': round(total('selinux_local', 'vm_cpu_s') / max(0.1, total('modules', 'vm_cpu_s')), 2),
        'wall_ratio_local_to_modules': round(total('selinux_local', 'wall_s') / max(0.1, total('modules', 'wall_s')), 2)})


if __name__ == '__main__':
    main()
