# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read MAC denials from audit and kernel log text: SELinux AVC records and AppArmor events.

Pure parsing and grouping, streamed line by line so memory stays bounded however large the logs are:
only the groups (bounded by max_groups) and the newest max_records records are kept.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import datetime
import re
import time

STAMP = re.compile(r'audit\((\d+)(?:\.(\d+))?:(\d+)\)')
AVC = re.compile(r'avc:\s+(denied|granted)\s+\{([^}]*)\}\s+for\s+(.*)$')
APPARMOR = re.compile(r'apparmor="?(DENIED|ALLOWED)"?\s')
PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)=("([^"]*)"|\'([^\']*)\'|(\S+))')
HEX = re.compile(r'^(?:[0-9A-F]{2})+$')
# Fields that audit writes as hex when they hold spaces, quotes or control characters.
UNTRUSTED = ('name', 'path', 'comm', 'exe', 'profile', 'peer', 'target', 'cwd', 'info', 'addr')
DURATION = re.compile(r'^(\d+)\s*(s|sec|m|min|h|d|w)$')
UNITS = {'s': 1, 'sec': 1, 'm': 60, 'min': 60, 'h': 3600, 'd': 86400, 'w': 604800}
FILE_OPERATIONS = ('open', 'exec', 'mknod', 'link', 'unlink', 'rename_src', 'rename_dest', 'truncate',
                   'getattr', 'chmod', 'chown', 'mkdir', 'rmdir', 'file_mmap', 'file_perm')
FILE_CLASSES = ('file', 'dir', 'lnk_file', 'chr_file', 'blk_file', 'sock_file', 'fifo_file')


class DenialError(Exception):
    pass


def fields(text):
    """key=value pairs of an audit record; quoted values unquoted, hex-encoded untrusted values decoded."""
    out = {}
    for m in PAIR.finditer(text):
        key = m.group(1)
        if m.group(3) is not None:
            value = m.group(3)
        elif m.group(4) is not None:
            value = m.group(4)
        else:
            value = m.group(5)
            if key in UNTRUSTED and len(value) >= 2 and HEX.match(value):
                try:
                    value = bytearray.fromhex(value).decode('utf-8', 'replace')
                except ValueError:
                    pass
        out.setdefault(key, value)
    return out


def context_type(context):
    parts = (context or '').split(':')
    return parts[2] if len(parts) >= 3 else None


def parse_line(line):
    """One parsed record (a dict) from a log line, or None when the line holds no SELinux or AppArmor event."""
    if 'avc:' not in line and 'apparmor=' not in line:
        return None
    stamp = STAMP.search(line)
    when = float('%s.%s' % (stamp.group(1), stamp.group(2) or '0')) if stamp else None
    serial = int(stamp.group(3)) if stamp else None
    m = AVC.search(line)
    if m:
        if m.group(1) != 'denied':
            return None  # "granted" records come from auditallow rules, not denials
        f = fields(m.group(3))
        perms = sorted(m.group(2).split())
        permissive = f.get('permissive') == '1'
        return {
            'lsm': 'selinux', 'time': when, 'serial': serial, 'verdict': 'denied',
            'enforced': not permissive, 'operation': ' '.join(perms), 'permissions': perms,
            'class': f.get('tclass'), 'subject': f.get('scontext'), 'subject_type': context_type(f.get('scontext')),
            'object': f.get('path') or f.get('name'), 'path_is_full': 'path' in f,
            'target_context': f.get('tcontext'), 'target_type': context_type(f.get('tcontext')),
            'comm': f.get('comm'), 'pid': _int(f.get('pid')), 'raw': line.strip(),
        }
    m = APPARMOR.search(line)
    if m:
        f = fields(line[line.index('apparmor='):])
        allowed = f.get('apparmor') == 'ALLOWED'
        mask = f.get('denied_mask') or f.get('requested_mask') or ''
        return {
            'lsm': 'apparmor', 'time': when, 'serial': serial, 'verdict': 'allowed' if allowed else 'denied',
            'enforced': not allowed, 'operation': f.get('operation'), 'permissions': _mask(mask),
            'class': f.get('class') or ('file' if f.get('operation') in FILE_OPERATIONS else None),
            'subject': f.get('profile'), 'subject_type': None, 'object': f.get('name'), 'path_is_full': True,
            'target_context': f.get('peer') or f.get('target'), 'target_type': None,
            'comm': f.get('comm'), 'pid': _int(f.get('pid')), 'info': f.get('info'), 'raw': line.strip(),
        }
    return None


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _mask(mask):
    """AppArmor masks: "r", "wc", "::r" (owner::other), or words for non-file classes ("send receive")."""
    mask = mask.replace(':', '')
    if ' ' in mask or len(mask) > 8:
        return sorted(set(mask.split()))
    return sorted(set(mask))


