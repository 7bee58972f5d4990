# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""AppArmor profiles: find them, read and rewrite their mode flags, read what the kernel has loaded."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import fnmatch
import json
import os
import re
import stat

PROFILE_DIR = '/etc/apparmor.d'
KERNEL_PROFILES = '/sys/kernel/security/apparmor/profiles'
ENABLED_PARAM = '/sys/module/apparmor/parameters/enabled'

# Entries under the profile dir that never hold profiles to switch.
SKIP_DIRS = ('abi', 'abstractions', 'apache2.d', 'cache', 'disable', 'force-complain', 'local', 'tunables',
             'libvirt', 'init', 'usr.lib.apparmor')
SKIP_SUFFIXES = ('.dpkg-new', '.dpkg-old', '.dpkg-dist', '.dpkg-bak', '.dpkg-remove', '.pacsave', '.pacnew',
                 '.rpmnew', '.rpmsave', '.orig', '.rej', '~', '.swp')
# ------------------------------------------------------------------ modes and their order
#
# Every mode a profile can be in, ranked by the protection it gives; a move down the ranking lowers protection.
# From apparmor.d(5) ("Profile Mode") and apparmor_parser's profile.h (3.0 and 4.x), the kernel's mode names
# (security/apparmor/policy.c: enforce, complain, kill, unconfined, and user on kernels that can prompt):
#   kill           enforce, and the task that breaks the profile is also sent a signal to kill it
#   enforce        what the rules do not allow is denied; the default when no mode flag is given
#   prompt         (AppArmor 4) what no rule covers is asked of a userspace agent and denied if it does not
#                  answer; the agent may allow what enforce would deny. The kernel calls it "user".
#   complain       what the rules do not allow is allowed and logged
#   default_allow  (AppArmor 4) what no rule covers is allowed, only deny rules apply; the parser loads it as
#                  the kernel's unconfined mode ("until dominance is fixed"), so the kernel shows "unconfined"
#   unconfined     the task behaves as if it had no profile
#   disabled       not loaded at boot (a link under disable/); unloaded: not in the kernel
# Two different mode flags on one profile are an error for the parser ("Profile flag 'x' conflicts with 'y'").
RANK = {'disabled': 0, 'unloaded': 0, 'unconfined': 1, 'default_allow': 1, 'complain': 2, 'prompt': 3, 'user': 3,
        'enforce': 4, 'kill': 5}
TOP_RANK = max(RANK.values())
MODE_FLAGS = ('enforce', 'complain', 'kill', 'unconfined', 'prompt', 'default_allow')
UNCONFINED_MODES = ('unconfined', 'default_allow')
# What /sys/kernel/security/apparmor/profiles shows for a profile loaded with each mode flag.
KERNEL_MODE = {'enforce': 'enforce', 'complain': 'complain', 'kill': 'kill', 'unconfined': 'unconfined',
               'prompt': 'user', 'default_allow': 'unconfined'}

# The other profile flags apparmor_parser 3.0 and 4.x know, with the path option each sets: the parser rejects
# a profile whose flags set two conflicting options. Flags ending in '=' take a value. apparmor_parser 3.0 rejects
# debug ("no longer valid"), interruptible, attach_disconnected.ipc and the flags with a value, as it rejects the
# modes prompt and default_allow: they are AppArmor 4's.
_OTHER_FLAGS = {
    'audit': '', 'debug': '', 'interruptible': '',
    'chroot_relative': 'chroot_relative', 'namespace_relative': 'namespace_relative',
    'mediate_deleted': 'mediate_deleted', 'delegate_deleted': 'delegate_deleted',
    'attach_disconnected': 'attach', 'no_attach_disconnected': 'no_attach',
    'chroot_attach': 'chroot_attach', 'chroot_no_attach': 'chroot_no_attach',
    'attach_disconnected.ipc': 'ipc_attach',
    'attach_disconnected.path=': 'attach', 'attach_disconnected.ipc=': 'ipc_attach', 'kill.signal=': '', 'error=': '',
}
# What the flags that take a value accept (a signal name or number, an errno name, a path).
_FLAG_VALUE = {'kill.signal=': re.compile(r'^[A-Za-z0-9+]+$'), 'error=': re.compile(r'^[Ee][A-Za-z0-9]+$'),
               # a path, or one starting with a variable (@{att}, as AppArmor 5 and apparmor.d profiles write it)
               'attach_disconnected.path=': re.compile(r'^(?:/|@\{[A-Za-z0-9_]+\})[^\x00-\x20]*$'),
               'attach_disconnected.ipc=': re.compile(r'^(?:/|@\{[A-Za-z0-9_]+\})[^\x00-\x20]*$')}
_CONFLICTS = (('chroot_relative', 'namespace_relative'), ('mediate_deleted', 'delegate_deleted'),
              ('attach', 'no_attach'), ('ipc_attach', 'no_attach'), ('chroot_attach', 'chroot_no_attach'))

# A safe profile reference: names, paths and glob characters, nothing a shell would act on.
SAFE_NAME = re.compile(r'^[A-Za-z0-9_.,/@+:*?\[\]{}^=-]+$')


