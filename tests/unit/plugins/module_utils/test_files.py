"""_files: reads that refuse what is not a regular file, and the write that never follows a link."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _files


def test_read_text_refuses_fifos_devices_and_directories_unopened(tmp_path):
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    dev = str(tmp_path / 'dev')
    os.mknod(dev, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    for path, kind in ((fifo, 'a FIFO'), (dev, 'a character device'), (str(tmp_path), 'a directory')):
        with pytest.raises(_files.NotRegularFile) as exc:
            _files.read_text(path)  # a blocking open of the FIFO would hang here
        assert isinstance(exc.value, OSError) and str(exc.value) == '%s is %s, not a regular file' % (path, kind)
    assert _files.read_text(str(tmp_path / 'absent')) is None


def test_read_text_follows_a_link_unless_told_not_to(tmp_path):
    (tmp_path / 'target').write_bytes(b'text \xff\n')
    os.symlink(str(tmp_path / 'target'), str(tmp_path / 'link'))
    assert _files.read_text(str(tmp_path / 'link')) == 'text \udcff\n'
    with pytest.raises(_files.NotRegularFile, match='is a symlink'):
        _files.read_text(str(tmp_path / 'link'), follow=False)
    os.symlink(str(tmp_path / 'fifo'), str(tmp_path / 'to-fifo'))
    os.mkfifo(str(tmp_path / 'fifo'))
    with pytest.raises(_files.NotRegularFile, match='is a FIFO'):
        _files.read_text(str(tmp_path / 'to-fifo'))


def test_write_nofollow_keeps_mode_and_owner_and_leaves_no_temp(tmp_path):
    path = str(tmp_path / 'f')
    assert _files.write_nofollow(None, path, 'one\n') == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    os.chmod(path, 0o600)
    os.chown(path, 1234, 4321)
    _files.write_nofollow(None, path, 'two \udcff\n')
    st = os.stat(path)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o600, 1234, 4321)
    assert open(path, 'rb').read() == b'two \xff\n'  # surrogateescape round trip
    assert os.listdir(str(tmp_path)) == ['f']


@pytest.mark.parametrize('kind', ['symlink', 'fifo', 'directory'])
def test_write_nofollow_refuses_what_is_not_a_regular_file(tmp_path, kind):
    target = tmp_path / 'target'
    target.write_text('keep\n')
    path = str(tmp_path / 'f')
    {'symlink': lambda: os.symlink(str(target), path), 'fifo': lambda: os.mkfifo(path),
     'directory': lambda: os.mkdir(path)}[kind]()
    with pytest.raises(_files.NotRegularFile):
        _files.write_nofollow(None, path, 'new\n')
    assert target.read_text() == 'keep\n' and sorted(os.listdir(str(tmp_path))) == ['f', 'target']


def test_write_nofollow_refuses_a_directory_that_is_a_link(tmp_path):
    (tmp_path / 'real').mkdir()
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'link'))
    with pytest.raises(OSError):
        _files.write_nofollow(None, str(tmp_path / 'link' / 'f'), 'x')
    assert os.listdir(str(tmp_path / 'real')) == []


def test_a_link_swapped_in_after_the_check_is_replaced_not_written_through(tmp_path, monkeypatch):
    target = tmp_path / 'target'
    target.write_text('keep\n')
    path = str(tmp_path / 'f')
    real = _files.open_regular

    def racing(name, follow=True, dir_fd=None):
        fd = real(name, follow=follow, dir_fd=dir_fd)  # the check: nothing there yet
        os.symlink(str(target), path)  # ... and now an attacker's link
        return fd
    monkeypatch.setattr(_files, 'open_regular', racing)
    _files.write_nofollow(None, path, 'new\n')
    assert target.read_text() == 'keep\n'
    assert not os.path.islink(path) and open(path).read() == 'new\n'


def test_write_nofollow_removes_its_temp_file_whatever_fails(tmp_path, monkeypatch):
    path = tmp_path / 'f'
    path.write_text('old\n')

    def boom(*args, **kwargs):
        raise KeyError('not an OSError')
    monkeypatch.setattr(os, 'rename', boom)
    with pytest.raises(KeyError):
        _files.write_nofollow(None, str(path), 'new\n')
    assert path.read_text() == 'old\n' and os.listdir(str(tmp_path)) == ['f']


def test_write_atomic_refuses_a_fifo_instead_of_replacing_it(tmp_path):
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    with pytest.raises(_files.NotRegularFile):
        _files.write_atomic(None, fifo, 'x')
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.listdir(str(tmp_path)) == ['fifo']


def test_remove_nofollow_removes_only_regular_files(tmp_path):
    (tmp_path / 'f').write_text('x')
    os.symlink(str(tmp_path / 'f'), str(tmp_path / 'l'))
    assert _files.remove_nofollow(str(tmp_path / 'f')) and not _files.remove_nofollow(str(tmp_path / 'f'))
    with pytest.raises(_files.NotRegularFile):
        _files.remove_nofollow(str(tmp_path / 'l'))
    assert os.path.islink(str(tmp_path / 'l'))


def test_write_nofollow_gives_the_new_file_the_old_label(tmp_path, monkeypatch):
    path = tmp_path / 'f'
    path.write_text('old\n')
    old_ino = os.stat(str(path)).st_ino
    labels, set_calls = {old_ino: b'system_u:object_r:etc_t:s0\x00'}, []
    monkeypatch.setattr(_files, '_label_of', lambda fd: labels.get(os.fstat(fd).st_ino))
    monkeypatch.setattr(os, 'setxattr', lambda fd, name, value: set_calls.append((os.fstat(fd).st_ino, name, value)))
    _files.write_nofollow(None, str(path), 'new\n')
    assert len(set_calls) == 1 and set_calls[0][0] == os.stat(str(path)).st_ino != old_ino
    assert set_calls[0][1:] == ('security.selinux', b'system_u:object_r:etc_t:s0\x00')


def _die_at(point, env):
    """fork; the child calls fault_point(point) with env set and exits 0 if it survives. Returns the wait status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        try:
            os.environ.update(env)
            _files.fault_point(point)
        finally:
            os._exit(0)
    return os.waitpid(pid, 0)[1]


def test_fault_point_kills_only_at_its_point_and_marks_it_first(tmp_path, monkeypatch):
    mark = str(tmp_path / 'mark')
    status = _die_at('write:before-rename', {_files.FAULT_ENV: 'write:before-rename', _files.FAULT_MARK_ENV: mark})
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9
    with open(mark) as f:
        assert f.read() == 'write:before-rename'
    # another point: no kill, no mark
    os.unlink(mark)
    status = _die_at('write:after-rename', {_files.FAULT_ENV: 'write:before-rename', _files.FAULT_MARK_ENV: mark})
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and not os.path.exists(mark)
    # without the variable (every real run): nothing
    monkeypatch.delenv(_files.FAULT_ENV, raising=False)
    _files.fault_point('write:before-rename')
