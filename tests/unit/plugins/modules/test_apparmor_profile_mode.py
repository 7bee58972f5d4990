"""apparmor_profile_mode in-process against a temp profile dir, a stand-in apparmor_parser and a fake kernel
profile list: the order of parser calls (compile once into the cache, then load) and the restore on errors."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.confine.lsm.plugins.modules import apparmor_profile_mode as mod
from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa
from ansible_collections.confine.lsm.plugins.module_utils import _apparmor_task as aa_task

# Stands in for apparmor_parser: logs its argv; -N lists what the module's reader reads with includes, and fails on
# a file holding "unparsable"; -Q fails on a file holding "bogus"; -r writes the kernel's list
# (each profile and hat with the mode its file declares, as the kernel would show it).
PARSER = """#!/usr/bin/env python3
import re
import sys
sys.path.insert(0, %r)
from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa
with open(%r, 'a') as log:
    log.write(' '.join(sys.argv[1:]) + '\\n')
args = sys.argv[1:]
files = [a for i, a in enumerate(args) if a.startswith('/') and args[i - 1] != '--base']
base = args[args.index('--base') + 1]
if '-N' in sys.argv:
    for path in files:
        text = open(path).read()
        if 'unparsable' in text:
            sys.stderr.write('AppArmor parser error for %%s at line 2: syntax error\\n' %% path)
            sys.exit(1)
        for h in aa.read_profiles(text, base):
            print(h['fullname'])
        for extra in re.findall(r'# parser-also-sees: (\\S+)', text):
            print(extra)
    sys.exit(0)
if '-Q' in sys.argv:
    for path in files:
        if 'bogus' in open(path).read():
            sys.stderr.write('AppArmor parser error for %%s at line 2: syntax error\\n' %% path)
            sys.exit(1)
    sys.exit(0)
kernel = %r
if '-r' in sys.argv:
    with open(kernel, 'a') as out:
        for path in files:
            for name, mode in aa.profile_modes(open(path).read()):
                out.write('%%s (%%s)\\n' %% (name, aa.KERNEL_MODE[mode]))
if '-R' in sys.argv:
    gone = set(name for path in files for name, dummy in aa.profile_modes(open(path).read()))
    left = [line for line in open(kernel) if line.rsplit(' (', 1)[0] not in gone]
    with open(kernel, 'w') as out:
        out.writelines(left)
"""
TREE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(aa.__file__)))))))


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
    parser.write_text(PARSER % (TREE, str(log), str(kernel)))
    parser.chmod(parser.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ['PATH']))
    monkeypatch.setattr(aa, 'enabled', lambda *a, **k: True)
    monkeypatch.setattr(aa, 'read_kernel_profiles', lambda *a, **k: aa.parse_kernel_profiles(kernel.read_text()))
    return dict(dir=str(pdir), pdir=pdir, log=log, kernel=kernel)


def calls(lab, names=False):
    """The parser calls logged (argv[1:3]); without names, not the -N ones that list a file's profiles."""
    logged = [line.split()[0:2] for line in lab['log'].read_text().splitlines()] if lab['log'].exists() else []
    return [c for c in logged if names or c[0] != '-N']


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


# ------------------------------------------------------------------ the never-weaken guard, profile by profile


def write(lab, name, text, kernel=None):
    (lab['pdir'] / name).write_text(text)
    if kernel is not None:
        lab['kernel'].write_text(kernel)


