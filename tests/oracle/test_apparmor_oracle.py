"""Differential test: confine.lsm's AppArmor profile reader against the real reader, the host's apparmor_parser.

Profile texts are generated from the pieces that decide how a file is read: header forms (profile NAME, hat,
^hat, a path, quoted names), attachments, xattrs, flags lists in every combination and order (modes, other flags,
AppArmor 4 flags, invalid ones) with and without flags=, spread over lines, comments, several profiles, hats and
child profiles, rules with braces, CRLF line ends. For each text:

- the parser rejects it: the module must refuse it (ProfileError), never report a mode;
- the parser accepts it: the module reports the same profiles (full names, as the kernel lists them) with the
  same modes, or refuses it when the text holds something the module deliberately does not read (a hat inside a
  rule block, which the parser silently drops);
- set_mode's output, given back to the parser, has the mode asked for on every profile the module changed and the
  old mode on every profile it left alone; nothing outside the headers moved.

apparmor_parser 3.0 does not know AppArmor 4's flags (prompt, default_allow, kill.signal=, ...); the module does.
For texts with such flags the parser reads a copy in which each is replaced by a 3.0 flag that keeps the same
conflicts (a mode by a mode the list does not hold yet), and the parser's modes are mapped back.

Texts with includes (test_includes_read_as_apparmor_parser_does): the base dir gets generated tunables (variables,
nested includes, a directory of them) and abstractions that define child or top-level profiles in every mode, the
text includes them inside profiles, at the top level, twice, by other spellings, through a directory; the module's
read_profiles (which follows includes) must list the same full names and modes as the parser, and set_mode's output
must read back with the asked mode on the file's own profiles and the declared one on the included ones.

The parser is asked twice per text: -N prints the full names, -d the modes (on stderr, in the same order).
The test fails, not skips, when apparmor_parser is missing: CI installs it (scripts/host-deps.sh, package apparmor).
"""
from __future__ import absolute_import, division, print_function

import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from lab import util as _lab_util  # noqa: E402  pylint: disable=wrong-import-position

_lab_util.import_checkout()
from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa  # noqa: E402  pylint: disable=C0413

PARSER = os.environ.get('APPARMOR_PARSER') or shutil.which('apparmor_parser') or '/usr/sbin/apparmor_parser'


def _have_parser():
    return os.path.isfile(PARSER) and os.access(PARSER, os.X_OK)


