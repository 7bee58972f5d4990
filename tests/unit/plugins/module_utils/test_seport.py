# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _seport as sp

POLICY = {(80, 80, 'tcp'): ('http_port_t', 's0'), (8080, 8080, 'tcp'): ('http_cache_port_t', 's0'),
          (10001, 10010, 'tcp'): ('http_cache_port_t', 's0'), (53, 53, 'udp'): ('dns_port_t', 's0')}


@pytest.mark.parametrize('value, expected', [
    (8123, (8123, 8123)), ('8123', (8123, 8123)), ('8000-8010', (8000, 8010)), (' 9000 ', (9000, 9000)),
])
def test_ranges(value, expected):
    assert sp.parse_range(value) == expected


@pytest.mark.parametrize('value', [0, 65536, '8010-8000', 'http', '80,443', '8123\n', True, None, '-1', '1-'])
def test_bad_ranges_are_refused_by_value(value):
    with pytest.raises(sp.PortError) as exc:
        sp.parse_range(value)
    assert repr(value) in str(exc.value)


@pytest.mark.parametrize('entry, words', [
    ({'port': 8123, 'protocol': 'icmp', 'setype': 'http_port_t'}, "protocol 'icmp'"),
    ({'port': 8123, 'setype': 'http_port_t\nportcon tcp 22'}, 'is not a type name'),
    ({'port': 8123, 'setype': None}, 'is not a type name'),
    ({'port': 8123, 'setype': 'http_port_t', 'selevel': 's0\x00'}, 'is not an MLS/MCS level'),
    ({'port': 8123, 'setype': 'http_port_t', 'state': 'gone'}, "state 'gone'"),
])
def test_bad_entries_are_refused_naming_the_value(entry, words):
    with pytest.raises(sp.PortError) as exc:
        sp.normalize([entry])
    assert words in str(exc.value)


def test_a_port_listed_twice_is_refused():
    with pytest.raises(sp.PortError, match='tcp/8123 is listed twice'):
        sp.normalize([{'port': 8123, 'setype': 'http_port_t'}, {'port': '8123', 'setype': 'ssh_port_t'}])


def test_plan_adds_modifies_removes_only_what_differs():
    local = {(8123, 8123, 'tcp'): ('http_port_t', 's0'), (9999, 9999, 'tcp'): ('ssh_port_t', 's0')}
    entries = sp.normalize([
        {'port': 8123, 'setype': 'http_port_t'},               # in place: nothing
        {'port': 80, 'setype': 'http_port_t'},                 # the policy labels it so: nothing
        {'port': 8080, 'setype': 'http_port_t'},               # the policy says another type: modify (override)
        {'port': '9000-9010', 'setype': 'http_port_t'},        # new
        {'port': 9999, 'state': 'absent'},                     # local: removed
        {'port': 53, 'protocol': 'udp', 'state': 'absent'},    # the policy's own: stays, no change
    ])
    changes, modify, delete = sp.plan(entries, local, POLICY)
    assert modify == [((8080, 8080, 'tcp'), 'http_port_t', None), ((9000, 9010, 'tcp'), 'http_port_t', None)]
    assert delete == [(9999, 9999, 'tcp')]
    assert changes == [
        dict(port='8080', protocol='tcp', before='http_cache_port_t', after='http_port_t', local_before=False,
             purged=False),
        dict(port='9000-9010', protocol='tcp', before=None, after='http_port_t', local_before=False, purged=False),
        dict(port='9999', protocol='tcp', before='ssh_port_t', after=None, local_before=True, purged=False)]
    done = sp.after(local, modify, delete)
    # applying the plan leaves nothing to do
    merged = dict(POLICY)
    merged.update(done)
    assert sp.plan(entries, done, merged) == ([], [], [])
    assert sp.render(done) == ('http_port_t tcp 8080\nhttp_port_t tcp 8123\nhttp_port_t tcp 9000-9010\n')


def test_a_level_that_differs_is_a_change():
    local = {(8123, 8123, 'tcp'): ('http_port_t', 's0')}
    entries = sp.normalize([{'port': 8123, 'setype': 'http_port_t', 'selevel': 's0:c1'}])
    assert sp.plan(entries, local, {})[1] == [((8123, 8123, 'tcp'), 'http_port_t', 's0:c1')]


def test_ranges_that_overlap_without_holding_are_refused_and_nested_ones_are_not():
    entries = sp.normalize([{'port': '10005-10020', 'setype': 'http_port_t'},   # overlaps 10001-10010 partly
                            {'port': 10003, 'setype': 'http_port_t'},           # inside it: a normal override
                            {'port': '10000-10050', 'setype': 'http_port_t'},   # holds it: fine
                            {'port': '10008-10015', 'protocol': 'udp', 'setype': 'dns_port_t'}])  # other protocol
    found = sp.conflicts(entries, {}, POLICY)
    assert found == ["tcp/10005-10020 (http_port_t) overlaps policy tcp/10001-10010 (http_cache_port_t) without "
                     "either holding the other: the shared ports would get the narrower range's type"]


