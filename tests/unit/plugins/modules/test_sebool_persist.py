"""sebool_persist in-process with a stand-in policy store (the libsemanage calls the module makes) and stand-in
running values: one commit for many booleans, check mode and diff, the store named in the task, running values left
alone for a store that is not the running policy's, and the error paths (nothing committed, nothing set)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.confine.lsm.plugins.modules import sebool_persist as mod
from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg


class FakeStore(object):
    """The store side of _sebool.Store: persistent values per store, and the commits made."""
    stores = {}
    opened = []
    commits = []

    def __init__(self, store=None):
        if store not in self.stores:
            raise sb.BoolError('the SELinux policy store %s is not managed by libsemanage' % store)
        self.store = store
        self.opened.append(store)

    def close(self):
        pass

    def names(self):
        return sorted(self.stores[self.store])

    def values(self, names):
        # libsemanage looks names up as C strings: what follows a NUL is not seen (the reason names are checked)
        return dict((n, self.stores[self.store][n.split('\0')[0]]) for n in names
                    if n.split('\0')[0] in self.stores[self.store])

    def commit(self, changes):
        self.commits.append((self.store, dict(changes)))
        self.stores[self.store].update(changes)


@pytest.fixture
def lab(tmp_path, monkeypatch):
    FakeStore.stores = {'targeted': {'httpd_can_network_connect': False, 'ftpd_full_access': True},
                        'alt': {'httpd_can_network_connect': False, 'ftpd_full_access': True}}
    FakeStore.opened, FakeStore.commits = [], []
    live = {'httpd_can_network_connect': False, 'ftpd_full_access': True}
    set_live = []
    monkeypatch.setattr(sb, 'HAS_BINDINGS', True)
    monkeypatch.setattr(sb, 'Store', FakeStore)
    monkeypatch.setattr(sb, 'runtime_values', lambda names: dict((n, live[n]) for n in names if n in live))

    def set_runtime(values):
        set_live.append(dict(values))
        live.update(values)
    monkeypatch.setattr(sb, 'set_runtime', set_runtime)
    config = tmp_path / 'config'
    config.write_text('SELINUX=enforcing\nSELINUXTYPE=targeted\n')
    monkeypatch.setattr(cfg, 'CONFIG', str(config))
    return dict(live=live, set_live=set_live, config=config, tmp=tmp_path)


def test_many_booleans_one_commit_then_idempotent(lab, run_module):
    args = {'booleans': {'httpd_can_network_connect': 'on', 'ftpd_full_access': 'off'}}
    res = run_module(mod.main, args)
    assert res['changed'] and res['commits'] == 1 and res['store'] == 'targeted' and not res['failed']
    assert FakeStore.commits == [('targeted', {'httpd_can_network_connect': True, 'ftpd_full_access': False})]
    assert lab['set_live'] == [{'httpd_can_network_connect': True, 'ftpd_full_access': False}]  # no policy load
    again = run_module(mod.main, args)
    assert not again['changed'] and again['commits'] == 0 and len(FakeStore.commits) == 1


def test_check_mode_and_diff_commit_nothing(lab, run_module):
    res = run_module(mod.main, {'booleans': {'httpd_can_network_connect': True}}, check=True, diff=True)
    assert res['changed'] and res['commits'] == 1 and FakeStore.commits == [] and lab['set_live'] == []
    assert res['diff']['before'] == 'httpd_can_network_connect: persistent=off runtime=off\n'
    assert res['diff']['after'] == 'httpd_can_network_connect: persistent=on runtime=on\n'
    assert res['diff']['before_header'] == 'SELinux booleans (targeted)'


def test_runtime_drift_is_set_back_without_a_commit(lab, run_module):
    lab['live']['ftpd_full_access'] = False
    res = run_module(mod.main, {'booleans': {'ftpd_full_access': True}})
    assert res['changed'] and res['commits'] == 0 and FakeStore.commits == []
    assert lab['set_live'] == [{'ftpd_full_access': True}]


def test_a_named_store_that_is_not_the_running_one_gets_persistent_values_only(lab, run_module):
    res = run_module(mod.main, {'booleans': {'httpd_can_network_connect': True}, 'store': 'alt'})
    assert res['changed'] and res['store'] == 'alt' and FakeStore.opened == ['alt']
    assert FakeStore.commits == [('alt', {'httpd_can_network_connect': True})]
    assert lab['set_live'] == [] and 'not the store of the running policy' in res['runtime_skipped']
    assert FakeStore.stores['targeted']['httpd_can_network_connect'] is False
    named = run_module(mod.main, {'booleans': {'httpd_can_network_connect': True}, 'store': 'targeted'})
    assert named['runtime_skipped'] is None  # the running policy's store: live too
    assert lab['set_live'] == [{'httpd_can_network_connect': True}]
    assert FakeStore.commits[-1] == ('targeted', {'httpd_can_network_connect': True})


def test_the_default_store_is_found_when_only_the_mode_line_is_ambiguous(lab, run_module):
    lab['config'].write_text('SELINUX = enforcing\nSELINUXTYPE=alt\n')
    res = run_module(mod.main, {'booleans': {'httpd_can_network_connect': True}})
    assert not res['failed'] and res['store'] == 'alt' and FakeStore.opened == ['alt'], res


def test_an_ambiguous_policy_type_without_store_fails(lab, run_module):
    lab['config'].write_text('SELINUX=enforcing\nSELINUXTYPE=alt\r\x0btargeted\n')
    res = run_module(mod.main, {'booleans': {'httpd_can_network_connect': True}})
    assert res['failed'] and 'line break' in res['msg'] and FakeStore.opened == [], res


def test_a_config_that_is_a_fifo_is_refused(lab, run_module):
    fifo = lab['tmp'] / 'fifo'
    os.mkfifo(str(fifo))
    lab['config'].unlink()
    os.symlink(str(fifo), str(lab['config']))
    res = run_module(mod.main, {'booleans': {'httpd_can_network_connect': True}})
    assert res['failed'] and 'FIFO' in res['msg'] and FakeStore.opened == [], res
    assert stat.S_ISFIFO(os.stat(str(lab['config'])).st_mode)


@pytest.mark.parametrize('args, named', [
    ({'booleans': {'httpd_can_network_connect\x00x': True}}, "'httpd_can_network_connect\\x00x'"),
    ({'booleans': {'httpd_can_network_connect\n': True}}, "'httpd_can_network_connect\\n'"),
    ({'booleans': {'httpd_can_network_connect=1 ftpd_full_access': True}}, 'ftpd_full_access'),
    ({'booleans': {'httpd_can_network_connect': 'on\x00'}}, "'on\\x00'"),
    ({'booleans': {'httpd_can_network_connect': 'maybe'}}, "'maybe'"),
    ({'booleans': {'httpd_can_network_connect': True}, 'store': 'alt\x00'}, "'alt\\x00'"),
    ({'booleans': {'httpd_can_network_connect': True}, 'store': '../alt'}, "'../alt'"),
    ({'booleans': {'httpd_can_network_connect': True}, 'store': 'nosuch'}, 'nosuch'),
    ({'booleans': {'confine_no_such_bool': True}}, 'confine_no_such_bool'),
    ({'booleans': {}}, 'booleans is empty'),
])
def test_bad_input_is_refused_naming_the_value(lab, run_module, args, named):
    res = run_module(mod.main, args)
    assert res['failed'] and named in res['msg'], (named, res['msg'])
    assert FakeStore.commits == [] and lab['set_live'] == []


def test_fallback_refuses_a_store_it_cannot_change(lab, run_module, monkeypatch):
    monkeypatch.setattr(sb, 'HAS_BINDINGS', False)
    monkeypatch.setattr(mod._respawn, 'into_system_python', lambda *a, **k: None)
    res = run_module(mod.main, {'booleans': {'httpd_can_network_connect': True}, 'store': 'alt'})
    assert res['failed'] and 'setsebool fallback' in res['msg'] and res['backend'] == 'setsebool', res


def test_fallback_refuses_a_booleans_local_that_is_a_fifo(lab, run_module, monkeypatch, tmp_path):
    monkeypatch.setattr(sb, 'HAS_BINDINGS', False)
    monkeypatch.setattr(mod._respawn, 'into_system_python', lambda *a, **k: None)
    monkeypatch.setattr(sb, 'runtime_values_from_fs', lambda names: {'httpd_can_network_connect': False})
    monkeypatch.setattr(sb, 'runtime_names', lambda: ['httpd_can_network_connect'])
    active = tmp_path / 'var-lib-selinux' / 'targeted' / 'active'
    active.mkdir(parents=True)
    os.mkfifo(str(active / 'booleans.local'))
    monkeypatch.setattr(mod, 'STORE_ROOTS', (str(tmp_path / 'var-lib-selinux'),))
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    (bindir / 'setsebool').write_text('#!/bin/sh\nexit 1\n')
    (bindir / 'setsebool').chmod(0o755)
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ['PATH']))
    res = run_module(mod.main, {'booleans': {'httpd_can_network_connect': True}})
    assert res['failed'] and 'FIFO' in res['msg'] and 'booleans.local' in res['msg'], res
