# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""SELinux port labels: validate the requested entries and plan one policy-store transaction against the store's
local port records and the policy's own (what `semanage port -l -C` and `semanage port -l` show).

The planning is pure: the views come in as {(low, high, protocol): (type, level)} dicts. PortStore reads them
from libsemanage and commits a plan in one transaction; type_errors checks the types against the policy's port
types (read with setools by _status.policy_types).
The kernel picks, for a port, the portcon with the narrowest range that holds it (libsepol sorts them so), so a
port inside a wider range is a normal override; two ranges that overlap without one holding the other leave the
shared ports to whichever is narrower, which nobody reading the entries would guess: such a request is refused,
naming both.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp

try:
    import semanage
except ImportError:  # bindings exist only for the system Python; the module respawns into it (see _sebool)
    semanage = None

PROTOCOLS = ('tcp', 'udp', 'sctp', 'dccp')
IDENT = re.compile(r'[A-Za-z0-9_]+')
LEVEL = re.compile(r's\d+(-s\d+)?(:c\d+([.,]c\d+)*)?')
RANGE = re.compile(r'(\d{1,5})(?:-(\d{1,5}))?')


class PortError(Exception):
    pass


COMMIT_HINT = '; libsemanage names the cause on stderr, often a type the policy does not define'


def parse_range(value):
    """(low, high) from 8123, '8123' or '8000-8010'; PortError naming the value otherwise."""
    if isinstance(value, bool):
        raise PortError('port %r is not a port number or range' % (value,))
    if isinstance(value, int):
        low = high = value
    else:
        m = RANGE.fullmatch(value.strip(' ')) if isinstance(value, str) else None
        if not m:
            raise PortError('port %r is not a port number or range (8123 or 8000-8010)' % (value,))
        low, high = int(m.group(1)), int(m.group(2) or m.group(1))
    if not 1 <= low <= high <= 65535:
        raise PortError('port %r: ports run from 1 to 65535, low before high' % (value,))
    return low, high


def show(key):
    low, high, proto = key
    return '%s/%s' % (proto, low if low == high else '%d-%d' % (low, high))


def normalize(entries, default_level=None):
    """Validated entries [{key: (low, high, protocol), setype: type or None, level, state}]."""
    out, seen = [], set()
    for entry in entries or []:
        proto, state = entry.get('protocol') or 'tcp', entry.get('state') or 'present'
        if proto not in PROTOCOLS:
            raise PortError('protocol %r for port %r: use one of %s' % (proto, entry.get('port'), ', '.join(PROTOCOLS)))
        if state not in ('present', 'absent'):
            raise PortError('state %r for port %r: use present or absent' % (state, entry.get('port')))
        low, high = parse_range(entry.get('port'))
        key = (low, high, proto)
        if key in seen:
            raise PortError('%s is listed twice' % show(key))
        seen.add(key)
        setype, level = entry.get('setype'), entry.get('selevel') or default_level
        if state == 'present':
            if not isinstance(setype, str) or not IDENT.fullmatch(setype):
                raise PortError('setype %r for %s is not a type name' % (setype, show(key)))
            if level is not None and (not isinstance(level, str) or not LEVEL.fullmatch(level)):
                raise PortError('selevel %r for %s is not an MLS/MCS level' % (level, show(key)))
        if state == 'absent' and setype is not None and (not isinstance(setype, str) or not IDENT.fullmatch(setype)):
            raise PortError('setype %r for %s is not a type name' % (setype, show(key)))
        out.append(dict(key=key, setype=setype if state == 'present' else None, level=level, state=state,
                        named_type=setype if state == 'absent' else None))
    return out


def _overlap_only(a, b):
    """True when ranges a and b share ports and neither holds the other."""
    (alow, ahigh), (blow, bhigh) = a, b
    if ahigh < blow or bhigh < alow:
        return False
    holds = (alow <= blow and bhigh <= ahigh) or (blow <= alow and ahigh <= bhigh)
    return not holds


def conflicts(entries, local, policy):
    """Text for each requested range that overlaps an existing one (local or policy) of the same protocol without
    one holding the other, naming both."""
    found = []
    existing = [(k, v, 'local') for k, v in local.items()]
    existing += [(k, v, 'policy') for k, v in policy.items() if k not in local]
    for e in entries:
        if e['state'] != 'present':
            continue
        low, high, proto = e['key']
        for key, (setype, dummy), where in existing:
            if key[2] == proto and key != e['key'] and _overlap_only((low, high), key[:2]):
                found.append('%s (%s) overlaps %s %s (%s) without either holding the other: the shared ports would '
                             'get the narrower range\'s type' % (show(e['key']), e['setype'], where, show(key), setype))
    return found


