"""lsm_denials_info run in-process over a sample audit log (no SELinux on the unit-test host)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip

from ansible_collections.confine.lsm.plugins.modules import lsm_denials_info as mod
from ansible_collections.confine.lsm.plugins.module_utils import _advisor
from ansible_collections.confine.lsm.plugins.module_utils import _denials as dn

AVC = ('type=AVC msg=audit(1764300000.123:456): avc:  denied  { getattr } for  pid=1234 comm="nginx" '
       'path="/srv/www/index.html" dev="vda" ino=12345 scontext=system_u:system_r:httpd_t:s0 '
       'tcontext=unconfined_u:object_r:var_t:s0 tclass=file permissive=0')
AA = ('type=AVC msg=audit(1764300002.000:%d): apparmor="DENIED" operation="open" class="file" '
      'profile="nginx" name="/srv/secret.txt" pid=321 comm="nginx" requested_mask="r" denied_mask="r" '
      'fsuid=33 ouid=0')


def test_reads_groups_suggests_and_describes(tmp_path, run_module):
    log = tmp_path / 'audit.log'
    log.write_text('\n'.join([AVC, AA % 460, AA % 461, 'type=SYSCALL msg=audit(1764300002.000:461): arch=c000003e']) + '\n')
    with gzip.open(str(tmp_path / 'audit.log.1.gz'), 'wt') as f:
        f.write(AA % 400 + '\n')
    res = run_module(mod.main, dict(audit_log=str(log), sources=['audit'], since='all'))
    assert not res['failed'] and not res['changed'] and res['sources'] == [str(log)]
    groups = {g['lsm']: g for g in res['denials']}
    assert groups['apparmor']['count'] == 2 and groups['apparmor']['suggestion']['rule'] == '/srv/secret.txt r,'
    assert groups['apparmor']['text'] == 'apparmor denied x2: nginx (nginx) r file /srv/secret.txt -> rule /srv/secret.txt r,'
    assert groups['selinux']['text'].startswith('selinux denied x1: nginx (httpd_t) getattr file /srv/www/index.html [var_t]')
    assert res['summary']['apparmor_denied'] == 2 and res['read_at'].startswith('@')
    rotated = run_module(mod.main, dict(audit_log=str(log), sources=['audit'], since='all', rotated=True,
                                        lsm='apparmor', subjects=['nginx']))
    assert rotated['summary']['apparmor_denied'] == 3 and len(rotated['sources']) == 2
    later = run_module(mod.main, dict(audit_log=str(log), sources=['audit'], since='@1764300001'))
    assert [g['lsm'] for g in later['denials']] == ['apparmor']


def test_bad_since_and_bounds_are_named(tmp_path, run_module):
    res = run_module(mod.main, dict(audit_log=str(tmp_path / 'none.log'), since='yesterday-ish'))
    assert res['failed'] and "'yesterday-ish'" in res['msg']
    res = run_module(mod.main, dict(max_records=-1))
    assert res['failed'] and 'max_records=-1' in res['msg']


def test_describe_permissive_and_kinds():
    group = {'lsm': 'selinux', 'verdict': 'denied', 'enforced': False, 'comm': 'httpd', 'subject_type': 'httpd_t',
             'permissions': ['name_connect'], 'class': 'tcp_socket', 'object': None, 'target_type': 'http_port_t',
             'count': 3, 'suggestion': {'kind': 'boolean', 'booleans': {'httpd_can_network_connect': True}}}
    assert dn.describe(group) == ('selinux denied (permissive) x3: httpd (httpd_t) name_connect tcp_socket '
                                  '[http_port_t] -> boolean httpd_can_network_connect')


# ---------------------------------------------------------------- hostile logs, odd numbers, bounds

import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import stat  # noqa: E402

import pytest  # noqa: E402


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


def read(run_module, log, **args):
    return run_module(mod.main, dict(dict(audit_log=str(log), sources=['audit'], since='all'), **args))


@pytest.mark.parametrize('kind, named', [('fifo', 'a FIFO'), ('device', 'a character device'),
                                         ('link to a device', 'a character device'), ('directory', 'a directory')])
def test_a_log_that_is_not_a_regular_file_is_refused_unopened(tmp_path, run_module, kind, named):
    log = str(tmp_path / 'audit.log')
    if kind == 'fifo':
        os.mkfifo(log)
    elif kind == 'device':
        os.mknod(log, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # as /dev/null
    elif kind == 'link to a device':
        os.mknod(str(tmp_path / 'null'), stat.S_IFCHR | 0o600, os.makedev(1, 3))
        os.symlink(str(tmp_path / 'null'), log)
    else:
        os.mkdir(log)
    for sources in (['audit'], ['auto']):
        with deadline():
            res = run_module(mod.main, dict(audit_log=log, sources=sources, since='all'))
        assert res['failed'] and '%s is %s, not a regular file' % (log, named) in res['msg'], res
    assert stat.S_IFMT(os.lstat(log).st_mode) == {'fifo': stat.S_IFIFO, 'device': stat.S_IFCHR,
                                                  'link to a device': stat.S_IFLNK, 'directory': stat.S_IFDIR}[kind]


def test_a_rotated_fifo_is_refused_too(tmp_path, run_module):
    log = tmp_path / 'audit.log'
    log.write_text(AA % 1 + '\n')
    os.mkfifo(str(tmp_path / 'audit.log.1'))
    with deadline():
        res = read(run_module, log, rotated=True)
    assert res['failed'] and 'audit.log.1 is a FIFO' in res['msg']


@pytest.mark.parametrize('damage', ['truncated', 'corrupt', 'not gzip'])
def test_a_damaged_rotated_gz_is_named_and_the_rest_is_read(tmp_path, run_module, monkeypatch, damage):
    warned = []
    monkeypatch.setattr(mod.AnsibleModule, 'warn', lambda self, text: warned.append(text))
    log = tmp_path / 'audit.log'
    log.write_text(AA % 99999 + '\n')
    data = gzip.compress(''.join(AA.replace('secret.txt', 's%d' % i) % i + '\n' for i in range(2000)).encode())
    bad = {'truncated': data[:len(data) // 2], 'corrupt': data[:20] + b'\x00' * 64 + data[84:],
           'not gzip': b'plain text, not gzip\n'}[damage]
    (tmp_path / 'audit.log.1.gz').write_bytes(bad)
    res = read(run_module, log, rotated=True, max_records=0)
    assert not res['failed'], res
    assert [e['source'] for e in res['read_errors']] == [str(tmp_path / 'audit.log.1.gz')]
    assert any('audit.log.1.gz is truncated or corrupt' in w for w in warned), warned
    # what came before the damage counts, and the current log is read after it
    assert res['summary']['total'] == 1 + res['read_errors'][0]['lines_read']
    if damage == 'truncated':
        assert 0 < res['read_errors'][0]['lines_read'] < 2000


@pytest.mark.parametrize('since', ['nan', 'NaN', 'inf', '-inf', '@inf', 'infinity', '1e400', '@1e300',
                                   '99999999999999999', '@253402300800'])
def test_since_that_is_not_a_time_is_refused_by_name(tmp_path, run_module, since):
    res = run_module(mod.main, dict(audit_log=str(tmp_path / 'none.log'), sources=['audit'], since=since))
    assert res['failed'] and repr(since) in res['msg'] and 'Traceback' not in res['msg'], res


@pytest.mark.parametrize('since', ['9' * 5000 + 'd', '999999999999999w', '@-5', '1900-01-01'])
def test_since_before_1970_means_everything(tmp_path, run_module, since):
    log = tmp_path / 'audit.log'
    log.write_text(AA % 1 + '\n')
    res = read(run_module, log, since=since)
    assert not res['failed'] and res['since'] == '1970-01-01T00:00:00.000Z' and res['summary']['total'] == 1, res


@pytest.mark.parametrize('key', ['max_records', 'max_groups'])
@pytest.mark.parametrize('value', [10 ** 30, 1000001, -1])
def test_huge_or_negative_counts_are_refused_by_name(tmp_path, run_module, key, value):
    res = run_module(mod.main, {'audit_log': str(tmp_path / 'x'), key: value})
    assert res['failed'] and '%s=%d' % (key, value) in res['msg'], res


def test_huge_audit_stamps_and_numbers_are_handled(tmp_path, run_module):
    log = tmp_path / 'audit.log'
    lines = [AA.replace('1764300002.000', '9' * 30 + '.5') % 1,
             AA.replace('1764300002.000', '9' * 5000) % 2,
             AA.replace('1764300002.000:%d', '1.0:' + '7' * 5000).replace('pid=321', 'pid=' + '8' * 5000),
             AA.replace('1764300002.000', '253402300799.000') % 3]
    log.write_text('\n'.join(lines) + '\n')
    res = read(run_module, log, max_records=10)
    assert not res['failed'], res
    times = sorted(str(r['time']) for r in res['records'])
    assert times == ['1970-01-01T00:00:01.000Z', '9999-12-31T23:59:59.000Z', 'None', 'None'], times
    assert all(r['pid'] in (None, 321) for r in res['records'])
    json.dumps(res)


def test_a_24_mb_line_does_not_reach_the_result(tmp_path, run_module):
    log = tmp_path / 'audit.log'
    huge = AA.replace('name="/srv/secret.txt"', 'name=' + '41' * (12 * 1024 * 1024)) % 5
    log.write_text(AA % 4 + '\n' + huge + '\n' + AA % 6 + '\n')
    res = read(run_module, log, max_records=0)
    assert not res['failed'], res
    assert res['summary']['lines_too_long'] == 1 and res['summary']['total'] == 2
    assert len(json.dumps(res)) < 20000
    assert res['limits_applied'] == ['1 lines longer than 65536 bytes were skipped (no kernel record is that long)']


def test_long_fields_are_cut_and_said(tmp_path, run_module):
    log = tmp_path / 'audit.log'
    long_path = '/srv/' + 'p' * 20000
    log.write_text(AA.replace('"/srv/secret.txt"', '"%s"' % long_path) % 7 + '\n')
    res = read(run_module, log)
    group = res['denials'][0]
    assert len(group['object']) == dn.FIELD_MAX and long_path.startswith(group['object'])
    assert group['truncated'] == ['object', 'sample'] and res['records'][0]['truncated'] == ['object']
    assert group['suggestion']['kind'] == 'unknown'  # no rule for a path that was cut
    assert res['summary']['fields_truncated'] == 2 and len(res['limits_applied']) == 1


def test_the_result_is_bounded_whatever_max_records_and_max_groups_say(tmp_path, run_module):
    log = tmp_path / 'audit.log'
    with open(str(log), 'w') as f:
        for i in range(3000):  # distinct 4 KiB paths: 3000 groups of about 10 KiB each
            f.write(AA.replace('secret.txt', '%05d' % i + 'q' * 4000) % (10000 + i) + '\n')
    res = read(run_module, log, max_records=1000000, max_groups=1000000, suggest=False)
    assert not res['failed'], res
    size = len(json.dumps(res))
    assert size < 1.2 * (dn.GROUPS_BUDGET + dn.RECORDS_BUDGET), size
    assert res['summary']['total'] == 3000 and res['summary']['groups_dropped'] > 0
    assert res['summary']['records_dropped'] > 0 and len(res['records']) < 3000
    assert res['records'][-1]['object'].startswith('/srv/02999')  # the newest are kept
    assert any('groups past about' in x for x in res['limits_applied'])
    assert any('older records were left out' in x for x in res['limits_applied'])


class FakeA2W:
    """selinux.audit2why's answer for every analyze() call: rc and data as the real module returns them."""
    ALLOW, TERULE, BOOLEAN, CONSTRAINT, RBAC, DONTAUDIT = range(6)

    def __init__(self, rc, data=None):
        self.rc, self.data = rc, data

    def analyze(self, scontext, tcontext, tclass, perms):
        return self.rc, self.data


