# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""Atomic file writes that keep owner, mode and SELinux label."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_native


FAULT_ENV = 'CONFINE_TEST_FAULT'


def fault_point(name):
    """Fault-injection hook for the reliability tests: the process kills itself (SIGKILL) at the point named by
    $CONFINE_TEST_FAULT. Without that variable (every real run) it does nothing."""
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def split_lines(text):
    """Split on \\n only (as libselinux and apparmor_parser do), keeping endings: ''.join(result) == text."""
    parts = text.split('\n')
    lines = [part + '\n' for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def read_text(path):
    """The file's text (newlines untouched), or None when it does not exist."""
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'surrogateescape')
    except (IOError, OSError) as exc:
        if getattr(exc, 'errno', None) == 2:
            return None
        raise


def selinux_label(path):
    """A file's SELinux label (not following a final symlink), or None when it has none or it cannot be read."""
    try:
        return os.getxattr(path, 'security.selinux', follow_symlinks=False).rstrip(b'\0').decode() or None
    except (OSError, UnicodeDecodeError):
        return None


def write_atomic(module, path, text, mode=0o644):
    """Write text to path through a temp file in the same directory and AnsibleModule.atomic_move.

    A symlink is followed, so the link stays and its target is rewritten. An existing file keeps its owner,
    mode and SELinux label (atomic_move copies them); a new one gets mode and the policy's default label.
    On any error the old file is untouched.
    """
    real = os.path.realpath(path)
    directory = os.path.dirname(real) or '.'
    fd, tmp = tempfile.mkstemp(prefix='.confine-', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(to_bytes(text, errors='surrogateescape'))
            f.flush()
            os.fsync(f.fileno())
        if not os.path.exists(real):
            os.chmod(tmp, mode)
        fault_point('write:before-rename')
        module.atomic_move(tmp, real, unsafe_writes=False)
        fault_point('write:after-rename')
    except BaseException:  # atomic_move reports failures with fail_json (SystemExit)
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return real


def write_or_fail(module, path, text, **result):
    try:
        return write_atomic(module, path, text)
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot write %s: %s (nothing was changed)' % (path, to_native(exc)), **result)
