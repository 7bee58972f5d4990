"""Hostile input to the SELinux modules, through ansible-playbook against the reliability container (conftest.py).

Each refused case asserts the error names the bad value (repr) and the host is as it was: the file bytes and types
(`ls -la` shows a FIFO or a device staying one), the policy store byte for byte, no /.autorelabel. Each accepted
case asserts what it did and where. Tasks run with a time limit, so a module that blocks (on a FIFO) fails its
case instead of hanging the run.
"""
import hashlib
import json
import os
import tempfile

import pytest

from conftest import record, sh

AREA = 'hostile input (SELinux)'
CFG = 'SELINUX=permissive\nSELINUXTYPE=default\n'
TE = 'module confine_alt 1.0;\nrequire { type httpd_t; type var_t; class file getattr; }\n' \
     'allow httpd_t var_t:file getattr;\n'
TIME_LIMIT = 120  # seconds a task may take; a blocked open of a FIFO would take forever


def task(host, module, args, check=False):
    """host.task with a time limit on the task (the `timeout` keyword)."""
    play = [{'hosts': 'all', 'gather_facts': False,
             'tasks': [{'name': 'case', module: args, 'check_mode': check, 'timeout': TIME_LIMIT}]}]
    fd, path = tempfile.mkstemp(prefix='play-', suffix='.json', dir=host.workdir)
    with os.fdopen(fd, 'w') as f:
        json.dump(play, f)
    proc = sh(['ansible-playbook', '-i', host.inventory, path], check=False, env=host.env,
              timeout=TIME_LIMIT + 120)
    try:
        data = json.loads(proc.stdout[proc.stdout.index('{'):])
        return data['plays'][0]['tasks'][0]['hosts'][host.name]
    except (ValueError, KeyError, IndexError):
        raise AssertionError('no result from ansible-playbook (rc=%d): %s' % (proc.returncode, proc.stdout[-3000:]))


def no_flag(host):
    return host.exec('sh', '-c', 'ls -la /.autorelabel 2>/dev/null || echo none').strip() == 'none'


def refused(host, module, args, named, case, paths=(), check_mode=False):
    """The task fails, its message holds `named` (the bad value's repr), and nothing changed."""
    before = host.snapshot(*paths)
    res = task(host, module, args, check=check_mode)
    after = host.snapshot(*paths)
    assert res.get('failed'), res
    assert named in res['msg'], (named, res['msg'])
    assert after == before, 'the host changed'
    assert no_flag(host)
    record(AREA, case, 'refused, naming %s: "%s"; nothing changed' % (named, res['msg'][:200]))
    return res


@pytest.fixture
def flagless(host):
    """No /.autorelabel before a case; one left by a case is removed (the case has asserted it)."""
    host.exec('rm', '-f', '/.autorelabel')
    yield
    host.exec('rm', '-f', '/.autorelabel')


# ---------------------------------------------------------------- names that libsemanage would truncate or split

def test_boolean_name_with_a_nul(host, flagless):
    refused(host, 'confine.lsm.sebool_persist', {'booleans': {'httpd_can_network_connect\x00x': True}},
            repr('httpd_can_network_connect\x00x'),
            'boolean name with a NUL (libsemanage would set httpd_can_network_connect)')


def test_file_context_target_with_a_nul(host, flagless):
    refused(host, 'confine.lsm.selinux_fcontext',
            {'rules': [{'target': '/srv/confine-nul\x00(/.*)?', 'setype': 'httpd_sys_content_t'}]},
            repr('/srv/confine-nul\x00(/.*)?'), 'file-context target with a NUL (libsemanage would write /srv/confine-nul)')


def test_file_context_type_with_a_trailing_newline(host, flagless):
    refused(host, 'confine.lsm.selinux_fcontext',
            {'rules': [{'target': '/srv/confine-nl(/.*)?', 'setype': 'httpd_sys_content_t\n'}]},
            repr('httpd_sys_content_t\n'), 'file-context setype with a trailing newline (a "$" regex let it through)')


