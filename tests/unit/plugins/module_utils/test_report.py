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
    assert 'odd<&>\\|name' in md and '| FAIL |' in md


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
