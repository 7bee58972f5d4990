from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg

MODES = ('enforcing', 'permissive', 'disabled')


def conf(state, policy='targeted'):
    return '# comment kept\nSELINUX=%s\nSELINUXTYPE=%s\n' % (state, policy)


@pytest.mark.parametrize('cfg_state,runtime_now,target', list(itertools.product(MODES, MODES, MODES)))
def test_every_transition(cfg_state, runtime_now, target):
    plan = se.plan_mode(conf(cfg_state), runtime_now, target, 'targeted')
    weaker_cfg = cfg.RANK[target] < cfg.RANK[cfg_state]
    live = 'permissive' if target == 'disabled' else target
    weaker_live = runtime_now != 'disabled' and cfg.RANK[live] < cfg.RANK[runtime_now]
    assert bool(plan['refused']) == (weaker_cfg or weaker_live)
    assert plan['config_changed'] == (cfg_state != target)
    assert cfg.get(plan['new_text'], 'SELINUX') == target
    assert plan['new_text'].startswith('# comment kept\n')
    if runtime_now == 'disabled':
        assert plan['runtime_action'] is None and 'not active' in plan['runtime_skipped']
    else:
        assert plan['runtime_action'] == (live if live != runtime_now else None)
    # relabel exactly when coming from disabled to an enabled mode with a config change
    assert plan['relabel'] == (cfg_state != target and target != 'disabled'
                               and (cfg_state == 'disabled' or runtime_now == 'disabled'))
    assert plan['reboot_required'] == ((target != 'disabled' and runtime_now == 'disabled')
                                       or (target == 'disabled' and runtime_now != 'disabled'))


def test_allow_weaken_records_but_does_not_refuse():
    plan = se.plan_mode(conf('enforcing'), 'enforcing', 'permissive', 'targeted', allow_weaken=True)
    assert plan['refused'] == []
    assert plan['weakened'] == ['config: SELINUX=enforcing -> permissive', 'runtime: enforcing -> permissive']


def test_no_change_is_no_op():
    plan = se.plan_mode(conf('enforcing'), 'enforcing', 'enforcing', 'targeted')
    assert not plan['config_changed'] and plan['runtime_action'] is None and not plan['relabel']
    assert not plan['reboot_required']


def test_missing_and_empty_config_use_template():
    for text in (None, '', '\n  \n'):
        plan = se.plan_mode(text, 'disabled', 'enforcing', 'default')
        assert plan['config_changed']
        assert cfg.get(plan['new_text'], 'SELINUX') == 'enforcing'
        assert cfg.get(plan['new_text'], 'SELINUXTYPE') == 'default'
        assert plan['relabel'] and plan['reboot_required']


def test_relabel_only_once():
    plan = se.plan_mode(conf('disabled'), 'disabled', 'enforcing', 'targeted', autorelabel_exists=True)
    assert plan['config_changed'] and not plan['relabel']


def test_policy_change_relabels_and_needs_reboot():
    plan = se.plan_mode(conf('enforcing', 'targeted'), 'enforcing', 'enforcing', 'mls')
    assert plan['relabel'] and plan['reboot_required'] and not plan['refused']


def test_runtime_false_leaves_running_mode():
    plan = se.plan_mode(conf('permissive'), 'permissive', 'enforcing', 'targeted', runtime=False)
    assert plan['runtime_action'] is None and 'runtime=false' in plan['runtime_skipped']


