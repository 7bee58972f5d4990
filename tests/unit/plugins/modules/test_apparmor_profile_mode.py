"""apparmor_profile_mode in-process against a temp profile dir, a stand-in apparmor_parser and a fake kernel
profile list: the order of parser calls (compile once into the cache, then load) and the restore on errors."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.confine.lsm.plugins.modules import apparmor_profile_mode as mod
from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa

# Stands in for apparmor_parser: logs its argv; -Q fails on a file holding "bogus"; -r writes the kernel's list.
PARSER = """#!/usr/bin/env python3
import re, sys
with open(%r, 'a') as log:
    log.write(' '.join(sys.argv[1:]) + '\\n')
args = sys.argv[1:]
files = [a for i, a in enumerate(args) if a.startswith('/') and args[i - 1] != '--base']
if '-Q' in sys.argv:
    for path in files:
        if 'bogus' in open(path).read():
            sys.stderr.write('AppArmor parser error for %%s at line 2: syntax error\\n' %% path)
            sys.exit(1)
    sys.exit(0)
if '-r' in sys.argv:
    with open(%r, 'a') as kernel:
        for path in files:
            text = open(path).read()
            name = re.search(r'profile (\\S+)', text).group(1)
            kernel.write('%%s (%%s)\\n' %% (name, 'complain' if 'complain' in text else 'enforce'))
"""


@pytest.fixture
def lab(tmp_path, monkeypatch):
    pdir = tmp_path / 'apparmor.d'
    pdir.mkdir()
    for name in ('one', 'two'):
        (pdir / name).write_text('profile %s /usr/bin/%s flags=(complain) {\n  /tmp/** r,\n}\n' % (name, name))
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    log = tmp_path / 'parser.log'
    kernel = tmp_path / 'profiles'
    kernel.write_text('one (complain)\ntwo (complain)\n')
    parser = bindir / 'apparmor_parser'
    parser.write_text(PARSER % (str(log), str(kernel)))
    parser.chmod(parser.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ['PATH']))
    monkeypatch.setattr(aa, 'enabled', lambda *a, **k: True)
    monkeypatch.setattr(aa, 'read_kernel_profiles', lambda *a, **k: aa.parse_kernel_profiles(kernel.read_text()))
    return dict(dir=str(pdir), pdir=pdir, log=log)


def calls(lab):
    return [line.split()[0:2] for line in lab['log'].read_text().splitlines()] if lab['log'].exists() else []


def test_compiled_once_into_the_cache_then_loaded(lab, run_module):
    args = dict(profiles=['one', 'two'], mode='enforce', profile_dir=lab['dir'])
    checked = run_module(mod.main, args, check=True)
    assert checked['changed'] and checked['parser_calls'] == 2
    assert calls(lab) == [['-Q', '-K']]  # check mode: temporary copies, no cache, nothing loaded
    assert 'complain' in (lab['pdir'] / 'one').read_text()
    lab['log'].unlink()
    applied = run_module(mod.main, args)
    assert applied['changed'] and applied['parser_calls'] == 2 and not applied['failed']
    # one compile of the rewritten files that writes the cache, then one load that reads it
    assert calls(lab) == [['-Q', '-W'], ['-r', '--base']]
    assert 'complain' not in (lab['pdir'] / 'one').read_text()
    assert [p['after']['loaded_mode'] for p in applied['profiles']] == ['enforce', 'enforce']
    lab['log'].unlink()
    assert not run_module(mod.main, args)['changed'] and calls(lab) == []


def test_a_profile_that_does_not_compile_is_restored_and_nothing_loads(lab, run_module):
    (lab['pdir'] / 'two').write_text('profile two /usr/bin/two flags=(complain) {\n  bogus,\n}\n')
    before = dict((n, (lab['pdir'] / n).read_text()) for n in ('one', 'two'))
    res = run_module(mod.main, dict(profiles=['one', 'two'], mode='enforce', profile_dir=lab['dir']))
    assert res['failed'] and 'does not compile' in res['msg'] and 'nothing was loaded' in res['msg']
    assert str(lab['pdir'] / 'two') in res['msg']
    assert calls(lab) == [['-Q', '-W']]  # no -r: the kernel was not touched
    assert dict((n, (lab['pdir'] / n).read_text()) for n in ('one', 'two')) == before
