"""The fleet playbooks on the real-kernel lab: drift is found, reported and fixed; verify fails on a weakened host.

Boots its own lab (python -m lab up --name playbooks, on the trixie image by default so that both lab images are
proven; CONFINE_TEST_PLAYBOOKS_SUITE picks another), runs playbooks/*.yml and the roles with ansible-playbook,
reads the fleet report, and stops the lab at the end. Run by tests/run-all.sh (tier vms), next to the Molecule VM
scenarios; slow under emulation (~20-30 min, most of it the SELinux reboot-and-relabel test).
"""
import json
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.environ.get('CONFINE_TEST_PLAYBOOKS_LAB', 'playbooks')
SUITE = os.environ.get('CONFINE_TEST_PLAYBOOKS_SUITE', 'trixie')
# the reboot tests need only the SELinux host: tests/run-all.sh runs them on a second lab, beside the others
LSMS = os.environ.get('CONFINE_TEST_PLAYBOOKS_LSM', 'selinux,apparmor')
PLAYS = os.path.join('tests', 'integration', 'lab_plays')
MARKER = '# confine.lsm drift test: this comment must survive'


def run(argv, check=True, **kw):
    proc = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False, **kw)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed (rc=%d):\n%s' % (' '.join(argv), proc.returncode, proc.stdout[-6000:]))
    return proc


@pytest.fixture(scope='module')
def lab():
    proc = run([sys.executable, '-m', 'lab', 'up', '--name', LAB, '--suite', SUITE, '--lsm', LSMS])
    inventory = proc.stdout.strip().splitlines()[-1]
    yield inventory
    run([sys.executable, '-m', 'lab', 'down', '--name', LAB], check=False)


def playbook(lab, name, *extra, check=True, report_dir=None):
    path = name if '/' in name else 'playbooks/%s' % name
    argv = ['ansible-playbook', '-i', lab, '-e', '@playbooks/vars/lab.yml', path] + list(extra)
    if report_dir:
        argv += ['-e', 'confine_report_dir=%s' % report_dir]
    return run(argv, check=check)


def ssh(host, *command, check=True, input_text=None):
    return run([sys.executable, '-m', 'lab', 'ssh', '--name', LAB, host] + list(command), check=check,
               input=input_text).stdout


def reboot_and_wait(host, timeout=900):
    """systemctl reboot (what works in enforcing mode), then wait until the host answers with a new boot id."""
    boot_id = ssh(host, 'cat', '/proc/sys/kernel/random/boot_id').strip()
    ssh(host, 'systemctl', 'reboot', check=False)
    started = time.time()
    while time.time() - started < timeout:
        time.sleep(10)
        proc = run([sys.executable, '-m', 'lab', 'ssh', '--name', LAB, host, 'cat', '/proc/sys/kernel/random/boot_id'],
                   check=False)
        if proc.returncode == 0 and proc.stdout.strip() and proc.stdout.strip() != boot_id:
            return
    raise AssertionError('%s did not come back within %d s' % (host, timeout))


def recap_changed(output):
    """{host: changed count} from a PLAY RECAP (the last one for each host)."""
    counts = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[1] == ':' and parts[3].startswith('changed='):
            counts[parts[0]] = int(parts[3].split('=')[1])
    return counts


def test_enforce_then_drift_found_fixed_and_reported(lab, tmp_path):
    playbook(lab, 'enforce.yml', report_dir=str(tmp_path / 'r0'))
    # every kind of SELinux drift at once: runtime lowered, config edited, a boolean flipped live and one
    # flipped persistently; the config gains a comment that must survive the fix
    ssh('selinux', 'sed', '-i', '1i %s' % MARKER, '/etc/selinux/config')
    ssh('selinux', 'sed', '-i', 's/^SELINUX=.*/SELINUX=permissive/', '/etc/selinux/config')
    ssh('selinux', 'setenforce', '0')
    ssh('selinux', 'setsebool', 'httpd_can_network_connect', 'off')
    # a boolean flipped persistently and the web server's domain made permissive, in one policy transaction
    ssh('selinux', 'sh', '-c', 'printf "boolean -m --on httpd_can_sendmail\\npermissive -a httpd_t\\n" | semanage import')
    # AppArmor: the profile put in complain behind our back (file and kernel)
    ssh('apparmor', 'aa-complain', '/etc/apparmor.d/usr.sbin.nginx')

    out = playbook(lab, 'drift.yml', report_dir=str(tmp_path / 'r1')).stdout
    with open(str(tmp_path / 'r1' / 'report.json')) as f:
        report = json.load(f)
    hosts = dict((h['host'], h) for h in report['hosts'])
    se = [h for h in hosts.values() if h['lsm'] == 'selinux'][0]
    aa = [h for h in hosts.values() if h['lsm'] == 'apparmor'][0]
    found = ' '.join(se['drift_found'])
    for what in ('running mode is permissive', 'config says permissive', 'httpd_can_network_connect',
                 'httpd_can_sendmail', 'permissive domain: httpd_t (local)'):
        assert what in found, (what, se)
    assert sorted(se['drift_fixed']) == sorted(se['drift_found'])
    # the permissive domain taken out by selinux_permissive's one transaction, said in the report
    assert 'permissive domain taken out: httpd_t' in se['changes'] and se['weakened'] == [], se
    assert aa['drift_found'] == ['profile not enforced: nginx'] and aa['drift_fixed'] == aa['drift_found']
    assert report['summary']['failed'] == 0, out[-3000:]

    assert ssh('selinux', 'getenforce').strip() == 'Enforcing'
    config = ssh('selinux', 'cat', '/etc/selinux/config')
    assert MARKER in config and 'SELINUX=enforcing' in config.splitlines()
    assert 'nginx (enforce)' in ssh('apparmor', 'cat', '/sys/kernel/security/apparmor/profiles')

    # a second run finds nothing and changes nothing on the hosts
    again = playbook(lab, 'drift.yml', report_dir=str(tmp_path / 'r2')).stdout
    changed = recap_changed(again)
    assert all(changed[h] == 0 for h in hosts), changed


