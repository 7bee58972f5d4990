"""The verify playbook on many hosts as teams run it: through ansible-navigator's run mode (installed from PyPI; no
container engine mode here), under the `free` strategy with forks as high as the fleet, compared with a plain
linear ansible-playbook run; its report read by what CI systems, jq and schedulers read; and the HTML page opened
in Debian's headless chromium, checked for what a person sees.

The hosts are systemd containers (real user-land, no MAC in their kernel): every host is reported FAIL, which is
exactly what a scheduler must be told. The page test adds two passing rows shaped like the lab VMs' results."""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lab import fleet, util  # noqa: E402  pylint: disable=wrong-import-position
import browser  # noqa: E402  pylint: disable=wrong-import-position

HOSTS = int(os.environ.get('CONFINE_TEST_FLEET_HOSTS', '12'))
PREFIX = 'confine-eco-fleet'
OUTPUT = os.path.join(ROOT, 'tests', 'output')


def run(argv, env=None, cwd=ROOT):
    return subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('fleet')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=util.checkout_collections_path(), ANSIBLE_NOCOLOR='1')
    names = fleet.start(PREFIX, HOSTS)
    try:
        inv = fleet.inventory(names, str(tmp / 'inventory.json'))
        verify = os.path.join(ROOT, 'playbooks', 'verify.yml')
        linear = run(['ansible-playbook', '-i', inv, '-e', 'confine_report_dir=%s' % (tmp / 'linear'), verify],
                     env=env, cwd=str(tmp))
        navigator = run(['ansible-navigator', 'run', verify, '--ee', 'false', '--mode', 'stdout', '-i', inv,
                         '--forks', str(HOSTS), '--pae', 'true', '--pas', str(tmp / 'artifact.json'),
                         '--lf', str(tmp / 'navigator.log'), '-e', 'confine_report_dir=%s' % (tmp / 'free')],
                        env=dict(env, ANSIBLE_STRATEGY='free'), cwd=str(tmp))
    finally:
        fleet.stop(names)
    return names, tmp, linear, navigator


def recap(stdout):
    lines = stdout[stdout.rindex('PLAY RECAP'):].splitlines()[1:]
    return dict((line.split()[0], line.split(':', 1)[1].split()) for line in lines if ' : ' in line)


def test_verify_through_navigator_free_strategy_high_forks(runs):
    names, tmp, linear, navigator = runs
    for proc in (linear, navigator):
        # every host reached, the audit itself never fails a host; the report play fails, and the exit code says so
        assert proc.returncode == 2, proc.stdout[-3000:]
        stats = recap(proc.stdout)
        assert sorted(h for h in stats if h != 'localhost') == names, proc.stdout[-3000:]
        for host in names:
            assert 'unreachable=0' in stats[host] and 'failed=0' in stats[host], (host, stats[host])
        assert 'failed=1' in stats['localhost']
    artifact = json.loads((tmp / 'artifact.json').read_text())
    assert artifact['status'] == 'failed'
    audited = set(t['host'] for t in artifact['plays'][0]['tasks'])
    assert audited == set(names)

    # the same report whichever the strategy and forks
    def rows(d):
        data = json.loads((tmp / d / 'report.json').read_text())
        return data['summary'], sorted(data['hosts'], key=lambda r: r['host'])
    assert rows('linear') == rows('free')
    summary, hosts = rows('free')
    assert summary['hosts'] == HOSTS and summary['failed'] == HOSTS and sorted(summary['failed_hosts']) == names
    assert all(h['findings'] and h['lsm'] == 'apparmor' for h in hosts)
    # JUnit XML for CI: one case per check per host; each host's apparmor.enabled case fails with its finding
    junit = ET.parse(str(tmp / 'free' / 'report.xml')).getroot()
    cases = junit.findall('./testsuite/testcase')
    enabled = [c for c in cases if c.get('name').endswith(': apparmor.enabled')]
    assert len(enabled) == HOSTS and len(cases) > HOSTS
    assert all(c.find('failure').get('message') == 'AppArmor is not enabled in the kernel' for c in enabled)
    assert junit.get('failures') == str(sum(1 for c in cases if c.find('failure') is not None))
    assert all(h['checked'] and 'apparmor.enabled' in h['checked'] for h in hosts)


def test_report_page_reads_at_a_glance_in_chromium(runs, tmp_path):
    dummy, tmp, dummy2, dummy3 = runs
    failing = json.loads((tmp / 'free' / 'report.json').read_text())['hosts']
    passing = [
        {'host': 'lab-selinux', 'lsm': 'selinux', 'mode': 'enforcing', 'config': 'enforcing', 'policy': 'default',
         'findings': []},
        {'host': 'lab-apparmor', 'lsm': 'apparmor', 'mode': 'enabled', 'config': 'service active, enabled',
         'enforced': 42, 'complain': 0, 'findings': []},
    ]
    # a long findings cell must not push the result away
    failing[0]['findings'] = failing[0]['findings'] * 8
    failing[0]['checks'] = failing[0]['checks'] * 8
    results = passing + failing
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=util.checkout_collections_path(), ANSIBLE_NOCOLOR='1')
    proc = run(['ansible', 'localhost', '-m', 'confine.lsm.fleet_report', '-a', json.dumps(
        {'results': results, 'dest': str(tmp_path), 'title': 'Fleet at a glance', 'generated': 'test run'})],
        env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    page = 'file://%s' % (tmp_path / 'report.html')
    chromium = browser.Browser(width=1280, height=900)
    try:
        requests = chromium.open(page)
        seen = chromium.evaluate('''(() => {
            const box = e => e.getBoundingClientRect();
            const counts = document.querySelector('.counts'), table = document.querySelector('table');
            return {
              title: document.title, heading: document.querySelector('h1').innerText,
              counts: counts.innerText, countsBottom: box(counts).bottom, tableTop: box(table).top,
              viewWidth: window.innerWidth, viewHeight: window.innerHeight,
              rows: Array.from(document.querySelectorAll('tbody tr')).map(tr => ({
                host: tr.cells[0].innerText, result: tr.cells[1].innerText,
                colour: getComputedStyle(tr.cells[1]).backgroundColor, right: box(tr.cells[1]).right,
              })),
            };
          })()''')
        os.makedirs(OUTPUT, exist_ok=True)
        chromium.screenshot(os.path.join(OUTPUT, 'report-in-chromium.png'))
    finally:
        chromium.close()
    # self-contained: the page itself is the only request
    assert requests == [page], requests
    assert seen['title'] == 'Fleet at a glance' and seen['heading'] == 'Fleet at a glance'
    # counts at the top, on the first screen, above the table
    total = len(results)
    for text in ('%d hosts' % total, '2 passed', '%d failed' % (total - 2)):
        assert text in seen['counts'], seen['counts']
    assert seen['countsBottom'] < seen['tableTop'] and seen['countsBottom'] < seen['viewHeight']
    # failing hosts first
    results_seen = [r['result'] for r in seen['rows']]
    assert results_seen == sorted(results_seen), results_seen
    # a row per host, its result in sight without scrolling sideways, green for PASS and red for FAIL
    assert sorted(r['host'] for r in seen['rows']) == sorted(r['host'] for r in results)
    for row in seen['rows']:
        expected = 'PASS' if row['host'].startswith('lab-') else 'FAIL'
        assert row['result'] == expected, row
        assert row['right'] <= seen['viewWidth'], row
        red, green, dummy = [int(v) for v in row['colour'][row['colour'].index('(') + 1:-1].split(',')[:3]]
        if expected == 'PASS':
            assert green > red + 30, row
        else:
            assert red > green + 30, row
