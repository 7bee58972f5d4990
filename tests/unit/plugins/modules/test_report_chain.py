"""End to end, in-process: a hostile audit log read by lsm_denials_info, its result fed to fleet_report, and every
report file judged by a strict reader (expat for JUnit XML, a CommonMark+tables renderer for Markdown, an HTML
parser, json)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.confine.lsm.plugins.modules import fleet_report
from ansible_collections.confine.lsm.plugins.modules import lsm_denials_info
from ansible_collections.confine.lsm.plugins.module_utils import _denials as dn
from ansible_collections.confine.lsm.plugins.module_utils import _report as rp

import hostile

EVIL_HOST = 'web<1>\n| forged | PASS |'
# what people may see of the host data, and the tags a report may hold
MD_TAGS = {'h1', 'p', 'table', 'thead', 'tbody', 'tr', 'th', 'td'}
HTML_TAGS = MD_TAGS | {'html', 'head', 'meta', 'title', 'style', 'body', 'span', 'br'}


@pytest.fixture
def chain(tmp_path, run_module):
    log = tmp_path / 'audit.log'
    log.write_bytes(hostile.audit_log_bytes())
    denials = run_module(lsm_denials_info.main, dict(audit_log=str(log), sources=['audit'], since='all',
                                                     max_records=1000))
    assert not denials['failed'], denials
    results = [
        {'host': EVIL_HOST, 'lsm': 'apparmor', 'denials': [g['text'] for g in denials['denials']],
         # the decoded fields themselves, raw, as a playbook might template them into findings
         'findings': ['%s read %s' % (r['comm'], r['object']) for r in denials['records']]},
        {'host': 'web2', 'lsm': 'selinux', 'findings': [], 'weakened': [denials['records'][0]['object']]},
    ]
    out = tmp_path / 'report'
    res = run_module(fleet_report.main, dict(results=results, dest=str(out), title='t <b>', generated='now'))
    assert not res['failed'] and res['changed'], res
    return denials, results, out


def test_the_denials_hold_every_payload_decoded(chain):
    denials, dummy, dummy2 = chain
    objects = set(r['object'] for r in denials['records'])
    for name, raw in hostile.PAYLOADS.items():
        decoded = ('/srv/' + raw.decode('utf-8', 'replace'))[:dn.FIELD_MAX]
        assert decoded in objects, name
    # the long payload, SELinux and AppArmor: comm, path and the raw sample line
    assert denials['summary']['fields_truncated'] == 6
    assert any('cut to 4096' in x for x in denials['limits_applied'])
    for group in denials['denials']:
        assert '\n' not in group['text'] and '\x00' not in group['text'] and rp.visible(group['text']) == group['text']
        if group['lsm'] == 'apparmor' and group['object'] and rp.visible(group['object']) != group['object']:
            assert group['suggestion']['kind'] == 'unknown'  # no rule line from a path with a control character


def test_junit_parses_strictly_with_one_case_per_host(chain):
    dummy, results, out = chain
    data = (out / 'report.xml').read_bytes()
    text = data.decode('utf-8')  # valid UTF-8
    assert hostile.xml_legal(text)
    root = ET.fromstring(data)  # expat: well-formed XML 1.0 or an exception
    cases = root.findall('./testsuite/testcase')
    assert len(cases) == 2 and root.get('failures') == '1'
    failing = [c for c in cases if c.find('failure') is not None]
    assert failing[0].get('name') == rp.visible(EVIL_HOST) + ' (apparmor)'
    body = failing[0].find('failure').text
    for finding in results[0]['findings']:
        assert rp.visible(finding) in body
    assert '<script>' in body and ']]>' in body  # shown as text, parsed back as text


def test_markdown_rows_cannot_be_forged_nor_html_injected(chain):
    dummy, results, out = chain
    md = (out / 'report.md').read_text()
    assert '\x00' not in md and '\r' not in md
    page = hostile.parse_html(hostile.render_markdown(md))
    assert set(page.tags) <= MD_TAGS, set(page.tags) - MD_TAGS  # no script, img, a, code, em, del ...
    assert page.attrs <= {'style'}, page.attrs  # markdown-it writes alignment only
    rows = page.body_rows()
    assert len(rows) == 2 and all(len(cells) == len(rp.TABLE) for cells in rows)
    evil = [cells for cells in rows if cells[1] == 'FAIL'][0]
    assert evil[0] == rp.visible(EVIL_HOST)
    # every finding shows as its visible() text, character for character
    assert evil[-2] == '; '.join(rp.visible(f) for f in results[0]['findings'])


def test_html_page_is_escaped(chain):
    dummy, results, out = chain
    page = hostile.parse_html((out / 'report.html').read_text())
    assert set(page.tags) <= HTML_TAGS, set(page.tags) - HTML_TAGS
    assert page.attrs <= {'lang', 'charset', 'name', 'content', 'class', 'id'}, page.attrs
    rows = page.body_rows()
    assert len(rows) == 2 and rows[0][0] == rp.visible(EVIL_HOST)
    assert rows[0][-2] == ''.join(rp.visible(f) for f in results[0]['findings'])  # <br> between them


def test_json_keeps_the_data(chain):
    dummy, results, out = chain
    data = json.loads((out / 'report.json').read_text())
    hosts = dict((h['host'], h) for h in data['hosts'])
    assert hosts[EVIL_HOST]['findings'] == results[0]['findings']
    assert hosts[EVIL_HOST]['denials'] == results[0]['denials']


def test_every_control_character_in_every_format(tmp_path, run_module):
    every = ''.join(chr(c) for c in range(0x20)) + '\x7f\x85\u2028\u2029\ufeff\ufffe\uffff'
    results = [{'host': 'h' + every, 'findings': ['f' + every], 'checks': [
        {'id': 'x' + every, 'text': 'f' + every, 'fix': every, 'controls': [every, 7]}],
        'accepted': [{'id': 1, 'text': every, 'reason': every}], 'checked': ['x' + every]}]
    res = run_module(fleet_report.main, dict(results=results, dest=str(tmp_path), title=every, generated=every))
    assert not res['failed'], res
    xml = (tmp_path / 'report.xml').read_bytes().decode('utf-8')
    assert hostile.xml_legal(xml)
    ET.fromstring(xml.encode('utf-8'))
    md = (tmp_path / 'report.md').read_text()
    assert len(md.splitlines()) == 7  # title, blank, counts, blank, header, rule and the one row
    assert json.loads((tmp_path / 'report.json').read_text())['hosts'][0]['host'] == 'h' + every


def test_lone_surrogates_are_never_written_out():
    # AnsibleModule itself cannot take them as arguments; a row built in Python (a plugin, a test) can hold them
    rows = [rp.normalise({'host': 'h\ud800', 'findings': ['bad \udc80 byte \udfff']})]
    for fmt, (dummy, render) in rp.RENDERERS.items():
        text = render('t\ud800', 'now', rows)
        text.encode('utf-8')  # strict: raises on any surrogate
        if fmt == 'json':
            assert json.loads(text)['hosts'][0]['findings'] == ['bad \ufffd byte \ufffd']
        else:
            assert 'x80' in text  # the byte that was not UTF-8 is shown
    ET.fromstring(rp.to_junit('t', 'now', rows).encode('utf-8'))