def test_unloaded_profile_is_drift_and_its_service_restarts_only_when_allowed(lab, tmp_path):
    # the profile unloaded and nginx restarted meanwhile: loading the profile again confines nothing until a restart
    ssh('apparmor', 'apparmor_parser', '-R', '/etc/apparmor.d/usr.sbin.nginx')
    ssh('apparmor', 'systemctl', 'restart', 'nginx')
    proc = playbook(lab, 'drift.yml', '-e', 'confine_hosts=apparmor', check=False, report_dir=str(tmp_path / 'r'))
    assert proc.returncode != 0 and 'hosts falling short' in proc.stdout, proc.stdout[-3000:]
    with open(str(tmp_path / 'r' / 'report.json')) as f:
        aa = [h for h in json.load(f)['hosts'] if h['lsm'] == 'apparmor'][0]
    assert aa['drift_found'] == ['profile not enforced: nginx'] and aa['drift_fixed'] == aa['drift_found'], aa
    assert [c['id'] for c in aa['checks']] == ['apparmor.unconfined_process'], aa
    assert 'profile nginx: unloaded -> enforce' in aa['changes'] and aa['weakened'] == [], aa  # what drift did
    assert aa['checks'][0]['fix'] == 'restart nginx.service' and 'CIS Debian 12 1.3.1.3' in aa['checks'][0]['controls']
    assert 'nginx (enforce)' in ssh('apparmor', 'cat', '/sys/kernel/security/apparmor/profiles')
    pid = ssh('apparmor', 'systemctl', 'show', '-p', 'MainPID', '--value', 'nginx').strip()
    assert ssh('apparmor', 'cat', '/proc/%s/attr/current' % pid).strip() == 'unconfined'  # nothing restarted

    # allowed: drift restarts the unit, and verify then passes with nginx really confined
    playbook(lab, 'drift.yml', '-e', 'confine_hosts=apparmor', '-e', 'confine_apparmor_restart_unconfined=true',
             report_dir=str(tmp_path / 'r2'))
    with open(str(tmp_path / 'r2' / 'report.json')) as f:
        aa = [h for h in json.load(f)['hosts'] if h['lsm'] == 'apparmor'][0]
    assert [x.split(' (')[0] for x in aa['drift_found']] == ['runs unconfined: nginx.service'], aa
    assert aa['drift_fixed'] == aa['drift_found'] and aa['findings'] == [], aa
    assert aa['changes'] == ['service restarted so its profile confines it: nginx.service'], aa
    pid = ssh('apparmor', 'systemctl', 'show', '-p', 'MainPID', '--value', 'nginx').strip()
    assert ssh('apparmor', 'cat', '/proc/%s/attr/current' % pid).strip() == 'nginx (enforce)'