def test_file_context_level_that_injects_an_import_line(host, flagless):
    level = 's0 /srv/confine-a\nfcontext -a -t shadow_t /srv/confine-b'
    refused(host, 'confine.lsm.selinux_fcontext',
            {'rules': [{'target': '/srv/confine-a', 'setype': 'httpd_sys_content_t', 'selevel': level}]},
            repr(level), 'file-context selevel with a newline and a second semanage import line')


def test_policy_module_name_with_a_newline(host, flagless):
    refused(host, 'confine.lsm.selinux_policy_module',
            {'name': 'confine_rel\n', 'source': TE, 'sha256': '0' * 64}, repr('confine_rel\n'),
            'policy module name with a trailing newline')


def test_policy_name_that_injects_a_config_line(host, flagless):
    host.write('/root/cfg-inject', CFG)
    refused(host, 'confine.lsm.selinux_mode',
            {'state': 'enforcing', 'policy': 'default\nSELINUX=disabled', 'configfile': '/root/cfg-inject'},
            repr('default\nSELINUX=disabled'), 'policy name with a newline and a SELINUX=disabled line',
            paths=['/root/cfg-inject'])


# ---------------------------------------------------------------- paths that are not regular files

@pytest.mark.parametrize('kind, make, shown', [
    ('FIFO', ['mkfifo', '/root/cfg-special'], 'FIFO'),
    ('character device (1,3, as /dev/null)', ['mknod', '/root/cfg-special', 'c', '1', '3'], 'character device'),
])
def test_configfile_that_is_not_a_regular_file(host, flagless, kind, make, shown):
    host.exec('rm', '-f', '/root/cfg-special')
    host.exec(*make)
    try:
        before = host.exec('stat', '-c', '%F %i', '/root/cfg-special')
        res = refused(host, 'confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/root/cfg-special',
                                                         'policy': 'default'},
                      '/root/cfg-special', 'configfile that is a %s: refused without a blocking open' % kind)
        # (not in the snapshot's paths: its sha256sum would block on the FIFO; the node is compared below)
        assert shown in res['msg'], res['msg']
        assert host.exec('stat', '-c', '%F %i', '/root/cfg-special') == before  # the same node, not replaced
    finally:
        host.exec('rm', '-f', '/root/cfg-special')


# ---------------------------------------------------------------- where the relabel flag goes

def test_relabel_flag_goes_to_the_root_the_config_implies(host, flagless):
    host.exec('sh', '-c', 'rm -rf /root/img && mkdir -p /root/img/etc/selinux/default/policy && '
              'cp /etc/selinux/default/policy/policy.* /root/img/etc/selinux/default/policy/')
    host.write('/root/img/etc/selinux/config', 'SELINUX=disabled\nSELINUXTYPE=default\n')
    host.write('/root/cfg-norelabel', 'SELINUX=disabled\nSELINUXTYPE=default\n')
    try:
        img = task(host, 'confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/root/img/etc/selinux/config'})
        assert img['changed'] and img['relabel_scheduled'] and img['relabel_path'] == '/root/img/.autorelabel', img
        assert host.exec('sh', '-c', 'test -f /root/img/.autorelabel && echo yes').strip() == 'yes'
        assert no_flag(host)
        other = task(host, 'confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/root/cfg-norelabel'})
        assert other['changed'] and not other['relabel_scheduled'] and other['relabel_path'] is None, other
        assert 'names no root' in other['relabel_skipped'] and no_flag(host)
        assert host.read('/root/cfg-norelabel') == 'SELINUX=enforcing\nSELINUXTYPE=default\n'
        record(AREA, 'disabled -> enforcing with configfile ROOT/etc/selinux/config, and with a config elsewhere',
               'flag at ROOT/.autorelabel (not /.autorelabel); for /root/cfg-norelabel no flag anywhere and '
               'relabel_skipped says why')
    finally:
        host.exec('rm', '-rf', '/root/img', '/root/cfg-norelabel')


