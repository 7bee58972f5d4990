# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _selogin as sl

POLICY = {'root': ('unconfined_u', 's0-s0:c0.c1023'), '__default__': ('unconfined_u', 's0-s0:c0.c1023'),
          'sddm': ('xdm', 's0-s0')}


@pytest.mark.parametrize('entry, words', [
    ({'login': 'al ice', 'seuser': 'user_u'}, "login 'al ice'"),
    ({'login': 'alice\nroot', 'seuser': 'user_u'}, 'is not a Linux user name'),
    ({'login': 'alice', 'seuser': 'user_u\x00'}, 'is not an SELinux user name'),
    ({'login': 'alice'}, "seuser None for login alice"),
    ({'login': 'alice', 'seuser': 'user_u', 'serange': 's0-c5'}, "serange 's0-c5'"),
    ({'login': 'alice', 'seuser': 'user_u', 'state': 'gone'}, "state 'gone'"),
    ({'login': '__default__', 'state': 'absent'}, 'cannot be removed'),
])
def test_bad_entries_are_refused_naming_the_value(entry, words):
    with pytest.raises(sl.LoginError) as exc:
        sl.normalize([entry])
    assert words in str(exc.value)


def test_logins_groups_and_default_are_accepted():
    got = sl.normalize([{'login': '%wheel', 'seuser': 'staff_u'}, {'login': '__default__', 'seuser': 'user_u'},
                        {'login': 'svc$', 'seuser': 'user_u', 'serange': 's0-s0:c0.c1023'},
                        {'login': 'bob', 'state': 'absent'}])
    assert [e['login'] for e in got] == ['%wheel', '__default__', 'svc$', 'bob']


def test_a_login_listed_twice_is_refused():
    with pytest.raises(sl.LoginError, match='listed twice'):
        sl.normalize([{'login': 'a', 'seuser': 'user_u'}, {'login': 'a', 'seuser': 'staff_u'}])


def test_plan_confining_is_no_weakening_and_runs_once():
    entries = sl.normalize([{'login': 'alice', 'seuser': 'user_u'}, {'login': '%wheel', 'seuser': 'staff_u'},
                            {'login': 'sddm', 'seuser': 'xdm'}])   # the policy's own: nothing
    changes, modify, delete, weakened = sl.plan(entries, {}, POLICY, default_range='s0')
    assert modify == [('alice', 'user_u', 's0'), ('%wheel', 'staff_u', 's0')] and delete == [] and weakened == []
    assert changes[0] == dict(login='alice', purged=False, before='unconfined_u', before_range='s0-s0:c0.c1023',
                              after='user_u', after_range='s0')
    done = sl.after({}, modify, delete)
    assert sl.plan(entries, done, POLICY, default_range='s0') == ([], [], [], [])
    assert sl.render(done) == '%wheel staff_u s0\nalice user_u s0\n'


def test_moving_to_unconfined_is_a_weakening_and_so_is_removing_a_confining_mapping():
    local = {'alice': ('user_u', 's0'), 'bob': ('staff_u', 's0')}
    entries = sl.normalize([{'login': 'alice', 'seuser': 'unconfined_u'}, {'login': 'bob', 'state': 'absent'}])
    changes, modify, delete, weakened = sl.plan(entries, local, POLICY)
    assert weakened == ['login alice: user_u -> unconfined_u (unconfined)',
                        'login bob: staff_u -> unconfined_u (unconfined)']
    # with a confined __default__ removing bob's mapping is no weakening
    confined = dict(POLICY, __default__=('user_u', 's0'))
    assert sl.plan(sl.normalize([{'login': 'bob', 'state': 'absent'}]), local, confined)[3] == []


def test_default_moving_to_unconfined_is_a_weakening():
    confined = dict(POLICY, __default__=('user_u', 's0'))
    entries = sl.normalize([{'login': '__default__', 'seuser': 'unconfined_u'}])
    assert sl.plan(entries, {}, confined)[3] == ['login __default__: user_u -> unconfined_u (unconfined)']


def test_purge_removes_unnamed_local_mappings_in_the_same_plan():
    local = {'alice': ('user_u', 's0'), 'carol': ('staff_u', 's0')}
    entries = sl.normalize([{'login': 'alice', 'seuser': 'user_u'}])
    changes, modify, delete, weakened = sl.plan(entries, local, POLICY, purge=True)
    assert modify == [] and delete == ['carol'] and changes[0]['purged'] is True
    assert weakened == ['login carol: staff_u -> unconfined_u (unconfined)']


def test_a_range_that_differs_is_a_change_and_no_range_matches_any():
    local = {'alice': ('user_u', 's0')}
    assert sl.plan(sl.normalize([{'login': 'alice', 'seuser': 'user_u'}]), local, POLICY)[1] == []
    assert sl.plan(sl.normalize([{'login': 'alice', 'seuser': 'user_u', 'serange': 's0-s0:c1'}]), local,
                   POLICY)[1] == [('alice', 'user_u', 's0-s0:c1')]