def test_purge_removes_every_unnamed_local_label_in_the_same_plan():
    local = {(8123, 8123, 'tcp'): ('http_port_t', 's0'), (9999, 9999, 'tcp'): ('ssh_port_t', 's0'),
             (53, 53, 'udp'): ('http_port_t', 's0')}
    entries = sp.normalize([{'port': 8123, 'setype': 'http_port_t'}, {'port': 8124, 'setype': 'http_port_t'}])
    changes, modify, delete = sp.plan(entries, local, POLICY, purge=True)
    assert modify == [((8124, 8124, 'tcp'), 'http_port_t', None)]
    assert delete == [(9999, 9999, 'tcp'), (53, 53, 'udp')]
    assert [(c['port'], c['protocol'], c['purged'], c['after']) for c in changes] == [
        ('8124', 'tcp', False, 'http_port_t'), ('9999', 'tcp', True, None), ('53', 'udp', True, 'dns_port_t')]
    done = sp.after(local, modify, delete)
    assert sp.plan(entries, done, POLICY, purge=True) == ([], [], [])
    # without purge the unnamed ones stay
    assert sp.plan(entries, local, POLICY)[2] == []


def test_purge_with_no_entries_removes_all_local_labels():
    local = {(8123, 8123, 'tcp'): ('http_port_t', 's0')}
    assert sp.plan([], local, POLICY, purge=True)[2] == [(8123, 8123, 'tcp')]


def test_absent_naming_the_policys_own_label_cannot_be_met():
    entries = sp.normalize([{'port': 80, 'setype': 'http_port_t', 'state': 'absent'},
                            {'port': 8123, 'setype': 'http_port_t', 'state': 'absent'},
                            {'port': 53, 'protocol': 'udp', 'state': 'absent'}])
    assert sp.policy_only_absent(entries, {}, POLICY) == [
        'tcp/80 is labelled http_port_t by the policy itself, not by a local change, so it cannot be removed: label it '
        'with another type (state present) instead']
    # a local record on the same range is removable
    assert sp.policy_only_absent(entries, {(80, 80, 'tcp'): ('http_port_t', 's0')}, POLICY) == []


def test_types_must_be_port_types_of_the_policy():
    entries = sp.normalize([{'port': 8123, 'setype': 'http_port_t'}, {'port': 8124, 'setype': 'httpd_t'},
                            {'port': 8125, 'setype': 'htp_port_t'}, {'port': 8126, 'state': 'absent'}])
    ports, everything = {'http_port_t', 'ssh_port_t'}, {'http_port_t', 'ssh_port_t', 'httpd_t'}
    found = sp.type_errors(entries, ports, everything)
    assert len(found) == 2
    assert found[0].startswith('setype httpd_t for tcp/8124 is not a port type')
    assert found[1] == ('setype htp_port_t for tcp/8125 is not a type of the policy (did you mean: http_port_t, '
                        'ssh_port_t?)')


def test_policy_file_is_the_highest_version(tmp_path):
    from ansible_collections.confine.lsm.plugins.module_utils import _status
    folder = tmp_path / 'default' / 'policy'
    folder.mkdir(parents=True)
    for name in ('policy.31', 'policy.33', 'policy.9', 'policy.bak'):
        (folder / name).write_text('x')
    assert _status.policy_file('default', str(tmp_path)) == str(folder / 'policy.33')
    assert _status.policy_file('missing', str(tmp_path)) is None


def test_policy_types_by_attribute_and_an_unreadable_policy_is_none():
    from ansible_collections.confine.lsm.plugins.module_utils import _status

    class Type(str):
        ispermissive = False

    class Attr(object):
        def __init__(self, members):
            self.members = members

        def expand(self):
            return [Type(m) for m in self.members]

    class Policy(object):
        def __init__(self, path):
            pass

        @staticmethod
        def types():
            perm = Type('tuned_t')
            perm.ispermissive = True
            return [Type('httpd_t'), Type('http_port_t'), perm]

        @staticmethod
        def lookup_typeattr(name):
            return Attr({'port_type': ['http_port_t'], 'domain': ['httpd_t', 'tuned_t']}[name])

    class Good(object):
        SELinuxPolicy = Policy
    assert _status.policy_types(Good, '/x', 'port_type') == (
        {'http_port_t'}, {'httpd_t', 'http_port_t', 'tuned_t'}, {'tuned_t'})
    assert _status.policy_types(Good, '/x', 'domain')[0] == {'httpd_t', 'tuned_t'}
    assert _status.policy_types(Good, None, 'domain') is None

    class Broken(object):
        @staticmethod
        def SELinuxPolicy(path):
            raise OSError('bad policy')
    assert _status.policy_types(Broken, '/x', 'port_type') is None
    assert _status.policy_types(None, '/x', 'port_type') is None
