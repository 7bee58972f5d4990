# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: native_lsm
short_description: The MAC a host is meant to run, from its facts
version_added: 0.2.0
description:
  - Returns V(selinux) or V(apparmor) for a host's gathered facts (the C(min) subset is enough).
  - V(selinux) when the host is RedHat family, when SELinux is enabled, or when the kernel was booted for SELinux
    (C(security=selinux), or an C(lsm=) list whose first exclusive LSM is selinux, as the kernel reads it). A host
    booted for SELinux stays a SELinux host while SELinux is disabled - that is drift to correct, not a reason to switch to AppArmor.
  - V(apparmor) otherwise (Debian, Ubuntu, SUSE).
  - The roles C(confine.lsm.confine_enforce) and C(confine.lsm.confine_verify) use it when their LSM is V(auto).
author:
  - confine.lsm maintainers (@confine-lsm)
options:
  _input:
    description: The host's C(ansible_facts).
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Which MAC should this host run?
  ansible.builtin.debug:
    msg: "{{ ansible_facts | confine.lsm.native_lsm }}"
'''

RETURN = r'''
_value:
  description: V(selinux) or V(apparmor).
  type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.confine.lsm.plugins.module_utils import _facts


def native_lsm(facts):
    if not isinstance(facts, dict):
        raise AnsibleFilterError('native_lsm expects ansible_facts (a dict), got %s' % type(facts).__name__)
    # the rule lives in module_utils: confine.lsm.lsm_status_info applies it on the host for lsm=native
    return _facts.native(facts)


class FilterModule(object):
    def filters(self):
        return {'native_lsm': native_lsm}