def test_verify_fails_on_a_permissive_host_and_passes_after_enforce(lab, tmp_path):
    # the SELinux host alone: nothing here is about the AppArmor one (its verify is proven by the tests beside)
    only = ['-e', 'confine_hosts=selinux']
    ssh('selinux', 'setenforce', '0')
    proc = playbook(lab, 'verify.yml', '--check', *only, check=False, report_dir=str(tmp_path / 'v1'))
    assert proc.returncode != 0
    assert 'hosts falling short' in proc.stdout
    with open(str(tmp_path / 'v1' / 'report.xml')) as f:
        assert 'running mode is permissive' in f.read()
    with open(str(tmp_path / 'v1' / 'report.json')) as f:
        se = [h for h in json.load(f)['hosts'] if h['lsm'] == 'selinux'][0]
    assert [c['id'] for c in se['checks']] == ['selinux.mode'], se
    assert 'STIG RHEL-09-431010' in se['checks'][0]['controls'] and se['posture_read'] == 'by verify', se
    # enforce also makes one domain permissive for tuning (the role's add path: a lowering, allowed and reported);
    # verify passes only with that domain accepted, and says so
    tuning = ['-e', '{"confine_selinux_permissive": [{"name": "dhcpc_t", "reason": "CHG-7 tuning"}]}']
    playbook(lab, 'enforce.yml', *only, *tuning, '-e', 'confine_selinux_allow_weaken=true',
             report_dir=str(tmp_path / 'v2'))
    with open(str(tmp_path / 'v2' / 'report.json')) as f:
        se = [h for h in json.load(f)['hosts'] if h['lsm'] == 'selinux'][0]
    assert se['weakened'] == ['permissive domain added: dhcpc_t (CHG-7 tuning)'], se
    assert 'dhcpc_t' in ssh('selinux', 'semanage', 'permissive', '-l', '-n').split()
    proc = playbook(lab, 'verify.yml', '--check', *only, *tuning, report_dir=str(tmp_path / 'v3'))
    with open(str(tmp_path / 'v3' / 'report.json')) as f:
        report = json.load(f)
    assert report['summary'] == {'hosts': 1, 'passed': 1, 'failed': 0, 'failed_hosts': []}, report['summary']
    se = [h for h in report['hosts'] if h['lsm'] == 'selinux'][0]
    assert [(a['id'], a['reason']) for a in se['accepted']] == [('selinux.permissive_domain', 'CHG-7 tuning')], se
    # without the acceptance the same host fails, naming the domain
    proc = playbook(lab, 'verify.yml', '--check', *only, check=False, report_dir=str(tmp_path / 'v4'))
    assert proc.returncode != 0
    with open(str(tmp_path / 'v4' / 'report.json')) as f:
        se = [h for h in json.load(f)['hosts'] if h['lsm'] == 'selinux'][0]
    assert [c['id'] for c in se['checks']] == ['selinux.permissive_domain'] and 'dhcpc_t' in se['checks'][0]['text'], se
    ssh('selinux', 'semanage', 'permissive', '-d', 'dhcpc_t')  # the next tests start from no permissive domain


def test_apparmor_role_deploys_compiled_profiles_and_refuses_a_broken_one(lab):
    deploy = os.path.join(PLAYS, 'deploy-profiles.yml')
    playbook(lab, deploy)
    loaded = ssh('apparmor', 'cat', '/sys/kernel/security/apparmor/profiles')
    assert 'confine-deploy-a (enforce)' in loaded and 'confine-deploy-b (enforce)' in loaded, loaded
    assert '/etc/hosts r,' in ssh('apparmor', 'cat', '/etc/apparmor.d/confine-deploy-b')
    again = playbook(lab, deploy).stdout
    assert all(n == 0 for n in recap_changed(again).values()), again[-3000:]

    broken = playbook(lab, deploy, '-e', 'confine_test_broken=true', check=False)
    assert broken.returncode != 0
    assert 'failed to validate' in broken.stdout, broken.stdout[-3000:]
    assert ssh('apparmor', 'ls', '/etc/apparmor.d').split().count('confine-deploy-broken') == 0
    loaded = ssh('apparmor', 'cat', '/sys/kernel/security/apparmor/profiles')
    assert 'confine-deploy-broken' not in loaded and 'confine-deploy-a (enforce)' in loaded


def test_selinux_role_reboots_only_when_allowed(lab, tmp_path):
    # A host whose SELinux is disabled (config edited, then rebooted) can only reach enforcing through a reboot.
    ssh('selinux', 'sed', '-i', 's/^SELINUX=.*/SELINUX=disabled/', '/etc/selinux/config')
    reboot_and_wait('selinux')
    assert ssh('selinux', 'getenforce').strip() == 'Disabled'

    refused = playbook(lab, 'enforce.yml', check=False, report_dir=str(tmp_path / 'r1'))
    assert refused.returncode != 0
    host = [h for h in recap_changed(refused.stdout) if h.endswith('selinux')][0]
    assert '%s needs a reboot to reach SELinux enforcing' % host in refused.stdout, refused.stdout[-3000:]
    assert 'Set confine_selinux_reboot=true' in refused.stdout
    assert ssh('selinux', 'getenforce').strip() == 'Disabled'  # nothing rebooted behind the user's back
    assert 'SELINUX=enforcing' in ssh('selinux', 'cat', '/etc/selinux/config').splitlines()
    assert ssh('selinux', 'ls', '/.autorelabel', check=False).strip() == '/.autorelabel'  # relabel scheduled

    # allowed: the role reboots with systemctl (the guest relabels and reboots once more), re-checks, verifies
    playbook(lab, 'enforce.yml', '-e', 'confine_selinux_reboot=true', report_dir=str(tmp_path / 'r2'))
    assert ssh('selinux', 'getenforce').strip() == 'Enforcing'
    assert ssh('selinux', 'stat', '-c', '%C', '/etc/shadow').strip().split(':')[2] == 'shadow_t'
    with open(str(tmp_path / 'r2' / 'report.json')) as f:
        assert json.load(f)['summary']['failed'] == 0


