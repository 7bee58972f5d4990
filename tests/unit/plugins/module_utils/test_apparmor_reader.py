"""The AppArmor profile reader and writer: modes ranked by protection, headers read as apparmor_parser reads them
(spread over lines, comments between their parts, several profiles, hats), flags rewritten in place, and the files
it refuses, with their line. tests/oracle checks the same reader against the real parser."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa

# ------------------------------------------------------------------ the ranking


def test_every_mode_is_ranked_by_protection():
    order = ['disabled', 'unconfined', 'complain', 'prompt', 'enforce', 'kill']
    assert [aa.rank(m) for m in order] == sorted(aa.rank(m) for m in order)
    assert len(set(aa.rank(m) for m in order)) == len(order)
    assert aa.rank('unloaded') == aa.rank('disabled')
    assert aa.rank('default_allow') == aa.rank('unconfined')  # loaded as the kernel's unconfined mode
    assert aa.rank('user') == aa.rank('prompt')  # the kernel's name for prompt
    assert all(m in aa.RANK for m in aa.MODE_FLAGS)
    assert all(m in aa.RANK for m in aa.KERNEL_MODE.values())


@pytest.mark.parametrize('current,wanted,weaker', [
    (['kill'], 'enforce', True), (['kill'], 'complain', True), (['enforce', 'kill'], 'enforce', True),
    (['enforce'], 'kill', False), (['complain'], 'kill', False), (['complain'], 'enforce', False),
    (['prompt'], 'complain', True), (['enforce'], 'prompt', True), (['prompt'], 'enforce', False),
    (['user'], 'complain', True), (['complain'], 'prompt', False),
    (['default_allow'], 'complain', False), (['unconfined'], 'default_allow', False),
    (['default_allow'], 'unconfined', False), (['unconfined'], 'disabled', True), (['complain'], 'disabled', True),
    (['disabled', 'unloaded'], 'unconfined', False), (['kill'], 'kill', False),
    (['mixed'], 'enforce', True), (['mixed'], 'kill', False),  # a mode it does not know counts as the strongest
    ([None, None], 'complain', False)])
def test_weakening_by_rank(current, wanted, weaker):
    assert aa.is_weakening(current, wanted) is weaker


def test_strongest_and_weakest():
    assert aa.strongest(['complain', 'kill', 'enforce']) == 'kill'
    assert aa.weakest(['complain', 'kill', None]) == 'complain'
    assert aa.strongest([]) is None and aa.weakest([None]) is None
    assert aa.strongest(['enforce', 'mixed']) == 'mixed' and aa.weakest(['enforce', 'mixed']) == 'mixed'


# ------------------------------------------------------------------ headers spread over lines

MULTI = """abi <abi/3.0>,
include <tunables/global>

