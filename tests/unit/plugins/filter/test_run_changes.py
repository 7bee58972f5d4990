# -*- coding: utf-8 -*-
"""run_changes: the report's changes and weakened lines from the roles' registered results."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.confine.lsm.plugins.filter.run_changes import run_changes

SKIPPED = {'changed': False, 'skipped': True}


def test_nothing_changed_gives_no_line():
    assert run_changes({'selinux_mode': SKIPPED, 'sebool_persist': {'changed': False, 'changes': []},
                        'selinux_permissive': {'changed': False, 'added': [], 'removed': []}, 'selinux_port': {}}) == \
        {'changes': [], 'weakened': []}
    assert run_changes({}) == {'changes': [], 'weakened': []}


def test_selinux_role_lines_in_least_power_order():
    got = run_changes({
        'selinux_port': {'changed': True, 'changes': [{'port': '8123', 'protocol': 'tcp', 'before': None,
                                                       'after': 'http_port_t', 'purged': False},
                                                      {'port': '9100', 'protocol': 'udp', 'before': 'x_port_t',
                                                       'after': None, 'purged': True}]},
        'sebool_persist': {'changed': True, 'changes': [{'name': 'httpd_can_network_connect',
                                                         'before': {'persistent': True, 'runtime': False},
                                                         'after': {'persistent': True, 'runtime': True}}]},
        'selinux_mode': {'changed': True, 'runtime_state': 'enforcing', 'config_state': 'enforcing',
                         'policy': 'default', 'weakened': [],
                         'before': {'runtime_state': 'permissive', 'config_state': 'enforcing', 'policy': 'default'}},
        'selinux_permissive': {'changed': True, 'added': [], 'removed': ['httpd_t', 'sshd_t'], 'weakened': []},
        'selinux_fcontext': {'changed': True, 'relabelled_count': 3,
                             'changes': [{'target': '/srv/www(/.*)?', 'before': None,
                                          'after': 'system_u:object_r:httpd_sys_content_t:s0'}]},
        'selinux_login': {'changed': True, 'changes': [{'login': '%dev', 'before': 'unconfined_u', 'after': 'user_u'}]},
        'selinux_policy_module': {'changed': True, 'results': [{'changed': True, 'item': {'name': 'myapp'},
                                                                'action': 'installed'}]},
    })
    assert got['changes'] == [
        'selinux running mode: permissive -> enforcing',
        'boolean httpd_can_network_connect: runtime off -> on',
        'file context /srv/www(/.*)?: none -> system_u:object_r:httpd_sys_content_t:s0',
        'files relabelled: 3',
        'port tcp/8123: none -> http_port_t',
        'port udp/9100: x_port_t -> none (purged)',
        'login %dev: unconfined_u -> user_u',
        'permissive domain taken out: httpd_t',
        'permissive domain taken out: sshd_t',
        'policy module myapp: installed',
    ]
    assert got['weakened'] == []


def test_weakenings_are_carried_and_labelled_kinds_run_twice():
    enforce = {'changed': True, 'weakened': [], 'profiles': [
        {'changed': True, 'names': ['nginx'], 'before': {'loaded_mode': 'complain'},
         'after': {'loaded_mode': 'enforce'}},
        {'changed': False, 'names': ['sshd']}]}
    complain = {'changed': True, 'weakened': ['tool: enforce -> complain'], 'profiles': [
        {'changed': True, 'names': ['tool'], 'before': {'loaded_mode': 'enforce'},
         'after': {'loaded_mode': 'complain'}}]}
    got = run_changes({'apparmor_profile_mode': enforce, 'apparmor_profile_mode:complain': complain,
                       'restarted': {'changed': True, 'results': [{'changed': True, 'item': 'nginx.service'}]},
                       'selinux_login': {'changed': True, 'weakened': ['login x: user_u -> unconfined_u (unconfined)'],
                                         'changes': [{'login': 'x', 'before': 'user_u', 'after': 'unconfined_u'}]}})
    assert got['changes'] == ['login x: user_u -> unconfined_u', 'profile nginx: complain -> enforce',
                              'profile tool: enforce -> complain',
                              'service restarted so its profile confines it: nginx.service']
    assert got['weakened'] == ['login x: user_u -> unconfined_u (unconfined)', 'tool: enforce -> complain']


def test_a_permissive_domain_added_is_a_change_and_a_weakening():
    got = run_changes({'selinux_permissive': {'changed': True, 'added': ['myapp_t'], 'removed': ['ftpd_t'],
                                              'weakened': ['permissive domain added: myapp_t']}})
    assert got == {'changes': ['permissive domain added: myapp_t', 'permissive domain taken out: ftpd_t'],
                   'weakened': ['permissive domain added: myapp_t']}


def test_boot_args_mode_fixes_and_unknown_kinds():
    got = run_changes({'apparmor_boot_args': {'changed': True, 'kernel_args_fixed': {'apparmor': '1'},
                                              'boot_files_fixed': ['/etc/default/grub'], 'reboot_required': True},
                       'something_new': {'changed': True}})
    assert got['changes'] == ['kernel args fixed: apparmor=1 (/etc/default/grub)', 'reboot required',
                              'something_new: changed']


def test_selinux_local_gives_each_changed_kinds_lines_and_its_weakenings():
    res = {'changed': True, 'commits': 1, 'weakened': ['permissive domain added: dhcpc_t (CHG-1)'],
           'booleans': {'changed': True, 'changes': [{'name': 'httpd_can_sendmail',
                                                      'before': {'persistent': True, 'runtime': True},
                                                      'after': {'persistent': False, 'runtime': False}}]},
           'permissive': {'changed': True, 'added': ['dhcpc_t'], 'removed': [], 'weakened': []},
           'ports': {'changed': False, 'changes': []},
           'logins': {'changed': True, 'changes': [{'login': 'nobody', 'before': 'user_u', 'after': 'staff_u'}]}}
    got = run_changes({'selinux_local': res, 'selinux_mode': SKIPPED})
    assert got['changes'] == ['boolean httpd_can_sendmail: persistent on -> off, runtime on -> off',
                              'permissive domain added: dhcpc_t', 'login nobody: user_u -> staff_u']
    assert got['weakened'] == ['permissive domain added: dhcpc_t (CHG-1)']
    assert run_changes({'selinux_local': dict(res, changed=False)}) == {'changes': [], 'weakened': []}