def policy_only_absent(entries, local, policy):
    """Text for each absent entry naming a type the policy itself gives that exact range (no local record): a local
    change cannot take the policy's own label away, so the entry cannot be met."""
    found = []
    for e in entries:
        base = policy.get(e['key'])
        if e['state'] == 'absent' and e.get('named_type') and e['key'] not in local \
                and base is not None and base[0] == e['named_type']:
            found.append('%s is labelled %s by the policy itself, not by a local change, so it cannot be removed: '
                         'label it with another type (state present) instead' % (show(e['key']), base[0]))
    return found


def plan(entries, local, policy, purge=False):
    """(changes, modify, delete): changes [{port, protocol, before, after}] for the result; modify [(key, type,
    level)] and delete [key] for the transaction. Nothing when every entry is in place.

    present: a local record of another type (or level), or none where the policy gives another type, is modified
    (libsemanage's modify_local adds or replaces); a port the policy itself already labels so needs nothing.
    absent: only a local record is removed; the policy's own label stays (it is not a customization).
    purge: every local record no entry names is removed too, in the same transaction (no moment without either
    the old or the new labels).
    """
    changes, modify, delete = [], [], []
    named = set(e['key'] for e in entries)
    if purge:
        entries = list(entries) + [dict(key=key, setype=None, level=None, state='absent', purged=True)
                                   for key in sorted(local, key=lambda k: (k[2], k[0], k[1])) if key not in named]
    for e in entries:
        key = e['key']
        now = local.get(key)
        base = policy.get(key)
        if e['state'] == 'present':
            want = (e['setype'], e['level'])
            if now is not None:
                if now[0] == want[0] and (want[1] is None or now[1] == want[1]):
                    continue
            elif base is not None and base[0] == want[0] and (want[1] is None or base[1] == want[1]):
                continue
            modify.append((key, want[0], want[1]))
            before = now[0] if now is not None else (base[0] if base is not None else None)
            changes.append(dict(port=show(key).split('/', 1)[1], protocol=key[2], before=before, after=want[0],
                                local_before=now is not None, purged=False))
        else:
            if now is None:
                continue
            delete.append(key)
            changes.append(dict(port=show(key).split('/', 1)[1], protocol=key[2], before=now[0],
                                after=base[0] if base is not None else None, local_before=True,
                                purged=bool(e.get('purged'))))
    return changes, modify, delete


def render(local):
    """The local port records as `semanage port -l -C` would list them, one per line, for diffs."""
    return ''.join('%s %s %s\n' % (t, key[2], show(key).split('/', 1)[1])
                   for key, (t, dummy) in sorted(local.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])))


def after(local, modify, delete):
    """The local records once the plan is committed."""
    out = dict(local)
    for key in delete:
        out.pop(key, None)
    for key, setype, level in modify:
        out[key] = (setype, level)
    return out


def entry_options():
    """The argument spec of one port entry (selinux_port's ports, selinux_local's ports)."""
    return dict(
        port=dict(type='raw', required=True),
        protocol=dict(type='str', choices=list(PROTOCOLS), default='tcp'),
        setype=dict(type='str'),
        selevel=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    )


def check_input(ports, store=None):
    """The normalized entries of a task's ports; the first bad value raises InputError or PortError naming it."""
    inp.check_store(store)
    for entry in ports:
        for field in ('setype', 'selevel'):
            inp.check_text(field, entry.get(field))
        if isinstance(entry.get('port'), str):
            inp.check_text('port', entry['port'])
    return normalize(ports)


def plan_task(handle, entries, read, purge=False):
    """What one task's entries change in the store handle reads: {errors, changes, modify, delete, local, type_check}.
    read: setools' (port types, all types) or None. Nothing is changed here."""
    level = 's0' if handle.mls() else None
    for e in entries:
        if e['state'] == 'present' and e['level'] is None:
            e['level'] = level
    errors = type_errors(entries, *read[:2]) if read is not None else []
    local, policy = handle.port_views()
    errors += conflicts(entries, local, policy) + policy_only_absent(entries, local, policy)
    out = dict(errors=errors, changes=[], modify=[], delete=[], local=local,
               type_check='setools' if read is not None else 'libsemanage')
    if not errors:
        out['changes'], out['modify'], out['delete'] = plan(entries, local, policy, purge=purge)
    return out


