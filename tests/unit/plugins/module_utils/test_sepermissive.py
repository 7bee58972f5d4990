# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _sepermissive as pm


@pytest.mark.parametrize('entry, words', [
    ({'name': 'httpd_t\n(allow x y)'}, 'is not an SELinux type name'),
    ({'name': ''}, 'is not an SELinux type name'),
    ({'name': 'httpd_t', 'state': 'off'}, "state 'off'"),
])
def test_bad_entries_are_refused_naming_the_value(entry, words):
    with pytest.raises(pm.PermissiveError) as exc:
        pm.normalize([entry])
    assert words in str(exc.value)


def test_plan_adds_removes_and_purges_only_what_differs():
    entries = pm.normalize([{'name': 'httpd_t'}, {'name': 'sshd_t', 'state': 'absent'}, {'name': 'ftpd_t'},
                            {'name': 'nginx_t', 'state': 'absent'}])
    add, remove, errors = pm.plan(entries, local={'sshd_t', 'ftpd_t', 'old_t'}, builtin=set())
    assert add == ['httpd_t'] and remove == ['sshd_t'] and errors == []
    assert pm.plan(entries, {'sshd_t', 'ftpd_t', 'old_t'}, set(), purge=True)[1] == ['sshd_t', 'old_t']


def test_purge_keeps_the_globs_of_keep():
    local = {'sshd_t', 'myapp_t', 'myapp_worker_t', 'old_t'}
    assert pm.plan([], local, set(), purge=True, keep=['myapp_*'])[1] == ['old_t', 'sshd_t']
    assert pm.plan([], local, set(), purge=False, keep=['myapp_*'])[1] == []
    assert pm.weakened([{'name': 'a_t', 'reason': 'CHG-1'}, {'name': 'b_t'}], ['a_t', 'b_t']) == [
        'permissive domain added: a_t (CHG-1)', 'permissive domain added: b_t']


def test_builtin_permissive_cannot_be_taken_out_and_needs_no_add():
    entries = pm.normalize([{'name': 'foo_t', 'state': 'absent'}, {'name': 'bar_t'}])
    add, remove, errors = pm.plan(entries, set(), builtin={'foo_t', 'bar_t'})
    assert add == [] and remove == [] and errors == [
        'domain foo_t is permissive by the policy itself (not by a local change), so it cannot be taken out here']


def test_only_domains_of_the_policy_can_be_made_permissive():
    entries = pm.normalize([{'name': 'httpd_t'}, {'name': 'htpd_t'}, {'name': 'http_port_t'},
                            {'name': 'gone_t', 'state': 'absent'}])
    found = pm.domain_errors(entries, {'httpd_t', 'init_t'}, {'httpd_t', 'init_t', 'http_port_t'})
    assert found == ['domain htpd_t is not a type of the policy (did you mean: httpd_t?)',
                     'type http_port_t is not a domain (a process type), so making it permissive would mean nothing']


def test_unreadable_policy_is_none():
    from ansible_collections.confine.lsm.plugins.module_utils import _status
    assert _status.policy_types(None, '/x', 'domain') is None


def test_the_policy_is_read_once_for_several_attributes():
    from ansible_collections.confine.lsm.plugins.module_utils import _status

    class Type(object):
        def __init__(self, name, permissive=False):
            self.name, self.ispermissive = name, permissive

        def __str__(self):
            return self.name

    class Attr(object):
        def __init__(self, members):
            self.members = members

        def expand(self):
            return [Type(m) for m in self.members]

    loads = []

    class Policy(object):
        def __init__(self, path):
            loads.append(path)

        def types(self):
            return [Type('httpd_t'), Type('dhcpc_t', True), Type('http_port_t')]

        def lookup_typeattr(self, name):
            return Attr({'domain': ['httpd_t', 'dhcpc_t'], 'port_type': ['http_port_t']}[name])

    class Rep(object):
        SELinuxPolicy = Policy

    read = _status.policy_types_of(Rep, '/p/policy.33', ('domain', 'port_type'))
    assert loads == ['/p/policy.33']
    assert read['domain'] == ({'httpd_t', 'dhcpc_t'}, {'httpd_t', 'dhcpc_t', 'http_port_t'}, {'dhcpc_t'})
    assert read['port_type'][0] == {'http_port_t'}
    assert _status.policy_types(Rep, '/p/policy.33', 'port_type') == read['port_type']
    assert _status.policy_types_of(Rep, '/p/policy.33', ('no_such_attribute',)) is None
