"""selinux_login in-process against a stand-in policy store: one commit, check mode and diff, the weakening guard,
logins and SELinux users that do not exist refused before anything is committed."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.confine.lsm.plugins.modules import selinux_login as mod
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _selogin as sl

POLICY = {'root': ('unconfined_u', 's0-s0:c0.c1023'), '__default__': ('unconfined_u', 's0-s0:c0.c1023')}


class FakeStore(object):
    local = {}
    commits = []

    def __init__(self, store):
        pass

    def mls(self):
        return True

    def seusers(self):
        return ['staff_u', 'sysadm_u', 'system_u', 'unconfined_u', 'user_u']

    def login_views(self):
        return dict(FakeStore.local), dict((k, v) for k, v in POLICY.items() if k not in FakeStore.local)

    def commit_plan(self, modify, delete, reload_policy):
        FakeStore.commits.append((list(modify), list(delete)))
        FakeStore.local = sl.after(FakeStore.local, modify, delete)

    def close(self):
        pass


@pytest.fixture
def store(tmp_path, monkeypatch):
    FakeStore.local, FakeStore.commits = {}, []
    monkeypatch.setattr(sl, 'LoginStore', FakeStore)
    monkeypatch.setattr(sl, 'semanage', object())
    config = tmp_path / 'config'
    config.write_text('SELINUX=enforcing\nSELINUXTYPE=default\n')
    monkeypatch.setattr(cfg, 'CONFIG', str(config))
    return FakeStore


LOGINS = {'logins': [{'login': 'nobody', 'seuser': 'user_u'}, {'login': '%root', 'seuser': 'staff_u'}]}


def test_many_mappings_one_commit_then_idempotent(store, run_module):
    res = run_module(mod.main, LOGINS)
    assert res['changed'] and res['commits'] == 1 and res['weakened'] == [], res
    assert store.commits == [([('nobody', 'user_u', 's0'), ('%root', 'staff_u', 's0')], [])]
    again = run_module(mod.main, LOGINS)
    assert not again['changed'] and again['commits'] == 0 and len(store.commits) == 1


def test_check_mode_and_diff_commit_nothing(store, run_module):
    res = run_module(mod.main, LOGINS, check=True, diff=True)
    assert res['changed'] and store.commits == [] and res['diff']['after'] == '%root staff_u s0\nnobody user_u s0\n'


def test_unconfining_needs_allow_weaken_and_is_said(store, run_module):
    store.local = {'nobody': ('user_u', 's0')}
    args = {'logins': [{'login': 'nobody', 'seuser': 'unconfined_u'}]}
    res = run_module(mod.main, args)
    assert res['failed'] and 'allow_weaken' in res['msg'] and 'nobody: user_u -> unconfined_u' in res['msg']
    assert store.commits == []
    ok = run_module(mod.main, dict(args, allow_weaken=True))
    assert ok['changed'] and ok['weakened'] == ['login nobody: user_u -> unconfined_u (unconfined)']


@pytest.mark.parametrize('logins, words', [
    ([{'login': 'confine-no-such-user', 'seuser': 'user_u'}], 'Linux user confine-no-such-user does not exist'),
    ([{'login': '%confine-no-such-group', 'seuser': 'user_u'}], 'group confine-no-such-group does not exist'),
    ([{'login': 'nobody', 'seuser': 'usr_u'}], 'did you mean: user_u'),
    ([{'login': 'nobody\n', 'seuser': 'user_u'}], 'control character'),
    ([{'login': '__default__', 'state': 'absent'}], 'cannot be removed'),
])
def test_refusals_name_the_value_and_commit_nothing(store, run_module, logins, words):
    res = run_module(mod.main, {'logins': logins})
    assert res['failed'] and words in res['msg'] and 'nothing was changed' in res['msg'], res['msg']
    assert store.commits == []
