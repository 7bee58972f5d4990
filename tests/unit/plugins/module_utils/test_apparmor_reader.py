"""The AppArmor profile reader and writer: modes ranked by protection, headers read as apparmor_parser reads them
(spread over lines, comments between their parts, several profiles, hats), flags rewritten in place, and the files
it refuses, with their line. tests/oracle checks the same reader against the real parser."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