def restart_confined(host='apparmor', service='nginx', profile='nginx'):
    """Restart the service and prove its main process runs confined by the profile. A process started while its
    profile was unloaded (test_unloaded_profile_is_drift) stays unconfined when the profile is loaded again."""
    ssh(host, 'systemctl', 'restart', service)
    pid = ssh(host, 'systemctl', 'show', '-p', 'MainPID', '--value', service).strip()
    label = ssh(host, 'cat', '/proc/%s/attr/current' % pid).strip()
    assert label == '%s (enforce)' % profile, (service, pid, label)


def fetch(host, path):
    """The HTTP status nginx on host answers for path (from inside the VM)."""
    code = ('import urllib.request, urllib.error\n'
            'try:\n    print(urllib.request.urlopen("http://127.0.0.1/%s").status)\n'
            'except urllib.error.HTTPError as e:\n    print(e.code)' % path)
    return int(ssh(host, 'python3', '-c', code).strip())


def test_tune_proposes_the_missing_rule_and_enforces(lab, tmp_path):
    restart_confined()
    ssh('apparmor', 'sh', '-c', 'echo confine tuned > /srv/confine-tune.html && '
        'ln -sf /srv/confine-tune.html /var/www/html/confine-tune.html')
    assert fetch('apparmor', 'confine-tune.html') == 403  # the profile denies /srv
    tune = ['-e', 'confine_hosts=apparmor', '-e', 'confine_tune_profile=nginx']
    exercise = os.path.join(ROOT, PLAYS, 'tune-exercise.yml')
    playbook(lab, 'tune.yml', *(tune + ['-e', 'confine_tune_exercise=%s' % exercise]),
             report_dir=str(tmp_path / 't1'))
    with open(str(tmp_path / 't1' / 'report.json')) as f:
        row = json.load(f)['hosts'][0]
    assert row['findings'] == [] and row['mode'] == 'nginx (enforce)', row
    assert row['changes'] == ['/etc/apparmor.d/local/usr.sbin.nginx: + /srv/confine-tune.html r,'], row
    assert row['weakened'] == ['nginx: enforce -> complain while tuning, enforce after'], row
    assert any('/srv/confine-tune.html' in d for d in row['denials']), row
    assert 'nginx (enforce)' in ssh('apparmor', 'cat', '/sys/kernel/security/apparmor/profiles')
    assert '/srv/confine-tune.html r,' in ssh('apparmor', 'cat', '/etc/apparmor.d/local/usr.sbin.nginx')
    assert fetch('apparmor', 'confine-tune.html') == 200  # served, in enforce mode

    # an exercise that raises a new event every run: the gate refuses, rules and mode go back as they were
    moving = os.path.join(ROOT, PLAYS, 'tune-exercise-moving.yml')
    proc = playbook(lab, 'tune.yml', *(tune + ['-e', 'confine_tune_exercise=%s' % moving]), check=False,
                    report_dir=str(tmp_path / 't2'))
    assert proc.returncode != 0 and 'hosts falling short' in proc.stdout, proc.stdout[-3000:]
    with open(str(tmp_path / 't2' / 'report.json')) as f:
        row = json.load(f)['hosts'][0]
    assert row['findings'] and all(f.startswith('still missing after the re-exercise: apparmor')
                                   for f in row['findings']), row
    assert row['changes'] == [] and row['mode'] == 'nginx (enforce)', row
    local = ssh('apparmor', 'cat', '/etc/apparmor.d/local/usr.sbin.nginx')
    assert '/srv/confine-tune.html r,' in local and 'confine-moving' not in local, local
    assert 'nginx (enforce)' in ssh('apparmor', 'cat', '/sys/kernel/security/apparmor/profiles')


