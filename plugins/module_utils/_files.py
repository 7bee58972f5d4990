# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""Atomic file writes that keep owner, mode and SELinux label; reads that refuse what is not a regular file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import os
import signal
import stat
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_native


FAULT_ENV = 'CONFINE_TEST_FAULT'
FAULT_MARK_ENV = 'CONFINE_TEST_FAULT_MARK'


def fault_point(name):
    """Fault-injection hook for the reliability tests: the process kills itself (SIGKILL) at the point named by
    $CONFINE_TEST_FAULT. Without that variable (every real run) it does nothing. With $CONFINE_TEST_FAULT_MARK it
    first writes the point's name to that file, so the test can tell this kill from any other failure."""
    if os.environ.get(FAULT_ENV) == name:
        mark = os.environ.get(FAULT_MARK_ENV)
        if mark:
            fd = os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                os.write(fd, to_bytes(name))
                os.fsync(fd)
            finally:
                os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


def split_lines(text):
    """Split on \\n only (as libselinux and apparmor_parser do), keeping endings: ''.join(result) == text."""
    parts = text.split('\n')
    lines = [part + '\n' for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


class NotRegularFile(OSError):
    """A path that is a FIFO, a device, a socket, a directory or (where links are not followed) a symlink.

    An OSError, so that every caller that reports OSErrors reports this one by name too."""

    def __init__(self, path, kind):
        self.message = '%s is %s, not a regular file' % (path, kind)
        OSError.__init__(self, errno.EINVAL, self.message)
        self.path = path
        self.kind = kind

    def __str__(self):
        return self.message


KINDS = ((stat.S_ISLNK, 'a symlink'), (stat.S_ISFIFO, 'a FIFO'), (stat.S_ISCHR, 'a character device'),
         (stat.S_ISBLK, 'a block device'), (stat.S_ISSOCK, 'a socket'), (stat.S_ISDIR, 'a directory'))


def file_kind(mode):
    """What a st_mode is, in words ('a regular file', 'a FIFO', ...)."""
    for test, kind in KINDS:
        if test(mode):
            return kind
    return 'a regular file' if stat.S_ISREG(mode) else 'not a file'


def regular_stat(path, follow=True, dir_fd=None):
    """The stat of path when it is a regular file, None when it does not exist; NotRegularFile otherwise.

    follow=False looks at the path itself, so that a symlink is refused rather than followed. Nothing is opened:
    a FIFO or a device is never opened (that would hang, or start a device such as a watchdog)."""
    try:
        st = os.stat(path, dir_fd=dir_fd, follow_symlinks=follow)
    except (IOError, OSError) as exc:
        if getattr(exc, 'errno', None) == errno.ENOENT:
            return None
        raise
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(path, file_kind(st.st_mode))
    return st


def open_regular(path, follow=True, dir_fd=None):
    """A read-only descriptor of a regular file (None when absent), opened without blocking and checked again on
    the descriptor, so that a FIFO or device swapped in after the check is refused too."""
    st = regular_stat(path, follow=follow, dir_fd=dir_fd)
    if st is None:
        return None
    flags = os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_NOCTTY', 0)
    if not follow:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except (IOError, OSError) as exc:
        if getattr(exc, 'errno', None) == errno.ELOOP:
            raise NotRegularFile(path, 'a symlink')
        if getattr(exc, 'errno', None) == errno.ENOENT:
            return None
        raise
    now = os.fstat(fd)
    if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
        os.close(fd)
        raise NotRegularFile(path, file_kind(now.st_mode) if not stat.S_ISREG(now.st_mode)
                             else 'a file that was replaced while it was opened')
    return fd


def read_text(path, follow=True):
    """The file's text (newlines untouched), or None when it does not exist.

    Only a regular file is read: a FIFO, a device, a socket or a directory raises NotRegularFile (an OSError)
    without being opened for a blocking read. follow=False also refuses a symlink instead of reading its target."""
    fd = open_regular(path, follow=follow)
    if fd is None:
        return None
    with os.fdopen(fd, 'rb') as f:
        return f.read().decode('utf-8', 'surrogateescape')


def selinux_label(path):
    """A file's SELinux label (not following a final symlink), or None when it has none or it cannot be read."""
    try:
        return os.getxattr(path, 'security.selinux', follow_symlinks=False).rstrip(b'\0').decode() or None
    except (OSError, UnicodeDecodeError):
        return None


def write_atomic(module, path, text, mode=0o644):
    """Write text to path through a temp file in the same directory and AnsibleModule.atomic_move.

    A symlink is followed, so the link stays and its target is rewritten (see write_nofollow for paths whose links
    nobody chose). An existing file keeps its owner, mode and SELinux label (atomic_move copies them); a new one
    gets mode and the policy's default label. A path that is not a regular file (a FIFO, a device) raises
    NotRegularFile. On any error the old file is untouched.
    """
    real = os.path.realpath(path)
    regular_stat(real)  # a FIFO or a device is refused, not replaced by a regular file
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


def _label_of(fd):
    try:
        return os.getxattr(fd, 'security.selinux')
    except (IOError, OSError):
        return None


def write_nofollow(module, path, text, mode=0o644):  # pylint: disable=unused-argument
    """Replace path with text atomically without following a link at path or at its directory.

    The directory is opened with O_NOFOLLOW and everything after happens relative to it: the old file is opened
    with O_NOFOLLOW (a symlink, FIFO, device or directory there raises NotRegularFile and nothing is written), the
    new text goes to a fresh O_EXCL temp file beside it, which gets the old file's owner, mode and SELinux label
    (a new file: mode and the label the kernel gives a file created there), and a rename in the directory puts it
    in place. A link swapped in after the check is replaced, never written through. On any error (whatever the
    exception) the temp file is removed and the old file is as it was. module is taken for symmetry with
    write_atomic. Returns path.
    """
    directory, name = os.path.split(path)
    if not name:
        raise NotRegularFile(path, 'a directory')
    dfd = os.open(directory or '.', os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    tmp = None
    try:
        old = open_regular(name, follow=False, dir_fd=dfd)
        label = None
        if old is not None:
            try:
                st = os.fstat(old)
                label = _label_of(old)
            finally:
                os.close(old)
        for dummy in range(100):
            candidate = '.confine-%s' % binascii.hexlify(os.urandom(6)).decode()
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dfd)
            except (IOError, OSError) as exc:
                if getattr(exc, 'errno', None) == errno.EEXIST:
                    continue
                raise
            tmp = candidate
            break
        else:
            raise OSError(errno.EEXIST, 'no free temp file name in %s' % (directory or '.'))
        with os.fdopen(fd, 'wb') as f:
            f.write(to_bytes(text, errors='surrogate_then_replace'))
            f.flush()
            if old is not None:
                if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                    try:
                        os.fchown(f.fileno(), st.st_uid, st.st_gid)
                    except (IOError, OSError) as exc:  # not root: the writer owns it, as with atomic_move
                        if getattr(exc, 'errno', None) != errno.EPERM:
                            raise
                os.fchmod(f.fileno(), stat.S_IMODE(st.st_mode))
                if label and label != _label_of(f.fileno()):
                    os.setxattr(f.fileno(), 'security.selinux', label)
            else:
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        fault_point('write:before-rename')
        os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        tmp = None
        fault_point('write:after-rename')
        try:
            os.fsync(dfd)
        except (IOError, OSError):
            pass
    except BaseException:
        if tmp is not None:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except (IOError, OSError):
                pass
        raise
    finally:
        os.close(dfd)
    return path


def remove_nofollow(path):
    """Remove path when it is a regular file (a link is never followed); True when something was removed."""
    directory, name = os.path.split(path)
    dfd = os.open(directory or '.', os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        if regular_stat(name, follow=False, dir_fd=dfd) is None:
            return False
        os.unlink(name, dir_fd=dfd)
        return True
    finally:
        os.close(dfd)


def write_or_fail(module, path, text, **result):
    try:
        return write_atomic(module, path, text)
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot write %s: %s (nothing was changed)' % (path, to_native(exc)), **result)
