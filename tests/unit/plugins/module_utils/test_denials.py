from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.confine.lsm.plugins.module_utils import _denials as dn

AVC = ('type=AVC msg=audit(1764300000.123:456): avc:  denied  { getattr read } for  pid=1234 comm="nginx" '
       'path="/srv/www/index.html" dev="vda" ino=12345 scontext=system_u:system_r:httpd_t:s0 '
       'tcontext=unconfined_u:object_r:var_t:s0 tclass=file permissive=0')
AVC_HEX = ('type=AVC msg=audit(1764300001.5:457): avc:  denied  { read } for  pid=99 comm=6E67696E7820776F726B6572 '
           'path=2F7372762F6D7920646F63 dev="vda" ino=1 scontext=system_u:system_r:httpd_t:s0 '
           'tcontext=system_u:object_r:user_home_t:s0 tclass=file permissive=1')
AA_AUDIT = ('type=AVC msg=audit(1764300002.000:460): apparmor="DENIED" operation="open" class="file" '
            'profile="nginx" name="/srv/secret.txt" pid=321 comm="nginx" requested_mask="r" denied_mask="r" '
            'fsuid=33 ouid=0')
AA_KERNEL = ('[  812.3] audit: type=1400 audit(1764300003.250:461): apparmor="ALLOWED" operation="mknod" '
             'profile="/usr/sbin/nginx" name="/var/cache/x y/f" pid=322 comm="nginx" requested_mask="c" '
             'denied_mask="c" fsuid=33 ouid=33')
GRANTED = ('type=AVC msg=audit(1764300004.0:462): avc:  granted  { setenforce } for  pid=1 comm="x" '
           'scontext=a:b:c:s0 tcontext=a:b:d:s0 tclass=security')


def test_selinux_avc_is_parsed():
    rec = dn.parse_line(AVC)
    assert rec['lsm'] == 'selinux' and rec['verdict'] == 'denied' and rec['enforced'] is True
    assert rec['permissions'] == ['getattr', 'read'] and rec['class'] == 'file'
    assert rec['subject_type'] == 'httpd_t' and rec['target_type'] == 'var_t'
    assert rec['object'] == '/srv/www/index.html' and rec['comm'] == 'nginx' and rec['pid'] == 1234
    assert rec['time'] == pytest.approx(1764300000.123) and rec['serial'] == 456


def test_hex_fields_are_decoded_and_permissive_is_not_enforced():
    rec = dn.parse_line(AVC_HEX)
    assert rec['object'] == '/srv/my doc' and rec['comm'] == 'nginx worker'
    assert rec['enforced'] is False


def test_apparmor_records_from_audit_log_and_kernel_log():
    a = dn.parse_line(AA_AUDIT)
    assert (a['lsm'], a['verdict'], a['enforced'], a['subject'], a['object'], a['permissions']) == \
        ('apparmor', 'denied', True, 'nginx', '/srv/secret.txt', ['r'])
    k = dn.parse_line(AA_KERNEL)
    assert (k['verdict'], k['enforced'], k['object'], k['class']) == ('allowed', False, '/var/cache/x y/f', 'file')
    assert k['time'] == pytest.approx(1764300003.25)


@pytest.mark.parametrize('line', [GRANTED, '', 'type=SYSCALL msg=audit(1.0:1): arch=c000003e syscall=2',
                                  'apparmor="STATUS" operation="profile_load" name="x"', 'avc: nothing here'])
def test_other_lines_are_ignored(line):
    assert dn.parse_line(line) is None


def test_since_forms():
    now = 1764300000.0
    assert dn.parse_since('all', now=now) == 0
    assert dn.parse_since('boot', now=now, boot_time=1764200000) == 1764200000
    assert dn.parse_since('15m', now=now) == now - 900
    assert dn.parse_since('2h', now=now) == now - 7200
    assert dn.parse_since('1d', now=now) == now - 86400
    assert dn.parse_since('@1764000000', now=now) == 1764000000
    assert dn.parse_since('2025-11-28T03:20:00Z', now=now) == 1764300000
    assert dn.parse_since('2025-11-28T04:20:00+01:00', now=now) == 1764300000