# The never-weaken guard against config texts that the old regex read otherwise than libselinux does (what
# libselinux 3.4 reads is recorded in test_selinux_config.LIBSELINUX_READS and checked by tests/oracle).
@pytest.mark.parametrize('text,libselinux_mode', [
    ('SELINUX=Enforcingxyz\nSELINUXTYPE=targeted\n', 'enforcing'),  # the regex read "enforcingxyz": no rank
    (' SELINUX=permissive\nSELINUX=enforcing\nSELINUXTYPE=targeted\n', 'enforcing'),  # it read the indented line
    ('SELINUX="permissive"\nSELINUX=enforcing\nSELINUXTYPE=targeted\n', 'enforcing'),  # it read the quoted one
    ('SELINUX=\t ENFORCING\nSELINUXTYPE=targeted\n', 'enforcing'),
    ('SELINUX=permissive\rSELINUX=enforcing\nSELINUXTYPE=targeted\n', 'permissive'),
    ('SELINUX=enforcing\nSELINUX=disabled\nSELINUXTYPE=targeted\n', 'enforcing'),  # the first line counts
])
def test_guard_sees_the_mode_libselinux_reads(text, libselinux_mode):
    assert cfg.read_mode(text) == libselinux_mode
    for target in MODES:
        plan = se.plan_mode(text, 'disabled', target, 'targeted')
        assert plan['config_before'] == libselinux_mode
        assert bool(plan['refused']) == (cfg.RANK[target] < cfg.RANK[libselinux_mode]), (target, plan)
        assert cfg.read_mode(plan['new_text']) == target
        assert plan['config_changed'] == (target != libselinux_mode)


def test_an_unset_mode_boots_permissive_so_disabled_is_a_lowering():
    text = '# no mode here\nSELINUXTYPE=targeted\n'
    plan = se.plan_mode(text, 'disabled', 'disabled', 'targeted')
    assert plan['refused'] == ['config: SELINUX unset (the boot loads the policy permissive) -> disabled']
    assert not se.plan_mode(text, 'disabled', 'permissive', 'targeted')['refused']
    plan = se.plan_mode(text, 'disabled', 'enforcing', 'targeted')
    assert not plan['refused'] and plan['new_text'] == text + 'SELINUX=enforcing\n'
    # no file at all reads as no mode too (libselinux finds none): writing disabled into a new file is a lowering
    assert se.plan_mode(None, 'disabled', 'disabled', 'targeted')['refused'] == [
        'config: no config file (the boot loads the policy permissive) -> disabled']
    assert not se.plan_mode(None, 'disabled', 'enforcing', 'targeted')['refused']


@pytest.mark.parametrize('text', [
    'SELINUX = enforcing\nSELINUXTYPE=targeted\n',  # the regex read enforcing: "compliant", while the boot is
    ' SELINUX=enforcing\nSELINUXTYPE=targeted\n',   # permissive (libselinux reads no mode)
    'SELINUX="enforcing"\nSELINUXTYPE=targeted\n',
    'selinux=enforcing\nSELINUXTYPE=targeted\n',
    '#\rSELINUX=enforcing\nSELINUXTYPE=targeted\n',
    'x' * 4095 + 'SELINUX=disabled\nSELINUX=enforcing\nSELINUXTYPE=targeted\n',
    'SELINUX=enforcing\x00\nSELINUXTYPE=targeted\n',
])
def test_texts_other_readers_read_otherwise_are_refused_not_reported_compliant(text):
    for target in MODES:
        with pytest.raises(cfg.ConfigError):
            se.plan_mode(text, 'enforcing', target, 'targeted')


def test_a_policy_that_would_inject_a_line_is_refused():
    text = 'SELINUXTYPE=targeted\nSELINUX=enforcing\n'
    with pytest.raises(cfg.ConfigError, match='not a policy type'):
        se.plan_mode(text, 'disabled', 'enforcing', 'x\nSELINUX=disabled')
    with pytest.raises(cfg.ConfigError, match='not a policy type'):
        se.plan_mode(None, 'disabled', 'enforcing', 'x\nSELINUX=disabled')


def test_no_type_line_means_targeted_to_libselinux():
    plan = se.plan_mode('SELINUX=enforcing\n', 'enforcing', 'enforcing', 'default')
    assert plan['policy_before'] is None and plan['relabel'] and plan['reboot_required']
    plan = se.plan_mode('SELINUX=enforcing\n', 'enforcing', 'enforcing', 'targeted')
    assert plan['config_changed'] and not plan['relabel'] and not plan['reboot_required']