class ProfileError(Exception):
    """A profile file confine.lsm cannot read as apparmor_parser does (line: 1-based, or None), or a bad reference."""

    def __init__(self, msg, line=None):
        Exception.__init__(self, msg if line is None else 'line %d: %s' % (line, msg))
        self.line = line


def rank(mode, unknown=TOP_RANK):
    """A mode's place in RANK. A mode not in it (the kernel's 'mixed', one this module does not know) counts as
    unknown: by default the strongest, so that leaving it is always treated as a lowering."""
    return RANK.get(mode, unknown)


def is_weakening(current_modes, wanted):
    """True when wanted is weaker than the strongest of current_modes (None entries are ignored)."""
    ranks = [rank(m) for m in current_modes if m]
    return bool(ranks) and rank(wanted, 0) < max(ranks)


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


# ------------------------------------------------------------------ reading profile files as apparmor_parser does
#
# The reader follows apparmor_parser's lexer (parser_lex.l) and grammar (parser_yacc.y) far enough to find every
# profile and hat: a header is [profile|hat|^] NAME [ATTACHMENT] [xattrs=(...)] [flags=(...) | (...)] '{', its
# tokens may be spread over lines with comments between them, and it ends at its '{'. Braces inside words
# (/usr/{bin,sbin}/x) and inside rules such as mount, dbus or change_profile are not blocks. What it cannot read
# the way the parser does raises ProfileError with the line: it never guesses a mode.

_BLANKS = re.compile(r'[ \t]*')
_WORD = re.compile(r'[A-Za-z][A-Za-z0-9_]*')
_ID = re.compile(r'(?:\\[ \t"!,#]|[^ \t\r\n"!,]|,[^ \t\r\n"!,])+')
_ID_REST = re.compile(r'(?:\\[ \t"!,]|[^ \t\r\n"!,]|,[^ \t\r\n"!,])*')
_QUOTED = re.compile(r'"(?:\\"|[^"\x00])*"')
_LIST_VALUE = re.compile(r'(?:\\[ \t"!,()]|[^ \t\n"!,()])+')
_MODE_RULE_WORD = re.compile(r'(?:[^ \t\r\n"!,()]|,[^ \t\r\n"!,()])+')
# In a mount rule a path word takes a \r as well: '/mnt/,\r\n' is one word for the parser, which then rejects the rule.
_MOUNT_WORD = re.compile(r'(?:[^ \t\n"!,()]|,[^ \t\n"!,()])+')
_CONDITION = re.compile(r'[A-Za-z][A-Za-z0-9_]*[ \t]*=(?!=)')
_EXPR_WORD = re.compile(r'(?:!=|[^ \t\r\n"!,(){])+')
_VARREF = re.compile(r'@(?:\{[A-Za-z][A-Za-z0-9_]*\}|[A-Za-z][A-Za-z0-9_]*)')
_BOOLREF = re.compile(r'\$(?:\{[A-Za-z][A-Za-z0-9_]*\}|[A-Za-z][A-Za-z0-9_]*)')
_ASSIGN_OP = re.compile(r'[ \t]*(?:\+=|\?=|:=|=)')
_EQUALS_NEXT = re.compile(r'[ \t]*=(?!=)')
_XATTRS = re.compile(r'xattrs[ \t]*=[ \t]*(?=\()')
_INCLUDE = re.compile(r'#?include(?:[ \t]+if[ \t]+exists)?(?=[ \t])')
_INCLUDE_TARGET = re.compile(r'<(?:[^">\t\r\n]+|"(?:\\"|[^"\x00])*")>|"(?:\\"|[^"\x00])*"|[^ \t\r\n"!,<>]+')
# Rule qualifiers that may open a block of rules ("audit deny { ... }"); 'else' continues an if block.
_QUALIFIERS = ('audit', 'deny', 'allow', 'owner', 'other', 'prompt', 'priority', 'else')
# Keywords after which the lexer reads the rest of the rule in its own state: there a '{' is part of a word.
_RULE_KEYWORDS = ('network', 'mount', 'remount', 'umount', 'dbus', 'signal', 'ptrace', 'unix', 'change_profile', 'abi',
                  'rlimit', 'userns', 'mqueue', 'io_uring')


MAX_INCLUDE_DEPTH = 32


def _where(header):
    return 'line %d%s' % (header['lineno'], ' of %s' % header['source'] if header.get('source') else '')


