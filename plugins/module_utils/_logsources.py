# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""Where lsm_denials_info reads denials from, and how: the audit log (and its rotations), the kernel's journal, or the
kernel ring buffer (dmesg).

plan() is pure: it takes the task's choices and the host's answers (which files exist and are regular, which tools
are installed) and returns what to read, each source once, or a SourceError naming why it cannot. Only regular files
are opened: a FIFO would hang the read and a device could be endless.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import gzip
import os
import re
import zlib

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _denials as dn
from ansible_collections.confine.lsm.plugins.module_utils import _files

FILE, COMMAND = 'file', 'command'


class SourceError(Exception):
    """A source the task asked for cannot be read; nothing was read."""


class DamagedLog(Exception):
    """A compressed log that ends early or does not decompress: what was read before the damage counts."""


def rotated_files(path):
    """The rotations of path (path.1, path.2.gz, ...), oldest first."""
    found = []
    for name in glob.glob(glob.escape(path) + '.*'):
        m = re.match(r'^\.(\d+)(\.gz)?$', name[len(path):])
        if m:
            found.append((int(m.group(1)), name))
    return [name for dummy, name in sorted(found, reverse=True)]


def read_file(path):
    """The lines of a log file, bounded in length; only a regular file is opened (never a FIFO or a device)."""
    fd = _files.open_regular(path)
    if fd is None:
        raise OSError('%s disappeared before it could be read' % path)
    with os.fdopen(fd, 'rb') as raw:
        if not path.endswith('.gz'):
            yield from dn.bounded_lines(raw)
            return
        try:
            with gzip.GzipFile(fileobj=raw, mode='rb') as f:
                yield from dn.bounded_lines(f)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise DamagedLog(to_native(exc) or exc.__class__.__name__)


def _readable(path):
    return os.access(path, os.R_OK)


def plan(wanted, audit_log, rotated, since, which, exists=os.path.exists, regular=_files.regular_stat,
         readable=_readable):
    """[(label, FILE or COMMAND, path or argv)] to read, each source once. wanted: the task's sources (auto, audit,
    journal, kernel); which(name): a tool's path or None; regular(path): its stat when a regular file, None when
    absent, OSError when it is something else."""
    wanted = wanted or ['auto']
    found = []
    for source in wanted:
        if source == 'auto':
            source = 'audit' if exists(audit_log) else 'journal' if which('journalctl') else 'kernel'
        if source == 'audit':
            for path in (rotated_files(audit_log) if rotated else []) + [audit_log]:
                try:
                    present = regular(path) is not None
                except (IOError, OSError) as exc:
                    raise SourceError('cannot read the audit log: %s; nothing was read' % to_native(exc))
                if not present:
                    if path == audit_log and 'auto' not in wanted:
                        raise SourceError('audit_log %s does not exist (is auditd installed?)' % path)
                    continue
                if not readable(path):
                    raise SourceError('cannot read %s: the module needs root (become: true)' % path)
                found.append((path, FILE, path))
        elif source in ('journal', 'kernel'):
            tool = 'journalctl' if source == 'journal' else 'dmesg'
            path = which(tool)
            if not path:
                raise SourceError('source %s needs %s, which is not installed; nothing was read' % (source, tool))
            argv = [path]
            if source == 'journal':
                argv += ['-k', '-o', 'cat', '-q', '--no-pager'] + (['--since', '@%d' % int(since)] if since > 0 else [])
            found.append((' '.join(argv), COMMAND, argv))
    seen, unique = set(), []
    for item in found:
        if item[0] not in seen:
            seen.add(item[0])
            unique.append(item)
    return unique
