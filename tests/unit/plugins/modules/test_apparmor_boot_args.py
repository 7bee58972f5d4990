"""apparmor_boot_args in-process against a temp tree (GRUB defaults, grub.d, /proc/cmdline, selinuxfs, update-grub)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.confine.lsm.plugins.modules import apparmor_boot_args as mod
from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa
from ansible_collections.confine.lsm.plugins.module_utils import _bootargs
from ansible_collections.confine.lsm.plugins.module_utils import _files
from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se
from ansible_collections.confine.lsm.plugins.module_utils import _status as st

CIS = ['apparmor=1', 'security=apparmor']


@pytest.fixture
def lab(tmp_path, monkeypatch, fake_update_grub):
    grub = tmp_path / 'grub'
    grub.write_text('GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n')
    grub_d = tmp_path / 'grub.d'
    grub_d.mkdir()
    cmdline = tmp_path / 'cmdline'
    cmdline.write_text('BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro quiet\n')
    live = {'apparmor': True}
    monkeypatch.setattr(se, 'DEFAULT_GRUB', str(grub))
    monkeypatch.setattr(se, 'GRUB_D', str(grub_d))
    monkeypatch.setattr(se, 'CMDLINE', str(cmdline))
    monkeypatch.setattr(se, 'BLS_DIR', str(tmp_path / 'no-bls'))
    monkeypatch.setattr(st, 'KERNEL_CMDLINE', str(tmp_path / 'kernel-cmdline'))
    monkeypatch.setattr(se, 'selinuxfs', lambda mounts=None: str(tmp_path / 'no-selinuxfs'))
    monkeypatch.setattr(aa, 'enabled', lambda *a, **k: live['apparmor'])
    log = fake_update_grub
    return dict(grub=grub, grub_d=grub_d, cmdline=cmdline, live=live, log=log, tmp=tmp_path)


def run(run_module, check=False, diff=False, **kw):
    return run_module(mod.main, kw, check=check, diff=diff)


def test_a_compliant_host_is_left_alone(lab, run_module):
    res = run(run_module)
    assert not res['changed'] and not res['failed'] and res['kernel_args_fixed'] == {}, res
    assert res['kernel_args']['boot_config'] == {'source': str(lab['grub']), 'args': {}, 'blocking': []}
    assert res['reboot_required'] is False and res['blocking_after'] == [] and not lab['log'].exists()


def test_four_steps_fix_apparmor_0_and_a_foreign_security(lab, run_module):
    text = 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet apparmor=0"\nGRUB_CMDLINE_LINUX="security=selinux"\n'
    lab['grub'].write_text(text)
    checked = run(run_module, check=True, diff=True)
    assert checked['changed'] and checked['kernel_args_fixed'] == {'apparmor': '1', 'security': 'apparmor'}
    assert checked['kernel_args']['boot_config']['blocking'] == ['apparmor=0 disables AppArmor',
                                                                 'security=selinux selects another LSM']
    fixed = text.replace('apparmor=0', 'apparmor=1').replace('security=selinux', 'security=apparmor')
    assert checked['diff'] == [dict(before=text, after=fixed, before_header=str(lab['grub']),
                                    after_header=str(lab['grub']))]
    assert lab['grub'].read_text() == text and not lab['log'].exists()
    res = run(run_module)
    assert res['changed'] and res['boot_files_fixed'] == [str(lab['grub'])] and res['reboot_required'] is False
    assert lab['grub'].read_text() == fixed and lab['log'].read_text() == 'run\n'
    again = run(run_module, check=True)
    assert not again['changed'] and again['kernel_args']['boot_config']['blocking'] == [], again
    again = run(run_module)
    assert not again['changed'] and lab['log'].read_text() == 'run\n', again


def test_required_args_are_added_to_the_assignment_that_wins(lab, run_module):
    lab['grub'].write_text('GRUB_CMDLINE_LINUX="console=ttyS0"\n')
    cloud = lab['grub_d'] / '50-cloud.cfg'
    cloud.write_text("GRUB_CMDLINE_LINUX='$GRUB_CMDLINE_LINUX'  # literally, single quotes\n"
                     'GRUB_CMDLINE_LINUX=$GRUB_CMDLINE_LINUX\n')
    res = run(run_module, require_args=CIS)
    assert res['kernel_args']['boot_config']['blocking'] == ['apparmor=1 is not set', 'security=apparmor is not set']
    assert res['changed'] and res['boot_files_fixed'] == [str(cloud)], res
    assert cloud.read_text() == ("GRUB_CMDLINE_LINUX='$GRUB_CMDLINE_LINUX'  # literally, single quotes\n"
                                 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX apparmor=1 security=apparmor"\n')
    assert lab['grub'].read_text() == 'GRUB_CMDLINE_LINUX="console=ttyS0"\n'
    assert se.grub_default_args(se.grub_default_files()) == '$GRUB_CMDLINE_LINUX apparmor=1 security=apparmor'
    assert not run(run_module, require_args=CIS)['changed']


def test_a_file_that_sets_no_cmdline_gets_one_line(lab, run_module):
    lab['grub'].write_text('GRUB_DEFAULT=0')  # no newline at the end either
    res = run(run_module, require_args=['security=apparmor'])
    assert res['changed'] and lab['grub'].read_text() == 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="security=apparmor"\n'


@pytest.mark.parametrize('lsm, fixed', [
    ('landlock,yama', 'landlock,yama,apparmor'),
    ('landlock,selinux,bpf', 'landlock,apparmor,selinux,bpf'),
    ('smack,selinux', 'apparmor,smack,selinux'),
    # listed, but after an exclusive LSM the kernel starts first: moved before it
    ('landlock,selinux,apparmor,bpf', 'landlock,apparmor,selinux,bpf'),
    ('', 'apparmor'),
])
def test_an_lsm_list_without_apparmor_gets_it_where_the_kernel_starts_it(lab, run_module, lsm, fixed):
    lab['grub'].write_text('GRUB_CMDLINE_LINUX="lsm=%s"\n' % lsm)
    res = run(run_module)
    assert res['kernel_args_fixed'] == {'lsm': fixed}, res
    assert lab['grub'].read_text() == 'GRUB_CMDLINE_LINUX="lsm=%s"\n' % fixed


def test_security_is_left_alone_when_lsm_decides_and_selinux_off_does_not_block(lab, run_module):
    # the kernel ignores security= when lsm= is given; selinux=0 takes SELinux out of lsm='s race
    lab['grub'].write_text('GRUB_CMDLINE_LINUX="security=selinux selinux=0 lsm=selinux,apparmor"\n')
    res = run(run_module)
    assert not res['changed'] and res['kernel_args_fixed'] == {}, res


def test_a_running_selinux_kernel_is_refused(lab, run_module, monkeypatch):
    fs = lab['tmp'] / 'selinuxfs'
    fs.mkdir()
    (fs / 'enforce').write_text('1')
    monkeypatch.setattr(se, 'selinuxfs', lambda mounts=None: str(fs))
    lab['grub'].write_text('GRUB_CMDLINE_LINUX="security=selinux"\n')
    res = run(run_module)
    assert res['failed'] and 'runs SELinux' in res['msg'] and 'security=selinux' in res['msg'], res
    assert lab['grub'].read_text() == 'GRUB_CMDLINE_LINUX="security=selinux"\n' and not lab['log'].exists()


@pytest.mark.parametrize('bad', ['apparmor=0', 'security=selinux', 'lsm=apparmor', 'apparmor', 'quiet=1'])
def test_a_bad_required_arg_is_named(lab, run_module, bad):
    res = run(run_module, require_args=['apparmor=1', bad])
    assert res['failed'] and repr(bad) in res['msg'] and 'nothing was changed' in res['msg'], res


def test_the_running_kernel_without_apparmor_needs_the_reboot(lab, run_module):
    lab['live']['apparmor'] = False
    lab['cmdline'].write_text('BOOT_IMAGE=/vmlinuz apparmor=0\n')
    lab['grub'].write_text('GRUB_CMDLINE_LINUX="apparmor=0"\n')
    res = run(run_module)
    assert res['changed'] and res['reboot_required'] is True
    assert res['kernel_args']['cmdline']['blocking'] == ['apparmor=0 disables AppArmor']


def test_a_kernel_cmdline_file_is_reported_not_edited(lab, run_module):
    (lab['tmp'] / 'kernel-cmdline').write_text('root=/dev/vda1 apparmor=0\n')
    res = run(run_module)
    assert not res['changed'] and res['blocking_after'] == [
        'apparmor=0 disables AppArmor (%s)' % (lab['tmp'] / 'kernel-cmdline')], res


def test_no_grub_defaults_and_no_grubby_is_refused_when_something_is_needed(lab, run_module):
    lab['grub'].unlink()
    assert not run(run_module)['changed']
    res = run(run_module, require_args=CIS)
    assert res['failed'] and 'no GRUB defaults' in res['msg'] and not lab['grub'].exists(), res
    # a grub.d file alone is a boot configuration: fixed there; adding needs an assignment to add to
    cfg = lab['grub_d'] / '99-x.cfg'
    cfg.write_text('GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT apparmor=0"\n')
    res = run(run_module)
    assert res['changed'] and res['boot_files_fixed'] == [str(cfg)] and not lab['grub'].exists(), res
    res = run(run_module, require_args=CIS)
    assert res['failed'] and 'no assignment to add' in res['msg'] and not lab['grub'].exists(), res


def test_a_fifo_in_grub_d_is_refused_unread(lab, run_module):
    os.mkfifo(str(lab['grub_d'] / '10-pipe.cfg'))
    res = run(run_module, require_args=CIS)
    assert res['failed'] and '10-pipe.cfg' in res['msg'] and 'not a regular file' in res['msg'], res


def test_an_edit_that_would_not_take_effect_is_refused(lab, run_module):
    text = 'GRUB_CMDLINE_LINUX="apparmor=0\n'  # no closing quote: the planner's edit cannot reach the token
    lab['grub'].write_text(text)
    res = run(run_module)
    assert res['failed'] and 'would still keep AppArmor off' in res['msg'] and 'apparmor=0' in res['msg'], res
    assert lab['grub'].read_text() == text and not lab['log'].exists()


def test_tokens_beside_unexpanded_shell_are_fixed_and_the_rest_kept(lab, run_module):
    lab['grub'].write_text('GRUB_CMDLINE_LINUX="apparmor=0"\nGRUB_CMDLINE_LINUX_DEFAULT="apparmor=0 ${X}"\n')
    lab['grub_d'].joinpath('99-late.cfg').write_text('GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT"\n')
    res = run(run_module)
    assert res['changed'] and lab['grub'].read_text() == (
        'GRUB_CMDLINE_LINUX="apparmor=1"\nGRUB_CMDLINE_LINUX_DEFAULT="apparmor=1 ${X}"\n'), res


def test_a_failed_second_write_puts_the_first_back(lab, run_module, monkeypatch):
    lab['grub'].write_text('GRUB_CMDLINE_LINUX="apparmor=0"\n')
    second = lab['grub_d'] / '50-x.cfg'
    second.write_text('GRUB_CMDLINE_LINUX_DEFAULT="security=smack"\n')
    real = _files.write_atomic

    def failing(module, path, text, mode=0o644):
        if path == str(second):
            raise OSError(28, 'No space left on device')
        return real(module, path, text, mode)
    monkeypatch.setattr(_files, 'write_atomic', failing)
    res = run(run_module)
    assert res['failed'] and '50-x.cfg' in res['msg'] and 'No space' in res['msg'], res
    assert lab['grub'].read_text() == 'GRUB_CMDLINE_LINUX="apparmor=0"\n' and not lab['log'].exists()
    assert second.read_text() == 'GRUB_CMDLINE_LINUX_DEFAULT="security=smack"\n'


def test_plan_grub_keeps_quotes_comments_and_line_endings():
    files = ['/g']
    texts = {'/g': 'GRUB_CMDLINE_LINUX=quiet # bare\r\nexport GRUB_CMDLINE_LINUX_DEFAULT="apparmor=0"\n'}
    edits = _bootargs.plan_grub(files, texts, {'apparmor': '1'}, ['security=apparmor'])
    assert edits == [('/g', texts['/g'], 'GRUB_CMDLINE_LINUX="quiet security=apparmor" # bare\r\n'
                                         'export GRUB_CMDLINE_LINUX_DEFAULT="apparmor=1"\n')]
    with pytest.raises(_bootargs.BootArgsError, match='unterminated'):
        _bootargs.plan_grub(files, {'/g': 'GRUB_CMDLINE_LINUX="quiet\n'}, {}, ['apparmor=1'])