class _Reader(object):
    """Reads one text. With an opener (see include_opener), its includes are read where they stand, as the parser
    reads them: the included texts share the reader's state (profiles found, open blocks, names seen)."""

    def __init__(self, text, source=None, opener=None, state=None):
        self.text = text
        self.n = len(text)
        self.pos = 0
        self.newlines = [m.start() for m in re.finditer('\n', text)]
        self.source = source  # None: the file itself; else the included file
        self.opener = opener
        # scopes: the include files already read in each open profile (the parser reads a file once per profile)
        self.state = state if state is not None else {'profiles': [], 'stack': [], 'seen': {}, 'scopes': [set()],
                                                      'depth': 0}

    def line_of(self, pos):
        return bisect.bisect_left(self.newlines, pos) + 1

    def fail(self, msg, pos=None):
        raise ProfileError(msg, self.line_of(self.pos if pos is None else pos))

    def at(self, k=0):
        p = self.pos + k
        return self.text[p] if p < self.n else ''

    def here(self):
        """What is at pos, for messages."""
        if self.pos >= self.n:
            return 'the end of the file'
        m = _ID.match(self.text, self.pos)
        return repr(m.group() if m else self.text[self.pos])

    def blanks(self):
        self.pos = _BLANKS.match(self.text, self.pos).end()

    def line_end(self):
        """Consume \\n or \\r\\n; a \\r that ends no line is an error for the parser's lexer too."""
        c = self.at()
        if c == '\n':
            self.pos += 1
            return True
        if c == '\r':
            if self.at(1) == '\n':
                self.pos += 2
                return True
            self.fail('a carriage return that does not end a line (apparmor_parser rejects it)')
        return False

    def gap(self, includes=False):
        """Skip blanks, line ends and comments (and, at the start of a statement, include lines)."""
        while self.pos < self.n:
            self.blanks()
            if self.line_end():
                continue
            c = self.at()
            if includes and c in '#i' and _INCLUDE.match(self.text, self.pos):
                self.include()
                continue
            if c == '#':
                end = self.text.find('\n', self.pos)
                if end < 0:
                    self.fail('a comment ends the file without a line end (apparmor_parser rejects it)')
                self.pos = end + 1
                continue
            return

    def include(self):
        m = _INCLUDE.match(self.text, self.pos)
        if self.at() == '#' and self.text.find('\n', self.pos) < 0:
            self.fail('an #include ends the file without a line end (apparmor_parser rejects it)')
        self.pos = m.end()
        while self.pos < self.n and (self.at() in ' \t' or self.line_end()):
            self.blanks()
        target = _INCLUDE_TARGET.match(self.text, self.pos)
        if not target:
            self.fail('an include without a file name')
        self.pos = target.end()
        if self.opener:
            self.follow(target.group(), 'exists' in m.group(), m.start())

    def follow(self, target, if_exists, at):
        """Read the file(s) an include names where the include stands."""
        state = self.state
        try:
            found = self.opener(target, if_exists)
        except ProfileError as exc:
            self.fail(str(exc), at)
        depth = len(state['stack'])
        for key, path, text in found:
            if key in state['scopes'][-1]:
                continue  # apparmor_parser reads a file once per profile (and once at the top level)
            state['scopes'][-1].add(key)
            if state['depth'] >= MAX_INCLUDE_DEPTH:
                self.fail('includes nested more than %d deep (a loop?): confine.lsm does not read them'
                          % MAX_INCLUDE_DEPTH, at)
            state['depth'] += 1
            try:
                _Reader(text, path, self.opener, state).statements()
            except ProfileError as exc:
                self.fail('in %s %s' % (path, exc), at)
            finally:
                state['depth'] -= 1
            if len(state['stack']) != depth:
                self.fail('the included file %s opens or closes a block it does not close or open: confine.lsm does '
                          'not read it' % path, at)

    def quoted(self):
        m = _QUOTED.match(self.text, self.pos)
        if not m:
            self.fail('a quote that is not closed')
        self.pos = m.end()
        return m.group()[1:-1]

    def word_label(self):
        """A path-like word (the lexer's LABEL or a variable): /..., @{var}..., :..., &..."""
        start = self.pos
        c = self.at()
        if c == '@':
            m = _VARREF.match(self.text, self.pos)
            if not m:
                self.fail('an @ that starts no variable')
            self.pos = m.end()
            if self.at() and self.at() not in ' \t\n"!,=+?':
                self.pos += 1
                self.pos = _ID_REST.match(self.text, self.pos).end()
        elif c == '$':
            m = _BOOLREF.match(self.text, self.pos)
            if not m:
                self.fail('a $ that starts no variable')
            self.pos = m.end()
        else:
            self.pos += 1
            self.pos = _ID_REST.match(self.text, self.pos).end()
        return self.text[start:self.pos]

    # ---- the file

    def read(self):
        self.statements()
        stack = self.state['stack']
        if stack:
            inside = [p for p in stack if p]
            self.fail('the file ends before the block of %s is closed' % (inside[-1]['fullname'] if inside else 'a rule'),
                      self.n)
        return self.state['profiles']

    def statements(self):
        """Every statement up to the end of this text."""
        state = self.state
        profiles, stack, seen = state['profiles'], state['stack'], state['seen']
        while True:
            self.gap(includes=True)
            if self.pos >= self.n:
                return
            if self.at() == '}':
                if not stack:
                    self.fail('a } that closes nothing')
                if stack.pop() is not None:
                    state['scopes'].pop()
                self.pos += 1
                continue
            start = self.header_start(len(stack))
            if start is not None:
                if stack and stack[-1] is None:
                    self.fail('a profile or hat inside a block of rules: apparmor_parser drops it, so confine.lsm does '
                              'not read it')
                prof = self.header(start, stack[-1] if stack else None)
                if prof['fullname'] in seen:
                    first = seen[prof['fullname']]
                    self.fail('profile %s is defined twice (%s and %s): apparmor_parser rejects the file' % (
                        prof['fullname'], _where(first), _where(prof)), start[1])
                seen[prof['fullname']] = prof
                profiles.append(prof)
                stack.append(prof)
                state['scopes'].append(set())
                continue
            if not stack:
                if profiles:
                    self.fail('%s after the first profile: apparmor_parser accepts only profiles there' % self.here())
                self.preamble()
            elif self.rule() == 'block':
                stack.append(None)

    def header_start(self, depth):
        """(keyword, position, name position) when a profile or hat header begins at pos, else None."""
        text, pos = self.text, self.pos
        c = text[pos]
        if c == '^':
            return ('^', pos, pos + 1)
        m = _WORD.match(text, pos)
        if m and m.group() in ('profile', 'hat'):
            return (m.group(), pos, _BLANKS.match(text, m.end()).end())
        if depth == 0 and (c in '/":&' or (c == '@' and self.is_label(pos))):
            return (None, pos, pos)
        return None

    def is_label(self, pos):
        """At a top-level '@': a path beginning with a variable (a header), not a bare variable (an assignment)."""
        m = _VARREF.match(self.text, pos)
        return bool(m) and m.end() < self.n and self.text[m.end()] not in ' \t\n"!,=+?'

    def name(self, keyword, pos):
        self.pos = pos
        c = self.at()
        if keyword is None and c == '"':
            if self.at(1) not in ('/', '@', ':', '&'):
                self.fail('a quoted profile name at the top level must be a path (apparmor_parser rejects it)')
            name = self.quoted()
        elif keyword is None:
            name = self.word_label()
        elif c == '"':
            name = self.quoted()
        else:
            m = _ID.match(self.text, self.pos)
            if not m:
                self.fail('a name must follow "%s" on the same line (apparmor_parser rejects it)' % keyword)
            self.pos = m.end()
            name = m.group()
        if not name:
            self.fail('an empty profile name', pos)
        if name[0] in ':&':
            self.fail('profile %s is in a policy namespace (or a stack): confine.lsm does not manage those' % name, pos)
        if '@{' in name or (keyword is None and name[0] == '@'):
            self.fail('profile name %s holds a variable: confine.lsm does not expand variables in names' % name, pos)
        if any(c in name for c in '\\\n\r\x00'):
            self.fail('profile name %r holds a backslash, a line end or a NUL: confine.lsm does not read it' % name, pos)
        if keyword is None and name[0] != '/':
            self.fail('profile names without "profile" or "hat" must begin with / (apparmor_parser rejects %s)'
                      % name, pos)
        return name

    def header(self, start, parent):
        keyword, head_pos, name_pos = start
        name = self.name(keyword, name_pos)
        is_hat = keyword in ('hat', '^')
        attach, clause, stage = None, None, 0  # stage: 0 name, 1 attachment, 2 xattrs, 3 flags
        insert_at = self.pos
        while True:
            self.gap()
            if self.pos >= self.n:
                self.fail('the file ends in the header of %s' % name, head_pos)
            c = self.at()
            if c == '{':
                open_at = self.pos
                self.pos += 1
                break
            if stage < 3 and c == '(':
                clause = self.flags_list(self.pos, self.pos)
                stage = 3
            elif stage < 3 and self.text.startswith('flags', self.pos) and _EQUALS_NEXT.match(self.text, self.pos + 5):
                clause = self.flags_clause()
                stage = 3
            elif stage < 2 and _XATTRS.match(self.text, self.pos):
                if is_hat and parent is not None:
                    self.fail('hat %s has an xattrs match: apparmor_parser rejects it' % name)
                self.pos = _XATTRS.match(self.text, self.pos).end()
                self.skip_list()
                stage = 2
            elif stage == 0 and (c in '/"' or (c == '@' and self.at(1) == '{')):
                attach = self.quoted() if c == '"' else self.word_label()
                if not (attach.startswith('/') or attach.startswith('@{')):
                    self.fail('the attachment %s of %s must begin with / or a variable (apparmor_parser rejects it)'
                              % (attach, name))
                # '@{exe}\r\n': the parser's lexer keeps the \r in the word; it names no path
                attach = attach.rstrip('\r')
                stage = 1
            else:
                self.fail('unexpected %s in the header of %s: confine.lsm reads [profile|hat|^] NAME [ATTACHMENT] '
                          '[xattrs=(...)] [flags=(...)] {, as apparmor_parser does' % (self.here(), name))
            insert_at = self.pos
        values = [v for v, dummy, dummy2 in clause['values']] if clause else []
        mode = self.flags_mode(clause) if clause else 'enforce'
        fullname = '%s//%s' % (parent['fullname'], name) if parent else name
        return {'name': name, 'fullname': fullname, 'parent': parent['fullname'] if parent else None,
                'depth': parent['depth'] + 1 if parent else 0, 'keyword': keyword,
                'attach': attach if (attach or keyword) else name, 'flags': values, 'mode': mode,
                'line': self.line_of(head_pos) - 1, 'lineno': self.line_of(head_pos), 'start': head_pos,
                'open': open_at, 'clause': clause, 'insert_at': insert_at, 'source': self.source}

    def flags_clause(self):
        start = self.pos
        self.pos = _EQUALS_NEXT.match(self.text, self.pos + 5).end()
        self.blanks()
        if self.at() not in ('(', '\n'):
            self.fail('flags=%s without parentheses: apparmor_parser rejects it (write flags=(...))'
                      % (self.here() if self.at() != '\r' else ''))
        while self.at() != '(':
            self.blanks()
            if not self.line_end() and self.at() != '(':
                self.fail('flags= must be followed by a list in parentheses, found %s' % self.here())
        return self.flags_list(start, self.pos)

    def flags_list(self, start, open_at):
        """The values of a flags list: separated by blanks, line ends or commas, optionally quoted, no comments."""
        self.pos = open_at + 1
        values = []
        while True:
            if self.pos >= self.n:
                self.fail('the file ends inside a flags list', open_at)
            c = self.at()
            if c in ' \t\n,':
                self.pos += 1
            elif c == '\r' and self.at(1) == '\n':
                self.pos += 2
            elif c == ')':
                self.pos += 1
                break
            elif c == '"':
                begin = self.pos
                values.append((self.quoted(), begin, self.pos))
            elif c in '(!':
                self.fail('unexpected %r in a flags list (apparmor_parser rejects it)' % c)
            else:
                m = _LIST_VALUE.match(self.text, self.pos)
                values.append((m.group(), m.start(), m.end()))
                self.pos = m.end()
        if not values:
            self.fail('an empty flags list (apparmor_parser rejects it)', open_at)
        return {'start': start, 'open': open_at, 'end': self.pos, 'values': values}

    def flags_mode(self, clause):
        modes, options, valued = [], set(), {}
        for value, begin, dummy in clause['values']:
            if value in MODE_FLAGS:
                modes.append(value)
                continue
            key = value
            if value not in _OTHER_FLAGS or value.endswith('='):
                key = next((k for k in _OTHER_FLAGS if k.endswith('=') and value.startswith(k)
                            and _FLAG_VALUE[k].match(value[len(k):])), None)
                if key is None:
                    self.fail('unknown profile flag %r%s: confine.lsm does not know whether it sets a mode' % (
                        value, ' (a carriage return before a line end belongs to the flag for apparmor_parser)'
                        if '\r' in value else ''), begin)
                if valued.setdefault(key, value) != value:
                    self.fail('profile flags %s and %s conflict (apparmor_parser rejects them)'
                              % (valued[key], value), begin)
            if _OTHER_FLAGS[key]:
                options.add(_OTHER_FLAGS[key])
        for one, other in _CONFLICTS:
            if one in options and other in options:
                self.fail('the profile flags set both %s and %s (apparmor_parser rejects them)' % (one, other),
                          clause['open'])
        distinct = sorted(set(modes), key=modes.index)
        if len(distinct) > 1:
            self.fail('the modes %s conflict: apparmor_parser rejects a profile with two modes'
                      % ' and '.join(distinct), clause['open'])
        return distinct[0] if distinct else 'enforce'

    def skip_list(self):
        """From a '(' to its ')', over quotes and one level of nested lists (xattrs=(a=(b c)), peer=(name=x))."""
        open_at, depth = self.pos, 0
        while True:
            if self.pos >= self.n:
                self.fail('the file ends inside a list in parentheses', open_at)
            c = self.at()
            if c == '"':
                self.quoted()
                continue
            if c == '\r':
                self.line_end()
                continue
            if c == '!':
                self.fail('unexpected ! in a list (apparmor_parser rejects it)')
            self.pos += 1
            if c == '(':
                depth += 1
            elif c == ')':
                depth -= 1
                if depth == 0:
                    return

    # ---- what is not a header

    def preamble(self):
        """Before the first profile: variable assignments, abi and alias rules."""
        c = self.at()
        if c in '@$':
            m = (_VARREF if c == '@' else _BOOLREF).match(self.text, self.pos)
            op = m and _ASSIGN_OP.match(self.text, m.end())
            if not op:
                self.fail('unexpected %s before the first profile' % self.here())
            self.pos = op.end()
            self.assignment()
            return
        m = _WORD.match(self.text, self.pos)
        if m and m.group() == 'abi':
            self.pos = m.end()
            self.rule_in_own_state()
            return
        if m and m.group() == 'alias':
            if self.rule() == 'rule':
                return
        self.fail('unexpected %s before the first profile: apparmor_parser expects includes, abi, alias, variables, '
                  'then profiles' % self.here())

    def assignment(self):
        """The values of a variable assignment, up to the end of the line (a backslash continues it)."""
        while self.pos < self.n:
            self.blanks()
            c = self.at()
            if c == '' or self.line_end():
                return
            if c == '\\' and self.at(1) == '\n':
                self.pos += 2
            elif c == '#':
                end = self.text.find('\n', self.pos)
                if end < 0:
                    self.fail('a comment ends the file without a line end (apparmor_parser rejects it)')
                self.pos = end + 1
                return
            elif c == ',':
                self.fail('a comma in a variable assignment (apparmor_parser rejects it)')
            elif c == '"':
                self.quoted()
            else:
                m = _ID.match(self.text, self.pos)
                if not m:
                    self.fail('unexpected %r in a variable assignment' % c)
                self.pos = m.end()

    def rule(self):
        """One statement inside a profile: a rule up to its ',' ('rule'), or the start of a block ('block')."""
        start, words = self.pos, []
        while True:
            if words:
                self.gap()
            if self.pos >= self.n:
                self.fail('the file ends inside a rule', start)
            c = self.at()
            if c == ',':
                if not words:
                    self.fail('a comma that ends no rule')
                self.pos += 1
                return 'rule'
            if c == '{':
                if all(w in _QUALIFIERS for w in words):
                    self.pos += 1
                    return 'block'
                self.fail('a { after %s: apparmor_parser opens no block there' % self.text[start:self.pos].strip())
            if c == '}':
                self.fail('a rule without its closing comma before }', start)
            if c == '"':
                self.quoted()
                words.append('"')
            elif c == '(':
                self.skip_list()
                words.append('(')
            elif c == '-' and self.at(1) == '>':
                self.pos += 2
                self.arrow_target()
                words.append('->')
            elif c == '=' or (c in '+?:' and self.at(1) == '='):
                self.fail('an assignment inside a profile (apparmor_parser rejects it)')
            elif c in '/@:&$':
                self.word_label()
                words.append(c)
            else:
                m = _WORD.match(self.text, self.pos)
                if not m:
                    self.fail('unexpected %s in a rule (apparmor_parser rejects it)' % self.here())
                word = m.group()
                if word in ('profile', 'hat'):
                    self.fail('"%s" inside a rule (apparmor_parser rejects it)' % word)
                self.pos = m.end()
                if word == 'include' and self.at() in (' ', '\t'):
                    if self.opener:
                        self.fail('an include inside a rule (after %s): confine.lsm does not read it'
                                  % self.text[start:m.start()].strip())
                    self.pos = m.start()
                    self.include()
                    continue
                if word == 'flags' and _EQUALS_NEXT.match(self.text, self.pos):
                    self.fail('flags= inside a rule (apparmor_parser rejects it)')
                if _EQUALS_NEXT.match(self.text, self.pos):
                    self.condition_value()
                elif word in _RULE_KEYWORDS:
                    self.rule_in_own_state(_MOUNT_WORD if word in ('mount', 'remount', 'umount') else _MODE_RULE_WORD)
                    return 'rule'
                elif word == 'if':
                    self.condition()
                    return 'block'
                words.append(word)

    def condition_value(self):
        """name=value or name=(list) in a rule."""
        self.pos = _EQUALS_NEXT.match(self.text, self.pos).end()
        self.blanks()
        c = self.at()
        if c == '(':
            self.skip_list()
        elif c == '"':
            self.quoted()
        elif c not in ('\n', '\r', ''):
            m = _ID.match(self.text, self.pos)
            if not m:
                self.fail('unexpected %s after =' % self.here())
            self.pos = m.end()

    def arrow_target(self):
        while self.pos < self.n and (self.at() in ' \t' or self.line_end()):
            self.blanks()
        if self.at() == '"':
            self.quoted()
            return
        m = _ID.match(self.text, self.pos)
        if not m:
            self.fail('a -> without a target')
        self.pos = m.end()

    def rule_in_own_state(self, words=_MODE_RULE_WORD):
        """The rest of a network, mount, dbus, ... rule up to its ',': there braces and '#' belong to words."""
        start = self.pos
        while True:
            if self.pos >= self.n:
                self.fail('the file ends inside a rule', start)
            c = self.at()
            if c in ' \t':
                self.pos += 1
            elif self.line_end():
                continue
            elif c == ',':
                self.pos += 1
                return
            elif c == '"':
                self.quoted()
            elif c == '(':
                self.skip_list()
            elif _CONDITION.match(self.text, self.pos):
                self.pos = _WORD.match(self.text, self.pos).end()
                self.condition_value()
            else:
                m = words.match(self.text, self.pos)
                if not m:
                    self.fail('unexpected %r in a rule (apparmor_parser rejects it)' % c)
                if '\r' in m.group():
                    self.fail('a carriage return ends a word of a mount rule: apparmor_parser reads it as part of the '
                              'path and rejects the rule (use Unix line ends)')
                self.pos = m.end()

    def condition(self):
        """An if condition up to the '{' of its block."""
        start = self.pos
        while True:
            if self.pos >= self.n:
                self.fail('the file ends inside an if condition', start)
            c = self.at()
            if c in ' \t':
                self.pos += 1
            elif self.line_end():
                continue
            elif c == '{':
                if self.at(1) not in ('', ' ', '\t', '\n', '\r'):
                    self.fail('a { followed by text after an if condition: confine.lsm does not read it')
                self.pos += 1
                return
            elif c == '"':
                self.quoted()
            elif c in '()':
                self.pos += 1
            else:
                m = _EXPR_WORD.match(self.text, self.pos)
                if not m:
                    self.fail('unexpected %r in an if condition' % c)
                self.pos = m.end()


