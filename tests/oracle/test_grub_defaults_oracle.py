"""The shell as the oracle for the GRUB defaults: grub-mkconfig sources /etc/default/grub and then
/etc/default/grub.d/*.cfg with /bin/sh, so the kernel args a next boot gets are what /bin/sh makes of those files.

Generated files (assignments of GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT, double, single or no quotes,
`export`, references to the other variable and to itself, comments, other variables) are read by
_selinux.grub_default_args and sourced by /bin/sh; both must give the same words. Then strip_grub_default's edit is
sourced again: the shell must read exactly the words asked for (the blocking ones gone or rewritten, every other
word kept in its place). Runs in the lint tier with the other oracles; /bin/sh is on every host, so nothing skips.
"""
import os
import subprocess

from hypothesis import given, settings, strategies as st

from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se

SCALE = int(os.environ.get('CONFINE_ORACLE_SCALE', '1'))
KEYS = ('GRUB_CMDLINE_LINUX', 'GRUB_CMDLINE_LINUX_DEFAULT')
WORDS = ('quiet', 'splash', 'console=ttyS0', 'ro', 'selinux=0', 'selinux=1', 'enforcing=0', 'enforcing=1',
         'security=apparmor', 'security=selinux', 'apparmor=1', 'lsm=landlock,yama', 'nomodeset', 'x=a-b_c.d')


def shell_reads(paths):
    """What grub-mkconfig's /bin/sh makes of the files: both variables, word-split as it builds the cmdline."""
    script = ''.join('. "%s"\n' % p for p in paths) + 'echo $GRUB_CMDLINE_LINUX $GRUB_CMDLINE_LINUX_DEFAULT\n'
    proc = subprocess.run(['/bin/sh', '-c', script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False, env={'PATH': '/usr/bin:/bin'})
    assert proc.returncode == 0 and not proc.stderr, (script, proc.stderr)
    return proc.stdout.split()


def ours(paths):
    return (se.grub_default_args(paths) or '').split()


@st.composite
def value(draw):
    quote = draw(st.sampled_from(['"', "'", '']))
    parts = []
    for dummy in range(draw(st.integers(0, 4) if quote else st.integers(0, 1))):
        if quote != "'" and draw(st.integers(0, 4)) == 0:
            key = draw(st.sampled_from(KEYS))
            parts.append(draw(st.sampled_from(['$%s', '${%s}'])) % key)
        else:
            parts.append(draw(st.sampled_from(WORDS)))
    if not quote and not parts:
        return ''
    return quote + ' '.join(parts) + quote


@st.composite
def line(draw):
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return '# GRUB_CMDLINE_LINUX="selinux=0"'
    if kind == 1:
        return 'GRUB_TIMEOUT=%d' % draw(st.integers(0, 9))
    if kind == 2:
        return ''
    prefix = draw(st.sampled_from(['', '', '  ', 'export ']))
    comment = draw(st.sampled_from(['', '', '  # a comment', ' #x="selinux=0"']))
    return '%s%s=%s%s' % (prefix, draw(st.sampled_from(KEYS)), draw(value()), comment)


files = st.lists(st.lists(line(), max_size=6), min_size=1, max_size=3)


def write(tmp, texts):
    paths = []
    for i, lines in enumerate(texts):
        path = os.path.join(tmp, 'grub' if i == 0 else 'grub.d-%d.cfg' % i)
        with open(path, 'w') as f:
            f.write(''.join(x + '\n' for x in lines))
        paths.append(path)
    return paths


def test_the_oracle_is_the_shell(tmp_path):
    paths = write(str(tmp_path), [['GRUB_CMDLINE_LINUX="quiet"'],
                                  ["GRUB_CMDLINE_LINUX='$GRUB_CMDLINE_LINUX selinux=0'"]])
    assert shell_reads(paths) == ['$GRUB_CMDLINE_LINUX', 'selinux=0']  # single quotes do not expand
    assert ours(paths) == shell_reads(paths)


def test_generated_defaults_read_as_the_shell_reads_them(tmp_path):
    counter = [0]

    @settings(max_examples=150 * SCALE, deadline=None, database=None)
    @given(files)
    def check(texts):
        counter[0] += 1
        d = tmp_path / str(counter[0])
        d.mkdir()
        paths = write(str(d), texts)
        assert ours(paths) == shell_reads(paths), texts
    check()


def test_the_fix_leaves_the_shell_reading_what_was_asked(tmp_path):
    counter = [0]

    @settings(max_examples=100 * SCALE, deadline=None, database=None)
    @given(files, st.sampled_from(['enforcing', 'permissive']))
    def check(texts, state):
        counter[0] += 1
        d = tmp_path / str(counter[0])
        d.mkdir()
        paths = write(str(d), texts)
        before = shell_reads(paths)
        drop = se.fixes_for(se.parse_args(' '.join(before)), state)
        for path in paths:
            with open(path) as f:
                text = f.read()
            with open(path, 'w') as f:
                f.write(se.strip_grub_default(text, drop))
        after = shell_reads(paths)
        expected = []
        for word in before:
            key = word.partition('=')[0]
            if key not in drop:
                expected.append(word)
            elif drop[key] is not None:
                expected.append('%s=%s' % (key, drop[key]))
        assert after == expected, (texts, drop)
        assert ours(paths) == after, texts
        assert not se.blocking_reasons(se.parse_args(' '.join(after)), state) or 'lsm=' in ' '.join(after), after
    check()
