# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read MAC denials from audit and kernel log text: SELinux AVC records and AppArmor events.

Pure parsing and grouping, streamed line by line so memory stays bounded however large the logs are: lines are
read up to LINE_MAX bytes (a longer one is no kernel record: it is skipped and counted), every text field is cut
to FIELD_MAX characters, and only the groups (bounded by max_groups and GROUPS_BUDGET) and the newest records
(bounded by max_records and RECORDS_BUDGET) are kept. Every limit that was applied is counted in the summary.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import datetime
import math
import re
import time

from ansible_collections.confine.lsm.plugins.module_utils._report import visible

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
# Socket classes whose name_bind / name_connect checks a port's type, and the protocol semanage names it by.
PORT_CLASSES = {'tcp_socket': 'tcp', 'udp_socket': 'udp', 'sctp_socket': 'sctp', 'dccp_socket': 'dccp'}
PORT_PERMISSIONS = ('name_bind', 'name_connect')
# Port types that label ranges, not a service: labelling a port with one of them grants nothing specific.
GENERIC_PORT_TYPES = ('port_t', 'reserved_port_t', 'unreserved_port_t', 'hi_reserved_port_t', 'ephemeral_port_t')

# The kernel writes an audit record in at most 8970 bytes (MAX_AUDIT_MESSAGE_LENGTH) and a printk line in about 1
# KiB: a line longer than LINE_MAX is not one of theirs.
LINE_MAX = 65536
FIELD_MAX = 4096  # PATH_MAX: longer than any path, context or command name the kernel logs
PERMISSIONS_MAX = 32  # an SELinux access vector has 32 bits
GROUPS_BUDGET = 3 * 1024 * 1024  # about how many characters the groups may take in the result
RECORDS_BUDGET = 1024 * 1024  # ... and the records
COUNT_MAX = 1000000  # the most max_records or max_groups may ask for
EPOCH_MAX = 253402300799.999  # 9999-12-31T23:59:59.999Z, the last time datetime (and ISO 8601) can write
TEXT_FIELDS = ('operation', 'class', 'subject', 'object', 'target_context', 'comm', 'info')
TOO_LONG = object()  # what bounded_lines yields in place of a line longer than LINE_MAX


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


def bounded_lines(f, limit=LINE_MAX):
    """The lines of a binary file object, decoded (invalid UTF-8 replaced), at most limit bytes each: a longer line
    is read past in chunks, never held whole, and TOO_LONG is yielded in its place."""
    while True:
        line = f.readline(limit + 1)
        if not line:
            return
        if len(line) > limit:
            while not line.endswith(b'\n'):
                line = f.readline(limit)
                if not line:
                    break
            yield TOO_LONG
            continue
        yield line.decode('utf-8', 'replace')


def bounded_text_lines(text, limit=LINE_MAX):
    """The same for text already in memory (a command's output)."""
    for line in text.splitlines():
        yield TOO_LONG if len(line) > limit else line


def _cut(rec, key, value):
    """value cut to FIELD_MAX characters; a cut is noted in rec['truncated']."""
    if isinstance(value, str) and len(value) > FIELD_MAX:
        rec['truncated'].append(key)
        return value[:FIELD_MAX]
    return value


def _bounded(rec):
    for key in TEXT_FIELDS:
        rec[key] = _cut(rec, key, rec.get(key))
    perms = rec['permissions']
    if len(perms) > PERMISSIONS_MAX or any(len(p) > 64 for p in perms):
        rec['truncated'].append('permissions')
        rec['permissions'] = [p[:64] for p in perms[:PERMISSIONS_MAX]]
    if rec['lsm'] == 'selinux':
        rec['operation'] = ' '.join(rec['permissions'])
    rec['subject_type'] = context_type(rec['subject']) if rec['lsm'] == 'selinux' else None
    rec['target_type'] = context_type(rec['target_context']) if rec['lsm'] == 'selinux' else None
    if len(rec['raw']) > FIELD_MAX:
        rec['raw'] = rec['raw'][:FIELD_MAX]
        rec['truncated'].append('sample')
    return rec


def context_type(context):
    parts = (context or '').split(':')
    return parts[2] if len(parts) >= 3 else None