_CACHE = {}


def headers(text):
    """Every profile and hat of a profile file in file order, read as apparmor_parser reads them.

    Dicts with name (as the kernel names it: a hat without its '^'), fullname (parent//name, as the kernel lists
    it), parent, depth (0: top level), keyword ('profile', 'hat', '^' or None), attach, flags (the values of the
    flags list), mode (one of MODE_FLAGS; 'enforce' without a mode flag), line (0-based) and lineno.
    Raises ProfileError (with the line) where the file cannot be read as the parser reads it, or the parser would
    reject it. The result is shared between calls: do not change it.
    """
    if text in _CACHE:
        found = _CACHE[text]
        if isinstance(found, ProfileError):
            again = ProfileError(str(found))
            again.line = found.line
            raise again
        return found
    if len(_CACHE) > 256:
        _CACHE.clear()
    try:
        found = _Reader(text).read()
    except ProfileError as exc:
        _CACHE[text] = exc
        raise
    _CACHE[text] = found
    return found


# apparmor_parser skips these names when it reads a directory (libapparmor's _aa_is_blacklisted): dot files, README
# and packaging or backup leftovers.
PARSER_SKIPS = ('.dpkg-new', '.dpkg-old', '.dpkg-dist', '.dpkg-bak', '.dpkg-remove', '.pacsave', '.pacnew', '.rpmnew',
                '.rpmsave', '.orig', '.rej', '~')


