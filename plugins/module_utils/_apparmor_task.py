# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""What apparmor_profile_mode and apparmor_local_rules share: their set-up, fail(), input and directory checks,
the compile from temporary copies, and all-or-nothing writes that never go through a symlink."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import shutil
import stat
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.module_utils.six import string_types

from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa
from ansible_collections.confine.lsm.plugins.module_utils import _files

# Every C0 control character and DEL: a newline would start a second rule or line, a NUL cuts the value short in C.
_CONTROL = re.compile(u'[\x00-\x1f\x7f]')


def control_character(value):
    """(position, character) of the first control character in value, or None."""
    m = _CONTROL.search(value)
    return (m.start(), m.group()) if m else None


def bad_strings(params, names):
    """'OPTION VALUE ...' messages for each string (or string in a list) of the named options that holds a control
    character, naming the value by its repr."""
    out = []
    for name in names:
        value = params.get(name)
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if not isinstance(item, string_types):
                continue
            found = control_character(item)
            if found:
                out.append('%s %r holds the control character %r at position %d' % (name, item, found[1], found[0]))
    return out


class FileSet(object):
    """All-or-nothing writes of several files. Each file's text is remembered before it is first written (None: it
    did not exist); rollback() puts every one back, whatever interrupted the writes."""

    def __init__(self, module, root):
        self.module = module
        self.root = root
        self.old = []  # [(path, text before, or None)], in first-write order
        self.dirs = []  # directories made for new files

    def remembered(self, path):
        return any(p == path for p, dummy in self.old)

    def write(self, path, text):
        if not self.remembered(path):
            self.old.append((path, read_regular_or_none(path)))
        directory = os.path.dirname(path)
        if not os.path.lexists(directory):
            os.makedirs(directory, 0o755)
            self.dirs.append(directory)
        write_nofollow(self.module, path, text, self.root)

    def rollback(self):
        """Put every file written back (newest first) and remove the directories made; each is tried even when
        another fails. Returns the errors, as text."""
        errors = []
        for path, text in reversed(self.old):
            try:
                current = read_regular_or_none(path)
                if text is None:
                    if current is not None:
                        os.unlink(path)
                elif current != text:
                    write_nofollow(self.module, path, text, self.root)
            except Exception as exc:  # pylint: disable=broad-except  # every file is tried; the errors are reported
                errors.append('%s: %s' % (path, to_native(exc)))
        for directory in reversed(self.dirs):
            try:
                os.rmdir(directory)
            except OSError as exc:
                errors.append('%s: %s' % (directory, to_native(exc)))
        self.old, self.dirs = [], []
        return errors


def read_regular_or_none(path):
    """The text of path, None when it does not exist; a symlink, FIFO or device raises ProfileError (never opened
    through a link, never opened in a way that could block)."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    if stat.S_ISLNK(info.st_mode):
        raise aa.ProfileError('%s is a symlink; confine.lsm does not read or write a file through a link' % path)
    if not stat.S_ISREG(info.st_mode):
        raise aa.ProfileError('%s is not a regular file (a FIFO, a device or a socket); confine.lsm does not open it'
                              % path)
    return aa.read_regular(path)


def check_inside(path, root):
    """path's directory, with every link in it resolved, must be root's or below it (root resolved too)."""
    real_root = os.path.realpath(root)
    real_dir = os.path.realpath(os.path.dirname(path))
    if real_dir != real_root and not real_dir.startswith(real_root.rstrip('/') + '/'):
        raise aa.ProfileError('%s resolves to %s, outside %s; confine.lsm does not write there' % (
            path, os.path.join(real_dir, os.path.basename(path)), real_root))


def write_nofollow(module, path, text, root, mode=0o644):
    """Write text to path through a temp file in path's directory and a rename over the name itself: a final
    symlink (or a FIFO, device, directory) is refused, never followed, and checked again just before the rename;
    the directory must resolve inside root. An existing file keeps owner, mode and SELinux label (atomic_move
    copies them). On any error the old file is untouched."""
    check_inside(path, root)
    read_regular_or_none(path)  # raises for a link or a special file
    fd, tmp = tempfile.mkstemp(prefix='.confine-', dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(to_bytes(text, errors='surrogateescape'))
            f.flush()
            os.fsync(f.fileno())
        if not os.path.lexists(path):
            os.chmod(tmp, mode)
        _files.fault_point('write:before-rename')
        read_regular_or_none(path)  # swapped for a link while the file was written (or the parser ran)?
        check_inside(path, root)
        module.atomic_move(tmp, path, unsafe_writes=False)
        _files.fault_point('write:after-rename')
    except BaseException:  # atomic_move reports failures with fail_json (SystemExit)
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return path


class Task(object):
    """The part of an AppArmor module's runner both modules share. options: the string options to check for
    control characters before anything is read."""

    STRING_OPTIONS = ()
    TEMP_PREFIX = 'confine-aa-'

    def __init__(self, module, result):
        self.module = module
        self.p = module.params
        self.result = result
        bad = bad_strings(self.p, self.STRING_OPTIONS)
        if bad:
            self.fail('%s; nothing was changed' % '; '.join(bad))
        self.dir = self.p['profile_dir'].rstrip('/') or '/'
        self.parser = module.get_bin_path('apparmor_parser')

    reported = False

    def fail(self, msg):
        self.reported = True  # a handler that restores files re-raises, instead of reporting a second time
        self.module.fail_json(msg=msg, **self.result)

    def need_parser(self):
        if not self.parser:
            self.fail('apparmor_parser not found: install the apparmor package; nothing was changed')

    def check_dir(self):
        if not os.path.isdir(self.dir):
            self.fail('profile_dir %s does not exist or is not a directory' % self.dir)

    def resolve(self, refs):
        """(paths, {path: text}) of the profile files refs name (see _apparmor.resolve); fails naming the bad ones."""
        self.check_dir()
        files = aa.profile_files(self.dir)
        try:
            paths, dummy = aa.resolve(refs, files, self.dir)
        except aa.ProfileError as exc:
            self.fail('%s; nothing was changed' % to_native(exc))
        return paths, files

    def compile_copies(self, layout, failure):
        """Compile new texts from temporary copies (apparmor_parser -Q -K), in one call, writing nothing else.
        layout(tmpdir) returns [(temporary path, real path, text, compile it)]; on an error the task fails with
        failure and the parser's message, in which the temporary paths are replaced by the real ones."""
        self.need_parser()
        tmpdir = tempfile.mkdtemp(prefix=self.TEMP_PREFIX)
        try:
            entries = layout(tmpdir)
            for tmp, dummy, text, dummy2 in entries:
                with open(tmp, 'wb') as f:
                    f.write(to_bytes(text, errors='surrogateescape'))
            argv = [self.parser, '-Q', '-K', '--base', self.dir] + [e[0] for e in entries if e[3]]
            rc, out, err = self.module.run_command(argv)
            if rc != 0:
                msg = aa.parser_message(err or out)
                for tmp, real, dummy, dummy2 in sorted(entries, key=lambda e: -len(e[0])):
                    msg = msg.replace(tmp, real)
                self.fail('%s%s' % (failure, msg))
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