@pytest.mark.parametrize('line,expected', [
    ('BOOT_IMAGE=/vmlinuz root=/dev/vda ro selinux=0', {'selinux': '0'}),
    ('root=/dev/vda security=selinux selinux=1 enforcing=0', {'security': 'selinux', 'selinux': '1', 'enforcing': '0'}),
    ('lsm=landlock,lockdown,yama,apparmor quiet', {'lsm': 'landlock,lockdown,yama,apparmor'}),
    ('selinux=0 selinux=1', {'selinux': '1'}),
    ('quiet -- selinux=0', {}),
])
def test_parse_args(line, expected):
    assert se.parse_args(line) == expected


@pytest.mark.parametrize('args,state,count', [
    ({'selinux': '0'}, 'enforcing', 1),
    ({'enforcing': '0'}, 'enforcing', 1),
    ({'enforcing': '0'}, 'permissive', 0),
    ({'security': 'apparmor'}, 'permissive', 1),
    ({'lsm': 'landlock,apparmor'}, 'enforcing', 1),
    ({'lsm': 'landlock,selinux'}, 'enforcing', 0),
    ({'selinux': '0'}, 'disabled', 0),
    ({'security': 'selinux', 'selinux': '1'}, 'enforcing', 0),
])
def test_blocking(args, state, count):
    assert len(se.blocking_reasons(args, state)) == count


def test_strip_grub_default_keeps_other_args(tmp_path):
    text = ('GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet selinux=0"\n'
            'GRUB_CMDLINE_LINUX="console=ttyS0 security=apparmor enforcing=0"\n')
    path = tmp_path / 'grub'
    path.write_text(text)
    args = se.parse_args(se.read_grub_default(str(path)))
    drop = se.fixes_for(args, 'enforcing')
    assert drop == {'selinux': None, 'enforcing': None, 'security': 'selinux'}
    new = se.strip_grub_default(text, drop)
    assert new == ('GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n'
                   'GRUB_CMDLINE_LINUX="console=ttyS0 security=selinux"\n')


def test_runtime_mode_from_selinuxfs(tmp_path):
    (tmp_path / 'enforce').write_text('1')
    assert se.runtime_mode(str(tmp_path)) == 'enforcing'
    (tmp_path / 'enforce').write_text('0')
    assert se.runtime_mode(str(tmp_path)) == 'permissive'
    assert se.runtime_mode('') == 'disabled'


def test_policy_installed(tmp_path):
    (tmp_path / 'targeted' / 'policy').mkdir(parents=True)
    (tmp_path / 'targeted' / 'policy' / 'policy.33').write_text('x')
    (tmp_path / 'mls').mkdir()
    assert se.policy_installed('targeted', str(tmp_path))
    assert not se.policy_installed('mls', str(tmp_path))
    assert not se.policy_installed('../targeted', str(tmp_path))
    assert se.installed_policies(str(tmp_path)) == ['targeted']


# ------------------------------------------------------------------ relabel flag, kernel arg fixes

def test_the_relabel_flag_of_a_config_is_at_the_root_it_implies(tmp_path):
    assert se.autorelabel_for('/etc/selinux/config') == se.AUTORELABEL == '/.autorelabel'
    assert se.autorelabel_for('/mnt/sysimage/etc/selinux/config') == '/mnt/sysimage/.autorelabel'
    assert se.autorelabel_for('/mnt/sysimage/etc/selinux/../selinux/config') == '/mnt/sysimage/.autorelabel'
    assert se.autorelabel_for('/root/cfg') is None
    assert se.autorelabel_for('/srv/myetc/selinux/config') is None
    config = tmp_path / 'img' / 'etc' / 'selinux' / 'config'
    config.parent.mkdir(parents=True)
    config.write_text('')
    link = tmp_path / 'cfg-link'
    link.symlink_to(config)
    assert se.autorelabel_for(str(link)) == str(tmp_path / 'img' / '.autorelabel')  # where the write goes


