# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""The steps every module over local policy-store records (ports, logins) takes before it plans: the task's entries
checked (a bad value fails naming it), the libsemanage bindings found (respawning into the system Python), the store
opened, and whether a commit should reload the running policy."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _respawn
from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg

NOTHING = 'nothing was changed'


def entries_or_fail(module, check, errors, what):
    """check(params) -> entries; fails on errors (naming the value) and on an empty list without purge."""
    try:
        entries = check(module.params)
    except errors as exc:
        msg = to_native(exc)
        module.fail_json(msg=msg if NOTHING in msg else '%s; %s' % (msg, NOTHING))
    if not entries and not module.params['purge']:
        module.fail_json(msg='%s is empty: name at least one (or set purge to remove every local one)' % what)
    return entries


def bindings_or_fail(module, binding):
    """Return when the libsemanage bindings are imported; else respawn into a system Python that has them, or fail."""
    if binding is not None:
        return
    _respawn.into_system_python('semanage')  # returns only when no system Python has the bindings
    module.fail_json(msg='the libsemanage Python bindings are missing for every Python on the host (install '
                         'python3-semanage, or python3-libsemanage on Fedora and RHEL); %s' % NOTHING)


def open_or_fail(module, store_class, store, result):
    try:
        return store_class(store)
    except sb.BoolError as exc:
        module.fail_json(msg=to_native(exc), **result)


def live_store(store):
    """True when SELinux runs and store is the one its policy comes from: a commit should reload the policy."""
    if not se.active():
        return False
    try:
        return cfg.default_store() == store
    except cfg.ConfigError:
        return False


def other_store_reason(store):
    """Why running values are left alone for a named store: it is not the one the running policy comes from
    (SELINUXTYPE in the system config), or that cannot be told. None: it is, or no store was named."""
    if not store:
        return None
    try:
        active = cfg.default_store()
    except cfg.ConfigError as exc:
        return 'store %s was named and the store of the running policy cannot be told (%s): running values were ' \
               'left alone' % (store, exc)
    if active != store:
        return 'store %s is not the store of the running policy (%s, from %s): running values were left alone' % (
            store, active, cfg.CONFIG)
    return None
