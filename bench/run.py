"""confine.lsm benchmark (run it with python3): the collection's modules against the ones people use today, side by side on the lab.

    python3 bench/run.py [--runs 3] [--cases booleans,profiles,fcontexts,ports,enforce,fleet] [--keep-lab]
    python3 bench/run.py --render RESULTS.json [RESULTS.json ...] --note '...'   (merge runs made case by case)

Boots its own lab (python -m lab up --name bench: a SELinux VM and an AppArmor VM, real kernels under qemu),
runs every contender in alternating order inside each round, and writes bench/results/<time>.json and
docs/performance.md (medians, ratios, targets). Times are the controller's wall time per task (a callback,
bench/callback_plugins/bench_timer.py), so SSH round-trips and per-item loop costs count as they do for a user;
resets between runs are not timed. The fleet case runs verify.yml against systemd containers (docker connection).
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from lab import fleet, images, util  # noqa: E402  pylint: disable=wrong-import-position

BENCH = os.path.join(ROOT, 'bench')
# the enforce case's contender: the collection as of release 0.2.0
BASELINE_REV = 'f0b60bf'
BASELINE_NAME = 'enforce.yml@0.2.0'
VERIFY_BASELINE = 'verify.yml@0.2.0'
LAB = 'bench'
CASES = {
    'booleans': ('plays/booleans.yml', ['sebool_persist', 'seboolean', 'raw'], 'bench_names'),
    'profiles': ('plays/profiles.yml', ['apparmor_profile_mode', 'aa_enforce', 'raw'], 'bench_files'),
    'fcontexts': ('plays/fcontexts.yml', ['selinux_fcontext', 'sefcontext', 'raw'], 'bench_count'),
    'ports': ('plays/ports.yml', ['selinux_port', 'seport', 'raw'], 'bench_count'),
}
PEER = {'booleans': 'ansible.posix.seboolean (loop)', 'profiles': 'aa-enforce (command loop, as CIS roles do)',
        'fcontexts': 'community.general.sefcontext (loop)', 'ports': 'community.general.seport (loop)'}
TARGET_SIZE = {'booleans': 20, 'profiles': 30, 'fcontexts': 30, 'ports': 30}
LETTER = {'booleans': 'N', 'profiles': 'K', 'fcontexts': 'M', 'ports': 'P'}  # as the issue names each size
# What a reader needs to read a case's small sizes right (facts of how each contender works, no numbers).
HOW = {'booleans': 'Both ours and the peer call libsemanage inside the module process and set the running values '
                   'without loading the rebuilt policy into the kernel; ours makes one commit for all N, the peer '
                   'one commit per boolean.',
       'profiles': 'Ours rewrites the flags of all K files, compiles them in one parser call (nothing is loaded '
                   'if one fails) and loads them from that cache in a second; aa-enforce starts its Python tool '
                   'and a parser load per profile.',
       'fcontexts': 'Ours commits all M rules in one libsemanage transaction inside its module process and '
                    'loads nothing into the kernel (file contexts are not in its policy); the peer calls seobject '
                    'inside its module process and commits, and reloads the policy, once per rule; the floor '
                    'starts one `semanage import` process.',
       'ports': 'Ours commits all P labels in one libsemanage transaction inside its module process (and reloads '
                'the policy once: port labels are part of what the kernel runs); the peer calls seobject inside its '
                'module process and commits, and reloads, once per port; the floor starts one `semanage import` '
                'process.'}
FLOOR = {'booleans': 'one `setsebool -P` with all N (command)',
         'profiles': 'one `apparmor_parser -r -T` with all K files, compiling them all (command)',
         'fcontexts': 'one `semanage import` with all M rules (command)',
         'ports': 'one `semanage import` with all P labels (command)'}
# Benign booleans to flip (off by default in Debian's reference policy; none touches SSH, logins or policy loads).
BOOL_PREFIXES = ('httpd_', 'ftpd_', 'samba_', 'nfs_', 'rsync_', 'squid_', 'tftp_', 'git_', 'postgresql_',
                 'mysql_', 'cron_', 'spamd_', 'named_', 'exim_', 'openvpn_', 'cdrecord_', 'puppet_', 'xen_')
# Run on the AppArmor VM: profile files whose first profile is loaded in the kernel (not the lab's nginx, not
# unconfined stubs), one path a line.
DISCOVER_PROFILES = r'''
import os, re
AVOID = ('sshd', 'dhc', 'network', 'resolv', 'login', 'systemd', 'init')  # keep the VM reachable
loaded = set(l.rsplit(' (', 1)[0] for l in open('/sys/kernel/security/apparmor/profiles'))
for n in sorted(os.listdir('/etc/apparmor.d')):
    p = os.path.join('/etc/apparmor.d', n)
    if not os.path.isfile(p) or n == 'usr.sbin.nginx' or any(x in n for x in AVOID):
        continue
    t = open(p, errors='replace').read()
    if 'unconfined' in t:
        continue
    names = re.findall(r'(?m)^\s*profile\s+(\S+)', t) or re.findall(r'(?m)^\s*(/\S+)\s[^\n]*\{', t)
    if names and names[0].strip('"') in loaded:
        print(p)
'''
# Run on the AppArmor VM when K is above the profiles the image ships: argv = how many copies, then the real files.
# Each copy is a real profile under a new name (bench-NN-...) attached to a path under /opt/bench-NN, so it has the
# same rules for the parser to compile and confines nothing that runs; copies the parser rejects are dropped.
# Prints the copies it wrote and loaded, one path a line.
COPY_PROFILES = r'''
import os, re, subprocess, sys
need, sources = int(sys.argv[1]), sys.argv[2:]
made, i = [], 0
while len(made) < need and i < need * 3:
    src = sources[i % len(sources)]
    i += 1
    tag = 'bench-%02d' % i
    dst = '/etc/apparmor.d/%s.%s' % (tag, os.path.basename(src))
    out = []
    for line in open(src, errors='replace').read().splitlines():
        head = line.rstrip()
        if head and not head[0].isspace() and head.endswith('{') and not head.startswith('#'):
            words = head.split()
            if words[0] == 'profile':
                name = re.sub(r'[^A-Za-z0-9_.-]', '_', words[1].strip('"'))
                attach = words[2:] if len(words) > 2 and words[2][:1] in '/@' else []
                rest = words[2 + len(attach[:1]):]
                line = ' '.join(['profile', '%s-%s' % (tag, name)] +
                                ['/opt/%s%s' % (tag, a) for a in attach[:1]] + rest)
            elif words[0][:1] in '/@':
                name = re.sub(r'[^A-Za-z0-9_.-]', '_', os.path.basename(words[0]))
                line = ' '.join(['profile', '%s-%s' % (tag, name), '/opt/%s%s' % (tag, words[0])] + words[1:])
        out.append(line)
    with open(dst, 'w') as f:
        f.write('\n'.join(out) + '\n')
    if subprocess.call(['apparmor_parser', '-r', '-W', dst], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        os.unlink(dst)
        continue
    made.append(dst)
print('\n'.join(made))
'''
# The lab line's accelerator when the run did not boot its lab (a kept lab does not say which it has).
ACCEL_UNKNOWN = 'software emulation (TCG) unless KVM works'
BOOL_AVOID = ('deny', 'secure', 'ssh', 'login', 'unconfined', 'execmem', 'execstack', 'use_')


def log(msg):
    sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


class Bench(object):

    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix='confine-bench-')
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=util.checkout_collections_path(),
                        ANSIBLE_CALLBACK_PLUGINS=os.path.join(BENCH, 'callback_plugins'),
                        ANSIBLE_CALLBACKS_ENABLED='bench_timer', ANSIBLE_HOST_KEY_CHECKING='False',
                        ANSIBLE_NOCOLOR='1', ANSIBLE_STDOUT_CALLBACK='default')
        self.inventory = None
        self.rows = []
        self.checkpoint = None

    # -- plumbing -----------------------------------------------------------------------------------------------
    def run(self, argv, check=True, env=None, stdin=None):
        proc = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, input=stdin,
                              universal_newlines=True, env=env or self.env, check=False)
        if check and proc.returncode != 0:
            raise SystemExit('%s failed (rc=%d):\n%s' % (' '.join(argv), proc.returncode, proc.stdout[-5000:]))
        return proc

    def playbook(self, play, extra, check=True, inventory=None, forks=None, collections=None, strategy=None):
        times = os.path.join(self.tmp, 'times.json')
        if os.path.exists(times):
            os.unlink(times)
        varfile = os.path.join(self.tmp, 'extra.json')
        with open(varfile, 'w') as f:
            json.dump(extra, f)
        argv = ['ansible-playbook', '-i', inventory or self.inventory, '-e', '@' + varfile, play]
        if forks:
            argv += ['--forks', str(forks)]
        env = dict(self.env, BENCH_TIMES=times)
        if collections:
            env['ANSIBLE_COLLECTIONS_PATH'] = collections
        if strategy == 'mitogen_linear':
            import ansible_mitogen  # pylint: disable=import-outside-toplevel  # pinned in requirements.txt
            env['ANSIBLE_STRATEGY_PLUGINS'] = os.path.join(os.path.dirname(ansible_mitogen.__file__), 'plugins',
                                                           'strategy')
            env['ANSIBLE_STRATEGY'] = 'mitogen_linear'
        t0 = time.time()
        proc = self.run(argv, check=check, env=env)
        wall = time.time() - t0
        tasks = []
        if os.path.exists(times):
            with open(times) as f:
                tasks = json.load(f)
        return wall, tasks, proc

    def lab_up(self, cases):
        lsms = set()
        for case in cases:
            lsms.update({'booleans': ['selinux'], 'fcontexts': ['selinux'], 'ports': ['selinux'], 'profiles': ['apparmor'],
                         'enforce': ['selinux', 'apparmor']}.get(case, []))
        proc = self.run([sys.executable, '-m', 'lab', 'up', '--name', LAB, '--suite', self.args.suite,
                         '--lsm', ','.join(sorted(lsms))])
        self.inventory = proc.stdout.strip().splitlines()[-1]
        accel = [l.split('accelerator: ', 1)[1] for l in proc.stdout.splitlines() if 'accelerator: ' in l]
        self._accel = accel[0].split(',')[0] if accel else None
        log('lab up: %s' % self.inventory)

    def ssh(self, host, *command, **kw):
        return self.run([sys.executable, '-m', 'lab', 'ssh', '--name', LAB, host] + list(command), **kw).stdout

    # -- discovery ----------------------------------------------------------------------------------------------
    def booleans(self, n):
        if not hasattr(self, '_bools'):
            found = []
            for line in self.ssh('selinux', 'getsebool', '-a').splitlines():
                parts = line.split(' --> ')
                if len(parts) == 2 and parts[1].strip() == 'off' and parts[0].startswith(BOOL_PREFIXES) \
                        and not any(a in parts[0] for a in BOOL_AVOID):
                    found.append(parts[0].strip())
            self._bools = sorted(found)
            log('%d candidate booleans' % len(self._bools))
        if len(self._bools) < n:
            raise SystemExit('only %d benign booleans are off on the lab VM; %d asked' % (len(self._bools), n))
        return self._bools[:n]

    def profiles(self, k):
        if not hasattr(self, '_files'):
            found = self.ssh('apparmor', 'python3', '-', stdin=DISCOVER_PROFILES).split()
            # the VM's own profiles first; copies left by an earlier run on a kept lab after them
            self._files = sorted(found, key=lambda f: os.path.basename(f).startswith('bench-'))
            log('%d loaded profile files' % len(self._files))
        if len(self._files) < k:
            real = [f for f in self._files if not os.path.basename(f).startswith('bench-')]
            made = self.ssh('apparmor', 'python3', '-', str(k - len(self._files)), *real,
                            stdin=COPY_PROFILES).split()
            log('the VM ships %d loaded profile files; %d asked: loaded %d renamed copies of them (same rules, '
                'attached under /opt/bench-NN)' % (len(real), k, len(made)))
            self._copies = len(made)
            self._files += made
        if len(self._files) < k:
            raise SystemExit('only %d loaded profiles on the lab VM; %d asked' % (len(self._files), k))
        return self._files[:k]

    # -- cases --------------------------------------------------------------------------------------------------
    def item_case(self, case, sizes):
        play, contenders, key = CASES[case]
        play = os.path.join(BENCH, play)
        for size in sizes:
            value = {'booleans': self.booleans, 'profiles': self.profiles}.get(case, lambda n: n)(size)
            for rnd in range(self.args.runs):
                order = contenders[rnd % len(contenders):] + contenders[:rnd % len(contenders)]
                for contender in order:
                    for phase, reset in (('change', True), ('nochange', False)):
                        if case in ('fcontexts', 'ports') and contender == 'raw' and phase == 'nochange':
                            continue  # semanage import -a fails on existing records: the floor has no no-op form
                        extra = {'bench_contender': contender, 'bench_reset': reset, key: value}
                        wall, tasks, dummy = self.playbook(play, extra)
                        task = [t for t in tasks if t['name'] == 'BENCH %s' % contender][0]
                        res = task['results'][0] if task['results'] else {}
                        if res.get('failed'):
                            raise SystemExit('%s %s failed: %s' % (case, contender, res.get('msg')))
                        row = dict(case=case, size=size, contender=contender, phase=phase, round=rnd,
                                   seconds=task['seconds'], playbook_wall=round(wall, 2), result=res)
                        self.rows.append(row)
                        log('%s n=%d %s %s: %.1f s %s' % (
                            case, size, contender, phase, task['seconds'], json.dumps(res, sort_keys=True)))
                if self.checkpoint:
                    self.checkpoint()  # each finished round is kept, even if the run is stopped later

    def baseline_tree(self):
        """The collection as of BASELINE_REV (release 0.2.0), unpacked from git, with a collections path of its own."""
        path = os.path.join(self.tmp, 'baseline')
        os.makedirs(path)
        archive = subprocess.run(['git', 'archive', BASELINE_REV], cwd=ROOT, stdout=subprocess.PIPE, check=True)
        subprocess.run(['tar', '-x', '-C', path], input=archive.stdout, check=True)
        colls = os.path.join(path, '.collections')
        os.makedirs(os.path.join(colls, 'ansible_collections', 'confine'))
        os.symlink(path, os.path.join(colls, 'ansible_collections', 'confine', 'lsm'))
        return path, colls

    def enforce_case(self):
        """enforce.yml (and verify.yml) of this checkout against those of release 0.2.0, alternating, on the same two
        lab VMs."""
        extra = os.path.join(ROOT, 'playbooks', 'vars', 'lab.yml')
        lower = os.path.join(ROOT, 'playbooks', 'lab-lower.yml')
        base, base_colls = self.baseline_tree()
        contenders = [('enforce.yml', os.path.join(ROOT, 'playbooks', 'enforce.yml'), None),
                      (BASELINE_NAME, os.path.join(base, 'playbooks', 'enforce.yml'), base_colls)]
        vars_ = {'confine_report_dir': os.path.join(self.tmp, 'report')}
        with open(extra) as f:
            import yaml  # pylint: disable=import-outside-toplevel
            vars_.update(yaml.safe_load(f))
        for dummy, play, colls in contenders:
            self.playbook(play, vars_, collections=colls)  # converge once, and warm each tree (untimed)
        for rnd in range(self.args.runs):
            order = contenders if rnd % 2 == 0 else list(reversed(contenders))
            for phase in (('compliant', 'needs_every_fix') if rnd % 2 == 0 else ('needs_every_fix', 'compliant')):
                for name, play, colls in order:
                    if phase == 'needs_every_fix':
                        self.playbook(lower, vars_)
                    wall, dummy, dummy2 = self.playbook(play, vars_, collections=colls)
                    self.rows.append(dict(case='enforce', size=2, contender=name, phase=phase, round=rnd,
                                          seconds=round(wall, 2)))
                    log('%s %s (2 VMs): %.1f s' % (name, phase, wall))
                    if self.checkpoint:
                        self.checkpoint()
            # the audit a fleet runs most: verify.yml of both trees on the compliant hosts
            verify = [('verify.yml', os.path.join(ROOT, 'playbooks', 'verify.yml'), None),
                      (VERIFY_BASELINE, os.path.join(base, 'playbooks', 'verify.yml'), base_colls)]
            for name, play, colls in (verify if rnd % 2 == 0 else list(reversed(verify))):
                wall, dummy, dummy2 = self.playbook(play, vars_, collections=colls)
                self.rows.append(dict(case='verify', size=2, contender=name, phase='compliant', round=rnd,
                                      seconds=round(wall, 2)))
                log('%s compliant (2 VMs): %.1f s' % (name, wall))
                if self.checkpoint:
                    self.checkpoint()

    def fleet_case(self, sizes, forks_list, strategies):
        """verify.yml on 1..N containers for every forks value and strategy (ansible's linear, mitogen's), alternating."""
        names = fleet.start('confine-bench', max(sizes), suite=self.args.suite)
        combos = [(f, st) for st in strategies for f in forks_list]
        try:
            for size in sizes:
                inv = fleet.inventory(names[:size], os.path.join(self.tmp, 'fleet-%d.json' % size))
                for rnd in range(self.args.runs):
                    for forks, strategy in (combos if rnd % 2 == 0 else list(reversed(combos))):
                        wall, dummy, proc = self.playbook(
                            os.path.join(ROOT, 'playbooks', 'verify.yml'),
                            {'confine_report_dir': os.path.join(self.tmp, 'fleet-report')},
                            check=False, inventory=inv, forks=forks, strategy=strategy)
                        if 'PLAY RECAP' not in proc.stdout or 'unreachable=0' not in proc.stdout \
                                or re.search(r'unreachable=[1-9]', proc.stdout):
                            raise SystemExit('verify.yml did not reach every host:\n%s' % proc.stdout[-3000:])
                        self.rows.append(dict(case='fleet', size=size, contender=fleet_name(forks, strategy),
                                              phase='verify', round=rnd, seconds=round(wall, 2), forks=forks,
                                              strategy=strategy))
                        log('verify.yml on %d containers, forks=%d, %s: %.1f s' % (size, forks, strategy, wall))
                if self.checkpoint:
                    self.checkpoint()
        finally:
            fleet.stop(names)

    # -- output -------------------------------------------------------------------------------------------------
    def timings(self, case, size, contender, phase):
        return [r['seconds'] for r in self.rows if (r['case'], r['size'], r['contender'], r['phase']) ==
                (case, size, contender, phase)]

    def med(self, case, size, contender, phase):
        values = self.timings(case, size, contender, phase)
        return statistics.median(values) if values else None

    def results(self, started):
        versions = {}
        for name in ('ansible-core', 'ansible', 'molecule'):
            proc = self.run([sys.executable, '-m', 'pip', 'show', name], check=False)
            for line in proc.stdout.splitlines():
                if line.startswith('Version:'):
                    versions[name] = line.split(':', 1)[1].strip()
        proc = self.run(['ansible-galaxy', 'collection', 'list', '--format', 'json'], check=False)
        try:
            for dummy, colls in json.loads(proc.stdout[proc.stdout.index('{'):]).items():
                for coll in ('ansible.posix', 'community.general', 'community.docker'):
                    if coll in colls:
                        versions[coll] = colls[coll]['version']
        except ValueError:
            pass
        with open('/proc/cpuinfo') as f:
            cpu = [l.split(':', 1)[1].strip() for l in f if l.startswith('model name')]
        return dict(started=started, finished=datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ'),
                    machine=dict(host=platform.node(), cpus=os.cpu_count(), cpu=cpu[0] if cpu else None,
                                 kernel=platform.release(), python=platform.python_version(),
                                 lab='Debian %s VMs under qemu (%s)' % (self.args.suite, self.accel())),
                    versions=versions, runs=self.args.runs, rows=self.rows, revision=self.revision(),
                    profile_copies=getattr(self, '_copies', 0))

    def revision(self):
        """The checkout's commit (with '+' when its collection files differ from it): what the rows describe."""
        head = self.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], check=False).stdout.strip()
        dirty = self.run(['git', '-C', ROOT, 'status', '--porcelain', '--', 'plugins', 'roles', 'playbooks'],
                         check=False).stdout.strip()
        return (head or '?') + ('+' if dirty else '')

    def accel(self):
        return getattr(self, '_accel', None) or ACCEL_UNKNOWN

    def markdown(self, data):
        out = ['# Performance', '',
               'Written by `python3 bench/run.py` (see [bench](../bench/run.py)); do not edit by hand. Medians of '
               'the rounds each row names; contenders alternate inside each round. Times are the controller\'s wall '
               'time for the task(s) doing the work (SSH round-trips included, resets excluded).', '',
               '- Run: %s to %s on %s (%s CPUs: %s), kernel %s' % (
                   data['started'], data['finished'], data['machine']['host'], data['machine']['cpus'],
                   data['machine']['cpu'], data['machine']['kernel']),
               '- Lab: %s' % data['machine']['lab'],
               '- Conditions: %s' % (self.args.note or 'the machine ran nothing else'),
               '- Versions: %s' % ', '.join('%s %s' % kv for kv in sorted(data['versions'].items())), '']
        targets = []
        for case in ('booleans', 'profiles', 'fcontexts', 'ports'):
            sizes = sorted(set(r['size'] for r in self.rows if r['case'] == case))
            if not sizes:
                continue
            ours, peer, floor = CASES[case][1]
            copies = data.get('profile_copies', 0) if case == 'profiles' else 0
            out += ['## %s' % case.capitalize(), '',
                    'Ours: `confine.lsm.%s` (one task). Peer: %s. Floor: %s. %s' % (
                        ours, PEER[case], FLOOR[case], HOW[case])
                    + (' The VM ships fewer loaded profiles than the largest K: %d of the K are renamed copies of '
                       'its real profiles (same rules, attached under /opt/bench-NN, confining nothing that runs).'
                       % copies if copies else ''), '',
                    '| %s | contender | rounds | change (s) | no change (s) | peer / ours (change) | '
                    'ours / floor (change) | peer / ours (no change) | ours: commits or parser calls '
                    '(change / no change) |' % LETTER[case],
                    '|---|---|---|---|---|---|---|---|---|']
            for size in sizes:
                for contender in (ours, peer, floor):
                    ch, no = self.med(case, size, contender, 'change'), self.med(case, size, contender, 'nochange')
                    cells = [str(size), contender, self.rounds(case, size, contender), fmt(ch), fmt(no),
                             '', '', '', '']
                    if contender == ours:
                        pch, pno = self.med(case, size, peer, 'change'), self.med(case, size, peer, 'nochange')
                        fch = self.med(case, size, floor, 'change')
                        cells[5] = ratio(pch, ch)
                        cells[6] = ratio(ch, fch)
                        cells[7] = ratio(pno, no)
                        cells[8] = '%s / %s' % (self.work(case, size, 'change'), self.work(case, size, 'nochange'))
                    out.append('| %s |' % ' | '.join(cells))
            big = TARGET_SIZE[case]  # the targets are stated at this size
            ch, no = self.med(case, big, ours, 'change'), self.med(case, big, ours, 'nochange')
            pch, pno = self.med(case, big, peer, 'change'), self.med(case, big, peer, 'nochange')
            fch = self.med(case, big, floor, 'change')
            floor_limit = {'booleans': 1.3, 'profiles': 1.5, 'ports': 1.3}.get(case)
            targets.append(('%s %s=%d: at least 10x faster than the peer when changing' % (case, LETTER[case], big),
                            ratio(pch, ch), met(pch, ch, lambda r: r >= 10)))
            if floor_limit:
                targets.append(('%s %s=%d: within %.1fx of the floor' % (case, LETTER[case], big, floor_limit),
                                ratio(ch, fch),
                                met(ch, fch, lambda r, lim=floor_limit: r <= lim)))
            if case != 'profiles':
                targets.append(('%s %s=%d: no-change run under 1/10 of the peer\'s no-op' % (case, LETTER[case], big),
                                ratio(pno, no), met(pno, no, lambda r: r >= 10)))
            work = self.work(case, big, 'nochange')
            targets.append(('%s: no-change runs make zero commits / parser loads' % case, work,
                            None if work == '-' else work == '0'))
            out.append('')
        enf = [r for r in self.rows if r['case'] == 'enforce']
        if enf:
            out += ['## The enforce playbook (both lab VMs, whole `ansible-playbook` wall time)', '',
                    'This checkout\'s `playbooks/enforce.yml` (one read-only `lsm_status_info` call per host, then '
                    'only the fixing tasks a finding names) against the same playbook of release 0.2.0 (%s, '
                    'unpacked by `git archive`), alternating inside each round on the same VMs.' % BASELINE_REV, '',
                    '| host state | rounds | this checkout (s) | 0.2.0 (s) | 0.2.0 / this |', '|---|---|---|---|---|']
            for phase, label in (('compliant', 'already compliant (the drift check a fleet pays every run)'),
                                 ('needs_every_fix', 'needs every fix (after `playbooks/lab-lower.yml`)')):
                ours, base = self.med('enforce', 2, 'enforce.yml', phase), self.med('enforce', 2, BASELINE_NAME, phase)
                rounds = self.rounds('enforce', 2, 'enforce.yml', phase)
                out.append('| %s | %s | %s | %s | %s |' % (label, rounds, fmt(ours), fmt(base), ratio(base, ours)))
            out.append('')
            ours = self.med('enforce', 2, 'enforce.yml', 'compliant')
            base = self.med('enforce', 2, BASELINE_NAME, 'compliant')
            targets.append(('enforce.yml on compliant hosts: at least 3x faster than 0.2.0 (issue 18)',
                            ratio(base, ours), met(base, ours, lambda r: r >= 3)))
            ours, base = (self.med('enforce', 2, 'enforce.yml', 'needs_every_fix'),
                          self.med('enforce', 2, BASELINE_NAME, 'needs_every_fix'))
            targets.append(('enforce.yml on hosts needing every fix: no slower than 0.2.0 (issue 18)',
                            ratio(base, ours), met(base, ours, lambda r: r >= 0.95)))
        if [r for r in self.rows if r['case'] == 'verify']:
            ours = self.med('verify', 2, 'verify.yml', 'compliant')
            base = self.med('verify', 2, VERIFY_BASELINE, 'compliant')
            out += ['The audit alone: `playbooks/verify.yml` of both trees on the same compliant VMs, in the same '
                    'rounds.', '', '| host state | rounds | this checkout (s) | 0.2.0 (s) | 0.2.0 / this |',
                    '|---|---|---|---|---|',
                    '| compliant | %s | %s | %s | %s |' % (
                        self.rounds('verify', 2, 'verify.yml', 'compliant'), fmt(ours), fmt(base), ratio(base, ours)),
                    '']
            targets.append(('verify.yml on compliant hosts: at least 3x faster than 0.2.0 (issue 14)',
                            ratio(base, ours), met(base, ours, lambda r: r >= 3)))
        fleet = [r for r in self.rows if r['case'] == 'fleet']
        if fleet:
            sizes = sorted(set(r['size'] for r in fleet))
            combos = sorted(set((r['forks'], r.get('strategy') or 'linear') for r in fleet),
                            key=lambda c: (c[1] != 'linear', c[0]))
            names = [fleet_name(f, st) for f, st in combos]
            labels = ['forks %d%s' % (f, '' if st == 'linear' else ', mitogen') for f, st in combos]
            out += ['## Fleet scale: verify.yml against systemd containers', '',
                    'Debian %s systemd containers on this machine, docker connection (no SSH). Their kernel '
                    'enforces no MAC, so every host is reported as failing: the run exercises the same tasks and '
                    'the report, which is what is timed. The controller and every container share this machine\'s '
                    'CPUs, so more forks than CPUs buys nothing here; on a real fleet each host brings its own. '
                    'Forks 5 is ansible\'s default; "mitogen" is mitogen\'s `mitogen_linear` strategy '
                    '(docs/enforce-a-fleet.md), the rest ansible\'s own `linear`.' % self.args.suite, '',
                    '| hosts | rounds | %s | %s |' % (' | '.join('%s (s)' % l for l in labels),
                                                      ' | '.join('marginal s/host, %s' % l for l in labels)),
                    '|---|---|%s' % ('---|' * 2 * len(names))]
            for size in sizes:
                cells = [fmt(self.med('fleet', size, n, 'verify')) for n in names]
                for n in names:
                    first, here = self.med('fleet', sizes[0], n, 'verify'), self.med('fleet', size, n, 'verify')
                    cells.append(fmt((here - first) / (size - sizes[0])) if size != sizes[0] and here and first
                                 else '-')
                out.append('| %d | %s | %s |' % (size, self.rounds('fleet', size, names[0]), ' | '.join(cells)))
            timed = [(self.med('fleet', sizes[-1], n, 'verify'), l) for n, l in zip(names, labels)]
            timed = [t for t in timed if t[0]]
            if timed:
                best = min(timed)
                out += ['', 'On %d hosts the fastest was %s (%.1f s); the slowest took %s as long.' % (
                    sizes[-1], best[1], best[0], ratio(max(timed)[0], best[0]))]
            out.append('')
        if targets:
            out += ['## Targets (issues 6, 15 and 18), from this run', '', '| target | measured | met |', '|---|---|---|']
            out += ['| %s | %s | %s |' % (t, m, {True: 'yes', False: '**no**', None: 'not measured'}[ok])
                    for t, m, ok in targets]
            out.append('')
        return '\n'.join(out)

    def rounds(self, case, size, contender, phase=None):
        """How many timings a row's median is taken from (the change phase's for item cases)."""
        phase = phase or {'fleet': 'verify'}.get(case, 'change')
        return str(len(self.timings(case, size, contender, phase)))

    def work(self, case, size, phase):
        key = 'parser_calls' if case == 'profiles' else 'commits'
        values = sorted(set(str(r['result'].get(key)) for r in self.rows
                            if (r['case'], r['size'], r['contender'], r['phase']) ==
                            (case, size, CASES[case][1][0], phase)))
        return ','.join(values) or '-'