@pytest.mark.parametrize('bad', ['yesterday', '15 parsecs', '2026-13-01', ''])
def test_since_rejects_by_name(bad):
    with pytest.raises(dn.DenialError) as exc:
        dn.parse_since(bad, boot_time=1)
    assert repr(bad) in str(exc.value)


def test_since_boot_needs_a_boot_time():
    with pytest.raises(dn.DenialError):
        dn.parse_since('boot', boot_time=None)


def test_collector_groups_counts_dedupes_and_filters():
    c = dn.Collector(since=1764300000.5, max_records=2)
    lines = [AVC, AVC_HEX, AA_AUDIT, AA_AUDIT.replace(':460)', ':470)').replace('pid=321', 'pid=400'),
             AA_AUDIT, AA_KERNEL, GRANTED, 'noise']
    c.feed(lines)
    public, groups = c.result_groups()
    # AVC is older than since; the repeated AA_AUDIT (same stamp) is counted once
    assert c.summary()['total'] == 4 and c.summary()['apparmor_denied'] == 2
    assert c.summary()['selinux_permissive'] == 1 and c.summary()['apparmor_allowed'] == 1
    top = public[0]
    assert top['subject'] == 'nginx' and top['count'] == 2 and top['pids'] == [321, 400]
    assert top['first'].startswith('2025-11-28T03:20:02')
    assert len(c.records) == 2 and c.records[-1]['verdict'] == 'allowed'
    assert all('raw' not in r for r in c.records)


def test_collector_filters_lsm_subjects_and_allowed():
    c = dn.Collector(lsm='apparmor', include_allowed=False, subjects=['nginx'])
    c.feed([AVC, AA_AUDIT, AA_KERNEL])
    assert [g['object'] for g in c.result_groups()[0]] == ['/srv/secret.txt']
    c = dn.Collector(subjects=['httpd_t'])
    c.feed([AVC, AA_AUDIT])
    assert [g['subject_type'] for g in c.result_groups()[0]] == ['httpd_t']


def test_collector_is_bounded():
    c = dn.Collector(max_records=3, max_groups=2)
    c.feed(AA_AUDIT.replace(':460)', ':%d)' % i).replace('secret.txt', 's%d' % i) for i in range(1000))
    assert len(c.records) == 3 and len(c.groups) == 2 and c.summary()['groups_dropped'] == 998


def test_allow_rule_is_audit2allow_style():
    g = dn.parse_line(AVC)
    assert dn.allow_rule(g) == 'allow httpd_t var_t:file { getattr read };'
    assert dn.allow_rule(dn.parse_line(AA_AUDIT)) is None


@pytest.mark.parametrize('obj,perms,rule', [
    ('/srv/secret.txt', ['r'], '/srv/secret.txt r,'),
    ('/var/cache/x y/f', ['c'], '"/var/cache/x y/f" w,'),
    ('/srv/a*b', ['a', 'r'], '/srv/a\\*b ra,'),
    ('/usr/bin/tool', ['m', 'r', 'x'], '/usr/bin/tool rmix,'),
    ('/srv/d', ['d', 'w'], '/srv/d w,'),
])
def test_apparmor_rule(obj, perms, rule):
    g = dict(lsm='apparmor', object=obj, permissions=perms, **{'class': 'file'})
    assert dn.apparmor_rule(g) == rule


def test_apparmor_rule_only_for_files():
    assert dn.apparmor_rule(dict(lsm='apparmor', object='x', permissions=['r'], **{'class': 'net'})) is None
    assert dn.apparmor_rule(dict(lsm='apparmor', object=None, permissions=['r'], **{'class': 'file'})) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parse_line_never_raises(text):
    rec = dn.parse_line(text)
    assert rec is None or rec['lsm'] in ('selinux', 'apparmor')
    dn.parse_line('type=AVC msg=audit(1.0:1): avc:  denied  { x } for ' + text)
    dn.parse_line('apparmor="DENIED" ' + text)


BIND = ('type=AVC msg=audit(1764300010.0:500): avc:  denied  { name_bind } for  pid=77 comm="nginx" src=8123 '
        'scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:unreserved_port_t:s0 tclass=tcp_socket '
        'permissive=0')
