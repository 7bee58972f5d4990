"""Unit tests of the lab tool's pure parts: recipe keys, inventories, process ownership."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, ROOT)

from lab import cli, images, vm  # noqa: E402  pylint: disable=wrong-import-position


def test_recipe_hash_is_stable_and_keyed_by_content(monkeypatch):
    a = images.vm_recipe('bookworm')
    assert images.recipe_hash(a) == images.recipe_hash(images.vm_recipe('bookworm'))
    assert images.recipe_hash(a) != images.recipe_hash(images.vm_recipe('trixie'))
    b = dict(a, packages=a['packages'] + ['extra'])
    assert images.recipe_hash(a) != images.recipe_hash(b)
    monkeypatch.setattr(images, 'BUILD_STEPS', images.BUILD_STEPS + 1)
    assert images.recipe_hash(a) != images.recipe_hash(images.vm_recipe('bookworm'))


def test_recipes_carry_what_the_lab_needs():
    r = images.vm_recipe('bookworm')
    for pkg in ('linux-image-amd64', 'apparmor', 'selinux-policy-default', 'auditd', 'python3-selinux',
                'python3-semanage', 'openssh-server', 'nginx', 'netbase'):
        assert pkg in r['packages']
    assert 'linux-image-amd64' not in images.container_recipe('bookworm')['packages']


def test_cache_paths_follow_env(monkeypatch, tmp_path):
    monkeypatch.setenv('CONFINE_LAB_CACHE', str(tmp_path / 'c'))
    assert images.vm_dir('bookworm').startswith(str(tmp_path / 'c' / 'images' / 'vm-bookworm-'))


def test_inventory_groups_and_pinned_host_key(monkeypatch, tmp_path):
    monkeypatch.setenv('CONFINE_LAB_STATE', str(tmp_path))
    os.makedirs(str(tmp_path / 'x'))
    state = {'vms': [
        {'host': 'x-selinux', 'lsm': 'selinux', 'port': 2222, 'pid': 1, 'overlay': '/o1', 'image_dir': '/img',
         'rundir': str(tmp_path / 'x')},
        {'host': 'x-apparmor', 'lsm': 'apparmor', 'port': 2223, 'pid': 2, 'overlay': '/o2', 'image_dir': '/img',
         'rundir': str(tmp_path / 'x')}]}
    with open(cli.write_inventory('x', state)) as f:
        inv = json.load(f)
    hv = inv['all']['children']['selinux']['hosts']['x-selinux']
    assert hv['ansible_host'] == '127.0.0.1' and hv['ansible_port'] == 2222
    assert 'StrictHostKeyChecking=yes' in hv['ansible_ssh_common_args']
    assert inv['all']['children']['apparmor']['hosts']['x-apparmor']['confine_lab_lsm'] == 'apparmor'


def test_pid_is_ours_only_for_our_qemu():
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])
    try:
        assert not vm.pid_is_ours(proc.pid, '/some/overlay.qcow2')
    finally:
        proc.kill()
        proc.wait()
    assert not vm.pid_is_ours(2 ** 22 + 7, 'x')


def test_ssh_argv_is_key_only_and_quoted():
    machine = vm.VM('/img', '/o.qcow2', 'selinux', 'h', rundir='/run', port=2222)
    argv = machine.ssh_argv(['echo', 'a b;c'])
    assert argv[-1] == "echo 'a b;c'"
    assert 'BatchMode=yes' in argv and 'StrictHostKeyChecking=yes' in argv


@pytest.mark.parametrize('text,ok', [('selinux,apparmor', True), ('selinux', True), ('smack', False)])
def test_cli_rejects_unknown_lsm(text, ok, capsys):
    if ok:
        args = ['up', '--lsm', text, '--help']
        with pytest.raises(SystemExit) as exc:
            cli.main(args)
        assert exc.value.code == 0
    else:
        with pytest.raises(SystemExit) as exc:
            cli.main(['up', '--lsm', text])
        assert exc.value.code == 2
        assert 'unknown smack' in capsys.readouterr().err