def boot_time(stat='/proc/stat'):
    """When this host booted (seconds since the epoch, from the kernel's btime), or None."""
    try:
        with open(stat) as f:
            for line in f:
                if line.startswith('btime '):
                    return float(line.split()[1])
    except (IOError, OSError):
        pass
    return None


def parse_since(value, now=None, boot_time=None):
    """Seconds since the epoch from: boot, all, 15m / 2h / 1d (that long ago), @EPOCH or EPOCH, or an ISO 8601
    date/time (local time unless it carries an offset). Raises DenialError naming the bad value."""
    now = time.time() if now is None else now
    text = ('%s' % value).strip()
    if text == 'all':
        return 0.0
    if text == 'boot':
        if boot_time is None:
            raise DenialError('since=boot: the boot time is unknown on this host')
        return float(boot_time)
    m = DURATION.match(text)
    if m:
        return now - int(m.group(1)) * UNITS[m.group(2)]
    try:
        return float(text[1:] if text.startswith('@') else text)
    except ValueError:
        pass
    try:
        parsed = datetime.datetime.strptime(text.replace('Z', '+00:00'), '%Y-%m-%dT%H:%M:%S%z')
        return (parsed - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)).total_seconds()
    except ValueError:
        pass
    for fmt in ('%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M', '%Y-%m-%d %H:%M', '%Y-%m-%d'):
        try:
            return time.mktime(datetime.datetime.strptime(text, fmt).timetuple())
        except ValueError:
            continue
    raise DenialError("since=%r is not understood: use boot, all, a duration such as 15m, 2h or 1d, an epoch "
                      "(@1700000000) or an ISO 8601 time (2026-11-28T10:00:00)" % (value,))


def iso(when):
    if when is None:
        return None
    return datetime.datetime.utcfromtimestamp(when).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'


class Collector:
    """Streams records in, keeps grouped counts and the newest records, within fixed bounds."""

    KEY = ('lsm', 'verdict', 'enforced', 'subject', 'class', 'operation', 'object', 'target_context', 'comm')

    def __init__(self, since=0.0, lsm='all', include_allowed=True, subjects=None, max_records=100, max_groups=500):
        self.since = since
        self.lsm = lsm
        self.include_allowed = include_allowed
        self.subjects = [s for s in (subjects or []) if s]
        self.records = collections.deque(maxlen=max(0, max_records))
        self.max_groups = max_groups
        self.groups = collections.OrderedDict()
        self.seen = 0
        self.matched = 0
        self.dropped_groups = 0
        self.lines = 0
        self._stamps = set()

    def wanted(self, rec):
        if self.lsm != 'all' and rec['lsm'] != self.lsm:
            return False
        if rec['verdict'] == 'allowed' and not self.include_allowed:
            return False
        if rec['time'] is not None and rec['time'] < self.since:
            return False
        if self.subjects:
            subject = rec['subject'] or ''
            if not any(s == subject or s == rec.get('subject_type') for s in self.subjects):
                return False
        return True

    def feed(self, lines):
        for line in lines:
            self.lines += 1
            rec = parse_line(line)
            if rec is None:
                continue
            self.seen += 1
            if not self.wanted(rec):
                continue
            # The same event can reach both the audit log and the kernel log; count it once.
            stamp = (rec['time'], rec['serial'], rec['lsm'])
            if rec['serial'] is not None:
                if stamp in self._stamps:
                    continue
                if len(self._stamps) < 200000:
                    self._stamps.add(stamp)
            self.matched += 1
            self.add(rec)

    def add(self, rec):
        public = dict((k, v) for k, v in rec.items() if k not in ('raw', 'path_is_full'))
        public['time'] = iso(rec['time'])
        self.records.append(public)
        key = tuple(rec.get(k) for k in self.KEY)
        group = self.groups.get(key)
        if group is None:
            if len(self.groups) >= self.max_groups:
                self.dropped_groups += 1
                return
            group = dict((k, rec.get(k)) for k in self.KEY)
            group.update(permissions=rec['permissions'], subject_type=rec.get('subject_type'),
                         target_type=rec.get('target_type'), path_is_full=rec.get('path_is_full'),
                         count=0, first=iso(rec['time']), last=None, pids=[], sample=rec['raw'])
            self.groups[key] = group
        group['count'] += 1
        group['last'] = iso(rec['time'])
        if rec['pid'] is not None and rec['pid'] not in group['pids'] and len(group['pids']) < 5:
            group['pids'].append(rec['pid'])

    def result_groups(self):
        out = sorted(self.groups.values(), key=lambda g: (-g['count'], g['lsm'], g['subject'] or '', g['object'] or ''))
        return [dict((k, v) for k, v in g.items() if k != 'path_is_full') for g in out], out

    def summary(self):
        counts = collections.Counter()
        for g in self.groups.values():
            counts['%s_%s' % (g['lsm'], 'enforced' if g['enforced'] else 'permissive')] += g['count']
        return dict(total=self.matched, groups=len(self.groups), lines_read=self.lines,
                    selinux_denied=counts['selinux_enforced'], selinux_permissive=counts['selinux_permissive'],
                    apparmor_denied=counts['apparmor_enforced'], apparmor_allowed=counts['apparmor_permissive'],
                    groups_dropped=self.dropped_groups)