def test_the_relabel_flag_state(tmp_path):
    flag = tmp_path / '.autorelabel'
    assert se.autorelabel_state(str(flag)) == 'absent'
    flag.symlink_to(tmp_path / 'elsewhere')
    assert se.autorelabel_state(str(flag)) == 'a symbolic link'  # even dangling: never written through
    flag.unlink()
    flag.mkdir()
    assert se.autorelabel_state(str(flag)) == 'a directory'
    flag.rmdir()
    flag.write_text('')
    assert se.autorelabel_state(str(flag)) == 'present'


def test_apply_fixes_is_what_the_boot_config_holds_after_the_fix():
    args = {'selinux': '0', 'enforcing': '0', 'security': 'apparmor', 'lsm': 'apparmor'}
    drop = se.fixes_for(args, 'enforcing')
    fixed = se.apply_fixes(args, drop)
    # lsm= supersedes security= (the kernel ignores security= then); selinux_mode does not rewrite lsm=
    assert fixed == {'security': 'apparmor', 'lsm': 'apparmor'}
    assert se.blocking_reasons(fixed, 'enforcing') == ['lsm=apparmor does not list selinux']
    assert se.fixes_for({'security': 'apparmor'}, 'enforcing') == {'security': 'selinux'}


@pytest.mark.parametrize('args, lsm, reasons, fix', [
    ({}, 'selinux', [], {}),
    ({'security': 'selinux'}, 'selinux', [], {}),
    ({'security': 'apparmor'}, 'selinux', ['security=apparmor selects another LSM'], {'security': 'selinux'}),
    ({'security': ''}, 'apparmor', ['security= with no value switches every major LSM off'], {'security': 'apparmor'}),
    # lsm= given: security= is ignored by the kernel
    ({'security': 'apparmor', 'lsm': 'lockdown,selinux'}, 'selinux', [], {}),
    ({'lsm': 'lockdown,yama'}, 'apparmor', ['lsm=lockdown,yama does not list apparmor'],
     {'lsm': 'lockdown,yama,apparmor'}),
    # the first exclusive LSM in lsm= that is not switched off is the one started
    ({'lsm': 'landlock,selinux,apparmor'}, 'apparmor',
     ['lsm=landlock,selinux,apparmor starts selinux before apparmor (the kernel starts one of them)'],
     {'lsm': 'landlock,apparmor,selinux'}),
    ({'lsm': 'selinux,apparmor', 'selinux': '0'}, 'apparmor', [], {}),
    ({'lsm': 'selinux,apparmor', 'selinux': '0x0'}, 'apparmor', [], {}),
    ({'lsm': 'smack,selinux'}, 'selinux', ['lsm=smack,selinux starts smack before selinux (the kernel starts one '
                                           'of them)'], {'lsm': 'selinux,smack'}),
    ({'lsm': 'yama,tomoyo,apparmor'}, 'apparmor', [], {}),  # tomoyo is not exclusive
    ({'lsm': ''}, 'selinux', ['lsm= does not list selinux'], {'lsm': 'selinux'}),
])
def test_lsm_choice_read_as_the_kernel_reads_it(args, lsm, reasons, fix):
    assert se.other_lsm_chosen(args, lsm) == reasons
    assert se.lsm_choice_fix(args, lsm) == fix
    assert se.other_lsm_chosen(dict(args, **fix), lsm) == []


@pytest.mark.parametrize('args, major', [
    ({}, None), ({'security': 'selinux'}, 'selinux'), ({'security': 'tomoyo'}, None),
    ({'security': 'selinux', 'lsm': 'apparmor,selinux'}, 'apparmor'),
    ({'lsm': 'selinux,apparmor', 'selinux': '0'}, 'apparmor'), ({'lsm': 'yama'}, None),
])
def test_chosen_major(args, major):
    assert se.chosen_major(args) == major
