#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: selinux_permissive
short_description: Make SELinux domains permissive or enforcing again, many in one policy transaction
version_added: 0.3.0
description:
  - Adds and takes out local permissive domains (what C(semanage permissive -a/-d) does), any number in B(one)
    libsemanage transaction with one commit, so ten domains cost one policy rebuild, not ten. When nothing differs,
    nothing is committed.
  - A permissive domain logs its denials and allows everything. Making one permissive is a B(lowering), the SELinux
    step of tuning (permissive domain, exercise, refine, enforce); it fails unless O(allow_weaken=true) and is then
    listed in RV(weakened). Taking one out is a strengthening and never needs it.
  - With O(purge=true) every local permissive domain that O(domains) does not name is taken out in the same
    transaction.
  - Every domain to add is checked to be a domain type of the policy (read by setools from the store's binary
    policy), with close matches for a misspelt one. A domain the policy itself makes permissive cannot be taken out
    locally and fails, naming it.
  - Works offline, when SELinux is not active in the kernel.
  - Uses the libsemanage Python bindings, which exist only for the system Python; when the interpreter running the
    module lacks them, the module re-runs itself under the system Python.
author:
  - confine.lsm maintainers (@confine-lsm)
extends_documentation_fragment:
  - confine.lsm.attributes
  - confine.lsm.allow_weaken
options:
  domains:
    description:
      - The domains and the state wanted.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The domain (process type), for example V(httpd_t).
        type: str
        required: true
      state:
        description:
          - V(present) makes it permissive (a lowering); V(absent) takes the local permissive mark out.
        type: str
        choices: [present, absent]
        default: present
      reason:
        description:
          - Why the domain is made permissive (a change ticket, the tuning run); RV(weakened) carries it, so the
            report says why protection was lowered.
        type: str
  purge:
    description:
      - Take out every local permissive domain that O(domains) does not name and O(keep) does not match, in the same
        transaction.
    type: bool
    default: false
  keep:
    description:
      - Glob patterns (C(fnmatch), for example V(myapp_*)) of local permissive domains a purge leaves in place, such as
        domains still being tuned. Has an effect only with O(purge=true).
    type: list
    elements: str
    default: []
  reload:
    description:
      - Load the rebuilt policy into the running kernel when SELinux is active there and O(store) is the running
        policy's store.
    type: bool
    default: true
  store:
    description:
      - The policy store to change. Defaults to C(SELINUXTYPE) from C(/etc/selinux/config), read as libselinux reads
        it.
    type: str
requirements:
  - libsemanage Python bindings for the system Python (C(python3-semanage) on Debian and Ubuntu,
    C(python3-libsemanage) on Fedora and RHEL)
  - setools (C(python3-setools)) to check the domains before the commit (optional)
notes:
  - Each commit rebuilds the policy (tens of seconds on a small VM), which is why every change goes into one.
seealso:
  - module: confine.lsm.lsm_status_info
  - module: community.general.selinux_permissive
'''

EXAMPLES = r'''
- name: Tune httpd_t - permissive while the exercise runs (a recorded lowering)
  confine.lsm.selinux_permissive:
    domains:
      - name: httpd_t
    allow_weaken: true

- name: Tune myapp_t with the reason the report prints
  confine.lsm.selinux_permissive:
    domains:
      - name: myapp_t
        reason: CHG-1234, tuning the new release
    allow_weaken: true

- name: Every local permissive domain taken out again, in one rebuild
  confine.lsm.selinux_permissive:
    domains: []
    purge: true

- name: All taken out but the ones still being tuned
  confine.lsm.selinux_permissive:
    domains: []
    purge: true
    keep: [myapp_*]
'''

RETURN = r'''
added:
  description: Domains made permissive (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [httpd_t]
removed:
  description: Domains whose local permissive mark was taken out (or would be).
  returned: always
  type: list
  elements: str
weakened:
  description: One line per domain made permissive (only with O(allow_weaken=true)).
  returned: always
  type: list
  elements: str
  sample: ["permissive domain added: httpd_t (CHG-1234)"]
commits:
  description: Policy store commits made (or needed in check mode); 0 when nothing differed, else 1.
  returned: always
  type: int
store:
  description: The policy store used.
  returned: always
  type: str
type_check:
  description: How the domains were checked before the commit, V(setools) or V(libsemanage) (at commit only).
  returned: always
  type: str
reloaded:
  description: Whether the running policy was reloaded by the commit.
  returned: always
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp
from ansible_collections.confine.lsm.plugins.module_utils import _sepermissive as pm
from ansible_collections.confine.lsm.plugins.module_utils import _status
from ansible_collections.confine.lsm.plugins.module_utils import _store_task as task


def main():
    module = AnsibleModule(
        argument_spec=dict(
            domains=dict(type='list', elements='dict', required=True, options=pm.entry_options()),
            purge=dict(type='bool', default=False),
            keep=dict(type='list', elements='str', default=[]),
            reload=dict(type='bool', default=True),
            allow_weaken=dict(type='bool', default=False),
            store=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    entries = task.entries_or_fail(module, lambda p: pm.check_input(p['domains'], p['keep'], p['store']),
                                   (inp.InputError, pm.PermissiveError), 'domains')
    task.bindings_or_fail(module, pm.semanage)
    store = p['store'] or cfg.default_store_or_fail(module)
    result = dict(changed=False, added=[], removed=[], weakened=[], commits=0, store=store,
                  type_check='libsemanage', reloaded=False)
    read = _status.policy_types(_status.import_policyrep(), _status.policy_file(store), 'domain')
    if read is None:
        module.warn('setools could not read the policy of store %s (is python3-setools installed?): the domains are '
                    'checked by libsemanage at commit only' % store)
    handle = task.open_or_fail(module, pm.PermissiveStore, store, result)
    try:
        run(module, handle, entries, read, result)
    finally:
        handle.close()


def run(module, handle, entries, read, result):
    p = module.params
    try:
        planned = pm.plan_task(handle, entries, read, purge=p['purge'], keep=p['keep'])
    except pm.PermissiveError as exc:
        module.fail_json(msg=to_native(exc), **result)
    result['type_check'] = planned['type_check']
    if planned['errors']:
        module.fail_json(msg='; '.join(planned['errors']) + '; nothing was changed', **result)
    add, remove = planned['add'], planned['remove']
    if planned['weakened'] and not p['allow_weaken']:
        module.fail_json(msg=pm.refusal(add), **result)
    changed = bool(add or remove)
    result.update(added=add, removed=remove, weakened=planned['weakened'], changed=changed, commits=1 if changed else 0)
    if changed and module._diff:
        result['diff'] = pm.diff(planned, result['store'])
    if changed and not module.check_mode:
        live = p['reload'] and task.live_store(result['store'])
        try:
            handle.commit_plan(add, remove, reload_policy=live)
        except (pm.PermissiveError, sb.BoolError) as exc:
            module.fail_json(msg=to_native(exc), **result)
        result['reloaded'] = bool(live)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
