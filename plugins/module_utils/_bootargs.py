# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""The boot configuration's kernel arguments, fixed: planned on the GRUB defaults files grub-mkconfig sources (or
through grubby on BLS hosts), checked by reading the planned texts back the way /bin/sh would, written all or none,
and the boot loader's configuration regenerated the way the distribution does.

selinux_mode and apparmor_boot_args share it; _selinux reads the files (grub_default_files, grub_default_args).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.confine.lsm.plugins.module_utils import _files
from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp
from ansible_collections.confine.lsm.plugins.module_utils import _status as st

_LINUX = re.compile(r'^(\s*(?:export\s+)?GRUB_CMDLINE_LINUX=)(.*?)$')
MKCONFIGS = (('grub2-mkconfig', '/boot/grub2/grub.cfg'), ('grub-mkconfig', '/boot/grub/grub.cfg'))


class BootArgsError(Exception):
    """A boot configuration the planner will not edit (named in the message); nothing was changed."""


def read_texts(files):
    """{path: text or None} of the GRUB defaults files; a FIFO, device or directory raises InputError unread."""
    return dict((path, inp.read_regular(path, 'the GRUB defaults file')) for path in files)


def _append_to_value(raw, tokens):
    """The right-hand side of a GRUB_CMDLINE_LINUX assignment with tokens added at the end of its value, quoting
    kept (a bare word becomes double-quoted, which the shell reads the same way); a trailing comment is kept."""
    stripped = raw.strip()
    extra = ' '.join(tokens)
    if stripped[:1] in ('"', "'"):
        q = stripped[0]
        end = stripped.find(q, 1)
        if end < 0:
            raise BootArgsError('an unterminated %s quote' % q)
        inner, rest = stripped[1:end], stripped[end + 1:]
        return '%s%s%s%s' % (q, (inner + ' ' + extra).strip(), q, rest)
    word, sep, comment = stripped.partition('#')
    return '"%s"%s%s' % ((word.strip() + ' ' + extra).strip(), ' #' if sep else '', comment)


def plan_grub(files, texts, drop, add=()):
    """[(path, old text, new text)] that apply drop ({key: replacement or None}, every assignment's tokens) and add
    (tokens the next boot must get, appended to the assignment of GRUB_CMDLINE_LINUX that wins: the last one in the
    files' order, or a new line at the end of the first file when none sets it)."""
    new = dict(texts)
    for path in files:
        if new[path] is not None and drop:
            new[path] = se.strip_grub_default(new[path], drop)
    if add:
        last = None
        for path in files:
            for i, line in enumerate(_files.split_lines(new[path] or '')):
                if _LINUX.match(line.rstrip('\r\n')):
                    last = (path, i)
        if last is None:
            if new[files[0]] is None:
                raise BootArgsError('%s does not exist and no other GRUB defaults file sets GRUB_CMDLINE_LINUX: '
                                    'there is no assignment to add %s to' % (files[0], ' '.join(add)))
            text = new[files[0]]
            if text and not text.endswith('\n'):
                text += '\n'
            new[files[0]] = text + 'GRUB_CMDLINE_LINUX="%s"\n' % ' '.join(add)
        else:
            path, index = last
            lines = _files.split_lines(new[path])
            body = lines[index].rstrip('\r\n')
            ending = lines[index][len(body):]
            m = _LINUX.match(body)
            try:
                lines[index] = m.group(1) + _append_to_value(m.group(2), add) + ending
            except BootArgsError as exc:
                raise BootArgsError('%s: GRUB_CMDLINE_LINUX has %s; fix it by hand' % (path, exc))
            new[path] = ''.join(lines)
    return [(path, texts[path], new[path]) for path in files if new[path] != texts[path]]


def planned_args(files, texts, edits):
    """The kernel args string grub-mkconfig would build once the edits are written (read from memory)."""
    after = dict(texts)
    after.update((path, text) for path, dummy, text in edits)
    return se.grub_default_args(files, read=after.get) or ''


