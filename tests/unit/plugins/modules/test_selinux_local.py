"""selinux_local in-process against a stand-in policy store with every kind (booleans, permissive domains, ports,
logins): every kind in ONE transaction and one commit, nothing staged when any kind is refused, the lowering guard
over every kind, check mode and diff, idempotence, running booleans set after the commit."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.confine.lsm.plugins.modules import selinux_local as mod
from ansible_collections.confine.lsm.plugins.module_utils import _fcontext as fc
from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _selocal as local
from ansible_collections.confine.lsm.plugins.module_utils import _selogin as sl
from ansible_collections.confine.lsm.plugins.module_utils import _seport as sp
from ansible_collections.confine.lsm.plugins.module_utils import _status

DOMAINS = {'httpd_t', 'dhcpc_t', 'sshd_t'}
PORT_TYPES = {'http_port_t', 'ssh_port_t'}
FILE_TYPES = {'httpd_sys_content_t', 'var_t'}
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

    def stage_rules(self, changes):
        self.staged.append(('fcontexts', [(c['target'], c['ftype'], c['after']) for c in changes]))

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
            elif op[0] == 'fcontexts':  # libsemanage installs file_contexts.local at the commit
                rules = fc.parse_local(FakeStore.local_file.read_text() if FakeStore.local_file.exists() else '')
                for target, ftype, context in op[1]:
                    if context is None:
                        rules.pop((target, ftype), None)
                    else:
                        rules[(target, ftype)] = context
                FakeStore.local_file.write_text(''.join('%s %s%s\n' % (t, fc.FTYPES[f] + ' ' if fc.FTYPES[f] else '', c)
                                                        for (t, f), c in sorted(rules.items())))
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
    members = {'domain': DOMAINS, 'port_type': PORT_TYPES, 'file_type': FILE_TYPES, 'device_node': set()}
    monkeypatch.setattr(_status, 'policy_types_of', lambda policyrep, path, attributes: dict(
        (a, (members[a], DOMAINS | PORT_TYPES | FILE_TYPES, set())) for a in attributes))
    monkeypatch.setattr(se, 'active', lambda: True)
    config = tmp_path / 'config'
    config.write_text('SELINUX=enforcing\nSELINUXTYPE=default\n')
    monkeypatch.setattr(cfg, 'CONFIG', str(config))
    files = tmp_path / 'etc-selinux' / 'default' / 'contexts' / 'files'
    files.mkdir(parents=True)
    (files / 'file_contexts').write_text('/srv(/.*)?    system_u:object_r:var_t:s0\n')
    monkeypatch.setattr(fc, 'ROOT', str(tmp_path / 'etc-selinux'))
    FakeStore.local_file = files / 'file_contexts.local'
    FakeStore.relabels = []
    www = tmp_path / 'www'
    www.mkdir()
    FakeStore.www = str(www)

    def run_command(self, argv, **kw):
        FakeStore.relabels.append(list(argv))
        return 0, 'Relabeled %s from system_u:object_r:var_t:s0 to system_u:object_r:httpd_sys_content_t:s0\n' % www, ''
    monkeypatch.setattr(mod.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(mod.AnsibleModule, 'get_bin_path', lambda self, name, required=False: '/sbin/' + name)
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


def test_file_contexts_join_the_one_commit_and_are_relabelled_after_it(store, run_module):
    web = store.www + '(/.*)?'
    args = dict(EVERYTHING, fcontexts=[{'target': web, 'setype': 'httpd_sys_content_t'}])
    check = run_module(mod.main, args, check=True, diff=True)
    assert check['changed'] and check['commits'] == 1 and store.transactions == [], check
    assert check['diff'][-1]['before_header'] == 'file_contexts.local (default)' and 'httpd_sys_content_t' in \
        check['diff'][-1]['after'] and store.relabels[-1][:4] == ['/sbin/restorecon', '-R', '-v', '-n']
    res = run_module(mod.main, args)
    assert res['changed'] and res['commits'] == 1 and len(store.transactions) == 1, res
    assert [op[0] for op in store.transactions[0]] == ['booleans', 'permissive', 'ports', 'logins', 'fcontexts']
    assert store.reloads == [True] and 'httpd_sys_content_t:s0' in store.local_file.read_text()
    assert res['fcontexts']['changes'][0]['after'] == 'system_u:object_r:httpd_sys_content_t:s0'
    assert res['fcontexts']['relabelled_count'] == 1 and store.relabels[-1] == [
        '/sbin/restorecon', '-R', '-v', '--', store.www]
    # a file relabelled by hand is drift: the rule is in place, restorecon puts the file back (no commit)
    again = run_module(mod.main, args)
    assert again['changed'] and again['commits'] == 0 and again['fcontexts']['relabelled_count'] == 1
    assert not again['fcontexts']['changes'] and len(store.transactions) == 1


def test_file_contexts_alone_need_no_policy_load_and_a_purge_goes_in_the_same_commit(store, run_module):
    store.local_file.write_text('/srv/old(/.*)?    system_u:object_r:var_t:s0\n')
    store.ports = {(9000, 9000, 'tcp'): ('http_port_t', 's0')}
    args = {'fcontexts': [{'target': '/srv/new(/.*)?', 'setype': 'var_t'}], 'fcontexts_purge': True,
            'ports': [{'port': 8123, 'setype': 'http_port_t'}], 'ports_purge': True}
    res = run_module(mod.main, args)
    assert res['commits'] == 1 and len(store.transactions) == 1 and store.reloads == [True], res
    assert sorted((c['target'], c.get('purged', False)) for c in res['fcontexts']['changes']) == [
        ('/srv/new(/.*)?', False), ('/srv/old(/.*)?', True)]
    assert '/srv/old' not in store.local_file.read_text() and '/srv/new' in store.local_file.read_text()
    assert store.ports == {(8123, 8123, 'tcp'): ('http_port_t', 's0')}
    assert res['fcontexts']['restorecon_skipped'] == 'no existing path is covered by the rules'
    alone = run_module(mod.main, {'fcontexts': [{'target': '/srv/new(/.*)?', 'state': 'absent'}]})
    assert alone['commits'] == 1 and not alone['reloaded'] and store.reloads == [True, False], alone
    # a purged rule's files go back to what the policy says: restorecon covers its path too
    store.local_file.write_text('%s(/.*)?    system_u:object_r:httpd_sys_content_t:s0\n' % store.www)
    purge = run_module(mod.main, {'fcontexts_purge': True})
    assert purge['fcontexts']['changes'][0]['purged'] and purge['fcontexts']['restorecon_paths'] == [store.www]
    assert store.relabels[-1] == ['/sbin/restorecon', '-R', '-v', '--', store.www]


def test_a_file_context_type_that_is_no_file_type_refuses_every_kind(store, run_module):
    res = run_module(mod.main, dict(EVERYTHING, fcontexts=[{'target': '/srv/x(/.*)?', 'setype': 'httpd_t'}]))
    assert res['failed'] and 'httpd_t for /srv/x(/.*)? is not a file or device type' in res['msg'], res['msg']
    assert store.transactions == [] and not store.local_file.exists()
    bad = run_module(mod.main, {'fcontexts': [{'target': 'srv/x', 'setype': 'var_t'}],
                                'booleans': {'httpd_can_sendmail': 'maybe'}})
    assert bad['failed'] and "'srv/x'" in bad['msg'] and "'maybe'" in bad['msg'] and store.transactions == []


def test_the_policy_is_read_for_file_types_only_when_a_changing_rule_sets_a_type(store, run_module, monkeypatch):
    reads = []
    real = _status.policy_types_of
    monkeypatch.setattr(_status, 'policy_types_of', lambda policyrep, path, attributes: (
        reads.append(tuple(attributes)), real(policyrep, path, attributes))[1])
    args = {'fcontexts': [{'target': '/srv/new(/.*)?', 'setype': 'var_t'}]}
    first = run_module(mod.main, args)
    assert first['commits'] == 1 and first['type_check'] == 'setools' and reads == [('file_type', 'device_node')]
    again = run_module(mod.main, args)  # the role's compliant run: nothing to change, no policy read
    assert not again['changed'] and again['type_check'] == 'libsemanage' and len(reads) == 1, again
    gone = run_module(mod.main, {'fcontexts': [{'target': '/srv/new(/.*)?', 'state': 'absent'}]})
    assert gone['commits'] == 1 and len(reads) == 1  # removing sets no type: nothing to check it against
