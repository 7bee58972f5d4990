"""apparmor_local_rules run in-process against a temp profile dir and a stand-in apparmor_parser."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import stat

import pytest

from ansible_collections.confine.lsm.plugins.modules import apparmor_local_rules as mod
from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa
from ansible_collections.confine.lsm.plugins.module_utils import _apparmor_task as aa_task

PROFILE = """abi <abi/3.0>,
include <tunables/global>

profile nginx /usr/sbin/nginx {
  /var/www/** r,
  include if exists <local/usr.sbin.nginx>
}
"""

# Stands in for apparmor_parser: logs its argv; -Q fails when the included local text holds "bogus"; while -Q runs,
# the local include is swapped for a symlink to ../outside when a file "swap" is next to the log; -r fails when a
# file "reload-fails" is.
PARSER = """#!/usr/bin/env python3
import os, re, sys
with open(%r, 'a') as log:
    log.write(' '.join(sys.argv[1:]) + '\\n')
here = os.path.dirname(%r)
if '-Q' in sys.argv and os.path.exists(os.path.join(here, 'swap')):
    local = os.path.join(here, 'apparmor.d', 'local', 'usr.sbin.nginx')
    if os.path.lexists(local):
        os.unlink(local)
    os.symlink(os.path.join(here, 'outside'), local)
if '-r' in sys.argv and os.path.exists(os.path.join(here, 'reload-fails')):
    sys.stderr.write('reload refused\\n')
    sys.exit(1)
if '-Q' in sys.argv:
    text = open(sys.argv[-1]).read()
    m = re.search(r'include "([^"]+)"', text)
    if m and 'bogus' in open(m.group(1)).read():
        sys.stderr.write('AppArmor parser error for %%s in profile %%s at line 2: syntax error\\n' %% (
            sys.argv[-1], m.group(1)))
        sys.exit(1)
"""


@pytest.fixture
def lab(tmp_path, monkeypatch):
    pdir = tmp_path / 'apparmor.d'
    pdir.mkdir()
    (pdir / 'usr.sbin.nginx').write_text(PROFILE)
    (pdir / 'bare').write_text('profile bare /usr/bin/bare {\n  /tmp/** r,\n}\n')
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    log = tmp_path / 'parser.log'
    parser = bindir / 'apparmor_parser'
    parser.write_text(PARSER % (str(log), str(log)))
    parser.chmod(parser.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ['PATH']))
    monkeypatch.setattr(aa, 'enabled', lambda *a, **k: False)
    return dict(dir=str(pdir), local=pdir / 'local' / 'usr.sbin.nginx', log=log, tmp=tmp_path)


def test_four_steps_and_other_lines_kept(lab, run_module):
    args = dict(profile='nginx', rules=['/srv/a r,', '/srv/b/** r,'], profile_dir=lab['dir'])
    checked = run_module(mod.main, args, check=True, diff=True)
    assert checked['changed'] and not checked['failed'] and not lab['local'].exists()
    assert checked['added'] == ['/srv/a r,', '/srv/b/** r,'] and '/srv/a r,' in checked['diff']['after']
    applied = run_module(mod.main, args)
    assert applied['changed'] and applied['local_file'] == str(lab['local'])
    text = lab['local'].read_text()
    assert aa.block_rules(text) == ['/srv/a r,', '/srv/b/** r,']
    assert not run_module(mod.main, args, check=True)['changed']
    assert not run_module(mod.main, args)['changed']
    # a hand-written line outside the block keeps its bytes when the block changes
    lab['local'].write_text('  /opt/x r,  # by hand\n' + text)
    again = run_module(mod.main, dict(args, rules=['/srv/c r,'], append=True))
    assert again['rules'] == ['/srv/a r,', '/srv/b/** r,', '/srv/c r,'] and again['removed'] == []
    assert lab['local'].read_text().startswith('  /opt/x r,  # by hand\n')
    gone = run_module(mod.main, dict(profile='nginx', state='absent', profile_dir=lab['dir']))
    assert gone['changed'] and gone['before_rules'] == again['rules']
    assert lab['local'].read_text() == '  /opt/x r,  # by hand\n'


def test_a_rule_the_parser_rejects_changes_nothing(lab, run_module):
    res = run_module(mod.main, dict(profile='nginx', rules=['/srv/bogus r,'], profile_dir=lab['dir']))
    assert res['failed'] and 'does not compile' in res['msg'] and 'nothing was changed' in res['msg']
    assert str(lab['local']) in res['msg'] and 'confine-aa-local' not in res['msg']
    assert not lab['local'].exists()


@pytest.mark.parametrize('rule, why', [
    ('/srv/a r', 'does not end with a comma'),
    ('/srv/a r,\n/etc/shadow r,', "control character '\\n' at position 9"),
    ('profile evil {', 'child profile'),
    ('include <abstractions/base>,', 'include'),
    ('/srv/{a,b r,', 'unbalanced braces'),
])
def test_bad_rules_are_named_and_refused(lab, run_module, rule, why):
    res = run_module(mod.main, dict(profile='nginx', rules=['/ok r,', rule], profile_dir=lab['dir']))
    assert res['failed'] and why in res['msg'] and repr(rule) in res['msg']
    assert not lab['local'].exists() and not lab['log'].exists()


def test_profile_without_local_include_or_ambiguous_reference(lab, run_module):
    res = run_module(mod.main, dict(profile='bare', rules=['/x r,'], profile_dir=lab['dir']))
    assert res['failed'] and 'no local include' in res['msg']
    res = run_module(mod.main, dict(profile='ngin*', rules=['/x r,'], profile_dir=lab['dir']))
    assert res['failed'] and 'glob' in res['msg']
    res = run_module(mod.main, dict(profile='../etc/passwd', rules=['/x r,'], profile_dir=lab['dir']))
    assert res['failed'] and 'traversal' in res['msg']


def test_symlinked_local_include_is_refused(lab, run_module, tmp_path):
    lab['local'].parent.mkdir()
    (tmp_path / 'elsewhere').write_text('')
    os.symlink(str(tmp_path / 'elsewhere'), str(lab['local']))
    res = run_module(mod.main, dict(profile='nginx', rules=['/x r,'], profile_dir=lab['dir']))
    assert res['failed'] and 'symlink' in res['msg'] and (tmp_path / 'elsewhere').read_text() == ''


def test_reload_keeps_complain_mode(lab, run_module, monkeypatch):
    monkeypatch.setattr(aa, 'enabled', lambda *a, **k: True)
    monkeypatch.setattr(aa, 'read_kernel_profiles', lambda *a, **k: {'nginx': 'complain'})
    res = run_module(mod.main, dict(profile='nginx', rules=['/srv/a r,'], profile_dir=lab['dir']))
    assert res['reloaded'] and res['loaded_mode'] == 'complain'
    calls = lab['log'].read_text().splitlines()
    assert calls[0].startswith('-Q -K') and calls[-1].startswith('-r -W') and ' -C ' in calls[-1]


def test_set_block_round_trip():
    assert aa.set_block('', ['/a r,']) == '%s\n/a r,\n%s\n' % (aa.BLOCK_BEGIN, aa.BLOCK_END)
    text = 'x,\n' + aa.set_block('', ['/a r,'])
    assert aa.set_block(text, ['/a r,']) == text
    assert aa.set_block(text, []) == 'x,\n'
    assert aa.set_block('y,', ['/b r,']).startswith('y,\n' + aa.BLOCK_BEGIN)
    assert aa.local_include('  #include <local/usr.bin.x>\n')[0] == 'local/usr.bin.x'


# ------------------------------------------------------------------ no write through a link, all or nothing


def test_a_local_include_swapped_for_a_symlink_while_the_parser_ran_is_not_written_through(lab, run_module):
    lab['local'].parent.mkdir()
    lab['local'].write_text('/opt/x r,\n')
    (lab['tmp'] / 'outside').write_text('# outside the profile dir\n')
    (lab['tmp'] / 'swap').write_text('')
    res = run_module(mod.main, dict(profile='nginx', rules=['/srv/a r,'], profile_dir=lab['dir']))
    assert res['failed'] and 'symlink' in res['msg'], res
    assert (lab['tmp'] / 'outside').read_text() == '# outside the profile dir\n'
    assert lab['local'].is_symlink()  # left as the swap made it: nothing written through it or over it
    assert sorted(os.listdir(str(lab['local'].parent))) == ['usr.sbin.nginx']  # no temp file left


def test_a_local_dir_that_is_a_symlink_is_refused(lab, run_module):
    (lab['tmp'] / 'elsewhere').mkdir()
    os.symlink(str(lab['tmp'] / 'elsewhere'), str(lab['local'].parent))
    res = run_module(mod.main, dict(profile='nginx', rules=['/srv/a r,'], profile_dir=lab['dir']))
    assert res['failed'] and 'symlink' in res['msg'] and os.listdir(str(lab['tmp'] / 'elsewhere')) == []


def test_a_fifo_as_local_include_is_refused_without_hanging(lab, run_module):
    lab['local'].parent.mkdir()
    os.mkfifo(str(lab['local']))
    signal.alarm(20)  # an open() that blocks on the FIFO would hang the test: fail it instead
    try:
        res = run_module(mod.main, dict(profile='nginx', rules=['/srv/a r,'], profile_dir=lab['dir']))
    finally:
        signal.alarm(0)
    assert res['failed'] and 'not a regular file' in res['msg'] and str(lab['local']) in res['msg'], res
    assert stat.S_ISFIFO(os.lstat(str(lab['local'])).st_mode) and not lab['log'].exists()


class Interrupt(BaseException):
    """Stands for KeyboardInterrupt or another BaseException that is not an Exception."""


@pytest.mark.parametrize('error', [ValueError('bad'), OSError(28, 'No space left on device'), Interrupt('stop')],
                         ids=['ValueError', 'OSError', 'BaseException'])
@pytest.mark.parametrize('existing', [True, False], ids=['existing', 'new'])
def test_a_failed_write_leaves_the_local_include_as_it_was(lab, run_module, monkeypatch, error, existing):
    if existing:
        lab['local'].parent.mkdir()
        lab['local'].write_bytes(b'/opt/x r,  # by hand\r\n')

    def broken(module, path, text, root, mode=0o644):
        raise error
    monkeypatch.setattr(aa_task, 'write_nofollow', broken)
    args = dict(profile='nginx', rules=['/srv/a r,'], profile_dir=lab['dir'])
    if isinstance(error, Exception):
        res = run_module(mod.main, args)
        assert res['failed'] and type(error).__name__ in res['msg'] and 'nothing was changed' in res['msg'], res
    else:
        with pytest.raises(Interrupt):
            run_module(mod.main, args)
    if existing:
        assert lab['local'].read_bytes() == b'/opt/x r,  # by hand\r\n'
        assert os.listdir(str(lab['local'].parent)) == ['usr.sbin.nginx']
    else:
        assert not lab['local'].parent.exists()  # the local dir it made is gone again


@pytest.mark.parametrize('error', [None, ValueError('odd'), Interrupt('stop')], ids=['rc', 'ValueError', 'BaseException'])
def test_a_reload_that_fails_puts_the_old_local_include_back(lab, run_module, monkeypatch, error):
    monkeypatch.setattr(aa, 'enabled', lambda *a, **k: True)
    monkeypatch.setattr(aa, 'read_kernel_profiles', lambda *a, **k: {'nginx': 'enforce'})
    lab['local'].parent.mkdir()
    lab['local'].write_text('/opt/x r,\n')
    args = dict(profile='nginx', rules=['/srv/a r,'], profile_dir=lab['dir'])
    if error is None:
        (lab['tmp'] / 'reload-fails').write_text('')
        res = run_module(mod.main, args)
        assert res['failed'] and 'reload refused' in res['msg'] and 'old local include was put back' in res['msg']
    else:
        from ansible.module_utils import basic
        real = basic.AnsibleModule.run_command

        def run_command(self, argv, **kw):
            if '-r' in argv:
                raise error
            return real(self, argv, **kw)
        monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
        if isinstance(error, Exception):
            res = run_module(mod.main, args)
            assert res['failed'] and 'ValueError' in res['msg'] and 'put back' in res['msg'], res
        else:
            with pytest.raises(Interrupt):
                run_module(mod.main, args)
    assert lab['local'].read_text() == '/opt/x r,\n'


# ------------------------------------------------------------------ control characters at the module boundary

@pytest.mark.parametrize('option, value', [
    ('profile', 'nginx\n'), ('profile', 'ngi\x00nx'), ('rules', ['/srv/a r,', '/srv/b r,\n/etc/shadow r,']),
    ('rules', ['/srv/a\x00 r,']), ('rules', ['/srv/a\tr,']), ('rules', ['/srv/\x1b[2Ja r,']),
    ('profile_dir', '/etc/apparmor.d\r'),
])
def test_control_characters_in_string_options_are_refused_naming_the_value(lab, run_module, option, value):
    args = dict(profile='nginx', rules=['/srv/ok r,'], profile_dir=lab['dir'])
    args[option] = value
    res = run_module(mod.main, args)
    bad = [v for v in (value if isinstance(value, list) else [value]) if any(ord(c) < 32 for c in v)][0]
    assert res['failed'] and '%s %r' % (option, bad) in res['msg'] and 'nothing was changed' in res['msg'], res
    assert not lab['local'].exists() and not lab['log'].exists()
