# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""AppArmor profiles: find them, read and rewrite their mode flags, read what the kernel has loaded."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import json
import os
import re

from ansible_collections.confine.lsm.plugins.module_utils._files import split_lines

PROFILE_DIR = '/etc/apparmor.d'
KERNEL_PROFILES = '/sys/kernel/security/apparmor/profiles'
ENABLED_PARAM = '/sys/module/apparmor/parameters/enabled'

# Entries under the profile dir that never hold profiles to switch.
SKIP_DIRS = ('abi', 'abstractions', 'apache2.d', 'cache', 'disable', 'force-complain', 'local', 'tunables',
             'libvirt', 'init', 'usr.lib.apparmor')
SKIP_SUFFIXES = ('.dpkg-new', '.dpkg-old', '.dpkg-dist', '.dpkg-bak', '.dpkg-remove', '.pacsave', '.pacnew',
                 '.rpmnew', '.rpmsave', '.orig', '.rej', '~', '.swp')
MODE_FLAGS = ('complain', 'enforce', 'kill', 'unconfined', 'prompt', 'default_allow')
RANK = {'disabled': 0, 'unloaded': 0, 'complain': 1, 'enforce': 2}

# A safe profile reference: names, paths and glob characters, nothing a shell would act on.
SAFE_NAME = re.compile(r'^[A-Za-z0-9_.,/@+:*?\[\]{}^=-]+$')

# Profile headers. Group 'kw' is 'profile'/'hat' when given; 'name' the name (or attachment path);
# 'rest' the text up to the opening brace (attachment, xattrs=, flags=).
_HEADER = re.compile(
    r'^(?P<indent>[ \t]*)(?:(?P<kw>profile|hat)[ \t]+)?'
    r'(?P<name>"[^"]*"|(?(kw)[^\s]+|[/@^][^\s]*))'
    r'(?P<rest>[^#\r\n]*?)[ \t]*\{[ \t]*(?P<comment>#[^\r\n]*)?(?P<eol>\r?\n)?$'
)
_FLAGS = re.compile(r'(?P<lead>[ \t]*)flags[ \t]*=[ \t]*(?:\((?P<paren>[^)]*)\)|(?P<bare>[A-Za-z_]+))')


class ProfileError(Exception):
    pass


def unquote(name):
    return name[1:-1] if len(name) >= 2 and name[0] == '"' and name[-1] == '"' else name


def strip_comment(line):
    """Drop a trailing comment; '#include' is a directive, not a comment."""
    stripped = line.lstrip()
    if stripped.startswith('#include'):
        return line
    out, quoted = [], False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == '#' and not quoted:
            break
        out.append(ch)
    return ''.join(out)


def headers(text):
    """Every profile/hat header in text: dicts with line index, depth, name, attach, flags."""
    found = []
    depth = 0
    for idx, line in enumerate(split_lines(text)):
        m = _HEADER.match(line)
        if m:
            rest = m.group('rest')
            fm = _FLAGS.search(rest)
            flags = []
            if fm:
                raw = fm.group('paren') if fm.group('paren') is not None else fm.group('bare')
                flags = _split_flags(raw)
            attach = None
            before_flags = rest[:fm.start()] if fm else rest
            tokens = before_flags.split()
            if m.group('kw') and tokens and not tokens[0].startswith('xattrs'):
                attach = unquote(tokens[0])
            name = unquote(m.group('name'))
            if not m.group('kw'):
                attach = None if name.startswith('^') else name
            found.append({'line': idx, 'depth': depth, 'name': name, 'attach': attach, 'flags': flags,
                          'keyword': m.group('kw')})
        # Blocks open at a line ending in '{' and close at a line starting with '}'; braces inside a line
        # are alternations such as /usr/{bin,sbin}/x.
        code = strip_comment(line).strip()
        if code.startswith('}'):
            depth = max(depth - 1, 0)
        if code.endswith('{'):
            depth += 1
    return found


def top_profiles(text):
    """Names of the top-level profiles in a file (what the kernel lists without '//')."""
    return [h['name'] for h in headers(text) if h['depth'] == 0]


def file_mode(text):
    """'enforce', 'complain', 'unconfined', 'kill' or 'mixed' from the top-level profiles' flags; None: no profile."""
    modes = set()
    for h in headers(text):
        if h['depth'] != 0:
            continue
        mode = 'enforce'
        for flag in ('unconfined', 'kill', 'complain', 'prompt'):
            if flag in h['flags']:
                mode = flag
        modes.add(mode)
    if not modes:
        return None
    return modes.pop() if len(modes) == 1 else 'mixed'


def is_unconfined(text):
    tops = [h for h in headers(text) if h['depth'] == 0]
    return bool(tops) and all('unconfined' in h['flags'] for h in tops)


