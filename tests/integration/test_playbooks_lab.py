"""The fleet playbooks on the real-kernel lab: drift is found, reported and fixed; verify fails on a weakened host.

Boots its own lab (python -m lab up --name playbooks), runs playbooks/*.yml with ansible-playbook, reads the
fleet report, and stops the lab at the end. Run by tests/run-all.sh (tier vms); slow under emulation (~10 min).
"""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = 'playbooks'
MARKER = '# confine.lsm drift test: this comment must survive'


def run(argv, check=True, **kw):
    proc = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False, **kw)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed (rc=%d):\n%s' % (' '.join(argv), proc.returncode, proc.stdout[-6000:]))
    return proc


@pytest.fixture(scope='module')
def lab():
    proc = run([sys.executable, '-m', 'lab', 'up', '--name', LAB])
    inventory = proc.stdout.strip().splitlines()[-1]
    yield inventory
    run([sys.executable, '-m', 'lab', 'down', '--name', LAB], check=False)


def playbook(lab, name, *extra, check=True, report_dir=None):
    argv = ['ansible-playbook', '-i', lab, '-e', '@playbooks/vars/lab.yml', 'playbooks/%s' % name] + list(extra)
    if report_dir:
        argv += ['-e', 'confine_report_dir=%s' % report_dir]
    return run(argv, check=check)


def ssh(host, *command):
    return run([sys.executable, '-m', 'lab', 'ssh', '--name', LAB, host] + list(command)).stdout


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
    ssh('selinux', 'setsebool', '-P', 'httpd_can_sendmail', 'on')
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
                 'httpd_can_sendmail'):
        assert what in found, (what, se)
    assert sorted(se['drift_fixed']) == sorted(se['drift_found'])
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


def test_unloaded_profile_is_drift(lab, tmp_path):
    ssh('apparmor', 'apparmor_parser', '-R', '/etc/apparmor.d/usr.sbin.nginx')
    playbook(lab, 'drift.yml', report_dir=str(tmp_path / 'r'))
    with open(str(tmp_path / 'r' / 'report.json')) as f:
        aa = [h for h in json.load(f)['hosts'] if h['lsm'] == 'apparmor'][0]
    assert aa['drift_found'] == ['profile not enforced: nginx'] and aa['drift_fixed'] == aa['drift_found']
    assert 'nginx (enforce)' in ssh('apparmor', 'cat', '/sys/kernel/security/apparmor/profiles')


def test_verify_fails_on_a_permissive_host_and_passes_after_enforce(lab, tmp_path):
    ssh('selinux', 'setenforce', '0')
    proc = playbook(lab, 'verify.yml', '--check', check=False, report_dir=str(tmp_path / 'v1'))
    assert proc.returncode != 0
    assert 'hosts falling short' in proc.stdout
    with open(str(tmp_path / 'v1' / 'report.xml')) as f:
        assert 'running mode is permissive' in f.read()
    playbook(lab, 'enforce.yml', report_dir=str(tmp_path / 'v2'))
    proc = playbook(lab, 'verify.yml', '--check', report_dir=str(tmp_path / 'v3'))
    with open(str(tmp_path / 'v3' / 'report.json')) as f:
        assert json.load(f)['summary'] == {'hosts': 2, 'passed': 2, 'failed': 0, 'failed_hosts': []}
