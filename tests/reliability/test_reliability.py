"""Hostile cases: bad input, faults and concurrent runs never leave a host half-configured or less protected.

Each case asserts (a) a clear error naming the bad value where input is bad and (b) the host as it was (file bytes,
the policy store's local changes, profile files), or, for faults, that what is left is the old or the new state and
a rerun converges. Runs against one container (see conftest.py); the kernel-side cases run on the lab VMs
(tests/integration).
"""
import os
import random
import re
import threading
import time

import pytest

from conftest import ROOT, record

CFG = 'SELINUX=permissive\nSELINUXTYPE=default\n'
BROKEN = 'profile confine-broken /usr/bin/confine-broken {\n  /etc/hosts rz,\n}\n'


def to_complain(profile):
    """apparmor_profile_mode arguments that lower a profile to complain (allowed), so that it is rewritten."""
    return {'profiles': [profile], 'mode': 'complain', 'allow_weaken': True}


def refused(host, module, args, named, area, case, paths=(), check_mode=False):
    """The task fails, its message names `named`, and nothing in the snapshot changed."""
    before = host.snapshot(*paths)
    res = host.task(module, args, check=check_mode)
    after = host.snapshot(*paths)
    assert res.get('failed'), res
    assert named in res['msg'], (named, res['msg'])
    assert after == before, 'the host changed'
    record(area, case, 'refused: "%s"; nothing changed' % res['msg'][:240])


# ---------------------------------------------------------------- bad input

def test_unknown_booleans_mixed_with_valid_ones(host):
    mixed = {'booleans': {'httpd_can_network_connect': True, 'confine_no_such_bool': True}}
    refused(host, 'confine.lsm.sebool_persist', mixed, 'confine_no_such_bool', 'bad input', 'unknown boolean mixed with a valid one (none applied)')


def test_boolean_value_that_is_not_a_boolean(host):
    refused(host, 'confine.lsm.sebool_persist', {'booleans': {'httpd_can_network_connect': 'maybe'}},
            'maybe', 'bad input', 'boolean value "maybe"')


def test_invalid_mode_and_missing_policy_store(host):
    host.write('/root/cfg-bad', CFG)
    refused(host, 'confine.lsm.selinux_mode', {'state': 'enforce', 'configfile': '/root/cfg-bad'}, 'enforce',
            'bad input', 'invalid mode "enforce"', paths=['/root/cfg-bad'])
    refused(host, 'confine.lsm.selinux_mode', {'state': 'enforcing', 'policy': 'nosuch', 'configfile': '/root/cfg-bad'},
            'nosuch', 'bad input', 'policy whose store is not installed', paths=['/root/cfg-bad'])


def test_lowering_without_allow_weaken(host):
    host.write('/root/cfg-enf', 'SELINUX=enforcing\nSELINUXTYPE=default\n')
    refused(host, 'confine.lsm.selinux_mode', {'state': 'permissive', 'configfile': '/root/cfg-enf'},
            'allow_weaken', 'bad input', 'SELinux enforcing -> permissive without allow_weaken', paths=['/root/cfg-enf'])
    refused(host, 'confine.lsm.apparmor_profile_mode', {'profiles': ['nginx'], 'mode': 'complain'},
            'allow_weaken', 'bad input', 'AppArmor enforce -> complain without allow_weaken')


@pytest.mark.parametrize('ref, named, case', [
    ('confine-no-such-profile', 'confine-no-such-profile', 'profile name that matches nothing'),
    ('../../etc/passwd', 'path traversal', 'profile reference with ../'),
    ('nginx;id', 'nginx;id', 'profile reference with shell metacharacters (;)'),
    ('$(id)', '$(id)', 'profile reference with shell metacharacters ($())'),
])
def test_bad_profile_references(host, ref, named, case):
    refused(host, 'confine.lsm.apparmor_profile_mode', {'profiles': [ref], 'mode': 'enforce'}, named,
            'bad input', case)


