"""selinux_local in-process against a stand-in policy store with every kind (booleans, permissive domains, ports,
logins): every kind in ONE transaction and one commit, nothing staged when any kind is refused, the lowering guard
over every kind, check mode and diff, idempotence, running booleans set after the commit."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.confine.lsm.plugins.modules import selinux_local as mod
from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _selocal as local
from ansible_collections.confine.lsm.plugins.module_utils import _selogin as sl
from ansible_collections.confine.lsm.plugins.module_utils import _seport as sp
from ansible_collections.confine.lsm.plugins.module_utils import _status

DOMAINS = {'httpd_t', 'dhcpc_t', 'sshd_t'}
PORT_TYPES = {'http_port_t', 'ssh_port_t'}
POLICY_PORTS = {(80, 80, 'tcp'): ('http_port_t', 's0')}
POLICY_LOGINS = {'root': ('unconfined_u', 's0-s0:c0.c1023'), '__default__': ('user_u', 's0')}
POLICY_BOOLEANS = {'httpd_can_network_connect': False, 'httpd_can_sendmail': True}


class FakeStore(object):
    """The store as libsemanage shows it: state changes only at finish(), what begin() .. finish() staged."""
    booleans, permissive, ports, logins = {}, set(), {}, {}
    running = {}
    transactions = []  # one list of staged (kind, ...) per commit
    reloads = []

    def __init__(self, store):
        self.staged = None

    def close(self):
        pass

    def mls(self):
        return True

    def names(self):
        return sorted(POLICY_BOOLEANS)

    def values(self, names):
        merged = dict(POLICY_BOOLEANS, **FakeStore.booleans)
        return dict((n, merged[n]) for n in names if n in merged)

    def local(self):
        return set(FakeStore.permissive)

    def port_views(self):
        return dict(FakeStore.ports), dict((k, v) for k, v in POLICY_PORTS.items() if k not in FakeStore.ports)

    def login_views(self):
        return dict(FakeStore.logins), dict((k, v) for k, v in POLICY_LOGINS.items() if k not in FakeStore.logins)

    def seusers(self):
        return ['staff_u', 'system_u', 'unconfined_u', 'user_u']

    def begin(self):
        assert self.staged is None, 'a transaction inside a transaction'
        self.staged = []

    def stage_booleans(self, changes):
        self.staged.append(('booleans', dict(changes)))

    def stage_permissive(self, add, remove):
        self.staged.append(('permissive', list(add), list(remove)))

    def stage_ports(self, modify, delete):
        self.staged.append(('ports', list(modify), list(delete)))

    def stage_logins(self, modify, delete):
        self.staged.append(('logins', list(modify), list(delete)))

    def set_reload(self, reload_policy):
        FakeStore.reloads.append(reload_policy)

    def finish(self, point, error=None, hint=''):
        for op in self.staged:
            if op[0] == 'booleans':
                FakeStore.booleans.update(op[1])
            elif op[0] == 'permissive':
                FakeStore.permissive = (FakeStore.permissive | set(op[1])) - set(op[2])
            elif op[0] == 'ports':
                FakeStore.ports = sp.after(FakeStore.ports, op[1], op[2])
            else:
                FakeStore.logins = sl.after(FakeStore.logins, op[1], op[2])
        FakeStore.transactions.append(self.staged)
        self.staged = None


@pytest.fixture
def store(tmp_path, monkeypatch):
    FakeStore.booleans, FakeStore.permissive, FakeStore.ports, FakeStore.logins = {}, set(), {}, {}
    FakeStore.running = dict(POLICY_BOOLEANS)
    FakeStore.transactions, FakeStore.reloads = [], []
    monkeypatch.setattr(local, 'LocalStore', FakeStore)
    monkeypatch.setattr(sb, 'HAS_BINDINGS', True)
    monkeypatch.setattr(sb, 'runtime_values', lambda names: dict(
        (n, FakeStore.running[n]) for n in names if n in FakeStore.running))
    monkeypatch.setattr(sb, 'set_runtime', FakeStore.running.update)
    monkeypatch.setattr(_status, 'policy_types_of', lambda policyrep, path, attributes: dict(
        (a, (DOMAINS if a == 'domain' else PORT_TYPES, DOMAINS | PORT_TYPES, set())) for a in attributes))
    monkeypatch.setattr(se, 'active', lambda: True)
    config = tmp_path / 'config'
    config.write_text('SELINUX=enforcing\nSELINUXTYPE=default\n')
    monkeypatch.setattr(cfg, 'CONFIG', str(config))
    return FakeStore


EVERYTHING = {
    'booleans': {'httpd_can_network_connect': 'on', 'httpd_can_sendmail': True},
    'permissive': [{'name': 'dhcpc_t', 'reason': 'CHG-1, tuning'}],
    'ports': [{'port': 8123, 'setype': 'http_port_t'}],
    'logins': [{'login': 'nobody', 'seuser': 'user_u'}],
    'allow_weaken': True,
}


def test_four_kinds_check_mode_apply_then_idempotent_in_one_commit(store, run_module):
    check = run_module(mod.main, EVERYTHING, check=True, diff=True)
    assert check['changed'] and check['commits'] == 1 and store.transactions == [], check
    assert [d['before_header'].split(' (')[0] for d in check['diff']] == [
        'SELinux booleans', 'local permissive domains', 'SELinux local port labels', 'SELinux local login mappings']
    res = run_module(mod.main, EVERYTHING)
    assert res['changed'] and res['commits'] == 1 and res['reloaded'] and res['type_check'] == 'setools', res
    assert len(store.transactions) == 1 and [op[0] for op in store.transactions[0]] == [
        'booleans', 'permissive', 'ports', 'logins']
    assert store.reloads == [True]
    assert res['booleans']['changes'][0]['name'] == 'httpd_can_network_connect'
    assert res['permissive']['added'] == ['dhcpc_t'] and res['ports']['changes'][0]['after'] == 'http_port_t'
    assert res['logins']['changes'][0]['login'] == 'nobody'
    assert res['weakened'] == ['permissive domain added: dhcpc_t (CHG-1, tuning)']
    assert store.running['httpd_can_network_connect'] is True  # set after the commit (the fake does not reload)
    for check_mode in (True, False):
        again = run_module(mod.main, EVERYTHING, check=check_mode)
        assert not again['changed'] and again['commits'] == 0 and len(store.transactions) == 1, again


def test_an_error_in_one_kind_changes_no_kind_and_every_bad_value_is_named(store, run_module):
    bad = dict(EVERYTHING, ports=[{'port': 8123, 'setype': 'htp_port_t'}],
               logins=[{'login': 'no-such-user-here', 'seuser': 'user_u'}])
    res = run_module(mod.main, bad)
    assert res['failed'] and store.transactions == [] and store.running == POLICY_BOOLEANS, res
    assert 'htp_port_t' in res['msg'] and "did you mean" in res['msg'].lower() and 'no-such-user-here' in res['msg']
    assert res['msg'].endswith('nothing was changed')
    typo = run_module(mod.main, dict(EVERYTHING, booleans={'httpd_can_network_conect': True}))
    assert typo['failed'] and 'httpd_can_network_connect' in typo['msg'] and store.transactions == []
    value = run_module(mod.main, dict(EVERYTHING, booleans={'httpd_can_sendmail': 'maybe'},
                                      permissive=[{'name': 'httpd_t\n'}]))
    assert value['failed'] and "'maybe'" in value['msg'] and 'domain' in value['msg'] and store.transactions == []


def test_every_kinds_lowering_needs_allow_weaken(store, run_module):
    args = dict(EVERYTHING, allow_weaken=False, logins=[{'login': 'nobody', 'seuser': 'unconfined_u'}])
    res = run_module(mod.main, args)
    assert res['failed'] and 'allow_weaken' in res['msg'] and 'dhcpc_t' in res['msg'] and 'nobody' in res['msg']
    assert store.transactions == []
    ok = run_module(mod.main, dict(args, allow_weaken=True))
    assert ok['changed'] and len(ok['weakened']) == 2 and len(store.transactions) == 1


def test_purges_in_the_same_transaction_and_running_values_alone_need_no_commit(store, run_module):
    store.permissive, store.ports = {'httpd_t', 'sshd_t'}, {(9000, 9000, 'tcp'): ('http_port_t', 's0')}
    res = run_module(mod.main, {'permissive_purge': True, 'permissive_keep': ['ssh*'], 'ports_purge': True,
                                'ports': [{'port': 8123, 'setype': 'http_port_t'}]})
    assert res['permissive']['removed'] == ['httpd_t'] and store.permissive == {'sshd_t'}
    assert sorted((c['port'], c['purged']) for c in res['ports']['changes']) == [('8123', False), ('9000', True)]
    assert len(store.transactions) == 1 and store.ports == {(8123, 8123, 'tcp'): ('http_port_t', 's0')}
    store.running['httpd_can_sendmail'] = False  # lowered live only: the store already has it on
    live = run_module(mod.main, {'booleans': {'httpd_can_sendmail': True}})
    assert live['changed'] and live['commits'] == 0 and len(store.transactions) == 1
    assert store.running['httpd_can_sendmail'] is True


def test_another_store_leaves_running_values_and_the_kernel_alone(store, run_module):
    res = run_module(mod.main, {'booleans': {'httpd_can_network_connect': True}, 'store': 'mls'})
    assert res['changed'] and res['commits'] == 1 and res['store'] == 'mls' and not res['reloaded']
    assert 'not the store of the running policy' in res['booleans']['runtime_skipped']
    assert store.reloads == [False] and store.running['httpd_can_network_connect'] is False


def test_booleans_alone_commit_without_loading_the_policy_and_set_the_running_values(store, run_module):
    res = run_module(mod.main, {'booleans': {'httpd_can_network_connect': True, 'httpd_can_sendmail': False}})
    assert res['changed'] and res['commits'] == 1 and not res['reloaded'] and store.reloads == [False], res
    assert store.running == {'httpd_can_network_connect': True, 'httpd_can_sendmail': False}
    with_port = run_module(mod.main, {'booleans': {'httpd_can_network_connect': False},
                                      'ports': [{'port': 8123, 'setype': 'http_port_t'}]})
    assert with_port['reloaded'] and store.reloads == [False, True], with_port
    assert store.running['httpd_can_network_connect'] is False