def _split_flags(raw):
    return [f for f in re.split(r'[,\s]+', raw) if f]


def _rewrite_flags(line, header_match, add, remove):
    rest = header_match.group('rest')
    fm = _FLAGS.search(rest)
    if fm:
        raw = fm.group('paren') if fm.group('paren') is not None else fm.group('bare')
        orig = _split_flags(raw)
        parts = [f for f in orig if f not in remove]
        if add and add not in parts:
            parts.append(add)
        if parts == orig:
            return line
        clause = '%sflags=(%s)' % (fm.group('lead'), ', '.join(parts)) if parts else ''
        new_rest = rest[:fm.start()] + clause + rest[fm.end():]
    else:
        if not add:
            return line
        new_rest = rest.rstrip() + ' flags=(%s)' % add
    start, end = header_match.span('rest')
    return line[:start] + new_rest + line[end:]


def set_mode(text, mode):
    """Return text with every profile and hat header flagged for mode ('enforce' or 'complain').

    Only the mode flags move; other flags (attach_disconnected, mediate_deleted, ...), comments, includes and
    every other line keep their bytes. Profiles flagged 'unconfined' are left as they are.
    """
    lines = split_lines(text)
    for h in headers(text):
        if 'unconfined' in h['flags']:
            continue
        line = lines[h['line']]
        m = _HEADER.match(line)
        remove = ('complain', 'enforce', 'kill', 'prompt')
        add = 'complain' if mode == 'complain' else None
        lines[h['line']] = _rewrite_flags(line, m, add, remove)
    return ''.join(lines)


# ------------------------------------------------------------------ kernel state

def enabled(param=ENABLED_PARAM, profiles=KERNEL_PROFILES):
    try:
        with open(param) as f:
            if f.read().strip() != 'Y':
                return False
        with open(profiles):
            return True
    except (IOError, OSError):
        return False


def parse_kernel_profiles(text):
    """{name: mode} from /sys/kernel/security/apparmor/profiles ('name (mode)' per line)."""
    loaded = {}
    for line in text.splitlines():
        line = line.rstrip()
        if not line.endswith(')') or ' (' not in line:
            continue
        name, mode = line[:-1].rsplit(' (', 1)
        loaded[name] = mode
    return loaded


def read_kernel_profiles(path=KERNEL_PROFILES):
    with open(path) as f:
        return parse_kernel_profiles(f.read())


def parse_aa_status_json(text):
    """{name: mode} from `aa-status --json` (AppArmor 3 and 4)."""
    data = json.loads(text)
    profiles = data.get('profiles', {})
    return dict((name, mode) for name, mode in profiles.items())


def loaded_mode(names, loaded):
    """The kernel's mode for a file's top-level profiles: a mode, 'mixed', or 'unloaded'."""
    modes = set(loaded[n] for n in names if n in loaded)
    if not modes or len([n for n in names if n in loaded]) < len(names):
        return 'unloaded' if not modes else 'mixed'
    return modes.pop() if len(modes) == 1 else 'mixed'


# ------------------------------------------------------------------ locating profiles

def profile_files(profile_dir):
    """{path: text} of every profile file directly under profile_dir."""
    found = {}
    for entry in sorted(os.listdir(profile_dir)):
        path = os.path.join(profile_dir, entry)
        if entry.startswith('.') or entry in SKIP_DIRS or entry.endswith(SKIP_SUFFIXES) or entry == 'README':
            continue
        if not os.path.isfile(path):
            continue
        try:
            with open(path, 'rb') as f:
                text = f.read().decode('utf-8', 'surrogateescape')
        except (IOError, OSError):
            continue
        if headers(text):
            found[path] = text
    return found


def check_reference(ref):
    if not ref or not SAFE_NAME.match(ref):
        raise ProfileError('profile reference %r contains characters that are not allowed '
                           '(letters, digits and . _ - / @ + : and glob characters only)' % ref)
    if '..' in ref.split('/'):
        raise ProfileError('profile reference %r contains a path traversal (..)' % ref)