def test_profile_matching_several_files(host):
    for n in ('confine-dup-a', 'confine-dup-b'):
        host.write('/etc/apparmor.d/%s' % n, 'profile confine-dup /usr/bin/confine-dup {\n}\n')
    try:
        refused(host, 'confine.lsm.apparmor_profile_mode', {'profiles': ['confine-dup'], 'mode': 'enforce'},
                'matches several', 'bad input', 'profile name declared in two files')
    finally:
        host.exec('rm', '-f', '/etc/apparmor.d/confine-dup-a', '/etc/apparmor.d/confine-dup-b')


def test_profile_that_fails_to_compile(host):
    host.write('/etc/apparmor.d/confine-broken', BROKEN)
    try:
        refused(host, 'confine.lsm.apparmor_profile_mode', to_complain('confine-broken'), 'does not compile',
                'bad input', 'profile that fails to compile (mode change)')
    finally:
        host.exec('rm', '-f', '/etc/apparmor.d/confine-broken')


def test_profile_file_that_is_a_symlink(host):
    host.write('/root/confine-real', 'profile confine-link /usr/bin/confine-link {\n  /etc/hosts r,\n}\n')
    host.exec('ln', '-sf', '/root/confine-real', '/etc/apparmor.d/confine-link')
    try:
        refused(host, 'confine.lsm.apparmor_profile_mode', to_complain('confine-link'), 'symlink',
                'bad input', 'profile file that is a symlink', paths=['/root/confine-real'])
    finally:
        host.exec('rm', '-f', '/etc/apparmor.d/confine-link', '/root/confine-real')


def test_profile_dir_that_does_not_exist(host):
    refused(host, 'confine.lsm.apparmor_profile_mode', {'profiles': ['nginx'], 'profile_dir': '/etc/no-such-dir'},
            '/etc/no-such-dir', 'bad input', 'profile_dir that does not exist')


def test_local_rule_the_parser_rejects(host):
    refused(host, 'confine.lsm.apparmor_local_rules', {'profile': 'nginx', 'rules': ['/srv/x rz,']},
            'does not compile', 'bad input', 'local rule the real apparmor_parser rejects (rz)')


def test_bad_file_contexts(host):
    refused(host, 'confine.lsm.selinux_fcontext', {'rules': [{'target': '/srv/a b(/.*)?', 'setype': 'var_t'}]},
            '/srv/a b', 'bad input', 'file-context spec with a space')
    refused(host, 'confine.lsm.selinux_fcontext', {'rules': [{'target': '/srv/confine-x(/.*)?',
                                                              'setype': 'confine_no_such_t'}]},
            'confine_no_such_t', 'bad input', 'file context with an unknown type')
    refused(host, 'confine.lsm.selinux_fcontext', {'rules': [{'target': '/srv/confine-x(/.*)?', 'setype': 'httpd_t'}]},
            'not a file or device type', 'bad input', 'file context with a domain type (no file type)')


def test_policy_module_with_the_wrong_sha256(host):
    te = 'module confine_rel 1.0;\nrequire { type httpd_t; type var_t; class file getattr; }\n' \
         'allow httpd_t var_t:file getattr;\n'
    refused(host, 'confine.lsm.selinux_policy_module', {'name': 'confine_rel', 'source': te, 'sha256': '0' * 64},
            '0' * 64, 'bad input', 'policy module whose source differs from the reviewed sha256')


# ---------------------------------------------------------------- /etc/selinux/config round trips

VARIANTS = [
    ('empty file', ''),
    ('CRLF line endings', '# comment\r\nSELINUX=permissive\r\nSELINUXTYPE=default\r\n'),
    ('duplicate keys', 'SELINUX=permissive\nSELINUXTYPE=default\nSELINUX=disabled\n'),
    ('garbage lines', 'this is not a key\n=oops\nSELINUX=\tPermissive # trailing\n\x01binary\nSELINUXTYPE=default\n'),
    ('no trailing newline', '# keep me\nSELINUXTYPE=default\nSELINUX=permissive'),
]


def other_lines(text):
    return [l for l in re.split(r'(?<=\n)', text) if not re.match(r'\s*SELINUX\s*=', l)]