@pytest.fixture(scope='module')
def base():
    """A parser base dir holding the host's abi files (for 'abi <abi/3.0>,') and nothing else."""
    assert _have_parser(), (
        'apparmor_parser not found (looked for %s): this test needs the real parser as its oracle. Install the '
        'apparmor package (scripts/host-deps.sh does) or set APPARMOR_PARSER' % PARSER)
    tmp = tempfile.mkdtemp(prefix='confine-aa-oracle-')
    if os.path.isdir('/etc/apparmor.d/abi'):
        shutil.copytree('/etc/apparmor.d/abi', os.path.join(tmp, 'abi'))
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def run_parser(base_dir, text, what):
    path = os.path.join(base_dir, 'profile')
    with open(path, 'wb') as f:
        f.write(text.encode('utf-8'))
    proc = subprocess.run([PARSER, '-Q', '--base', base_dir, '--subdomainfs', base_dir, what, path],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def parser_read(base_dir, text):
    """[(full name, mode)] in the parser's order, or (None, its error)."""
    rc, out, err = run_parser(base_dir, text, '-d')
    if rc != 0:
        return None, aa.parser_message(err)
    modes = [line[len('Mode: '):].split(',')[0].strip() or 'enforce'
             for line in err.splitlines() if line.startswith('Mode: ')]
    local = [line.split('\t')[-1] for line in out.splitlines() if line.startswith('Name:')]
    assert not any(line.startswith('Ns:') for line in out.splitlines()), 'a namespaced profile: %r' % text
    rc, out, err = run_parser(base_dir, text, '-N')
    assert rc == 0, 'apparmor_parser -d accepted but -N rejected %r: %s' % (text, err)
    names = out.splitlines()
    assert len(names) == len(modes) == len(local), (names, modes, local)
    assert [n.split('//')[-1] for n in names] == local, (names, local)
    return list(zip(names, modes)), None


def parser_modes_in_order(base_dir, text):
    """The parser's modes of text, in its order (the names are those of the text set_mode started from)."""
    rc, out, err = run_parser(base_dir, text, '-d')
    assert rc == 0, 'apparmor_parser rejects what set_mode wrote:\n%s\n%s' % (text, aa.parser_message(err))
    local = [line.split('\t')[-1] for line in out.splitlines() if line.startswith('Name:')]
    modes = [line[len('Mode: '):].split(',')[0].strip() or 'enforce'
             for line in err.splitlines() if line.startswith('Mode: ')]
    return local, modes


def module_read(text):
    try:
        return aa.profile_modes(text), None
    except aa.ProfileError as exc:
        return None, str(exc)


# ------------------------------------------------------------------ the generator

MODES = list(aa.MODE_FLAGS)
OTHER = ['audit', 'attach_disconnected', 'mediate_deleted', 'chroot_relative', 'no_attach_disconnected',
         'delegate_deleted', 'namespace_relative', 'chroot_no_attach']
NEWER = ['debug', 'interruptible', 'kill.signal=hup', 'error=EPERM', 'attach_disconnected.path=/x',
         'attach_disconnected.ipc']
INVALID = ['bogus', 'Complain', 'user', 'enforced', '#x', 'kill.signal=']
# What stands in for an AppArmor 4 flag when the 3.0 parser reads the text: the same conflicts.
DOWNGRADE = {'debug': 'audit', 'interruptible': 'audit', 'kill.signal=hup': 'audit', 'error=EPERM': 'audit',
             'attach_disconnected.path=/x': 'attach_disconnected', 'attach_disconnected.ipc': 'attach_disconnected'}
V3_MODES = ['enforce', 'complain', 'kill', 'unconfined']

FLAG = st.sampled_from(MODES * 6 + OTHER * 3 + NEWER * 2 + INVALID)
LIST_SEP = st.sampled_from([', ', ',', ' ', ',\n    ', '\n    ', ' , ', '\t'])
GAP = st.sampled_from([' ', ' ', ' ', '\t', '\n  ', ' # note {\n  ', '  '])
NAMES = st.sampled_from(['a', 'b', 'nginx', 'p#x', 'x.y-1', 'c', 'd'])
RULES = st.sampled_from([
    '/tmp/** r,', '/usr/{bin,sbin}/x ix,', 'capability chown,', 'network inet stream,', 'deny /etc/shadow rw,',
    'owner @{HOME}/** r,', '"/a b/" r,', 'mount options=(ro,bind) /a/{b,c} -> /mnt/,',
    'dbus send bus=session member={A,B} peer=(name=org.x),', 'signal (send) peer=unconfined,',
    'change_profile -> {a,b},', 'ptrace (read) peer={a,b},', 'unix (send) type=stream,',
    'set rlimit nofile <= 1024,', '/usr/bin/x Cx -> c,', 'file,', 'include if exists <nothere>',
    '/tmp/x r, # a { in a comment', 'audit {\n    /tmp/y r,\n  }', 'audit deny /z w,', 'link /a -> /b,'])


@st.composite
def flag_clause(draw):
    flags = draw(st.lists(FLAG, max_size=draw(st.sampled_from([1, 2, 2, 3, 4]))))
    if not flags:
        form = draw(st.sampled_from(['none'] * 9 + ['empty']))
        return {'form': form, 'flags': []}
    form = draw(st.sampled_from(['flags='] * 4 + ['paren', 'paren', 'spaced', 'newline', 'newline', 'bare']))
    if form == 'bare' and len(flags) > 1:
        form = 'flags='
    return {'form': form, 'flags': flags, 'seps': [draw(LIST_SEP) for dummy in flags[1:]],
            'lead': draw(st.sampled_from(['', '', ',', '\n    ', ' '])), 'trail': draw(st.sampled_from(['', '', ',', '\n']))}


@st.composite
def profile(draw, depth, parent):
    if depth == 0:
        form = draw(st.sampled_from(['profile'] * 4 + ['quoted', 'path', 'path', 'quoted path', 'hat', '^', 'bare']))
    else:
        form = draw(st.sampled_from(['profile', 'profile', '^', '^', '^', 'hat', 'hat', 'path']))
    name = draw(NAMES)
    if form == 'profile':
        head, kname = 'profile%s%s' % (draw(st.sampled_from([' ', ' ', '\t', '  '])), name), name
    elif form == 'quoted':
        head, kname = 'profile "%s app"' % name, '%s app' % name
    elif form == 'path':
        head, kname = '/usr/bin/%s' % name, '/usr/bin/%s' % name
    elif form == 'quoted path':
        head, kname = '"/opt/%s dir/run"' % name, '/opt/%s dir/run' % name
    elif form == 'hat':
        head, kname = 'hat %s' % name, name
    elif form == '^':
        head, kname = '^%s' % name, name
    else:
        head, kname = name, name
    fullname = '%s//%s' % (parent, kname) if parent else kname
    parts = [head]
    if form in ('profile', 'quoted', 'path', 'hat', '^') and draw(st.booleans()):
        parts.append(draw(st.sampled_from(['/usr/bin/%s' % name, '/usr/{bin,sbin}/%s' % name, '"/opt/a b/%s"' % name,
                                           '@{exe}', '@{exe}/x', '/usr/bin/%s' % name, 'attach'])))
    if form in ('profile', 'path') and draw(st.integers(0, 5)) == 0:
        parts.append('xattrs=(user.x=y)')
    clause = draw(flag_clause())
    children = []
    if depth < 2:
        children = draw(st.lists(profile(depth + 1, fullname), max_size=2 if depth == 0 else 1))
    return {'form': form, 'name': kname, 'fullname': fullname, 'parts': parts, 'gaps': [draw(GAP) for dummy in parts],
            'clause': clause, 'open_gap': draw(st.sampled_from([' '] * 7 + ['', '\n', '\t'])),
            'after_open': draw(st.sampled_from(['', '', ' # body'])), 'rules': draw(st.lists(RULES, max_size=3)),
            'children': children, 'in_block': depth > 0 and draw(st.integers(0, 12)) == 0,
            'close': draw(st.sampled_from(['}', '}', '} # end']))}


@st.composite
def profile_file(draw):
    spec = {'preamble': draw(st.lists(st.sampled_from(['abi <abi/3.0>,', '# a comment {', 'include if exists <nothere>',
                                                       '@{x} = /a /b  # two values', '$b = true']),
                                      max_size=3, unique=True)),
            'profiles': draw(st.lists(profile(0, None), min_size=1, max_size=3)),
            'crlf': draw(st.integers(0, 5)) == 0, 'final_newline': draw(st.integers(0, 6)) != 0}
    return spec


def render_clause(clause, subst):
    if clause['form'] == 'none':
        return ''
    if clause['form'] == 'empty':
        return 'flags=()'
    flags = [subst.get(f, f) for f in clause['flags']]
    if clause['form'] == 'bare':
        return 'flags=' + flags[0]
    inner = flags[0]
    for sep, flag in zip(clause['seps'], flags[1:]):
        inner += sep + flag
    inner = clause['lead'] + inner + clause['trail']
    return {'flags=': 'flags=(%s)', 'paren': '(%s)', 'spaced': 'flags = ( %s )',
            'newline': 'flags=\n    (%s)'}[clause['form']] % inner


def substitution(clause):
    """{AppArmor 4 flag: its 3.0 stand-in} for one flags list; a mode gets a mode the list does not hold."""
    subst = dict((f, DOWNGRADE[f]) for f in clause['flags'] if f in DOWNGRADE)
    free = [m for m in V3_MODES if m not in clause['flags']]
    for f in ('prompt', 'default_allow'):
        if f in clause['flags']:
            subst[f] = free.pop(0)
    return subst


def render_profile(p, downgrade, out, modes_back, indent=''):
    subst = substitution(p['clause']) if downgrade else {}
    modes_back[p['fullname']] = dict((v, k) for k, v in subst.items() if k in aa.MODE_FLAGS)
    text = indent + p['parts'][0]
    for gap, part in zip(p['gaps'][1:], p['parts'][1:]):
        text += gap + part
    clause = render_clause(p['clause'], subst)
    if clause:
        text += p['gaps'][0] + clause
    text += p['open_gap'] + '{' + p['after_open'] + '\n'
    for rule in p['rules']:
        text += indent + '  ' + rule + '\n'
    for child in p['children']:
        if child['in_block']:
            text += (indent + '  audit {\n' + render_profile_text(child, downgrade, modes_back, indent + '    ')
                     + indent + '  }\n')
        else:
            text += render_profile_text(child, downgrade, modes_back, indent + '  ')
    text += indent + p['close'] + '\n'
    out.append(text)


def render_profile_text(p, downgrade, modes_back, indent):
    out = []
    render_profile(p, downgrade, out, modes_back, indent)
    return out[0]


def render(spec, downgrade=False):
    modes_back = {}
    text = ''.join(line + '\n' for line in spec['preamble'])
    # the variables the pieces use are declared (the parser rejects an undeclared one; the module, which does not
    # follow includes, cannot know which are)
    if any('@{exe}' in part for p in walk(spec) for part in p['parts']):
        text += '@{exe} = /usr/bin/exe /usr/sbin/exe\n'
    if any('@{HOME}' in rule for p in walk(spec) for rule in p['rules']):
        text += '@{HOME} = /home/*/ /root/\n'
    for p in spec['profiles']:
        text += render_profile_text(p, downgrade, modes_back, '')
    if not spec['final_newline']:
        text = text[:-1]
    if spec['crlf']:
        text = text.replace('\n', '\r\n')
    return text, modes_back


def walk(spec):
    stack = list(spec['profiles'])
    while stack:
        p = stack.pop()
        yield p
        stack.extend(p['children'])


def has_newer(spec):
    return any(f in DOWNGRADE or f in ('prompt', 'default_allow') for p in walk(spec) for f in p['clause']['flags'])


def deliberately_unread(spec):
    """Texts the parser accepts that the module refuses on purpose: a hat or child inside a rule block."""
    return any(p['in_block'] for p in walk(spec))


def outside_headers(text):
    """text without its profile headers (start to the opening brace): what set_mode must never change."""
    out, pos = [], 0
    for h in aa.headers(text):
        out.append(text[pos:h['start']])
        pos = h['open']
    return ''.join(out) + text[pos:]


# ------------------------------------------------------------------ the checks

def note(what):
    try:
        event(what)
    except Exception:  # pylint: disable=broad-except  # outside a hypothesis test (the fixed cases)
        pass


def check_text(base_dir, text, oracle_text, modes_back, unread_ok, wanted, keep):
    mine, why = module_read(text)
    theirs, their_error = parser_read(base_dir, oracle_text)
    if theirs is None:
        note('parser rejects: %s' % re.sub(r'.* at line [0-9]+: ', '', their_error.splitlines()[0])[:50])
        assert mine is None, ('apparmor_parser rejects this text but the module reads it as %r.\napparmor_parser '
                              'said: %s\ntext: %r' % (mine, their_error, text))
        return
    if mine is None:
        note('module refuses what the parser accepts')
        assert unread_ok, ('apparmor_parser reads %r but the module refuses: %s\ntext: %r' % (theirs, why, text))
        return
    note('both read it')
    expected = sorted((name, modes_back.get(name, {}).get(mode, mode)) for name, mode in theirs)
    assert sorted(mine) == expected, ('the module reads %r, apparmor_parser %r\ntext: %r' % (
        sorted(mine), expected, text))

    new = aa.set_mode(text, wanted, keep)
    assert aa.set_mode(new, wanted, keep) == new, 'set_mode is not idempotent on %r' % text
    assert outside_headers(new) == outside_headers(text), 'set_mode changed more than headers in %r' % text
    after = dict(aa.profile_modes(new))
    want = dict((name, mode if mode in keep else wanted) for name, mode in mine)
    assert after == want, 'set_mode(%s, keep=%s) reads back as %r, not %r\n%r' % (wanted, keep, after, want, new)
    if any(f in DOWNGRADE or f in ('prompt', 'default_allow') for h in aa.headers(new) for f in h['flags']):
        return  # AppArmor 4 flags are left: the 3.0 parser cannot read the result
    note('set_mode output checked by the parser')
    local, modes = parser_modes_in_order(base_dir, new)
    names = [name for name, dummy in theirs]
    assert [n.split('//')[-1] for n in names] == local, 'set_mode changed the profiles: %r -> %r' % (names, local)
    read_back = dict(zip(names, modes))
    assert read_back == want, 'apparmor_parser reads set_mode(%s, keep=%s) as %r, not %r\n%r' % (
        wanted, keep, read_back, want, new)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profile_file(), st.sampled_from(['enforce', 'complain', 'kill']), st.sampled_from([(), aa.UNCONFINED_MODES]))
