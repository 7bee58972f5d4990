"""_selinux_input: values refused with a control character (named with repr), and input files read only when they are
regular files, without a blocking open."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import stat
import threading

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp

HOSTILE = ['a\nb', 'a\x00b', 'a\rb', 'a\tb', 'a\x1bb', 'a\x7fb', 'a\x85b', 'a\u2028b', 'a\u2029b', 'trailing\n']


@pytest.mark.parametrize('value', HOSTILE)
def test_control_characters_are_refused_with_the_value_named(value):
    for check in (lambda v: inp.check_text('thing', v), lambda v: inp.check_ident('thing', v), inp.check_store,
                  lambda v: inp.check_path('thing', v)):
        with pytest.raises(inp.InputError) as err:
            check(value)
        assert repr(value) in str(err.value) and 'nothing was changed' in str(err.value)


@pytest.mark.parametrize('value', ['httpd_can_network_connect', 'a.b-c_d', 'x1', '1x'])
def test_identifiers_pass(value):
    assert inp.check_ident('name', value) == value


@pytest.mark.parametrize('value', ['', 'a b', 'a=b', 'a,b', '-x', 'a/b', 'é'])
def test_not_identifiers(value):
    with pytest.raises(inp.InputError, match='not an SELinux name'):
        inp.check_ident('name', value)


@pytest.mark.parametrize('value', ['', '.', '..', 'a/b', 'a b', '"x"', 'a\\b'])
def test_not_store_names(value):
    with pytest.raises(inp.InputError, match='not a policy store name'):
        inp.check_store(value)


def test_none_and_plain_values_pass():
    assert inp.check_store(None) is None and inp.check_path('p', None) is None
    assert inp.check_store('targeted') == 'targeted' and inp.check_path('p', '/etc/selinux/config')
    with pytest.raises(inp.InputError, match='not a string'):
        inp.check_text('thing', 3)


def test_read_regular_reads_bytes_as_they_are(tmp_path):
    path = tmp_path / 'f'
    path.write_bytes(b'SELINUX=enforcing\r\n\xff\x00\n')
    assert inp.read_regular(str(path)).encode('utf-8', 'surrogateescape') == b'SELINUX=enforcing\r\n\xff\x00\n'
    assert inp.read_regular(str(tmp_path / 'missing')) is None
    link = tmp_path / 'link'
    link.symlink_to(path)
    assert inp.read_regular(str(link)) == inp.read_regular(str(path))  # a link the task named is followed


def _fifo(path):
    os.mkfifo(str(path))


def _socket(path):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()


def _device(path):
    os.mknod(str(path), 0o600 | stat.S_IFCHR, os.makedev(1, 3))


@pytest.mark.parametrize('make, kind', [(_fifo, 'FIFO'), (_socket, 'socket'), (_device, 'character device'),
                                        (os.mkdir, 'directory')])
def test_read_regular_refuses_what_is_not_a_regular_file_without_blocking(tmp_path, make, kind):
    path = tmp_path / 'special'
    make(path)
    link = tmp_path / 'link'
    link.symlink_to(path)
    for target in (path, link):
        outcome = {}

        def read(target=target):
            try:
                inp.read_regular(str(target), 'configfile')
            except inp.InputError as exc:
                outcome['error'] = str(exc)
        worker = threading.Thread(target=read)
        worker.daemon = True
        worker.start()
        worker.join(10)
        if worker.is_alive():
            with open(str(path), 'w') as f:
                f.write('')
            pytest.fail('read_regular blocked on a %s' % kind)
        assert kind in outcome['error'] and str(target) in outcome['error']


def test_read_regular_refuses_a_fifo_swapped_in_after_the_check(tmp_path, monkeypatch):
    fifo = tmp_path / 'fifo'
    os.mkfifo(str(fifo))
    regular = os.stat(__file__)
    monkeypatch.setattr(inp.os, 'stat', lambda path: regular)  # the check saw a regular file; the open gets a FIFO
    with pytest.raises(inp.InputError, match='became a FIFO'):
        inp.read_regular(str(fifo))


def test_read_regular_refuses_a_file_over_the_limit(tmp_path):
    path = tmp_path / 'big'
    path.write_text('x' * 100)
    with pytest.raises(inp.InputError, match='100 bytes'):
        inp.read_regular(str(path), limit=99)
