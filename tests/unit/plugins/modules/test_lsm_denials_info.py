"""lsm_denials_info run in-process over a sample audit log (no SELinux on the unit-test host)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip

from ansible_collections.confine.lsm.plugins.modules import lsm_denials_info as mod
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
