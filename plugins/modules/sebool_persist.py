#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sebool_persist
short_description: Set many SELinux booleans, persistently and live, in one policy transaction
version_added: 0.2.0
description:
  - Sets any number of SELinux booleans in the policy store (persistent) and in the running policy.
  - All persistent changes go into B(one) libsemanage transaction with one commit, so ten booleans cost one policy
    rebuild, not ten. When nothing differs, nothing is committed.
  - Persistent and running values are compared separately. A boolean whose running value drifted (someone ran
    C(setsebool X off) without C(-P)) is set back live, without a policy rebuild.
  - Unknown boolean names fail the task before anything changes, listing every unknown name with close matches.
  - A boolean name or O(store) with a newline, a NUL or another control character (libsemanage would stop at the
    NUL and change the boolean named by what comes before it) fails before anything is read, naming the value.
  - Works offline, when SELinux is not active in the kernel (for example in a container or before the first
    SELinux boot); the store is changed and the running part is reported as skipped.
  - Uses the libsemanage and libselinux Python bindings, which exist only for the system Python. When the
    interpreter running the module lacks them, the module re-runs itself under the system Python. Where no
    interpreter has them, it falls back to one C(setsebool -P a=1 b=0 ...) call, which needs SELinux active.
author:
  - confine.lsm maintainers (@confine-lsm)
extends_documentation_fragment:
  - confine.lsm.attributes
options:
  booleans:
    description:
      - Boolean names and the values wanted. Values accept V(on)/V(off), V(yes)/V(no), V(true)/V(false), V(1)/V(0).
    type: dict
    required: true
  persistent:
    description:
      - Set the values in the policy store, so they survive reboots and policy reloads.
    type: bool
    default: true
  runtime:
    description:
      - Set the running values too (when SELinux is active in the kernel).
    type: bool
    default: true
  store:
    description:
      - The policy store to change. Defaults to C(SELINUXTYPE) from C(/etc/selinux/config) (read as libselinux
        reads it; only an ambiguous C(SELINUXTYPE) setting fails the lookup).
      - A store other than the one C(/etc/selinux/config) names is not the running policy's, so only its persistent
        values are changed; RV(runtime_skipped) says so. The C(setsebool) fallback cannot change such a store and
        fails.
    type: str
requirements:
  - libsemanage and libselinux Python bindings for the system Python (C(python3-semanage) and
    C(python3-selinux) on Debian and Ubuntu; C(python3-libsemanage) and C(python3-libselinux) on Fedora and RHEL)
notes:
  - A commit rebuilds the policy in the store, which takes seconds; that is why every change goes into one commit.
    The rebuilt policy is not loaded into the running kernel (C(setsebool -P) and M(ansible.posix.seboolean) do not
    load it either); the running values are set directly, which is the only part of the kernel's policy a boolean
    changes.
seealso:
  - module: confine.lsm.selinux_mode
  - module: ansible.posix.seboolean
'''

EXAMPLES = r'''
- name: Let the web server reach the network and read user content, in one transaction
  confine.lsm.sebool_persist:
    booleans:
      httpd_can_network_connect: true
      httpd_read_user_content: "on"  # on/off, yes/no and 1/0 work too
      ftpd_full_access: false

- name: Only fix the running values (a temporary change that a reboot undoes)
  confine.lsm.sebool_persist:
    booleans:
      httpd_can_network_connect: true
    persistent: false
