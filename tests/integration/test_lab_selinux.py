"""Host-state assertions on the SELinux lab VM (run by the vm_selinux scenario's verify step, via testinfra).

These run on a kernel where SELinux really enforces; every check fails if the claim is untrue.
"""
import pytest

BOOLEANS = ['httpd_can_network_connect', 'httpd_can_sendmail', 'httpd_enable_cgi']


def test_kernel_enforces(host):
    assert host.file('/sys/fs/selinux/enforce').content_string.strip() == '1'
    assert host.check_output('getenforce') == 'Enforcing'


def test_config_says_enforcing_and_keeps_label(host):
    cfg = host.file('/etc/selinux/config')
    assert 'SELINUX=enforcing' in cfg.content_string.splitlines()
    assert 'confine.lsm test marker' in cfg.content_string
    # rewritten atomically, yet the policy's label for the file is kept
    assert ':selinux_config_t:' in host.check_output('stat -c %C /etc/selinux/config')


@pytest.mark.parametrize('name', BOOLEANS)
def test_boolean_on_persistently_and_live(host, name):
    assert host.check_output('getsebool %s' % name).endswith('--> on')
    assert 'boolean -m -1 %s' % name in host.check_output('semanage boolean --extract').splitlines()


def test_denied_then_fixed(host):
    """side_effect provoked an AVC (nginx reading a home-labelled file) and fixed the label."""
    avc = host.run('ausearch --input-logs -m AVC -c nginx -f confine-probe.html')
    assert 'denied  { getattr }' in avc.stdout and '_home_t:' in avc.stdout
    assert ':httpd_sys_content_t:' in host.check_output('stat -c %C /var/www/html/confine-probe.html')
    page = host.check_output('curl -fsS http://127.0.0.1/confine-probe.html')
    assert 'confine probe' in page
