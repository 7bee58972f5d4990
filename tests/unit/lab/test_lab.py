"""Unit tests of the lab tool's pure parts: recipe keys, inventories, process ownership."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, ROOT)

from lab import cli, images, vm, warm  # noqa: E402  pylint: disable=wrong-import-position


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
         'rundir': str(tmp_path / 'x'), 'key': str(tmp_path / 'x' / 'id_ed25519')}]}
    with open(cli.write_inventory('x', state)) as f:
        inv = json.load(f)
    hv = inv['all']['children']['selinux']['hosts']['x-selinux']
    assert hv['ansible_host'] == '127.0.0.1' and hv['ansible_port'] == 2222
    assert 'StrictHostKeyChecking=yes' in hv['ansible_ssh_common_args']
    aa = inv['all']['children']['apparmor']['hosts']['x-apparmor']
    assert aa['confine_lab_lsm'] == 'apparmor'
    # the lab's own key, not the image's build key (older state files without "key" fall back to the image's)
    assert aa['ansible_ssh_private_key_file'] == str(tmp_path / 'x' / 'id_ed25519')
    assert hv['ansible_ssh_private_key_file'] == '/img/id_ed25519'


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


@pytest.mark.parametrize('value,expected', [('tcg', vm.TCG), ('kvm', vm.KVM)])
def test_accel_can_be_forced(monkeypatch, value, expected):
    monkeypatch.setenv('CONFINE_LAB_ACCEL', value)
    assert vm.accel_args('/no/kernel') == expected


def test_tcg_cpu_model_and_kernel_args_for_the_bench_enter_the_command_line(monkeypatch):
    monkeypatch.setenv('CONFINE_LAB_ACCEL', 'tcg')
    monkeypatch.delenv('CONFINE_LAB_TCG_CPU', raising=False)
    monkeypatch.delenv('CONFINE_LAB_KERNEL_EXTRA', raising=False)
    plain = vm.VM('/img', 'disk', 'selinux', 'n', rundir='/run', port=1).argv('pid')
    assert plain[plain.index('-cpu') + 1] == 'qemu64' and plain[plain.index('-append') + 1].endswith('selinux=1')
    monkeypatch.setenv('CONFINE_LAB_TCG_CPU', 'max')
    monkeypatch.setenv('CONFINE_LAB_KERNEL_EXTRA', 'mitigations=off quiet')
    argv = vm.VM('/img', 'disk', 'selinux', 'n', rundir='/run', port=1).argv('pid')
    assert argv[argv.index('-cpu') + 1] == 'max'
    assert argv[argv.index('-append') + 1].endswith('selinux=1 mitigations=off quiet')
    for env, bad in (('CONFINE_LAB_TCG_CPU', 'max -S'), ('CONFINE_LAB_KERNEL_EXTRA', 'init=/bin/sh;x')):
        monkeypatch.setenv(env, bad)
        with pytest.raises(vm.util.LabError, match=env):
            vm.VM('/img', 'disk', 'selinux', 'n', rundir='/run', port=1).argv('pid')
        monkeypatch.delenv(env)


def test_accel_rejects_unknown_value_by_name(monkeypatch):
    monkeypatch.setenv('CONFINE_LAB_ACCEL', 'hvf')
    with pytest.raises(vm.util.LabError, match="'hvf'"):
        vm.accel_args('/no/kernel')


def test_auto_accel_falls_back_to_tcg_without_usable_kvm(monkeypatch):
    monkeypatch.delenv('CONFINE_LAB_ACCEL', raising=False)
    monkeypatch.setattr(vm.os, 'access', lambda path, mode: False)
    monkeypatch.setattr(vm, '_ACCEL', {})
    assert vm.kvm_works('/no/kernel')[0] is False
    assert vm.accel_args('/no/kernel') == vm.TCG


def test_kvm_probe_result_is_cached(monkeypatch, tmp_path):
    monkeypatch.setenv('CONFINE_LAB_CACHE', str(tmp_path))
    monkeypatch.setattr(vm.os, 'access', lambda path, mode: True)
    qemu = tmp_path / 'qemu-system-x86_64'  # no qemu needed on the machine that runs the unit tests
    qemu.write_text('')
    monkeypatch.setattr(vm.util, 'which', lambda name: str(qemu))
    kernel = tmp_path / 'vmlinuz'
    kernel.write_text('not a kernel')
    calls = []

    def fake_run(argv, **kw):
        calls.append(argv)
        with open(argv[argv.index('-serial') + 1][len('file:'):], 'w') as f:
            f.write('Linux version 6.1\nVFS: Unable to mount root fs\n')
        return subprocess.CompletedProcess(argv, 0, stdout='')

    monkeypatch.setattr(vm.subprocess, 'run', fake_run)
    assert vm.kvm_works(str(kernel)) == (True, 'a kernel booted under KVM')
    assert vm.kvm_works(str(kernel))[0] is True
    assert len(calls) == 1 and '-accel' in calls[0] and 'kvm' in calls[0]
    moved = tmp_path / 'cache' / 'vmlinuz'  # the same kernel where the built image keeps it: no second probe
    moved.parent.mkdir()
    moved.write_text('not a kernel')
    assert vm.kvm_works(str(moved))[0] is True and len(calls) == 1
    kernel.write_text('another kernel')
    vm.kvm_works(str(kernel))
    assert len(calls) == 2


def _qemu(monkeypatch, tmp_path):
    monkeypatch.setenv('CONFINE_LAB_ACCEL', 'tcg')
    qemu = tmp_path / 'qemu-system-x86_64'
    qemu.write_text('')
    monkeypatch.setattr(vm.util, 'which', lambda name: str(qemu))
    return qemu


def test_a_resumed_vm_sees_the_command_line_it_was_saved_with(monkeypatch, tmp_path):
    """Only the per-run parts differ between two VMs of one image and LSM: the name, the console file, the disk,
    the forwarded port and the pidfile. Everything else is what the saved state was taken under."""
    _qemu(monkeypatch, tmp_path)
    a = vm.VM('/img', '/a/disk.qcow2', 'selinux', 'one', rundir='/a', port=1111).argv('/a/pid')
    b = vm.VM('/img', '/b/other.qcow2', 'selinux', 'two', rundir='/b', port=2222).argv('/b/pid')
    assert len(a) == len(b)
    differ = [a[i - 1] for i in range(len(a)) if a[i] != b[i]]
    assert differ == ['-name', '-serial', '-drive', '-netdev', '-pidfile'], differ
    assert a[a.index('-device', a.index('virtio-rng-pci,rng=rng0')) + 1] == 'vmgenid,guid=auto'


def test_warm_key_follows_what_the_guest_sees(monkeypatch, tmp_path):
    qemu = _qemu(monkeypatch, tmp_path)
    monkeypatch.delenv('CONFINE_LAB_VCPUS', raising=False)
    k = warm.key('/img', 'selinux')
    assert k == warm.key('/img', 'selinux') and k != warm.key('/img', 'apparmor') and k != warm.key('/img2', 'selinux')
    monkeypatch.setenv('CONFINE_LAB_VCPUS', '2')
    assert warm.key('/img', 'selinux') != k
    monkeypatch.delenv('CONFINE_LAB_VCPUS')
    os.utime(str(qemu), (1, 1))  # another qemu binary
    assert warm.key('/img', 'selinux') != k


@pytest.mark.parametrize('value,expected', [('1', True), ('0', False)])
def test_warm_starts_can_be_turned_off(monkeypatch, value, expected):
    monkeypatch.setenv('CONFINE_LAB_WARM', value)
    assert warm.enabled() is expected
    monkeypatch.setenv('CONFINE_LAB_WARM', 'yes')
    with pytest.raises(vm.util.LabError, match="'yes'"):
        warm.enabled()


def test_resume_reads_the_saved_state_quoted(monkeypatch, tmp_path):
    _qemu(monkeypatch, tmp_path)
    img = tmp_path / 'img'
    img.mkdir()
    (img / 'hostkey.pub').write_text('ssh-ed25519 AAAA root@x\n')
    calls = []

    def fake_run(argv, **kw):
        calls.append(argv)
        with open(argv[argv.index('-pidfile') + 1], 'w') as f:
            f.write('4242\n')

    monkeypatch.setattr(vm.util, 'run', fake_run)
    machine = vm.VM(str(img), str(tmp_path / 'd.qcow2'), 'apparmor', 'h', rundir=str(tmp_path / 'run'), port=5)
    machine.start(incoming='/state dir/state')
    assert machine.pid == 4242
    assert calls[0][calls[0].index('-incoming') + 1] == "exec:cat '/state dir/state'" and machine.resumed
    machine.start()
    assert '-incoming' not in calls[1] and not machine.resumed


def test_up_starts_again_a_lab_whose_vm_stopped_answering(monkeypatch, capsys):
    entry = {'host': 'x-selinux', 'lsm': 'selinux', 'port': 1, 'pid': 1, 'overlay': '/o', 'image_dir': '/i',
             'rundir': '/r', 'key': '/k'}
    monkeypatch.setattr(cli, 'load_state', lambda name: {'name': name, 'suite': 'bookworm', 'vms': [entry]})
    monkeypatch.setattr(vm.VM, 'alive', lambda self: True)
    monkeypatch.setattr(vm.VM, 'can_login', lambda self, **kw: False)
    downs = []
    monkeypatch.setattr(cli, 'cmd_down', lambda args: downs.append(args.name))

    class Stop(Exception):
        pass

    def stop(*a, **kw):
        raise Stop()
    monkeypatch.setattr(cli.images, 'build_vm', stop)
    with pytest.raises(Stop):
        cli.main(['up', '--name', 'x', '--lsm', 'selinux'])
    assert downs == ['x'] and 'x-selinux does not answer SSH' in capsys.readouterr().err
    monkeypatch.setattr(vm.VM, 'can_login', lambda self, **kw: True)
    monkeypatch.setattr(cli, 'write_inventory', lambda name, state: '/inv.json')
    checked = []
    monkeypatch.setattr(cli, 'check_lsm', lambda machine: checked.append(machine.name))
    assert cli.main(['up', '--name', 'x', '--lsm', 'selinux']) == 0 and downs == ['x']  # answers: reused
    assert checked == ['x-selinux']  # and is still enforcing
    with pytest.raises(Stop):
        cli.main(['up', '--name', 'x', '--lsm', 'selinux', '--suite', 'trixie'])  # another suite: started again
    assert downs == ['x', 'x']


def test_a_saved_vm_is_whole_or_not_there(tmp_path, monkeypatch):
    s = warm.Saved(str(tmp_path / 'warm-selinux-abc'))
    os.makedirs(s.path)
    for name in ('ready.json', 'disk.qcow2'):
        (tmp_path / 'warm-selinux-abc' / name).write_text('x')
    assert not s.exists()  # no state file: never resumed from
    (tmp_path / 'warm-selinux-abc' / 'state').write_text('x')
    assert s.exists()
    warm.discard(str(tmp_path), 'selinux', s, 'did not resume')
    assert not os.path.exists(s.path) and os.path.exists(str(tmp_path / 'warm-selinux.lock'))


def test_lsm_list_must_name_one(capsys):
    with pytest.raises(SystemExit):
        cli.main(['up', '--lsm', ','])
    assert 'name at least one of selinux, apparmor' in capsys.readouterr().err


def test_a_qemu_that_ends_before_its_pidfile_is_a_lab_error(monkeypatch, tmp_path):
    """A saved state qemu cannot load ended it before it wrote a pidfile: lab up must see an error it can act
    on (boot instead), not a FileNotFoundError."""
    _qemu(monkeypatch, tmp_path)
    img = tmp_path / 'img'
    img.mkdir()
    (img / 'hostkey.pub').write_text('ssh-ed25519 AAAA root@x\n')
    monkeypatch.setattr(vm.util, 'run', lambda argv, **kw: None)
    machine = vm.VM(str(img), str(tmp_path / 'd.qcow2'), 'selinux', 'h', rundir=str(tmp_path / 'run'), port=5)
    with pytest.raises(vm.util.LabError, match='h: qemu exited at start'):
        machine.start(incoming='/saved/state')
    assert machine.resumed is False
