"""selinux_policy_module in-process against a temp policy store root and stand-ins for checkmodule,
semodule_package and semodule: the store named in the task is the one semodule changes and the one compared on a
rerun, check mode and diff, and the error paths (nothing built, nothing loaded)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import threading

import pytest

from ansible_collections.confine.lsm.plugins.modules import selinux_policy_module as mod
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _semodule as sm

# checkmodule and semodule_package: the "package" is the source bytes (and the .fc), so its sha256 is predictable.
CHECKMODULE = """#!/usr/bin/env python3
import shutil, sys
args = sys.argv[1:]
shutil.copyfile(args[-1], args[args.index('-o') + 1])
"""
PACKAGE = """#!/usr/bin/env python3
import sys
args = sys.argv[1:]
data = open(args[args.index('-m') + 1], 'rb').read()
if '-f' in args:
    data += open(args[args.index('-f') + 1], 'rb').read()
open(args[args.index('-o') + 1], 'wb').write(data)
"""
# semodule as libsemanage does it: -s picks the store, else the one the system config names (here "targeted").
SEMODULE = """#!/usr/bin/env python3
import os, shutil, sys
root, log = %r, %r
args = sys.argv[1:]
with open(log, 'a') as f:
    f.write(' '.join(args) + '\\n')
store = args[args.index('-s') + 1] if '-s' in args else 'targeted'
prio = args[args.index('-X') + 1] if '-X' in args else '400'
base = os.path.join(root, store, 'active', 'modules')
if '-i' in args:
    pkg = args[args.index('-i') + 1]
    name = os.path.basename(pkg).rsplit('.', 1)[0]
    os.makedirs(os.path.join(base, prio, name), exist_ok=True)
    shutil.copyfile(pkg, os.path.join(base, prio, name, 'hll'))
if '-r' in args:
    shutil.rmtree(os.path.join(base, prio, args[args.index('-r') + 1]))
if '-e' in args:
    os.unlink(os.path.join(base, 'disabled', args[args.index('-e') + 1]))