CONNECT = ('type=AVC msg=audit(1764300011.0:501): avc:  denied  { name_connect } for  pid=77 comm="nginx" '
           'dest=5432 scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:postgresql_port_t:s0 '
           'tclass=tcp_socket permissive=0')


def test_a_port_check_names_the_protocol_and_port():
    assert dn.parse_line(BIND)['object'] == 'tcp/8123'
    assert dn.parse_line(CONNECT)['object'] == 'tcp/5432'
    assert dn.parse_line(BIND.replace('tcp_socket', 'udp_socket'))['object'] == 'udp/8123'
    # not a port check, or no usable port: no object made up
    assert dn.parse_line(BIND.replace('name_bind', 'node_bind'))['object'] is None
    assert dn.parse_line(BIND.replace('src=8123', 'src=99999'))['object'] is None
    assert dn.parse_line(BIND.replace('tclass=tcp_socket', 'tclass=rawip_socket'))['object'] is None


def test_records_of_one_event_are_all_kept_and_one_event_in_two_logs_counts_once():
    # a create in permissive mode: one event (one serial), three records
    base = ('type=AVC msg=audit(1764300020.0:600): avc:  denied  { %s } for  pid=5 comm="app" name="%s" '
            'scontext=system_u:system_r:app_t:s0 tcontext=system_u:object_r:%s:s0 tclass=%s permissive=1')
    event = [base % ('write', 'spool', 'var_spool_t', 'dir'), base % ('add_name', 'f.txt', 'var_spool_t', 'dir'),
             base % ('create', 'f.txt', 'var_spool_t', 'file')]
    kernel = ['[  9.1] audit: type=1400 ' + line.split(' ', 1)[1] for line in event]
    c = dn.Collector()
    c.feed(event + kernel)
    assert c.summary()['total'] == 3 and c.summary()['selinux_permissive'] == 3
    assert sorted(r['operation'] for r in c.records) == ['add_name', 'create', 'write']


PORT_GRANTED = {'http_port_t': {'name_bind', 'name_connect'}, 'http_cache_port_t': {'name_bind'},
                'unreserved_port_t': {'name_bind'}, 'ephemeral_port_t': {'name_bind'},
                'squid_port_t': {'name_bind'}, 'httpd_var_run_t': {'name_bind'}, 'ntp_port_t': {'name_connect'}}
PORT_TYPES = {'http_port_t', 'http_cache_port_t', 'unreserved_port_t', 'ephemeral_port_t', 'squid_port_t',
              'ntp_port_t', 'postgresql_port_t'}


def test_port_types_rank_the_subjects_family_first_and_leave_out_generic_ones():
    ranked = dn.rank_port_types('httpd_t', PORT_GRANTED, ['name_bind'], PORT_TYPES, 'unreserved_port_t')
    # http_port_t and http_cache_port_t share "http" with httpd; the family's general type first
    assert ranked == ['http_port_t', 'http_cache_port_t', 'squid_port_t']
    assert dn.rank_port_types('httpd_t', PORT_GRANTED, ['name_connect'], PORT_TYPES, 'x') == ['http_port_t',
                                                                                              'ntp_port_t']
    assert dn.rank_port_types('httpd_t', {}, ['name_bind'], PORT_TYPES, 'x') == []


def test_port_suggestion_and_its_report_line():
    group = dict(dn.parse_line(BIND), count=1)
    s = dn.port_suggestion(group, ['http_port_t', 'http_cache_port_t'])
    assert s['kind'] == 'port_label' and s['protocol'] == 'tcp' and s['port'] == 8123
    assert 'semanage port -a -t http_port_t -p tcp 8123' in s['detail'], s
    group['suggestion'] = s
    assert dn.describe(group) == ('selinux denied x1: nginx (httpd_t) name_bind tcp_socket tcp/8123 '
                                  '[unreserved_port_t] -> port label tcp/8123, e.g. http_port_t, http_cache_port_t')
    assert dn.port_suggestion(group, []) is None
    assert dn.port_suggestion(dict(group, object='/srv/x'), ['http_port_t']) is None