def parser_skips(name):
    """True for a directory entry apparmor_parser does not read."""
    return not name or name.startswith('.') or name == 'README' or name.endswith(PARSER_SKIPS)


def read_regular(path, what='file'):
    """The text of a regular file, opened without blocking and without following a final symlink when nofollow:
    a FIFO, a device or a socket is refused (ProfileError), never opened for reading in a way that could hang."""
    flags = os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_NOCTTY', 0)
    try:
        fd = os.open(path, flags)
    except (IOError, OSError) as exc:
        raise ProfileError('cannot read the %s %s: %s' % (what, path, exc.strerror or exc))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ProfileError('the %s %s is not a regular file (a FIFO, a device or a socket): confine.lsm does not '
                               'read it' % (what, path))
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b''.join(chunks).decode('utf-8', 'surrogateescape')


def include_opener(base):
    """The include resolver of a reader that follows includes as apparmor_parser does with --base base and no -I:
    <name> is base/name (base is the parser's only search directory), "/path" and /path are that path, a directory
    is every regular file in it (sorted, without the names the parser skips, not recursing). It returns [(the key
    the parser remembers the file by, path, text)] and [] for a missing 'include if exists'; it raises ProfileError
    where the parser would fail or could hang (a missing file, a FIFO or device) and for a relative quoted path,
    which the parser resolves from its working directory."""
    base = base.rstrip('/') or '/'

    def opener(target, if_exists):
        if target.startswith('<'):
            name = unquote(target[1:-1])
            path = '%s/%s' % (base, name)
        else:
            path = unquote(target)
            if not path.startswith('/'):
                raise ProfileError('include %s names a relative path: apparmor_parser resolves it from its working '
                                   'directory, so confine.lsm does not read it (write <%s> or an absolute path)'
                                   % (target, path))
        if any(c in path for c in '\x00\n\r'):
            raise ProfileError('include %r names a path with a control character' % target)
        try:
            info = os.stat(path)
        except (IOError, OSError):
            if if_exists:
                return []
            raise ProfileError('include %s: %s does not exist (apparmor_parser rejects the file)' % (target, path))
        if stat.S_ISDIR(info.st_mode):
            found = []
            for entry in sorted(os.listdir(path)):
                full = '%s/%s' % (path, entry)
                if parser_skips(entry):
                    continue
                try:
                    if not stat.S_ISREG(os.stat(full).st_mode):
                        continue  # the parser reads the regular files of a directory only
                except (IOError, OSError):
                    continue
                found.append((full, full, read_regular(full, 'included file')))
            return found
        return [(path, path, read_regular(path, 'included file'))]
    return opener