def allow_rule(group):
    """The audit2allow-style rule that would allow a SELinux group: a proposal for review, never applied."""
    if group['lsm'] != 'selinux' or not group.get('subject_type') or not group.get('target_type'):
        return None
    return 'allow %s %s:%s { %s };' % (group['subject_type'], group['target_type'], group['class'],
                                       ' '.join(group['permissions']))


def apparmor_rule(group):
    """The AppArmor rule that would allow an event (file accesses only), or None when there is no safe rule."""
    obj = group.get('object')
    if group['lsm'] != 'apparmor' or group.get('class') not in (None, 'file') or not obj or not obj.startswith('/'):
        return None
    have = set(group['permissions'])
    if have & set('wcd'):
        have = (have - set('acd')) | set('w')  # create and delete need w; w covers append
    perms = ''.join(p for p in 'rwalkm' if p in have)
    if 'x' in have:
        perms += 'ix'  # inherit: the narrowest exec transition; review whether Px/Cx fits better
    if not perms:
        return None
    path = re.sub(r'([*?\[\]{}^\\"])', r'\\\1', obj)
    if re.search(r'[\s,]', obj):
        path = '"%s"' % path
    return '%s %s,' % (path, perms)


def describe(group):
    """One line for reports: LSM, verdict, count, who, what, on which object, and the suggested fix kind."""
    verdict = group['verdict'] if group.get('enforced') else '%s (%s)' % (
        group['verdict'], 'permissive' if group['lsm'] == 'selinux' else 'complain')
    who = group.get('comm') or '?'
    subject = group.get('subject_type') if group['lsm'] == 'selinux' else group.get('subject')
    if subject:
        who = '%s (%s)' % (who, subject)
    perms = ','.join(group.get('permissions') or []) or group.get('operation') or '?'
    what = ' '.join(x for x in (perms, group.get('class'), group.get('object')) if x)
    if group['lsm'] == 'selinux' and group.get('target_type'):
        what += ' [%s]' % group['target_type']
    line = '%s %s x%d: %s %s' % (group['lsm'], verdict, group.get('count', 1), who, what)
    suggestion = group.get('suggestion') or {}
    kind = suggestion.get('kind')
    if kind == 'relabel':
        line += ' -> relabel to %s' % context_type(suggestion.get('expected_context'))
    elif kind == 'boolean':
        line += ' -> boolean %s' % ', '.join(sorted(suggestion.get('booleans') or {}))
    elif kind == 'fcontext':
        line += ' -> fcontext, e.g. %s' % ', '.join((suggestion.get('candidate_types') or [])[:3])
    elif kind == 'profile_rule':
        line += ' -> rule %s' % suggestion.get('rule')
    elif kind:
        line += ' -> %s' % kind
    return line
