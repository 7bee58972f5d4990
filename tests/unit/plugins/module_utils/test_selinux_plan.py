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
