# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""What the SELinux modules take from a task before any of it reaches a file, a tool or libsemanage.

A name, type, store or path with a newline, a NUL or another control character is refused: libsemanage and the C
tools stop reading at a NUL (``httpd_can_network_connect\\0x`` becomes a rule for ``httpd_can_network_connect``),
and a newline starts another line in a config file or a ``semanage import`` transaction. Input files are read only
when they are regular files, and without a blocking open: a FIFO or a device given as a path is refused, never read
from, and never replaced.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import errno
import os
import re
import stat

# the characters the policy language allows in an identifier (types, users, roles, booleans, modules)
IDENT = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]*')
READ_LIMIT = 16 * 1024 * 1024  # no SELinux config or policy source comes near this; a larger file is refused
_KINDS = ((stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a FIFO (named pipe)'), (stat.S_ISCHR, 'a character device'),
          (stat.S_ISBLK, 'a block device'), (stat.S_ISSOCK, 'a socket'))


class InputError(ValueError):
    """A value from the task that cannot be used safely; the message names it."""


def _is_control(ch):
    code = ord(ch)
    return code < 32 or 127 <= code < 160 or code in (0x2028, 0x2029)


def control_chars(value):
    """The newline, NUL and other control characters (C0, DEL, C1, the Unicode line separators) in value."""
    return [ch for ch in value if _is_control(ch)]


def check_text(what, value):
    """Refuse a string with a newline, NUL or other control character, naming it (repr) and what it is for."""
    if value is None:
        return value
    if not isinstance(value, type(u'')):
        raise InputError('%s %r is not a string' % (what, value))
    bad = control_chars(value)
    if bad:
        raise InputError('%s %r contains a newline, NUL or other control character (%s): libsemanage and the SELinux '
                         'tools stop at a NUL and a newline starts another line, so what they used would not be what '
                         'the task names; nothing was changed' % (what, value, ', '.join(sorted(set(repr(c) for c in bad)))))
    return value


def check_ident(what, value, required=True):
    """A policy identifier (type, user, role, boolean or module name): control characters first, then the alphabet."""
    if value is None and not required:
        return value
    check_text(what, value)
    if not value or not IDENT.fullmatch(value):
        raise InputError('%s %r is not an SELinux name: use letters, digits, "_", "." and "-" only; nothing was changed'
                         % (what, value))
    return value


def check_store(value):
    """A policy store name (a directory under /etc/selinux and /var/lib/selinux), or None for the default."""
    if value is None:
        return value
    check_text('store', value)
    if not value or value in ('.', '..') or re.search(r'[\s/\\"\']', value):
        raise InputError('store %r is not a policy store name: it names a directory under /etc/selinux/ and has no '
                         'white space, quote, backslash or "/"; nothing was changed' % (value,))
    return value


def check_path(what, value):
    """A path: no control character (a NUL would end it early, a newline would split it in a tool's output)."""
    if value is None:
        return value
    check_text(what, value)
    if not value:
        raise InputError('%s is empty; nothing was changed' % what)
    return value


def kind_of(mode):
    for test, name in _KINDS:
        if test(mode):
            return name
    return 'not a regular file'


def read_regular(path, what='file', limit=READ_LIMIT):
    """The text of a regular file (bytes kept through surrogateescape), or None when it does not exist.

    A path that is not a regular file once links are followed (a FIFO, a device, a socket, a directory) raises
    InputError without being opened. The open itself does not block (O_NONBLOCK) and is checked again with fstat,
    so a FIFO swapped in after the check is refused too, not waited on. Other OS errors are raised as they are.
    """
    check_path(what, path)
    try:
        found = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    if not stat.S_ISREG(found.st_mode):
        raise InputError('%s %s is %s, not a regular file: it was not read and will not be replaced; nothing was '
                         'changed' % (what, path, kind_of(found.st_mode)))
    flags = os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_NOCTTY', 0) | getattr(os, 'O_CLOEXEC', 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise InputError('%s %s became %s while it was opened, not a regular file: it was not read; nothing was '
                             'changed' % (what, path, kind_of(opened.st_mode)))
        if opened.st_size > limit:
            raise InputError('%s %s is %d bytes, more than the %d a file of this kind can sensibly be; it was not '
                             'read; nothing was changed' % (what, path, opened.st_size, limit))
        chunks, size = [], 0
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            size += len(data)
            if size > limit:
                raise InputError('%s %s grew past %d bytes while it was read; nothing was changed' % (what, path, limit))
            chunks.append(data)
    finally:
        os.close(fd)
    return b''.join(chunks).decode('utf-8', 'surrogateescape')


def did_you_mean(name, known):
    """' (did you mean: a, b?)' with up to three close matches of name among known, or ''."""
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    return ' (did you mean: %s?)' % ', '.join(close) if close else ''