def test_relabel_flag_that_is_a_symlink(host, flagless):
    host.exec('sh', '-c', 'rm -rf /root/img && mkdir -p /root/img/etc/selinux/default/policy && '
              'cp /etc/selinux/default/policy/policy.* /root/img/etc/selinux/default/policy/ && '
              'echo keep > /root/victim && ln -s /root/victim /root/img/.autorelabel')
    host.write('/root/img/etc/selinux/config', 'SELINUX=disabled\nSELINUXTYPE=default\n')
    try:
        refused(host, 'confine.lsm.selinux_mode', {'state': 'enforcing', 'configfile': '/root/img/etc/selinux/config'},
                '/root/img/.autorelabel is a symbolic link',
                'relabel flag ROOT/.autorelabel that is a symlink to another file',
                paths=['/root/img/etc/selinux/config', '/root/img/.autorelabel', '/root/victim'])
        assert host.read('/root/victim') == 'keep\n'
    finally:
        host.exec('rm', '-rf', '/root/img', '/root/victim')


# ---------------------------------------------------------------- stores

def test_store_found_when_only_the_mode_line_is_ambiguous(host, flagless):
    saved = host.read('/etc/selinux/config')
    host.write('/etc/selinux/config', 'SELINUX = enforcing\nSELINUXTYPE=default\n')
    try:
        before = host.snapshot('/etc/selinux/config')
        res = task(host, 'confine.lsm.sebool_persist', {'booleans': {'httpd_can_network_connect': True}}, check=True)
        assert not res.get('failed') and res['store'] == 'default', res
        assert host.snapshot('/etc/selinux/config') == before
        mode = task(host, 'confine.lsm.selinux_mode', {'state': 'enforcing'}, check=True)
        assert mode.get('failed') and 'line 1' in mode['msg'], mode  # the editor still refuses the text
        record(AREA, '/etc/selinux/config whose SELINUX line libselinux skips ("SELINUX = enforcing"), type clear',
               'sebool_persist finds store "default" (check mode, nothing changed); selinux_mode still refuses '
               'to edit the file, naming line 1')
    finally:
        host.write('/etc/selinux/config', saved)


def test_policy_module_into_a_store_that_is_not_the_default(host, flagless):
    host.exec('sh', '-c', 'rm -rf /var/lib/selinux/confine_alt /etc/selinux/confine_alt && '
              'cp -a /var/lib/selinux/default /var/lib/selinux/confine_alt && '
              'cp -a /etc/selinux/default /etc/selinux/confine_alt')
    default_store = 'cd /var/lib/selinux/default && find . -type f -print0 | sort -z | xargs -0 sha256sum'
    try:
        before = host.exec('sh', '-c', default_store)
        args = {'name': 'confine_alt', 'source': TE, 'sha256': hashlib.sha256(TE.encode()).hexdigest(),
                'store': 'confine_alt'}
        first = task(host, 'confine.lsm.selinux_policy_module', args)
        # (the result's "action" is hidden here: the json callback puts the task's action under that key)
        assert not first.get('failed') and first['changed'] and first['installed_before'] == {}, first
        listed = host.exec('semodule', '-s', 'confine_alt', '-l')
        assert 'confine_alt' in listed.split(), listed
        assert 'confine_alt' not in host.exec('semodule', '-l').split()
        again = task(host, 'confine.lsm.selinux_policy_module', args)
        assert not again.get('failed') and not again['changed'], again
        assert again['installed_before'] == {'400': first['package_sha256']}, again
        assert host.exec('sh', '-c', default_store) == before
        record(AREA, 'policy module with store: confine_alt (a copy of the default store)',
               'installed with semodule -s confine_alt (listed there, not in the default store, whose files are '
               'byte for byte unchanged); the rerun changed nothing')
    finally:
        host.exec('rm', '-rf', '/var/lib/selinux/confine_alt', '/etc/selinux/confine_alt')
