from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.confine.lsm.plugins.filter.native_lsm import native_lsm


@pytest.mark.parametrize('facts,lsm', [
    ({'os_family': 'RedHat'}, 'selinux'),
    ({'os_family': 'Debian', 'selinux': {'status': 'enabled'}}, 'selinux'),
    ({'os_family': 'Debian', 'selinux': {'status': 'disabled'}}, 'apparmor'),
    # booted for SELinux but disabled in the config: still a SELinux host (drift), never switched to AppArmor
    ({'os_family': 'Debian', 'selinux': {'status': 'disabled'}, 'cmdline': {'security': 'selinux', 'selinux': '1'}},
     'selinux'),
    ({'os_family': 'Debian', 'cmdline': {'lsm': 'landlock,lockdown,yama,selinux'}}, 'selinux'),
    ({'os_family': 'Debian', 'cmdline': {'lsm': 'landlock,apparmor,selinux'}}, 'apparmor'),
    ({'os_family': 'Suse', 'cmdline': {'security': 'apparmor'}}, 'apparmor'),
    ({}, 'apparmor'),
])
def test_native_lsm(facts, lsm):
    assert native_lsm(facts) == lsm


def test_native_lsm_needs_facts():
    with pytest.raises(AnsibleFilterError, match='str'):
        native_lsm('nope')