def test_module_reads_profiles_as_apparmor_parser_does(base, spec, wanted, keep):
    text, modes_back = render(spec)
    oracle_text, modes_back = render(spec, downgrade=True) if has_newer(spec) else (text, {})
    check_text(base, text, oracle_text, modes_back, deliberately_unread(spec), wanted, keep)


# Cases found while writing the reader, each checked the same way.
CASES = [
    'profile p flags=(complain\r\n) {\n}\n', 'profile p flags=(\r\ncomplain,attach_disconnected) {\r\n}\r\n',
    'profile p flags=(complain)#c {\n}\n', 'profile p flags=(complain) #c\n{\n}\n', 'profile p {#c\n}\n',
    'profile\np {\n}\n', 'profile p\n{\n}\n', 'profile p\n/usr/bin/p\nflags\n=\n(\ncomplain\n)\n{\n}\n',
    'profile p flags=\n(complain) {\n}\n', 'profile p flags=\r\n(complain) {\n}\n', 'profile p{\n}\n',
    'profile p flags=(complain){\n}\n', 'profile p#x {\n}\n', '"/opt/my app" (complain) {\n}\n',
    '/usr/bin/{a,b} flags=(complain) {\n}\n', 'profile p flags=(complain) xattrs=(a=b) {\n}\n',
    'profile p {\n ^ h {\n }\n}\n', 'profile p {\n hat\th (kill) {\n }\n}\n', 'profile p {\n /usr/bin/x {\n }\n}\n',
    'profile p {\n profile c /usr/bin/c (complain) {\n  ^h2 {\n  }\n }\n}\n', 'profile p { /tmp/a r, } profile q '
    '(complain) { }\n', 'profile p {\n} # end', 'profile p flags=(complain,,kill) {\n}\n', 'p {\n}\n',
    'profile p (complain) (audit) {\n}\n', 'profile p foo {\n}\n', '$b = true\nprofile p {\n if $b {\n  /a r,\n } '
    'else {\n  /b r,\n }\n}\n', 'profile p {\n}\n@{x}=y\nprofile q {\n}\n', 'profile p {\n /tmp/a,} \n}\n',
    'profile a {\n}\nprofile a (complain) {\n}\n', 'profile p flags=complain {\n}\n', 'profile p flags=() {\n}\n',
    'profile k flags=(kill) {\n}\nprofile e {\n ^h flags=(complain) {\n }\n}\n',
    'profile p /usr/bin/p flags=(\n    attach_disconnected,\n    complain\n) {\n}\n',
    'profile p flags=(\n    complain\n) {\n}\n', 'profile p /a xattrs = (a=b)\n  # c\n  (kill) {\n}\n',
    'profile x # the x profile { not a brace\n  /usr/bin/x # its binary\n  (complain)\n{ # body\n}\n',
    'profile\tp\tflags=(\r\n\tattach_disconnected,\r\n\tcomplain,\r\n)\t{\r\n}\r\n',
    'profile k /usr/bin/k flags=(kill) {\n  ^hat flags=(complain) {\n  }\n  profile child {\n  }\n}\n'
    'profile e /usr/bin/e {\n  hat other (kill) {\n  }\n}\nprofile u flags=(unconfined) {\n}\n',
    'profile p {\n mount options=(ro,bind) /a/{b,c} -> /mnt/,\n dbus send bus=session member={A,B} peer=(name=o),\n'
    ' signal (send) peer=unconfined,\n change_profile -> {a,b},\n ptrace (read) peer={a,b},\n "/a b/" r,\n'
    ' set rlimit nofile <= 1024,\n /usr/{bin,sbin}/x Cx -> c,\n profile c {\n }\n}\n',
    'profile p {\r\n  mount /a -> /mnt/,\r\n}\r\n', '# a\x00b\nprofile p {\n}\n',
    'profile "my app" /opt/my\\ app flags=(kill) {\n}\n', 'profile p { /tmp/{a,b} r, }\n',
]


