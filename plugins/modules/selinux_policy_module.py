#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: selinux_policy_module
short_description: Build and load a reviewed SELinux policy module, only when its source matches the reviewed sha256
version_added: 0.2.0
description:
  - Builds a policy module from a type-enforcement source (C(.te), with an optional C(.fc) file-context file) with
    C(checkmodule) and C(semodule_package), or takes a CIL source, and installs it with C(semodule).
  - B(Review gate) - the task must carry the sha256 of the reviewed source (and of the C(.fc) when given). A source
    that differs from what was reviewed is refused before anything is built or loaded, and the error gives both
    hashes. Check mode returns the rules the module would load, for the review.
  - Idempotent by comparing the freshly built package with the module B(as installed) in the policy store (read
    and decompressed from the store), not with a file left on disk; loading the same module again changes nothing.
  - A policy module is the last resort. Prefer a boolean (M(confine.lsm.sebool_persist)) or a file context
    (M(confine.lsm.selinux_fcontext)); M(confine.lsm.lsm_denials_info) says which one fits a denial.
  - O(state=absent) removes the module at O(priority).
  - O(name), O(store) and O(source_path) with a newline, a NUL or another control character are refused, naming
    the value, before anything is read or built. O(source_path) must be a regular file; a FIFO or a device is
    refused without being opened for a blocking read.
author:
  - confine.lsm maintainers (@confine-lsm)
extends_documentation_fragment:
  - confine.lsm.attributes
options:
  name:
    description: The module name; a C(.te) source must declare the same name (C(module NAME 1.0;)).
    type: str
    required: true
  state:
    description: Whether the module should be installed.
    type: str
    choices: [present, absent]
    default: present
  source:
    description: The module source text (C(.te), or CIL with O(format=cil)). Use a C(lookup('file', ...)) of the
      reviewed file. Mutually exclusive with O(source_path).
    type: str
  source_path:
    description: The path of the source on the managed host.
    type: path
  sha256:
    description: The sha256 of the reviewed source text. Required with O(state=present).
    type: str
  fc_source:
    description: File contexts for the module (C(.fc) text), packaged with it. Only with O(format=te).
    type: str
  fc_sha256:
    description: The sha256 of the reviewed O(fc_source). Required when O(fc_source) is given.
    type: str
  format:
    description: The source language.
    type: str
    choices: [te, cil]
    default: te
  priority:
    description: The store priority to install at (and to remove from). 400 is the usual one for local modules.
    type: int
    default: 400
  store:
    description:
      - The policy store. Defaults to C(SELINUXTYPE) from C(/etc/selinux/config).
      - Every C(semodule) call gets it (C(semodule -s STORE)), and the installed module is read from
        C(/var/lib/selinux/STORE), so a store other than the running one is changed, and compared, on its own.
    type: str
requirements:
  - C(checkmodule) (C(checkpolicy)), C(semodule_package) and C(semodule) (C(policycoreutils)).
seealso:
  - module: confine.lsm.lsm_denials_info
  - module: confine.lsm.selinux_fcontext
  - module: confine.lsm.sebool_persist
'''

EXAMPLES = r'''
- name: Load the reviewed module that lets myapp_t read the shared spool (sha256 of the reviewed myapp_spool.te)
  confine.lsm.selinux_policy_module:
    name: myapp_spool
    source: "{{ lookup('ansible.builtin.file', 'policy/myapp_spool.te') }}"
    sha256: 3f0d6c3b0e2a5f1f9a7c6f1e0b7d2c8a4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b

- name: Show what a changed source would load, without loading it
  confine.lsm.selinux_policy_module:
    name: myapp_spool
    source: "{{ lookup('ansible.builtin.file', 'policy/myapp_spool.te') }}"
    sha256: 3f0d6c3b0e2a5f1f9a7c6f1e0b7d2c8a4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b
  check_mode: true

- name: Remove it
  confine.lsm.selinux_policy_module:
    name: myapp_spool
    state: absent
'''

RETURN = r'''
rules:
  description: The statements the source holds (comments and require blocks left out), for the review.
  returned: when O(state=present)
  type: list
  elements: str
  sample: ["allow httpd_t var_t:file { getattr open read };"]
sha256:
  description: The sha256 of the source (as reviewed).
  returned: when O(state=present)
  type: str
package_sha256:
  description: The sha256 of the built package, compared with the installed module.
  returned: when O(state=present) and the tools ran
  type: str
installed_before:
  description: Priorities the module was installed at before, with the sha256 of each installed package.
  returned: always
  type: dict
  sample: {"400": "69c3d86e..."}
action:
  description: V(none), V(install), V(replace) or V(remove).
  returned: always
  type: str
store:
  description: The policy store used.
  returned: always
  type: str
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _semodule as sm
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp

STORE_ROOT = '/var/lib/selinux'


def run(module, argv, what, result):
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg='%s failed (rc=%d), nothing was loaded: %s' % (what, rc, (err or out).strip()), **result)
    return out


