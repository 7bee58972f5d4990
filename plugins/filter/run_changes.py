# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: run_changes
short_description: What a role run changed and lowered, one line each, from its registered task results
version_added: 0.3.0
description:
  - Turns the registered results of the confine.lsm roles' fixing tasks into the lines the fleet report shows in its
    C(changes) and C(weakened) columns, so a report after C(enforce.yml) or C(drift.yml) says what the run corrected
    and what it lowered.
  - Takes a dict from a kind to a registered result. Kinds are C(package), C(selinux_mode), C(selinux_local)
    (its booleans, permissive, ports and logins parts, each as the kind's own module returns it), C(sebool_persist),
    C(selinux_fcontext), C(selinux_port), C(selinux_login), C(selinux_permissive), C(selinux_policy_module)
    (a loop), C(apparmor_boot_args), C(service), C(profiles_deployed)
    (a loop of copy or template), C(apparmor_profile_mode), C(restarted) (a loop of service restarts). A key may
    carry a label after a colon (C(apparmor_profile_mode:complain)) when one kind ran twice. Skipped, unchanged
    and undefined results give no line; an unknown kind that changed gives one generic line.
  - Host text (names, paths) is kept as data; the report escapes it for each format.
options:
  _input:
    description: The registered results by kind.
    type: dict
    required: true
author:
  - confine.lsm maintainers (@confine-lsm)
'''

EXAMPLES = r'''
- name: Record what the run changed
  ansible.builtin.set_fact:
    confine_selinux_run: >-
      {{ {'selinux_mode': __mode, 'sebool_persist': __bools, 'selinux_port': __ports} | confine.lsm.run_changes }}
'''

RETURN = r'''
_value:
  description: C(changes) (what the run changed, one line each) and C(weakened) (what it lowered).
  type: dict
  sample: {"changes": ["boolean httpd_can_network_connect: off -> on", "port tcp/8123: none -> http_port_t"],
           "weakened": []}
'''


def _changed(res):
    return isinstance(res, dict) and not res.get('skipped') and bool(res.get('changed'))


def _loop(res):
    """The changed items of a loop's registered result."""
    if not isinstance(res, dict):
        return []
    return [r for r in res.get('results') or [] if _changed(r)]


def _word(value):
    if value is None:
        return 'none'
    if value is True:
        return 'on'
    if value is False:
        return 'off'
    return str(value)


def _mode(res):
    out = []
    before = res.get('before') or {}
    for key, label in (('runtime_state', 'selinux running mode'), ('config_state', 'selinux config mode'),
                       ('policy', 'selinux policy')):
        if key in res and before.get(key) != res.get(key):
            out.append('%s: %s -> %s' % (label, _word(before.get(key)), _word(res.get(key))))
    fixed = res.get('kernel_args_fixed') or {}
    if fixed:
        out.append('kernel args fixed: %s%s' % (', '.join('%s=%s' % (k, _word(v)) for k, v in sorted(fixed.items())),
                                                ' (%s)' % ', '.join(res['boot_files_fixed'])
                                                if res.get('boot_files_fixed') else ''))
    if res.get('relabel_scheduled'):
        out.append('selinux relabel scheduled at the next boot')
    if res.get('reboot_required'):
        out.append('reboot required')
    return out


def _booleans(res):
    out = []
    for c in res.get('changes') or []:
        before, after = c.get('before') or {}, c.get('after') or {}
        parts = ['%s %s -> %s' % (k, _word(before.get(k)), _word(after.get(k)))
                 for k in ('persistent', 'runtime') if before.get(k) != after.get(k)]
        out.append('boolean %s: %s' % (c.get('name'), ', '.join(parts)))
    return out


def _fcontexts(res):
    out = ['file context %s: %s -> %s%s' % (c.get('target'), _word(c.get('before')), _word(c.get('after')),
                                            ' (purged)' if c.get('purged') else '')
           for c in res.get('changes') or []]
    if res.get('relabelled_count'):
        out.append('files relabelled: %d' % res['relabelled_count'])
    return out


def _ports(res):
    return ['port %s/%s: %s -> %s%s' % (c.get('protocol'), c.get('port'), _word(c.get('before')),
                                        _word(c.get('after')), ' (purged)' if c.get('purged') else '')
            for c in res.get('changes') or []]


def _logins(res):
    return ['login %s: %s -> %s%s' % (c.get('login'), _word(c.get('before')), _word(c.get('after')),
                                      ' (purged)' if c.get('purged') else '')
            for c in res.get('changes') or []]


def _permissive(res):
    return (['permissive domain added: %s' % n for n in res.get('added') or []]
            + ['permissive domain taken out: %s' % n for n in res.get('removed') or []])


def _local(res):
    """selinux_local: one result holding the parts of five kinds, each shaped as that kind's own module returns it."""
    out = []
    for part, lines in (('booleans', _booleans), ('permissive', _permissive), ('ports', _ports),
                        ('logins', _logins), ('fcontexts', _fcontexts)):
        if _changed(res.get(part)):
            out += lines(res[part])
    return out


def _profiles(res):
    out = []
    for p in res.get('profiles') or []:
        if p.get('changed'):
            before, after = p.get('before') or {}, p.get('after') or {}
            out.append('profile %s: %s -> %s' % (', '.join(p.get('names') or [p.get('file')]),
                                                 _word(before.get('loaded_mode') or before.get('file_mode')),
                                                 _word(after.get('loaded_mode') or after.get('file_mode'))))
    return out


def _boot(res):
    fixed = res.get('kernel_args_fixed') or {}
    line = 'kernel args fixed: %s' % ', '.join('%s=%s' % (k, _word(v)) for k, v in sorted(fixed.items()))
    files = res.get('boot_files_fixed') or []
    tail = ['reboot required'] if res.get('reboot_required') else []
    return [line + (' (%s)' % ', '.join(files) if files else '')] + tail


SINGLE = {
    'package': lambda res: ['packages installed'],
    'selinux_mode': _mode,
    'selinux_local': _local,
    'sebool_persist': _booleans,
    'selinux_fcontext': _fcontexts,
    'selinux_port': _ports,
    'selinux_login': _logins,
    'selinux_permissive': _permissive,
    'apparmor_boot_args': _boot,
    'service': lambda res: ['service %s: %s' % (res.get('name'), ', '.join(
        w for w in (res.get('state'), 'enabled' if res.get('enabled') else None) if w))],
    'apparmor_profile_mode': _profiles,
}
LOOPS = {
    'selinux_policy_module': lambda r: 'policy module %s: %s' % (
        (r.get('item') or {}).get('name') if isinstance(r.get('item'), dict) else r.get('item'), r.get('action')),
    'profiles_deployed': lambda r: 'profile deployed: %s' % r.get('dest', (r.get('item') or {}).get('name')),
    'restarted': lambda r: 'service restarted so its profile confines it: %s' % r.get('item'),
}


def run_changes(results):
    """{'changes': [...], 'weakened': [...]} from {kind: registered result}."""
    changes, weakened = [], []
    order = list(SINGLE) + list(LOOPS)
    for key in sorted(results or {}, key=lambda k: (order.index(k.split(':')[0]) if k.split(':')[0] in order
                                                    else len(order), k)):
        kind, res = key.split(':')[0], results[key]
        if kind in LOOPS:
            changes += [LOOPS[kind](r) for r in _loop(res)]
            continue
        if not _changed(res):
            continue
        lines = SINGLE[kind](res) if kind in SINGLE else ['%s: changed' % kind]
        changes += lines or ['%s: changed' % kind]
        weakened += ['%s' % w for w in res.get('weakened') or []]
    return {'changes': changes, 'weakened': weakened}


class FilterModule(object):
    def filters(self):
        return {'run_changes': run_changes}
