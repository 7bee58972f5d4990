#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: apparmor_boot_args
short_description: Make the next boot start AppArmor, by fixing the kernel arguments in the boot configuration
version_added: 0.3.0
description:
  - Reads the kernel arguments the next boot gets and fixes those that keep AppArmor off. C(apparmor=0) becomes
    C(apparmor=1); C(security=) naming another LSM (or none) becomes C(security=apparmor); an C(lsm=) list
    without C(apparmor), or with C(selinux) or C(smack) before it, gets C(apparmor) before them, since the kernel
    starts only the first of those exclusive LSMs in the list. The arguments are read as the kernel reads them -
    with C(lsm=) given, the kernel ignores C(security=), and C(selinux=0) takes SELinux out of the race.
  - With O(require_args), the arguments listed there must also be present, as CIS Debian Linux 12 and CIS Ubuntu Linux
    24.04 (1.3.1.2, "Ensure AppArmor is enabled in the bootloader configuration") and the SCAP Security Guide rule
    C(grub2_enable_apparmor) audit with V(apparmor=1) and V(security=apparmor).
  - The GRUB defaults are read as C(grub-mkconfig) sources them, C(/etc/default/grub) and then
    C(/etc/default/grub.d/*.cfg) (the last assignment wins, C($GRUB_CMDLINE_LINUX) extends the value before it).
    Every file that sets a blocking argument is edited in place (only those tokens change); a required argument
    is added to the assignment of C(GRUB_CMDLINE_LINUX) that wins. The planned texts are read back the same way
    before anything is written, and the change is refused when they would still keep AppArmor off. Files are
    written atomically, keeping owner, mode and SELinux label, all of them or, on an error, none. Then the boot
    loader configuration is regenerated the way the distribution does (C(update-grub), else C(grub2-mkconfig) or
    C(grub-mkconfig) into an existing C(grub.cfg)).
  - On a host with C(grubby) and boot loader entries (BLS), the arguments of every kernel entry are changed with
    C(grubby) instead.
  - Refuses to act on a host whose running kernel has SELinux active, since making such a host boot AppArmor
    switches SELinux off. Nothing is changed and the message says so.
  - Never reboots. RV(reboot_required) says whether the running kernel lacks AppArmor.
author:
  - confine.lsm maintainers (@confine-lsm)
extends_documentation_fragment:
  - confine.lsm.attributes
options:
  require_args:
    description:
      - Kernel arguments that must be present in the boot configuration, each C(key=value) with key V(apparmor) or
        V(security), for example V([apparmor=1, security=apparmor]) as the CIS benchmarks ask.
      - An empty list (the default) only removes what keeps AppArmor off; Debian and Ubuntu kernels start AppArmor
        without any argument.
    type: list
    elements: str
    default: []
notes:
  - A C(/etc/kernel/cmdline) (systemd-boot, unified kernel images) that blocks AppArmor is reported in
    RV(kernel_args) and RV(blocking_after) and left alone. Edit it and rebuild the images the way that host does.
  - The boot configuration is read as lsm_status_info reads it, so C(playbooks/verify.yml) passes once this module
    has run.
seealso:
  - module: confine.lsm.lsm_status_info
  - module: confine.lsm.selinux_mode
  - name: CIS Debian Linux 12 Benchmark, 1.3.1.2
    description: Ensure AppArmor is enabled in the bootloader configuration.
    link: https://www.cisecurity.org/benchmark/debian_linux
'''

EXAMPLES = r'''
- name: The next boot starts AppArmor (remove what keeps it off)
  confine.lsm.apparmor_boot_args:
  register: aa_boot

- name: As the CIS benchmarks audit it, with the arguments present
  confine.lsm.apparmor_boot_args:
    require_args: [apparmor=1, security=apparmor]

- name: Reboot when the running kernel has no AppArmor yet
  ansible.builtin.reboot:
  when: aa_boot.reboot_required
'''

RETURN = r'''
kernel_args:
  description:
    - The AppArmor-relevant kernel arguments (V(apparmor), V(security), V(lsm), V(selinux)) before the run, of the
      running kernel (C(cmdline)) and of the boot configuration (C(boot_config), with its C(source)).
    - Each has C(args) (a dict) and C(blocking) (why AppArmor would be off, a list of text).
  returned: always
  type: dict
  sample: {"cmdline": {"args": {}, "blocking": []},
           "boot_config": {"source": "/etc/default/grub", "args": {"apparmor": "0"},
                           "blocking": ["apparmor=0 disables AppArmor"]}}
kernel_args_fixed:
  description: The arguments set or rewritten in the boot configuration (C(key) to its new value).
  returned: always
  type: dict
  sample: {"apparmor": "1"}
boot_files_fixed:
  description: The GRUB defaults files rewritten (or that would be, in check mode); empty when C(grubby) made the change.
  returned: always
  type: list
  elements: str
  sample: ["/etc/default/grub"]
blocking_after:
  description:
    - What still keeps AppArmor off at the next boot after the run, with its source (for example a
      C(/etc/kernel/cmdline) this module does not edit). Empty when the next boot starts AppArmor.
  returned: always
  type: list
  elements: str
  sample: []
reboot_required:
  description: True when the running kernel does not have AppArmor enabled; the fixed boot configuration takes effect at the next boot.
  returned: always
  type: bool
  sample: false
'''


from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa
from ansible_collections.confine.lsm.plugins.module_utils import _bootargs
from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp
from ansible_collections.confine.lsm.plugins.module_utils import _status as st


def main():
    module = AnsibleModule(
        argument_spec=dict(require_args=dict(type='list', elements='str', default=[])),
        supports_check_mode=True,
    )
    try:
        required = _bootargs.aa_required(module.params['require_args'])
    except _bootargs.BootArgsError as exc:
        module.fail_json(msg='%s; nothing was changed' % to_native(exc))
    result = dict(changed=False, kernel_args_fixed={}, boot_files_fixed=[], blocking_after=[],
                  reboot_required=not aa.enabled())
    cmdline = st.parse_aa_args(se.read_cmdline())
    files = se.grub_default_files()
    grubby = _bootargs.grubby_args(module)
    texts = None
    if grubby is not None:
        source, boot = 'grubby', st.parse_aa_args(grubby)
    else:
        try:
            texts = _bootargs.read_texts(files)
        except (inp.InputError, IOError, OSError) as exc:
            module.fail_json(msg='cannot read the GRUB defaults: %s; nothing was changed' % to_native(exc), **result)
        text = se.grub_default_args(files, read=texts.get)
        source = 'none' if text is None else se.grub_defaults_source(files)
        boot = st.parse_aa_args(text or '')
    result['kernel_args'] = {
        'cmdline': {'args': cmdline, 'blocking': st.aa_blocking(cmdline)},
        'boot_config': {'source': source, 'args': boot, 'blocking': _bootargs.aa_reasons(boot, required)},
    }
    uki = st.read_config(st.KERNEL_CMDLINE)  # systemd-boot and unified kernel images: reported, not edited
    result['blocking_after'] = ['%s (%s)' % (r, st.KERNEL_CMDLINE)
                                for r in st.aa_blocking(st.parse_aa_args(uki or ''))]

    change, add = _bootargs.aa_fixes(boot, required)
    if not change and not add:
        module.exit_json(**result)
    if se.active():
        module.fail_json(msg='this host runs SELinux: making its next boot start AppArmor (%s) would switch SELinux '
                             'off; nothing was changed' % ', '.join(result['kernel_args']['boot_config']['blocking']),
                         **result)
    if grubby is None and all(t is None for t in texts.values()):
        module.fail_json(msg='no GRUB defaults (%s, %s/*.cfg) and no grubby with boot loader entries: this host boots '
                             'in a way this module does not edit; nothing was changed' % (files[0], se.GRUB_D),
                         **result)
    result.update(changed=True, kernel_args_fixed=dict(change, **dict(a.split('=', 1) for a in add)))
    if grubby is not None:
        if not module.check_mode:
            _bootargs.grubby_apply(module, change, add)
        module.exit_json(**result)

    try:
        edits = _bootargs.plan_grub(files, texts, change, add)
    except _bootargs.BootArgsError as exc:
        module.fail_json(msg='%s; nothing was changed' % to_native(exc), **result)
    after = st.parse_aa_args(_bootargs.planned_args(files, texts, edits))
    still = _bootargs.aa_reasons(after, required)
    if still:
        module.fail_json(msg='the fixed GRUB defaults would still keep AppArmor off at the next boot (%s): they are '
                             'built in a way this module does not edit; nothing was changed' % '; '.join(still),
                         **result)
    result['boot_files_fixed'] = [path for path, dummy, dummy2 in edits]
    if module._diff:
        result['diff'] = [dict(before=old or '', after=new, before_header=path, after_header=path)
                          for path, old, new in edits]
    if not module.check_mode:
        _bootargs.write_all(module, edits, result)
        warning = _bootargs.regenerate(module, ', '.join(result['boot_files_fixed']))
        if warning:
            result['blocking_after'].append(warning)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