def sizes(text):
    return [int(x) for x in text.split(',') if x]


def fleet_name(forks, strategy):
    return 'verify.yml forks=%d' % forks + ('' if strategy in (None, 'linear') else ' ' + strategy)


def fmt(value):
    return '-' if value is None else '%.1f' % value


def met(a, b, test):
    """True/False for the ratio a/b against a target, None when either side was not measured."""
    return None if not a or not b else bool(test(a / b))


def ratio(a, b):
    return '-' if not a or not b else '%.1fx' % (a / b)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--cases', default='booleans,profiles,fcontexts,ports,enforce,fleet')
    parser.add_argument('--booleans', default='1,5,20')
    parser.add_argument('--profiles', default='1,10,30')
    parser.add_argument('--fcontexts', default='1,10,30')
    parser.add_argument('--ports', default='1,10,30')
    parser.add_argument('--fleet', default='1,10,50')
    parser.add_argument('--forks', default='5,50')
    parser.add_argument('--strategies', default='linear,mitogen_linear',
                        help='fleet case: ansible strategies to compare (linear, mitogen_linear)')
    parser.add_argument('--suite', default='bookworm', choices=images.SUITES)
    parser.add_argument('--keep-lab', action='store_true', help='leave the bench lab running')
    parser.add_argument('--out', default=os.path.join(BENCH, 'results'))
    parser.add_argument('--doc', default=os.path.join(ROOT, 'docs', 'performance.md'))
    parser.add_argument('--note', default='', help='a line for the doc (conditions of the run)')
    parser.add_argument('--render', metavar='RESULTS_JSON', nargs='+',
                        help='only write the doc again from results files (runs of separate cases, merged; with '
                             '--note, say how they were measured)')
    args = parser.parse_args()
    if args.render:
        parts = []
        for path in args.render:
            with open(path) as f:
                parts.append(json.load(f))
        # machine and lab from a run that booted its lab (a run on a kept lab cannot tell the accelerator)
        first = next((p for p in parts if ACCEL_UNKNOWN not in p['machine']['lab']), parts[0])
        # enforce rows measured without the 0.2.0 contender (before issue 18) are not mixed into side-by-side ones
        paired = any(r['contender'] == BASELINE_NAME for p in parts for r in p['rows'])
        # fleet rows from before verify became one posture read (no strategy recorded) are not mixed with later ones
        strategies = any(r['case'] == 'fleet' and 'strategy' in r for p in parts for r in p['rows'])
        # the playbook cases come from the latest run that measured them side by side: each run measures one state
        # of this checkout, and medians over two states would describe neither
        latest = max((p for p in parts if any(r['contender'] == BASELINE_NAME for r in p['rows'])),
                     key=lambda p: p['started'], default=None)

        # a size of an item case likewise from the runs of the newest module code that measured it (runs that
        # recorded no revision count as one older state): a later checkout may have changed the module, and a median
        # over two states would describe neither
        def state(part):
            """The module code a run measured: its commit's plugins tree (runs of two commits with the same plugins
            measured the same modules); a run from a changed checkout ('+') or with no revision stands alone."""
            rev = part.get('revision')
            if not rev or rev.endswith('+'):
                return rev
            tree = subprocess.run(['git', '-C', ROOT, 'rev-parse', '%s:plugins' % rev], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, universal_newlines=True, check=False).stdout.strip()
            return tree or rev

        newest = {}
        for p in sorted(parts, key=lambda p: p['started']):
            p['_state'] = state(p)
            for r in p['rows']:
                if r['case'] in CASES:
                    newest[(r['case'], r['size'])] = p['_state']
        data = dict(first, started=min(p['started'] for p in parts), finished=max(p['finished'] for p in parts),
                    rows=[r for p in parts for r in p['rows']
                          if not (paired and r['case'] in ('enforce', 'verify') and p is not latest)
                          and not (strategies and r['case'] == 'fleet' and 'strategy' not in r)
                          and not (r['case'] in CASES and newest[(r['case'], r['size'])] != p['_state'])],
                    profile_copies=max(p.get('profile_copies', 0) for p in parts))
        bench = Bench(args)
        bench.rows = data['rows']
        with open(args.doc, 'w') as f:
            f.write(bench.markdown(data) + '\nRaw results: %s.\n' % ', '.join(
                '`%s`' % os.path.relpath(p, ROOT) for p in args.render))
        return
    cases = [c for c in args.cases.split(',') if c]
    bench = Bench(args)
    started = datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ')
    path = os.path.join(args.out, '%s.json' % started.replace(':', ''))

    def save():
        """Results so far (each case adds its rows): a long run that is stopped keeps what it measured."""
        data = bench.results(started)
        os.makedirs(args.out, exist_ok=True)
        with open(path, 'w') as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.makedirs(os.path.dirname(args.doc), exist_ok=True)
        with open(args.doc, 'w') as f:
            f.write(bench.markdown(data) + '\nRaw results: `%s`.\n' % os.path.relpath(path, ROOT))
        log('wrote %s and %s' % (path, args.doc))

    bench.checkpoint = save
    try:
        if any(c in cases for c in ('booleans', 'profiles', 'fcontexts', 'ports', 'enforce')):
            bench.lab_up(cases)
        for case in ('booleans', 'profiles', 'fcontexts', 'ports'):
            if case in cases:
                bench.item_case(case, sizes(getattr(args, case)))
                save()
        if 'enforce' in cases:
            bench.enforce_case()
            save()
        if 'fleet' in cases:
            bench.fleet_case(sizes(args.fleet), sizes(args.forks), [x for x in args.strategies.split(',') if x])
            save()
    finally:
        if not args.keep_lab:
            bench.run([sys.executable, '-m', 'lab', 'down', '--name', LAB], check=False)


if __name__ == '__main__':
    main()
