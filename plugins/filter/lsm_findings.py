# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: lsm_findings
short_description: Judge a host's MAC posture - which checks fail, which weakenings were accepted
version_added: 0.3.0
description:
  - Takes the C(status) that M(confine.lsm.lsm_status_info) returns and what the user expects, and returns
    C(findings) (each with C(id), C(severity), C(text), C(fix) - the fix of least power -, C(controls) - the
    CIS, DISA STIG and SCAP Security Guide ids it answers - and C(subject)) and C(accepted) (weakenings the user
    listed as exceptions, each with the reason the report prints), and C(checked) (the ids of every check evaluated,
    so a report can show the passing ones too).
  - A host passes when C(findings) is empty.
  - "SELinux expectations: C(state) (V(enforcing)), C(policy) (empty: any installed one), C(booleans)
    ({name: bool}), C(permissive_exceptions) and C(unconfined_exceptions) (lists of C(name) - a domain, or a unit
    for unconfined services; globs allowed - and C(reason)), C(check_unconfined_services), C(check_devices),
    C(check_setroubleshoot), C(check_mcstrans) (all true)."
  - "AppArmor expectations: C(enforced) (profile references that must enforce), C(min_enforced) (1), C(policy)
    (V(required): only the listed profiles must enforce; V(all): every loaded profile in complain or prompt mode
    fails, unless listed in C(exceptions)), C(exceptions) (C(name) - a profile name or glob - and C(reason)),
    C(check_unconfined_processes) (true), C(require_pam_apparmor) (false), C(packages) (packages that must be
    installed, among those the status read; V([apparmor]))."
author:
  - confine.lsm maintainers (@confine-lsm)
options:
  _input:
    description: The C(status) returned by M(confine.lsm.lsm_status_info).
    type: dict
    required: true
  lsm:
    description: The LSM to judge, V(selinux) or V(apparmor).
    type: str
    required: true
  expect:
    description: What the user expects (see the description).
    type: dict
    default: {}
'''

EXAMPLES = r'''
- name: Judge the posture
  ansible.builtin.set_fact:
    judged: "{{ posture.status | confine.lsm.lsm_findings('apparmor', {'policy': 'all', 'exceptions': [{'name': 'ping', 'reason': 'CHG-12'}]}) }}"
'''

RETURN = r'''
_value:
  description: C(findings) and C(accepted), lists of dicts, and C(checked), the ids of the checks evaluated.
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.confine.lsm.plugins.module_utils import _posture


def lsm_findings(status, lsm, expect=None):
    if not isinstance(status, dict):
        raise AnsibleFilterError('lsm_findings expects the status of confine.lsm.lsm_status_info (a dict), got %s'
                                 % type(status).__name__)
    try:
        found, accepted = _posture.judge(status, lsm, expect or {})
    except _posture.PostureError as exc:
        raise AnsibleFilterError(str(exc))
    return {'findings': found, 'accepted': accepted, 'checked': _posture.checked(lsm, expect or {})}


class FilterModule(object):
    def filters(self):
        return {'lsm_findings': lsm_findings}