def test_enforce_keeps_a_kill_profile_unless_allowed_to_lower_it(lab, run_module):
    write(lab, 'one', 'profile one /usr/bin/one flags=(kill) {\n  /tmp/** r,\n}\n', 'one (kill)\ntwo (complain)\n')
    before = (lab['pdir'] / 'one').read_text()
    # a list of profiles to enforce (what the role passes) does not fail on one that is already stronger
    res = run_module(mod.main, dict(profiles=['one', 'two'], mode='enforce', profile_dir=lab['dir']))
    assert not res['failed'] and res['weakened'] == [], res
    assert res['skipped_profiles'][0]['names'] == ['one'] and 'stronger than enforce' in res['skipped_profiles'][0]['reason']
    assert (lab['pdir'] / 'one').read_text() == before
    assert 'kill' not in (lab['pdir'] / 'two').read_text() and 'complain' not in (lab['pdir'] / 'two').read_text()
    lab['log'].unlink()
    res = run_module(mod.main, dict(profiles=['one'], mode='enforce', profile_dir=lab['dir'], allow_weaken=True))
    assert not res['failed'] and res['changed'] and res['weakened'] == ['one: kill -> enforce']
    assert 'kill' not in (lab['pdir'] / 'one').read_text()
    assert res['profiles'][0]['before']['modes'] == {'one': 'kill'}
    assert res['profiles'][0]['after'] == {'file_mode': 'enforce', 'loaded_mode': 'enforce', 'modes': {'one': 'enforce'}}


def test_enforce_to_kill_and_complain_to_kill_need_no_allow_weaken(lab, run_module):
    write(lab, 'two', 'profile two /usr/bin/two {\n}\n', 'one (complain)\ntwo (enforce)\n')
    res = run_module(mod.main, dict(profiles=['one', 'two'], mode='kill', profile_dir=lab['dir']))
    assert not res['failed'] and res['changed'] and res['weakened'] == []
    assert (lab['pdir'] / 'one').read_text() == 'profile one /usr/bin/one flags=(kill) {\n  /tmp/** r,\n}\n'
    assert (lab['pdir'] / 'two').read_text() == 'profile two /usr/bin/two flags=(kill) {\n}\n'
    assert [p['after']['loaded_mode'] for p in res['profiles']] == ['kill', 'kill']
    lab['log'].unlink()
    again = run_module(mod.main, dict(profiles=['one', 'two'], mode='kill', profile_dir=lab['dir']))
    assert not again['changed'] and calls(lab) == []


def test_the_strongest_profile_of_a_file_decides_and_each_lowered_one_is_named(lab, run_module):
    write(lab, 'one', 'profile one flags=(kill) {\n  ^hat flags=(complain) {\n  }\n}\nprofile other {\n}\n',
          'one (kill)\none//hat (complain)\nother (enforce)\n')
    res = run_module(mod.main, dict(profiles=['one'], mode='complain', profile_dir=lab['dir']))
    assert res['failed'] and 'one: kill -> complain' in res['msg'] and 'other: enforce -> complain' in res['msg']
    assert 'one//hat' not in res['msg']  # already complain
    res = run_module(mod.main, dict(profiles=['one'], mode='complain', profile_dir=lab['dir'], allow_weaken=True))
    assert res['weakened'] == ['one: kill -> complain', 'other: enforce -> complain']
    assert res['profiles'][0]['before']['file_mode'] == 'mixed' and res['profiles'][0]['names'] == ['one', 'other']
    assert aa.profile_modes((lab['pdir'] / 'one').read_text()) == [
        ('one', 'complain'), ('one//hat', 'complain'), ('other', 'complain')]


def test_a_kill_hat_is_kept_by_enforce_and_lowered_only_with_the_opt_in(lab, run_module):
    write(lab, 'one', 'profile one {\n  hat h (kill) {\n  }\n}\n', 'one (enforce)\none//h (kill)\n')
    res = run_module(mod.main, dict(profiles=['one'], mode='enforce', profile_dir=lab['dir']))
    assert not res['failed'] and not res['changed'] and res['weakened'] == [], res
    assert 'hat h (kill)' in (lab['pdir'] / 'one').read_text()
    res = run_module(mod.main, dict(profiles=['one'], mode='enforce', profile_dir=lab['dir'], allow_weaken=True))
    assert res['weakened'] == ['one//h: kill -> enforce']


def test_live_drift_to_a_stronger_mode_is_not_lowered_silently(lab, run_module):
    # the file says complain, someone loaded it in kill mode: reloading it in complain lowers it
    write(lab, 'one', 'profile one flags=(complain) {\n}\n', 'one (kill)\n')
    res = run_module(mod.main, dict(profiles=['one'], mode='complain', profile_dir=lab['dir']))
    assert res['failed'] and 'one: complain/kill -> complain' in res['msg']


