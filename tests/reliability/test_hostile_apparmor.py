"""Hostile input against the AppArmor modules (issue 17): profiles that included files define, includes and local
files that are FIFOs or get swapped for symlinks, control characters in every kind of option. Each case runs the
module in the container (real apparmor_parser 3.0, Debian's real profiles and abstractions) and asserts what its
row says, and that the host is as it was.
"""
import pytest

from conftest import record

PIDGIN = '/etc/apparmor.d/usr.bin.pidgin'  # Debian's, with #include <abstractions/ubuntu-helpers> inside
HELPERS = '/etc/apparmor.d/abstractions/ubuntu-helpers'
NGINX_LOCAL = '/etc/apparmor.d/local/usr.sbin.nginx'
COPY = '/root/aa-copy'  # a copy of /etc/apparmor.d for the cases that put odd files in place


def refused(host, module, args, named, case, paths=(), env=None):
    """The task fails, its message names `named`, and nothing in the snapshot changed."""
    before = host.snapshot(*paths)
    res = host.task(module, args, env=env)
    after = host.snapshot(*paths)
    assert res.get('failed'), res
    assert named in res['msg'], (named, res['msg'])
    assert after == before, 'the host changed'
    record('hostile AppArmor input', case, 'refused: "%s"; nothing changed' % res['msg'][:240])
    return res


@pytest.fixture
def copy(host):
    host.exec('sh', '-c', 'rm -rf %s && cp -a /etc/apparmor.d %s' % (COPY, COPY))
    yield COPY
    host.exec('rm', '-rf', COPY)


def test_disabling_a_profile_whose_include_defines_another(host):
    res = refused(host, 'confine.lsm.apparmor_profile_mode', {'profiles': ['/usr/bin/pidgin'], 'mode': 'disabled'},
                  '/usr/bin/pidgin//sanitized_helper: enforce -> disabled',
                  'disabling usr.bin.pidgin, whose include abstractions/ubuntu-helpers defines sanitized_helper',
                  paths=[PIDGIN, HELPERS])
    assert '/usr/bin/pidgin: enforce -> disabled' in res['msg']


def test_a_mode_change_reports_the_profiles_an_include_defines(host):
    before = host.exec('sha256sum', PIDGIN, HELPERS)
    res = host.task('confine.lsm.apparmor_profile_mode', {'profiles': ['/usr/bin/pidgin'], 'mode': 'complain',
                                                          'allow_weaken': True})
    try:
        assert res['changed'] and not res.get('failed'), res
        assert res['weakened'] == ['/usr/bin/pidgin: enforce -> complain'], res['weakened']
        skipped = [s for s in res['skipped_profiles'] if s['names'] == ['/usr/bin/pidgin//sanitized_helper']]
        assert skipped and HELPERS in skipped[0]['reason'], res['skipped_profiles']
        assert res['profiles'][0]['after']['modes'] == {'/usr/bin/pidgin': 'complain',
                                                        '/usr/bin/pidgin//sanitized_helper': 'enforce'}
    finally:
        back = host.task('confine.lsm.apparmor_profile_mode', {'profiles': ['/usr/bin/pidgin'], 'mode': 'enforce'})
    assert not back.get('failed') and host.exec('sha256sum', PIDGIN, HELPERS) == before, back  # the bytes, not mtime
    record('hostile AppArmor input', 'usr.bin.pidgin to complain: the profile its include defines',
           'sanitized_helper listed in skipped_profiles (its mode is set in %s, left as it was) and in after.modes; '
           'weakened names pidgin only; back to enforce, every byte as before' % HELPERS)


def test_an_include_that_is_a_fifo(host):
    host.write('/etc/apparmor.d/confine-fifo-inc', 'profile confine-fifo-inc {\n  include <abstractions/confine-fifo>\n}\n')
    host.exec('mkfifo', '/etc/apparmor.d/abstractions/confine-fifo')
    try:
        refused(host, 'confine.lsm.apparmor_profile_mode', {'profiles': ['confine-fifo-inc'], 'mode': 'complain',
                                                            'allow_weaken': True},
                'not a regular file', 'a profile whose include is a FIFO (apparmor_parser itself hangs on it)',
                paths=['/etc/apparmor.d/confine-fifo-inc'])
    finally:
        host.exec('rm', '-f', '/etc/apparmor.d/confine-fifo-inc', '/etc/apparmor.d/abstractions/confine-fifo')