"""
TE = 'module confine_t 1.0;\nrequire { type httpd_t; type var_t; class file getattr; }\n' \
     'allow httpd_t var_t:file getattr;\n'


def tool(bindir, name, text):
    path = bindir / name
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def lab(tmp_path, monkeypatch):
    root = tmp_path / 'var-lib-selinux'
    for store in ('targeted', 'alt'):
        (root / store / 'active' / 'modules' / '100').mkdir(parents=True)
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    log = tmp_path / 'semodule.log'
    tool(bindir, 'checkmodule', CHECKMODULE)
    tool(bindir, 'semodule_package', PACKAGE)
    tool(bindir, 'semodule', SEMODULE % (str(root), str(log)))
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ['PATH']))
    monkeypatch.setattr(mod, 'STORE_ROOT', str(root))
    config = tmp_path / 'config'
    config.write_text('SELINUX=enforcing\nSELINUXTYPE=targeted\n')
    monkeypatch.setattr(cfg, 'CONFIG', str(config))
    return dict(root=root, log=log, config=config, tmp=tmp_path)


def semodule_calls(lab):
    return lab['log'].read_text().splitlines() if lab['log'].exists() else []


def installed(lab, store, prio='400', name='confine_t'):
    path = lab['root'] / store / 'active' / 'modules' / prio / name / 'hll'
    return path.read_bytes() if path.exists() else None


def args(**kw):
    base = dict(name='confine_t', source=TE, sha256=sm.sha256_text(TE))
    base.update(kw)
    return base


def test_a_named_store_is_the_one_changed_and_compared(lab, run_module):
    first = run_module(mod.main, args(store='alt'))
    assert not first['failed'] and first['changed'] and first['action'] == 'install' and first['store'] == 'alt'
    assert semodule_calls(lab)[0].startswith('-s alt -X 400 -i ')
    assert installed(lab, 'alt') == sm.canonical(TE).encode() and installed(lab, 'targeted') is None
    again = run_module(mod.main, args(store='alt'))
    assert not again['failed'] and not again['changed'] and again['action'] == 'none', again
    assert again['installed_before'] == {'400': first['package_sha256']}
    assert len(semodule_calls(lab)) == 1  # the rerun loaded nothing


def test_the_default_store_comes_from_the_config_even_when_its_mode_line_is_ambiguous(lab, run_module):
    lab['config'].write_text('SELINUX = enforcing\nSELINUXTYPE=alt\n')  # a mode libselinux does not read
    res = run_module(mod.main, args())
    assert not res['failed'] and res['store'] == 'alt', res
    assert semodule_calls(lab)[0].startswith('-s alt ') and installed(lab, 'alt')


def test_check_mode_and_diff_load_nothing(lab, run_module):
    res = run_module(mod.main, args(store='alt'), check=True, diff=True)
    assert res['changed'] and res['action'] == 'install' and not res['failed']
    assert res['rules'] == ['allow httpd_t var_t:file getattr;']
    assert res['diff']['after'] == 'allow httpd_t var_t:file getattr;\n' and res['diff']['before'] == ''
    assert semodule_calls(lab) == [] and installed(lab, 'alt') is None


def test_a_changed_source_replaces_the_installed_module_in_its_store(lab, run_module):
    run_module(mod.main, args(store='alt'))
    te2 = TE + 'allow httpd_t var_t:file read;\n'
    res = run_module(mod.main, args(store='alt', source=te2, sha256=sm.sha256_text(te2)), diff=True)
    assert res['changed'] and res['action'] == 'replace', res
    assert '(sha256 ' in res['diff']['before'] and installed(lab, 'alt') == te2.encode()


def test_a_disabled_module_is_enabled_in_its_store(lab, run_module):
    run_module(mod.main, args(store='alt'))
    disabled = lab['root'] / 'alt' / 'active' / 'modules' / 'disabled'
    disabled.mkdir()
    (disabled / 'confine_t').write_text('')
    res = run_module(mod.main, args(store='alt'))
    assert res['changed'] and semodule_calls(lab)[-1] == '-s alt -e confine_t', semodule_calls(lab)


def test_absent_removes_from_the_named_store(lab, run_module):
    run_module(mod.main, args(store='alt'))
    checked = run_module(mod.main, dict(name='confine_t', state='absent', store='alt'), check=True, diff=True)
    assert checked['changed'] and checked['action'] == 'remove' and installed(lab, 'alt')
    assert checked['diff'] == {'before': 'confine_t at priority 400\n', 'after': ''}
    res = run_module(mod.main, dict(name='confine_t', state='absent', store='alt'))
    assert res['changed'] and semodule_calls(lab)[-1] == '-s alt -X 400 -r confine_t' and not installed(lab, 'alt')
    again = run_module(mod.main, dict(name='confine_t', state='absent', store='alt'))
    assert not again['changed'] and len(semodule_calls(lab)) == 2


@pytest.mark.parametrize('kw, named', [
    (dict(name='confine_t\nallow'), "'confine_t\\nallow'"),
    (dict(name='confine_t\x00x'), "'confine_t\\x00x'"),
    (dict(name='-confine_t'), "'-confine_t'"),
    (dict(store='alt\x00'), "'alt\\x00'"),
    (dict(store='../alt'), "'../alt'"),
    (dict(store='alt\n'), "'alt\\n'"),
    (dict(store='nosuch'), "'nosuch'"),
    (dict(sha256='0' * 64), '0' * 64),
    (dict(name='confine_other'), "'confine_other'"),
])
def test_bad_input_is_refused_naming_the_value(lab, run_module, kw, named):
    res = run_module(mod.main, args(**kw))
    assert res['failed'] and named in res['msg'], (named, res['msg'])
    assert semodule_calls(lab) == [] and installed(lab, 'alt') is None and installed(lab, 'targeted') is None


def test_a_config_with_an_ambiguous_policy_type_fails_without_store(lab, run_module):
    lab['config'].write_text('SELINUX=enforcing\nSELINUXTYPE=alt\r# targeted\n')
    res = run_module(mod.main, args())
    assert res['failed'] and 'line break' in res['msg'] and 'store option' in res['msg'], res
    assert semodule_calls(lab) == []


def test_source_path_that_is_a_fifo_is_refused_without_blocking(lab, run_module):
    fifo = lab['tmp'] / 'source.te'
    os.mkfifo(str(fifo))
    done = {}

    def go():
        done['res'] = run_module(mod.main, dict(name='confine_t', source_path=str(fifo), sha256='0' * 64,
                                                store='alt'))
    worker = threading.Thread(target=go)
    worker.daemon = True
    worker.start()
    worker.join(20)
    if worker.is_alive():  # unblock the reader so that the test run ends, then fail
        with open(str(fifo), 'w') as f:
            f.write('')
        worker.join(5)
        pytest.fail('the module blocked opening a FIFO')
    res = done['res']
    assert res['failed'] and 'FIFO' in res['msg'] and str(fifo) in res['msg'], res
    assert stat.S_ISFIFO(os.lstat(str(fifo)).st_mode) and semodule_calls(lab) == []


def test_source_path_is_read_from_a_regular_file(lab, run_module):
    src = lab['tmp'] / 'confine_t.te'
    src.write_text(TE)
    res = run_module(mod.main, dict(name='confine_t', source_path=str(src), sha256=sm.sha256_text(TE), store='alt'))
    assert res['changed'] and not res['failed'] and installed(lab, 'alt')
    missing = run_module(mod.main, dict(name='confine_t', source_path=str(src) + '.gone', sha256='0' * 64))
    assert missing['failed'] and 'does not exist' in missing['msg']