def test_appArmor_4_modes_are_ranked(lab, run_module):
    write(lab, 'one', 'profile one flags=(prompt) {\n}\n', 'one (user)\n')
    res = run_module(mod.main, dict(profiles=['one'], mode='complain', profile_dir=lab['dir']))
    assert res['failed'] and 'one: prompt/user -> complain' in res['msg']
    res = run_module(mod.main, dict(profiles=['one'], mode='enforce', profile_dir=lab['dir']))
    assert not res['failed'] and res['weakened'] == [] and (lab['pdir'] / 'one').read_text() == 'profile one {\n}\n'


def test_unconfined_and_default_allow_profiles_are_left_alone_in_a_mixed_file(lab, run_module):
    text = 'profile stub flags=(default_allow) {\n}\nprofile one flags=(complain) {\n}\n'
    write(lab, 'one', text, 'stub (unconfined)\none (complain)\n')
    res = run_module(mod.main, dict(profiles=['one'], mode='enforce', profile_dir=lab['dir']))
    assert not res['failed'] and res['changed'] and res['weakened'] == []
    assert (lab['pdir'] / 'one').read_text() == 'profile stub flags=(default_allow) {\n}\nprofile one {\n}\n'
    assert res['skipped_profiles'] == [{'file': str(lab['pdir'] / 'one'), 'names': ['stub'],
                                        'reason': 'declared flags=(default_allow)'}]
    write(lab, 'two', 'profile two flags=(unconfined) {\n}\n')
    res = run_module(mod.main, dict(profiles=['two'], mode='enforce', profile_dir=lab['dir']))
    assert not res['changed'] and res['profiles'] == [] and res['skipped_profiles'][0]['names'] == ['two']
    res = run_module(mod.main, dict(profiles=['two'], mode='enforce', profile_dir=lab['dir'], skip_unconfined=False))
    assert res['changed'] and (lab['pdir'] / 'two').read_text() == 'profile two {\n}\n'


def test_a_header_over_several_lines_is_switched_in_place(lab, run_module):
    text = ('# keep me\nprofile one /usr/bin/one\n    flags=(\n        attach_disconnected,\n        complain\n    )\n'
            '{\n  /tmp/** r,  # { not a block\n}\n')
    write(lab, 'one', text)
    res = run_module(mod.main, dict(profiles=['one'], mode='enforce', profile_dir=lab['dir']))
    assert not res['failed'] and res['changed']
    assert (lab['pdir'] / 'one').read_text() == text.replace(',\n        complain', '')


def test_a_file_it_cannot_read_is_refused_with_its_line(lab, run_module):
    write(lab, 'two', 'profile two /usr/bin/two\n  flags=complain {\n}\n')
    res = run_module(mod.main, dict(profiles=['one', 'two'], mode='enforce', profile_dir=lab['dir']))
    assert res['failed'] and '%s line 2: flags=' % (lab['pdir'] / 'two') in res['msg'] and 'nothing was changed' in res['msg']
    assert calls(lab) == [] and 'complain' in (lab['pdir'] / 'one').read_text()
    # an unreadable file that is not asked for does not stop the others
    res = run_module(mod.main, dict(profiles=['one'], mode='enforce', profile_dir=lab['dir']))
    assert not res['failed'] and res['changed']


def test_disabling_a_file_lowers_each_of_its_profiles_the_unconfined_ones_too(lab, run_module):
    write(lab, 'one', 'profile stub flags=(unconfined) {\n}\nprofile one flags=(complain) {\n}\n',
          'stub (unconfined)\none (complain)\n')
    res = run_module(mod.main, dict(profiles=['one'], mode='disabled', profile_dir=lab['dir']))
    assert res['failed'] and 'stub: unconfined -> disabled' in res['msg'] and 'one: complain -> disabled' in res['msg']
    assert not (lab['pdir'] / 'disable').exists()
    res = run_module(mod.main, dict(profiles=['one'], mode='disabled', profile_dir=lab['dir'], allow_weaken=True))
    assert res['changed'] and res['skipped_profiles'] == [] and (lab['pdir'] / 'disable' / 'one').is_symlink(), res
    assert res['weakened'] == ['stub: unconfined -> disabled', 'one: complain -> disabled']
    assert lab['kernel'].read_text() == '' and res['profiles'][0]['after']['loaded_mode'] == 'unloaded'