def test_denials_playbook_reports_every_host(lab, tmp_path):
    restart_confined()
    ssh('apparmor', 'sh', '-c', 'echo secret > /srv/confine-denied.txt && '
        'ln -sf /srv/confine-denied.txt /var/www/html/confine-denied.txt')
    assert fetch('apparmor', 'confine-denied.txt') == 403
    playbook(lab, 'denials.yml', report_dir=str(tmp_path / 'd'))
    with open(str(tmp_path / 'd' / 'report.json')) as f:
        report = json.load(f)
    assert report['title'] == 'confine.lsm denials report' and report['summary']['hosts'] == 2
    aa = [h for h in report['hosts'] if h['lsm'] == 'apparmor'][0]
    line = [d for d in aa['denials'] if '/srv/confine-denied.txt' in d]
    assert line and line[0].startswith('apparmor denied') and line[0].endswith('rule /srv/confine-denied.txt r,'), aa
    # strict: the AppArmor host's enforced denial fails the run (the SELinux host's analysis was proven above)
    strict = playbook(lab, 'denials.yml', '-e', 'confine_denials_fail=true', '-e', 'confine_hosts=apparmor',
                      check=False, report_dir=str(tmp_path / 'd2'))
    assert strict.returncode != 0 and 'hosts falling short' in strict.stdout


def module(lab, group, name, args):
    """One module task, ad hoc, on the lab group; its result as JSON (the json callback)."""
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='json')
    proc = run(['ansible', '-i', lab, group, '-m', 'confine.lsm.%s' % name, '-a', json.dumps(args)], env=env,
               check=False)
    try:
        plays = json.loads(proc.stdout[proc.stdout.index('{'):])['plays']
    except ValueError:
        raise AssertionError('no JSON result from %s: %s' % (name, proc.stdout[-3000:]))
    results = list(plays[0]['tasks'][0]['hosts'].values())
    assert len(results) == 1, results
    return results[0]


KILL = ('abi <abi/4.0>,\ninclude <tunables/global>\n'
        'profile confine-kill /usr/local/bin/confine-kill flags=(kill) {\n  /etc/hosts r,\n}\n')
HATTED = ('abi <abi/4.0>,\ninclude <tunables/global>\n'
          'profile confine-hatted /usr/local/bin/confine-hatted {\n  /etc/hosts r,\n'
          '  ^confine-hat flags=(complain) {\n    /etc/hostname r,\n  }\n}\n')


def loaded_modes(names):
    """{name: mode} as the kernel lists the loaded profiles (hats as parent//hat)."""
    modes = {}
    for line in ssh('apparmor', 'cat', '/sys/kernel/security/apparmor/profiles').splitlines():
        name, sep, mode = line.rpartition(' (')
        if sep and name in names:
            modes[name] = mode.rstrip(')')
    return modes


def test_kill_profile_kept_and_complain_hat_fails_verify_until_enforced(lab, tmp_path):
    """AppArmor 4 on the trixie kernel: mode=enforce keeps a kill profile (file and kernel, weakened: []), a
    complain hat inside a profile the fleet enforces fails verify, and enforce.yml fixes it through its profile."""
    files = {'/etc/apparmor.d/confine-kill': KILL, '/etc/apparmor.d/confine-hatted': HATTED}
    names = ['confine-kill', 'confine-hatted', 'confine-hatted//confine-hat']
    try:
        for path, text in files.items():
            run([sys.executable, '-m', 'lab', 'ssh', '--name', LAB, 'apparmor', 'sh', '-c',
                 'cat > %s && apparmor_parser -r -W %s' % (path, path)], input=text)
        assert loaded_modes(names) == {'confine-kill': 'kill', 'confine-hatted': 'enforce',
                                       'confine-hatted//confine-hat': 'complain'}

        kept = module(lab, 'apparmor', 'apparmor_profile_mode', {'profiles': ['confine-kill'], 'mode': 'enforce'})
        assert kept.get('failed') is not True and kept['changed'] is False, kept
        assert kept['weakened'] == [] and [s['names'] for s in kept['skipped_profiles']] == [['confine-kill']], kept
        assert 'stronger than enforce: kept' in kept['skipped_profiles'][0]['reason'], kept
        assert 'flags=(kill)' in ssh('apparmor', 'cat', '/etc/apparmor.d/confine-kill')
        assert loaded_modes(['confine-kill']) == {'confine-kill': 'kill'}

        enforce = json.dumps({'confine_apparmor_enforce': ['nginx', 'confine-hatted']})
        proc = playbook(lab, 'verify.yml', '--check', '-e', 'confine_hosts=apparmor', '-e', enforce, check=False,
                        report_dir=str(tmp_path / 'v1'))
        assert proc.returncode != 0 and 'hosts falling short' in proc.stdout, proc.stdout[-3000:]
        with open(str(tmp_path / 'v1' / 'report.json')) as f:
            aa = json.load(f)['hosts'][0]
        failed = [(c['id'], c['text']) for c in aa['checks']]
        assert failed == [('apparmor.profile_not_enforced', 'profile not enforced: confine-hatted//confine-hat')], aa
        assert 'profiles=[confine-hatted] mode=enforce' in aa['checks'][0]['fix'], aa

        playbook(lab, 'enforce.yml', '-e', 'confine_hosts=apparmor', '-e', enforce, report_dir=str(tmp_path / 'e'))
        assert loaded_modes(names) == {'confine-kill': 'kill', 'confine-hatted': 'enforce',
                                       'confine-hatted//confine-hat': 'enforce'}
        assert 'flags=(complain)' not in ssh('apparmor', 'cat', '/etc/apparmor.d/confine-hatted')
        playbook(lab, 'verify.yml', '--check', '-e', 'confine_hosts=apparmor', '-e', enforce,
                 report_dir=str(tmp_path / 'v2'))
        with open(str(tmp_path / 'v2' / 'report.json')) as f:
            report = json.load(f)
        assert report['summary']['failed'] == 0, report
        accepted = [a['text'] for a in report['hosts'][0].get('accepted', [])]
        assert 'profile confine-kill is in kill mode (stronger than enforce; kept)' in accepted, report['hosts'][0]
    finally:
        for path in files:
            ssh('apparmor', 'sh', '-c', 'apparmor_parser -R %s; rm -f %s' % (path, path), check=False)


