from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb


@pytest.mark.parametrize('value,expected', [
    ('on', True), ('OFF', False), ('yes', True), ('no', False), ('true', True), ('False', False), ('1', True),
    ('0', False), (1, True), (0, False), (True, True), (False, False)])
def test_to_bool(value, expected):
    assert sb.to_bool('x', value) is expected


@pytest.mark.parametrize('value', ['maybe', '2', 2, '', None, 'enable'])
def test_to_bool_rejects(value):
    with pytest.raises(sb.BoolError) as exc:
        sb.to_bool('httpd_x', value)
    assert 'httpd_x' in str(exc.value) and repr(value) in str(exc.value)


def test_unknown_message_lists_all_with_close_matches():
    msg = sb.unknown_message(['httpd_can_network_conect', 'zzz_nothing'],
                             ['httpd_can_network_connect', 'httpd_can_network_relay', 'ftpd_full_access'])
    assert 'httpd_can_network_conect (did you mean: httpd_can_network_connect' in msg
    assert 'zzz_nothing' in msg and 'nothing was changed' in msg


def test_plan_separates_persistent_and_runtime():
    wanted = {'a': True, 'b': False, 'c': True}
    changes, pset, rset = sb.plan(wanted, {'a': True, 'b': True, 'c': True}, {'a': False, 'b': True, 'c': True})
    assert pset == {'b': False}
    assert rset == {'a': True, 'b': False}
    assert [c['name'] for c in changes] == ['a', 'b']
    assert changes[0] == {'name': 'a', 'before': {'persistent': True, 'runtime': False},
                          'after': {'persistent': True, 'runtime': True}}


def test_plan_offline_and_no_change():
    changes, pset, rset = sb.plan({'a': True}, {'a': False}, None)
    assert pset == {'a': True} and rset == {}
    assert changes[0]['after'] == {'persistent': True, 'runtime': None}
    assert sb.plan({'a': True}, {'a': True}, {'a': True}) == ([], {}, {})


def test_plan_persistent_false_only_runtime():
    changes, pset, rset = sb.plan({'a': True}, {'a': False}, {'a': False}, persistent=False)
    assert pset == {} and rset == {'a': True}


def test_render():
    assert sb.render({'b': {'persistent': True, 'runtime': None}, 'a': {'persistent': False, 'runtime': True}}) == \
        'a: persistent=off runtime=on\nb: persistent=on runtime=-\n'


def test_runtime_values_from_fs(tmp_path):
    (tmp_path / 'booleans').mkdir()
    (tmp_path / 'booleans' / 'httpd_x').write_text('1 1')
    (tmp_path / 'booleans' / 'httpd_y').write_text('0 0')
    assert sb.runtime_values_from_fs(['httpd_x', 'httpd_y', 'nope'], str(tmp_path)) == {'httpd_x': True, 'httpd_y': False}
    assert sb.runtime_values_from_fs(['x'], str(tmp_path / 'missing')) is None