# ------------------------------------------------------------------ profiles defined in included files

HELPERS = 'profile sanitized_helper flags=(complain) {\n  /tmp/** r,\n}\n'
PIDGIN = 'include <tunables/global>\nprofile pidgin /usr/bin/pidgin flags=(complain) {\n  include <abstractions/helpers>\n}\n'


def with_includes(lab, kernel):
    (lab['pdir'] / 'abstractions').mkdir()
    (lab['pdir'] / 'tunables').mkdir()
    (lab['pdir'] / 'abstractions' / 'helpers').write_text(HELPERS)
    (lab['pdir'] / 'tunables' / 'global').write_text('@{HOME} = /home/*/ /root/\n')
    write(lab, 'pidgin', PIDGIN, kernel)


def test_disabling_a_file_lowers_the_profiles_its_includes_define(lab, run_module):
    with_includes(lab, 'pidgin (complain)\npidgin//sanitized_helper (complain)\n')
    args = dict(profiles=['pidgin'], mode='disabled', profile_dir=lab['dir'])
    res = run_module(mod.main, args)
    assert res['failed'] and 'pidgin//sanitized_helper: complain -> disabled' in res['msg'], res
    assert not (lab['pdir'] / 'disable').exists()
    res = run_module(mod.main, dict(args, allow_weaken=True))
    assert res['weakened'] == ['pidgin: complain -> disabled', 'pidgin//sanitized_helper: complain -> disabled']
    assert res['profiles'][0]['before']['modes'] == {'pidgin': 'complain', 'pidgin//sanitized_helper': 'complain'}
    assert ['-N', '--base'] in calls(lab, names=True)  # the parser's own list of names was asked for


def test_a_mode_change_reports_included_profiles_and_keeps_their_live_mode(lab, run_module):
    with_includes(lab, 'pidgin (complain)\npidgin//sanitized_helper (complain)\n')
    res = run_module(mod.main, dict(profiles=['pidgin'], mode='enforce', profile_dir=lab['dir']))
    assert not res['failed'] and res['changed'] and res['weakened'] == [], res
    assert res['skipped_profiles'] == [{
        'file': str(lab['pdir'] / 'pidgin'), 'names': ['pidgin//sanitized_helper'],
        'reason': 'defined in the included file %s: their modes are set there, not in this file (reloaded in them)'
                  % (lab['pdir'] / 'abstractions' / 'helpers')}]
    assert res['profiles'][0]['after']['modes'] == {'pidgin': 'enforce', 'pidgin//sanitized_helper': 'complain'}
    assert (lab['pdir'] / 'abstractions' / 'helpers').read_text() == HELPERS  # a shared abstraction is not edited


def test_reloading_an_included_profile_that_is_stronger_live_is_a_lowering(lab, run_module):
    # sanitized_helper declares complain but runs in kill: reloading pidgin reloads it in complain
    with_includes(lab, 'pidgin (complain)\npidgin//sanitized_helper (kill)\n')
    before = (lab['pdir'] / 'pidgin').read_text()
    res = run_module(mod.main, dict(profiles=['pidgin'], mode='enforce', profile_dir=lab['dir']))
    assert res['failed'] and 'pidgin//sanitized_helper: complain/kill -> complain' in res['msg'], res
    assert (lab['pdir'] / 'pidgin').read_text() == before and calls(lab) == []


