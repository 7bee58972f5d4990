# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""SELinux login mappings (Linux user or %group -> SELinux user and MLS/MCS range): validate, plan one policy-store
transaction, and commit it (what `semanage login -a/-m/-d` does).

The planning is pure: the views come in as {login: (seuser, range)} dicts (the store's local records, and the
policy's own seusers where no local record replaces them). LoginStore reads them from libsemanage and commits a plan
in one transaction.

A login whose effective SELinux user becomes an unconfined one (unconfined_u by default) from a confined one is a
weakening: the caller needs allow_weaken for it. A login with no mapping of its own gets __default__'s.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import pwd
import re

from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp

try:
    import semanage
except ImportError:  # bindings exist only for the system Python; the module respawns into it (see _sebool)
    semanage = None

DEFAULT = '__default__'
UNCONFINED = ('unconfined_u',)
LOGIN = re.compile(r'%?[A-Za-z0-9_][A-Za-z0-9_.@-]*\$?')
SEUSER = re.compile(r'[A-Za-z0-9_]+')
RANGE = re.compile(r's\d+(:c\d+([.,]c\d+)*)?(-s\d+(:c\d+([.,]c\d+)*)?)?')


class LoginError(Exception):
    pass


COMMIT_HINT = '; libsemanage names the cause on stderr, often a range the SELinux user may not have'


def normalize(entries):
    """Validated entries [{login, seuser, range, state}]; LoginError naming the first bad value."""
    out, seen = [], set()
    for entry in entries or []:
        login, state = entry.get('login'), entry.get('state') or 'present'
        if not isinstance(login, str) or not (login == DEFAULT or LOGIN.fullmatch(login)):
            raise LoginError('login %r is not a Linux user name, a %%group or __default__' % (login,))
        if login in seen:
            raise LoginError('login %s is listed twice' % login)
        seen.add(login)
        if state not in ('present', 'absent'):
            raise LoginError('state %r for login %s: use present or absent' % (state, login))
        seuser, rng = entry.get('seuser'), entry.get('serange')
        if state == 'present':
            if not isinstance(seuser, str) or not SEUSER.fullmatch(seuser):
                raise LoginError('seuser %r for login %s is not an SELinux user name' % (seuser, login))
            if rng is not None and (not isinstance(rng, str) or not RANGE.fullmatch(rng)):
                raise LoginError('serange %r for login %s is not an MLS/MCS range (s0, s0-s0:c0.c1023)'
                                 % (rng, login))
        elif login == DEFAULT:
            raise LoginError('login __default__ cannot be removed: every login without a mapping of its own gets '
                             'it; map it to another SELinux user instead')
        out.append(dict(login=login, seuser=seuser if state == 'present' else None, range=rng, state=state))
    return out


def effective(login, local, policy):
    """(seuser, range) a login gets: its own mapping (local, else the policy's), else __default__'s."""
    for view in (local, policy):
        if login in view:
            return view[login]
    for view in (local, policy):
        if DEFAULT in view:
            return view[DEFAULT]
    return (None, None)


def plan(entries, local, policy, purge=False, unconfined=UNCONFINED, default_range=None):
    """(changes, modify, delete, weakened): changes for the result; modify [(login, seuser, range)] and delete
    [login] for the transaction; weakened: text for each login moved from a confined SELinux user to an unconfined
    one (the caller refuses them without allow_weaken; __default__ moving so loosens every login without a mapping
    of its own). Nothing when every entry is in place. An entry without a range matches any range, and a new record
    gets default_range (s0 where the policy has MLS/MCS, as semanage gives it)."""
    named = set(e['login'] for e in entries)
    todo = list(entries)
    if purge:
        todo += [dict(login=n, seuser=None, range=None, state='absent', purged=True)
                 for n in sorted(local) if n not in named]
    changes, modify, delete = [], [], []
    for e in todo:
        login = e['login']
        now = local.get(login)
        if e['state'] == 'present':
            want = (e['seuser'], e['range'])
            have = now if now is not None else policy.get(login)
            if have is not None and have[0] == want[0] and (want[1] is None or have[1] == want[1]):
                continue
            modify.append((login, want[0], want[1] or default_range))
        else:
            if now is None:
                continue
            delete.append(login)
        changes.append(dict(login=login, purged=bool(e.get('purged'))))
    after_local = after(local, modify, delete)
    weakened = []
    for c in changes:
        was = effective(c['login'], local, policy)
        becomes = effective(c['login'], after_local, policy)
        c.update(before=was[0], before_range=was[1], after=becomes[0], after_range=becomes[1])
        if becomes[0] in unconfined and was[0] not in unconfined:
            weakened.append('login %s: %s -> %s (unconfined)' % (c['login'], was[0], becomes[0]))
    return changes, modify, delete, weakened


def render(local):
    """The local mappings as `semanage login -l -C` would list them, one per line, for diffs."""
    return ''.join('%s %s %s\n' % (n, u, r or '') for n, (u, r) in sorted(local.items()))


def after(local, modify, delete):
    out = dict(local)
    for login in delete:
        out.pop(login, None)
    for login, seuser, rng in modify:
        out[login] = (seuser, rng)
    return out


def entry_options():
    """The argument spec of one login entry (selinux_login's logins, selinux_local's logins)."""
    return dict(
        login=dict(type='str', required=True),
        seuser=dict(type='str'),
        serange=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    )


def check_input(logins, unconfined_users=UNCONFINED, store=None):
    """The normalized entries of a task's logins; the first bad value raises InputError or LoginError naming it."""
    inp.check_store(store)
    for entry in logins:
        for field in ('login', 'seuser', 'serange'):
            inp.check_text(field, entry.get(field))
    for name in unconfined_users:
        inp.check_ident('unconfined_users entry', name)
    return normalize(logins)


def missing_on_host(entries):
    """Text for each present entry naming a Linux user or group the host does not have."""
    found = []
    for e in entries:
        login = e['login']
        if e['state'] != 'present' or login == DEFAULT:
            continue
        try:
            if login.startswith('%'):
                grp.getgrnam(login[1:])
            else:
                pwd.getpwnam(login)
        except KeyError:
            kind = 'group' if login.startswith('%') else 'Linux user'
            found.append('%s %s does not exist on this host' % (kind, login.lstrip('%')))
    return found


def unknown_seusers(entries, known):
    found = []
    for e in entries:
        if e['state'] == 'present' and e['seuser'] not in known:
            found.append('seuser %s for login %s is not an SELinux user of the policy%s' % (
                e['seuser'], e['login'], inp.did_you_mean(e['seuser'], known)))
    return found


def plan_task(handle, entries, purge=False, unconfined=UNCONFINED):
    """What one task's entries change in the store handle reads: {errors, changes, modify, delete, weakened, local}.
    Nothing is changed here."""
    errors = missing_on_host(entries) + unknown_seusers(entries, handle.seusers())
    local, policy = handle.login_views()
    out = dict(errors=errors, changes=[], modify=[], delete=[], weakened=[], local=local)
    if not errors:
        out['changes'], out['modify'], out['delete'], out['weakened'] = plan(
            entries, local, policy, purge=purge, unconfined=unconfined,
            default_range='s0' if handle.mls() else None)
    return out


def diff(planned, store):
    return sb.diff_of('SELinux local login mappings', store, render(planned['local']),
                      render(after(planned['local'], planned['modify'], planned['delete'])))


def refusal(weakened):
    return 'refusing to weaken confinement without allow_weaken: %s; nothing was changed' % '; '.join(weakened)


# ------------------------------------------------------------------ libsemanage

class LoginStore(sb.Store):
    """A libsemanage connection to one policy store, for login mappings (connection and locking as for booleans)."""

    def mls(self):
        return semanage.semanage_mls_enabled(self.handle) == 1

    def _read_logins(self, lister):
        rc, records = lister(self.handle)
        if rc < 0:
            raise LoginError('could not list the login mappings of the policy store')
        return dict((semanage.semanage_seuser_get_name(r),
                     (semanage.semanage_seuser_get_sename(r), semanage.semanage_seuser_get_mlsrange(r)))
                    for r in records)

    def login_views(self):
        local = self._read_logins(semanage.semanage_seuser_list_local)
        merged = self._read_logins(semanage.semanage_seuser_list)
        return local, dict((k, v) for k, v in merged.items() if k not in local)

    def seusers(self):
        rc, records = semanage.semanage_user_list(self.handle)
        if rc < 0:
            raise LoginError('could not list the SELinux users of the policy store')
        return sorted(semanage.semanage_user_get_name(r) for r in records)

    def commit_plan(self, modify, delete, reload_policy=True):
        self.begin()
        self.stage_logins(modify, delete)
        self.set_reload(reload_policy)
        self.finish('selogin', LoginError, COMMIT_HINT)

    def stage_logins(self, modify, delete):
        """Every modification and removal of the plan in the open transaction."""
        for login in delete:
            rc, key = semanage.semanage_seuser_key_create(self.handle, login)
            if rc < 0 or semanage.semanage_seuser_del_local(self.handle, key) < 0:
                raise LoginError('could not remove the local mapping of login %s' % login)
            semanage.semanage_seuser_key_free(key)
        for login, seuser, rng in modify:
            rc, key = semanage.semanage_seuser_key_create(self.handle, login)
            if rc < 0:
                raise LoginError('could not create a key for login %s' % login)
            rc, rec = semanage.semanage_seuser_create(self.handle)
            if rc < 0:
                raise LoginError('could not create a record for login %s' % login)
            semanage.semanage_seuser_set_name(self.handle, rec, login)
            semanage.semanage_seuser_set_sename(self.handle, rec, seuser)
            if rng:
                semanage.semanage_seuser_set_mlsrange(self.handle, rec, rng)
            if semanage.semanage_seuser_modify_local(self.handle, key, rec) < 0:
                raise LoginError('could not map login %s to %s in the policy store' % (login, seuser))
            semanage.semanage_seuser_key_free(key)
            semanage.semanage_seuser_free(rec)
