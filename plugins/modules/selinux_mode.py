#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: selinux_mode
short_description: Keep SELinux enforcing, in /etc/selinux/config and in the running kernel
version_added: 0.2.0
description:
  - Sets the SELinux mode and policy type in C(/etc/selinux/config) and, when SELinux is active, in the running
    kernel.
  - Never lowers protection by default. Moving from V(enforcing) to V(permissive) or V(disabled), or from
    V(permissive) to V(disabled), in the config or live, fails before anything changes unless O(allow_weaken=true).
  - Edits the config in place. Comments, unknown keys, line order and line endings are kept; only the changed
    values move. A missing or empty config file is created from a commented template. Writes are atomic and keep
    the file's owner, mode and SELinux label.
  - Reads the config as libselinux does (the mode from the first line that starts exactly with C(SELINUX=) and a
    known value, the policy type from the last C(SELINUXTYPE=) line) and edits those lines. A config that other
    readers could read otherwise (a NUL byte, a line longer than the page size, a line break other than C(\n)
    that changes what is read, a line that looks like the C(SELINUX) setting while libselinux reads no mode) fails
    with the line named and nothing changed. A config that sets no mode boots permissive, so V(disabled) then
    needs O(allow_weaken).
  - Refuses a O(policy) whose store is not installed (no compiled policy under C(/etc/selinux/POLICY/policy)),
    because booting with such a config leaves a host unbootable.
  - Coming from disabled (in the kernel or in the config) to V(enforcing) or V(permissive), or changing the policy
    type, schedules a full relabel (C(/.autorelabel)) once and returns RV(reboot_required=true).
  - Reads C(selinux=), C(enforcing=), C(security=) and C(lsm=) from C(/proc/cmdline) and from the boot
    configuration (C(grubby) on BLS systems, C(/etc/default/grub) elsewhere) and says whether they keep SELinux
    from reaching O(state). O(fix_kernel_args=true) removes the blocking ones.
  - When SELinux is not active in the running kernel (for example in a container), the config is still managed
    and the runtime part is reported as skipped, with the reason.
author:
  - confine.lsm maintainers (@confine-lsm)
extends_documentation_fragment:
  - confine.lsm.attributes
  - confine.lsm.allow_weaken
options:
  state:
    description:
      - The SELinux mode wanted.
    type: str
    choices: [enforcing, permissive, disabled]
    default: enforcing
  policy:
    description:
      - The policy type (C(SELINUXTYPE)), for example V(targeted) on Fedora and RHEL or V(default) on Debian.
      - When omitted, the configured policy is kept; with none configured, V(targeted) or V(default), whichever
        is installed, is used.
    type: str
  configfile:
    description:
      - Path of the SELinux config file.
    type: path
    default: /etc/selinux/config
  runtime:
    description:
      - Also switch the running mode (as C(setenforce) does) when SELinux is active in the kernel.
      - V(disabled) cannot be reached live; the running mode then becomes permissive (which needs
        O(allow_weaken)) and a reboot is required.
    type: bool
    default: true
  fix_kernel_args:
    description:
      - Remove kernel arguments that keep SELinux from reaching O(state) (C(selinux=0), C(enforcing=0) for
        V(enforcing), and C(security=) naming another LSM, which becomes C(security=selinux)) from the boot
        configuration, with C(grubby) or by editing C(/etc/default/grub) and regenerating the GRUB config.
      - A change here requires a reboot.
    type: bool
    default: false
notes:
  - Debian's policy type is V(default), not V(targeted).
  - A reboot is never performed by this module; act on RV(reboot_required).
seealso:
  - module: confine.lsm.sebool_persist
  - module: ansible.posix.selinux
'''

EXAMPLES = r'''
- name: Keep SELinux enforcing with the distribution's policy
  confine.lsm.selinux_mode:
    state: enforcing

- name: Enforce the targeted policy and clear kernel args that would block it
  confine.lsm.selinux_mode:
    state: enforcing
    policy: targeted
    fix_kernel_args: true
  register: mode

- name: Reboot when SELinux needs it (the default reboot command is denied in enforcing mode)
  ansible.builtin.reboot:
    reboot_command: systemctl reboot
  when: mode.reboot_required

- name: Lower to permissive for a documented change window (loud opt-in)
  confine.lsm.selinux_mode:
    state: permissive
    allow_weaken: true
'''

RETURN = r'''
before:
  description:
    - The state found before the run, C(config_state), C(runtime_state) and C(policy) (null where the config file
      lacks the key or is missing). With RV(config_state), RV(runtime_state) and RV(policy) it tells what drifted.
  returned: always
  type: dict
  sample: {"config_state": "permissive", "runtime_state": "permissive", "policy": "targeted"}
