"""selinux_fcontext in-process against a temp store tree and stand-ins for libsemanage, setools, semanage and
restorecon: one libsemanage commit (or, for equivalences and hosts without the bindings, one import) for many rules
into the store the task names, types checked first, check mode and diff, and bad input refused before the store is
read or anything is committed."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.confine.lsm.plugins.modules import selinux_fcontext as mod
from ansible_collections.confine.lsm.plugins.module_utils import _fcontext as fc
from ansible_collections.confine.lsm.plugins.module_utils import _respawn
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _status

# semanage import as far as the module uses it: -S picks the store (else the config's, here "targeted"); the lines
# are applied to file_contexts.local; a rule naming confine_no_such_t is refused as a whole.
SEMANAGE = """#!/usr/bin/env python3
import os, sys
root, log = %r, %r
args = sys.argv[1:]
data = sys.stdin.read()
with open(log, 'a') as f:
    f.write(' '.join(args) + '\\n' + data)
if 'confine_no_such_t' in data:
    sys.stderr.write('ValueError: Type confine_no_such_t is invalid, must be a file or device type\\n')
    sys.exit(1)
store = args[args.index('-S') + 1] if '-S' in args else 'targeted'
local = os.path.join(root, store, 'contexts', 'files', 'file_contexts.local')
rules = {}
if os.path.exists(local):
    for line in open(local):
        parts = line.split()
        if parts and not parts[0].startswith('#'):
            rules[parts[0]] = parts[-1]
for line in data.splitlines():
    w = line.split()
    if not w or '-e' in w:  # equivalences: only logged
        continue
    if w[1] in ('-a', '-m'):
        rules[w[-1]] = '%%s:object_r:%%s:%%s' %% (w[w.index('-s') + 1], w[w.index('-t') + 1], w[w.index('-r') + 1])
    elif w[1] == '-d':
        rules.pop(w[-1], None)
with open(local, 'w') as f:
    f.write(''.join('%%s    %%s\\n' %% kv for kv in sorted(rules.items())))
