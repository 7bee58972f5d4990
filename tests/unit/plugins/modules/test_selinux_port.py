"""selinux_port in-process against a stand-in policy store (libsemanage's view and commit as the module uses them):
one commit for many labels, check mode and diff, purge in the same commit, reload only for the running store, and
every refusal before anything is committed."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.confine.lsm.plugins.modules import selinux_port as mod
from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _status
from ansible_collections.confine.lsm.plugins.module_utils import _seport as sp

POLICY = {(80, 80, 'tcp'): ('http_port_t', 's0'), (10080, 10083, 'tcp'): ('amanda_port_t', 's0'),
          (22, 22, 'tcp'): ('ssh_port_t', 's0')}
PORT_TYPES = {'http_port_t', 'amanda_port_t', 'ssh_port_t', 'http_cache_port_t'}


class FakeStore(object):
    local = {}
    commits = []
    opened = []

    def __init__(self, store):
        FakeStore.opened.append(store)

    def mls(self):
        return True

    def port_views(self):
        return dict(FakeStore.local), dict((k, v) for k, v in POLICY.items() if k not in FakeStore.local)

    def commit_plan(self, modify, delete, reload_policy):
        FakeStore.commits.append((list(modify), list(delete), reload_policy))
        FakeStore.local = sp.after(FakeStore.local, modify, delete)

    def close(self):
        pass


@pytest.fixture
def store(tmp_path, monkeypatch):
    FakeStore.local, FakeStore.commits, FakeStore.opened = {}, [], []
    monkeypatch.setattr(sp, 'PortStore', FakeStore)
    monkeypatch.setattr(sp, 'semanage', object())
    monkeypatch.setattr(_status, 'policy_types', lambda policyrep, path, attribute: (
        PORT_TYPES, PORT_TYPES | {'httpd_t'}, set()))
    monkeypatch.setattr(se, 'active', lambda: True)
    config = tmp_path / 'config'
    config.write_text('SELINUX=enforcing\nSELINUXTYPE=default\n')
    monkeypatch.setattr(cfg, 'CONFIG', str(config))
    return FakeStore


PORTS = {'ports': [{'port': 8123, 'setype': 'http_port_t'},
                   {'port': '9100-9102', 'protocol': 'udp', 'setype': 'http_port_t'},
                   {'port': 80, 'setype': 'http_port_t'}]}


def test_many_labels_one_commit_with_reload_then_idempotent(store, run_module):
    res = run_module(mod.main, PORTS)
    assert res['changed'] and res['commits'] == 1 and res['reloaded'] and res['type_check'] == 'setools', res
    labels = [((8123, 8123, 'tcp'), 'http_port_t', 's0'), ((9100, 9102, 'udp'), 'http_port_t', 's0')]
    assert store.commits == [(labels, [], True)]
    assert store.opened == ['default']
    again = run_module(mod.main, PORTS)
    assert not again['changed'] and again['commits'] == 0 and len(store.commits) == 1, again


def test_check_mode_and_diff_commit_nothing(store, run_module):
    res = run_module(mod.main, PORTS, check=True, diff=True)
    assert res['changed'] and res['commits'] == 1 and store.commits == [] and not res['reloaded']
    assert res['diff']['before'] == '' and res['diff']['after'] == ('http_port_t tcp 8123\nhttp_port_t udp '
                                                                    '9100-9102\n')


def test_purge_goes_into_the_same_commit(store, run_module):
    store.local = {(7000, 7000, 'tcp'): ('http_port_t', 's0'), (8123, 8123, 'tcp'): ('http_port_t', 's0')}
    res = run_module(mod.main, {'ports': [{'port': 8123, 'setype': 'http_port_t'},
                                          {'port': 8124, 'setype': 'http_port_t'}], 'purge': True})
    assert res['commits'] == 1 and len(store.commits) == 1, res
    assert store.commits[0][:2] == ([((8124, 8124, 'tcp'), 'http_port_t', 's0')], [(7000, 7000, 'tcp')])
    assert [c['purged'] for c in res['changes']] == [False, True]


def test_another_store_is_not_reloaded(store, run_module):
    res = run_module(mod.main, dict(PORTS, store='mls'))
    assert res['changed'] and not res['reloaded'] and store.commits[0][2] is False and store.opened == ['mls']


@pytest.mark.parametrize('ports, words', [
    ([{'port': 8123, 'setype': 'httpd_t'}], 'httpd_t for tcp/8123 is not a port type'),
    ([{'port': 8123, 'setype': 'htp_port_t'}], 'did you mean: http_port_t'),
    ([{'port': '10082-10090', 'setype': 'http_port_t'}], 'overlaps policy tcp/10080-10083 (amanda_port_t)'),
    ([{'port': 80, 'setype': 'http_port_t', 'state': 'absent'}], 'by the policy itself'),
    ([{'port': '80,443', 'setype': 'http_port_t'}], "'80,443'"),
    ([{'port': 8123, 'setype': 'http_port_t\n'}], 'control character'),
    ([{'port': 8123}], 'is not a type name'),
])
def test_refusals_name_the_value_and_commit_nothing(store, run_module, ports, words):
    res = run_module(mod.main, {'ports': ports})
    assert res['failed'] and words in res['msg'] and 'nothing was changed' in res['msg'], res['msg']
    assert store.commits == []


def test_without_setools_the_check_is_left_to_libsemanage_and_said(store, run_module, monkeypatch):
    monkeypatch.setattr(_status, 'policy_types', lambda policyrep, path, attribute: None)
    said = []
    monkeypatch.setattr(mod.AnsibleModule, 'warn', lambda self, text: said.append(text))
    res = run_module(mod.main, PORTS)
    assert res['type_check'] == 'libsemanage' and res['commits'] == 1
    assert len(said) == 1 and 'setools' in said[0] and 'at commit only' in said[0], said


def test_empty_ports_without_purge_is_refused(store, run_module):
    res = run_module(mod.main, {'ports': []})
    assert res['failed'] and 'ports is empty' in res['msg']
