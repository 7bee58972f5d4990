# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""Local modifications of several kinds (booleans, permissive domains, port labels, login mappings, file-context
rules) in ONE libsemanage transaction with one commit: one policy rebuild for all of them, where a module per kind
pays one each (a boolean commit re-expands the kernel policy, a permissive domain recompiles every module).

Each kind is planned by its own module_utils (_sebool, _sepermissive, _seport, _selogin, _fcontext: the same
planners their single modules use); this one reads them through one connection, stages every change in one
transaction and commits once. Nothing is staged when any kind has an error: the store is left as it was.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.confine.lsm.plugins.module_utils import _fcontext as fc
from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selogin as sl
from ansible_collections.confine.lsm.plugins.module_utils import _sepermissive as pm
from ansible_collections.confine.lsm.plugins.module_utils import _seport as sp

ERRORS = (sb.BoolError, pm.PermissiveError, sp.PortError, sl.LoginError, fc.FcontextError)
KINDS = ('booleans', 'permissive', 'ports', 'logins', 'fcontexts')
COMMIT_HINT = ('; libsemanage names the cause on stderr, often a type the policy does not define or a range the '
               'SELinux user may not have')


class LocalStore(sp.PortStore, sl.LoginStore, pm.PermissiveStore, fc.FcontextStore):
    """One libsemanage connection for every kind (connection and locking as for booleans)."""


def plan(handle, wanted, permissive, ports, logins, reads, options, runtime_now=None, runtime_skipped=None,
         fcontexts=None, views=None, read_file_types=None):
    """Every kind's plan through one handle: {errors, weakened, booleans, permissive, ports, logins, fcontexts},
    each kind's entry its planner's output (None when the task names nothing of that kind and purges nothing).

    wanted: {boolean: bool}; permissive, ports, logins, fcontexts: normalized entries; reads: {attribute: setools
    read or None} for 'domain' and 'port_type'; options: permissive_purge,
    permissive_keep, ports_purge, logins_purge, unconfined_users, fcontexts_purge; runtime_now: the booleans' running
    values (None: SELinux is not active); runtime_skipped: why running values are left alone, or None; views: the
    store's file-context files (_fcontext.read_views), read when fcontexts are named or purged; read_file_types:
    a function returning setools' read of file_type and device_node (or None), called only when a file-context rule
    that changes sets a type."""
    out = dict(errors=[], weakened=[], booleans=None, permissive=None, ports=None, logins=None, fcontexts=None)
    if wanted:
        persistent_now = handle.values(wanted)
        unknown = [n for n in wanted if n not in persistent_now]
        if unknown:
            out['errors'].append(sb.unknown_message(unknown, handle.names()).replace('; nothing was changed', ''))
        else:
            changes, persistent_set, runtime_set = sb.plan(wanted, persistent_now, runtime_now,
                                                           runtime=not runtime_skipped)
            out['booleans'] = dict(changes=changes, persistent_set=persistent_set, runtime_set=runtime_set,
                                   runtime_skipped=runtime_skipped)
    if permissive or options['permissive_purge']:
        out['permissive'] = pm.plan_task(handle, permissive, reads.get('domain'), purge=options['permissive_purge'],
                                         keep=options['permissive_keep'])
        out['errors'] += out['permissive']['errors']
        out['weakened'] += out['permissive']['weakened']
    if ports or options['ports_purge']:
        out['ports'] = sp.plan_task(handle, ports, reads.get('port_type'), purge=options['ports_purge'])
        out['errors'] += out['ports']['errors']
    if logins or options['logins_purge']:
        out['logins'] = sl.plan_task(handle, logins, purge=options['logins_purge'],
                                     unconfined=options['unconfined_users'])
        out['errors'] += out['logins']['errors']
        out['weakened'] += out['logins']['weakened']
    if fcontexts or options.get('fcontexts_purge'):
        out['fcontexts'] = fc.plan_task(fcontexts or [], views, read_file_types or (lambda: None),
                                        purge=options.get('fcontexts_purge'))
        out['errors'] += out['fcontexts']['errors']
    return out