COMPLAIN = ('abi <abi/4.0>,\ninclude <tunables/global>\n'
            'profile confine-complain /usr/local/bin/confine-complain flags=(complain) {\n  /etc/hosts r,\n}\n')
IDLE_UNIT = '[Unit]\nDescription=confine.lsm lab test: a service whose binary the policy does not know\n' \
            '[Service]\nExecStart=/usr/local/bin/confine-idle infinity\n'
GRUB_TEST = 'GRUB_CMDLINE_LINUX="quiet selinux=0"\n'
AA_GRUB_D = '/etc/default/grub.d/99-confine-test.cfg'
AA_GRUB_TEST = 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX apparmor=0"\n'


def checks_of(report_dir):
    """{lsm: [(id, text), ...]} and {lsm: [accepted text, ...]} from a fleet report."""
    with open(os.path.join(report_dir, 'report.json')) as f:
        hosts = json.load(f)['hosts']
    return (dict((h['lsm'], sorted((c['id'], c['text']) for c in h['checks'])) for h in hosts),
            dict((h['lsm'], sorted('%s: %s' % (a['text'], a['reason']) for a in h.get('accepted', []))) for h in hosts),
            hosts)


def test_unconfined_service_boot_args_and_complain_profile_fail_verify(lab, tmp_path):
    """Lowered states at once: a systemd service whose binary is bin_t (it runs in a domain the policy leaves
    unconfined), boot configuration args that disable SELinux (in /etc/default/grub) and AppArmor (in grub.d, with
    the CIS args required), and a profile in complain mode under policy all. verify names each with its id; drift
    fixes the boot args of both (no reboot needed: the running kernels have them not); the two accepted ones pass
    only with the reason the report prints."""
    # from the fleet's compliant state (a compliant run when the tests before this one left it so)
    playbook(lab, 'enforce.yml', report_dir=str(tmp_path / 'e0'))
    grub = ssh('selinux', 'sh', '-c', 'cat /etc/default/grub 2>/dev/null || echo CONFINE-NO-GRUB-FILE')
    try:
        ssh('selinux', 'sh', '-c', 'cp /bin/sleep /usr/local/bin/confine-idle && restorecon /usr/local/bin/confine-idle'
            ' && cat > /etc/systemd/system/confine-idle.service && systemctl daemon-reload'
            ' && systemctl start confine-idle', input_text=IDLE_UNIT)
        ssh('selinux', 'sh', '-c', 'cat > /etc/default/grub', input_text=GRUB_TEST)
        ssh('apparmor', 'sh', '-c', 'mkdir -p /etc/default/grub.d && cat > %s' % AA_GRUB_D, input_text=AA_GRUB_TEST)
        run([sys.executable, '-m', 'lab', 'ssh', '--name', LAB, 'apparmor', 'sh', '-c',
             'cat > /etc/apparmor.d/confine-complain && apparmor_parser -r -W /etc/apparmor.d/confine-complain'],
            input=COMPLAIN)
        pid = ssh('selinux', 'systemctl', 'show', '-p', 'MainPID', '--value', 'confine-idle').strip()
        domain = ssh('selinux', 'cat', '/proc/%s/attr/current' % pid).strip().split(':')[2]
        label = ssh('selinux', 'ls', '-Z', '/usr/local/bin/confine-idle').split()[0]
        assert label.split(':')[2] == 'bin_t', label

        policy_all = ['-e', 'confine_verify_apparmor_policy=all',
                      '-e', '{"confine_apparmor_kernel_args_required": ["apparmor=1", "security=apparmor"]}']
        proc = playbook(lab, 'verify.yml', '--check', *policy_all, check=False, report_dir=str(tmp_path / 'v1'))
        assert proc.returncode != 0 and 'hosts falling short' in proc.stdout, proc.stdout[-3000:]
        checks, accepted, hosts = checks_of(str(tmp_path / 'v1'))
        se = dict(checks['selinux'])
        assert sorted(se) == ['selinux.boot_args', 'selinux.unconfined_service'], hosts
        assert 'selinux=0' in se['selinux.boot_args'] and '/etc/default/grub' in se['selinux.boot_args'], se
        assert se['selinux.unconfined_service'].startswith(
            'unconfined service: confine-idle.service (pid %s, /usr/local/bin/confine-idle, domain %s, '
            'executable label %s)' % (pid, domain, label)), se
        # the lab's image may have other profiles in complain mode: policy all names them too
        assert ('apparmor.complain', 'profile confine-complain is in complain mode') in checks['apparmor'], hosts
        boot = sorted(c[1] for c in checks['apparmor'] if c[0] == 'apparmor.boot_args')
        assert len(boot) == 3 and all(c[0] in ('apparmor.complain', 'apparmor.boot_args') for c in checks['apparmor'])
        assert boot[0].startswith('the next boot blocks AppArmor: apparmor=0 disables AppArmor (') and \
            boot[1].startswith('the next boot lacks apparmor=1 (') and \
            boot[2].startswith('the next boot lacks security=apparmor ('), boot

        # drift may fix the boot configuration (the role's opt-in); the two others are accepted with a reason
        others = [c[1].split()[1] for c in checks['apparmor']
                  if c[0] == 'apparmor.complain' and c[1] != 'profile confine-complain is in complain mode']
        accept = json.dumps({
            'confine_selinux_fix_kernel_args': True, 'confine_apparmor_fix_kernel_args': True,
            'confine_verify_selinux_unconfined_exceptions': [{'name': 'confine-idle.service', 'reason': 'lab test'}],
            'confine_verify_apparmor_exceptions': [{'name': n, 'reason': 'lab test'}
                                                   for n in ['confine-complain'] + others]})
        proc = playbook(lab, 'drift.yml', *policy_all, '-e', accept, report_dir=str(tmp_path / 'd'))
        checks, accepted, hosts = checks_of(str(tmp_path / 'd'))
        assert checks == {'selinux': [], 'apparmor': []}, hosts
        se = [h for h in hosts if h['lsm'] == 'selinux'][0]
        assert [x for x in se['drift_found'] if 'selinux=0' in x] == se['drift_fixed'] and se['drift_fixed'], se
        assert any(a.startswith('unconfined service: confine-idle.service') and a.endswith(': lab test')
                   for a in accepted['selinux']), accepted
        assert 'profile confine-complain is in complain mode: lab test' in accepted['apparmor'], accepted
        assert ssh('selinux', 'cat', '/etc/default/grub') == 'GRUB_CMDLINE_LINUX="quiet"\n'
        assert ssh('selinux', 'getenforce').strip() == 'Enforcing'
        aa = [h for h in hosts if h['lsm'] == 'apparmor'][0]
        assert sorted(x for x in aa['drift_found'] if x.startswith('the next boot')) == sorted(aa['drift_fixed']), aa
        assert len(aa['drift_fixed']) == 3, aa
        assert ssh('apparmor', 'cat', AA_GRUB_D) == \
            'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX apparmor=1 security=apparmor"\n'
    finally:
        ssh('selinux', 'sh', '-c', 'systemctl stop confine-idle; rm -f /etc/systemd/system/confine-idle.service '
            '/usr/local/bin/confine-idle; systemctl daemon-reload', check=False)
        if grub.strip() == 'CONFINE-NO-GRUB-FILE':
            ssh('selinux', 'rm', '-f', '/etc/default/grub', check=False)
        else:
            ssh('selinux', 'sh', '-c', 'cat > /etc/default/grub', input_text=grub, check=False)
        ssh('apparmor', 'sh', '-c', 'apparmor_parser -R /etc/apparmor.d/confine-complain; '
            'rm -f /etc/apparmor.d/confine-complain %s; rmdir --ignore-fail-on-non-empty /etc/default/grub.d'
            % AA_GRUB_D, check=False)


