"""The collection under mitogen (a documented option for large fleets: docs/testing.md and docs/enforce-a-fleet.md),
against a systemd container: every module and role (uses-everything.yml) under mitogen's linear strategy, and the
respawn into the system Python from an interpreter without the SELinux bindings, under mitogen and under ansible's
own runner (AnsiballZ), each in four steps (respawn.yml)."""
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from lab import fleet, util  # noqa: E402  pylint: disable=wrong-import-position

NAME = 'confine-mitogen'
NOBIND = '/opt/confine-nobind/bin/python3'  # a venv without the system site-packages: no selinux, no semanage


def plugins(kind):
    import ansible_mitogen
    return os.path.join(os.path.dirname(ansible_mitogen.__file__), 'plugins', kind)


def mitogen_env(env):
    return dict(env, ANSIBLE_STRATEGY_PLUGINS=plugins('strategy'), ANSIBLE_STRATEGY='mitogen_linear')


def run(argv, env, cwd=ROOT):
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, '%s failed (rc=%d):\n%s' % (' '.join(argv), proc.returncode, proc.stdout[-5000:])
    return proc.stdout


@pytest.fixture(scope='module')
def host(tmp_path_factory):
    name = fleet.start(NAME, 1)[0]
    try:
        subprocess.run(['docker', 'exec', name, 'python3', '-m', 'venv', '--without-pip',
                        os.path.dirname(os.path.dirname(NOBIND))], check=True)
        yield name, tmp_path_factory.mktemp('mitogen')
    finally:
        fleet.stop([name])


def inventory(path, name, interpreter):
    # the short connection name: mitogen's strategy redirects 'docker' to its own method; plain ansible routes it
    # to community.docker.docker
    with open(path, 'w') as f:
        json.dump({'all': {'hosts': {name: {'ansible_connection': 'docker', 'ansible_python_interpreter': interpreter,
                                            'ansible_pipelining': True}}}}, f)
    return path


def base_env():
    # mitogen's actions (mitogen_get_stack) are known to both runs; only the strategy decides who runs the tasks
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=util.checkout_collections_path(), ANSIBLE_NOCOLOR='1',
                ANSIBLE_ACTION_PLUGINS=plugins('action'))


def test_every_module_and_role_runs_under_mitogen(host):
    name, tmp = host
    inv = inventory(str(tmp / 'system.json'), name, '/usr/bin/python3')
    out = run(['ansible-playbook', '-i', inv, '-e', 'confine_report_dir=%s' % (tmp / 'report'),
               os.path.join(ROOT, 'tests', 'ecosystem', 'uses-everything.yml')], mitogen_env(base_env()), cwd=str(tmp))
    assert re.search(r'(?m)^%s\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0\s' % name, out), out[-3000:]
    with open(str(tmp / 'report' / 'report.json')) as f:
        assert json.load(f)['summary']['hosts'] == 1


@pytest.mark.parametrize('runner,boolean', [('ansiballz', 'httpd_enable_cgi'), ('mitogen', 'httpd_can_network_relay')])
def test_respawn_into_the_system_python(host, runner, boolean):
    name, tmp = host
    inv = inventory(str(tmp / 'nobind.json'), name, NOBIND)
    env = mitogen_env(base_env()) if runner == 'mitogen' else base_env()
    out = run(['ansible-playbook', '-i', inv, '-e', 'confine_test_boolean=%s' % boolean,
               '-e', 'confine_test_mitogen=%s' % (runner == 'mitogen'),
               os.path.join(ROOT, 'tests', 'ecosystem', 'respawn.yml')], env)
    assert re.search(r'(?m)^%s\s+: ok=\d+\s+changed=2\s+unreachable=0\s+failed=0\s' % name, out), out[-3000:]
    assert 'Respawn | the bindings did the work' in out