def build(module, p, source, result):
    """Build the package in the module's temp dir; return its path. Nothing outside the temp dir is touched."""
    work = os.path.join(module.tmpdir, 'semodule')
    os.makedirs(work)
    if p['format'] == 'cil':
        path = os.path.join(work, p['name'] + '.cil')
        with open(path, 'w') as f:
            f.write(sm.canonical(source))
        return path
    te = os.path.join(work, p['name'] + '.te')
    mod = os.path.join(work, p['name'] + '.mod')
    pp = os.path.join(work, p['name'] + '.pp')
    with open(te, 'w') as f:
        f.write(sm.canonical(source))
    run(module, [module.get_bin_path('checkmodule', required=True), '-M', '-m', '-o', mod, te],
        'checkmodule (compiling %s)' % p['name'], result)
    argv = [module.get_bin_path('semodule_package', required=True), '-o', pp, '-m', mod]
    if p['fc_source']:
        fcp = os.path.join(work, p['name'] + '.fc')
        with open(fcp, 'w') as f:
            f.write(sm.canonical(p['fc_source']))
        argv += ['-f', fcp]
    run(module, argv, 'semodule_package', result)
    return pp


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            source=dict(type='str'),
            source_path=dict(type='path'),
            sha256=dict(type='str'),
            fc_source=dict(type='str'),
            fc_sha256=dict(type='str'),
            format=dict(type='str', default='te', choices=['te', 'cil']),
            priority=dict(type='int', default=400),
            store=dict(type='str'),
        ),
        mutually_exclusive=[('source', 'source_path')],
        required_if=[('state', 'present', ('source', 'source_path'), True), ('state', 'present', ('sha256',))],
        required_together=[('fc_source', 'fc_sha256')],
        supports_check_mode=True,
    )
    p = module.params
    name = p['name']
    try:
        inp.check_text('name', name)
        inp.check_store(p['store'])
        inp.check_path('source_path', p['source_path'])
    except inp.InputError as exc:
        module.fail_json(msg=to_native(exc), changed=False, action='none', store=p['store'], installed_before={})
    if not sm.NAME.fullmatch(name):
        module.fail_json(msg='name %r is not a valid module name (a letter, then letters, digits, "_", "." or "-"); '
                             'nothing was changed' % name, changed=False, action='none', store=p['store'],
                         installed_before={})
    store = p['store'] or cfg.default_store_or_fail(module)
    result = dict(changed=False, action='none', store=store, installed_before={})
    if not 1 <= p['priority'] <= 999:
        module.fail_json(msg='priority %d: must be 1 to 999' % p['priority'], **result)
    if not os.path.isdir(os.path.join(STORE_ROOT, store)):
        module.fail_json(msg='policy store %r is not installed (no %s)' % (store, os.path.join(STORE_ROOT, store)),
                         **result)
    before = sm.installed(STORE_ROOT, store, name)
    result['installed_before'] = dict((str(k), v) for k, v in sorted(before.items()))
    semodule = module.get_bin_path('semodule', required=True)

    if p['state'] == 'absent':
        if p['priority'] in before:
            result.update(changed=True, action='remove')
            if module._diff:
                result['diff'] = dict(before='%s at priority %d\n' % (name, p['priority']), after='')
            if not module.check_mode:
                run(module, [semodule, '-s', store, '-X', str(p['priority']), '-r', name], 'semodule -r %s' % name,
                    result)
        module.exit_json(**result)

    source = p['source']
    if p['source_path']:
        try:
            source = inp.read_regular(p['source_path'], 'source_path')
        except inp.InputError as exc:
            module.fail_json(msg=to_native(exc), **result)
        except (IOError, OSError) as exc:
            module.fail_json(msg='cannot read source_path %s: %s' % (p['source_path'], to_native(exc)), **result)
        if source is None:
            module.fail_json(msg='source_path %s does not exist; nothing was changed' % p['source_path'], **result)
    if p['fc_source'] and p['format'] == 'cil':
        module.fail_json(msg='fc_source is for format=te; put file contexts in the CIL source', **result)
    result['rules'] = sm.rules_of(source, p['format'])
    try:
        result['sha256'] = sm.check_review('the source of module %s' % name, source, p['sha256'])
        if p['fc_source']:
            sm.check_review('the file contexts (fc_source) of module %s' % name, p['fc_source'], p['fc_sha256'])
    except sm.ModuleError as exc:
        module.fail_json(msg=to_native(exc), **result)
    if p['format'] == 'te':
        declared = sm.te_module_name(source)
        if declared != name:
            module.fail_json(msg='the source declares module %r, the task names %r: they must match'
                             % (declared, name), **result)

    package = build(module, p, source, result)
    with open(package, 'rb') as f:
        result['package_sha256'] = sm.hashlib.sha256(f.read()).hexdigest()
    if before.get(p['priority']) == result['package_sha256'] and not sm.disabled(STORE_ROOT, store, name):
        module.exit_json(**result)
    result.update(changed=True, action='replace' if p['priority'] in before else 'install')
    if module._diff:
        result['diff'] = dict(before='' if p['priority'] not in before else
                              '%s at priority %d (sha256 %s)\n' % (name, p['priority'], before[p['priority']]),
                              after='\n'.join(result['rules']) + '\n',
                              after_header='%s (rules to load)' % name)
    if not module.check_mode:
        run(module, [semodule, '-s', store, '-X', str(p['priority']), '-i', package], 'semodule -i %s' % name,
            result)
        if sm.disabled(STORE_ROOT, store, name):
            run(module, [semodule, '-s', store, '-e', name], 'semodule -e %s' % name, result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
