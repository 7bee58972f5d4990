"""lsm_status_info's readers on recorded /proc trees and files, and the judgement (lsm_findings) on recorded statuses."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _posture as po
from ansible_collections.confine.lsm.plugins.module_utils import _status as st


def make_proc(root, pid, ppid, exe, label, cgroup, aa_label=None):
    base = root / str(pid)
    (base / 'attr' / 'apparmor').mkdir(parents=True)
    (base / 'stat').write_text('%d (odd) name) S %d 1 1 0' % (pid, ppid))
    (base / 'attr' / 'current').write_bytes(label.encode() + b'\x00')
    if aa_label is not None:
        (base / 'attr' / 'apparmor' / 'current').write_bytes(aa_label.encode() + b'\n')
    (base / 'cgroup').write_text(cgroup)
    if exe:
        os.symlink(exe, str(base / 'exe'))


def test_processes_read_like_ps(tmp_path):
    make_proc(tmp_path, 1, 0, '/usr/lib/systemd/systemd', 'system_u:system_r:init_t:s0', '0::/init.scope\n')
    make_proc(tmp_path, 2, 0, None, 'system_u:system_r:kernel_t:s0', '0::/\n')
    make_proc(tmp_path, 40, 2, None, 'system_u:system_r:kernel_t:s0', '0::/\n')  # a kernel thread
    make_proc(tmp_path, 500, 1, '/usr/local/bin/thing (deleted)', 'system_u:system_r:init_t:s0',
              '0::/system.slice/thing.service\n', aa_label='unconfined')
    make_proc(tmp_path, 600, 1, '/usr/bin/bash', 'unconfined_u:unconfined_r:unconfined_t:s0',
              '0::/system.slice/ssh.service\n')
    make_proc(tmp_path, 700, 1, '/usr/bin/bash', 'unconfined_u:unconfined_r:unconfined_t:s0',
              '0::/user.slice/user-0.slice/session-3.scope\n')
    procs = st.processes(str(tmp_path))
    assert [p['pid'] for p in procs] == [1, 500, 600, 700]
    thing = procs[1]
    assert thing['exe'] == '/usr/local/bin/thing' and thing['unit'] == 'thing.service'
    assert thing['label'] == 'system_u:system_r:init_t:s0'
    assert st.processes(str(tmp_path), lsm='apparmor')[1]['label'] == 'unconfined'
    # pid 1 is init itself; a login session (user role) is not a service even when it sits in ssh.service
    found = st.unconfined_services(procs, {'init_t', 'unconfined_t'}, label_of=lambda p: 'system_u:object_r:bin_t:s0')
    assert [(f['pid'], f['unit'], f['domain'], f['exe_label']) for f in found] == [
        (500, 'thing.service', 'init_t', 'system_u:object_r:bin_t:s0')]


@pytest.mark.parametrize('text, unit', [
    ('0::/system.slice/system-getty.slice/getty@tty1.service\n', 'getty@tty1.service'),
    ('12:name=systemd:/system.slice/nginx.service\n1:cpu:/\n', 'nginx.service'),
    ('0::/user.slice/user-0.slice/user@0.service/init.scope\n', 'init.scope'),
    ('0::/\n', None), ('', None)])
def test_unit_of(text, unit):
    assert st.unit_of(text)[0] == unit


def test_local_permissive_from_the_store(tmp_path):
    mods = tmp_path / 'default' / 'active' / 'modules'
    (mods / '400' / 'permissive_httpd_t').mkdir(parents=True)
    (mods / '400' / 'permissive_ftpd_t').mkdir(parents=True)
    (mods / '100' / 'apache').mkdir(parents=True)
    (mods / 'disabled').mkdir()
    (mods / 'disabled' / 'permissive_ftpd_t').write_text('')
    assert st.local_permissive('default', str(tmp_path)) == ['httpd_t']
    assert st.local_permissive('missing', str(tmp_path)) == []


class FakeType(object):
    def __init__(self, name, permissive=False):
        self.name, self.ispermissive = name, permissive

    def __str__(self):
        return self.name


class FakePolicyrep(object):
    class SELinuxPolicy(object):
        def types(self):
            return [FakeType('httpd_t', True), FakeType('sshd_t'), FakeType('newapp_t', True)]

        def lookup_typeattr(self, name):
            assert name == 'unconfined_domain_type'

            class Attr(object):
                def expand(self):
                    return [FakeType('unconfined_t'), FakeType('initrc_t')]
            return Attr()


def test_loaded_policy_facts_through_setools():
    facts = st.loaded_policy_facts(FakePolicyrep)
    assert facts == {'permissive': ['httpd_t', 'newapp_t'], 'unconfined': ['initrc_t', 'unconfined_t'],
                     'reader': 'setools'}


@pytest.mark.parametrize('pattern, path, matches', [
    ('/usr/sbin/nginx', '/usr/sbin/nginx', True),
    ('/usr/{s,}bin/nginx', '/usr/bin/nginx', True),
    ('/usr/{s,}bin/nginx', '/usr/xbin/nginx', False),
    ('/usr/lib/*/helper', '/usr/lib/x86_64/helper', True),
    ('/usr/lib/*/helper', '/usr/lib/a/b/helper', False),
    ('/usr/lib/**/helper', '/usr/lib/a/b/helper', True),
    ('/opt/app?/run', '/opt/app1/run', True),
    ('/opt/app[0-9]/run', '/opt/appx/run', False),
    ('/opt/app[^0-9]/run', '/opt/appx/run', True),
    ('/opt/a.b', '/opt/aXb', False),
    ('/opt/x[\\]]y', '/opt/x]y', True),
    ('/opt/x[a-c]y', '/opt/xby', True)])
def test_aare_globs(pattern, path, matches):
    import re
    assert bool(re.match(st.aare_to_regex(pattern), path)) is matches


def test_variables_expand_attachments():
    variables = st.parse_variables(['@{bin}=/usr/bin /bin\n@{bin}+=/usr/local/bin  # more\n'])
    assert variables == {'bin': ['/usr/bin', '/bin', '/usr/local/bin']}
    assert st.expand_variables('@{bin}/tool', variables) == ['/usr/bin/tool', '/bin/tool', '/usr/local/bin/tool']
    assert st.expand_variables('@{nope}/tool', variables) is None


PROFILES = {
    '/etc/apparmor.d/usr.sbin.nginx': 'profile nginx /usr/sbin/nginx flags=(attach_disconnected) {\n}\n',
    '/etc/apparmor.d/usr.bin.pidgin': '/usr/bin/pidgin {\n  profile sanitized_helper {\n  }\n}\n',
    '/etc/apparmor.d/tool': 'profile tool @{bin}/tool {\n}\n',
    '/etc/apparmor.d/nameonly': 'profile nameonly {\n}\n',
}


def test_misattached_processes():
    attach, unknown = st.attachments(PROFILES, {'bin': ['/usr/bin', '/bin']})
    assert sorted(attach) == ['/usr/bin/pidgin', 'nginx', 'tool'] and unknown == []
    loaded = {'nginx': 'enforce', '/usr/bin/pidgin': 'enforce', '/usr/bin/pidgin//sanitized_helper': 'enforce'}
    procs = [
        {'pid': 10, 'exe': '/usr/sbin/nginx', 'unit': 'nginx.service', 'label': 'unconfined'},
        {'pid': 11, 'exe': '/usr/sbin/nginx', 'unit': 'nginx.service', 'label': 'nginx (enforce)'},
        {'pid': 12, 'exe': '/usr/bin/pidgin', 'unit': None, 'label': '/usr/bin/pidgin//sanitized_helper (enforce)'},
        {'pid': 13, 'exe': '/usr/bin/tool', 'unit': 'tool.service', 'label': 'unconfined'},  # tool not loaded
        {'pid': 14, 'exe': '/usr/bin/pidgin', 'unit': None, 'label': 'nginx (enforce)'},  # another profile
    ]
    found = st.misattached(procs, attach, loaded)
    assert [(f['pid'], f['profile']) for f in found] == [(10, 'nginx'), (14, '/usr/bin/pidgin')]


def test_unlabeled_devices(tmp_path):
    labels = {}

    def label_of(path):
        return labels.get(path)
    # device nodes cannot be made without root in a container; fake the walk with lstat on real /dev entries
    null = '/dev/null'
    labels[null] = 'system_u:object_r:device_t:s0'
    out, count = st.unlabeled_devices('/dev', label_of=label_of, expected_of=lambda p, m: 'system_u:object_r:null_device_t:s0')
    assert count == 1 and out == [{'path': null, 'type': 'device_t', 'expected': 'null_device_t'}]


def test_aa_kernel_args():
    assert st.aa_blocking(st.parse_aa_args('ro apparmor=0 quiet')) == ['apparmor=0 disables AppArmor']
    assert st.aa_blocking(st.parse_aa_args('lsm=landlock,yama,selinux')) == [
        'lsm=landlock,yama,selinux does not list apparmor']
    assert st.aa_blocking(st.parse_aa_args('security=apparmor apparmor=1')) == []


SE_OK = {'enabled': True, 'mode': 'enforcing', 'config_mode': 'enforcing', 'policy': 'targeted',
         'policy_installed': True, 'kernel_args_blocking': [], 'boot_args_blocking': [], 'permissive_domains': [],
         'permissive_complete': True, 'unconfined_services': [], 'unlabeled_devices': [],
         'unlabeled_device_count': 0, 'booleans': {'httpd_can_network_connect': {'persistent': True, 'runtime': True}}}


def judge_se(**changes):
    s = dict(SE_OK, **changes.pop('status', {}))
    return po.judge({'selinux': s, 'packages': changes.pop('packages', {})}, 'selinux', changes)


def ids(found):
    return [f['id'] for f in found]


def test_selinux_compliant_host_has_no_findings():
    found, accepted = judge_se(booleans={'httpd_can_network_connect': True})
    assert found == [] and accepted == []


def test_selinux_each_lowering_has_its_id():
    found = judge_se(status={'mode': 'permissive', 'config_mode': 'permissive'})[0]
    assert ids(found) == ['selinux.mode', 'selinux.config_mode']
    assert found[0]['text'] == 'running mode is permissive' and 'STIG RHEL-09-431010' in found[0]['controls']
    found = judge_se(status={'permissive_domains': [{'name': 'httpd_t', 'origin': 'local'},
                                                    {'name': 'newapp_t', 'origin': 'policy'}]})[0]
    assert ids(found) == ['selinux.permissive_domain'] * 2 and 'semanage permissive -d httpd_t' in found[0]['fix']
    found = judge_se(status={'unconfined_services': [
        {'pid': 9, 'unit': 'thing.service', 'exe': '/opt/thing', 'domain': 'init_t', 'exe_label': 'x:y:bin_t:s0'}]})[0]
    assert ids(found) == ['selinux.unconfined_service'] and 'thing.service' in found[0]['text']
    found = judge_se(packages={'setroubleshoot': True, 'mcstrans': False})[0]
    assert ids(found) == ['selinux.setroubleshoot']
    found = judge_se(booleans={'httpd_can_network_connect': False, 'missing_bool': True})[0]
    assert [f['text'] for f in found] == ['boolean differs: httpd_can_network_connect', 'boolean differs: missing_bool']
    found = judge_se(status={'boot_args_blocking': [{'source': '/etc/default/grub', 'reason': 'selinux=0 disables SELinux'}]})[0]
    assert ids(found) == ['selinux.boot_args']


def test_selinux_exceptions_need_a_reason_and_are_reported():
    found, accepted = judge_se(status={'permissive_domains': [{'name': 'httpd_t', 'origin': 'local'}]},
                               permissive_exceptions=[{'name': 'http*', 'reason': 'tuning, CHG-7'}])
    assert found == [] and accepted[0]['reason'] == 'tuning, CHG-7'
    with pytest.raises(po.PostureError, match='reason'):
        judge_se(permissive_exceptions=[{'name': 'httpd_t'}])


def test_selinux_device_the_policy_itself_labels_device_t_is_accepted_with_its_reason():
    found, accepted = judge_se(status={'unlabeled_devices': [
        {'path': '/dev/userfaultfd', 'type': 'device_t', 'expected': 'device_t'},
        {'path': '/dev/sdz', 'type': 'device_t', 'expected': 'fixed_disk_device_t'}], 'unlabeled_device_count': 2})
    assert ids(found) == ['selinux.unlabeled_device'] and '/dev/sdz' in found[0]['text']
    assert 'matchpathcon' in accepted[0]['reason']


AA_OK = {'enabled': True, 'kernel_args_blocking': [], 'boot_args_blocking': [], 'service': 'active, enabled',
         'profiles': {'nginx': 'enforce', 'ping': 'complain', 'guard': 'kill'}, 'modes': {'enforce': 1, 'complain': 1, 'kill': 1},
         'misattached': [], 'requested': {'nginx': {'names': ['nginx'], 'not_enforced': [], 'error': None}}}


def judge_aa(**changes):
    a = dict(AA_OK, **changes.pop('status', {}))
    return po.judge({'apparmor': a, 'packages': changes.pop('packages', {'apparmor': True})}, 'apparmor', changes)


def test_apparmor_required_policy_passes_with_complain_profiles_and_reports_kill():
    found, accepted = judge_aa(enforced=['nginx'])
    assert found == [] and ids(accepted) == ['apparmor.kill']


def test_apparmor_policy_all_fails_complain_unless_accepted():
    found = judge_aa(policy='all')[0]
    assert ids(found) == ['apparmor.complain'] and 'CIS Ubuntu 24.04 1.3.1.4' in found[0]['controls']
    found, accepted = judge_aa(policy='all', exceptions=[{'name': 'ping', 'reason': 'no fix upstream'}])
    assert found == [] and 'apparmor.complain' in ids(accepted)


def test_apparmor_unconfined_process_names_the_unit_to_restart():
    procs = [{'pid': p, 'exe': '/usr/sbin/nginx', 'unit': 'nginx.service', 'label': 'unconfined', 'profile': 'nginx'}
             for p in (616, 617)]
    found = judge_aa(status={'misattached': procs})[0]
    assert ids(found) == ['apparmor.unconfined_process']
    assert found[0]['text'].startswith('runs unconfined: nginx.service (pid 616, 617')
    assert found[0]['fix'] == 'restart nginx.service'


def test_apparmor_other_lowerings():
    found = judge_aa(status={'enabled': False, 'modes': {}, 'service': 'inactive, disabled',
                             'requested': {'nginx': {'names': ['nginx'], 'not_enforced': ['nginx'], 'error': None}}},
                     packages={'apparmor': False}, enforced=['nginx'], require_pam_apparmor=True)[0]
    assert ids(found) == ['apparmor.enabled', 'apparmor.service', 'apparmor.package', 'apparmor.pam_apparmor',
                          'apparmor.profile_not_enforced']
    assert 'AppArmor is not enabled in the kernel' in [f['text'] for f in found]


def test_unknown_lsm_is_refused():
    with pytest.raises(po.PostureError, match="'smack'"):
        po.judge({}, 'smack')


def test_denials_over_the_threshold_fail_and_are_off_by_default():
    denials = {'source': '/var/log/audit/audit.log', 'since': '2026-12-01T00:00:00.000Z', 'selinux_denied': 3,
               'apparmor_denied': 0, 'top': ['selinux denied x3: nginx (httpd_t) read file /srv/a']}
    status = {'selinux': SE_OK, 'denials': denials}
    assert po.judge(status, 'selinux')[0] == []
    assert po.judge(status, 'selinux', {'denials_max': 3})[0] == []
    found = po.judge(status, 'selinux', {'denials_max': 0})[0]
    assert ids(found) == ['selinux.denials'] and found[0]['text'].startswith('3 enforced SELinux denials since')
    assert 'selinux.denials' in po.checked('selinux', {'denials_max': 0})
    assert 'selinux.denials' not in po.checked('selinux')
    found = po.judge({'selinux': SE_OK, 'denials': {'error': 'no log'}}, 'selinux', {'denials_max': 0})[0]
    assert found[0]['text'] == 'denials were not read: no log'


def test_the_status_module_counts_denials_from_an_audit_log(run_module, monkeypatch, tmp_path):
    from ansible_collections.confine.lsm.plugins.modules import lsm_status_info as mod
    log = tmp_path / 'audit.log'
    log.write_text(
        'type=AVC msg=audit(1700000000.100:10): avc:  denied  { read } for  pid=5 comm="nginx" name="a" dev="vda" '
        'ino=1 scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:var_t:s0 tclass=file permissive=0\n')
    monkeypatch.setattr(mod.se, 'selinuxfs', lambda *a: None)
    monkeypatch.setattr(mod.aa, 'enabled', lambda *a: False)
    monkeypatch.setattr(mod, 'service_state', lambda module, unit: None)
    result = run_module(mod.main, {'denials_since': 'all', 'audit_log': str(log)})
    d = result['status']['denials']
    assert d['selinux_denied'] == 1 and d['top'][0].startswith('selinux denied x1: nginx (httpd_t)')
    bad = run_module(mod.main, {'denials_since': 'yesterday-ish', 'audit_log': str(log)})
    assert bad['failed'] and "'yesterday-ish'" in bad['msg']


def test_attachment_precedence_and_own_variables():
    files = {'/p/glob': 'profile anybin /usr/bin/* {\n}\n',
             '/p/exact': 'profile exact /usr/bin/tool {\n}\n',
             '/p/deeper': 'profile deeper /usr/bin/to* {\n}\n',
             '/p/own': '@{APPDIR}=/opt/app\nprofile own @{APPDIR}/run {\n}\n',
             '/p/unknown': 'profile lost @{NOPE}/x {\n}\n'}
    attach, unknown = st.attachments(files, {})
    loaded = dict((n, 'enforce') for n in ('anybin', 'exact', 'deeper', 'own', 'lost'))
    assert st.attaching_profile('/usr/bin/tool', attach, loaded) == 'exact'
    assert st.attaching_profile('/usr/bin/toad', attach, loaded) == 'deeper'
    assert st.attaching_profile('/usr/bin/ls', attach, loaded) == 'anybin'
    assert st.attaching_profile('/opt/app/run', attach, loaded) == 'own'
    assert unknown == [('lost', '@{NOPE}/x')]
    assert st.aare_to_regex('/opt/x[') is None


def test_boot_args_from_every_place_a_next_boot_reads(tmp_path):
    grub = tmp_path / 'grub'
    grub.write_text('GRUB_CMDLINE_LINUX="quiet"\nGRUB_CMDLINE_LINUX_DEFAULT=""\n'
                    'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX security=apparmor"  # appended\n')
    grub_d = tmp_path / 'grub.d'
    grub_d.mkdir()
    (grub_d / '50-cloud.cfg').write_text('GRUB_CMDLINE_LINUX_DEFAULT="${GRUB_CMDLINE_LINUX_DEFAULT} selinux=0"\n')
    env = tmp_path / 'grubenv'
    env.write_text('# GRUB Environment Block\nkernelopts=root=/dev/vda ro enforcing=0\n')
    bls = tmp_path / 'entries'
    bls.mkdir()
    (bls / 'a.conf').write_text('title x\noptions $kernelopts lsm=landlock,yama\n')
    found = dict(st.boot_args(grub_default=str(grub), kernel_cmdline=str(tmp_path / 'none'), grub_d=str(grub_d),
                              bls_dir=str(bls), grubenvs=[str(env)]))
    grub_key = '%s and %s/*.cfg' % (grub, grub_d)
    assert found[grub_key] == 'quiet security=apparmor selinux=0'
    assert found[str(env)] == 'root=/dev/vda ro enforcing=0'
    assert found[str(bls / 'a.conf')] == 'root=/dev/vda ro enforcing=0 lsm=landlock,yama'
    from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se
    assert se.blocking_reasons(se.parse_args(found[grub_key]), 'enforcing') == [
        'selinux=0 disables SELinux', 'security=apparmor selects another LSM']
    assert st.aa_blocking(st.parse_aa_args(found[str(bls / 'a.conf')])) == ['lsm=landlock,yama does not list apparmor']


def test_apparmor_policy_all_fails_a_prompt_profile_as_the_kernel_names_it():
    # the kernel lists a prompt profile as 'user': it can allow what enforce denies, so 'all' fails it
    status = {'profiles': dict(AA_OK['profiles'], confine_pr='user')}
    found = judge_aa(policy='all', status=status, exceptions=[{'name': 'ping', 'reason': 'no fix upstream'}])[0]
    assert ids(found) == ['apparmor.complain'] and 'confine_pr' in found[0]['text']


def test_a_kill_profile_counts_towards_the_minimum_enforced():
    found = judge_aa(min_enforced=2, status={'modes': {'enforce': 1, 'kill': 1}})[0]
    assert 'apparmor.min_enforced' not in ids(found)
    found = judge_aa(min_enforced=3, status={'modes': {'enforce': 1, 'kill': 1}})[0]
    assert 'apparmor.min_enforced' in ids(found)


def test_apparmor_required_boot_args_are_judged_per_source():
    boot = [{'source': '/etc/default/grub', 'args': {'apparmor': '1'}},
            {'source': '/boot/loader/entries/a.conf', 'args': {'apparmor': '1', 'security': 'apparmor'}}]
    assert judge_aa(status={'boot_args': boot})[0] == []  # nothing required: nothing judged
    found = judge_aa(status={'boot_args': boot}, boot_args_required=['apparmor=1', 'security=apparmor'])[0]
    assert ids(found) == ['apparmor.boot_args'] and found[0]['subject'] == '/etc/default/grub'
    assert found[0]['text'] == 'the next boot lacks security=apparmor (/etc/default/grub)'
    assert 'CIS Debian 12 1.3.1.2' in found[0]['controls'] and 'confine_apparmor_fix_kernel_args' in found[0]['fix']
    with pytest.raises(po.PostureError, match="'security'"):
        judge_aa(status={'boot_args': boot}, boot_args_required=['security'])