def test_reboot_in_the_middle_of_a_run(lab, tmp_path):
    """Reliability: the SELinux host reboots while enforce.yml runs; it comes back enforcing and a rerun converges."""
    import subprocess as sp
    ssh('selinux', 'setsebool', 'httpd_can_network_connect', 'off')  # something for the run to fix
    argv = ['ansible-playbook', '-i', lab, '-e', '@playbooks/vars/lab.yml', '-e', 'confine_hosts=selinux',
            '-e', 'confine_report_dir=%s' % (tmp_path / 'm1'), 'playbooks/enforce.yml']
    run_proc = sp.Popen(argv, cwd=ROOT, stdout=sp.PIPE, stderr=sp.STDOUT, universal_newlines=True)
    time.sleep(40)  # inside the run: facts gathered, the role's first tasks running
    reboot_and_wait('selinux')
    try:
        out = run_proc.communicate(timeout=600)[0]  # the interrupted run ends (unreachable), it must not hang
    except sp.TimeoutExpired:
        run_proc.kill()
        raise AssertionError('the run whose host rebooted under it did not end within 600 s')
    assert ssh('selinux', 'getenforce').strip() == 'Enforcing', out[-2000:]
    playbook(lab, 'enforce.yml', '-e', 'confine_hosts=selinux', report_dir=str(tmp_path / 'm2'))
    with open(str(tmp_path / 'm2' / 'report.json')) as f:
        assert json.load(f)['summary']['failed'] == 0
    assert ssh('selinux', 'getsebool', 'httpd_can_network_connect').strip().endswith('on')