def read_profiles(text, base):
    """Every profile and hat apparmor_parser sees in a profile file whose text is text, with --base base: those of
    the file itself (source None, as headers() returns them) and those its includes define (source: the included
    file), in reading order. Raises ProfileError where the file or an included one cannot be read as the parser
    reads it. Not cached: included files may change."""
    return _Reader(text, None, include_opener(base)).read()


def top_profiles(text):
    """Names of the top-level profiles in a file (what the kernel lists without '//')."""
    return [h['name'] for h in headers(text) if h['depth'] == 0]


def profile_modes(text):
    """[(full name, mode)] of every profile and hat, in file order."""
    return [(h['fullname'], h['mode']) for h in headers(text)]


def file_mode(text):
    """The mode of the top-level profiles (one of MODE_FLAGS) when they share one, 'mixed' when not, None without
    a profile."""
    modes = set(h['mode'] for h in headers(text) if h['depth'] == 0)
    if not modes:
        return None
    return modes.pop() if len(modes) == 1 else 'mixed'


def strongest(modes):
    """The mode of modes ranked highest (an unknown one counts as the strongest), None for none."""
    modes = [m for m in modes if m]
    return max(modes, key=rank) if modes else None


def weakest(modes):
    """The mode of modes ranked lowest (an unknown one counts as the weakest), None for none."""
    modes = [m for m in modes if m]
    return min(modes, key=lambda m: rank(m, -1)) if modes else None


