"""selinux_mode in-process against a temp root (config, policy stores, selinuxfs, /proc/cmdline, /etc/default/grub)
and a stand-in update-grub: check mode and diff, the never-weaken guard, kernel arguments reported as they are
after the fix, where the relabel flag goes for a config that is not the system's, and the error paths (nothing
changed)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import stat
import threading

import pytest

from ansible_collections.confine.lsm.plugins.modules import selinux_mode as mod
from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se

CFG = 'SELINUX=permissive\nSELINUXTYPE=default\n'


@pytest.fixture
def lab(tmp_path, monkeypatch, fake_update_grub):
    root = tmp_path / 'image'
    etc = root / 'etc' / 'selinux'
    for store in ('default', 'targeted'):
        (etc / store / 'policy').mkdir(parents=True)
        (etc / store / 'policy' / 'policy.33').write_text('')
    config = etc / 'config'
    config.write_text(CFG)
    fs = tmp_path / 'selinuxfs'
    fs.mkdir()
    (fs / 'enforce').write_text('0')
    live = {'mode': 'permissive'}
    host_etc = tmp_path / 'host-etc-selinux'  # the host's own stores: "default" only
    (host_etc / 'default' / 'policy').mkdir(parents=True)
    (host_etc / 'default' / 'policy' / 'policy.33').write_text('')
    monkeypatch.setattr(se, 'SELINUX_DIR', str(host_etc))
    monkeypatch.setattr(se, 'AUTORELABEL', str(tmp_path / 'host-root' / '.autorelabel'))  # never the real one
    (tmp_path / 'host-root').mkdir()
    monkeypatch.setattr(se, 'runtime_mode', lambda fs=None: live['mode'])
    monkeypatch.setattr(se, 'selinuxfs', lambda mounts=None: str(fs))
    cmdline = tmp_path / 'cmdline'
    cmdline.write_text('BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro\n')
    monkeypatch.setattr(se, 'CMDLINE', str(cmdline))
    monkeypatch.setattr(se, 'BLS_DIR', str(tmp_path / 'no-bls'))
    grub = tmp_path / 'grub'
    grub.write_text('GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="quiet"\n')
    monkeypatch.setattr(se, 'DEFAULT_GRUB', str(grub))
    (tmp_path / 'grub.d').mkdir()
    monkeypatch.setattr(se, 'GRUB_D', str(tmp_path / 'grub.d'))
    log = fake_update_grub
    return dict(root=root, config=config, fs=fs, live=live, cmdline=cmdline, grub=grub, grub_d=tmp_path / 'grub.d',
                log=log, tmp=tmp_path,
                host_flag=tmp_path / 'host-root' / '.autorelabel')


def run(run_module, lab, check=False, diff=False, **kw):
    args = dict(configfile=str(lab['config']), policy='default')
    args.update(kw)
    return run_module(mod.main, args, check=check, diff=diff)


def test_check_mode_and_diff_change_nothing(lab, run_module):
    res = run(run_module, lab, check=True, diff=True, state='enforcing')
    assert res['changed'] and not res['failed'] and res['config_state'] == 'enforcing'
    assert res['diff'] == dict(before=CFG, after=CFG.replace('permissive', 'enforcing'),
                               before_header=str(lab['config']), after_header=str(lab['config']))
    assert lab['config'].read_text() == CFG and (lab['fs'] / 'enforce').read_text() == '0'
    assert res['before'] == dict(config_state='permissive', runtime_state='permissive', policy='default',
                                 kernel_args_blocking=False, boot_args={})


def test_enforcing_is_applied_then_idempotent(lab, run_module):
    res = run(run_module, lab, state='enforcing')
    assert res['changed'] and res['runtime_state'] == 'enforcing' and res['weakened'] == []
    assert lab['config'].read_text() == CFG.replace('permissive', 'enforcing')
    assert (lab['fs'] / 'enforce').read_text() == '1'
    lab['live']['mode'] = 'enforcing'
    again = run(run_module, lab, state='enforcing')
    assert not again['changed'], again


def test_lowering_is_refused_without_allow_weaken(lab, run_module):
    lab['config'].write_text(CFG.replace('permissive', 'enforcing'))
    lab['live']['mode'] = 'enforcing'
    res = run(run_module, lab, state='permissive')
    assert res['failed'] and 'allow_weaken' in res['msg'] and res['weakened'] == []
    assert lab['config'].read_text() == CFG.replace('permissive', 'enforcing')
    allowed = run(run_module, lab, state='permissive', allow_weaken=True)
    assert allowed['changed'] and allowed['weakened'] == ['config: SELINUX=enforcing -> permissive',
                                                          'runtime: enforcing -> permissive']


@pytest.mark.parametrize('check', [True, False])
def test_kernel_args_are_reported_as_they_are_after_the_fix(lab, run_module, check):
    lab['grub'].write_text('GRUB_CMDLINE_LINUX="quiet selinux=0 security=apparmor"\n')
    res = run(run_module, lab, check=check, state='enforcing', fix_kernel_args=True)
    assert res['before']['kernel_args_blocking'] is True
    assert res['before']['boot_args'] == {'selinux': '0', 'security': 'apparmor'}
    assert res['kernel_args_fixed'] == {'selinux': None, 'security': 'selinux'}
    # the running kernel (permissive, made enforcing at runtime) is not blocked: the fix is for the next boot
    assert res['reboot_required'] is False, res
    assert res['kernel_args_blocking'] is False, res
    assert res['kernel_args']['boot_config']['args'] == {'security': 'selinux'}
    assert res['kernel_args']['boot_config']['blocking'] == []
    if check:
        assert 'selinux=0' in lab['grub'].read_text() and not lab['log'].exists()
    else:
        assert lab['grub'].read_text() == 'GRUB_CMDLINE_LINUX="quiet security=selinux"\n'
        assert lab['log'].read_text() == 'run\n'
        again = run(run_module, lab, state='enforcing', fix_kernel_args=True)
        assert again['kernel_args_fixed'] == {} and not again['kernel_args_blocking']


def test_a_kernel_booted_with_selinux_0_still_needs_the_reboot_after_the_fix(lab, run_module):
    lab['grub'].write_text('GRUB_CMDLINE_LINUX="quiet selinux=0"\n')
    lab['cmdline'].write_text('BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro selinux=0\n')
    lab['live']['mode'] = 'disabled'
    res = run(run_module, lab, state='enforcing', fix_kernel_args=True)
    assert res['kernel_args_fixed'] == {'selinux': None} and res['reboot_required'] is True, res
    assert res['kernel_args']['cmdline']['blocking'], res


def test_grub_d_files_are_read_as_grub_mkconfig_sources_them_and_fixed_with_the_default(lab, run_module):
    # Ubuntu cloud images set the kernel args in grub.d: the last assignment wins, $GRUB_CMDLINE_LINUX extends
    lab['grub'].write_text('GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="quiet"\n')
    cloud = lab['grub_d'] / '50-cloud.cfg'
    cloud.write_text('export GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX selinux=0"  # image default\n')
    (lab['grub_d'] / '60-other.cfg').write_text('GRUB_TIMEOUT=1\n')
    (lab['grub_d'] / 'README').write_text('GRUB_CMDLINE_LINUX="selinux=0"\n')  # not a .cfg: grub never reads it
    seen = run(run_module, lab, state='enforcing')
    assert seen['kernel_args_blocking'] is True and seen['kernel_args']['boot_config']['args'] == {'selinux': '0'}, seen
    assert seen['kernel_args']['boot_config']['source'].endswith('grub.d/*.cfg'), seen
    res = run(run_module, lab, state='enforcing', fix_kernel_args=True)
    assert res['kernel_args_fixed'] == {'selinux': None} and res['boot_files_fixed'] == [str(cloud)], res
    assert cloud.read_text() == 'export GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX"  # image default\n'
    assert lab['grub'].read_text() == 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="quiet"\n'
    assert (lab['grub_d'] / 'README').read_text() == 'GRUB_CMDLINE_LINUX="selinux=0"\n'
    assert res['kernel_args_blocking'] is False and lab['log'].read_text() == 'run\n', res
    lab['live']['mode'] = 'enforcing'
    again = run(run_module, lab, state='enforcing', fix_kernel_args=True)
    assert not again['changed'] and again['boot_files_fixed'] == [], again


def test_a_fifo_in_grub_d_is_refused_unread_and_nothing_is_written(lab, run_module):
    lab['grub'].write_text('GRUB_CMDLINE_LINUX="selinux=0"\n')
    os.mkfifo(str(lab['grub_d'] / '10-pipe.cfg'))
    res = run(run_module, lab, state='enforcing', fix_kernel_args=True)
    assert res['failed'] and '10-pipe.cfg' in res['msg'] and 'not a regular file' in res['msg'], res
    assert lab['grub'].read_text() == 'GRUB_CMDLINE_LINUX="selinux=0"\n' and not lab['log'].exists()


def test_a_failed_second_write_puts_the_first_file_back(lab, run_module, monkeypatch):
    lab['grub'].write_text('GRUB_CMDLINE_LINUX="selinux=0"\n')
    second = lab['grub_d'] / '50-x.cfg'
    second.write_text('GRUB_CMDLINE_LINUX_DEFAULT="enforcing=0"\n')
    real = mod._files.write_atomic

    def failing(module, path, text, mode=0o644):
        if path == str(second):
            raise OSError(28, 'No space left on device')
        return real(module, path, text, mode)
    monkeypatch.setattr(mod._files, 'write_atomic', failing)
    res = run(run_module, lab, state='enforcing', fix_kernel_args=True)
    assert res['failed'] and '50-x.cfg' in res['msg'] and 'No space' in res['msg'], res
    assert lab['grub'].read_text() == 'GRUB_CMDLINE_LINUX="selinux=0"\n'
    assert second.read_text() == 'GRUB_CMDLINE_LINUX_DEFAULT="enforcing=0"\n' and not lab['log'].exists()


def test_an_lsm_list_without_selinux_still_blocks_after_the_fix(lab, run_module, monkeypatch):
    warned = []
    monkeypatch.setattr(mod.AnsibleModule, 'warn', lambda self, msg: warned.append(msg))
    lab['grub'].write_text('GRUB_CMDLINE_LINUX="selinux=0 lsm=landlock,apparmor"\n')
    res = run(run_module, lab, state='enforcing', fix_kernel_args=True)
    assert res['kernel_args_fixed'] == {'selinux': None}
    assert res['kernel_args_blocking'] is True and res['before']['kernel_args_blocking'] is True
    assert res['kernel_args']['boot_config']['blocking'] == ['lsm=landlock,apparmor does not list selinux']
    assert any('still keep SELinux' in w and 'lsm=landlock,apparmor' in w for w in warned), warned


def test_the_relabel_flag_goes_to_the_root_the_config_belongs_to(lab, run_module):
    lab['config'].write_text(CFG.replace('permissive', 'disabled'))
    lab['live']['mode'] = 'disabled'
    checked = run(run_module, lab, check=True, state='enforcing')
    assert checked['relabel_scheduled'] and checked['relabel_path'] == str(lab['root'] / '.autorelabel')
    assert not (lab['root'] / '.autorelabel').exists()
    res = run(run_module, lab, state='enforcing')
    assert res['changed'] and res['relabel_scheduled'] and res['relabel_skipped'] is None
    assert (lab['root'] / '.autorelabel').is_file() and not lab['host_flag'].exists()
    assert res['reboot_required']


def test_a_config_elsewhere_names_no_root_and_creates_no_flag(lab, run_module, monkeypatch):
    warned = []
    monkeypatch.setattr(mod.AnsibleModule, 'warn', lambda self, msg: warned.append(msg))
    other = lab['tmp'] / 'cfg-elsewhere'
    other.write_text(CFG.replace('permissive', 'disabled'))
    lab['live']['mode'] = 'disabled'
    res = run(run_module, lab, state='enforcing', configfile=str(other))
    assert res['changed'] and not res['relabel_scheduled'] and res['relabel_path'] is None
    assert 'names no root' in res['relabel_skipped']
    assert warned == [res['relabel_skipped']]
    assert other.read_text() == CFG.replace('permissive', 'disabled').replace('disabled', 'enforcing')
    assert not lab['host_flag'].exists() and not (lab['root'] / '.autorelabel').exists()


def test_a_config_reached_through_a_link_puts_the_flag_where_the_file_is(lab, run_module):
    lab['config'].write_text(CFG.replace('permissive', 'disabled'))
    lab['live']['mode'] = 'disabled'
    link = lab['tmp'] / 'selinux-link'
    link.symlink_to(lab['config'])
    res = run(run_module, lab, state='enforcing', configfile=str(link))
    assert res['relabel_path'] == str(lab['root'] / '.autorelabel') and (lab['root'] / '.autorelabel').is_file()
    assert link.is_symlink()


def test_a_relabel_flag_that_is_a_symlink_is_refused_before_anything_changes(lab, run_module):
    lab['config'].write_text(CFG.replace('permissive', 'disabled'))
    lab['live']['mode'] = 'disabled'
    victim = lab['tmp'] / 'victim'
    victim.write_text('keep me\n')
    (lab['root'] / '.autorelabel').symlink_to(victim)
    res = run(run_module, lab, state='enforcing')
    assert res['failed'] and 'symbolic link' in res['msg'] and str(lab['root'] / '.autorelabel') in res['msg']
    assert victim.read_text() == 'keep me\n' and lab['config'].read_text() == CFG.replace('permissive', 'disabled')


def _fifo(path):
    os.mkfifo(str(path))


def _socket(path):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()


def _device(path):
    os.mknod(str(path), 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # as /dev/null; the lint tier runs as root


@pytest.mark.parametrize('make, kind', [(_fifo, 'FIFO'), (_socket, 'socket'), (_device, 'character device'),
                                        (os.mkdir, 'directory')])
def test_a_config_that_is_not_a_regular_file_is_refused_without_blocking_and_kept(lab, run_module, make, kind):
    path = lab['tmp'] / 'cfg-special'
    make(path)
    before = os.lstat(str(path))
    done = {}
    worker = threading.Thread(target=lambda: done.update(res=run(run_module, lab, configfile=str(path))))
    worker.daemon = True
    worker.start()
    worker.join(20)
    if worker.is_alive():
        if kind == 'FIFO':
            with open(str(path), 'w') as f:  # let the blocked reader go so that the run ends
                f.write('')
        worker.join(5)
        pytest.fail('the module blocked on a %s given as configfile' % kind)
    res = done['res']
    assert res['failed'] and kind in res['msg'] and str(path) in res['msg'], res
    after = os.lstat(str(path))
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)  # not replaced by a regular file


@pytest.mark.parametrize('kw, named', [
    (dict(policy='default\nSELINUX=disabled'), "'default\\nSELINUX=disabled'"),
    (dict(policy='default\x00'), "'default\\x00'"),
    (dict(policy='../default'), "'../default'"),
    (dict(policy='nosuch'), "'nosuch'"),
    (dict(configfile='/tmp/cfg\x00x'), "'/tmp/cfg\\x00x'"),
    (dict(state='enforce'), 'enforce'),
])
def test_bad_input_is_refused_naming_the_value(lab, run_module, kw, named):
    res = run(run_module, lab, state=kw.pop('state', 'enforcing'), **kw)
    assert res['failed'] and named in res['msg'], (named, res['msg'])
    assert lab['config'].read_text() == CFG and (lab['fs'] / 'enforce').read_text() == '0'


def test_a_config_newline_in_the_path_is_refused(lab, run_module):
    res = run(run_module, lab, state='enforcing', configfile=str(lab['config']) + '\n')
    assert res['failed'] and repr(str(lab['config']) + '\n') in res['msg']


def test_a_config_libselinux_reads_otherwise_is_refused_with_the_line(lab, run_module):
    lab['config'].write_text('SELINUX = enforcing\nSELINUXTYPE=default\n')
    res = run(run_module, lab, state='enforcing')
    assert res['failed'] and 'line 1' in res['msg'] and 'nothing was changed' in res['msg']
    assert lab['config'].read_text() == 'SELINUX = enforcing\nSELINUXTYPE=default\n'


def test_a_grub_defaults_file_that_is_a_fifo_is_refused(lab, run_module):
    lab['grub'].unlink()
    os.mkfifo(str(lab['grub']))
    res = run(run_module, lab, state='enforcing')
    assert res['failed'] and 'FIFO' in res['msg'] and lab['config'].read_text() == CFG


def test_the_stores_of_a_config_under_a_root_are_those_of_that_root(lab, run_module):
    res = run(run_module, lab, state='enforcing', policy='targeted')  # installed in the image only
    assert not res['failed'] and res['policy'] == 'targeted', res
    other = lab['tmp'] / 'cfg-elsewhere'
    other.write_text(CFG)
    elsewhere = run(run_module, lab, state='enforcing', policy='targeted', configfile=str(other))
    assert elsewhere['failed'] and "policy 'targeted' is not installed" in elsewhere['msg']
    assert str(lab['tmp'] / 'host-etc-selinux') in elsewhere['msg'] and other.read_text() == CFG
