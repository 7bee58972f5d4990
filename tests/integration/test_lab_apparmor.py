"""Host-state assertions on the AppArmor lab VM (run by the vm_apparmor scenario's verify step, via testinfra)."""


def loaded(host):
    text = host.file('/sys/kernel/security/apparmor/profiles').content_string
    return dict(line[:-1].rsplit(' (', 1) for line in text.splitlines() if line.endswith(')'))


def test_apparmor_enabled_and_service_active(host):
    assert host.file('/sys/module/apparmor/parameters/enabled').content_string.strip() == 'Y'
    assert host.service('apparmor').is_running or host.run('systemctl is-active apparmor').stdout.strip() == 'active'
    assert host.service('nginx').is_running


def test_profiles_enforced_in_kernel(host):
    modes = loaded(host)
    assert modes.get('nginx') == 'enforce'
    assert modes.get('confine-test') == 'enforce'


def test_nginx_runs_confined(host):
    pid = host.check_output('pgrep -o -x nginx')
    assert host.file('/proc/%s/attr/current' % pid).content_string.strip() == 'nginx (enforce)'


def test_denial_recorded(host):
    log = host.file('/var/log/audit/audit.log').content_string
    assert 'apparmor="DENIED" operation="open"' in log
    assert 'profile="nginx" name="/srv/confine-secret.txt"' in log