@pytest.mark.parametrize('text', CASES)
@pytest.mark.parametrize('wanted', ['enforce', 'complain', 'kill'])
def test_cases(base, text, wanted):
    check_text(base, text, text, {}, False, wanted, ())


# ------------------------------------------------------------------ includes

INC_NAMES = st.sampled_from(['helper', 'sanitized_helper', 'h2', 'x'])
V3_FLAGS = st.lists(st.sampled_from(V3_MODES * 3 + OTHER + ['bogus']), max_size=2)


@st.composite
def included_profile(draw):
    flags = draw(V3_FLAGS)
    clause = ' flags=(%s)' % ','.join(flags) if flags else ''
    rules = ''.join('  %s\n' % r for r in draw(st.lists(RULES, max_size=2)))
    return 'profile %s%s {\n%s}\n' % (draw(INC_NAMES), clause, rules)


@st.composite
def include_tree(draw):
    """{relative path: text} for the base dir, and the include lines a profile text can use."""
    files = {'tunables/global': '@{exe} = /usr/bin/exe /usr/sbin/exe\ninclude <tunables/home>\n'
                                'include if exists <tunables/global.d>\n',
             'tunables/home': '@{HOME} = /home/*/ /root/\n',
             'tunables/global.d/extra': '@{extra} = /opt/extra\n',
             'tunables/global.d/README': 'not read by the parser {\n'}
    for i in range(3):
        body = draw(st.lists(st.one_of(included_profile(), RULES.map(lambda r: r + '\n')), min_size=1, max_size=3))
        files['abstractions/gen%d' % i] = ''.join(body)
    files['abstractions/gen.d/one'] = draw(included_profile())
    files['abstractions/gen.d/two.dpkg-old'] = 'profile skipped {\n}\n'
    files['abstractions/top'] = draw(included_profile())
    return files


