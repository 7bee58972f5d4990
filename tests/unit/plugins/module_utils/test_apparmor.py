from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa

NGINX = """# nginx profile
abi <abi/3.0>,
include <tunables/global>

profile nginx /usr/sbin/nginx flags=(attach_disconnected) {
  include <abstractions/base>
  /var/www/** r,   # web root { not a block }
  include if exists <local/usr.sbin.nginx>
}
"""

CLASSIC = """#include <tunables/global>

/usr/sbin/tcpdump {
  #include <abstractions/base>
  capability net_raw,
  /usr/sbin/tcpdump mr,
}
"""

HATS = """abi <abi/4.0>,
include <tunables/global>

profile apache2 /usr/{bin,sbin}/apache2 flags=(complain, attach_disconnected, mediate_deleted) {
  include <abstractions/base>
  ^DEFAULT_URI flags=(complain) {
    include <abstractions/base>
  }
  ^HANDLING_UNTRUSTED_INPUT {
  }
  profile helper /usr/bin/helper {
  }
}

profile second flags=(complain) {
}
"""

UNCONFINED = """abi <abi/4.0>,
include <tunables/global>

profile chrome /opt/google/chrome/chrome flags=(unconfined) {
  userns,
  include if exists <local/chrome>
}
"""

QUOTED = '"/opt/my app/bin/run" flags=(complain) {\n}\n'


def test_headers_named_with_attachment():
    hs = aa.headers(NGINX)
    assert [(h['name'], h['attach'], h['flags'], h['depth']) for h in hs] == [
        ('nginx', '/usr/sbin/nginx', ['attach_disconnected'], 0)]


def test_headers_hats_and_children():
    hs = aa.headers(HATS)
    assert [(h['name'], h['depth']) for h in hs] == [
        ('apache2', 0), ('DEFAULT_URI', 1), ('HANDLING_UNTRUSTED_INPUT', 1), ('helper', 1), ('second', 0)]
    assert [h['fullname'] for h in hs] == [
        'apache2', 'apache2//DEFAULT_URI', 'apache2//HANDLING_UNTRUSTED_INPUT', 'apache2//helper', 'second']
    assert [h['keyword'] for h in hs] == ['profile', '^', '^', 'profile', 'profile']
    assert [h['mode'] for h in hs] == ['complain', 'complain', 'enforce', 'enforce', 'complain']
    assert hs[0]['flags'] == ['complain', 'attach_disconnected', 'mediate_deleted']
    assert hs[4]['flags'] == ['complain']
    assert aa.top_profiles(HATS) == ['apache2', 'second']


def test_classic_and_quoted():
    assert aa.top_profiles(CLASSIC) == ['/usr/sbin/tcpdump']
    assert aa.file_mode(CLASSIC) == 'enforce'
    assert aa.top_profiles(QUOTED) == ['/opt/my app/bin/run']
    assert aa.file_mode(QUOTED) == 'complain'


def test_set_mode_complain_keeps_other_flags_and_lines():
    new = aa.set_mode(NGINX, 'complain')
    assert 'profile nginx /usr/sbin/nginx flags=(attach_disconnected, complain) {\n' in new
    assert new.replace(', complain', '') == NGINX
    assert aa.file_mode(new) == 'complain'
    assert aa.set_mode(new, 'enforce') == NGINX


def test_set_mode_adds_flags_clause_and_removes_it_again():
    new = aa.set_mode(CLASSIC, 'complain')
    assert '/usr/sbin/tcpdump flags=(complain) {\n' in new
    assert aa.set_mode(new, 'enforce') == CLASSIC
    assert aa.set_mode(CLASSIC, 'enforce') == CLASSIC


def test_set_mode_all_headers_including_hats():
    new = aa.set_mode(HATS, 'enforce')
    assert 'flags=(attach_disconnected, mediate_deleted) {' in new
    assert '^DEFAULT_URI {' in new
    assert 'profile second {' in new
    assert aa.file_mode(new) == 'enforce'
    again = aa.set_mode(new, 'complain')
    assert aa.file_mode(again) == 'complain'
    assert '^HANDLING_UNTRUSTED_INPUT flags=(complain) {' in again


def test_crlf_profile():
    text = NGINX.replace('\n', '\r\n')
    new = aa.set_mode(text, 'complain')
    assert 'flags=(attach_disconnected, complain) {\r\n' in new
    assert aa.set_mode(new, 'enforce') == text


def test_unconfined_left_alone():
    assert aa.is_unconfined(UNCONFINED)
    assert aa.file_mode(UNCONFINED) == 'unconfined'
    assert aa.set_mode(UNCONFINED, 'enforce') == UNCONFINED
    assert aa.set_mode(UNCONFINED, 'complain') == UNCONFINED