def is_unconfined(text, keep=UNCONFINED_MODES):
    """True when every top-level profile is declared in one of the keep modes (unconfined, default_allow)."""
    tops = [h for h in headers(text) if h['depth'] == 0]
    return bool(tops) and all(h['mode'] in keep for h in tops)


def set_mode(text, mode, keep=UNCONFINED_MODES):
    """Return text with every profile and hat flagged for mode (one of MODE_FLAGS; enforce: no mode flag).

    Only mode flags move: the other flags (attach_disconnected, ...), a flags list spread over lines, comments,
    includes and every other byte stay. Profiles declared in one of the keep modes are left as they are.
    Raises ProfileError when the text cannot be read as apparmor_parser reads it.
    """
    if mode not in MODE_FLAGS:
        raise ValueError('unknown AppArmor mode %r' % mode)
    edits = []
    for h in headers(text):
        if h['mode'] not in keep:
            edits.extend(_mode_edits(text, h, mode))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _mode_edits(text, h, mode):
    """[(start, end, replacement)] that put header h in mode."""
    clause = h['clause']
    values = clause['values'] if clause else []
    present = set(v for v, dummy, dummy2 in values if v in MODE_FLAGS)
    if present == set([mode]) or (mode == 'enforce' and not present):
        return []
    want = None if mode == 'enforce' else mode
    if not clause:
        return [(h['insert_at'], h['insert_at'], ' flags=(%s)' % want)]
    kept = []  # (text, index in values) of the values that stay, the new mode in place of the first mode flag
    for i, (value, start, end) in enumerate(values):
        if value not in MODE_FLAGS:
            kept.append((text[start:end], i))
        elif want:
            kept.append((want, i))
            want = None
    if not kept:
        return [_remove_clause(text, clause)]
    out = kept[0][0]
    for (dummy, i), (value_text, dummy2) in zip(kept, kept[1:]):
        out += text[values[i][2]:values[i + 1][1]] + value_text
    if want:
        out += ', ' + want
    return [(values[0][1], values[-1][2], out)]