INNER_INCLUDES = st.sampled_from([
    'include <abstractions/gen0>', 'include <abstractions/gen1>', '#include <abstractions/gen2>',
    'include <abstractions/gen.d>', 'include if exists <abstractions/nothere>', 'include if exists <abstractions/gen0>',
    'include "%(base)s/abstractions/gen0"', 'include <abstractions//gen1>', 'include <abstractions/top>'])


@st.composite
def include_text(draw):
    """A profile file that uses the tree's includes (%(base)s stands for the base dir)."""
    out = ['include <tunables/global>']
    if draw(st.booleans()):
        out.append('include <abstractions/top>')
    for i, name in enumerate(draw(st.lists(st.sampled_from(['p', 'q', '/usr/bin/r']), min_size=1, max_size=2,
                                           unique=True))):
        flags = draw(V3_FLAGS)
        head = name if name.startswith('/') else 'profile %s' % name
        if draw(st.booleans()):
            head += ' @{exe}'
        head += ' flags=(%s)' % ','.join(flags) if flags else ''
        out.append(head + ' {')
        for line in draw(st.lists(st.one_of(INNER_INCLUDES, RULES), max_size=4)):
            out.append('  ' + line)
        if draw(st.booleans()):
            out.append('  ^hat {')
            out.extend('    ' + line for line in draw(st.lists(INNER_INCLUDES, max_size=2)))
            out.append('  }')
        out.append('}')
        if i == 0 and draw(st.integers(0, 3)) == 0:
            out.append('include <abstractions/top>')
    return '\n'.join(out) + '\n'


