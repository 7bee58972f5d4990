"""Hostile cases for the reporting side: denials and fleet reports under hostile logs, links, FIFOs, devices, odd
numbers and huge lines. Everything runs in the reliability container through ansible-playbook (see conftest.py);
the report files are read back byte for byte and judged on the controller by strict readers (expat, a CommonMark
renderer with tables and raw HTML on, an HTML parser, json).
"""
import binascii
import gzip
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, record

sys.path.insert(0, os.path.join(ROOT, 'tests', 'unit', 'plugins', 'modules'))
import hostile  # noqa: E402  pylint: disable=wrong-import-position

DIR = '/root/confine-hostile'
TIMEOUT = 180
EVIL_HOST = 'web<1>\n| forged | PASS |'
MD_TAGS = {'h1', 'p', 'table', 'thead', 'tbody', 'tr', 'th', 'td'}
HTML_TAGS = MD_TAGS | {'html', 'head', 'meta', 'title', 'style', 'body', 'span', 'br'}


def put(host, path, data):
    """Write bytes (not necessarily UTF-8) to path in the container."""
    proc = subprocess.run(['docker', 'exec', '-i', host.name, 'python3', '-c',
                           'import sys; open(sys.argv[1], "wb").write(bytes.fromhex(sys.stdin.read()))', path],
                          input=binascii.hexlify(data), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    assert proc.returncode == 0, proc.stdout


def fetch(host, path):
    """The file's bytes."""
    return subprocess.run(['docker', 'exec', host.name, 'cat', path], stdout=subprocess.PIPE, check=True).stdout


def play(host, tasks, diff=False, variables=None):
    """Run a play of several tasks (registered results flow as in a real playbook); the result of each task."""
    try:
        # a module that blocks (on a FIFO, say) fails the case instead of hanging the run
        return host.play({'hosts': 'all', 'gather_facts': False, 'diff': diff, 'vars': variables or {},
                          'tasks': tasks}, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError('ansible-playbook did not finish in %d s: the module blocked' % TIMEOUT)


def kind(host, path):
    return host.exec('stat', '-c', '%F', path).strip()


@pytest.fixture(scope='module')
def reports(host):
    """The hostile audit log read by lsm_denials_info and fed to fleet_report, as a playbook would."""
    host.exec('rm', '-rf', DIR)
    host.exec('mkdir', '-p', DIR)
    put(host, DIR + '/audit.log', hostile.audit_log_bytes())
    denials, report = play(host, [
        {'name': 'denials', 'confine.lsm.lsm_denials_info': {
            'audit_log': DIR + '/audit.log', 'sources': ['audit'], 'since': 'all', 'max_records': 1000},
         'register': 'found'},
        {'name': 'report', 'confine.lsm.fleet_report': {
            'dest': DIR + '/report', 'title': 'hostile <b>', 'generated': 'now',
            'results': "{{ [{'host': evil_host, 'lsm': 'apparmor', 'denials': found.denials | map(attribute='text')"
                       " | list, 'findings': found.records | map(attribute='comm') | list},"
                       " {'host': 'web2', 'lsm': 'selinux', 'findings': []}] }}"}},
    ], variables={'evil_host': EVIL_HOST})
    assert not denials.get('failed') and not report.get('failed'), (denials, report)
    files = dict((name, fetch(host, '%s/report/%s' % (DIR, name)))
                 for name in ('report.xml', 'report.md', 'report.html', 'report.json'))
    return denials, files


def test_junit_from_a_hostile_log_parses_strictly(reports):
    denials, files = reports
    text = files['report.xml'].decode('utf-8')
    assert hostile.xml_legal(text)
    root = ET.fromstring(files['report.xml'])
    cases = root.findall('./testsuite/testcase')
    failing = [c for c in cases if c.find('failure') is not None]
    assert len(cases) == 2 and len(failing) == 1 and failing[0].get('name').startswith('web<1>\\x0a| forged')
    body = failing[0].find('failure').text
    assert '\\x00' in body and '\\x1b' in body and '\\u202e' in body and '<script>' in body and ']]>' in body
    record('reports', 'hostile audit log (%d AVC and AppArmor lines whose hex comm/path decode to newline, NUL, '
           'ESC, bidi overrides, script and img tags, a CDATA end, pipes, backticks, Markdown links and images, '
           'invalid UTF-8, 10 000 characters) -> lsm_denials_info -> fleet_report: JUnit XML'
           % len(hostile.audit_lines()),
           'expat parses it; only XML 1.0 characters; %d test cases; each control character written as an escape '
           '(\\x00, \\x1b, \\u202e), markup kept as text' % len(cases))


def test_markdown_from_a_hostile_log_has_no_forged_row_nor_raw_html(reports):
    dummy, files = reports
    md = files['report.md'].decode('utf-8')
    page = hostile.parse_html(hostile.render_markdown(md))
    assert set(page.tags) <= MD_TAGS, set(page.tags) - MD_TAGS
    rows = page.body_rows()
    assert len(rows) == 2 and all(len(cells) == 15 for cells in rows), rows
    assert rows[1][0] == 'web<1>\\x0a| forged | PASS |'
    record('reports', 'the same chain: Markdown table',
           'rendered with tables and raw HTML on: 2 rows of 15 cells, as many as hosts; tags only %s (no script, '
           'img, a, code); the forged row shows as text in the host cell' % ', '.join(sorted(set(page.tags))))


def test_html_and_json_from_a_hostile_log(reports):
    denials, files = reports
    page = hostile.parse_html(files['report.html'].decode('utf-8'))
    assert set(page.tags) <= HTML_TAGS, set(page.tags) - HTML_TAGS
    assert len(page.body_rows()) == 2
    data = json.loads(files['report.json'].decode('utf-8'))
    hosts = dict((h['host'], h) for h in data['hosts'])
    assert hosts[EVIL_HOST]['findings'] == [r['comm'] for r in denials['records']]
    assert any('\x00' in f for f in hosts[EVIL_HOST]['findings'])
    record('reports', 'the same chain: HTML page and JSON',
           'HTML: only the page\'s own tags, 2 rows; JSON: json.loads gives back every decoded comm as it was '
           '(NUL and newline included, invalid UTF-8 as U+FFFD)')


def test_report_file_that_is_a_symlink(host):
    host.exec('sh', '-c', 'rm -rf %s/r1 && mkdir -p %s/r1 && printf "secret: target of a link\\n" > %s/target && '
              'ln -s %s/target %s/r1/report.md' % ((DIR,) * 5))
    before = host.exec('sh', '-c', 'ls -la %s/r1; sha256sum %s/target' % (DIR, DIR))
    res, = play(host, [{'name': 'r', 'confine.lsm.fleet_report': {
        'dest': DIR + '/r1', 'results': [{'host': 'h', 'findings': []}]}}], diff=True)
    assert res.get('failed') and 'report.md is a symlink' in res['msg'], res
    assert 'secret' not in json.dumps(res)
    assert host.exec('sh', '-c', 'ls -la %s/r1; sha256sum %s/target' % (DIR, DIR)) == before
    record('reports', 'a report file that is a symlink to another file (diff mode on)',
           'refused before any file is written: "%s"; the target is untouched and its text is nowhere in the '
           'result (no diff of it)' % res['msg'][:160])


def test_report_dir_that_is_a_symlink(host):
    host.exec('sh', '-c', 'rm -rf %s/r2 %s/r2-real && mkdir -p %s/r2-real && ln -s %s/r2-real %s/r2' % ((DIR,) * 5))
    res, = play(host, [{'name': 'r', 'confine.lsm.fleet_report': {
        'dest': DIR + '/r2', 'results': [{'host': 'h', 'findings': []}]}}])
    assert res.get('failed') and 'is a symlink, not a directory' in res['msg'], res
    assert host.exec('ls', '-A', DIR + '/r2-real') == ''
    record('reports', 'a report directory (dest) that is a symlink',
           'refused: "%s"; nothing written through it' % res['msg'][:160])


def test_report_file_that_is_a_fifo(host):
    host.exec('sh', '-c', 'rm -rf %s/r3 && mkdir -p %s/r3 && mkfifo %s/r3/report.xml' % ((DIR,) * 3))
    res, = play(host, [{'name': 'r', 'confine.lsm.fleet_report': {
        'dest': DIR + '/r3', 'results': [{'host': 'h', 'findings': []}]}}])
    assert res.get('failed') and 'report.xml is a FIFO' in res['msg'], res
    assert kind(host, DIR + '/r3/report.xml') == 'fifo' and host.exec('ls', '-A', DIR + '/r3').split() == ['report.xml']
    record('reports', 'a report file that is a FIFO (no reader on the other end)',
           'refused at once, no hang: "%s"; still a FIFO, no other file written' % res['msg'][:160])


@pytest.mark.parametrize('make, named, case', [
    ('mkfifo %s', 'a FIFO', 'a FIFO (no writer on the other end)'),
    ('mknod %s c 1 3', 'a character device', 'a character device'),
])
def test_audit_log_that_is_not_a_regular_file(host, make, named, case):
    path = DIR + '/odd.log'
    host.exec('sh', '-c', 'rm -f %s && %s' % (path, make % path))
    for sources in (['audit'], ['auto']):
        res, = play(host, [{'name': 'd', 'confine.lsm.lsm_denials_info': {'audit_log': path, 'sources': sources}}])
        assert res.get('failed') and '%s is %s, not a regular file' % (path, named) in res['msg'], res
    assert kind(host, path) == {'a FIFO': 'fifo', 'a character device': 'character special file'}[named]
    record('denials', 'audit_log that is %s, with sources audit and auto' % case,
           'refused without opening it, no hang: "%s"' % res['msg'][:160])


def test_damaged_rotated_gz(host):
    host.exec('sh', '-c', 'rm -rf %s/rot && mkdir -p %s/rot' % (DIR, DIR))
    lines = hostile.audit_lines(serial=7000)
    put(host, DIR + '/rot/audit.log', (lines[0] + '\n').encode())
    rotated = ''.join(lines[1].replace(':7001)', ':%d)' % (8000 + i)) + '\n' for i in range(3000)).encode()
    whole = gzip.compress(rotated)
    put(host, DIR + '/rot/audit.log.1.gz', whole[:4000])
    put(host, DIR + '/rot/audit.log.2.gz', b'not gzip\n')
    res, = play(host, [{'name': 'd', 'confine.lsm.lsm_denials_info': {
        'audit_log': DIR + '/rot/audit.log', 'sources': ['audit'], 'since': 'all', 'rotated': True}}])
    assert not res.get('failed'), res
    named = sorted(e['source'] for e in res['read_errors'])
    assert named == [DIR + '/rot/audit.log.1.gz', DIR + '/rot/audit.log.2.gz'], res['read_errors']
    assert all(any(n in w for w in res.get('warnings', [])) for n in named), res.get('warnings')
    assert res['summary']['total'] >= 2 and res['sources'][-1] == DIR + '/rot/audit.log'
    record('denials', 'rotated logs: a truncated audit.log.1.gz (first 4000 bytes of 3000 lines) and an '
           'audit.log.2.gz that is not gzip',
           'no traceback: each named in a warning and read_errors (%s); the lines before the damage and the '
           'current log counted (%d events)' % ('; '.join('%s: %s' % (os.path.basename(e['source']), e['error'])
                                                          for e in res['read_errors']), res['summary']['total']))


def test_odd_numbers(host):
    put(host, DIR + '/num.log', ('\n'.join([
        hostile.audit_lines()[1].replace('1764300001.000', '9' * 40),
        hostile.audit_lines()[1].replace('1764300001.000:501', '1.0:' + '7' * 5000),
    ]) + '\n').encode())
    seen = []
    for since in ('nan', 'inf', '-inf', '@1e300', '99999999999999999999'):
        res, = play(host, [{'name': 'd', 'confine.lsm.lsm_denials_info': {'audit_log': DIR + '/num.log',
                                                                          'since': since}}])
        assert res.get('failed') and repr(since) in res['msg'], res
        seen.append(since)
    res, = play(host, [{'name': 'd', 'confine.lsm.lsm_denials_info': {'audit_log': DIR + '/num.log',
                                                                      'max_records': 10 ** 30}}])
    assert res.get('failed') and 'max_records=%d' % 10 ** 30 in res['msg'], res
    ok, = play(host, [{'name': 'd', 'confine.lsm.lsm_denials_info': {'audit_log': DIR + '/num.log', 'since': 'all'}}])
    assert not ok.get('failed') and ok['summary']['total'] == 2, ok
    assert sorted(str(r['time']) for r in ok['records']) == ['1970-01-01T00:00:01.000Z', 'None'], ok['records']
    record('denials', 'odd numbers: since %s; max_records 10**30; audit stamps of 40 digits and a 5000-digit '
           'serial' % ', '.join(seen),
           'each since and max_records refused by name ("%s"); the odd stamps read without a traceback (time '
           'null past the year 9999, the serial ignored)' % res['msg'].split(' (')[0])


def test_a_24_mb_log_line(host):
    line = hostile.audit_lines()[1]
    head, tail = line.split(' name=', 1)
    tail = tail.split(' ', 1)[1]
    host.exec('python3', '-c', 'import sys; f = open(sys.argv[1], "w"); f.write(sys.argv[2] + "\\n"); '
              'f.write(sys.argv[3] + " name=" + "41" * (12 * 1024 * 1024) + " " + sys.argv[4] + "\\n"); '
              'f.write(sys.argv[2].replace(":501)", ":502)") + "\\n")', DIR + '/big.log', line, head, tail)
    size = int(host.exec('stat', '-c', '%s', DIR + '/big.log'))
    res, = play(host, [{'name': 'd', 'confine.lsm.lsm_denials_info': {'audit_log': DIR + '/big.log', 'since': 'all',
                                                                      'max_records': 0}}])
    assert not res.get('failed'), res
    result_size = len(json.dumps(res))
    assert size > 24 * 1024 * 1024 and result_size < 64 * 1024, result_size
    assert res['summary']['lines_too_long'] == 1 and res['summary']['total'] == 2
    assert any('longer than 65536 bytes' in x for x in res['limits_applied'])
    record('denials', 'a %d MB log whose middle line is one 24 MB record (max_records: 0)' % (size // 10 ** 6),
           'result %d KB (issue 17 measured 72 MB before): the line skipped unread past 64 KiB, said in limits_applied; the two '
           'real records counted' % (result_size // 1000))