'''

RETURN = r'''
changes:
  description: One entry per boolean that changed (or would change in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The boolean.
      type: str
      returned: always
    before:
      description: Values before, C(persistent) and C(runtime) (null where unknown or SELinux is inactive).
      type: dict
      returned: always
      sample: {"persistent": false, "runtime": false}
    after:
      description: Values after.
      type: dict
      returned: always
      sample: {"persistent": true, "runtime": true}
commits:
  description: Policy store commits made (or needed in check mode); 0 when no persistent value differed, else 1.
  returned: always
  type: int
  sample: 1
runtime_skipped:
  description: Why running values were not handled, or null.
  returned: always
  type: str
  sample: SELinux is not active in the running kernel
store:
  description: The policy store used.
  returned: always
  type: str
  sample: targeted
backend:
  description: How values were read and written, V(libsemanage) or the fallback V(setsebool).
  returned: always
  type: str
  sample: libsemanage
'''

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp
from ansible_collections.confine.lsm.plugins.module_utils import _respawn
from ansible_collections.confine.lsm.plugins.module_utils import _store_task as task


STORE_ROOTS = ('/var/lib/selinux', '/etc/selinux')


def read_local_overrides(store):
    """Persistent local values from the store's booleans.local (fallback path only). A booleans.local that is not a
    regular file raises _selinux_input.InputError."""
    found = {}
    text = None
    for base in STORE_ROOTS:
        try:
            text = inp.read_regular(os.path.join(base, store, 'active', 'booleans.local'), 'booleans.local')
        except (IOError, OSError):
            text = None
        if text:
            break
    for line in (text or '').splitlines():
        name, sep, value = line.partition('=')
        if sep:
            found[name.strip()] = value.strip() == '1'
    return found


def main():
    module = AnsibleModule(
        argument_spec=dict(
            booleans=dict(type='dict', required=True),
            persistent=dict(type='bool', default=True),
            runtime=dict(type='bool', default=True),
            store=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    wanted, errors = sb.wanted_values(p['booleans'])
    try:
        inp.check_store(p['store'])
    except inp.InputError as exc:
        errors.append(to_native(exc).replace('; nothing was changed', ''))
    if errors:
        module.fail_json(msg='; '.join(errors) + '; nothing was changed')
    if not wanted:
        module.fail_json(msg='booleans is empty: name at least one boolean')

    if not sb.HAS_BINDINGS:
        _respawn.into_system_python('selinux, semanage')  # returns only when no system Python has the bindings

    store = p['store'] or cfg.default_store_or_fail(module)
    result = dict(changed=False, changes=[], commits=0, runtime_skipped=None, store=store,
                  backend='libsemanage' if sb.HAS_BINDINGS else 'setsebool')
    other_store = task.other_store_reason(p['store'])
    if sb.HAS_BINDINGS:
        run_semanage(module, wanted, store, result, other_store)
    else:
        run_fallback(module, wanted, store, result, other_store)


def finish(module, wanted, persistent_now, runtime_now, result, apply, other_store=None):
    p = module.params
    changes, persistent_set, runtime_set = sb.plan(wanted, persistent_now, runtime_now,
                                                   persistent=p['persistent'], runtime=p['runtime'] and not other_store)
    result['runtime_skipped'] = sb.skipped_reason(runtime_now, p['runtime'], other_store)
    result['changes'] = changes
    result['commits'] = 1 if persistent_set else 0
    result['changed'] = bool(changes)
    if changes and module._diff:
        before = dict((c['name'], c['before']) for c in changes)
        after = dict((c['name'], c['after']) for c in changes)
        result['diff'] = sb.diff_of('SELinux booleans', result['store'], sb.render(before), sb.render(after))
    if changes and not module.check_mode:
        try:
            apply(persistent_set, runtime_set)
        except sb.BoolError as exc:
            module.fail_json(msg=to_native(exc), **result)
    module.exit_json(**result)


def run_semanage(module, wanted, store, result, other_store=None):
    try:
        handle = sb.Store(store)
    except sb.BoolError as exc:
        module.fail_json(msg=to_native(exc), **result)
    try:
        persistent_now = handle.values(wanted)
        unknown = [n for n in wanted if n not in persistent_now]
        if unknown:
            module.fail_json(msg=sb.unknown_message(unknown, handle.names()), **result)
        runtime_now = sb.runtime_values(wanted)

        def apply(persistent_set, runtime_set):
            if persistent_set:  # no policy load: the kernel's part of a boolean change is its running value
                handle.commit(persistent_set)
            if runtime_set:
                sb.set_runtime_where_differs(runtime_set)

        finish(module, wanted, persistent_now, runtime_now, result, apply, other_store)
    finally:
        handle.close()


def run_fallback(module, wanted, store, result, other_store=None):
    if other_store:
        module.fail_json(msg=missing_required_lib('libsemanage and libselinux Python bindings (python3-semanage, '
                                                  'python3-selinux)') + ' The setsebool fallback changes only the '
                         'store of the running policy, and %s; nothing was changed' % other_store,
                         exception=to_native(sb.BINDINGS_ERROR), **result)
    runtime_now = sb.runtime_values_from_fs(wanted)
    if runtime_now is None:
        module.fail_json(msg=missing_required_lib('libsemanage and libselinux Python bindings (python3-semanage, '
                                                  'python3-selinux)') + ' SELinux is not active either, so the '
                         'setsebool fallback cannot work.', exception=to_native(sb.BINDINGS_ERROR), **result)
    setsebool = module.get_bin_path('setsebool', required=True)
    known = sb.runtime_names()
    unknown = [n for n in wanted if n not in known]
    if unknown:
        module.fail_json(msg=sb.unknown_message(unknown, known), **result)
    try:
        local = read_local_overrides(store)
    except inp.InputError as exc:
        module.fail_json(msg=to_native(exc), **result)
    persistent_now = dict((n, local.get(n, runtime_now.get(n))) for n in wanted)

    def apply(persistent_set, runtime_set):
        if persistent_set:
            todo = dict(runtime_set)
            todo.update(persistent_set)
            module.run_command([setsebool, '-P'] + ['%s=%d' % (n, v) for n, v in sorted(todo.items())],
                               check_rc=True)
        elif runtime_set:
            module.run_command([setsebool] + ['%s=%d' % (n, v) for n, v in sorted(runtime_set.items())],
                               check_rc=True)

    finish(module, wanted, persistent_now, runtime_now, result, apply)


if __name__ == '__main__':
    main()
