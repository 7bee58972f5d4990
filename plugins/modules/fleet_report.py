#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: fleet_report
short_description: Write the fleet's MAC report as JSON, JUnit XML, Markdown and a self-contained HTML page
version_added: 0.2.0
description:
  - Takes one result per host (what the confine.lsm.verify role records as C(confine_verify_result), plus drift
    details) and writes the report files into O(dest), atomically. Run it once, on the controller.
  - JSON is for tools and dashboards, JUnit XML for CI systems (one test case per host), Markdown and HTML for
    people. The HTML page fetches nothing from the network.
author:
  - confine.lsm maintainers (@confine-lsm)
extends_documentation_fragment:
  - confine.lsm.attributes
options:
  results:
    description:
      - One dict per host with C(host) and, as known, C(lsm), C(mode), C(config), C(policy), C(enforced),
        C(complain), C(drift_found), C(drift_fixed), C(changes) (other changes made, such as rules added), C(weakened) (protection lowered, by whom and why),
        C(denials) (one line per denial group, from M(confine.lsm.lsm_denials_info)'s C(text)) and C(findings)
        (a host passes when it has none).
    type: list
    elements: dict
    required: true
  dest:
    description: Directory for the report files; created when missing.
    type: path
    required: true
  formats:
    description: Which files to write.
    type: list
    elements: str
    choices: [json, junit, markdown, html]
    default: [json, junit, markdown, html]
  title:
    description: Report title.
    type: str
    default: confine.lsm fleet report
  generated:
    description: Timestamp written into the report; pass C(ansible_date_time) or similar for a stable value.
    type: str
    default: ""
'''

EXAMPLES = r'''
- name: Write the report on the controller
  confine.lsm.fleet_report:
    results: "{{ ansible_play_hosts_all | map('extract', hostvars, 'confine_verify_result') | select('defined') }}"
    dest: "{{ playbook_dir }}/report"
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
files:
  description: Report files written (or that would be written), by format.
  returned: always
  type: dict
  sample: {"json": "/srv/report/report.json", "junit": "/srv/report/report.xml"}
summary:
  description: Host counts.
  returned: always
  type: dict
  sample: {"hosts": 3, "passed": 2, "failed": 1, "failed_hosts": ["web3"]}
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.confine.lsm.plugins.module_utils import _files
from ansible_collections.confine.lsm.plugins.module_utils import _report


def main():
    module = AnsibleModule(
        argument_spec=dict(
            results=dict(type='list', elements='dict', required=True),
            dest=dict(type='path', required=True),
            formats=dict(type='list', elements='str', choices=list(_report.RENDERERS),
                         default=list(_report.RENDERERS)),
            title=dict(type='str', default='confine.lsm fleet report'),
            generated=dict(type='str', default=''),
        ),
        supports_check_mode=True,
    )
    p = module.params
    bad = [r for r in p['results'] if not r.get('host')]
    if bad:
        module.fail_json(msg='every result needs a host; %d do not: %r' % (len(bad), bad[:3]))
    rows = sorted((_report.normalise(r) for r in p['results']), key=lambda r: r['host'])
    result = dict(changed=False, files={}, summary=_report.summary(rows))
    diffs = []
    for fmt in p['formats']:
        name, render = _report.RENDERERS[fmt]
        path = os.path.join(p['dest'], name)
        text = render(p['title'], p['generated'], rows)
        old = _files.read_text(path)
        result['files'][fmt] = path
        if old == text:
            continue
        result['changed'] = True
        diffs.append(dict(before=old or '', after=text, before_header=path, after_header=path))
        if not module.check_mode:
            if not os.path.isdir(p['dest']):
                os.makedirs(p['dest'])
            _files.write_or_fail(module, path, text, **result)
    if module._diff and diffs:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