profile multi /usr/bin/multi
    flags=(
        attach_disconnected,
        complain
    )
{
  /tmp/** r,
}
"""


def test_multiline_flags_are_read_and_rewritten_in_place():
    (h,) = aa.headers(MULTI)
    assert (h['name'], h['attach'], h['flags'], h['mode'], h['lineno']) == (
        'multi', '/usr/bin/multi', ['attach_disconnected', 'complain'], 'complain', 4)
    assert aa.set_mode(MULTI, 'enforce') == MULTI.replace(',\n        complain', '')
    assert aa.set_mode(MULTI, 'kill') == MULTI.replace('complain\n', 'kill\n')
    assert aa.set_mode(MULTI, 'complain') == MULTI


def test_the_only_flag_on_its_own_lines_goes_with_its_clause():
    text = 'profile p /usr/bin/p\n    flags=(\n        complain\n    ) {\n}\n'
    assert aa.set_mode(text, 'enforce') == 'profile p /usr/bin/p\n    {\n}\n'
    alone = 'profile p\n  (complain)\n{\n}\n'
    assert aa.set_mode(alone, 'enforce') == 'profile p\n{\n}\n'
    assert aa.file_mode(aa.set_mode(alone, 'enforce')) == 'enforce'


def test_comments_between_the_parts_of_a_header():
    text = 'profile x # the x profile { not a brace\n  /usr/bin/x # its binary\n  (complain)\n{ # body\n}\n'
    (h,) = aa.headers(text)
    assert (h['name'], h['attach'], h['mode']) == ('x', '/usr/bin/x', 'complain')
    assert aa.set_mode(text, 'kill') == text.replace('(complain)', '(kill)')
    plain = 'profile x # comment\n{\n}\n'
    assert aa.set_mode(plain, 'complain') == 'profile x flags=(complain) # comment\n{\n}\n'


def test_a_brace_right_after_the_clause_keeps_a_blank():
    assert aa.set_mode('profile p flags=(complain){\n}\n', 'enforce') == 'profile p {\n}\n'
    assert aa.set_mode('profile "p"{\n}\n', 'kill') == 'profile "p" flags=(kill){\n}\n'


def test_crlf_multiline_list_and_tabs():
    text = 'profile\tp\tflags=(\r\n\tattach_disconnected,\r\n\tcomplain,\r\n)\t{\r\n}\r\n'
    assert aa.headers(text)[0]['mode'] == 'complain'
    new = aa.set_mode(text, 'enforce')
    assert new == 'profile\tp\tflags=(\r\n\tattach_disconnected,\r\n)\t{\r\n}\r\n'
    assert aa.set_mode(new, 'complain') == 'profile\tp\tflags=(\r\n\tattach_disconnected, complain,\r\n)\t{\r\n}\r\n'


@pytest.mark.parametrize('text,name,mode', [
    ('profile p (complain) {\n}\n', 'p', 'complain'),  # flags without the flags= keyword
    ('profile p flags = ( kill ) {\n}\n', 'p', 'kill'),
    ('profile p flags=\n(complain) {\n}\n', 'p', 'complain'),
    ('profile p flags=("complain") {\n}\n', 'p', 'complain'),
    ('profile p flags=(,complain,) {\n}\n', 'p', 'complain'),
    ('profile p flags=(complain complain audit) {\n}\n', 'p', 'complain'),
    ('profile "my app" /opt/my\\ app flags=(kill) {\n}\n', 'my app', 'kill'),
    ('"/opt/my app/run" (complain) {\n}\n', '/opt/my app/run', 'complain'),
    ('/usr/{bin,sbin}/x flags=(complain) {\n}\n', '/usr/{bin,sbin}/x', 'complain'),
    ('profile p#x {\n}\n', 'p#x', 'enforce'),  # '#' inside a name is not a comment
    ('profile p /usr/bin/p xattrs=(user.a=b) flags=(complain) {\n}\n', 'p', 'complain'),
    ('@{exe} = /usr/bin/x\nprofile p @{exe} (prompt) {\n}\n', 'p', 'prompt'),
    ('profile p flags=(default_allow, kill.signal=hup, error=EPERM) {\n}\n', 'p', 'default_allow'),
    ('hat h flags=(complain) {\n}\n', 'h', 'complain'),
    ('profile p { /tmp/{a,b} r, }\n', 'p', 'enforce'),
    # a variable as the path of attach_disconnected.path (AppArmor 5 and the apparmor.d project write it so)
    ('profile p flags=(attach_disconnected, attach_disconnected.path=@{att}, complain) {\n}\n', 'p', 'complain'),
])
def test_header_forms(text, name, mode):
    (h,) = aa.headers(text)
    assert (h['name'], h['mode']) == (name, mode)


def test_set_mode_keeps_appArmor_4_flags_it_is_not_asked_to_change():
    text = 'profile p flags=(kill.signal=hup, prompt, error=EPERM) {\n}\n'
    assert aa.set_mode(text, 'enforce') == 'profile p flags=(kill.signal=hup, error=EPERM) {\n}\n'
    assert aa.set_mode(text, 'kill') == 'profile p flags=(kill.signal=hup, kill, error=EPERM) {\n}\n'
    # default_allow, like unconfined, is left alone unless asked
    stub = 'profile s flags=(default_allow) {\n}\n'
    assert aa.set_mode(stub, 'enforce') == stub
    assert aa.set_mode(stub, 'enforce', keep=()) == 'profile s {\n}\n'


# ------------------------------------------------------------------ several profiles, hats

SEVERAL = """profile k /usr/bin/k flags=(kill) {
  ^hat flags=(complain) {
  }
  profile child {
  }
}
profile e /usr/bin/e {
  hat other (kill) {
  }
}
profile u flags=(unconfined) {
}
"""


def test_several_profiles_in_different_modes():
    assert aa.profile_modes(SEVERAL) == [('k', 'kill'), ('k//hat', 'complain'), ('k//child', 'enforce'),
                                         ('e', 'enforce'), ('e//other', 'kill'), ('u', 'unconfined')]
    assert aa.top_profiles(SEVERAL) == ['k', 'e', 'u']
    assert aa.file_mode(SEVERAL) == 'mixed'
    assert aa.strongest(m for dummy, m in aa.profile_modes(SEVERAL)) == 'kill'
    assert not aa.is_unconfined(SEVERAL)
    new = aa.set_mode(SEVERAL, 'complain')
    assert aa.profile_modes(new) == [('k', 'complain'), ('k//hat', 'complain'), ('k//child', 'complain'),
                                     ('e', 'complain'), ('e//other', 'complain'), ('u', 'unconfined')]
    assert aa.set_mode(new, 'complain') == new


# ------------------------------------------------------------------ what it refuses, with the line


@pytest.mark.parametrize('text,line,words', [
    ('profile p flags=complain {\n}\n', 1, 'without parentheses'),
    ('profile p flags=() {\n}\n', 1, 'empty flags list'),
    ('profile p\n  flags=(complain,\n  kill) {\n}\n', 2, 'modes complain and kill conflict'),
    ('profile p flags=(enforce complain) {\n}\n', 1, 'conflict'),
    ('profile p flags=(bogus) {\n}\n', 1, "unknown profile flag 'bogus'"),
    ('profile p flags=(Complain) {\n}\n', 1, 'unknown profile flag'),
    ('profile p flags=(\r\n  complain\r\n) {\r\n}\r\n', 2, 'carriage return'),
    ('profile p flags=(mediate_deleted, delegate_deleted) {\n}\n', 1, 'both'),
    ('profile p flags=(complain)#c {\n}\n', 2, 'unexpected'),  # the comment eats the brace
    ('profile p {\n  audit {\n    ^h {\n    }\n  }\n}\n', 3, 'inside a block'),
    ('profile a {\n}\nprofile a {\n}\n', 3, 'defined twice'),
    ('profile p {\n  ^h {\n  }\n  hat h {\n  }\n}\n', 4, 'defined twice'),
    (':ns:p {\n}\n', 1, 'namespace'),
    ('profile p {\n}\n# end', 3, 'comment ends the file'),
    ('profile p {\n  /usr/bin/x {\n  }\n}\n', 2, 'opens no block'),
    ('profile p {\n  /tmp/a r,\n', 3, 'ends before the block of p'),
    ('profile\np {\n}\n', 1, 'must follow "profile"'),
    ('p {\n}\n', 1, 'unexpected'),
    ('profile p foo {\n}\n', 1, 'unexpected'),
    ('profile p {\n}\n@{x} = y\n', 3, 'after the first profile'),
    ('profile @{x} {\n}\n', 1, 'variable'),
    ('profile p {\r\n  mount /a -> /b,\r\n}\r\n', 2, 'mount rule'),
])
def test_refused_with_the_line(text, line, words):
    with pytest.raises(aa.ProfileError) as exc:
        aa.headers(text)
    assert exc.value.line == line and words in str(exc.value) and str(exc.value).startswith('line %d: ' % line)
    for call in (aa.file_mode, aa.top_profiles, lambda t: aa.set_mode(t, 'enforce')):  # read again: cached
        with pytest.raises(aa.ProfileError) as again:
            call(text)
        assert again.value.line == line and str(again.value) == str(exc.value)


def test_a_reference_to_an_unreadable_file_names_the_file_and_line(tmp_path):
    (tmp_path / 'bad').write_text('profile bad flags=complain {\n}\n')
    (tmp_path / 'good').write_text('profile good {\n}\n')
    files = aa.profile_files(str(tmp_path))
    assert sorted(files) == [str(tmp_path / 'bad'), str(tmp_path / 'good')]
    assert aa.unreadable(str(tmp_path / 'bad'), files[str(tmp_path / 'bad')]).startswith(str(tmp_path / 'bad') + ' line 1:')
    assert aa.resolve(['good'], files, str(tmp_path))[0] == [str(tmp_path / 'good')]
    for ref in ('bad', '*'):
        with pytest.raises(aa.ProfileError) as exc:
            aa.resolve([ref], files, str(tmp_path))
        assert '%s line 1: flags=' % (tmp_path / 'bad') in str(exc.value) and 'guess' in str(exc.value)
    with pytest.raises(aa.ProfileError) as exc:  # the profile may be defined in the unreadable file
        aa.resolve(['nosuch'], files, str(tmp_path))
    assert 'could not be read' in str(exc.value) and str(tmp_path / 'bad') in str(exc.value)


# ------------------------------------------------------------------ includes followed as apparmor_parser follows them
# (each expectation below was seen with apparmor_parser 3.0.8 -N; tests/oracle compares generated texts)

def tree(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path)


def names(text, base):
    return [(h['fullname'], h['mode'], h['source'] and h['source'][len(base) + 1:]) for h in aa.read_profiles(text, base)]


def test_profiles_defined_in_included_files_are_read_where_the_include_stands(tmp_path):
    base = tree(tmp_path, {'abstractions/helpers': 'profile sanitized_helper flags=(complain) {\n  /tmp/** r,\n}\n',
                           'abstractions/top': 'profile fromtop flags=(kill) {\n}\n',
                           'tunables/global': '@{HOME} = /home/*/ /root/\ninclude <tunables/more>\n',
                           'tunables/more': '@{x} = /x\n'})
    text = ('include <tunables/global>\ninclude <abstractions/top>\nprofile pidgin /usr/bin/pidgin {\n'
            '  include <abstractions/helpers>\n  @{HOME}/** r,\n  ^hat {\n    include <abstractions/top>\n  }\n}\n')
    assert names(text, base) == [('fromtop', 'kill', 'abstractions/top'), ('pidgin', 'enforce', None),
                                 ('pidgin//sanitized_helper', 'complain', 'abstractions/helpers'),
                                 ('pidgin//hat', 'enforce', None), ('pidgin//hat//fromtop', 'kill', 'abstractions/top')]
    assert aa.profile_modes(text) == [('pidgin', 'enforce'), ('pidgin//hat', 'enforce')]  # headers() alone: its own
    # set_mode edits the file's own headers only: an included (shared) file is never edited through it
    assert aa.set_mode(text, 'complain') == text.replace('/usr/bin/pidgin {', '/usr/bin/pidgin flags=(complain) {'
                                                         ).replace('^hat {', '^hat flags=(complain) {')


