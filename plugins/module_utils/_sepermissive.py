# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""SELinux permissive domains made locally (what `semanage permissive -a/-d` does): a CIL module
permissive_TYPE holding `(typepermissive TYPE)` at priority 400. Many in one libsemanage transaction, one commit
(one policy rebuild instead of one per domain).

A permissive domain logs its denials and allows everything: adding one is a lowering (the caller needs allow_weaken);
taking one out is a strengthening. A domain the policy itself makes permissive cannot be taken out locally.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re

from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp

try:
    import semanage
except ImportError:  # bindings exist only for the system Python; the module respawns into it (see _sebool)
    semanage = None

PRIORITY = 400  # where semanage permissive puts them
PREFIX = 'permissive_'
TYPE = re.compile(r'[A-Za-z0-9_]+')


class PermissiveError(Exception):
    pass


COMMIT_HINT = '; libsemanage names the cause on stderr, often a type the policy does not define'


def normalize(entries):
    """[{name, state, reason}] validated; PermissiveError naming the first bad value."""
    out, seen = [], set()
    for entry in entries or []:
        name, state, reason = entry.get('name'), entry.get('state') or 'present', entry.get('reason') or ''
        if not isinstance(name, str) or not TYPE.fullmatch(name):
            raise PermissiveError('domain %r is not an SELinux type name' % (name,))
        if name in seen:
            raise PermissiveError('domain %s is listed twice' % name)
        if state not in ('present', 'absent'):
            raise PermissiveError('state %r for domain %s: use present (permissive) or absent' % (state, name))
        if not isinstance(reason, str):
            raise PermissiveError('reason %r for domain %s is not text' % (reason, name))
        seen.add(name)
        out.append(dict(name=name, state=state, reason=reason))
    return out


def weakened(entries, add):
    """The weakened line of each domain added, with its reason when the entry gave one."""
    reasons = dict((e['name'], e.get('reason')) for e in entries)
    return ['permissive domain added: %s%s' % (n, ' (%s)' % reasons[n] if reasons.get(n) else '') for n in add]


def kept(name, patterns):
    """Whether a purge keeps the local permissive domain name: it matches one of the glob patterns."""
    return any(fnmatch.fnmatchcase(name, p) for p in patterns or ())


def plan(entries, local, builtin, purge=False, keep=()):
    """(add, remove, errors): add and remove [name] for the transaction; errors for absent entries the policy itself
    makes permissive. local: the domains made permissive locally; builtin: by the policy. A purge takes out the local
    ones that entries do not name and no glob of keep matches."""
    named = set(e['name'] for e in entries)
    add, remove, errors = [], [], []
    for e in entries:
        name = e['name']
        if e['state'] == 'present':
            if name not in local and name not in builtin:
                add.append(name)
        elif name in local:
            remove.append(name)
        elif name in builtin:
            errors.append('domain %s is permissive by the policy itself (not by a local change), so it cannot be '
                          'taken out here' % name)
    if purge:
        remove += sorted(n for n in local if n not in named and not kept(n, keep))
    return add, remove, errors


def domain_errors(entries, domains, everything):
    """Text for each present entry that is no domain type of the policy (setools' view); close matches offered."""
    found = []
    for e in entries:
        if e['state'] != 'present':
            continue
        if e['name'] not in everything:
            found.append('domain %s is not a type of the policy%s' % (e['name'], inp.did_you_mean(e['name'], domains)))
        elif e['name'] not in domains:
            found.append('type %s is not a domain (a process type), so making it permissive would mean nothing'
                         % e['name'])
    return found


def entry_options():
    """The argument spec of one domain entry (selinux_permissive's domains, selinux_local's permissive)."""
    return dict(
        name=dict(type='str', required=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        reason=dict(type='str'),
    )


def check_input(domains, keep=(), store=None):
    """The normalized entries of a task's domains; the first bad value raises InputError or PermissiveError."""
    inp.check_store(store)
    for entry in domains:
        inp.check_text('domain', entry.get('name'))
        inp.check_text('reason for domain %s' % entry.get('name'), entry.get('reason'))
    for pattern in keep or ():
        inp.check_text('keep pattern', pattern)
    return normalize(domains)


def plan_task(handle, entries, read, purge=False, keep=()):
    """What one task's entries change in the store handle reads: {errors, add, remove, weakened, local, type_check}.
    read: setools' (domains, all types, permissive types) or None. Nothing is changed here."""
    errors, builtin = [], set()
    if read is not None:
        domains, everything, builtin = read
        errors += domain_errors(entries, domains, everything)
    local = handle.local()
    add, remove, refused = plan(entries, local, builtin - local, purge=purge, keep=keep)
    return dict(errors=errors + refused, add=add, remove=remove, weakened=weakened(entries, add), local=local,
                type_check='setools' if read is not None else 'libsemanage')


def diff(planned, store):
    after = (planned['local'] | set(planned['add'])) - set(planned['remove'])
    return sb.diff_of('local permissive domains', store, ''.join('%s\n' % n for n in sorted(planned['local'])),
                      ''.join('%s\n' % n for n in sorted(after)))


def refusal(add):
    return ('refusing to make %s permissive without allow_weaken (a permissive domain logs its denials and allows '
            'everything); nothing was changed' % ', '.join(add))


class PermissiveStore(sb.Store):
    """A libsemanage connection to one policy store, for the local permissive modules."""

    def local(self):
        """Domains made permissive locally: enabled modules permissive_TYPE (any priority)."""
        rc, infos, count = semanage.semanage_module_list(self.handle)
        if rc < 0:
            raise PermissiveError('could not list the modules of the policy store')
        found = set()
        for i in range(count):
            info = semanage.semanage_module_list_nth(infos, i)
            rc, name = semanage.semanage_module_info_get_name(self.handle, info)
            if rc >= 0 and name.startswith(PREFIX):
                rc, enabled = semanage.semanage_module_info_get_enabled(self.handle, info)
                if rc < 0 or enabled:
                    found.add(name[len(PREFIX):])
        return found

    def commit_plan(self, add, remove, reload_policy):
        self.begin()
        self.stage_permissive(add, remove)
        self.set_reload(reload_policy)
        self.finish('sepermissive', PermissiveError, COMMIT_HINT)

    def stage_permissive(self, add, remove):
        """The permissive modules to install and remove, in the open transaction (at semanage permissive's priority)."""
        semanage.semanage_set_default_priority(self.handle, PRIORITY)
        for name in remove:
            if semanage.semanage_module_remove(self.handle, PREFIX + name) < 0:
                raise PermissiveError('could not take out the permissive module of %s' % name)
        for name in add:
            text = '(typepermissive %s)' % name
            if semanage.semanage_module_install(self.handle, text, len(text), PREFIX + name, 'cil') < 0:
                raise PermissiveError('could not add the permissive module of %s' % name)