def fake_setools(monkeypatch, rules, attributes):
    """A setools stand-in: rules [(source, target, class, perms)], attributes {name: [types]}."""
    import sys
    import types

    class Rule:
        def __init__(self, target, perms):
            self.target = types.SimpleNamespace(expand=lambda: [target])
            self.perms = perms

    class Query:
        def __init__(self, policy, ruletype, source, tclass):
            self.found = [Rule(t, p) for s, t, c, p in rules if s == source and c in tclass]

        def results(self):
            return self.found

    class Policy:
        def lookup_typeattr(self, name):
            return types.SimpleNamespace(expand=lambda: attributes.get(name, []))
    monkeypatch.setitem(sys.modules, 'setools', types.SimpleNamespace(SELinuxPolicy=Policy, TERuleQuery=Query))


BIND = ('type=AVC msg=audit(1764300010.0:500): avc:  denied  { name_bind } for  pid=77 comm="nginx" src=8123 '
        'scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:unreserved_port_t:s0 tclass=tcp_socket '
        'permissive=0')


def test_a_denied_port_bind_gets_a_port_label_not_a_module(monkeypatch):
    fake_setools(monkeypatch, [('httpd_t', 'http_port_t', 'tcp_socket', {'name_bind', 'name_connect'}),
                               ('httpd_t', 'http_cache_port_t', 'tcp_socket', {'name_bind'}),
                               ('httpd_t', 'httpd_tmp_t', 'tcp_socket', {'name_bind'})],
                 {'port_type': ['http_port_t', 'http_cache_port_t', 'unreserved_port_t']})
    advisor = _advisor.SELinuxAdvisor(None)
    advisor.a2w = FakeA2W(FakeA2W.TERULE)
    group = dict(dn.parse_line(BIND), count=1)
    s = advisor.suggest(group)
    assert s['kind'] == 'port_label' and s['candidate_types'] == ['http_port_t', 'http_cache_port_t'], s
    assert s['protocol'] == 'tcp' and s['port'] == 8123
    assert s['allow_rule'] == 'allow httpd_t unreserved_port_t:tcp_socket { name_bind };'  # a proposal, not the fix
    # a boolean that allows it comes first (name_connect: httpd_can_network_connect)
    advisor.a2w = FakeA2W(FakeA2W.BOOLEAN, [('httpd_can_network_connect', 1)])
    s = advisor.suggest(group)
    assert s['kind'] == 'boolean' and s['booleans'] == {'httpd_can_network_connect': True}
    # no port type the domain may use: the module proposal, as before
    fake_setools(monkeypatch, [], {'port_type': ['http_port_t']})
    advisor = _advisor.SELinuxAdvisor(None)
    advisor.a2w = FakeA2W(FakeA2W.TERULE)
    assert advisor.suggest(group)['kind'] == 'module'
