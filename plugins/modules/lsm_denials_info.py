#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: lsm_denials_info
short_description: Read SELinux and AppArmor denials from the audit log or the kernel log, grouped, with fixes
version_added: 0.2.0
description:
  - Reads SELinux AVC records and AppArmor C(DENIED)/C(ALLOWED) events since a time (default since boot), from the
    audit log, or from the journal or kernel ring buffer where auditd is absent, and returns them grouped with
    counts, plus the newest records.
  - AppArmor records are parsed from the log text (C(ausearch) skips them as malformed). Hex-encoded fields
    (paths with spaces) are decoded. An event found in both the audit log and the kernel log is counted once.
  - Audit logs are streamed line by line, so memory stays bounded for any log size (the journal's output is
    bounded by O(since), the ring buffer by its size); rotated audit logs
    (C(audit.log.1), ..., also gzipped) are read when O(rotated=true). A rotated C(.gz) that is truncated or
    corrupt is read up to the damage, and named in a warning and in RV(read_errors).
  - The result is bounded whatever the logs hold - a line longer than 64 KiB (no kernel record is) is skipped,
    each text field is cut to 4096 characters, and the groups and the records take at most about 3 MiB and
    1 MiB of text - and every limit that was applied is said in RV(limits_applied) and counted in RV(summary).
  - Only regular files are read as logs; a FIFO, a device or a directory given as O(audit_log) (or found among
    its rotated files) is refused with an error naming it, without being opened.
  - For SELinux denials it proposes the fix of least power, in this order, using the libselinux bindings
    (C(audit2why)'s analysis and C(matchpathcon)) - V(relabel) when the file's label differs from what the policy
    says it should be (C(restorecon)), V(boolean) when a boolean would allow it, V(fcontext) when the target is
    a file and the policy has file types the subject may access that way (candidates listed, narrowest first),
    else V(module) - and always the C(audit2allow)-style rule as a proposal for review, never applied.
  - For AppArmor events it proposes the profile rule that would allow a file access, for review.
  - Read-only; runs the same in check mode.
author:
  - confine.lsm maintainers (@confine-lsm)
extends_documentation_fragment:
  - confine.lsm.attributes.info_module
options:
  since:
    description:
      - Oldest event to report. V(boot) (the default), V(all), a duration meaning "that long ago" (V(30s), V(15m),
        V(2h), V(1d), V(1w)), an epoch (V(@1700000000)) or an ISO 8601 time (V(2026-11-28T10:00:00), local time
        unless it carries an offset).
      - An epoch must be a finite number up to the end of the year 9999 (V(nan) and V(inf) are refused by name);
        a time before 1970 means V(all).
    type: str
    default: boot
  lsm:
    description: Which LSM's events to report.
    type: str
    choices: [all, selinux, apparmor]
    default: all
  sources:
    description:
      - Where to read. V(auto) reads the audit log when it exists, else the journal's kernel messages, else the
        kernel ring buffer (C(dmesg)). Several may be given; duplicates are counted once.
    type: list
    elements: str
    choices: [auto, audit, journal, kernel]
    default: [auto]
  audit_log:
    description: The audit log file.
    type: path
    default: /var/log/audit/audit.log
  rotated:
    description: Also read rotated audit logs (C(audit.log.1) ... and C(.gz) ones), oldest first.
    type: bool
    default: false
  include_allowed:
    description:
      - Report events that were logged but allowed (AppArmor complain mode; SELinux permissive domains or mode).
        They are what a profile in complain mode would deny in enforce mode.
    type: bool
    default: true
  subjects:
    description:
      - Only events of these subjects - AppArmor profile names, SELinux contexts or types (V(httpd_t)).
    type: list
    elements: str
    default: []
  suggest:
    description: Compute fix suggestions (SELinux needs the libselinux Python bindings; see requirements).
    type: bool
    default: true
  max_records:
    description:
      - How many of the newest individual records to return (groups are always complete up to O(max_groups)).
        From 0 to 1000000; fewer are returned when they would take more than about 1 MiB of text (counted in
        C(records_dropped) of RV(summary)).
    type: int
    default: 100
  max_groups:
    description:
      - Bound on distinct groups kept, from 0 to 1000000; events beyond it, or beyond about 3 MiB of groups, are
        counted in C(groups_dropped) of RV(summary).
    type: int
    default: 500
requirements:
  - For SELinux suggestions, the libselinux Python bindings for the system Python (C(python3-selinux) on Debian and
    Ubuntu, C(python3-libselinux) on Fedora and RHEL); the module re-runs itself under the system Python when the
    interpreter running it lacks them. C(setools) (C(python3-setools)) adds file-type candidates.
notes:
  - Reading C(/var/log/audit/audit.log) needs root.
seealso:
  - module: confine.lsm.selinux_fcontext
  - module: confine.lsm.sebool_persist
  - module: confine.lsm.selinux_policy_module
'''

EXAMPLES = r'''
- name: What did MAC deny in the last hour?
  confine.lsm.lsm_denials_info:
    since: 1h
  register: denials

- name: Show each kind of denial once, with its count and the suggested fix
  ansible.builtin.debug:
    msg: "{{ item.count }}x {{ item.subject }} {{ item.operation }} {{ item.object }}: {{ item.suggestion.kind }}"
  loop: "{{ denials.denials }}"
  loop_control:
    label: "{{ item.subject }}"

- name: What the nginx profile (in complain mode) would have denied since boot
  confine.lsm.lsm_denials_info:
    lsm: apparmor
    subjects: [nginx]

- name: Everything the audit logs hold, rotated ones too
  confine.lsm.lsm_denials_info:
    since: all
    rotated: true
'''

RETURN = r'''
denials:
  description: Events grouped by LSM, verdict, subject, class, operation, object and target; most frequent first.
  returned: always
  type: list
  elements: dict
  contains:
    lsm:
      description: V(selinux) or V(apparmor).
      type: str
    verdict:
      description: V(denied), or V(allowed) for AppArmor complain-mode events.
      type: str
    enforced:
      description: False when the event was only logged (SELinux permissive, AppArmor complain).
      type: bool
    subject:
      description: The SELinux source context or the AppArmor profile.
      type: str
    subject_type:
      description: The SELinux source type.
      type: str
    operation:
      description: The AppArmor operation, or the SELinux permissions.
      type: str
    permissions:
      description: The permissions asked for (SELinux) or denied (AppArmor mask letters).
      type: list
      elements: str
    class:
      description: The object class (V(file), V(dir), V(tcp_socket), ...).
      type: str
    object:
      description: The path or name involved; for a C(name_bind) or C(name_connect) on a port, the protocol and
        port (V(tcp/8123)).
      type: str
    target_context:
      description: The SELinux target context (AppArmor, the peer if any).
      type: str
    target_type:
      description: The SELinux target type.
      type: str
    comm:
      description: The command name.
      type: str
    count:
      description: How many events.
      type: int
    first:
      description: Time of the first event (UTC, ISO 8601).
      type: str
    last:
      description: Time of the last event.
      type: str
    pids:
      description: Up to five process ids seen.
      type: list
      elements: int
    sample:
      description: One raw log line of the group (its first 4096 characters).
      type: str
    truncated:
      description:
        - The fields that were cut to 4096 characters (or, for C(permissions), to 32 entries); empty when none
          were. No rule is proposed from a cut field.
      type: list
      elements: str
    suggestion:
      description:
        - The fix of least power. C(kind) is V(relabel), V(boolean), V(fcontext), V(port_label), V(module),
          V(constraint), V(profile_rule) (AppArmor), V(none) or V(unknown); C(detail) says why; C(booleans),
          C(expected_context), C(candidate_types) (with C(protocol) and C(port) for V(port_label)) or C(rule) carry
          what to apply; C(allow_rule) is the audit2allow-style rule, a proposal for review only.
        - A C(name_bind) or C(name_connect) denied on a port is V(boolean) when a boolean allows it, else
          V(port_label) with the port types the domain may use, its own family first (V(http_port_t) for
          V(httpd_t)), never a module that would let the domain use every port of the denied type.
      type: dict
      returned: when O(suggest=true)
      sample: {"kind": "boolean", "booleans": {"httpd_can_network_connect": true}, "detail": "..."}
    text:
      description: The group in one line (LSM, verdict, count, command and subject, permissions, object, fix kind),
        as the fleet report's C(denials) column shows it. A newline, NUL or other control or format character
        in a field is written as an escape (C(\x0a), C(\u202e)), never as itself.
      type: str
      sample: "selinux denied x2: nginx (httpd_t) getattr file /var/www/html/a.html [user_home_t] -> relabel to httpd_sys_content_t"
records:
  description: The newest O(max_records) individual events, oldest first (same fields, without counts).
  returned: always
  type: list
  elements: dict
summary:
  description: Counts - C(total), C(groups), C(selinux_denied), C(selinux_permissive), C(apparmor_denied),
    C(apparmor_allowed), C(lines_read), C(groups_dropped), C(lines_too_long) (skipped), C(fields_truncated),
    C(records_dropped) (left out for the size bound).
  returned: always
  type: dict
limits_applied:
  description: Each bound that cut the result, in words; empty when the result is complete.
  returned: always
  type: list
  elements: str
  sample: ["1 lines longer than 65536 bytes were skipped (no kernel record is that long)"]
read_errors:
  description: Logs that could be read only in part (a truncated or corrupt C(.gz)), with C(source), C(error) and
    C(lines_read) (the lines read before the damage).
  returned: always
  type: list
  elements: dict
sources:
  description: What was read, in order (files and commands).
  returned: always
  type: list
  elements: str
since:
  description: The oldest time reported, UTC ISO 8601.
  returned: always
  type: str
read_at:
  description: The managed host's clock when reading began, as V(@EPOCH); pass it as O(since) of the next read to
    see only what happened in between (the tuning workflow reads its exercise windows this way).
  returned: always
  type: str
  sample: "@1764330000.125"
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _advisor
from ansible_collections.confine.lsm.plugins.module_utils import _denials as dn
from ansible_collections.confine.lsm.plugins.module_utils import _logsources as ls
from ansible_collections.confine.lsm.plugins.module_utils import _respawn

HAS_SELINUX = _advisor.HAS_SELINUX  # the libselinux bindings (the advisor's); without them the module respawns


def command_reader(module):
    def read_command(argv):
        """A command's output (argument list, no shell); the journal is bounded by --since, dmesg by its ring."""
        rc, out, err = module.run_command(argv, errors='surrogate_or_replace')
        if rc != 0:
            raise OSError('%s exited with %d: %s' % (argv[0], rc, err.strip()))
        yield from dn.bounded_text_lines(out)
    return read_command


def main():
    module = AnsibleModule(
        argument_spec=dict(
            since=dict(type='str', default='boot'),
            lsm=dict(type='str', default='all', choices=['all', 'selinux', 'apparmor']),
            sources=dict(type='list', elements='str', default=['auto'], choices=['auto', 'audit', 'journal', 'kernel']),
            audit_log=dict(type='path', default='/var/log/audit/audit.log'),
            rotated=dict(type='bool', default=False),
            include_allowed=dict(type='bool', default=True),
            subjects=dict(type='list', elements='str', default=[]),
            suggest=dict(type='bool', default=True),
            max_records=dict(type='int', default=100),
            max_groups=dict(type='int', default=500),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for key in ('max_records', 'max_groups'):
        if not 0 <= p[key] <= dn.COUNT_MAX:
            module.fail_json(msg='%s=%d: must be from 0 to %d (the result is bounded to about %d characters '
                                 'whatever it says)' % (key, p[key], dn.COUNT_MAX,
                                                        dn.GROUPS_BUDGET + dn.RECORDS_BUDGET))
    try:
        since = dn.parse_since(p['since'], boot_time=dn.boot_time())
    except dn.DenialError as exc:
        module.fail_json(msg=to_native(exc))

    if p['suggest'] and p['lsm'] != 'apparmor' and not HAS_SELINUX and os.path.isdir('/sys/fs/selinux'):
        _respawn.into_system_python('selinux')  # returns only when no system Python has the bindings

    read_at = '@%.3f' % time.time()
    collector = dn.Collector(since=since, lsm=p['lsm'], include_allowed=p['include_allowed'], subjects=p['subjects'],
                             max_records=p['max_records'], max_groups=p['max_groups'])
    try:
        sources = ls.plan(p['sources'], p['audit_log'], p['rotated'], since, module.get_bin_path)
    except ls.SourceError as exc:
        module.fail_json(msg=to_native(exc))
    readers = {ls.FILE: ls.read_file, ls.COMMAND: command_reader(module)}
    warnings = []
    read_errors = []
    for label, kind, arg in sources:
        before = collector.lines
        try:
            collector.feed(readers[kind](arg))
        except ls.DamagedLog as exc:
            read_errors.append(dict(source=label, error=to_native(exc), lines_read=collector.lines - before))
            warnings.append('%s is truncated or corrupt (%s): its first %d lines were read, the rest was not'
                            % (label, to_native(exc), collector.lines - before))
        except (IOError, OSError) as exc:
            module.fail_json(msg='reading %s failed: %s' % (label, to_native(exc)))
    public, groups = collector.result_groups()
    if p['suggest'] and groups:
        advisor = None
        for pub, group in zip(public, groups):
            if group['lsm'] == 'selinux':
                if advisor is None:
                    if not HAS_SELINUX:
                        warnings.append('SELinux suggestions need the libselinux Python bindings (python3-selinux '
                                        'or python3-libselinux); only audit2allow-style rules are given')
                    advisor = _advisor.SELinuxAdvisor(module)
                pub['suggestion'] = advisor.suggest(group)
            else:
                rule = dn.apparmor_rule(group)
                pub['suggestion'] = dict(kind='profile_rule', rule=rule,
                                         detail='add to the profile (or its local include) after review') \
                    if rule else dict(kind='unknown', detail='no file rule derives from this event; review it')
        if advisor:
            warnings.extend(advisor.warnings)
    for pub in public:
        pub['text'] = dn.describe(pub)
    limits = collector.limits_applied()
    for w in warnings + limits:
        module.warn(w)
    module.exit_json(changed=False, denials=public, records=list(collector.records), summary=collector.summary(),
                     sources=[label for label, dummy, dummy2 in sources], since=dn.iso(since), read_at=read_at,
                     limits_applied=limits, read_errors=read_errors)


if __name__ == '__main__':
    main()
