"""The host's libselinux as an oracle: a reader process in a private mount namespace (libselinux_reader.py).

Needs root, unshare(1) and libselinux.so.1 (every Debian host has it). Where one is missing the tests FAIL, saying
which: they run in tests/run-all.sh's lint tier, as root on Debian, and a skip there would hide a lost check.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from lab import util as _lab_util  # noqa: E402  pylint: disable=wrong-import-position

_lab_util.import_checkout()

READER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'libselinux_reader.py')
MODES = {1: 'enforcing', 0: 'permissive', -1: 'disabled'}


def _missing():
    """Why the oracle cannot run here, or None."""
    if os.geteuid() != 0:
        return 'the libselinux oracle needs root (it mounts a tmpfs on /etc/selinux in a private mount namespace)'
    if not shutil.which('unshare'):
        return 'the libselinux oracle needs unshare(1) (util-linux)'
    ldconfig = shutil.which('ldconfig') or '/sbin/ldconfig'
    try:
        listed = subprocess.run([ldconfig, '-p'], stdout=subprocess.PIPE, universal_newlines=True,
                                check=False).stdout
    except OSError as exc:
        return 'cannot list the shared libraries with ldconfig -p: %s' % exc
    if 'libselinux.so.1 ' not in listed:
        return 'the libselinux oracle needs libselinux.so.1 (Debian: apt-get install libselinux1)'
    return None


def libselinux_version():
    """The installed libselinux package's version (dpkg or rpm), for the log; None when neither knows it."""
    for argv in (['dpkg-query', '-W', '-f', '${Version}', 'libselinux1'],
                 ['rpm', '-q', '--qf', '%{VERSION}', 'libselinux']):
        if shutil.which(argv[0]):
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True,
                                  check=False)
            if proc.returncode == 0 and proc.stdout.strip():
                return proc.stdout.strip()
    return None


class Oracle:
    """read(text) -> (mode or None, policy): what selinux_getenforcemode and selinux_getpolicytype return for text
    as /etc/selinux/config. mode None: selinux_getenforcemode failed (libselinux found no mode)."""

    def __init__(self):
        self.calls = 0
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with  # closed by close()
            ['unshare', '--mount', '--propagation', 'private', sys.executable, READER,
             os.readlink('/proc/self/ns/mnt')],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
        first = json.loads(self.proc.stdout.readline() or '{"error": "the reader ended before it was ready"}')
        if not first.get('ready'):
            self.close()
            pytest.fail('the libselinux oracle did not start: %s' % first.get('error'), pytrace=False)

    def read(self, text):
        raw = text.encode('utf-8', 'surrogateescape') if isinstance(text, str) else text
        self.proc.stdin.write(json.dumps({'text': raw.hex()}) + '\n')
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline() or '{"error": "the reader ended"}')
        if 'error' in answer:
            raise AssertionError('libselinux oracle: %s' % answer['error'])
        self.calls += 1
        assert answer['policy_rc'] == 0, answer  # selinux_getpolicytype falls back to targeted: it never fails here
        policy = bytes.fromhex(answer['policy']).decode('utf-8', 'surrogateescape')
        return (MODES[answer['mode']] if answer['rc'] == 0 else None), policy

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


@pytest.fixture(scope='session')
def oracle():
    why = _missing()
    if why:
        pytest.fail(why, pytrace=False)
    made = not os.path.isdir('/etc/selinux')
    if made:  # the tmpfs needs a mount point; it is removed again at the end
        os.mkdir('/etc/selinux', 0o755)
    reader = Oracle()
    try:
        # the reader is live: two texts in a row give their own values (nothing cached between them)
        assert reader.read('SELINUX=enforcing\nSELINUXTYPE=oracle_a\n') == ('enforcing', 'oracle_a')
        assert reader.read('SELINUX=permissive\nSELINUXTYPE=oracle_b\n') == ('permissive', 'oracle_b')
        assert reader.read('') == (None, 'targeted')
        yield reader
    finally:
        reader.close()
        if made:
            os.rmdir('/etc/selinux')
