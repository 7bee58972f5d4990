from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import xml.etree.ElementTree as ET

from ansible_collections.confine.lsm.plugins.module_utils import _report as rp

ROWS = [rp.normalise(r) for r in (
    {'host': 'web1', 'lsm': 'selinux', 'mode': 'enforcing', 'config': 'enforcing', 'policy': 'targeted',
     'findings': []},
    {'host': 'web2', 'lsm': 'apparmor', 'mode': 'enabled', 'enforced': 12, 'complain': 1,
     'findings': ['profile not enforced: nginx'], 'drift_found': ['profile not enforced: nginx'],
     'drift_fixed': []},
    {'host': 'odd<&>|name', 'findings': ['a "quoted" <finding>']},
)]


def test_normalise_and_summary():
    assert ROWS[0]['pass'] and not ROWS[1]['pass']
    assert ROWS[2]['lsm'] is None and ROWS[2]['weakened'] == []
    assert rp.summary(ROWS) == {'hosts': 3, 'passed': 1, 'failed': 2, 'failed_hosts': ['web2', 'odd<&>|name']}


def test_json_round_trips():
    data = json.loads(rp.to_json('t', 'now', ROWS))
    assert data['summary']['failed'] == 2 and data['hosts'][1]['enforced'] == 12


def test_junit_is_valid_xml_with_one_case_per_host():
    root = ET.fromstring(rp.to_junit('fleet', 'now', ROWS))
    cases = root.findall('./testsuite/testcase')
    assert root.get('failures') == '2' and len(cases) == 3
    assert cases[0].find('failure') is None
    assert cases[1].find('failure').get('message') == 'profile not enforced: nginx'
    assert cases[2].find('failure').text == 'a "quoted" <finding>'


def test_markdown_escapes_pipes_and_marks_results():
    md = rp.to_markdown('fleet', 'now', ROWS)
    assert '| web1 | PASS | selinux | enforcing | enforcing | targeted | - | - | - | - | - | - | - | - |' in md
    assert r'odd\<\&\>\|name' in md and '| FAIL |' in md


def test_html_is_self_contained_and_escaped():
    page = rp.to_html('fleet', 'now', ROWS)
    assert 'http' not in page and '<script' not in page
    assert 'odd&lt;&amp;&gt;|name' in page
    assert '<span id="failed" class="some">2 failed</span>' in page
    # failing hosts first
    assert page.index('odd&lt;') < page.index('>web1<') and page.index('>web2<') < page.index('>web1<')
    assert page.count('<tr class="fail">') == 2


def test_denials_column_is_listed_in_every_format():
    rows = [rp.normalise({'host': 'web9', 'lsm': 'apparmor', 'denials': ['apparmor denied x2: nginx open /srv/a'],
                          'findings': []})]
    assert rows[0]['denials'] == ['apparmor denied x2: nginx open /srv/a'] and rows[0]['pass']
    assert '| web9 | PASS | apparmor |' in rp.to_markdown('d', 'now', rows)
    assert '| apparmor denied x2: nginx open /srv/a | - |' in rp.to_markdown('d', 'now', rows)
    assert '<th>denials</th>' in rp.to_html('d', 'now', rows)
    assert 'denials=apparmor denied x2' in rp.to_junit('d', 'now', rows)


VERIFIED = rp.normalise({
    'host': 'web3', 'lsm': 'selinux', 'mode': 'enforcing', 'config': 'enforcing', 'policy': 'targeted',
    'findings': ['permissive domain: httpd_t (local)'],
    'checks': [{'id': 'selinux.permissive_domain', 'severity': 'high', 'text': 'permissive domain: httpd_t (local)',
                'fix': 'semanage permissive -d httpd_t', 'controls': [], 'subject': 'httpd_t'}],
    'accepted': [{'id': 'selinux.unlabeled_device', 'text': 'device /dev/x is labelled device_t',
                  'reason': 'the policy labels it so'}],
    'checked': ['selinux.mode', 'selinux.permissive_domain', 'selinux.unlabeled_device']})


def test_junit_has_one_case_per_check_per_verified_host():
    root = ET.fromstring(rp.to_junit('fleet', 'now', [VERIFIED, ROWS[1]]))
    cases = root.findall('./testsuite/testcase')
    assert [c.get('name') for c in cases] == [
        'web3 (selinux): selinux.mode', 'web3 (selinux): selinux.permissive_domain',
        'web3 (selinux): selinux.unlabeled_device', 'web2 (apparmor)']
    assert root.get('tests') == '4' and root.get('failures') == '2'
    assert cases[0].find('failure') is None
    failure = cases[1].find('failure')
    assert failure.get('message') == 'permissive domain: httpd_t (local)'
    assert 'fix: semanage permissive -d httpd_t' in failure.text
    assert 'accepted: device /dev/x is labelled device_t (the policy labels it so)' in cases[2].find('system-out').text


def test_checks_and_accepted_are_shown_in_markdown_and_html():
    md = rp.to_markdown('fleet', 'now', [VERIFIED])
    assert r'permissive domain: httpd_t (local) \[selinux.permissive_domain\] | ' \
        'device /dev/x is labelled device_t (accepted: the policy labels it so) |' in md
    page = rp.to_html('fleet', 'now', [VERIFIED])
    assert '<th>accepted</th>' in page and '(accepted: the policy labels it so)' in page
    data = json.loads(rp.to_json('t', 'now', [VERIFIED]))['hosts'][0]
    assert data['checks'][0]['id'] == 'selinux.permissive_domain' and data['accepted'][0]['reason']


def test_markdown_cell_keeps_its_row_and_junit_shows_illegal_characters():
    row = rp.normalise({'host': 'h', 'findings': ['line one\nline two | x\x01']})
    md = rp.to_markdown('t', 'now', [row])
    assert r'| line one\\x0aline two \| x\\x01 |' in md
    root = ET.fromstring(rp.to_junit('t', 'now', [row]))  # parses: the control character is written as \x01
    assert root.find('./testsuite/testcase/failure').text == r'line one\x0aline two | x\x01'


def test_a_finding_no_check_stands_for_still_fails_in_junit():
    row = rp.normalise({'host': 'h', 'lsm': 'selinux', 'findings': ['denied: something'], 'checks': [],
                        'checked': ['selinux.mode']})
    root = ET.fromstring(rp.to_junit('t', 'now', [row]))
    assert root.get('failures') == '1'
    assert root.find('./testsuite/testcase/failure').get('message') == 'denied: something'
    lone = rp.normalise({'host': 'h\udc80x', 'findings': ['bad \ud800 surrogate']})
    ET.fromstring(rp.to_junit('t', 'now', [lone]).encode('utf-8', 'surrogatepass'))