def parse_line(line):
    """One parsed record (a dict) from a log line, or None when the line holds no SELinux or AppArmor event."""
    if 'avc:' not in line and 'apparmor=' not in line:
        return None
    stamp = STAMP.search(line)
    # float() of any digit string is a number or inf; int() of more than 4300 digits raises: a serial that long
    # (a u32 in the kernel) is not one
    when = float('%s.%s' % (stamp.group(1), stamp.group(2) or '0')) if stamp else None
    serial = int(stamp.group(3)) if stamp and len(stamp.group(3)) <= 20 else None
    m = AVC.search(line)
    if m:
        if m.group(1) != 'denied':
            return None  # "granted" records come from auditallow rules, not denials
        f = fields(m.group(3))
        perms = sorted(m.group(2).split())
        permissive = f.get('permissive') == '1'
        port = port_object(f, perms)
        return _bounded({
            'lsm': 'selinux', 'time': when, 'serial': serial, 'verdict': 'denied',
            'enforced': not permissive, 'operation': ' '.join(perms), 'permissions': perms,
            'class': f.get('tclass'), 'subject': f.get('scontext'), 'subject_type': context_type(f.get('scontext')),
            'object': f.get('path') or f.get('name') or port, 'path_is_full': 'path' in f,
            'target_context': f.get('tcontext'), 'target_type': context_type(f.get('tcontext')),
            'comm': f.get('comm'), 'pid': _int(f.get('pid')), 'raw': line.strip(), 'truncated': [],
        })
    m = APPARMOR.search(line)
    if m:
        f = fields(line[line.index('apparmor='):])
        allowed = f.get('apparmor') == 'ALLOWED'
        mask = f.get('denied_mask') or f.get('requested_mask') or ''
        return _bounded({
            'lsm': 'apparmor', 'time': when, 'serial': serial, 'verdict': 'allowed' if allowed else 'denied',
            'enforced': not allowed, 'operation': f.get('operation'), 'permissions': _mask(mask),
            'class': f.get('class') or ('file' if f.get('operation') in FILE_OPERATIONS else None),
            'subject': f.get('profile'), 'subject_type': None, 'object': f.get('name'), 'path_is_full': True,
            'target_context': f.get('peer') or f.get('target'), 'target_type': None,
            'comm': f.get('comm'), 'pid': _int(f.get('pid')), 'info': f.get('info'), 'raw': line.strip(),
            'truncated': [],
        })
    return None


def port_object(f, perms):
    """'tcp/8123' for a name_bind (src=) or name_connect (dest=) check on a port, else None."""
    proto = PORT_CLASSES.get(f.get('tclass'))
    if not proto or not set(perms) & set(PORT_PERMISSIONS):
        return None
    port = f.get('src') if 'name_bind' in perms else f.get('dest')
    if port is None or not port.isdigit() or not 0 <= int(port) <= 65535:
        return None
    return '%s/%d' % (proto, int(port))


def rank_port_types(subject_type, granted, wanted, port_types, target_type):
    """Port types the subject may use with every wanted permission (name_bind, name_connect), least power first:
    those of the subject's own family (the longest shared name prefix: http_port_t for httpd_t), the family's
    general type (the shortest name) before its special ones (http_cache_port_t), then those that grant the fewest
    permissions; generic range types and the denied type are left out."""
    base = (subject_type or '').rsplit('_t', 1)[0]

    def shared(name):
        n = 0
        while n < min(len(base), len(name)) and base[n] == name[n]:
            n += 1
        return n if n >= 3 else 0
    found = [t for t, perms in granted.items() if set(wanted) <= set(perms) and t in port_types
             and t != target_type and t not in GENERIC_PORT_TYPES]
    found.sort(key=lambda t: (-shared(t), len(t) if shared(t) else 0, len(granted[t]), t))
    return found[:5]


def port_suggestion(group, candidates):
    """The port-label suggestion for a name_bind / name_connect group, or None when it is not one."""
    obj = group.get('object') or ''
    proto, sep, port = obj.partition('/')
    if not sep or proto not in PORT_CLASSES.values() or not candidates:
        return None
    return dict(kind='port_label', candidate_types=candidates, protocol=proto, port=int(port),
                detail='label %s with a port type %s may use (its own family first), e.g. confine.lsm.selinux_port '
                       'ports [{port: %s, protocol: %s, setype: %s}] (role variable confine_selinux_ports; semanage '
                       'port -a -t %s -p %s %s by hand); not a module that lets it use every %s port'
                       % (obj, group.get('subject_type'), port, proto, candidates[0], candidates[0], proto, port,
                          group.get('target_type')))