config_state:
  description: The mode in the config file after the run.
  returned: always
  type: str
  sample: enforcing
runtime_state:
  description: The running mode after the run; V(disabled) when SELinux is not active in the kernel.
  returned: always
  type: str
  sample: enforcing
policy:
  description: The policy type in the config after the run.
  returned: always
  type: str
  sample: targeted
reboot_required:
  description: True when the running kernel does not match the config (mode or policy) until a reboot.
  returned: always
  type: bool
  sample: false
relabel_scheduled:
  description: True when C(/.autorelabel) exists after the run (a full relabel happens at the next boot).
  returned: always
  type: bool
  sample: false
runtime_skipped:
  description: Why the running mode was not switched, or null when it was handled.
  returned: always
  type: str
  sample: SELinux is not active in the running kernel; the config takes effect at the next boot
weakened:
  description: Protection lowered by this run (only with O(allow_weaken=true)); empty otherwise.
  returned: always
  type: list
  elements: str
  sample: ["runtime: enforcing -> permissive"]
kernel_args:
  description:
    - SELinux-related kernel arguments, from the running kernel and from the boot configuration, with the reasons
      each set blocks O(state).
  returned: always
  type: dict
  contains:
    cmdline:
      description: Arguments of the running kernel (C(/proc/cmdline)) and what in them blocks O(state).
      type: dict
      returned: always
      sample: {"args": {"security": "selinux", "selinux": "1"}, "blocking": []}
    boot_config:
      description: Arguments the next boot uses, where they were read from (C(grubby), C(/etc/default/grub) or
        V(none)), and what in them blocks O(state).
      type: dict
      returned: always
      sample: {"source": "/etc/default/grub", "args": {"selinux": "0"}, "blocking": ["selinux=0 disables SELinux"]}
kernel_args_blocking:
  description: True when the kernel arguments of the next boot (or, with no readable boot configuration, of the
    running kernel) keep SELinux from reaching O(state).
  returned: always
  type: bool
  sample: false
kernel_args_fixed:
  description: Kernel arguments removed or rewritten in the boot configuration by O(fix_kernel_args).
  returned: always
  type: dict
  sample: {"selinux": null}
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _files
from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg

DOCTRINE = ("confine.lsm never lowers protection by default: a denial is fixed in policy (a boolean, a file "
            "context, a reviewed module), not by switching SELinux off")


def resolve_policy(module, text):
    wanted = module.params['policy'] or (cfg.get(text, 'SELINUXTYPE') if text else None)
    installed = se.installed_policies()
    if wanted is None:
        for candidate in ('targeted', 'default'):
            if candidate in installed:
                return candidate
        if len(installed) == 1:
            return installed[0]
        module.fail_json(msg='no SELinux policy store is installed under %s; install the policy package '
                             '(selinux-policy-targeted or selinux-policy-default) first' % se.SELINUX_DIR)
    if module.params['state'] != 'disabled' and not se.policy_installed(wanted):
        module.fail_json(msg="policy %r is not installed: %s/%s/policy has no compiled policy (installed: %s). "
                             "Booting with it would leave the host unbootable; nothing was changed"
                             % (wanted, se.SELINUX_DIR, wanted, ', '.join(installed) or 'none'))
    return wanted


def read_kernel_args(module, state):
    try:
        with open('/proc/cmdline') as f:
            cmdline = se.parse_args(f.read())
    except (IOError, OSError):
        cmdline = {}
    grubby = module.get_bin_path('grubby')
    source, boot = 'none', None
    if grubby and os.path.isdir(se.BLS_DIR):
        rc, out, err = module.run_command([grubby, '--info=DEFAULT'])
        if rc == 0:
            for line in out.splitlines():
                if line.startswith('args='):
                    boot = se.parse_args(line[5:].strip().strip('"'))
                    source = 'grubby'
    if boot is None:
        text = se.read_grub_default()
        if text is not None:
            boot, source = se.parse_args(text), se.DEFAULT_GRUB
    info = {
        'cmdline': {'args': cmdline, 'blocking': se.blocking_reasons(cmdline, state)},
        'boot_config': {'source': source, 'args': boot or {},
                        'blocking': se.blocking_reasons(boot or {}, state)},
    }
    blocking = bool(info['boot_config']['blocking'] if source != 'none' else info['cmdline']['blocking'])
    return info, blocking