@pytest.mark.parametrize('case, text', VARIANTS, ids=[v[0] for v in VARIANTS])
def test_config_variants_round_trip(host, case, text):
    host.write('/root/cfg-variant', text)
    res = host.task('confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/root/cfg-variant',
                                                 'policy': 'default'})
    assert not res.get('failed'), res
    after = host.read('/root/cfg-variant')
    # libselinux reads the first line that starts with SELINUX= and a known value; a later duplicate stays as it was
    first = re.search(r'(?m)^SELINUX=[ \t]*(enforcing|permissive|disabled)', after, re.I)
    assert first and first.group(1) == 'enforcing', after
    if text:
        assert other_lines(after) == other_lines(text) or other_lines(after)[:-1] == other_lines(text), (text, after)
    again = host.task('confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/root/cfg-variant',
                                                   'policy': 'default'})
    assert not again['changed']
    record('config round trip', case, 'SELINUX set to enforcing; every other byte kept; second run changed=false')


@pytest.mark.parametrize('case, text, named', [
    ('a mode line libselinux skips (blanks around =)', 'SELINUX = enforcing\nSELINUXTYPE=default\n',
     'looks like the SELINUX setting'),
    ('a mode after a CR-only line ending', '# note\rSELINUX=enforcing\nSELINUXTYPE=default\n', 'line break'),
    ('a NUL byte', 'SELINUX=enforcing\x00\nSELINUXTYPE=default\n', 'NUL byte'),
])
def test_config_libselinux_reads_otherwise(host, case, text, named):
    host.write('/root/cfg-odd', text)
    refused(host, 'confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/root/cfg-odd', 'policy': 'default'},
            named, 'bad input', 'config that other readers read otherwise than libselinux: %s' % case,
            paths=['/root/cfg-odd'])


def test_config_missing_and_symlinked(host):
    host.exec('rm', '-f', '/root/cfg-missing')
    res = host.task('confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/root/cfg-missing',
                                                 'policy': 'default'})
    assert res['changed'] and 'SELINUX=enforcing' in host.read('/root/cfg-missing').splitlines()
    record('config round trip', 'missing file', 'written from the template with SELINUX=enforcing')
    host.write('/root/cfg-target', CFG)
    host.exec('ln', '-sf', '/root/cfg-target', '/root/cfg-link')
    res = host.task('confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/root/cfg-link'})
    assert res['changed'] and host.exec('readlink', '/root/cfg-link').strip() == '/root/cfg-target'
    assert host.read('/root/cfg-target') == CFG.replace('permissive', 'enforcing')
    record('config round trip', 'config that is a symlink', 'the link stays; its target is rewritten')


def test_owner_and_mode_are_kept(host):
    host.write('/root/cfg-owned', CFG)
    host.exec('chown', '1234:4321', '/root/cfg-owned')
    host.exec('chmod', '0640', '/root/cfg-owned')
    host.task('confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/root/cfg-owned'})
    assert host.exec('stat', '-c', '%u:%g %a', '/root/cfg-owned').strip() == '1234:4321 640'
    record('security', 'rewritten config keeps owner and mode (labels: checked on the SELinux VM)',
           'owner 1234:4321 and mode 0640 kept')


# ---------------------------------------------------------------- faults

def test_read_only_etc(host):
    refused(host, 'confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/mnt/ro/config'},
            '/mnt/ro/config', 'faults', 'config on a read-only mount', paths=['/mnt/ro/config'])


def test_disk_full(host):
    host.write('/mnt/tiny/config', '# ' + 'x' * 3000 + '\n' + CFG)
    host.exec('sh', '-c', 'dd if=/dev/zero of=/mnt/tiny/fill bs=1k count=200 2>/dev/null; true')
    try:
        before = host.read('/mnt/tiny/config')
        res = host.task('confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/mnt/tiny/config'})
        assert res.get('failed') and 'nothing was changed' in res['msg'], res
        assert host.read('/mnt/tiny/config') == before
        assert host.exec('ls', '-A', '/mnt/tiny').split() == ['config', 'fill']  # no temp file left
        record('faults', 'disk full while writing the config (64 KiB tmpfs)',
               'failed: "%s"; old file intact, no temp file left' % res['msg'][:160])
    finally:
        host.exec('rm', '-f', '/mnt/tiny/fill')