@pytest.fixture(scope='module')
def inc_base(base):
    """A base dir of its own for the include texts (abi files too), rewritten for each example."""
    tmp = tempfile.mkdtemp(prefix='confine-aa-oracle-inc-')
    if os.path.isdir(os.path.join(base, 'abi')):
        shutil.copytree(os.path.join(base, 'abi'), os.path.join(tmp, 'abi'))
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def write_tree(base_dir, files):
    for sub in ('tunables', 'abstractions'):
        shutil.rmtree(os.path.join(base_dir, sub), ignore_errors=True)
    for rel, text in files.items():
        path = os.path.join(base_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)


def check_includes(base_dir, text, wanted, keep):
    try:
        mine, why = [(h['fullname'], h['mode']) for h in aa.read_profiles(text, base_dir)], None
    except aa.ProfileError as exc:
        mine, why = None, str(exc)
    theirs, their_error = parser_read(base_dir, text)
    if theirs is None:
        note('includes: parser rejects')
        assert mine is None, ('apparmor_parser rejects this text but the module reads it as %r.\napparmor_parser '
                              'said: %s\ntext: %r' % (mine, their_error, text))
        return
    assert mine is not None, 'apparmor_parser reads %r but the module refuses: %s\ntext: %r' % (theirs, why, text)
    note('includes: both read it (%d profiles from includes)' % min(
        3, len([h for h in aa.read_profiles(text, base_dir) if h['source']])))
    assert sorted(mine) == sorted(theirs), 'the module reads %r, apparmor_parser %r\ntext: %r' % (
        sorted(mine), sorted(theirs), text)
    new = aa.set_mode(text, wanted, keep)
    own = set(h['fullname'] for h in aa.headers(text))
    want = sorted((name, wanted if name in own and mode not in keep else mode) for name, mode in mine)
    read_back, error = parser_read(base_dir, new)
    assert read_back is not None, 'apparmor_parser rejects what set_mode wrote:\n%s\n%s' % (new, error)
    assert sorted(read_back) == want, 'apparmor_parser reads set_mode(%s) as %r, not %r\n%r' % (
        wanted, sorted(read_back), want, new)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(include_tree(), include_text(), st.sampled_from(['enforce', 'complain', 'kill']),
       st.sampled_from([(), aa.UNCONFINED_MODES]))