def fix_kernel_args(module, kargs, state, result):
    boot = kargs['boot_config']
    drop = se.fixes_for(boot['args'], state)
    if not drop or boot['source'] == 'none':
        return {}
    if module.check_mode:
        return drop
    if boot['source'] == 'grubby':
        grubby = module.get_bin_path('grubby', required=True)
        removes = [k for k, v in drop.items() if v is None]
        if removes:
            module.run_command([grubby, '--update-kernel=ALL', '--remove-args=' + ' '.join(removes)],
                               check_rc=True)
        adds = ['%s=%s' % (k, v) for k, v in drop.items() if v is not None]
        if adds:
            module.run_command([grubby, '--update-kernel=ALL', '--args=' + ' '.join(adds)], check_rc=True)
        return drop
    text = _files.read_text(se.DEFAULT_GRUB)
    _files.write_or_fail(module, se.DEFAULT_GRUB, se.strip_grub_default(text, drop), **result)
    update = module.get_bin_path('update-grub')
    if update:
        module.run_command([update], check_rc=True)
        return drop
    for mkconfig, cfgpath in (('grub2-mkconfig', '/boot/grub2/grub.cfg'), ('grub-mkconfig', '/boot/grub/grub.cfg')):
        path = module.get_bin_path(mkconfig)
        if path and os.path.exists(cfgpath):
            module.run_command([path, '-o', cfgpath], check_rc=True)
            return drop
    module.warn('%s was fixed, but neither update-grub nor grub(2)-mkconfig with an existing grub.cfg was found: '
                'regenerate the boot loader configuration before rebooting' % se.DEFAULT_GRUB)
    return drop


def set_runtime(module, mode, result):
    fs = se.selinuxfs()
    try:
        with open(os.path.join(fs, 'enforce'), 'w') as f:
            f.write('1' if mode == 'enforcing' else '0')
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot switch the running mode to %s: %s' % (mode, to_native(exc)), **result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='enforcing', choices=['enforcing', 'permissive', 'disabled']),
            policy=dict(type='str'),
            configfile=dict(type='path', default='/etc/selinux/config'),
            runtime=dict(type='bool', default=True),
            fix_kernel_args=dict(type='bool', default=False),
            allow_weaken=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    path = p['configfile']
    try:
        text = _files.read_text(path)
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot read %s: %s' % (path, to_native(exc)))
    runtime_now = se.runtime_mode()
    try:
        # the config is read as libselinux reads it; a text it cannot read that way is refused, not guessed at
        policy = resolve_policy(module, text)
        plan = se.plan_mode(text, runtime_now, p['state'], policy, runtime=p['runtime'],
                            allow_weaken=p['allow_weaken'], autorelabel_exists=os.path.exists(se.AUTORELABEL))
    except cfg.ConfigError as exc:
        module.fail_json(msg='%s: %s; nothing was changed' % (path, to_native(exc)))
    kargs, blocking = read_kernel_args(module, p['state'])
    result = dict(
        changed=False,
        before=dict(config_state=plan['config_before'], runtime_state=runtime_now, policy=plan['policy_before']),
        config_state=p['state'], runtime_state=plan['runtime_after'], policy=policy,
        reboot_required=plan['reboot_required'], relabel_scheduled=os.path.exists(se.AUTORELABEL),
        runtime_skipped=plan['runtime_skipped'], weakened=plan['weakened'], kernel_args=kargs,
        kernel_args_blocking=blocking, kernel_args_fixed={},
    )
    if plan['refused']:
        result.update(config_state=plan['config_before'], runtime_state=runtime_now, weakened=[])
        module.fail_json(msg='refusing to lower SELinux protection (%s). %s. Set allow_weaken=true to do it '
                             'anyway; nothing was changed' % ('; '.join(plan['refused']), DOCTRINE), **result)

    if plan['config_changed']:
        result['changed'] = True
        if module._diff:
            result['diff'] = dict(before=text or '', after=plan['new_text'],
                                  before_header=path, after_header=path)
        if not module.check_mode:
            _files.write_or_fail(module, path, plan['new_text'], **result)
    if plan['relabel']:
        result['changed'] = True
        result['relabel_scheduled'] = True
        if not module.check_mode:
            _files.write_or_fail(module, se.AUTORELABEL, '', **result)
    if plan['runtime_action']:
        result['changed'] = True
        if not module.check_mode:
            _files.fault_point('mode:before-runtime')
            set_runtime(module, plan['runtime_action'], result)
    if p['fix_kernel_args']:
        fixed = fix_kernel_args(module, kargs, p['state'], result)
        if fixed:
            result.update(changed=True, kernel_args_fixed=fixed, reboot_required=True, kernel_args_blocking=False)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
