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
        dict(port='8080', protocol='tcp', before='http_cache_port_t', after='http_port_t', local_before=False),
        dict(port='9000-9010', protocol='tcp', before=None, after='http_port_t', local_before=False),
        dict(port='9999', protocol='tcp', before='ssh_port_t', after=None, local_before=True)]
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