def store_ok(host):
    """The policy store answers (semanage reads every local customisation) and the policy still builds."""
    host.exec('semanage', 'export')
    host.exec('semodule', '-l')
    return True


def persistent(host, name):
    """The boolean's local value in the policy store: True, False, or None when not customised."""
    for line in host.exec('semanage', 'boolean', '-E').splitlines():
        parts = line.split()
        if parts[-1:] == [name]:
            return parts[2] == '-1'
    return None


def profiles_compile(host):
    out = host.exec('sh', '-c', 'for f in /etc/apparmor.d/*; do [ -f "$f" ] || continue; '
                    'apparmor_parser -Q -K --base /etc/apparmor.d "$f" >/dev/null 2>&1 || echo "BROKEN $f"; done',
                    check=False)
    assert 'BROKEN' not in out, out
    return True


FAULT_MARK = '/root/confine-fault-reached'


def killed(res):
    """The module process died by SIGKILL: no JSON result from it, and the shell that ran it says signal 9 (rc 137;
    ansible-core words the missing result differently across versions, so the message is not compared)."""
    return bool(res.get('failed')) and res.get('rc') in (137, -9) and '{' not in res.get('module_stdout', '')


FAULTS = [
    ('write:before-rename', 'confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/root/cfg-kill'}),
    ('write:after-rename', 'confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/root/cfg-kill'}),
    ('sebool:before-commit', 'confine.lsm.sebool_persist', {'booleans': {'httpd_can_sendmail': True}}),
    ('sebool:after-commit', 'confine.lsm.sebool_persist', {'booleans': {'httpd_can_sendmail': True}}),
    # two kinds in the one commit of selinux_local: both or neither
    ('selocal:before-commit', 'confine.lsm.selinux_local',
     {'booleans': {'httpd_can_sendmail': True}, 'ports': [{'port': 8124, 'setype': 'http_port_t'}]}),
    # rules: one libsemanage commit in the module's process; an equivalence: one semanage import
    ('fcontext:before-commit', 'confine.lsm.selinux_fcontext',
     {'rules': [{'target': '/srv/confine-kill(/.*)?', 'setype': 'httpd_sys_content_t'}]}),
    ('fcontext:before-import', 'confine.lsm.selinux_fcontext',
     {'equivalences': [{'target': '/srv/confine-kill-eq', 'source': '/var/www'}]}),
    ('aa:between-files', 'confine.lsm.apparmor_profile_mode',
     {'profiles': ['confine-kill-a', 'confine-kill-b'], 'mode': 'complain', 'allow_weaken': True}),
    ('aa:before-load', 'confine.lsm.apparmor_profile_mode',
     {'profiles': ['confine-kill-a', 'confine-kill-b'], 'mode': 'complain', 'allow_weaken': True}),
]


@pytest.mark.parametrize('point, module, args', FAULTS, ids=[f[0] for f in FAULTS])
def test_sigkill_at_every_step(host, point, module, args):
    host.write('/root/cfg-kill', CFG)
    for n in ('a', 'b'):
        host.write('/etc/apparmor.d/confine-kill-%s' % n,
                   'profile confine-kill-%s /usr/bin/confine-kill-%s {\n  /etc/hosts r,\n}\n' % (n, n))
    host.exec('setsebool', '-P', 'httpd_can_sendmail=off')
    host.exec('rm', '-f', FAULT_MARK)
    res = host.task(module, args, env={'CONFINE_TEST_FAULT': point, 'CONFINE_TEST_FAULT_MARK': FAULT_MARK})
    # the module died by SIGKILL at this point, not by some other failure before it
    assert killed(res), 'the module was not killed at %s: %s' % (point, res)
    assert host.exec('cat', FAULT_MARK, check=False) == point, 'the fault point %s was not reached: %s' % (point, res)
    host.exec('rm', '-f', FAULT_MARK)
    # what is left is the old or the new state, nothing in between
    cfg = host.read('/root/cfg-kill')
    assert cfg in (CFG, CFG.replace('permissive', 'enforcing')), cfg
    store_ok(host)
    if module == 'confine.lsm.selinux_local':  # killed before the one commit: neither kind changed
        assert persistent(host, 'httpd_can_sendmail') is False, 'the boolean changed without its commit'
        assert '8124' not in host.exec('semanage', 'port', '-l', '-C'), 'the port label changed without its commit'
    profiles_compile(host)
    leftovers = host.exec('sh', '-c', 'ls -A /root /etc/apparmor.d | grep "^\\.confine-" || true').split()
    # a rerun converges, and the one after changes nothing
    first = host.task(module, args)
    second = host.task(module, args)
    assert not first.get('failed') and not second.get('failed') and not second['changed'], (first, second)
    record('faults', 'SIGKILL at %s (%s)' % (point, module.split('.')[-1]),
           'left old or new state; store answers; all profiles compile; rerun converged, then changed=false'
           + ('; a hidden temp file (%s) stays, ignored by every loader' % ', '.join(leftovers) if leftovers else ''))
    host.exec('sh', '-c', 'rm -f /etc/apparmor.d/confine-kill-* /etc/apparmor.d/.confine-* /root/.confine-*')
    host.task('confine.lsm.selinux_fcontext', {'rules': [{'target': '/srv/confine-kill(/.*)?', 'state': 'absent'}],
                                               'equivalences': [{'target': '/srv/confine-kill-eq', 'state': 'absent'}]})
    if module == 'confine.lsm.selinux_local':
        host.task('confine.lsm.selinux_port', {'ports': [{'port': 8124, 'state': 'absent'}]})