def resolve(refs, files, profile_dir):
    """Map each reference to profile files. Returns (ordered list of paths, {ref: [paths]}).

    A reference is a profile name as aa-status shows it (nginx, /usr/sbin/nginx), an attachment path, a file
    name or path under profile_dir, or a glob over any of these. A plain reference must match exactly one file;
    a glob must match at least one.
    """
    index = {}
    for path, text in files.items():
        keys = set([os.path.basename(path), path])
        for h in headers(text):
            if h['depth'] == 0:
                keys.add(h['name'])
                if h['attach']:
                    keys.add(h['attach'])
        index[path] = keys
    ordered, by_ref, errors = [], {}, []
    real_dir = os.path.realpath(profile_dir)
    for ref in refs:
        try:
            check_reference(ref)
        except ProfileError as exc:
            errors.append(str(exc))
            continue
        is_glob = any(c in ref for c in '*?[')
        if is_glob:
            matched = sorted(p for p, keys in index.items() if any(fnmatch.fnmatchcase(k, ref) for k in keys))
        else:
            matched = sorted(p for p, keys in index.items() if ref in keys)
        if not matched and ref.startswith('/') and os.path.isfile(ref) and \
                not os.path.realpath(ref).startswith(real_dir + os.sep):
            errors.append('%s is neither a profile name nor a profile file under %s' % (ref, profile_dir))
            continue
        if not matched:
            errors.append('no AppArmor profile matches %r in %s' % (ref, profile_dir))
            continue
        if not is_glob and len(matched) > 1:
            errors.append('%r matches several profile files (%s); name the file' % (ref, ', '.join(matched)))
            continue
        by_ref[ref] = matched
        for path in matched:
            if path not in ordered:
                ordered.append(path)
    if errors:
        raise ProfileError('; '.join(errors))
    return ordered, by_ref


def is_weakening(current_modes, wanted):
    """True when wanted is weaker than the strongest of current_modes."""
    ranks = [RANK[m] for m in current_modes if m in RANK]
    return bool(ranks) and RANK.get(wanted, 0) < max(ranks)


# The profile's local include, where site rules go without editing the packaged profile.
_LOCAL_INCLUDE = re.compile(r'^[ \t]*#?include(?:[ \t]+if[ \t]+exists)?[ \t]+<(?P<target>local/[^>\s]+)>[ \t]*,?[ \t]*$',
                            re.M)
BLOCK_BEGIN = '# BEGIN confine.lsm managed rules: reviewed, do not edit by hand'
BLOCK_END = '# END confine.lsm managed rules'


# apparmor_parser's notes that say nothing about the profile (a container has no AppArmor kernel interface).
_PARSER_NOISE = re.compile(r'^(Cache read/write disabled|Warning: unable to find a suitable fs in /proc/mounts).*$\n?', re.M)


def parser_message(text):
    """apparmor_parser's output without the lines that only describe the machine, stripped."""
    return _PARSER_NOISE.sub('', text or '').strip()


def local_include(text):
    """(target, match) of the first local include (local/NAME) of a profile text, or (None, None)."""
    m = _LOCAL_INCLUDE.search(text)
    return (m.group('target'), m) if m else (None, None)


def check_rule(rule):
    """A single rule line for a managed block: one line, ends with a comma, balanced braces, no child profile."""
    text = (rule or '').strip()
    problems = []
    if not text:
        problems.append('is empty')
    if any(c in rule for c in '\n\r\x00'):
        problems.append('spans lines')
    if not text.endswith(','):
        problems.append('does not end with a comma')
    depth = 0
    for ch in text:
        depth += {'{': 1, '}': -1}.get(ch, 0)
        if depth < 0:
            break
    if depth != 0:
        problems.append('has unbalanced braces')
    if re.match(r'^(profile|hat|\^)', text) or re.search(r'\{\s*$', text.rstrip(',')):
        problems.append('opens a child profile or hat')
    if re.match(r'^#?include\b', text):
        problems.append('is an include')
    if problems:
        raise ProfileError('rule %r %s' % (rule, ' and '.join(problems)))
    return text


def block_rules(text):
    """The rules inside the managed block of a local include text (empty when there is no block)."""
    rules, inside = [], False
    for line in (text or '').split('\n'):
        stripped = line.strip()
        if stripped == BLOCK_BEGIN:
            inside = True
        elif stripped == BLOCK_END:
            inside = False
        elif inside and stripped and not stripped.startswith('#'):
            rules.append(stripped)
    return rules


def set_block(text, rules):
    """text with the managed block holding exactly rules (removed when rules is None or empty).

    Every line outside the block keeps its bytes; a new block goes at the end."""
    text = text or ''
    lines = text.split('\n')
    try:
        start = [l.strip() for l in lines].index(BLOCK_BEGIN)
        end = start + [l.strip() for l in lines[start:]].index(BLOCK_END)
    except ValueError:
        start = end = None
    block = [BLOCK_BEGIN] + list(rules) + [BLOCK_END] if rules else []
    if start is not None:
        new = lines[:start] + block + lines[end + 1:]
        if not block and start < len(new) and new[start] == '' and start > 0 and new[start - 1] == '':
            del new[start]
        return '\n'.join(new)
    if not block:
        return text
    head = text if not text or text.endswith('\n') else text + '\n'
    return head + '\n'.join(block) + '\n'