def test_includes_read_as_apparmor_parser_does(inc_base, files, text, wanted, keep):
    write_tree(inc_base, files)
    check_includes(inc_base, text % {'base': inc_base}, wanted, keep)


def test_the_hosts_own_abstractions_and_tunables(base):
    """The real /etc/apparmor.d abstractions and tunables (ubuntu-helpers defines sanitized_helper) as includes."""
    tmp = tempfile.mkdtemp(prefix='confine-aa-oracle-host-')
    try:
        for sub in ('abi', 'abstractions', 'tunables'):
            assert os.path.isdir(os.path.join('/etc/apparmor.d', sub)), 'the apparmor package ships /etc/apparmor.d/%s' % sub
            shutil.copytree(os.path.join('/etc/apparmor.d', sub), os.path.join(tmp, sub), symlinks=True)
        checked = 0
        for name in sorted(os.listdir(os.path.join(tmp, 'abstractions'))):
            if not os.path.isfile(os.path.join(tmp, 'abstractions', name)) or aa.parser_skips(name):
                continue
            text = ('include <tunables/global>\nprofile p /usr/bin/p flags=(complain) {\n  include <abstractions/%s>\n'
                    '}\n' % name)
            check_includes(tmp, text, 'enforce', ())
            checked += 1
        assert checked > 20
        assert os.path.isfile(os.path.join(tmp, 'abstractions', 'ubuntu-helpers'))
        helpers = aa.read_profiles('profile p {\n  include <abstractions/ubuntu-helpers>\n}\n', tmp)
        assert [h['fullname'] for h in helpers] == ['p', 'p//sanitized_helper']
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
