"""Build the collection tarball, install it into a fresh collections path, and run every module and role by FQCN
from the installed copy (not this checkout) against a systemd container."""
import json
import os
import subprocess
import sys
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from lab import fleet  # noqa: E402  pylint: disable=wrong-import-position

NAME = 'confine-ecosystem'


def run(argv, env=None, check=True, cwd=ROOT, merge=True):
    """merge=False keeps stderr apart, for output that is parsed (a library's warning there is not part of it)."""
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT if merge else subprocess.PIPE, universal_newlines=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed (rc=%d):\n%s%s' % (
            ' '.join(argv), proc.returncode, proc.stdout[-5000:], proc.stderr[-3000:] if proc.stderr else ''))
    return proc


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    out = tmp_path_factory.mktemp('build')
    run(['ansible-galaxy', 'collection', 'build', '--force', '--output-path', str(out), ROOT])
    tarball = [str(p) for p in out.iterdir() if p.name.endswith('.tar.gz')][0]
    coll = tmp_path_factory.mktemp('collections')
    # a fresh path and nothing else: this checkout (on the test command's collections path) must not satisfy it
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(coll))
    run(['ansible-galaxy', 'collection', 'install', '--offline', '--force', '-p', str(coll), tarball], env=env)
    assert os.path.isfile(os.path.join(str(coll), 'ansible_collections', 'confine', 'lsm', 'MANIFEST.json'))
    return tarball, str(coll)


def test_tarball_holds_the_collection_and_nothing_else(installed):
    tarball, dummy = installed
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    for must in ('plugins/modules/selinux_mode.py', 'roles/confine_verify/meta/argument_specs.yml',
                 'playbooks/tune.yml', 'MANIFEST.json', 'FILES.json', 'meta/runtime.yml'):
        assert must in names, must
    for banned in ('.cache/', '.venv/', 'lab/', 'bench/', 'tests/output/', 'tests/unit/lab/', '.git/'):
        assert not [n for n in names if n.startswith(banned)], banned
    assert not [n for n in names if n.endswith(('.qcow2', '.raw', '.tar.gz')) or 'confine-report' in n]


def test_every_module_and_role_runs_from_the_installed_copy(installed, tmp_path):
    dummy, coll = installed
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=coll, ANSIBLE_NOCOLOR='1')
    # stdout only: a dependency's warning on stderr (cryptography 51 deprecates DSA when ansible imports it) is no
    # part of the JSON
    doc = run(['ansible-doc', '--json', 'confine.lsm.selinux_mode'], env=env, merge=False).stdout
    assert json.loads(doc)['confine.lsm.selinux_mode']['doc']['filename'].startswith(coll)
    host = fleet.start(NAME, 1)[0]  # starts dockerd; reuses the cached image
    try:
        inv = fleet.inventory([host], str(tmp_path / 'inventory.json'))
        play = os.path.join(ROOT, 'tests', 'ecosystem', 'uses-everything.yml')
        proc = run(['ansible-playbook', '-i', inv, '-e', 'confine_report_dir=%s' % (tmp_path / 'report'), play],
                   env=env, cwd=str(tmp_path))
        assert 'failed=0' in proc.stdout
        # the playbooks ship too: run the installed verify playbook by its FQCN
        proc = run(['ansible-playbook', '-i', inv, '-e', 'confine_report_dir=%s' % (tmp_path / 'r2'),
                    'confine.lsm.verify'], env=env, cwd=str(tmp_path), check=False)
        # a container's kernel enforces no MAC: the installed verify must say so, fail the host and exit 2
        assert proc.returncode == 2, proc.stdout[-3000:]
        with open(str(tmp_path / 'r2' / 'report.json')) as f:
            report = json.load(f)
        assert report['summary'] == {'hosts': 1, 'passed': 0, 'failed': 1, 'failed_hosts': [host]}, report
        row = report['hosts'][0]
        assert row['lsm'] == 'apparmor' and row['pass'] is False and row['mode'] == 'disabled', row
        assert 'AppArmor is not enabled in the kernel' in row['findings'], row
    finally:
        fleet.stop([host])


def test_execution_environment_renders_and_declares_the_dependencies(installed, tmp_path):
    """ansible-builder renders a build context (no image build here: no registry) and, from the installed
    collection, finds its system dependencies (the SELinux bindings, AppArmor tools)."""
    import shutil
    tarball, coll = installed
    shutil.copy(tarball, str(tmp_path))
    shutil.copy(os.path.join(ROOT, 'execution-environment.yml'), str(tmp_path))
    run(['ansible-builder', 'create', '-f', 'execution-environment.yml', '--context', 'ctx'], cwd=str(tmp_path))
    # Containerfile for podman, Dockerfile for docker (ansible-builder picks the runtime it finds)
    name = 'Containerfile' if (tmp_path / 'ctx' / 'Containerfile').exists() else 'Dockerfile'
    containerfile = (tmp_path / 'ctx' / name).read_text()
    assert 'ansible-galaxy collection install' in containerfile or 'install-from-bindep' in containerfile
    reqs = (tmp_path / 'ctx' / '_build' / 'requirements.yml').read_text()
    assert os.path.basename(tarball) in reqs and (tmp_path / 'ctx' / '_build' / os.path.basename(tarball)).exists()
    out = run(['ansible-builder', 'introspect', '--sanitize', coll]).stdout
    for dep in ('python3-libselinux [platform:rpm]', 'python3-semanage [platform:dpkg]', 'apparmor [platform:dpkg]'):
        assert dep in out, (dep, out[-2000:])