def test_kernel_profiles_and_loaded_mode():
    text = ('nginx (enforce)\n/usr/sbin/tcpdump (complain)\napache2//^DEFAULT_URI (complain)\n'
            'apache2 (complain)\n/opt/my app/bin/run (enforce)\nchrome (unconfined)\n')
    loaded = aa.parse_kernel_profiles(text)
    assert loaded['/opt/my app/bin/run'] == 'enforce'
    assert loaded['apache2//^DEFAULT_URI'] == 'complain'
    assert aa.loaded_mode(['nginx'], loaded) == 'enforce'
    assert aa.loaded_mode(['apache2', 'second'], loaded) == 'mixed'
    assert aa.loaded_mode(['second'], loaded) == 'unloaded'
    assert aa.loaded_mode(['nginx', '/usr/sbin/tcpdump'], loaded) == 'mixed'


def test_aa_status_json():
    text = json.dumps({'version': '2', 'profiles': {'nginx': 'enforce', '/usr/bin/man': 'complain'},
                       'processes': {}})
    assert aa.parse_aa_status_json(text) == {'nginx': 'enforce', '/usr/bin/man': 'complain'}


@pytest.fixture
def pdir(tmp_path):
    for name, text in (('usr.sbin.nginx', NGINX), ('usr.sbin.tcpdump', CLASSIC), ('apache2', HATS),
                       ('chrome', UNCONFINED), ('dup1', 'profile dup {\n}\n'), ('dup2', 'profile dup {\n}\n')):
        (tmp_path / name).write_text(text)
    (tmp_path / 'abstractions').mkdir()
    (tmp_path / 'abstractions' / 'base').write_text('/etc/ld.so.cache r,\n')
    (tmp_path / 'usr.sbin.nginx.dpkg-old').write_text(NGINX)
    (tmp_path / 'README').write_text('profile readme {\n}\n')
    return tmp_path


def test_profile_files_skips_non_profiles(pdir):
    names = sorted(p.rsplit('/', 1)[1] for p in aa.profile_files(str(pdir)))
    assert names == ['apache2', 'chrome', 'dup1', 'dup2', 'usr.sbin.nginx', 'usr.sbin.tcpdump']


@pytest.mark.parametrize('ref,expected', [
    ('nginx', ['usr.sbin.nginx']), ('/usr/sbin/nginx', ['usr.sbin.nginx']), ('usr.sbin.tcpdump', ['usr.sbin.tcpdump']),
    ('/usr/sbin/tcpdump', ['usr.sbin.tcpdump']), ('usr.sbin.*', ['usr.sbin.nginx', 'usr.sbin.tcpdump']),
    ('second', ['apache2']), ('dup1', ['dup1'])])
def test_resolve(pdir, ref, expected):
    files = aa.profile_files(str(pdir))
    if ref.startswith('/usr/sbin/') is False and '/' in ref:
        ref = str(pdir / ref)
    paths, dummy = aa.resolve([ref], files, str(pdir))
    assert [p.rsplit('/', 1)[1] for p in paths] == expected


def test_resolve_file_path(pdir):
    files = aa.profile_files(str(pdir))
    paths, dummy = aa.resolve([str(pdir / 'usr.sbin.nginx')], files, str(pdir))
    assert paths == [str(pdir / 'usr.sbin.nginx')]


@pytest.mark.parametrize('ref,message', [
    ('nosuch', 'no AppArmor profile matches'),
    ('nosuch*', 'no AppArmor profile matches'),
    ('dup', 'matches several profile files'),
    ('../../etc/shadow', 'path traversal'),
    ('nginx; rm -rf /', 'not allowed'),
    ('$(reboot)', 'not allowed'),
    ('', 'not allowed'),
])
def test_resolve_errors(pdir, ref, message):
    files = aa.profile_files(str(pdir))
    with pytest.raises(aa.ProfileError) as exc:
        aa.resolve(['nginx', ref], files, str(pdir))
    assert message in str(exc.value)


def test_resolve_lists_every_bad_reference(pdir):
    files = aa.profile_files(str(pdir))
    with pytest.raises(aa.ProfileError) as exc:
        aa.resolve(['nosuch', 'other'], files, str(pdir))
    assert "'nosuch'" in str(exc.value) and "'other'" in str(exc.value)


@pytest.mark.parametrize('current,wanted,weaker', [
    (['enforce', 'enforce'], 'complain', True), (['enforce', None], 'disabled', True),
    (['complain', 'complain'], 'disabled', True), (['complain', 'unloaded'], 'enforce', False),
    (['disabled', 'unloaded'], 'complain', False), (['enforce', 'complain'], 'complain', True),
    (['unconfined', None], 'enforce', False)])
def test_weakening(current, wanted, weaker):
    assert aa.is_weakening(current, wanted) is weaker