def write_all(module, edits, result):
    """Write every planned file, all or none: a failure puts back the files already written, then fails naming the
    file (fail_json's SystemExit included)."""
    done = []
    try:
        for path, old, new in edits:
            _files.write_or_fail(module, path, new, **result)
            done.append((path, old))
    except BaseException:
        for path, old in reversed(done):
            try:
                _files.write_atomic(module, path, old)
            except BaseException:  # pylint: disable=broad-except  # every file is tried
                pass
        raise


def regenerate(module, what):
    """Regenerate the boot loader configuration from the GRUB defaults the way the distribution does (update-grub on
    Debian and Ubuntu, grub2-mkconfig or grub-mkconfig into an existing grub.cfg). Returns a warning, or None."""
    update = module.get_bin_path('update-grub')
    if update:
        module.run_command([update], check_rc=True)
        return None
    for mkconfig, cfgpath in MKCONFIGS:
        path = module.get_bin_path(mkconfig)
        if path and os.path.exists(cfgpath):
            module.run_command([path, '-o', cfgpath], check_rc=True)
            return None
    msg = ('%s was fixed, but neither update-grub nor grub(2)-mkconfig with an existing grub.cfg was found: '
           'regenerate the boot loader configuration before rebooting' % what)
    module.warn(msg)
    return msg


def grubby_args(module):
    """The default boot entry's args through grubby on a BLS host, or None (no grubby, no BLS, grubby failed)."""
    grubby = module.get_bin_path('grubby')
    if not grubby or not os.path.isdir(se.BLS_DIR):
        return None
    rc, out, dummy = module.run_command([grubby, '--info=DEFAULT'])
    if rc != 0:
        return None
    for line in out.splitlines():
        if line.startswith('args='):
            return line[5:].strip().strip('"')
    return None


def grubby_apply(module, drop, add=()):
    """Apply drop ({key: replacement or None}) and add (tokens) to every kernel entry with grubby."""
    grubby = module.get_bin_path('grubby', required=True)
    removes = [k for k, v in drop.items() if v is None]
    if removes:
        module.run_command([grubby, '--update-kernel=ALL', '--remove-args=' + ' '.join(removes)], check_rc=True)
    adds = ['%s=%s' % (k, v) for k, v in drop.items() if v is not None] + list(add)
    if adds:
        module.run_command([grubby, '--update-kernel=ALL', '--args=' + ' '.join(adds)], check_rc=True)


# ------------------------------------------------------------------ AppArmor

AA_REQUIRABLE = {'apparmor': ('1',), 'security': ('apparmor',)}


def aa_required(items):
    """[(key, value)] from require_args; anything but apparmor=1 and security=apparmor raises BootArgsError."""
    out = []
    for item in items or []:
        key, sep, value = (item or '').strip().partition('=')
        if not sep or key not in AA_REQUIRABLE or value not in AA_REQUIRABLE[key]:
            raise BootArgsError('require_args item %r is not one of %s' % (item, ', '.join(
                '%s=%s' % (k, v) for k in sorted(AA_REQUIRABLE) for v in AA_REQUIRABLE[k])))
        if (key, value) not in out:
            out.append((key, value))
    return out


def aa_reasons(args, required=()):
    """Why these args fall short: what keeps AppArmor off, then each required arg that is not set."""
    reasons = st.aa_blocking(args)
    return reasons + ['%s=%s is not set' % (k, v) for k, v in required if args.get(k) != v]


def aa_fixes(args, required=()):
    """({key: new value}, [tokens to add]) that make these args start AppArmor and carry the required ones."""
    change, add = {}, []
    if args.get('apparmor') == '0':
        change['apparmor'] = '1'
    change.update(se.lsm_choice_fix(args, 'apparmor'))
    for key, value in required:
        if key in args:
            if args[key] != value:
                change[key] = value
        else:
            add.append('%s=%s' % (key, value))
    return change, add
