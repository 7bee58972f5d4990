# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""SELinux booleans: read persistent (policy store) and running values, change many in one transaction."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.confine.lsm.plugins.module_utils import _files
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp

try:
    import selinux
    import semanage
    HAS_BINDINGS = True
    BINDINGS_ERROR = None
except ImportError as _exc:  # bindings exist only for the system Python; the module respawns into it
    HAS_BINDINGS = False
    BINDINGS_ERROR = _exc

TRUE_WORDS = ('on', 'yes', 'true', '1', 'y')
FALSE_WORDS = ('off', 'no', 'false', '0', 'n')


class BoolError(Exception):
    pass


def to_bool(name, value):
    """Accept the spellings setsebool accepts (and YAML booleans); raise naming the bad value otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise BoolError('boolean %s: %r is not a boolean value (use on/off, yes/no, true/false or 1/0)' % (name, value))


def wanted_values(booleans):
    """({name: bool}, [error text]) for a task's booleans; each bad name or value gives one error naming it."""
    wanted, errors = {}, []
    for name, value in sorted((booleans or {}).items()):
        try:
            inp.check_ident('boolean name', name)
            wanted[name] = to_bool(name, value)
        except (inp.InputError, BoolError) as exc:
            errors.append(str(exc).replace('; nothing was changed', ''))
    return wanted, errors


def unknown_message(unknown, known):
    parts = []
    for name in sorted(unknown):
        parts.append(name + inp.did_you_mean(name, known))
    return 'unknown SELinux boolean%s: %s; nothing was changed' % ('s' if len(unknown) > 1 else '', '; '.join(parts))


def plan(wanted, persistent_now, runtime_now, persistent=True, runtime=True):
    """Per boolean: what must change. persistent_now/runtime_now map name -> bool (runtime_now None: inactive).

    Returns (changes, persistent_set, runtime_set): changes is the reportable list; persistent_set the
    names to modify in the store; runtime_set the names whose running value must be set.
    """
    changes = []
    persistent_set = {}
    runtime_set = {}
    for name in sorted(wanted):
        value = wanted[name]
        before = {'persistent': persistent_now.get(name),
                  'runtime': runtime_now.get(name) if runtime_now is not None else None}
        after = dict(before)
        if persistent and before['persistent'] != value:
            persistent_set[name] = value
            after['persistent'] = value
        if runtime and runtime_now is not None and before['runtime'] != value:
            runtime_set[name] = value
            after['runtime'] = value
        if after != before:
            changes.append({'name': name, 'before': before, 'after': after})
    return changes, persistent_set, runtime_set


def skipped_reason(runtime_now, runtime, other_store=None):
    if not runtime:
        return 'runtime=false: running values were left alone'
    if other_store:
        return other_store
    if runtime_now is None:
        return 'SELinux is not active in the running kernel; values apply when it boots with SELinux'
    return None


def diff_of(title, store, before, after):
    """An Ansible diff of two texts, both headed 'TITLE (STORE)'."""
    header = '%s (%s)' % (title, store)
    return dict(before=before, after=after, before_header=header, after_header=header)


def render(state):
    """Diff text: one line per boolean."""
    def word(v):
        return '-' if v is None else ('on' if v else 'off')
    return ''.join('%s: persistent=%s runtime=%s\n' % (n, word(v['persistent']), word(v['runtime']))
                   for n, v in sorted(state.items()))


