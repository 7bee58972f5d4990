# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""SELinux port labels: validate the requested entries and plan one policy-store transaction against the store's
local port records and the policy's own (what `semanage port -l -C` and `semanage port -l` show).

Pure planning, no libsemanage here: the views come in as {(low, high, protocol): (type, level)} dicts.
The kernel picks, for a port, the portcon with the narrowest range that holds it (libsepol sorts them so), so a
port inside a wider range is a normal override; two ranges that overlap without one holding the other leave the
shared ports to whichever is narrower, which nobody reading the entries would guess: such a request is refused,
naming both.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

PROTOCOLS = ('tcp', 'udp', 'sctp', 'dccp')
IDENT = re.compile(r'[A-Za-z0-9_]+')
LEVEL = re.compile(r's\d+(-s\d+)?(:c\d+([.,]c\d+)*)?')
RANGE = re.compile(r'(\d{1,5})(?:-(\d{1,5}))?')


class PortError(Exception):
    pass


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
        out.append(dict(key=key, setype=setype if state == 'present' else None, level=level, state=state))
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


def plan(entries, local, policy):
    """(changes, modify, delete): changes [{port, protocol, before, after}] for the result; modify [(key, type,
    level)] and delete [key] for the transaction. Nothing when every entry is in place.

    present: a local record of another type (or level), or none where the policy gives another type, is modified
    (libsemanage's modify_local adds or replaces); a port the policy itself already labels so needs nothing.
    absent: only a local record is removed; the policy's own label stays (it is not a customization).
    """
    changes, modify, delete = [], [], []
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
                                local_before=now is not None))
        else:
            if now is None:
                continue
            delete.append(key)
            changes.append(dict(port=show(key).split('/', 1)[1], protocol=key[2], before=now[0],
                                after=base[0] if base is not None else None, local_before=True))
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