def test_a_file_is_read_once_per_profile_by_the_path_the_parser_builds(tmp_path):
    base = tree(tmp_path, {'abstractions/top': 'profile fromtop {\n}\n'})
    twice = 'profile p {\n  include <abstractions/top>\n  include "%s/abstractions/top"\n}\n' % base
    assert [n for n, dummy, dummy2 in names(twice, base)] == ['p', 'p//fromtop']
    both = 'profile p {\n  include <abstractions/top>\n}\nprofile q {\n  include <abstractions/top>\n}\n'
    assert [n for n, dummy, dummy2 in names(both, base)] == ['p', 'p//fromtop', 'q', 'q//fromtop']
    # another spelling is another file for the parser: the profile is then defined twice, which it rejects
    with pytest.raises(aa.ProfileError, match='defined twice'):
        aa.read_profiles('profile p {\n  include <abstractions/top>\n  include <abstractions//top>\n}\n', base)


def test_a_directory_include_reads_its_regular_files_without_the_names_the_parser_skips(tmp_path):
    files = dict(('dir.d/%s' % n, 'profile d_%s {\n}\n' % n.replace('.', '_').replace('~', '_'))
                 for n in ('b', 'a', '.hidden', 'README', 'c.dpkg-new', 'd~', 'e.rpmnew', 'sub/x'))
    base = tree(tmp_path, files)
    os.mkfifo(os.path.join(base, 'dir.d', 'fifo'))  # skipped, never opened
    assert [n for n, dummy, dummy2 in names('profile p {\n  include <dir.d>\n}\n', base)] == ['p', 'p//d_a', 'p//d_b']