class Store(object):
    """A libsemanage connection to one policy store."""

    def __init__(self, store=None):
        self.handle = semanage.semanage_handle_create()
        if not self.handle:
            raise BoolError('could not create a libsemanage handle')
        if store:
            semanage.semanage_select_store(self.handle, store, semanage.SEMANAGE_CON_DIRECT)
        if semanage.semanage_is_managed(self.handle) != 1:
            raise BoolError('the SELinux policy store %s is not managed by libsemanage (is the policy installed?)'
                            % (store or 'from /etc/selinux/config'))
        try:
            connected = semanage.semanage_connect(self.handle) >= 0
        except OSError:
            connected = False
        if not connected:
            raise BoolError('could not connect to the SELinux policy store %s (are you root?)'
                            % (store or 'from /etc/selinux/config'))

    def close(self):
        if self.handle:
            semanage.semanage_disconnect(self.handle)
            semanage.semanage_handle_destroy(self.handle)
            self.handle = None

    def names(self):
        rc, records = semanage.semanage_bool_list(self.handle)
        if rc < 0:
            raise BoolError('could not list the booleans of the policy store')
        return sorted(semanage.semanage_bool_get_name(r) for r in records)

    def values(self, names):
        """Persistent values (local customisation, else the policy's default); missing names are left out."""
        found = {}
        for name in names:
            rc, key = semanage.semanage_bool_key_create(self.handle, name)
            if rc < 0:
                raise BoolError('could not create a key for boolean %s' % name)
            rc, exists = semanage.semanage_bool_exists(self.handle, key)
            if rc >= 0 and exists:
                rc, record = semanage.semanage_bool_query(self.handle, key)
                if rc >= 0:
                    found[name] = bool(semanage.semanage_bool_get_value(record))
            semanage.semanage_bool_key_free(key)
        return found

    def begin(self, lock_wait=300):
        """Begin a transaction; while another process holds the store's lock (libsemanage raises EAGAIN), wait."""
        deadline = time.time() + lock_wait
        while True:
            try:
                if semanage.semanage_begin_transaction(self.handle) >= 0:
                    return
                why = 'libsemanage refused'
            except OSError as exc:
                why = str(exc)
            if time.time() >= deadline:
                raise BoolError('could not begin a policy store transaction within %d s: another process holds '
                                'the store lock (%s); nothing was changed' % (lock_wait, why))
            time.sleep(2)

    def commit(self, changes):
        """Modify every boolean in changes in one transaction and commit once, without loading the rebuilt policy
        into the kernel (what changes there is the running values, which set_runtime sets)."""
        self.begin()
        self.stage_booleans(changes)
        self.set_reload(False)
        self.finish('sebool')

    def set_reload(self, reload_policy):
        """Whether the commit of the open transaction loads the new policy into the kernel."""
        semanage.semanage_set_reload(self.handle, 1 if reload_policy else 0)

    def stage_booleans(self, changes):
        """Modify every boolean in changes (name -> bool) in the open transaction."""
        for name, value in sorted(changes.items()):
            rc, key = semanage.semanage_bool_key_create(self.handle, name)
            rc, record = semanage.semanage_bool_create(self.handle)
            if rc < 0:
                raise BoolError('could not create a record for boolean %s' % name)
            semanage.semanage_bool_set_name(self.handle, record, name)
            semanage.semanage_bool_set_value(record, 1 if value else 0)
            if semanage.semanage_bool_modify_local(self.handle, key, record) < 0:
                raise BoolError('could not modify boolean %s in the policy store' % name)
            semanage.semanage_bool_key_free(key)
            semanage.semanage_bool_free(record)

    def finish(self, point, error=BoolError, hint=''):
        """Commit the open transaction once, between the fault points POINT:before-commit and POINT:after-commit;
        error (naming hint, what libsemanage most often refuses) when libsemanage refuses it."""
        _files.fault_point(point + ':before-commit')
        try:
            rc = semanage.semanage_commit(self.handle)
        except OSError as exc:
            raise error('the policy store transaction failed to commit (%s%s); the store is unchanged' % (exc, hint))
        if rc < 0:
            raise error('the policy store transaction failed to commit; the store is unchanged')
        _files.fault_point(point + ':after-commit')


def runtime_values(names):
    """Running values (None when SELinux is not active in the kernel)."""
    if HAS_BINDINGS:
        if selinux.is_selinux_enabled() != 1:
            return None
        found = {}
        for name in names:
            value = selinux.security_get_boolean_active(name)
            if value >= 0:
                found[name] = bool(value)
        return found
    return runtime_values_from_fs(names)


def set_runtime_where_differs(values):
    """After a commit: set the running values of values (name -> bool) that still differ (a reload may have set
    them already), without a rebuild."""
    live = runtime_values(values) or {}
    still = dict((n, v) for n, v in values.items() if live.get(n) != v)
    if still:
        set_runtime(still)


def runtime_values_from_fs(names, fs='/sys/fs/selinux'):
    directory = os.path.join(fs, 'booleans')
    if not os.path.isdir(directory):
        return None
    found = {}
    for name in names:
        try:
            with open(os.path.join(directory, name)) as f:
                found[name] = f.read().split()[0] == '1'
        except (IOError, OSError, IndexError):
            pass
    return found


def runtime_names(fs='/sys/fs/selinux'):
    try:
        return sorted(os.listdir(os.path.join(fs, 'booleans')))
    except (IOError, OSError):
        return []


def set_runtime(values):
    """Set running values and commit them in one step (no policy rebuild)."""
    for name, value in sorted(values.items()):
        if selinux.security_set_boolean(name, 1 if value else 0) < 0:
            raise BoolError('could not set the running value of boolean %s' % name)
    if selinux.security_commit_booleans() < 0:
        raise BoolError('could not commit the running boolean values')
