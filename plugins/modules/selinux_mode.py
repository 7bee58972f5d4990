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
    because booting with such a config leaves a host unbootable. For an O(configfile) that is
    C(ROOT/etc/selinux/config) the stores looked at are those under C(ROOT/etc/selinux).
  - Coming from disabled (in the kernel or in the config) to V(enforcing) or V(permissive), or changing the policy
    type, schedules a full relabel once and returns RV(reboot_required=true). The flag goes to the root the config
    belongs to - C(/.autorelabel) for C(/etc/selinux/config), C(ROOT/.autorelabel) for an O(configfile) that is
    C(ROOT/etc/selinux/config) (an image or a chroot), links followed as the write follows them. An O(configfile)
    elsewhere names no root, so no flag is created (the host's own C(/.autorelabel) is left alone) and
    RV(relabel_skipped) and a warning say so. A flag path that is a symbolic link or anything but a regular file is
    refused before anything changes.
  - O(configfile) must be a regular file (or missing); a FIFO, a device or a directory is refused without a
    blocking open and is never replaced. O(configfile) and O(policy) with a newline, a NUL or another control
    character are refused, naming the value, before anything is read.
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
        configuration, with C(grubby) or by editing the GRUB defaults and regenerating the GRUB config.
      - The GRUB defaults are read as C(grub-mkconfig) sources them, C(/etc/default/grub) and then
        C(/etc/default/grub.d/*.cfg) (the last assignment wins, C($GRUB_CMDLINE_LINUX) extends the value before it);
        every one of those files that sets a blocking argument is fixed, all of them or, on an error, none.
      - The fixed arguments take effect at the next boot; a reboot is required only when the running kernel was
        booted with them (see RV(reboot_required)).
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
    - C(kernel_args_blocking) and C(boot_args) are RV(kernel_args_blocking) and the boot configuration's arguments
      before O(fix_kernel_args) changed them.
  returned: always
  type: dict
  sample: {"config_state": "permissive", "runtime_state": "permissive", "policy": "targeted",
           "kernel_args_blocking": true, "boot_args": {"selinux": "0"}}
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
  description:
    - True when the running kernel does not match the config (mode or policy) until a reboot.
    - Fixing the boot configuration's arguments (O(fix_kernel_args)) alone needs none when the running kernel is
      already in the requested state, since the fixed arguments are for the next boot.
  returned: always
  type: bool
  sample: false
relabel_scheduled:
  description: True when RV(relabel_path) exists after the run (a full relabel happens at the next boot).
  returned: always
  type: bool
  sample: false
relabel_path:
  description: Where the relabel flag is for this O(configfile), or null when O(configfile) names no root.
  returned: always
  type: str
  sample: /.autorelabel
relabel_skipped:
  description: Why a relabel that the change needs was not scheduled (an O(configfile) that names no root), or null.
  returned: always
  type: str
  sample: null
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
      description: Arguments of the running kernel (C(/proc/cmdline)) and what in them blocks O(state); a fix
        reaches them only at the next boot.
      type: dict
      returned: always
      sample: {"args": {"security": "selinux", "selinux": "1"}, "blocking": []}
    boot_config:
      description: Arguments the next boot uses (after O(fix_kernel_args)), where they were read from (C(grubby),
        C(/etc/default/grub) or V(none)), and what in them blocks O(state).
      type: dict
      returned: always
      sample: {"source": "/etc/default/grub", "args": {"selinux": "0"}, "blocking": ["selinux=0 disables SELinux"]}
kernel_args_blocking:
  description:
    - True when the kernel arguments of the next boot (or, with no readable boot configuration, of the running
      kernel) keep SELinux from reaching O(state), after this run's O(fix_kernel_args) (read again from the boot
      configuration; in check mode, what it would hold). RV(before) has the value from before the fix.
    - O(fix_kernel_args) does not rewrite C(lsm=); one that leaves out C(selinux) still blocks, with a warning.
  returned: always
  type: bool
  sample: false
kernel_args_fixed:
  description: Kernel arguments removed or rewritten in the boot configuration by O(fix_kernel_args).
  returned: always
  type: dict
  sample: {"selinux": null}
boot_files_fixed:
  description:
    - The GRUB defaults files O(fix_kernel_args) rewrote (C(/etc/default/grub) and any C(/etc/default/grub.d/*.cfg)
      that set a blocking argument); empty when C(grubby) made the change, in check mode, or when nothing was fixed.
  returned: always
  type: list
  elements: str
  sample: ["/etc/default/grub", "/etc/default/grub.d/50-cloudimg-settings.cfg"]
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _bootargs
from ansible_collections.confine.lsm.plugins.module_utils import _files
from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp

DOCTRINE = ("confine.lsm never lowers protection by default: a denial is fixed in policy (a boolean, a file "
            "context, a reviewed module), not by switching SELinux off")


def resolve_policy(module, text, root):
    wanted = module.params['policy'] or (cfg.get(text, 'SELINUXTYPE') if text else None)
    installed = se.installed_policies(root)
    if wanted is None:
        for candidate in ('targeted', 'default'):
            if candidate in installed:
                return candidate
        if len(installed) == 1:
            return installed[0]
        module.fail_json(msg='no SELinux policy store is installed under %s; install the policy package '
                             '(selinux-policy-targeted or selinux-policy-default) first' % root)
    if module.params['state'] != 'disabled' and not se.policy_installed(wanted, root):
        module.fail_json(msg="policy %r is not installed: %s/%s/policy has no compiled policy (installed: %s). "
                             "Booting with it would leave the host unbootable; nothing was changed"
                             % (wanted, root, wanted, ', '.join(installed) or 'none'))
    return wanted


def read_kernel_args(module, state):
    cmdline = se.parse_args(se.read_cmdline())
    source, boot = 'none', None
    grubby = _bootargs.grubby_args(module)
    if grubby is not None:
        boot, source = se.parse_args(grubby), 'grubby'
    if boot is None:
        files = se.grub_default_files()
        try:
            text = se.grub_default_args(files)
        except inp.InputError as exc:
            module.fail_json(msg=to_native(exc))
        if text is not None:
            boot = se.parse_args(text)
            source = se.grub_defaults_source(files)
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
        _bootargs.grubby_apply(module, drop)
        return drop
    # every file grub-mkconfig sources that sets a blocking arg is fixed, all or none of them
    files = se.grub_default_files()
    try:
        edits = _bootargs.plan_grub(files, _bootargs.read_texts(files), drop)
    except (inp.InputError, IOError, OSError) as exc:
        module.fail_json(msg='cannot read the GRUB defaults: %s; nothing was changed' % to_native(exc), **result)
    _bootargs.write_all(module, edits, result)
    result['boot_files_fixed'] = [path for path, dummy, dummy2 in edits]
    _bootargs.regenerate(module, ', '.join(result['boot_files_fixed']) or se.DEFAULT_GRUB)
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
        # every string that reaches the config, a path or a tool: no newline, NUL or control character
        inp.check_path('configfile', path)
        if p['policy'] is not None:
            cfg.check_policy(p['policy'])
        text = inp.read_regular(path, 'configfile')
    except (inp.InputError, cfg.ConfigError) as exc:
        module.fail_json(msg='%s; nothing was changed' % to_native(exc).replace('; nothing was changed', ''))
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot read %s: %s' % (path, to_native(exc)))
    runtime_now = se.runtime_mode()
    relabel_path = se.autorelabel_for(path)
    relabel_state = se.autorelabel_state(relabel_path) if relabel_path else 'absent'
    try:
        # the config is read as libselinux reads it; a text it cannot read that way is refused, not guessed at
        policy = resolve_policy(module, text, se.policy_dir_for(path))
        plan = se.plan_mode(text, runtime_now, p['state'], policy, runtime=p['runtime'],
                            allow_weaken=p['allow_weaken'], autorelabel_exists=relabel_state == 'present')
    except cfg.ConfigError as exc:
        module.fail_json(msg='%s: %s; nothing was changed' % (path, to_native(exc)))
    kargs, blocking = read_kernel_args(module, p['state'])
    result = dict(
        changed=False,
        before=dict(config_state=plan['config_before'], runtime_state=runtime_now, policy=plan['policy_before'],
                    kernel_args_blocking=blocking, boot_args=dict(kargs['boot_config']['args'])),
        config_state=p['state'], runtime_state=plan['runtime_after'], policy=policy,
        reboot_required=plan['reboot_required'], relabel_scheduled=relabel_state == 'present',
        relabel_path=relabel_path, relabel_skipped=None,
        runtime_skipped=plan['runtime_skipped'], weakened=plan['weakened'], kernel_args=kargs,
        kernel_args_blocking=blocking, kernel_args_fixed={}, boot_files_fixed=[],
    )
    if plan['refused']:
        result.update(config_state=plan['config_before'], runtime_state=runtime_now, weakened=[])
        module.fail_json(msg='refusing to lower SELinux protection (%s). %s. Set allow_weaken=true to do it '
                             'anyway; nothing was changed' % ('; '.join(plan['refused']), DOCTRINE), **result)
    relabel = plan['relabel']
    if relabel and relabel_path is None:
        relabel = False
        result['relabel_skipped'] = (
            'a full relabel is needed, but configfile %s is not ROOT%s, so it names no root to put .autorelabel '
            'in; none was created (the host\'s own %s was left alone): schedule the relabel on the system that boots '
            'this config' % (path, se.CONFIG_TAIL, se.AUTORELABEL))
        module.warn(result['relabel_skipped'])
    elif relabel and relabel_state != 'present' and relabel_state != 'absent':
        module.fail_json(msg='a full relabel is needed, but %s is %s, not a regular file: it is not written through '
                             'or over; remove it and run again; nothing was changed' % (relabel_path, relabel_state),
                         **result)

    if plan['config_changed']:
        result['changed'] = True
        if module._diff:
            result['diff'] = dict(before=text or '', after=plan['new_text'],
                                  before_header=path, after_header=path)
        if not module.check_mode:
            _files.write_or_fail(module, path, plan['new_text'], **result)
    if relabel:
        result['changed'] = True
        result['relabel_scheduled'] = True
        if not module.check_mode:
            _files.write_or_fail(module, relabel_path, '', **result)
    if plan['runtime_action']:
        result['changed'] = True
        if not module.check_mode:
            _files.fault_point('mode:before-runtime')
            set_runtime(module, plan['runtime_action'], result)
    if p['fix_kernel_args']:
        fixed = fix_kernel_args(module, kargs, p['state'], result)
        if fixed:
            # the boot configuration is for the next boot: the running kernel needs a reboot only when its own
            # command line blocks, and then it is not running SELinux (reboot_required is already true)
            result.update(changed=True, kernel_args_fixed=fixed)
            if module.check_mode:  # what the boot configuration would hold
                boot = dict(kargs['boot_config'])
                boot['args'] = se.apply_fixes(boot['args'], fixed)
                boot['blocking'] = se.blocking_reasons(boot['args'], p['state'])
                kargs = dict(kargs, boot_config=boot)
                blocking = bool(boot['blocking'])
            else:  # what it holds now, read again
                kargs, blocking = read_kernel_args(module, p['state'])
            result.update(kernel_args=kargs, kernel_args_blocking=blocking)
    if p['fix_kernel_args'] and result['kernel_args_blocking']:
        module.warn('after fix_kernel_args the kernel arguments of the next boot still keep SELinux from reaching %s: '
                    '%s (lsm= is reported, not rewritten)'
                    % (p['state'], '; '.join(result['kernel_args']['boot_config']['blocking']
                                             or result['kernel_args']['cmdline']['blocking'])))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
