"""_logsources.plan: what lsm_denials_info reads, from the task's choices and the host's answers (no host needed)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _logsources as ls

LOG = '/var/log/audit/audit.log'


def host(files=(), tools=('journalctl', 'dmesg'), odd=(), unreadable=()):
    """which, exists, regular and readable answering as a host with these files and tools would."""
    def regular(path):
        if path in odd:
            raise OSError('%s is a FIFO (named pipe), not a regular file' % path)
        return object() if path in files else None
    return dict(which=lambda name: '/usr/bin/%s' % name if name in tools else None,
                exists=lambda path: path in files or path in odd, regular=regular,
                readable=lambda path: path not in unreadable)


@pytest.mark.parametrize('files, tools, expected', [
    ([LOG], ('journalctl',), [(LOG, ls.FILE, LOG)]),
    ([], ('journalctl', 'dmesg'), [('/usr/bin/journalctl -k -o cat -q --no-pager --since @1700000000', ls.COMMAND,
                                    ['/usr/bin/journalctl', '-k', '-o', 'cat', '-q', '--no-pager', '--since',
                                     '@1700000000'])]),
    ([], ('dmesg',), [('/usr/bin/dmesg', ls.COMMAND, ['/usr/bin/dmesg'])]),
])
def test_auto_picks_the_audit_log_then_the_journal_then_the_ring_buffer(files, tools, expected):
    assert ls.plan(['auto'], LOG, False, 1700000000.5, **host(files, tools)) == expected


def test_each_source_once_rotations_oldest_first_and_since_zero_reads_the_whole_journal(monkeypatch):
    monkeypatch.setattr(ls, 'rotated_files', lambda path: [path + '.2.gz', path + '.1'])
    files = [LOG, LOG + '.1', LOG + '.2.gz']
    got = ls.plan(['audit', 'auto', 'journal', 'journal'], LOG, True, 0, **host(files))
    assert [label for label, dummy, dummy2 in got] == [
        LOG + '.2.gz', LOG + '.1', LOG, '/usr/bin/journalctl -k -o cat -q --no-pager']


@pytest.mark.parametrize('wanted, answers, words', [
    (['audit'], host(), 'audit_log %s does not exist (is auditd installed?)' % LOG),
    (['audit'], host(odd=[LOG]), 'cannot read the audit log: %s is a FIFO' % LOG),
    (['audit'], host(files=[LOG], unreadable=[LOG]), 'needs root (become: true)'),
    (['journal'], host(tools=()), 'source journal needs journalctl, which is not installed'),
    (['kernel'], host(tools=('journalctl',)), 'source kernel needs dmesg'),
])
def test_a_source_that_cannot_be_read_is_named_and_nothing_is_read(wanted, answers, words):
    with pytest.raises(ls.SourceError) as exc:
        ls.plan(wanted, LOG, False, 0, **answers)
    assert words in str(exc.value)


def test_auto_without_an_audit_log_is_no_error_and_rotations_are_found(tmp_path):
    log = tmp_path / 'audit.log'
    for name in ('audit.log', 'audit.log.1', 'audit.log.3.gz', 'audit.log.x', 'audit.log.2.bak'):
        (tmp_path / name).write_text('')
    assert ls.rotated_files(str(log)) == [str(log) + '.3.gz', str(log) + '.1']
    assert ls.plan(['auto'], str(tmp_path / 'none.log'), True, 0, **host(tools=('dmesg',))) == [
        ('/usr/bin/dmesg', ls.COMMAND, ['/usr/bin/dmesg'])]