def diff(planned, store):
    return sb.diff_of('SELinux local port labels', store, render(planned['local']),
                      render(after(planned['local'], planned['modify'], planned['delete'])))


# ------------------------------------------------------------------ libsemanage

def _proto_codes():
    return dict(tcp=semanage.SEMANAGE_PROTO_TCP, udp=semanage.SEMANAGE_PROTO_UDP,
                sctp=semanage.SEMANAGE_PROTO_SCTP, dccp=semanage.SEMANAGE_PROTO_DCCP)


class PortStore(sb.Store):
    """A libsemanage connection to one policy store, for port records (connection and locking as for booleans)."""

    def mls(self):
        return semanage.semanage_mls_enabled(self.handle) == 1

    def _read_ports(self, lister):
        rc, records = lister(self.handle)
        if rc < 0:
            raise PortError('could not list the port records of the policy store')
        out = {}
        for rec in records:
            con = semanage.semanage_port_get_con(rec)
            proto = semanage.semanage_port_get_proto_str(semanage.semanage_port_get_proto(rec))
            key = (semanage.semanage_port_get_low(rec), semanage.semanage_port_get_high(rec), proto)
            out[key] = (semanage.semanage_context_get_type(con), semanage.semanage_context_get_mls(con))
        return out

    def port_views(self):
        """(local, policy): the local records, and the policy's own where no local record replaces them (libsemanage
        lists the two merged)."""
        local = self._read_ports(semanage.semanage_port_list_local)
        merged = self._read_ports(semanage.semanage_port_list)
        return local, dict((k, v) for k, v in merged.items() if k not in local)

    def _key(self, key):
        low, high, proto = key
        rc, k = semanage.semanage_port_key_create(self.handle, low, high, _proto_codes()[proto])
        if rc < 0:
            raise PortError('could not create a key for %s' % show(key))
        return k

    def commit_plan(self, modify, delete, reload_policy):
        """Every modification and removal in one transaction, one commit."""
        self.begin()
        self.stage_ports(modify, delete)
        self.set_reload(reload_policy)
        self.finish('seport', PortError, COMMIT_HINT)

    def stage_ports(self, modify, delete):
        """Every modification and removal of the plan in the open transaction."""
        for key in delete:
            k = self._key(key)
            if semanage.semanage_port_del_local(self.handle, k) < 0:
                raise PortError('could not remove the local label of %s' % show(key))
            semanage.semanage_port_key_free(k)
        for key, setype, level in modify:
            k = self._key(key)
            rc, rec = semanage.semanage_port_create(self.handle)
            if rc < 0:
                raise PortError('could not create a port record for %s' % show(key))
            semanage.semanage_port_set_range(rec, key[0], key[1])
            semanage.semanage_port_set_proto(rec, _proto_codes()[key[2]])
            rc, con = semanage.semanage_context_create(self.handle)
            if rc < 0:
                raise PortError('could not create a context for %s' % show(key))
            semanage.semanage_context_set_user(self.handle, con, 'system_u')
            semanage.semanage_context_set_role(self.handle, con, 'object_r')
            semanage.semanage_context_set_type(self.handle, con, setype)
            if level:
                semanage.semanage_context_set_mls(self.handle, con, level)
            semanage.semanage_port_set_con(self.handle, rec, con)
            if semanage.semanage_port_modify_local(self.handle, k, rec) < 0:
                raise PortError('could not label %s %s in the policy store' % (show(key), setype))
            semanage.semanage_context_free(con)
            semanage.semanage_port_key_free(k)
            semanage.semanage_port_free(rec)


# ------------------------------------------------------------------ the policy's port types

def type_errors(entries, ports, everything):
    """Text for each present entry whose setype the policy does not define, or defines as no port type."""
    found = []
    for e in entries:
        if e['state'] != 'present':
            continue
        t = e['setype']
        if t not in everything:
            found.append('setype %s for %s is not a type of the policy%s' % (t, show(e['key']), inp.did_you_mean(t, ports)))
        elif t not in ports:
            found.append('setype %s for %s is not a port type (the policy does not give it the port_type '
                         'attribute), so no domain would be allowed to use the port by it' % (t, show(e['key'])))
    return found
