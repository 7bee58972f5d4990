"""apparmor_local_rules run in-process against a temp profile dir and a stand-in apparmor_parser."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.confine.lsm.plugins.modules import apparmor_local_rules as mod
from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa

PROFILE = """abi <abi/3.0>,
include <tunables/global>

profile nginx /usr/sbin/nginx {
  /var/www/** r,
  include if exists <local/usr.sbin.nginx>
}
"""

# Stands in for apparmor_parser: logs its argv; -Q fails when the included local text holds "bogus".
PARSER = """#!/usr/bin/env python3
import re, sys
with open(%r, 'a') as log:
    log.write(' '.join(sys.argv[1:]) + '\\n')
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
    parser.write_text(PARSER % str(log))
    parser.chmod(parser.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ['PATH']))
    monkeypatch.setattr(aa, 'enabled', lambda *a, **k: False)
    return dict(dir=str(pdir), local=pdir / 'local' / 'usr.sbin.nginx', log=log)


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
    ('/srv/a r,\n/etc/shadow r,', 'spans lines'),
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