def _int(text):
    if text is None or len(text) > 20:
        return None
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
        if len(m.group(1)) > 15:  # more than 30 million years; int() refuses past 4300 digits
            return 0.0
        # that long ago, before 1970: everything
        return max(0.0, now - int(m.group(1)) * UNITS[m.group(2)])
    try:
        epoch = float(text[1:] if text.startswith('@') else text)
    except ValueError:
        epoch = None
    if epoch is not None:
        if not math.isfinite(epoch) or epoch > EPOCH_MAX:
            raise DenialError('since=%r is not a time: an epoch must be a finite number of seconds up to %d '
                              '(9999-12-31)' % (value, int(EPOCH_MAX)))
        return max(0.0, epoch)
    try:
        parsed = datetime.datetime.strptime(text.replace('Z', '+00:00'), '%Y-%m-%dT%H:%M:%S%z')
        return max(0.0, (parsed - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)).total_seconds())
    except (ValueError, OverflowError):
        pass
    for fmt in ('%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M', '%Y-%m-%d %H:%M', '%Y-%m-%d'):
        try:
            return max(0.0, time.mktime(datetime.datetime.strptime(text, fmt).timetuple()))
        except (ValueError, OverflowError):
            continue
    raise DenialError("since=%r is not understood: use boot, all, a duration such as 15m, 2h or 1d, an epoch "
                      "(@1700000000) or an ISO 8601 time (2026-11-28T10:00:00)" % (value,))


def iso(when):
    """UTC ISO 8601 with milliseconds, or None when there is no time or it is past what ISO 8601 can write
    (a record stamped in the year 10000 or later)."""
    if when is None or not 0 <= when <= EPOCH_MAX:
        return None
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=when)
    return '%04d-%02d-%02dT%02d:%02d:%02d.%03dZ' % (
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond // 1000)


class Collector:
    """Streams records in, keeps grouped counts and the newest records, within fixed bounds."""

    KEY = ('lsm', 'verdict', 'enforced', 'subject', 'class', 'operation', 'object', 'target_context', 'comm')

    def __init__(self, since=0.0, lsm='all', include_allowed=True, subjects=None, max_records=100, max_groups=500):
        self.since = since
        self.lsm = lsm
        self.include_allowed = include_allowed
        self.subjects = [s for s in (subjects or []) if s]
        self.records = collections.deque(maxlen=max(0, max_records))
        self._record_sizes = collections.deque()
        self.records_size = 0
        self.records_dropped = 0  # left out for RECORDS_BUDGET, not for max_records
        self.max_groups = max_groups
        self.groups = collections.OrderedDict()
        self.groups_size = 0
        self.seen = 0
        self.matched = 0
        self.dropped_groups = 0  # events whose group was not kept (max_groups or GROUPS_BUDGET)
        self.groups_over_budget = 0
        self.lines = 0
        self.lines_too_long = 0
        self.fields_truncated = 0
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
            if line is TOO_LONG:
                self.lines_too_long += 1
                continue
            rec = parse_line(line)
            if rec is None:
                continue
            self.seen += 1
            if not self.wanted(rec):
                continue
            # The same event can reach both the audit log and the kernel log; count it once. One event can also
            # hold several records (a create in permissive mode logs write, add_name and create): keep each.
            stamp = (rec['time'], rec['serial']) + tuple(rec.get(k) for k in self.KEY)
            if rec['serial'] is not None:
                if stamp in self._stamps:
                    continue
                if len(self._stamps) < 200000:
                    self._stamps.add(stamp)
            self.matched += 1
            self.add(rec)

    def add(self, rec):
        if rec['truncated']:
            self.fields_truncated += len(rec['truncated'])
        public = dict((k, v) for k, v in rec.items() if k not in ('raw', 'path_is_full'))
        public['time'] = iso(rec['time'])
        public['truncated'] = [k for k in rec['truncated'] if k != 'sample']
        self.add_record(public)
        key = tuple(rec.get(k) for k in self.KEY)
        group = self.groups.get(key)
        if group is None:
            if len(self.groups) >= self.max_groups:
                self.dropped_groups += 1
                return
            group = dict((k, rec.get(k)) for k in self.KEY)
            group.update(permissions=rec['permissions'], subject_type=rec.get('subject_type'),
                         target_type=rec.get('target_type'), path_is_full=rec.get('path_is_full'),
                         count=0, first=iso(rec['time']), last=None, pids=[], sample=rec['raw'],
                         truncated=list(rec['truncated']))
            # the text and the suggestion repeat the fields: count them about twice, plus the fixed parts
            size = 2 * size_of(group) + 512
            if self.groups_size + size > GROUPS_BUDGET:
                self.dropped_groups += 1
                self.groups_over_budget += 1
                return
            self.groups_size += size
            self.groups[key] = group
        group['count'] += 1
        group['last'] = iso(rec['time'])
        if rec['pid'] is not None and rec['pid'] not in group['pids'] and len(group['pids']) < 5:
            group['pids'].append(rec['pid'])

    def add_record(self, public):
        if self.records.maxlen == 0:
            return
        size = size_of(public)
        if len(self.records) == self.records.maxlen:
            self.records_size -= self._record_sizes.popleft()  # the deque drops its oldest
        self.records.append(public)
        self._record_sizes.append(size)
        self.records_size += size
        while self.records_size > RECORDS_BUDGET and self.records:
            self.records.popleft()
            self.records_size -= self._record_sizes.popleft()
            self.records_dropped += 1

    def limits_applied(self):
        """Each limit that cut the result, in words (empty when none did)."""
        out = []
        if self.lines_too_long:
            out.append('%d lines longer than %d bytes were skipped (no kernel record is that long)'
                       % (self.lines_too_long, LINE_MAX))
        if self.fields_truncated:
            out.append('%d fields were cut to %d characters (listed in each record\'s and group\'s truncated)'
                       % (self.fields_truncated, FIELD_MAX))
        if self.groups_over_budget:
            out.append('%d events were left out of the groups: they would have taken the groups past about %d '
                       'characters' % (self.groups_over_budget, GROUPS_BUDGET))
        if self.dropped_groups > self.groups_over_budget:
            out.append('%d events were left out of the groups: max_groups=%d was reached'
                       % (self.dropped_groups - self.groups_over_budget, self.max_groups))
        if self.records_dropped:
            out.append('%d older records were left out: the records would have taken the result past about %d '
                       'characters' % (self.records_dropped, RECORDS_BUDGET))
        return out

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
                    groups_dropped=self.dropped_groups, lines_too_long=self.lines_too_long,
                    fields_truncated=self.fields_truncated, records_dropped=self.records_dropped)