"""
RESTORECON = """#!/bin/sh
echo "$@" >> %r
"""
BASE = '/srv/confine-base(/.*)?    system_u:object_r:var_t:s0\n'


def tool(bindir, name, text):
    path = bindir / name
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def lab(tmp_path, monkeypatch):
    root = tmp_path / 'etc-selinux'
    for store in ('targeted', 'alt'):
        files = root / store / 'contexts' / 'files'
        files.mkdir(parents=True)
        (files / 'file_contexts').write_text(BASE)
    monkeypatch.setattr(fc, 'ROOT', str(root))
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    log = tmp_path / 'semanage.log'
    rlog = tmp_path / 'restorecon.log'
    tool(bindir, 'semanage', SEMANAGE % (str(root), str(log)))
    tool(bindir, 'restorecon', RESTORECON % str(rlog))
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ['PATH']))
    monkeypatch.setattr(fc.se, 'active', lambda: True)
    config = tmp_path / 'config'
    config.write_text('SELINUX=enforcing\nSELINUXTYPE=targeted\n')
    monkeypatch.setattr(cfg, 'CONFIG', str(config))
    # no libsemanage bindings and no system Python that has them: the semanage import path, setools unread
    monkeypatch.setattr(fc, 'semanage', None)
    monkeypatch.setattr(_respawn, 'into_system_python', lambda name: None)
    monkeypatch.setattr(_status, 'policy_types_of', lambda policyrep, path, attributes: None)
    www = tmp_path / 'www'
    www.mkdir()
    return dict(root=root, log=log, rlog=rlog, config=config, tmp=tmp_path, www=str(www))


FILE_TYPES = {'httpd_sys_content_t', 'httpd_sys_rw_content_t', 'var_t'}
ALL_TYPES = FILE_TYPES | {'httpd_t', 'null_device_t'}


class FakeFcontextStore(object):
    """libsemanage as the module uses it: commit_rules writes file_contexts.local of its store in the temp tree."""
    root = None
    commits = []
    refuse = False

    def __init__(self, store):
        self.store = store

    def close(self):
        pass

    def commit_rules(self, changes):
        if FakeFcontextStore.refuse:
            raise fc.FcontextError('the policy store transaction failed to commit; the store is unchanged')
        path = os.path.join(self.root, self.store, 'contexts', 'files', 'file_contexts.local')
        now = fc.parse_local(open(path).read() if os.path.exists(path) else '')
        for c in changes:
            if c['kind'] != 'rule':
                raise AssertionError('an equivalence reached libsemanage')
            if c['after'] is None:
                now.pop((c['target'], c['ftype']), None)
            else:
                now[(c['target'], c['ftype'])] = c['after']
        with open(path, 'w') as f:
            f.write(''.join('%s %s%s\n' % (t, fc.FTYPES[ft] + ' ' if fc.FTYPES[ft] else '', con)
                            for (t, ft), con in sorted(now.items())))
        FakeFcontextStore.commits.append((self.store, [(c['target'], c['after']) for c in changes]))


@pytest.fixture
def bindings(lab, monkeypatch):
    """The libsemanage bindings and setools present: rules go through one in-process commit."""
    FakeFcontextStore.root, FakeFcontextStore.commits, FakeFcontextStore.refuse = str(lab['root']), [], False
    monkeypatch.setattr(fc, 'semanage', object())
    monkeypatch.setattr(fc, 'FcontextStore', FakeFcontextStore)
    monkeypatch.setattr(_status, 'policy_types_of', lambda policyrep, path, attributes: dict(
        (a, (FILE_TYPES if a == 'file_type' else {'null_device_t'}, ALL_TYPES, set())) for a in attributes))
    return FakeFcontextStore


def imports(lab):
    text = lab['log'].read_text() if lab['log'].exists() else ''
    return [line for line in text.splitlines() if line.startswith('import')]


def local(lab, store):
    path = lab['root'] / store / 'contexts' / 'files' / 'file_contexts.local'
    return path.read_text() if path.exists() else ''


def rules(lab, *types):
    return {'rules': [{'target': '%s%s(/.*)?' % (lab['www'], '/%d' % i if i else ''), 'setype': t}
                      for i, t in enumerate(types)]}


def test_many_rules_one_import_into_the_named_store_then_idempotent(lab, run_module):
    args = dict(rules(lab, 'httpd_sys_content_t', 'httpd_sys_rw_content_t'), store='alt')
    res = run_module(mod.main, args)
    assert res['changed'] and res['commits'] == 1 and res['store'] == 'alt' and not res['failed'], res.get('msg')
    assert imports(lab) == ['import -S alt'] and len(res['commands']) == 2
    assert 'httpd_sys_rw_content_t:s0' in local(lab, 'alt') and local(lab, 'targeted') == ''
    again = run_module(mod.main, args)
    assert again['commits'] == 0 and again['changes'] == [] and imports(lab) == ['import -S alt'], again


def test_check_mode_and_diff_import_nothing(lab, run_module):
    res = run_module(mod.main, rules(lab, 'httpd_sys_content_t'), check=True, diff=True)
    assert res['changed'] and res['commits'] == 1 and imports(lab) == [] and res['store'] == 'targeted'
    assert res['diff']['before'] == '' and 'httpd_sys_content_t:s0' in res['diff']['after']
    assert res['diff']['after_header'] == 'file_contexts.local (targeted)'
    assert '-n' in lab['rlog'].read_text().split()  # restorecon only looked


def test_restorecon_runs_over_the_covered_paths_or_is_skipped(lab, run_module, monkeypatch):
    res = run_module(mod.main, rules(lab, 'httpd_sys_content_t'))
    assert res['restorecon_paths'] == [lab['www']]
    assert lab['rlog'].read_text().split() == ['-R', '-v', '--', lab['www']]
    monkeypatch.setattr(fc.se, 'active', lambda: False)
    off = run_module(mod.main, rules(lab, 'httpd_sys_rw_content_t'))
    assert 'not active' in off['restorecon_skipped']


def test_the_default_store_is_found_when_only_the_mode_line_is_ambiguous(lab, run_module):
    lab['config'].write_text(' SELINUX=enforcing\nSELINUXTYPE=alt\n')
    res = run_module(mod.main, rules(lab, 'httpd_sys_content_t'))
    assert not res['failed'] and res['store'] == 'alt' and imports(lab) == ['import -S alt'], res


def test_semanage_refusing_changes_nothing(lab, run_module):
    res = run_module(mod.main, rules(lab, 'httpd_sys_content_t', 'confine_no_such_t'))
    assert res['failed'] and 'confine_no_such_t' in res['msg'] and res['changes'] == [] and res['commits'] == 0
    assert local(lab, 'targeted') == ''


@pytest.mark.parametrize('args, named', [
    ({'rules': [{'target': '/srv/confine-x\x00(/.*)?', 'setype': 'var_t'}]}, "'/srv/confine-x\\x00(/.*)?'"),
    ({'rules': [{'target': '/srv/confine-x\n/etc(/.*)?', 'setype': 'var_t'}]}, "'/srv/confine-x\\n/etc(/.*)?'"),
    ({'rules': [{'target': '/srv/confine-x', 'setype': 'httpd_sys_content_t\n'}]}, "'httpd_sys_content_t\\n'"),
    ({'rules': [{'target': '/srv/confine-x', 'setype': 'var_t\x00shadow_t'}]}, "'var_t\\x00shadow_t'"),
    ({'rules': [{'target': '/srv/confine-x', 'setype': 'var_t', 'seuser': 'system_u\x01'}]}, "'system_u\\x01'"),
    ({'rules': [{'target': '/srv/confine-x', 'setype': 'var_t', 'selevel': 's0\n'}]}, "'s0\\n'"),
    ({'rules': [{'target': '/srv/confine-x', 'setype': 'var_t', 'selevel': 's0\u2028'}]}, "'s0\\u2028'"),
    ({'equivalences': [{'target': '/srv/confine-x', 'source': '/var/www\x00'}]}, "'/var/www\\x00'"),
    ({'rules': [{'target': '/srv/confine-x', 'setype': 'var_t'}], 'store': 'alt\n'}, "'alt\\n'"),
    ({'rules': [{'target': '/srv/confine-x', 'setype': 'var_t'}], 'store': '../alt'}, "'../alt'"),
    ({'rules': [{'target': '/srv/confine-x', 'setype': 'var_t'}], 'store': 'nosuch'}, "'nosuch'"),
    ({'rules': [{'target': '/srv/confine-x', 'setype': 'var_t'}], 'restorecon_paths': ['/srv\x00/etc']},
     "'/srv\\x00/etc'"),
    ({'rules': [{'target': 'srv/confine-x', 'setype': 'var_t'}]}, "'srv/confine-x'"),
    ({'rules': [{'target': '/srv/a b', 'setype': 'var_t'}]}, "'/srv/a b'"),
])
def test_bad_input_is_refused_naming_the_value(lab, run_module, args, named):
    res = run_module(mod.main, args)
    assert res['failed'] and named in res['msg'], (named, res['msg'])
    assert imports(lab) == [] and not lab['rlog'].exists() and local(lab, 'targeted') == ''


def test_a_store_file_that_is_a_fifo_is_refused_without_blocking(lab, run_module):
    fifo = lab['root'] / 'targeted' / 'contexts' / 'files' / 'file_contexts.local'
    os.mkfifo(str(fifo))
    res = run_module(mod.main, rules(lab, 'httpd_sys_content_t'))
    assert res['failed'] and 'FIFO' in res['msg'] and str(fifo) in res['msg'], res
    assert stat.S_ISFIFO(os.lstat(str(fifo)).st_mode) and imports(lab) == []


def test_rules_commit_once_in_process_with_types_checked_then_idempotent(lab, bindings, run_module):
    args = dict(rules(lab, 'httpd_sys_content_t', 'null_device_t'), store='alt')
    check = run_module(mod.main, args, check=True)
    assert check['changed'] and check['commits'] == 1 and bindings.commits == [] and check['backend'] == 'libsemanage'
    res = run_module(mod.main, args)
    assert res['changed'] and res['commits'] == 1 and res['backend'] == 'libsemanage', res.get('msg')
    assert res['type_check'] == 'setools' and imports(lab) == [] and len(bindings.commits) == 1
    assert bindings.commits[0][0] == 'alt' and len(bindings.commits[0][1]) == 2 and local(lab, 'targeted') == ''
    assert len(res['commands']) == 2 and 'null_device_t:s0' in local(lab, 'alt')
    for check_mode in (True, False):
        again = run_module(mod.main, args, check=check_mode)
        assert not again['changed'] and again['commits'] == 0 and again['backend'] is None, again
    assert len(bindings.commits) == 1
    gone = run_module(mod.main, {'rules': [{'target': args['rules'][1]['target'], 'state': 'absent'}], 'store': 'alt'})
    assert gone['changed'] and bindings.commits[-1] == ('alt', [(args['rules'][1]['target'], None)])
    assert 'null_device_t' not in local(lab, 'alt') and 'httpd_sys_content_t' in local(lab, 'alt')


@pytest.mark.parametrize('setype, named', [
    ('httpd_sys_contnet_t', 'did you mean: httpd_sys_content_t'),
    ('httpd_t', 'httpd_t for %s is not a file or device type'),
])
def test_a_type_that_is_no_file_type_is_refused_before_the_commit(lab, bindings, run_module, setype, named):
    for check_mode in (True, False):
        res = run_module(mod.main, rules(lab, 'var_t', setype), check=check_mode)
        assert res['failed'] and named.replace('%s', lab['www'] + '/1(/.*)?') in res['msg'], res['msg']
        assert res['msg'].endswith('nothing was changed') and bindings.commits == [] and local(lab, 'targeted') == ''


def test_a_rule_under_an_equivalence_is_refused_naming_the_rule_to_give(lab, bindings, run_module):
    subs = lab['root'] / 'targeted' / 'contexts' / 'files' / 'file_contexts.subs'
    subs.write_text('%s /var/www\n' % lab['www'])
    res = run_module(mod.main, {'rules': [{'target': lab['www'] + '/data(/.*)?', 'setype': 'var_t'}]})
    assert res['failed'] and 'equivalence' in res['msg'] and '/var/www/data(/.*)?' in res['msg'], res['msg']
    assert bindings.commits == []


def test_equivalences_go_through_one_import_with_the_rules(lab, bindings, run_module):
    args = dict(rules(lab, 'httpd_sys_content_t'), equivalences=[{'target': '/srv/confine-web', 'source': '/var/www'}])
    res = run_module(mod.main, args)
    assert res['changed'] and res['backend'] == 'semanage import' and bindings.commits == [], res.get('msg')
    assert imports(lab) == ['import -S targeted'] and len(res['commands']) == 2


def test_libsemanage_refusing_changes_nothing(lab, bindings, run_module):
    bindings.refuse = True
    res = run_module(mod.main, rules(lab, 'httpd_sys_content_t'))
    assert res['failed'] and 'libsemanage refused' in res['msg'] and res['changes'] == [] and res['commits'] == 0
    assert local(lab, 'targeted') == '' and not lab['rlog'].exists()


def test_without_setools_libsemanage_checks_at_commit_and_the_task_says_so(lab, bindings, run_module, monkeypatch):
    monkeypatch.setattr(_status, 'policy_types_of', lambda policyrep, path, attributes: None)
    warned = []
    monkeypatch.setattr(mod.AnsibleModule, 'warn', lambda self, text: warned.append(text))
    res = run_module(mod.main, rules(lab, 'httpd_sys_content_t'))
    assert res['changed'] and res['type_check'] == 'libsemanage' and len(bindings.commits) == 1
    assert any('setools could not read' in w for w in warned), warned


def test_the_policy_is_read_only_when_a_changing_rule_sets_a_type(lab, bindings, run_module, monkeypatch):
    reads = []
    real = _status.policy_types_of
    monkeypatch.setattr(_status, 'policy_types_of', lambda policyrep, path, attributes: (
        reads.append(1), real(policyrep, path, attributes))[1])
    args = rules(lab, 'httpd_sys_content_t', 'var_t')
    assert run_module(mod.main, args)['type_check'] == 'setools' and reads == [1]
    assert run_module(mod.main, args)['type_check'] is None and reads == [1]  # nothing changes: nothing read
    gone = dict(args, rules=[args['rules'][0], dict(target=args['rules'][1]['target'], state='absent')])
    res = run_module(mod.main, gone)  # one rule in place, one removed: no type to check
    assert res['commits'] == 1 and res['type_check'] is None and reads == [1], res