def test_names_the_parser_sees_and_the_reader_does_not_are_refused(lab, run_module):
    with_includes(lab, 'pidgin (complain)\n')
    write(lab, 'pidgin', PIDGIN + '# parser-also-sees: pidgin//ghost\n')
    before = (lab['pdir'] / 'pidgin').read_text()
    res = run_module(mod.main, dict(profiles=['pidgin', 'one'], mode='enforce', profile_dir=lab['dir']))
    assert res['failed'] and 'pidgin//ghost' in res['msg'] and str(lab['pdir'] / 'pidgin') in res['msg'], res
    assert 'nothing was changed' in res['msg'] and calls(lab) == []
    assert (lab['pdir'] / 'pidgin').read_text() == before and 'complain' in (lab['pdir'] / 'one').read_text()


def test_a_file_the_parser_cannot_list_is_refused_before_anything_is_written(lab, run_module):
    write(lab, 'one', 'profile one flags=(complain) {\n  # unparsable\n}\n')
    res = run_module(mod.main, dict(profiles=['one'], mode='enforce', profile_dir=lab['dir']))
    assert res['failed'] and 'does not compile' in res['msg'] and 'syntax error' in res['msg'], res
    assert calls(lab) == [] and 'complain' in (lab['pdir'] / 'one').read_text()


@pytest.mark.parametrize('include, named', [
    ('include <abstractions/nothere>', 'does not exist'),
    ('include "abstractions/helpers"', 'relative path'),
    ('include <abstractions/fifo>', 'not a regular file'),
    ('include <abstractions/loop>', 'nested more than'),
])
def test_includes_it_cannot_read_as_the_parser_does_are_refused(lab, run_module, include, named):
    with_includes(lab, 'pidgin (complain)\n')
    os.mkfifo(str(lab['pdir'] / 'abstractions' / 'fifo'))  # read, it would hang the module (and the parser)
    # each pass opens a profile, in which the file is new: apparmor_parser runs out of memory on it
    (lab['pdir'] / 'abstractions' / 'loop').write_text('profile a {\n  include <abstractions/loop>\n}\n')
    write(lab, 'pidgin', PIDGIN.replace('include <abstractions/helpers>', include))
    before = (lab['pdir'] / 'pidgin').read_text()
    res = run_module(mod.main, dict(profiles=['pidgin'], mode='enforce', profile_dir=lab['dir']))
    assert res['failed'] and named in res['msg'] and str(lab['pdir'] / 'pidgin') in res['msg'], res
    assert 'nothing was changed' in res['msg'] and calls(lab, names=True) == []
    assert (lab['pdir'] / 'pidgin').read_text() == before


# ------------------------------------------------------------------ all or nothing, whatever the exception