def test_sigkill_at_random_points_during_a_commit(host):
    """Kill the module and its children at random moments while the policy store commits."""
    outcomes = []
    rng = random.Random(7)
    for i in range(5):
        value = i % 2 == 0
        result = {}

        def run():
            result['res'] = host.task('confine.lsm.sebool_persist',
                                      {'booleans': {'httpd_can_sendmail': value, 'httpd_enable_cgi': value}})
        worker = threading.Thread(target=run)
        worker.start()
        # the moment is random within the module's run, whatever the host's load: wait until the module process is
        # there (ansible's start takes from one second to many on a loaded controller), then 0-2 s into its run
        deadline = time.time() + 60
        while time.time() < deadline and worker.is_alive():
            if host.exec('sh', '-c', 'pgrep -f "[A]nsiballZ_sebool_persist" >/dev/null && echo up || true',
                         check=False).strip() == 'up':
                break
            time.sleep(0.2)
        time.sleep(rng.uniform(0.0, 2.0))
        host.exec('sh', '-c', 'pkill -9 -f "AnsiballZ|semanage|semodule|load_policy" || true', check=False)
        worker.join()
        store_ok(host)
        res = result['res']
        # a run the kill missed finished cleanly; any other failure is a defect, not "the kill landed"
        assert killed(res) or not res.get('failed'), res
        outcomes.append('killed' if killed(res) else 'finished')
        converge = host.task('confine.lsm.sebool_persist',
                             {'booleans': {'httpd_can_sendmail': value, 'httpd_enable_cgi': value}})
        assert not converge.get('failed'), converge
        assert not host.task('confine.lsm.sebool_persist',
                             {'booleans': {'httpd_can_sendmail': value, 'httpd_enable_cgi': value}})['changed']
    # the test proves something only when kills landed while the module ran
    assert 'killed' in outcomes, 'no kill landed while the module ran: %s' % outcomes
    record('faults', 'SIGKILL at 5 random moments (0-2 s after the module process appears) of a boolean commit, '
           'module and semanage children',
           '%d of 5 kills landed while the module ran (runs %s); the store answered after each; every rerun '
           'converged' % (outcomes.count('killed'), ', '.join(outcomes)))


def test_two_runs_at_once(host):
    results = {}

    def run(key, booleans):
        results[key] = host.task('confine.lsm.sebool_persist', {'booleans': booleans})

    seen = []
    for rnd in range(2):
        value = rnd == 0
        a = threading.Thread(target=run, args=('a', {'httpd_can_sendmail': value}))
        b = threading.Thread(target=run, args=('b', {'httpd_enable_cgi': value}))
        for t in (a, b):
            t.start()
        for t in (a, b):
            t.join()
        store_ok(host)
        for key, name in (('a', 'httpd_can_sendmail'), ('b', 'httpd_enable_cgi')):
            res = results[key]
            seen.append('failed on the lock' if res.get('failed') else 'ok')
            if res.get('failed'):
                assert re.search(r'lock|transaction', res['msg']), res['msg']
            else:
                assert persistent(host, name) == value, (name, value)
    record('concurrency', 'two ansible-playbook runs at once on one host, each committing booleans (2 rounds)',
           'runs: %s; a run that failed named the store lock; the store answered and held every value a finished '
           'run set' % ', '.join(seen))