def _remove_clause(text, clause):
    """The edit that removes a flags clause, with the blanks before it, or its whole line when it stands alone. A
    blank stays between the tokens the clause separated ('p flags=(complain){' -> 'p {', not 'p{')."""
    start, end = clause['start'], clause['end']
    glue = '' if end >= len(text) or text[end] in ' \t\r\n' else ' '
    before = start
    while before > 0 and text[before - 1] in ' \t':
        before -= 1
    if before == 0 or text[before - 1] == '\n':
        after = end
        while after < len(text) and text[after] in ' \t':
            after += 1
        if text.startswith('\n', after) or text.startswith('\r\n', after):
            return (before, after + (1 if text[after] == '\n' else 2), '')
        return (start, after, '')
    return (before, end, glue)


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

def unreadable(path, text):
    """Why the profile file at path cannot be read as apparmor_parser reads it ('PATH line N: ...'), or None."""
    try:
        headers(text)
    except ProfileError as exc:
        return '%s %s' % (path, exc)
    return None


def profile_files(profile_dir):
    """{path: text} of every profile file directly under profile_dir: those holding a profile, and those that
    cannot be read as apparmor_parser reads them (headers() raises for them; see unreadable())."""
    found = {}
    for entry in sorted(os.listdir(profile_dir)):
        path = os.path.join(profile_dir, entry)
        if entry.startswith('.') or entry in SKIP_DIRS or entry.endswith(SKIP_SUFFIXES) or entry == 'README':
            continue
        if not os.path.isfile(path):
            continue
        try:
            text = read_regular(path, 'profile file')  # never blocks: swapped for a FIFO since isfile, it is skipped
        except ProfileError:
            continue
        try:
            if headers(text):
                found[path] = text
        except ProfileError:
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
    a glob must match at least one. A file that cannot be read as apparmor_parser reads it is matched by its file
    name and path only; a reference that matches it is an error that names the file and the line.
    """
    index, bad = {}, {}
    for path, text in files.items():
        keys = set([os.path.basename(path), path])
        try:
            found = headers(text)
        except ProfileError as exc:
            bad[path] = '%s %s' % (path, exc)
            found = []
        for h in found:
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
            errors.append('no AppArmor profile matches %r in %s%s' % (
                ref, profile_dir, '' if not bad else ' (files that could not be read, which may define it: %s)'
                % '; '.join(bad[p] for p in sorted(bad))))
            continue
        if any(p in bad for p in matched):
            errors.append('%r matches a file that confine.lsm cannot read as apparmor_parser does, so it does not '
                          'guess its mode: %s' % (ref, '; '.join(bad[p] for p in matched if p in bad)))
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