def test_a_relative_quoted_include(host):
    host.write('/etc/apparmor.d/confine-rel-inc', 'profile confine-rel-inc {\n  include "abstractions/base"\n}\n')
    try:
        refused(host, 'confine.lsm.apparmor_profile_mode', {'profiles': ['confine-rel-inc'], 'mode': 'complain',
                                                            'allow_weaken': True},
                'relative path', 'an include of a relative quoted path (the parser resolves it from its working '
                'directory)', paths=['/etc/apparmor.d/confine-rel-inc'])
    finally:
        host.exec('rm', '-f', '/etc/apparmor.d/confine-rel-inc')


def test_a_profile_given_as_a_fifo_path(host):
    host.exec('mkfifo', '/etc/apparmor.d/confine-fifo-prof')
    try:
        refused(host, 'confine.lsm.apparmor_profile_mode', {'profiles': ['/etc/apparmor.d/confine-fifo-prof'],
                                                            'mode': 'enforce'},
                "'/etc/apparmor.d/confine-fifo-prof'", 'a profile path that is a FIFO (not opened, no hang)')
    finally:
        host.exec('rm', '-f', '/etc/apparmor.d/confine-fifo-prof')


def test_a_local_rule_with_an_embedded_newline(host):
    rule = '/srv/a r,\n/etc/shadow r,'
    refused(host, 'confine.lsm.apparmor_local_rules', {'profile': 'nginx', 'rules': [rule]}, repr(rule),
            'a local rule with an embedded newline (a second rule injected)', paths=[NGINX_LOCAL])


@pytest.mark.parametrize('module, args, bad, case', [
    ('confine.lsm.apparmor_profile_mode', {'profiles': ['ngi\x00nx'], 'mode': 'enforce'}, 'ngi\x00nx',
     'a profile reference with a NUL byte'),
    ('confine.lsm.apparmor_profile_mode', {'profiles': ['nginx'], 'profile_dir': '/etc/apparmor.d\n'},
     '/etc/apparmor.d\n', 'a profile_dir with a newline'),
    ('confine.lsm.apparmor_local_rules', {'profile': 'nginx\x1b[2J', 'rules': ['/srv/a r,']}, 'nginx\x1b[2J',
     'a profile name with an escape sequence (local rules)'),
])
def test_control_characters_in_options(host, module, args, bad, case):
    refused(host, module, args, repr(bad), case, paths=[NGINX_LOCAL])


def test_a_local_include_that_is_a_fifo(host, copy):
    host.exec('rm', '-f', '%s/local/usr.sbin.nginx' % copy)
    host.exec('mkfifo', '%s/local/usr.sbin.nginx' % copy)
    # (not in the snapshot's paths: sha256sum would block on the FIFO; its type is checked instead)
    refused(host, 'confine.lsm.apparmor_local_rules', {'profile': 'nginx', 'rules': ['/srv/a r,'], 'profile_dir': copy},
            'not a regular file', 'a local include that is a FIFO (refused, not opened, no hang)')
    assert host.exec('stat', '-c', '%F', '%s/local/usr.sbin.nginx' % copy).strip() == 'fifo'


def test_a_local_include_swapped_for_a_symlink_while_the_parser_runs(host, copy):
    """A wrapper put first in PATH swaps the local include for a symlink to a file outside the profile dir while
    the real apparmor_parser compiles the new rules; the module must not write through it."""
    local = '%s/local/usr.sbin.nginx' % copy
    host.write('/root/outside', '# not a profile file\n')
    host.exec('mkdir', '-p', '/root/swapbin')
    host.write('/root/swapbin/apparmor_parser', '#!/bin/sh\ncase " $* " in *" -Q "*) rm -f %s; ln -s /root/outside %s;; '
               'esac\nexec /usr/sbin/apparmor_parser "$@"\n' % (local, local))
    host.exec('chmod', '755', '/root/swapbin/apparmor_parser')
    try:
        res = host.task('confine.lsm.apparmor_local_rules', {'profile': 'nginx', 'rules': ['/srv/a r,'],
                                                             'profile_dir': copy},
                        env={'PATH': '/root/swapbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'})
        assert res.get('failed') and 'symlink' in res['msg'], res
        assert host.read('/root/outside') == '# not a profile file\n'
        assert host.exec('readlink', local).strip() == '/root/outside'  # not replaced, not written through
        assert host.exec('sh', '-c', 'ls -A %s/local | grep "^\\.confine-" || true' % copy).strip() == ''
        record('hostile AppArmor input', 'local include swapped for a symlink to a file outside the profile dir while '
               'apparmor_parser ran', 'refused: "%s"; the outside file kept its bytes, no temp file left' % res['msg'][:200])
    finally:
        host.exec('rm', '-rf', '/root/swapbin', '/root/outside')