# ---------------------------------------------------------------- missing tools and bindings, no MAC in the kernel

def test_without_apparmor_parser(host):
    host.exec('mv', '/usr/sbin/apparmor_parser', '/usr/sbin/apparmor_parser.hidden')
    try:
        refused(host, 'confine.lsm.apparmor_profile_mode', to_complain('nginx'), 'apparmor_parser not found',
                'missing tools', 'host without apparmor_parser')
    finally:
        host.exec('mv', '/usr/sbin/apparmor_parser.hidden', '/usr/sbin/apparmor_parser')


def test_without_selinux_bindings(host):
    paths = host.exec('sh', '-c', 'ls -d /usr/lib/python3/dist-packages/selinux /usr/lib/python3/dist-packages/'
                      'semanage.py /usr/lib/python3/dist-packages/_semanage* 2>/dev/null', check=False).split()
    before = host.snapshot()
    for p in paths:
        host.exec('mv', p, p + '.hidden')
    try:
        res = host.task('confine.lsm.sebool_persist', {'booleans': {'httpd_can_sendmail': True}})
    finally:
        for p in paths:
            host.exec('mv', p + '.hidden', p)
    assert res.get('failed') and 'python3-selinux' in res['msg'], res
    assert host.snapshot() == before
    record('missing tools', 'host without the SELinux Python bindings (and SELinux inactive)',
           'refused: "%s"; nothing changed' % res['msg'][:240])


def test_selinux_disabled_in_the_kernel(host):
    host.write('/root/cfg-nokernel', CFG)
    res = host.task('confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/root/cfg-nokernel'})
    assert res['changed'] and res['reboot_required'] and res['runtime_state'] == 'disabled', res
    record('missing tools', 'SELinux disabled in the kernel (this container)',
           'config set to enforcing; reboot_required=true; nothing set live')


# ---------------------------------------------------------------- security

def test_no_shell_anywhere():
    hits = []
    for base in ('plugins', 'roles', 'playbooks'):
        for dirpath, dummy, files in os.walk(os.path.join(ROOT, base)):
            for name in files:
                path = os.path.join(dirpath, name)
                with open(path, errors='replace') as f:
                    text = f.read()
                for pat in (r'use_unsafe_shell\s*=\s*True', r'shell\s*=\s*True', r'os\.system\(', r'os\.popen\(',
                            r'ansible\.builtin\.shell:', r'ansible\.builtin\.raw:', r'^\s*shell:'):
                    if re.search(pat, text, re.M):
                        hits.append('%s: %s' % (os.path.relpath(path, ROOT), pat))
    assert hits == []
    record('security', 'no shell: plugins, roles and playbooks scanned for shell=True, use_unsafe_shell, os.system, '
           'shell/raw tasks', 'none found; every tool runs from an argument list')


def test_lowering_is_visible_in_the_result(host):
    host.write('/root/cfg-low', 'SELINUX=enforcing\nSELINUXTYPE=default\n')
    res = host.task('confine.lsm.selinux_mode', {'state': 'permissive', 'configfile': '/root/cfg-low',
                                                 'allow_weaken': True})
    assert res['changed'] and res['weakened'], res
    aa = host.task('confine.lsm.apparmor_profile_mode', {'profiles': ['nginx'], 'mode': 'complain',
                                                         'allow_weaken': True})
    assert aa['weakened'], aa
    host.task('confine.lsm.apparmor_profile_mode', {'profiles': ['nginx'], 'mode': 'enforce'})
    record('security', 'allow_weaken lowering (SELinux and AppArmor)',
           'result.weakened says what was lowered: %s; %s (the fleet report carries it in its "weakened" column)'
           % (res['weakened'], aa['weakened']))
