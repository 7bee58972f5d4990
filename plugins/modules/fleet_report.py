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
  - The results are data from the hosts and are escaped for each format. JSON keeps every character (lone
    surrogates become U+FFFD). In JUnit XML, Markdown and HTML a newline, NUL or other control or format character
    (such as a right-to-left override) is written as an escape (C(\x0a), C(\u202e)), so that the XML holds only
    characters XML 1.0 allows and a value cannot break a line or a table row; Markdown escapes its own punctuation
    (no raw HTML, link, image or code span comes from a value) and HTML escapes C(&), C(<), C(>) and quotes.
  - A report file is replaced by a rename in O(dest), never written through a link. A report file (or O(dest)
    itself) that is a symlink, a FIFO, a device or a directory is refused with an error naming it, before
    anything is written; a symlink's target is neither read nor shown in the diff. An existing file keeps its
    owner, mode and SELinux label. When one file cannot be written, those written before it are restored.
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
    description: Directory for the report files; created when missing. Must not be a symlink.
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

import errno
import os
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _files
from ansible_collections.confine.lsm.plugins.module_utils import _report


def missing_dirs(path):
    """The directories makedirs would create for path, deepest first."""
    out = []
    while path and not os.path.lexists(path):
        out.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return out


def check_dest(module, dest):
    try:
        st = os.lstat(dest)
    except (IOError, OSError) as exc:
        if getattr(exc, 'errno', None) == errno.ENOENT:
            return False
        module.fail_json(msg='cannot read dest %s: %s; nothing was written' % (dest, to_native(exc)))
    if not stat.S_ISDIR(st.st_mode):
        module.fail_json(msg='dest %s is %s, not a directory: the report is not written through it; nothing was '
                             'written' % (dest, _files.file_kind(st.st_mode)))
    return True


def write_all(module, dest, plan, result):
    """Write every changed file; when one fails, restore those written before it, remove what was created."""
    created = [] if os.path.lexists(dest) else missing_dirs(dest)
    written = []
    try:
        if created:
            os.makedirs(dest)
        for path, old, text in plan:
            _files.write_nofollow(module, path, text)
            written.append((path, old))
    except BaseException as exc:  # whatever the exception, nothing stays half-written
        problems = []
        for path, old in reversed(written):
            try:
                if old is None:
                    _files.remove_nofollow(path)
                else:
                    _files.write_nofollow(module, path, old)
            except Exception as again:  # pylint: disable=broad-except
                problems.append('%s could not be restored: %s' % (path, to_native(again)))
        for directory in created:
            try:
                os.rmdir(directory)
            except (IOError, OSError):
                pass
        if not isinstance(exc, Exception):
            raise
        failing = plan[len(written)][0] if len(written) < len(plan) else dest
        module.fail_json(msg='cannot write %s: %s; %s' % (
            failing, to_native(exc), '; '.join(problems) if problems else
            'the report files written before it were restored: nothing was changed'), **result)


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
    dest = p['dest']
    exists = check_dest(module, dest)
    diffs, plan = [], []
    for fmt in p['formats']:
        name, render = _report.RENDERERS[fmt]
        path = os.path.join(dest, name)
        text = render(p['title'], p['generated'], rows)
        try:
            # the file itself, never a link's target: a symlink, FIFO or device here is refused unread
            old = _files.read_text(path, follow=False) if exists else None
        except _files.NotRegularFile as exc:
            module.fail_json(msg='report file %s: it is not written through or replaced; nothing was written'
                             % to_native(exc), **result)
        except (IOError, OSError) as exc:
            module.fail_json(msg='cannot read %s: %s; nothing was written' % (path, to_native(exc)), **result)
        result['files'][fmt] = path
        if old == text:
            continue
        result['changed'] = True
        diffs.append(dict(before=old or '', after=text, before_header=path, after_header=path))
        plan.append((path, old, text))
    if plan and not module.check_mode:
        write_all(module, dest, plan, result)
    if module._diff and diffs:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
