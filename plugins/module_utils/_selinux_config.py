# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""Read and edit /etc/selinux/config exactly as libselinux reads it, or refuse.

libselinux (selinux_config.c, the same in 3.4 and 3.8.1) is the reader that counts; its rules, on bytes:

* The mode (selinux_getenforcemode, which the boot's selinux_init_load_policy calls): the file is read with fgets
  into a buffer of the page size, so a line longer than the page size less one byte comes in pieces and each piece
  is taken as the start of a line. A piece counts only when it starts exactly with ``SELINUX=`` (that case, no
  blank before it); blanks after ``=`` are skipped and the value is compared case-insensitively as a prefix:
  ``enforcing``, ``permissive`` or ``disabled`` (``SELINUX=Enforcingxyz`` is enforcing, ``SELINUX="enforcing"``
  is nothing). The first piece that matches wins. When none does the mode is unknown, and the boot then loads the
  policy permissive (unless the kernel command line says ``enforcing=``).
* The policy type (init_selinux_config, run once a process): whole lines (getline), the final newline dropped,
  leading blanks skipped, comment and blank lines skipped; the tag ``SELINUXTYPE=`` in any case, blanks after it
  skipped, trailing blanks and control characters stripped (never the first character); quotes are kept. The last
  such line wins; with none the type is ``targeted``.

Where another reader could see something else in the same bytes (a NUL, a piece boundary that depends on the page
size, a line break other than ``\\n``, a line that looks like a SELINUX setting but that libselinux skips so that
it reads no mode at all), the functions here raise ConfigError naming the line instead of guessing. An edit
changes only the value libselinux reads (the first accepted SELINUX line, the last SELINUXTYPE line), keeps every
other byte, and is read back before it is returned.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.confine.lsm.plugins.module_utils._files import split_lines
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp

CONFIG = '/etc/selinux/config'  # the system config (looked up at call time: tests point it elsewhere)

MODES = ('enforcing', 'permissive', 'disabled')
RANK = {'disabled': 0, 'permissive': 1, 'enforcing': 2}
DEFAULT_POLICY = 'targeted'  # libselinux's SELINUXDEFAULT: the type used when the config names none
UNSET_BOOTS = 'permissive'  # what selinux_init_load_policy does when selinux_getenforcemode finds no mode
# fgets reads at most page size - 1 bytes a call: 4 KiB pages on x86-64, 4, 16 or 64 KiB on arm64, 64 KiB on ppc64le.
PAGE_SIZES = (4096, 16384, 65536)

TEMPLATE = (
    "# This file controls the state of SELinux on the system.\n"
    "# SELINUX= can take one of these three values:\n"
    "#     enforcing - SELinux security policy is enforced.\n"
    "#     permissive - SELinux prints warnings instead of enforcing.\n"
    "#     disabled - No SELinux policy is loaded.\n"
    "# Managed by confine.lsm.selinux_mode: values change in place, comments are kept.\n"
    "SELINUX={state}\n"
    "# SELINUXTYPE= names the policy store under /etc/selinux/.\n"
    "SELINUXTYPE={policy}\n"
)

_SPACE = b' \t\n\v\f\r'  # isspace() in the C locale
_SPACE_CNTRL = _SPACE + bytes(bytearray(range(32))) + b'\x7f'  # isspace() or iscntrl()
_MODE_TAG = b'SELINUX='
_TYPE_TAG = b'SELINUXTYPE='
_MODE_WORDS = tuple(m.encode('ascii') for m in MODES)
# Line breaks that some reader (an editor, Python's universal newlines or str.splitlines, a script) honours, as
# UTF-8 bytes; libselinux breaks lines only at \n.
_OTHER_BREAKS = re.compile(b'\r\n|[\r\v\f\x1c\x1d\x1e\n]|\xc2\x85|\xe2\x80[\xa8\xa9]')
# A line that a person or a lenient parser would take for the SELINUX setting: leading blanks or quotes, any case,
# blanks around the =, "export", a colon.
_LOOKS_LIKE_MODE = re.compile(br'''^[\s"']*(?:export\s+)?["']?selinux["']?\s*[=:]''', re.I)


class ConfigError(ValueError):
    """The config text cannot be read as libselinux reads it, or a value cannot be written safely."""


def _show(line, limit=80):
    text = line.decode('utf-8', 'replace') if isinstance(line, bytes) else line
    text = text.rstrip('\n')
    return repr(text if len(text) <= limit else text[:limit] + '...')


def _encode(text):
    try:
        return text.encode('utf-8', 'surrogateescape')
    except UnicodeError as exc:
        raise ConfigError('the config text cannot be written as bytes (%s)' % exc)


def _byte_lines(data):
    """Split bytes at \\n only, keeping the endings (as fgets and getline do)."""
    parts = data.split(b'\n')
    lines = [part + b'\n' for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _units(lines, page_size=None):
    """(line index, offset, bytes) for each string libselinux's fgets loop sees: one a line, or with page_size one a
    piece of page_size - 1 bytes at most."""
    units = []
    for index, line in enumerate(lines):
        step = len(line) if page_size is None else page_size - 1
        if len(line) <= step:
            units.append((index, 0, line))
        else:
            units.extend((index, off, line[off:off + step]) for off in range(0, len(line), step))
    return units


def _other_units(lines):
    """(line index, offset, bytes) for each line that a reader breaking lines at _OTHER_BREAKS as well sees."""
    units = []
    for index, line in enumerate(lines):
        start = 0
        for m in _OTHER_BREAKS.finditer(line):
            units.append((index, start, line[start:m.start()]))
            start = m.end()
        if start < len(line):
            units.append((index, start, line[start:]))
    return units


def _find_mode(units):
    """(mode, line index, offset of the mode word in the line) as selinux_getenforcemode reads units; mode None:
    unknown."""
    for index, off, unit in units:
        if not unit.startswith(_MODE_TAG):
            continue
        rest = unit[len(_MODE_TAG):]
        skip = len(rest) - len(rest.lstrip(_SPACE))
        head = rest[skip:skip + 10].lower()
        for word in _MODE_WORDS:
            if head.startswith(word):
                return word.decode('ascii'), index, off + len(_MODE_TAG) + skip
    return None, None, None


def _strip_end(value):
    """Length of value once trailing blanks and control characters are stripped, never the first character."""
    end = len(value)
    while end > 1 and value[end - 1:end] in _SPACE_CNTRL:
        end -= 1
    return end


def _find_policy(units):
    """(policy bytes, line index, start, end of the value in the line) as init_selinux_config reads units; None: no
    SELINUXTYPE line."""
    found = None
    for index, off, unit in units:
        body = unit[:-1] if unit.endswith(b'\n') else unit
        lead = len(body) - len(body.lstrip(_SPACE))
        rest = body[lead:]
        if not rest or rest.startswith(b'#') or rest[:len(_TYPE_TAG)].upper() != _TYPE_TAG:
            continue
        after = rest[len(_TYPE_TAG):]
        value = after.lstrip(_SPACE)
        end = _strip_end(value)
        if value:
            start = off + lead + len(_TYPE_TAG) + len(after) - len(value)
        else:  # nothing to replace: a new value goes after the blanks and tabs, before any other white space
            start = off + lead + len(_TYPE_TAG) + len(after) - len(after.lstrip(b' \t'))
        found = (value[:end], index, start, start + end)
    return found


def _decode(data):
    return data.decode('utf-8', 'surrogateescape')


def _shown(mode, policy):
    return 'SELINUX=%s SELINUXTYPE=%s' % (mode or '(none)', _shown_policy(_decode(policy[0]) if policy else None))


def _analyse(text):
    """Check that the readers libselinux could be, or be taken for, agree; return (lines, mode, mode line, mode
    offset, policy), policy being _find_policy's tuple or None. Raises ConfigError where they do not agree.
    """
    data = _encode(text)
    lines = _byte_lines(data)
    for index, line in enumerate(lines):
        if b'\0' in line:
            raise ConfigError('line %d contains a NUL byte: libselinux stops reading the line there and other readers '
                              'do not, so what the file says is not clear; remove it by hand' % (index + 1))
    units = _units(lines)
    mode = _find_mode(units)
    longest = max([len(line) for line in lines] or [0])
    if longest > min(PAGE_SIZES) - 1:
        for size in PAGE_SIZES:
            if _find_mode(_units(lines, size)) != mode:
                index = [len(line) for line in lines].index(longest)
                raise ConfigError(
                    'line %d is %d bytes long: libselinux reads the mode in pieces of the page size less one byte '
                    '(%d on %d KiB pages) and takes each piece as the start of a line, so the mode it reads from this '
                    'file depends on the page size; shorten the line by hand'
                    % (index + 1, longest, size - 1, size // 1024))
    policy = _find_policy(units)
    other_units = _other_units(lines)
    # the same values from the same bytes: an edit there is then read alike too
    other_mode, other_policy = _find_mode(other_units), _find_policy(other_units)
    if (other_mode, other_policy) != (mode, policy):
        odd = [i for i, line in enumerate(lines)
               if any(m.end() < len(line) or m.group() not in (b'\n', b'\r\n') for m in _OTHER_BREAKS.finditer(line))]
        index = (odd or [len(lines) - 1])[0]
        raise ConfigError(
            'line %d (%s) has a line break other than \\n: libselinux breaks lines only at \\n and reads %s '
            '(%s), a reader that also breaks lines there reads %s (%s); fix the line endings by hand'
            % (index + 1, _show(lines[index]), _shown(mode[0], policy), _where(mode, policy),
               _shown(other_mode[0], other_policy), _where(other_mode, other_policy)))
    if mode[0] is None:
        for index, off, unit in units + other_units:
            if _LOOKS_LIKE_MODE.match(unit):
                raise ConfigError(
                    'line %d (%s) looks like the SELINUX setting, but libselinux does not read it: it takes only a '
                    'line that starts exactly with SELINUX= followed by enforcing, permissive or disabled, and finds '
                    'none here, so the next boot loads the policy %s whatever this line says; fix the line by hand'
                    % (index + 1, _show(lines[index]), UNSET_BOOTS))
    return lines, mode[0], mode[1], mode[2], policy


def _where(mode, policy):
    parts = []
    if mode[0] is not None:
        parts.append('the mode from line %d' % (mode[1] + 1))
    if policy is not None:
        parts.append('the type from line %d' % (policy[1] + 1))
    return ', '.join(parts) or 'from no line'


def _shown_policy(policy):
    return '(none, so %s)' % DEFAULT_POLICY if policy is None else repr(policy)


def read_mode(text):
    """The mode libselinux reads from text: enforcing, permissive, disabled, or None when the file sets none."""
    return _analyse(text)[1]


def read_policy(text):
    """The SELINUXTYPE value libselinux reads from text, or None when no line sets it (libselinux then uses
    DEFAULT_POLICY)."""
    policy = _analyse(text)[4]
    return _decode(policy[0]) if policy else None


def policy_type(text):
    """The policy type libselinux ends with (selinux_getpolicytype): the SELINUXTYPE value, else DEFAULT_POLICY."""
    policy = read_policy(text)
    return DEFAULT_POLICY if policy is None else policy


def get(text, key):
    """The value libselinux reads for SELINUX (lower case) or SELINUXTYPE; None when the text sets none."""
    if key == 'SELINUX':
        return read_mode(text)
    if key == 'SELINUXTYPE':
        return read_policy(text)
    raise ValueError('only SELINUX and SELINUXTYPE are read, not %r' % (key,))


def check_mode(value):
    if value not in MODES:
        raise ConfigError('%r is not an SELinux mode (%s)' % (value, ', '.join(MODES)))
    return value


def check_policy(value):
    """Refuse a policy type that cannot be written as one SELINUXTYPE value read back unchanged."""
    if isinstance(value, bytes) and not isinstance(value, type(u'')):  # a native str on Python 2
        try:
            value = value.decode('ascii')
        except UnicodeDecodeError:
            raise ConfigError('%r is not a policy type: it must be a name in ASCII' % (value,))
    if not isinstance(value, type(u'')) or not value:
        raise ConfigError('%r is not a policy type: it must be a non-empty name' % (value,))
    bad = [ch for ch in value
           if ch.isspace() or ord(ch) < 32 or 127 <= ord(ch) < 160 or ch in u'/\\"\'' or 0xd800 <= ord(ch) < 0xe000]
    if bad or value in ('.', '..'):
        raise ConfigError('%r is not a policy type: a name of the store under /etc/selinux/ has no white space, '
                          'control character, line break, NUL, quote, backslash or "/"%s'
                          % (value, ' (found %r)' % u''.join(bad) if bad else ''))
    return value


def newline_of(text):
    for line in split_lines(text):
        if line.endswith('\r\n'):
            return '\r\n'
        if line.endswith('\n'):
            return '\n'
    return '\n'


def set_values(text, values):
    """Return text with SELINUX and/or SELINUXTYPE (keys of values) set where libselinux reads them; a key the text
    does not set is appended. Every other byte is kept; an unchanged value keeps its bytes, case included.

    Raises ConfigError when the text cannot be read as libselinux reads it, a value is not valid, or (as a check)
    libselinux would not read the values back.
    """
    unknown = [k for k in values if k not in ('SELINUX', 'SELINUXTYPE')]
    if unknown:
        raise ValueError('only SELINUX and SELINUXTYPE are set, not %s' % ', '.join(sorted(unknown)))
    if 'SELINUX' in values:
        check_mode(values['SELINUX'])
    if 'SELINUXTYPE' in values:
        check_policy(values['SELINUXTYPE'])
    lines, mode, mode_line, mode_at, policy = _analyse(text)
    lines = list(lines)
    missing = []
    if 'SELINUX' in values:
        want = values['SELINUX'].encode('ascii')
        if mode is None:
            missing.append('SELINUX')
        elif mode != values['SELINUX']:
            line = lines[mode_line]
            lines[mode_line] = line[:mode_at] + want + line[mode_at + len(mode):]
    if 'SELINUXTYPE' in values:
        want = _encode(values['SELINUXTYPE'])
        if policy is None:
            missing.append('SELINUXTYPE')
        elif policy[0] != want:
            dummy, index, start, end = policy
            lines[index] = lines[index][:start] + want + lines[index][end:]
    new = _decode(b''.join(lines))
    if missing:
        nl = newline_of(text)
        if new and not new.endswith('\n'):
            new += nl
        new += ''.join('%s=%s%s' % (key, values[key], nl) for key in missing)
    got_mode, got_policy = read_mode(new), read_policy(new)
    if (got_mode != values.get('SELINUX', mode)
            or got_policy != values.get('SELINUXTYPE', _decode(policy[0]) if policy else None)):
        raise ConfigError('after the edit libselinux would read SELINUX=%s SELINUXTYPE=%s, not what was asked (%s); '
                          'nothing was changed' % (got_mode, got_policy, values))
    return new


def render_new(state, policy):
    return TEMPLATE.format(state=check_mode(state), policy=check_policy(policy))


def is_weakening(current, wanted):
    """True when wanted is a weaker mode than current (None = unknown/absent: nothing to weaken)."""
    if current is None or current not in RANK or wanted not in RANK:
        return False
    return RANK[wanted] < RANK[current]


def _policy_views(text):
    """(libselinux's view, [(name, view)] of other readers) of the SELINUXTYPE setting: _find_policy tuples."""
    lines = _byte_lines(_encode(text))
    # init_selinux_config handles each line as a C string: a NUL ends it there
    c_view = _find_policy([(i, 0, line.split(b'\0', 1)[0]) for i, line in enumerate(lines)])
    return lines, c_view, [('a reader that keeps NUL bytes', _find_policy(_units(lines))),
                           ('a reader that also breaks lines at \\r and other line breaks',
                            _find_policy(_other_units(lines)))]


def read_policy_only(text):
    """The SELINUXTYPE value libselinux reads from text (None: no such line), refusing only where readers disagree
    about SELINUXTYPE. Unlike read_policy, a text whose MODE is ambiguous is read: the policy type is what a store
    lookup needs, and libselinux reads it from whole lines (getline) whatever the mode lines say."""
    lines, c_view, others = _policy_views(text)
    for reader, view in others:
        if (view and view[0]) != (c_view and c_view[0]):  # the values: which line they come from does not matter
            odd = [i for i, line in enumerate(lines)
                   if b'\0' in line or any(m.group() not in (b'\n', b'\r\n') or m.end() < len(line)
                                           for m in _OTHER_BREAKS.finditer(line))]
            typed = [i for i in odd if _TYPE_TAG in lines[i].upper()]
            index = (typed or odd or [len(lines) - 1])[0]
            raise ConfigError(
                'line %d (%s) has a NUL byte or a line break other than \\n in the SELINUXTYPE setting: libselinux '
                'reads the policy type %s, %s reads %s; fix the line by hand'
                % (index + 1, _show(lines[index]), _shown_policy(_decode(c_view[0]) if c_view else None), reader,
                   _shown_policy(_decode(view[0]) if view else None)))
    return _decode(c_view[0]) if c_view else None


def default_store(path=None):
    """The policy type libselinux uses (SELINUXTYPE, else targeted; targeted also when the config is missing).

    Only an ambiguous SELINUXTYPE setting refuses (read_policy_only): an ambiguous SELINUX mode line does not change
    which store libselinux picks. Raises ConfigError when the config cannot be read, is not a regular file, or names
    something that is not a store.
    """
    path = path or CONFIG
    try:
        text = inp.read_regular(path, 'the SELinux config')
    except inp.InputError as exc:
        raise ConfigError(str(exc))
    except (IOError, OSError) as exc:
        raise ConfigError('%s: %s' % (path, exc))
    if text is None:
        return DEFAULT_POLICY
    try:
        policy = read_policy_only(text)
        return check_policy(DEFAULT_POLICY if policy is None else policy)
    except ConfigError as exc:
        raise ConfigError('%s: %s' % (path, exc))


def default_store_or_fail(module, path=None):
    """default_store() for a module: a config that cannot be read safely fails the module with the reason."""
    try:
        return default_store(path)
    except ConfigError as exc:
        module.fail_json(msg='cannot tell the policy store from the SELinux config: %s; give the store option or fix '
                             'the file; nothing was changed' % exc)