def needs_commit(planned):
    """Whether any kind changes the store (running boolean values alone need no commit)."""
    b, pe, po, lo, fx = (planned[k] for k in KINDS)
    return bool((b and b['persistent_set']) or (pe and (pe['add'] or pe['remove'])) or (po and po['changes'])
                or (lo and lo['changes']) or (fx and fx['changes']))


def needs_reload(planned):
    """Whether the commit changes what the running kernel must load: permissive domains, port labels, login
    mappings. Booleans alone need no policy load: their running values are set directly (as setsebool and
    ansible.posix.seboolean do), which saves loading the whole rebuilt policy into the kernel; file contexts are no
    part of the kernel's policy at all (restorecon reads the files the commit installs)."""
    pe, po, lo = planned['permissive'], planned['ports'], planned['logins']
    return bool((pe and (pe['add'] or pe['remove'])) or (po and po['changes']) or (lo and lo['changes']))


def changed(planned):
    b = planned['booleans']
    return needs_commit(planned) or bool(b and b['changes'])


def commit(handle, planned, reload_policy):
    """Stage every kind's changes in one transaction and commit once (between the fault points
    selocal:before-commit and selocal:after-commit)."""
    b, pe, po, lo, fx = (planned[k] for k in KINDS)
    handle.begin()
    if b and b['persistent_set']:
        handle.stage_booleans(b['persistent_set'])
    if pe and (pe['add'] or pe['remove']):
        handle.stage_permissive(pe['add'], pe['remove'])
    if po and po['changes']:
        handle.stage_ports(po['modify'], po['delete'])
    if lo and lo['changes']:
        handle.stage_logins(lo['modify'], lo['delete'])
    if fx and fx['changes']:
        handle.stage_rules(fx['changes'])
    handle.set_reload(reload_policy)
    handle.finish('selocal', sb.BoolError, COMMIT_HINT)


def set_running_booleans(planned):
    """After the commit: the running values that still differ (a reload may have set them), without a rebuild."""
    b = planned['booleans']
    if b and b['runtime_set']:
        sb.set_runtime_where_differs(b['runtime_set'])


def result_parts(planned):
    """The per-kind result fields, shaped as each kind's own module returns them."""
    b, pe, po, lo, fx = (planned[k] for k in KINDS)
    return dict(
        booleans=dict(changed=bool(b and b['changes']), changes=b['changes'] if b else [],
                      runtime_skipped=b['runtime_skipped'] if b else None),
        permissive=dict(changed=bool(pe and (pe['add'] or pe['remove'])), added=pe['add'] if pe else [],
                        removed=pe['remove'] if pe else [], weakened=pe['weakened'] if pe else []),
        ports=dict(changed=bool(po and po['changes']), changes=po['changes'] if po else []),
        logins=dict(changed=bool(lo and lo['changes']), changes=lo['changes'] if lo else [],
                    weakened=lo['weakened'] if lo else []),
        fcontexts=dict(changed=bool(fx and fx['changes']), changes=fx['changes'] if fx else [],
                       commands=fx['lines'] if fx else [], relabelled=[], relabelled_count=0, restorecon_paths=[],
                       restorecon_skipped=None),
    )


def diffs(planned, store):
    """One diff per kind that changes (Ansible shows a list of them one after the other)."""
    out = []
    b = planned['booleans']
    if b and b['changes']:
        out.append(sb.diff_of('SELinux booleans', store, sb.render(dict((c['name'], c['before']) for c in b['changes'])),
                              sb.render(dict((c['name'], c['after']) for c in b['changes']))))
    pe = planned['permissive']
    if pe and (pe['add'] or pe['remove']):
        out.append(pm.diff(pe, store))
    if planned['ports'] and planned['ports']['changes']:
        out.append(sp.diff(planned['ports'], store))
    if planned['logins'] and planned['logins']['changes']:
        out.append(sl.diff(planned['logins'], store))
    if planned['fcontexts'] and planned['fcontexts']['changes']:
        fx = planned['fcontexts']
        out.append(fc.diff(store, fx['local'], fx['subs'], fx['rules']))
    return out