@pytest.mark.parametrize('text, message', [
    ('profile p {\n  include <nothere>\n}\n', 'line 2: include <nothere>: %(base)s/nothere does not exist'),
    ('profile p {\n  include "rel/x"\n}\n', 'line 2: include "rel/x" names a relative path'),
    ('include <fifo>\n', 'line 1: the included file %(base)s/fifo is not a regular file'),
    ('profile p {\n  include <bad>\n}\n', "line 2: in %(base)s/bad line 2: flags='x' without parentheses"),
    ('profile p {\n  include <open>\n}\n}\n', 'line 2: the included file %(base)s/open opens or closes a block'),
    ('include <rec>\n', 'nested more than 32 deep'),
    ('profile p {\n  audit include <bad>\n}\n', 'line 2: an include inside a rule (after audit)'),
])
def test_includes_it_cannot_read_as_the_parser_does_are_refused_with_the_line(tmp_path, text, message):
    base = tree(tmp_path, {'bad': '# x\nprofile c flags=x {\n}\n', 'open': 'profile c {\n',
                           'rec': 'profile r {\n  include <rec>\n}\n'})
    os.mkfifo(os.path.join(base, 'fifo'))
    with pytest.raises(aa.ProfileError) as exc:
        aa.read_profiles(text, base)
    assert message % {'base': base} in str(exc.value), exc.value


def test_include_if_exists_of_a_missing_file_is_nothing(tmp_path):
    assert names('profile p {\n  include if exists <local/p>\n}\n', str(tmp_path)) == [('p', 'enforce', None)]
