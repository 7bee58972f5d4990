"""selinux_permissive in-process against a stand-in store: one commit for many domains, the lowering guard, purge,
check mode and diff, refusals before anything is committed."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.confine.lsm.plugins.modules import selinux_permissive as mod
from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _status
from ansible_collections.confine.lsm.plugins.module_utils import _sepermissive as pm

DOMAINS = {'httpd_t', 'sshd_t', 'ftpd_t', 'builtin_t'}


class FakeStore(object):
    state = set()
    commits = []

    def __init__(self, store):
        pass

    def local(self):
        return set(FakeStore.state)

    def commit_plan(self, add, remove, reload_policy):
        FakeStore.commits.append((list(add), list(remove), reload_policy))
        FakeStore.state = (FakeStore.state | set(add)) - set(remove)

    def close(self):
        pass


@pytest.fixture
def store(tmp_path, monkeypatch):
    FakeStore.state, FakeStore.commits = set(), []
    monkeypatch.setattr(pm, 'PermissiveStore', FakeStore)
    monkeypatch.setattr(pm, 'semanage', object())
    monkeypatch.setattr(_status, 'policy_types', lambda policyrep, path, attribute: (
        DOMAINS, DOMAINS | {'http_port_t'}, {'builtin_t'} | FakeStore.state))
    monkeypatch.setattr(se, 'active', lambda: True)
    config = tmp_path / 'config'
    config.write_text('SELINUX=enforcing\nSELINUXTYPE=default\n')
    monkeypatch.setattr(cfg, 'CONFIG', str(config))
    return FakeStore


def test_making_permissive_is_a_lowering_that_needs_allow_weaken(store, run_module):
    args = {'domains': [{'name': 'httpd_t'}, {'name': 'ftpd_t'}]}
    res = run_module(mod.main, args)
    assert res['failed'] and 'allow_weaken' in res['msg'] and 'httpd_t, ftpd_t' in res['msg'] and store.commits == []
    ok = run_module(mod.main, dict(args, allow_weaken=True))
    assert ok['changed'] and ok['commits'] == 1 and ok['reloaded'] and ok['type_check'] == 'setools'
    assert ok['weakened'] == ['permissive domain added: httpd_t', 'permissive domain added: ftpd_t']
    assert store.commits == [(['httpd_t', 'ftpd_t'], [], True)]
    again = run_module(mod.main, dict(args, allow_weaken=True))
    assert not again['changed'] and again['commits'] == 0 and len(store.commits) == 1


def test_taking_out_and_purge_need_no_allow_weaken_one_commit(store, run_module):
    store.state = {'httpd_t', 'sshd_t', 'ftpd_t'}
    res = run_module(mod.main, {'domains': [{'name': 'httpd_t', 'state': 'absent'}], 'purge': True})
    assert res['changed'] and res['removed'] == ['httpd_t', 'ftpd_t', 'sshd_t'] and res['weakened'] == []
    assert len(store.commits) == 1 and store.state == set()


def test_purge_keeps_what_a_keep_glob_matches_and_the_reason_reaches_weakened(store, run_module):
    store.state = {'httpd_t', 'sshd_t', 'ftpd_t'}
    res = run_module(mod.main, {'domains': [{'name': 'builtin_t', 'reason': 'CHG-7'}, {'name': 'sshd_t'}],
                                'purge': True, 'keep': ['ht*'], 'allow_weaken': True})
    assert res['removed'] == ['ftpd_t'] and res['added'] == [] and store.state == {'httpd_t', 'sshd_t'}
    store.state = set()
    res = run_module(mod.main, {'domains': [{'name': 'httpd_t', 'reason': 'CHG-7, tuning'}], 'allow_weaken': True})
    assert res['weakened'] == ['permissive domain added: httpd_t (CHG-7, tuning)']
    bad = run_module(mod.main, {'domains': [], 'purge': True, 'keep': ['x\n']})
    assert bad['failed'] and 'keep pattern' in bad['msg'] and len(store.commits) == 2


def test_check_mode_and_diff_commit_nothing(store, run_module):
    store.state = {'sshd_t'}
    res = run_module(mod.main, {'domains': [{'name': 'sshd_t', 'state': 'absent'}]}, check=True, diff=True)
    assert res['changed'] and store.commits == [] and res['diff'] == dict(
        before='sshd_t\n', after='', before_header='local permissive domains (default)',
        after_header='local permissive domains (default)')


@pytest.mark.parametrize('domains, words', [
    ([{'name': 'htpd_t'}], 'did you mean: httpd_t'),
    ([{'name': 'http_port_t'}], 'is not a domain'),
    ([{'name': 'builtin_t', 'state': 'absent'}], 'permissive by the policy itself'),
    ([{'name': 'httpd_t\x00'}], 'control character'),
])
def test_refusals_name_the_value_and_commit_nothing(store, run_module, domains, words):
    res = run_module(mod.main, {'domains': domains, 'allow_weaken': True})
    assert res['failed'] and words in res['msg'] and 'nothing was changed' in res['msg'], res['msg']
    assert store.commits == []
