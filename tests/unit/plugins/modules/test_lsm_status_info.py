"""lsm_status_info in-process: its result on this host (no LSM active), a faked AppArmor kernel, bad input."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.confine.lsm.plugins.modules import lsm_status_info as mod
from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa
from ansible_collections.confine.lsm.plugins.module_utils import _status as st
from ansible_collections.confine.lsm.plugins.filter.lsm_findings import lsm_findings

from ansible.errors import AnsibleFilterError


def test_reads_a_host_without_an_active_lsm_the_same_in_check_mode(run_module, monkeypatch):
    monkeypatch.setattr(mod.se, 'selinuxfs', lambda *a: None)
    monkeypatch.setattr(mod.aa, 'enabled', lambda *a: False)
    monkeypatch.setattr(mod, 'service_state', lambda module, unit: None)
    args = {'packages': ['confine-no-such-package']}
    result = run_module(mod.main, args)
    assert not result['failed'] and not result['changed']
    status = result['status']
    assert not status['selinux']['enabled'] and status['selinux']['mode'] == 'disabled'
    assert not status['apparmor']['enabled'] and status['apparmor']['misattached'] == []
    assert status['packages'] == {'confine-no-such-package': False}
    assert run_module(mod.main, args, check=True)['status'] == status
    judged = lsm_findings(status, 'apparmor')
    assert [f['id'] for f in judged['findings']] == ['apparmor.enabled']


def test_a_faked_apparmor_kernel_shows_a_process_its_profile_does_not_confine(run_module, monkeypatch, tmp_path):
    (tmp_path / 'usr.sbin.nginx').write_text('profile nginx /usr/sbin/nginx {\n}\n')
    (tmp_path / 'disable').mkdir()
    monkeypatch.setattr(mod.se, 'selinuxfs', lambda *a: None)
    monkeypatch.setattr(mod.aa, 'enabled', lambda *a: True)
    monkeypatch.setattr(mod.aa, 'read_kernel_profiles', lambda *a: {'nginx': 'complain', 'ping': 'kill'})
    monkeypatch.setattr(mod, 'service_state', lambda module, unit: 'active, enabled')
    procs = [{'pid': 10, 'ppid': 1, 'exe': '/usr/sbin/nginx', 'unit': 'nginx.service', 'cgroup': '/system.slice',
              'label': 'unconfined'}]
    monkeypatch.setattr(mod.st, 'processes', lambda proc=st.PROC, lsm='selinux': procs)
    result = run_module(mod.main, {'lsm': 'apparmor', 'profiles': ['nginx'], 'profile_dir': str(tmp_path)})
    a = result['status']['apparmor']
    assert 'selinux' not in result['status']
    assert a['modes'] == {'complain': 1, 'kill': 1}
    assert a['misattached'] == [{'pid': 10, 'exe': '/usr/sbin/nginx', 'unit': 'nginx.service', 'label': 'unconfined',
                                 'profile': 'nginx', 'profile_mode': 'complain'}]
    assert a['requested']['nginx']['not_enforced'] == ['nginx'] and a['requested']['nginx']['kernel'] == {
        'nginx': 'complain'}
    judged = lsm_findings(result['status'], 'apparmor', {'enforced': ['nginx']})
    # the kill profile counts as enforced, so the minimum of one is met
    assert [f['id'] for f in judged['findings']] == ['apparmor.profile_not_enforced', 'apparmor.unconfined_process']
    assert [x['id'] for x in judged['accepted']] == ['apparmor.kill']
    assert 'apparmor.unconfined_process' in judged['checked'] and 'apparmor.complain' not in judged['checked']


@pytest.mark.parametrize('ref', ['nginx;reboot', 'a\nb', '../../etc/shadow'])
def test_a_bad_profile_reference_fails_naming_it(run_module, ref):
    result = run_module(mod.main, {'profiles': [ref]})
    assert result['failed'] and repr(ref)[1:-1] in result['msg']


def test_the_filter_refuses_what_is_not_a_status():
    with pytest.raises(AnsibleFilterError, match='lsm_status_info'):
        lsm_findings('nope', 'selinux')
    with pytest.raises(AnsibleFilterError, match='reason'):
        lsm_findings({'selinux': {}}, 'selinux', {'permissive_exceptions': [{'name': 'x'}]})


def test_service_state_without_systemd(monkeypatch):
    monkeypatch.setattr(mod.os.path, 'isdir', lambda p: False)
    assert mod.service_state(None, 'apparmor.service') is None


def test_aa_module_helpers_are_the_shared_ones():
    assert mod.aa is aa and mod.st is st


@pytest.mark.parametrize('args, named', [
    ({'booleans': ['httpd_can_network_connect\nx']}, "'httpd_can_network_connect\\nx'"),
    ({'booleans': ['a\x00b']}, "'a\\x00b'"),
    ({'packages': ['nginx; reboot']}, "'nginx; reboot'"),
    ({'packages': ['-rf']}, "'-rf'")])
def test_bad_names_fail_naming_them(run_module, args, named):
    result = run_module(mod.main, args)
    assert result['failed'] and named in result['msg'], result['msg']


def test_an_audit_log_that_is_not_a_regular_file_is_not_read(run_module, monkeypatch, tmp_path):
    import os
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    monkeypatch.setattr(mod.se, 'selinuxfs', lambda *a: None)
    monkeypatch.setattr(mod.aa, 'enabled', lambda *a: False)
    monkeypatch.setattr(mod, 'service_state', lambda module, unit: None)
    result = run_module(mod.main, {'denials_since': 'boot', 'audit_log': fifo})
    assert 'not a regular file' in result['status']['denials']['error']


def test_a_kill_profile_counts_as_enforced_and_an_unreadable_file_as_an_error(run_module, monkeypatch, tmp_path):
    (tmp_path / 'ping').write_text('profile ping /usr/bin/ping\n    flags=(\n        kill\n    ) {\n}\n')
    (tmp_path / 'mixed').write_text('profile a flags=(kill) {\n}\nprofile b flags=(complain) {\n}\n')
    (tmp_path / 'bad').write_text('profile bad flags=kill {\n}\n')
    monkeypatch.setattr(mod.se, 'selinuxfs', lambda *a: None)
    monkeypatch.setattr(mod.aa, 'enabled', lambda *a: True)
    monkeypatch.setattr(mod.aa, 'read_kernel_profiles', lambda *a: {'ping': 'kill', 'a': 'kill', 'b': 'enforce'})
    monkeypatch.setattr(mod, 'service_state', lambda module, unit: 'active, enabled')
    monkeypatch.setattr(mod.st, 'processes', lambda proc=st.PROC, lsm='selinux': [])
    result = run_module(mod.main, {'lsm': 'apparmor', 'profiles': ['ping', 'mixed', 'bad'],
                                   'profile_dir': str(tmp_path)})
    req = result['status']['apparmor']['requested']
    assert req['ping']['not_enforced'] == [] and req['ping']['files'] == {'ping': 'kill'}
    assert req['mixed']['not_enforced'] == ['b'] and req['mixed']['files'] == {'mixed': 'mixed'}
    assert req['bad']['names'] == [] and '%s line 1: flags=' % (tmp_path / 'bad') in req['bad']['error']
    assert result['status']['apparmor']['attachments_unread'][0]['profile'] == 'bad'


@pytest.mark.parametrize('text, config_mode, policy, error', [
    ('SELINUX=enforcing\nSELINUXTYPE=default\n', 'enforcing', 'default', None),
    ('SELINUX=Permissive\n', 'permissive', 'targeted', None),  # no SELINUXTYPE line: libselinux uses targeted
    # a text-mode open() read the CR as a line break and reported enforcing; libselinux reads no mode
    ('#\rSELINUX=enforcing\nSELINUXTYPE=default\n', None, None, 'line break other than'),
    ('SELINUX = enforcing\n', None, None, 'looks like the SELINUX setting'),
])
def test_the_files_reader_reads_the_config_as_libselinux(run_module, monkeypatch, text, config_mode, policy, error):
    monkeypatch.setattr(mod, 'HAS_SELINUX', False)
    monkeypatch.setattr(mod.se, 'selinuxfs', lambda *a: None)
    monkeypatch.setattr(mod._files, 'read_text', lambda path: text if path == '/etc/selinux/config' else None)
    result = run_module(mod.main, {'lsm': 'selinux'})
    assert not result['failed'], result
    status = result['status']['selinux']
    assert status['reader'] == 'files'
    assert (status['config_mode'], status['policy']) == (config_mode, policy)
    if error:
        assert error in status['config_error']
        finding_ids = [f['id'] for f in lsm_findings(result['status'], 'selinux')['findings']]
        assert 'selinux.config_mode' in finding_ids  # never a false "compliant"
    else:
        assert 'config_error' not in status


def test_a_hat_in_complain_mode_leaves_its_profile_not_enforced(run_module, monkeypatch, tmp_path):
    (tmp_path / 'one').write_text('profile one /usr/bin/one {\n  ^h flags=(complain) {\n  }\n}\n')
    monkeypatch.setattr(mod.se, 'selinuxfs', lambda *a: None)
    monkeypatch.setattr(mod.aa, 'enabled', lambda *a: True)
    monkeypatch.setattr(mod.aa, 'read_kernel_profiles', lambda *a: {'one': 'enforce', 'one//h': 'complain'})
    monkeypatch.setattr(mod, 'service_state', lambda module, unit: 'active, enabled')
    monkeypatch.setattr(mod.st, 'processes', lambda proc=st.PROC, lsm='selinux': [])
    result = run_module(mod.main, {'lsm': 'apparmor', 'profiles': ['one'], 'profile_dir': str(tmp_path)})
    req = result['status']['apparmor']['requested']['one']
    assert req['names'] == ['one'] and req['not_enforced'] == ['one//h'], req
    judged = lsm_findings(result['status'], 'apparmor', {'enforced': ['one']})
    (hat,) = [f for f in judged['findings'] if f['id'] == 'apparmor.profile_not_enforced']
    assert hat['fix'] == 'confine.lsm.apparmor_profile_mode profiles=[one] mode=enforce', hat


# facts that change between two reads or are the module's own
VOLATILE = ('ansible_date_time', 'ansible_env', 'ansible_python', 'ansible_user_dir', 'ansible_user_shell')


def test_facts_are_setup_min_facts_and_native_picks_the_lsm(run_module, monkeypatch):
    monkeypatch.setattr(mod, 'service_state', lambda module, unit: None)
    monkeypatch.setattr(mod.se, 'selinuxfs', lambda *a: None)
    from ansible.modules import setup
    setup_facts = run_module(setup.main, {'gather_subset': ['min']})['ansible_facts']
    result = run_module(mod.main, {'facts': True, 'lsm': 'native', 'processes': False, 'devices': False})
    facts = result['ansible_facts']
    assert sorted(facts) == sorted(setup_facts)
    for key in sorted(facts):
        if key not in VOLATILE:
            assert facts[key] == setup_facts[key], key
    for key in ('ansible_os_family', 'ansible_service_mgr', 'ansible_pkg_mgr', 'ansible_cmdline', 'ansible_selinux',
                'ansible_apparmor', 'module_setup'):
        assert key in facts, key
    # this machine: Debian, SELinux not enabled, no lsm= selinux: AppArmor is its native MAC, and only it was read
    assert facts['ansible_os_family'] == 'Debian' and result['lsm'] == 'apparmor'
    assert sorted(result['status']) == ['apparmor', 'packages', 'read'] and result['status']['read']['lsm'] == 'apparmor'
    without = run_module(mod.main, {'processes': False, 'devices': False})
    assert 'ansible_facts' not in without and without['lsm'] == 'all' and 'selinux' in without['status']


@pytest.mark.parametrize('facts, lsm', [
    ({'os_family': 'RedHat'}, 'selinux'),
    ({'os_family': 'Debian', 'selinux': {'status': 'enabled'}}, 'selinux'),
    ({'os_family': 'Debian', 'cmdline': {'security': 'selinux'}}, 'selinux'),
    ({'os_family': 'Debian', 'cmdline': {'lsm': 'landlock,selinux'}}, 'selinux'),
    # the kernel starts the first exclusive LSM of lsm=
    ({'os_family': 'Debian', 'cmdline': {'lsm': 'landlock,selinux,apparmor'}}, 'selinux'),
    ({'os_family': 'Debian', 'cmdline': {'lsm': 'landlock,apparmor,selinux'}}, 'apparmor'),
    ({'os_family': 'Debian', 'cmdline': {'lsm': 'selinux,apparmor', 'selinux': '0'}}, 'apparmor'),
    ({'os_family': 'Debian', 'selinux': {'status': 'disabled'}}, 'apparmor'),
    ({'os_family': 'Suse'}, 'apparmor'),
])
def test_native_is_the_filters_rule(facts, lsm):
    from ansible_collections.confine.lsm.plugins.filter.native_lsm import native_lsm
    from ansible_collections.confine.lsm.plugins.module_utils import _facts
    assert _facts.native(facts) == native_lsm(facts) == lsm
    assert _facts.unprefixed({'ansible_os_family': 'Debian', 'module_setup': True}) == {
        'os_family': 'Debian', 'module_setup': True}
