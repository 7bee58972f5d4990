"""fleet_report run in-process: check mode, diff, idempotence, and the paths it must refuse (links, FIFOs,
devices) without writing through them, showing them, or hanging."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os
import signal
import stat

import pytest

from ansible_collections.confine.lsm.plugins.modules import fleet_report as mod
from ansible_collections.confine.lsm.plugins.module_utils import _files

RESULTS = [{'host': 'web1', 'lsm': 'selinux', 'mode': 'enforcing', 'findings': []},
           {'host': 'web2', 'lsm': 'apparmor', 'findings': ['profile not enforced: nginx']}]
NAMES = ['report.html', 'report.json', 'report.md', 'report.xml']
SECRET = 'secret: the target of a link\n'


@contextlib.contextmanager
def deadline(seconds=10):
    """Fail, rather than hang the test run, when the module blocks (on a FIFO, say)."""
    def expired(signum, frame):
        raise AssertionError('the module blocked for %d s' % seconds)
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def listing(path):
    return dict((n, os.lstat(os.path.join(str(path), n))) for n in sorted(os.listdir(str(path))))


def test_check_mode_writes_nothing_and_diff_shows_every_file(tmp_path, run_module):
    dest = tmp_path / 'r'
    res = run_module(mod.main, dict(results=RESULTS, dest=str(dest)), check=True, diff=True)
    assert not res['failed'] and res['changed'] and not dest.exists()
    assert sorted(d['after_header'] for d in res['diff']) == sorted(str(dest / n) for n in NAMES)
    assert all(d['before'] == '' for d in res['diff'])
    assert res['summary'] == {'hosts': 2, 'passed': 1, 'failed': 1, 'failed_hosts': ['web2']}


def test_writes_then_is_idempotent_then_diffs_a_change(tmp_path, run_module):
    dest = tmp_path / 'r'
    res = run_module(mod.main, dict(results=RESULTS, dest=str(dest), generated='t1'))
    assert res['changed'] and sorted(os.listdir(str(dest))) == NAMES
    assert json.loads((dest / 'report.json').read_text())['summary']['failed'] == 1
    for check in (True, False):
        again = run_module(mod.main, dict(results=RESULTS, dest=str(dest), generated='t1'), check=check, diff=True)
        assert not again['changed'] and 'diff' not in again
    os.chmod(str(dest / 'report.md'), 0o600)
    changed = run_module(mod.main, dict(results=RESULTS, dest=str(dest), generated='t2', formats=['markdown']),
                         diff=True)
    assert changed['changed'] and list(changed['files']) == ['markdown']
    assert 'Generated t1' in changed['diff'][0]['before'] and 'Generated t2' in changed['diff'][0]['after']
    assert stat.S_IMODE(os.stat(str(dest / 'report.md')).st_mode) == 0o600  # mode kept
    assert not [n for n in os.listdir(str(dest)) if n.startswith('.confine-')]


@pytest.mark.parametrize('check', [False, True])
def test_a_report_file_that_is_a_symlink_is_refused_unread(tmp_path, run_module, check):
    dest = tmp_path / 'r'
    dest.mkdir()
    target = tmp_path / 'elsewhere'
    target.write_text(SECRET)
    os.symlink(str(target), str(dest / 'report.md'))
    before = listing(dest)
    res = run_module(mod.main, dict(results=RESULTS, dest=str(dest)), check=check, diff=True)
    assert res['failed'] and str(dest / 'report.md') in res['msg'] and 'symlink' in res['msg'], res
    assert SECRET not in json.dumps(res)  # neither in the diff nor anywhere in the result
    assert target.read_text() == SECRET and listing(dest) == before  # not even report.json was written


def test_a_dest_that_is_a_symlink_or_a_file_is_refused(tmp_path, run_module):
    real = tmp_path / 'real'
    real.mkdir()
    os.symlink(str(real), str(tmp_path / 'link'))
    res = run_module(mod.main, dict(results=RESULTS, dest=str(tmp_path / 'link')))
    assert res['failed'] and 'is a symlink, not a directory' in res['msg'] and os.listdir(str(real)) == []
    (tmp_path / 'file').write_text('x')
    res = run_module(mod.main, dict(results=RESULTS, dest=str(tmp_path / 'file')))
    assert res['failed'] and 'is a regular file, not a directory' in res['msg']
    assert (tmp_path / 'file').read_text() == 'x'


@pytest.mark.parametrize('kind', ['fifo', 'device', 'link to a device', 'directory'])
def test_a_fifo_device_or_directory_as_report_file_is_refused_without_hanging(tmp_path, run_module, kind):
    dest = tmp_path / 'r'
    dest.mkdir()
    path = str(dest / 'report.xml')
    if kind == 'fifo':
        os.mkfifo(path)
    elif kind == 'device':
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # as /dev/null
    elif kind == 'link to a device':
        os.mknod(str(tmp_path / 'null'), stat.S_IFCHR | 0o600, os.makedev(1, 3))
        os.symlink(str(tmp_path / 'null'), path)  # refused as a link: the device is never opened
    else:
        os.mkdir(path)
    before = listing(dest)
    with deadline():
        res = run_module(mod.main, dict(results=RESULTS, dest=str(dest)))
    assert res['failed'] and path in res['msg'], res
    assert {'fifo': 'a FIFO', 'device': 'a character device', 'link to a device': 'a symlink',
            'directory': 'a directory'}[kind] in res['msg']
    assert listing(dest) == before  # the FIFO is still a FIFO; nothing else written


def test_a_failing_write_restores_the_files_written_before(tmp_path, run_module, monkeypatch):
    dest = tmp_path / 'r'
    run_module(mod.main, dict(results=RESULTS, dest=str(dest), generated='old', formats=['json', 'junit']))
    old = dict((n, (dest / n).read_text()) for n in os.listdir(str(dest)))
    real = _files.write_nofollow
    calls = []

    def flaky(module, path, text, mode=0o644):
        calls.append(path)
        if len(calls) == 3:
            raise ValueError('simulated failure while writing %s' % path)  # not an OSError
        return real(module, path, text, mode)
    monkeypatch.setattr(_files, 'write_nofollow', flaky)
    res = run_module(mod.main, dict(results=RESULTS, dest=str(dest), generated='new'))
    assert res['failed'] and 'simulated failure' in res['msg'] and 'restored' in res['msg'], res
    assert dict((n, (dest / n).read_text()) for n in os.listdir(str(dest))) == old  # new files removed again


def test_a_failing_first_write_removes_the_dest_it_created(tmp_path, run_module, monkeypatch):
    def broken(module, path, text, mode=0o644):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(_files, 'write_nofollow', broken)
    res = run_module(mod.main, dict(results=RESULTS, dest=str(tmp_path / 'a' / 'b')))
    assert res['failed'] and 'No space left' in res['msg'] and not (tmp_path / 'a').exists()


def test_every_result_needs_a_host(tmp_path, run_module):
    res = run_module(mod.main, dict(results=[{'host': 'a'}, {'lsm': 'selinux'}], dest=str(tmp_path)))
    assert res['failed'] and '1 do not' in res['msg'] and os.listdir(str(tmp_path)) == []


def test_odd_value_types_are_reported_not_tracebacks(tmp_path, run_module):
    odd = [{'host': 7, 'findings': 'one finding', 'denials': [1, None], 'checks': [
        {'id': 3, 'text': None, 'controls': 'STIG-1'}, 'not a dict'], 'accepted': {'x': 1}, 'checked': 'x'}]
    res = run_module(mod.main, dict(results=odd, dest=str(tmp_path)))
    assert not res['failed'], res
    data = json.loads((tmp_path / 'report.json').read_text())['hosts'][0]
    assert data['host'] == '7' and data['findings'] == ['one finding'] and data['checks'][0]['controls'] == ['STIG-1']
