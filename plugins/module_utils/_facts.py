# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The minimal facts (what `setup` with gather_subset [min] returns), collected inside another module by ansible's
own collectors, and the rule that names a host's native LSM from facts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se

# the same set as ansible.builtin.setup's minimal_gather_subset
MINIMAL = frozenset(['apparmor', 'caps', 'cmdline', 'date_time', 'distribution', 'dns', 'env', 'fips', 'local', 'lsb',
                     'pkg_mgr', 'platform', 'python', 'selinux', 'service_mgr', 'ssh_pub_keys', 'user'])


def minimal(module):
    """{'ansible_<name>': value} for the minimal subset, as setup returns them (ansible strips the prefix into
    ansible_facts). The 'local' collector reads no facts.d here: that needs setup's fact_path."""
    # imported here: the filter plugin below imports this file on the controller for native() only
    from ansible.module_utils.facts import ansible_collector, default_collectors
    from ansible.module_utils.facts.namespace import PrefixFactNamespace
    collector = ansible_collector.get_ansible_collector(
        all_collector_classes=default_collectors.collectors,
        namespace=PrefixFactNamespace(namespace_name='ansible', prefix='ansible_'),
        filter_spec=[], gather_subset=['min'], gather_timeout=10, minimal_gather_subset=MINIMAL)
    return collector.collect(module=module)


def native(facts):
    """'selinux' or 'apparmor' for a host's facts (keys without the ansible_ prefix).

    SELinux for the RedHat family, when SELinux is enabled, or when the kernel was booted for it (security=selinux,
    or an lsm= list whose first exclusive LSM is selinux, as the kernel reads it): a host booted for SELinux stays a
    SELinux host while SELinux is disabled. AppArmor otherwise (Debian, Ubuntu, SUSE)."""
    args = facts.get('cmdline') or {}
    # setup's cmdline fact holds strings (True for a bare word); the kernel's reading decides which LSM starts
    booted_for_selinux = se.chosen_major(dict((k, '%s' % v) for k, v in args.items()
                                              if k in ('lsm', 'security', 'selinux', 'apparmor'))) == 'selinux'
    selinux = facts.get('selinux') or {}
    if facts.get('os_family') == 'RedHat' or selinux.get('status') == 'enabled' or booted_for_selinux:
        return 'selinux'
    return 'apparmor'


def unprefixed(facts):
    """setup's keys as ansible_facts holds them: 'ansible_os_family' -> 'os_family'."""
    return dict((k[len('ansible_'):] if k.startswith('ansible_') else k, v) for k, v in facts.items())