def size_of(value):
    """About how many characters value takes in a JSON result."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, dict):
        return sum(len(k) + 4 + size_of(v) for k, v in value.items()) + 2
    if isinstance(value, (list, tuple)):
        return sum(size_of(v) + 1 for v in value) + 2
    return 8


def allow_rule(group):
    """The audit2allow-style rule that would allow a SELinux group: a proposal for review, never applied."""
    if group['lsm'] != 'selinux' or not group.get('subject_type') or not group.get('target_type'):
        return None
    if set(group.get('truncated') or []) & set(('subject', 'target_context', 'class', 'permissions')):
        return None  # a rule from cut data would name something the record did not
    return 'allow %s %s:%s { %s };' % (group['subject_type'], group['target_type'], group['class'],
                                       ' '.join(group['permissions']))


def apparmor_rule(group):
    """The AppArmor rule that would allow an event (file accesses only), or None when there is no safe rule."""
    obj = group.get('object')
    if group['lsm'] != 'apparmor' or group.get('class') not in (None, 'file') or not obj or not obj.startswith('/'):
        return None
    if set(group.get('truncated') or []) & set(('object', 'permissions')):
        return None  # a rule for a cut path would allow another file
    if visible(obj) != obj:
        return None  # a path with a newline or another control character cannot be written as a rule line
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
    elif kind == 'port_label':
        line += ' -> port label %s, e.g. %s' % (group.get('object'), ', '.join((suggestion.get('candidate_types')
                                                                               or [])[:3]))
    elif kind == 'profile_rule':
        line += ' -> rule %s' % suggestion.get('rule')
    elif kind:
        line += ' -> %s' % kind
    # one line, whatever the log held: a newline, NUL or other control character in a decoded field is shown as
    # an escape (\x0a), never as itself
    return visible(line)