def fetch_port(host, port, path):
    """The HTTP status nginx on host answers for path on 127.0.0.1:port (from inside the VM)."""
    code = ('import urllib.request, urllib.error\n'
            'try:\n    print(urllib.request.urlopen("http://127.0.0.1:%d/%s").status)\n'
            'except urllib.error.HTTPError as e:\n    print(e.code)' % (port, path))
    return int(ssh(host, 'python3', '-c', code).strip())


def test_name_bind_denial_is_fixed_by_one_port_label(lab, tmp_path):
    """nginx told to listen on tcp/8123 fails (name_bind on unreserved_port_t); the advisor names the port label
    (http_port_t first), not a module; enforce.yml with confine_selinux_ports labels the one port, nginx starts and
    serves there, still confined in httpd_t, verify passes (the second run's idempotence: Molecule's four steps)."""
    site = '/etc/nginx/sites-enabled/confine-8123'
    ssh('selinux', 'sh', '-c', 'printf "server {\\n listen 127.0.0.1:8123;\\n root /var/www/html;\\n}\\n" > %s' % site)
    try:
        assert run([sys.executable, '-m', 'lab', 'ssh', '--name', LAB, 'selinux', 'systemctl', 'restart', 'nginx'],
                   check=False).returncode != 0, 'nginx bound tcp/8123 before any label: no denial to fix'
        found = module(lab, 'selinux', 'lsm_denials_info', {'since': '10m'})
        groups = [g for g in found['denials'] if g.get('operation') == 'name_bind' and g.get('object') == 'tcp/8123']
        assert groups and groups[0]['subject_type'] == 'httpd_t', found['denials']
        advice = groups[0]['suggestion']
        assert advice['kind'] == 'port_label' and advice['candidate_types'][0] == 'http_port_t', advice
        assert 'confine_selinux_ports' in advice['detail'], advice

        ports = [{'port': 8123, 'setype': advice['candidate_types'][0]}]
        out = playbook(lab, 'enforce.yml', '-e', 'confine_hosts=selinux',
                       '-e', json.dumps({'confine_selinux_ports': ports}), report_dir=str(tmp_path / 'p1')).stdout
        assert recap_changed(out).get('playbooks-selinux', 0) >= 1, out[-3000:]
        with open(str(tmp_path / 'p1' / 'report.json')) as f:
            report = json.load(f)
        assert report['summary']['failed'] == 0
        row = [h for h in report['hosts'] if h['lsm'] == 'selinux'][0]
        assert 'port tcp/8123: none -> http_port_t' in row['changes'] and row['weakened'] == [], row  # in sight
        assert 'http_port_t' in ssh('selinux', 'semanage', 'port', '-l', '-C')
        ssh('selinux', 'systemctl', 'restart', 'nginx')
        assert fetch_port('selinux', 8123, 'index.nginx-debian.html') == 200
        pid = ssh('selinux', 'systemctl', 'show', '-p', 'MainPID', '--value', 'nginx').strip()
        assert ':httpd_t:' in ssh('selinux', 'cat', '/proc/%s/attr/current' % pid), 'nginx is not confined'
    finally:
        ssh('selinux', 'rm', '-f', site)
        gone = module(lab, 'selinux', 'selinux_port', {'ports': [{'port': 8123, 'state': 'absent'}]})
        ssh('selinux', 'systemctl', 'restart', 'nginx', check=False)
    assert gone.get('changed') is True and gone['reloaded'] is True, gone
