"""The helper both AppArmor modules share: control characters named, all-or-nothing file sets, writes that never
go through a link, reads that never block on a FIFO."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa
from ansible_collections.confine.lsm.plugins.module_utils import _apparmor_task as aa_task


class Module(object):
    """What write_nofollow needs of AnsibleModule: atomic_move (a plain rename here)."""

    @staticmethod
    def atomic_move(src, dest, unsafe_writes=False):
        os.rename(src, dest)


def test_control_characters_are_named_with_the_option_and_the_value():
    params = {'profiles': ['ok', 'a\nb'], 'profile_dir': '/etc/apparmor.d', 'rules': ['x\x00'], 'mode': None}
    assert aa_task.bad_strings(params, ('profiles', 'profile_dir', 'rules', 'mode')) == [
        "profiles 'a\\nb' holds the control character '\\n' at position 1",
        "rules 'x\\x00' holds the control character '\\x00' at position 1"]
    assert aa_task.control_character('tab\there') == (3, '\t') and aa_task.control_character('\x7f') == (0, '\x7f')
    assert aa_task.control_character('/usr/bin/ünïcode r,') is None


def test_a_file_set_puts_every_file_back_and_removes_the_dirs_it_made(tmp_path):
    (tmp_path / 'a').write_bytes(b'old a\r\n')
    files = aa_task.FileSet(Module(), str(tmp_path))
    files.write(str(tmp_path / 'a'), 'new a')
    files.write(str(tmp_path / 'a'), 'newer a')  # remembered once: the first old text is what comes back
    files.write(str(tmp_path / 'sub' / 'b'), 'new b')
    assert (tmp_path / 'sub' / 'b').read_text() == 'new b'
    assert files.rollback() == []
    assert (tmp_path / 'a').read_bytes() == b'old a\r\n' and sorted(os.listdir(str(tmp_path))) == ['a']


def test_a_write_never_goes_through_a_link_or_into_a_fifo_or_outside_its_root(tmp_path):
    root = tmp_path / 'root'
    root.mkdir()
    (tmp_path / 'target').write_text('keep')
    os.symlink(str(tmp_path / 'target'), str(root / 'link'))
    os.mkfifo(str(root / 'fifo'))
    os.symlink(str(tmp_path), str(root / 'up'))
    for name, why in (('link', 'is a symlink'), ('fifo', 'not a regular file'), ('up/x', 'outside')):
        with pytest.raises(aa.ProfileError, match=why):
            aa_task.write_nofollow(Module(), str(root / name), 'evil', str(root))
    assert (tmp_path / 'target').read_text() == 'keep' and not (tmp_path / 'x').exists()
    assert sorted(os.listdir(str(root))) == ['fifo', 'link', 'up']  # no temp file left


def test_reads_refuse_links_and_special_files_without_blocking(tmp_path):
    os.mkfifo(str(tmp_path / 'fifo'))
    os.symlink('/etc/hostname', str(tmp_path / 'link'))
    assert aa_task.read_regular_or_none(str(tmp_path / 'absent')) is None
    with pytest.raises(aa.ProfileError, match='not a regular file'):
        aa_task.read_regular_or_none(str(tmp_path / 'fifo'))
    with pytest.raises(aa.ProfileError, match='symlink'):
        aa_task.read_regular_or_none(str(tmp_path / 'link'))
    with pytest.raises(aa.ProfileError, match='not a regular file'):
        aa.read_regular(str(tmp_path / 'fifo'))  # opened without blocking, then refused
    with pytest.raises(aa.ProfileError, match='not a regular file'):
        aa.read_regular('/dev/null')


def test_a_fifo_in_the_profile_dir_is_skipped_not_opened(tmp_path):
    os.mkfifo(str(tmp_path / 'fifo'))
    (tmp_path / 'p').write_text('profile p {\n}\n')
    assert list(aa.profile_files(str(tmp_path))) == [str(tmp_path / 'p')]