def snapshot(lab):
    """Every file and link under the profile dir, byte for byte (links by their target)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(lab['dir']):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                out[path] = 'link -> ' + os.readlink(path)
            elif os.path.isfile(path):
                with open(path, 'rb') as f:
                    out[path] = f.read()
            else:
                out[path] = 'dir'
    return out


class Interrupt(BaseException):
    """Stands for KeyboardInterrupt or another BaseException that is not an Exception."""


def three_files(lab):
    write(lab, 'three', 'profile three /usr/bin/three flags=(complain) {\n}\n',
          'one (complain)\ntwo (complain)\nthree (complain)\n')
    return dict(profiles=['one', 'two', 'three'], mode='enforce', profile_dir=lab['dir'])


@pytest.mark.parametrize('error', [ValueError('bad value'), OSError(28, 'No space left on device'),
                                   Interrupt('interrupted')], ids=['ValueError', 'OSError', 'BaseException'])
@pytest.mark.parametrize('failing', [0, 1, 2])
def test_a_write_that_fails_on_any_file_restores_every_file(lab, run_module, monkeypatch, error, failing):
    args = three_files(lab)
    before = snapshot(lab)
    real = aa_task.write_nofollow
    seen = []

    def flaky(module, path, text, root, mode=0o644):
        seen.append(path)
        if len(seen) == failing + 1:
            raise error
        return real(module, path, text, root, mode)
    monkeypatch.setattr(aa_task, 'write_nofollow', flaky)
    if isinstance(error, Exception):
        res = run_module(mod.main, args)
        assert res['failed'] and type(error).__name__ in res['msg'] and 'the files were restored' in res['msg'], res
    else:
        with pytest.raises(Interrupt):
            run_module(mod.main, args)
    assert snapshot(lab) == before  # every file byte-identical, no temp file left
    assert calls(lab) == []  # nothing compiled, nothing loaded
    assert len(seen) == failing + 1 + failing  # the files written before were written back


@pytest.mark.parametrize('error', [ValueError('odd'), Interrupt('interrupted')], ids=['ValueError', 'BaseException'])
def test_an_exception_after_the_writes_restores_files_and_links_and_loads_nothing(lab, run_module, monkeypatch, error):
    args = dict(three_files(lab), mode='disabled', allow_weaken=True)
    (lab['pdir'] / 'force-complain').mkdir()
    os.symlink(str(lab['pdir'] / 'two'), str(lab['pdir'] / 'force-complain' / 'two'))
    before = snapshot(lab)
    real = mod.Runner.load

    def broken(self, changed):
        raise error
    monkeypatch.setattr(mod.Runner, 'load', broken)
    if isinstance(error, Exception):
        res = run_module(mod.main, args)
        assert res['failed'] and 'the files were restored' in res['msg'] and 'nothing was loaded' in res['msg']
    else:
        with pytest.raises(Interrupt):
            run_module(mod.main, args)
    assert snapshot(lab) == before and not (lab['pdir'] / 'disable').exists()
    monkeypatch.setattr(mod.Runner, 'load', real)
    assert lab['kernel'].read_text() == 'one (complain)\ntwo (complain)\nthree (complain)\n'


def test_a_profile_swapped_for_a_symlink_before_the_write_is_not_written_through(lab, run_module, monkeypatch,
                                                                                 tmp_path):
    outside = tmp_path / 'outside'
    outside.write_text('profile one /usr/bin/one flags=(complain) {\n}\n')
    real = mod.Runner.plan

    def plan_then_swap(self):
        items = real(self)
        os.unlink(str(lab['pdir'] / 'two'))
        os.symlink(str(outside), str(lab['pdir'] / 'two'))  # after it was read, before it is written
        return items
    monkeypatch.setattr(mod.Runner, 'plan', plan_then_swap)
    one = (lab['pdir'] / 'one').read_text()
    res = run_module(mod.main, dict(profiles=['one', 'two'], mode='enforce', profile_dir=lab['dir']))
    assert res['failed'] and 'symlink' in res['msg'] and 'the files were restored' in res['msg'], res
    assert outside.read_text() == 'profile one /usr/bin/one flags=(complain) {\n}\n'
    assert (lab['pdir'] / 'one').read_text() == one and calls(lab) == []


def test_a_fifo_or_device_named_as_a_profile_is_refused_without_hanging(lab, run_module):
    os.mkfifo(str(lab['pdir'] / 'fifo'))
    for ref in (str(lab['pdir'] / 'fifo'), 'fifo', '/dev/null'):
        res = run_module(mod.main, dict(profiles=[ref], mode='enforce', profile_dir=lab['dir']))
        assert res['failed'] and repr(ref) in res['msg'] and 'nothing was changed' in res['msg'], res


# ------------------------------------------------------------------ control characters at the module boundary

@pytest.mark.parametrize('option, value', [
    ('profiles', ['one\nprofile evil']), ('profiles', ['one', 'tw\x00o']), ('profiles', ['\x1b[31mone']),
    ('profile_dir', '/etc/apparmor.d\n'), ('profile_dir', '/etc/appar\x00mor.d'),
])
def test_control_characters_in_string_options_are_refused_naming_the_value(lab, run_module, option, value):
    before = snapshot(lab)
    args = dict(profiles=['one'], mode='enforce', profile_dir=lab['dir'])
    args[option] = value
    res = run_module(mod.main, args)
    bad = [v for v in (value if isinstance(value, list) else [value]) if any(ord(c) < 32 for c in v)][0]
    assert res['failed'] and '%s %r' % (option, bad) in res['msg'] and 'nothing was changed' in res['msg'], res
    assert snapshot(lab) == before and calls(lab, names=True) == []
