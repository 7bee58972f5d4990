#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: selinux_login
short_description: Map Linux users and groups to SELinux users in one policy transaction
version_added: 0.3.0
description:
  - Maps Linux logins (a user, a C(%group), or C(__default__) for every login without a mapping of its own) to an
    SELinux user and MLS/MCS range (what C(semanage login -a/-m/-d) does), any number of them in B(one) libsemanage
    transaction with one commit. When nothing differs, nothing is committed.
  - Confining people is part of confining the host. A login whose effective SELinux user becomes an unconfined one
    (O(unconfined_users), C(unconfined_u) by default) from a confined one is a B(weakening) and fails unless
    O(allow_weaken=true); it is then listed in RV(weakened). Mapping C(__default__) so loosens every login without
    a mapping of its own.
  - A Linux user or group that does not exist on the host, or an SELinux user the policy does not define (with close
    matches), fails before anything changes.
  - With O(purge=true), every local mapping that O(logins) does not name is removed in the B(same) transaction that
    adds the declared ones (a removal that leaves a login unconfined is a weakening as above).
  - Works offline, when SELinux is not active in the kernel. New mappings apply to new login sessions.
  - Uses the libsemanage Python bindings, which exist only for the system Python; when the interpreter running the
    module lacks them, the module re-runs itself under the system Python.
author:
  - confine.lsm maintainers (@confine-lsm)
extends_documentation_fragment:
  - confine.lsm.attributes
  - confine.lsm.allow_weaken
options:
  logins:
    description:
      - The login mappings wanted.
    type: list
    elements: dict
    required: true
    suboptions:
      login:
        description:
          - A Linux user name, C(%group), or C(__default__).
        type: str
        required: true
      seuser:
        description:
          - The SELinux user, for example V(user_u) or V(staff_u). Required with O(logins[].state=present).
        type: str
      serange:
        description:
          - The MLS/MCS range. An entry without one matches any range; a new mapping gets V(s0) where the policy has
            MLS/MCS (as semanage gives it).
        type: str
      state:
        description:
          - V(present) maps the login; V(absent) removes its local mapping (the policy's own, else C(__default__)'s,
            applies again). C(__default__) cannot be removed.
        type: str
        choices: [present, absent]
        default: present
  purge:
    description:
      - Remove every local login mapping that O(logins) does not name, in the same transaction.
    type: bool
    default: false
  unconfined_users:
    description:
      - SELinux users that confine nothing; moving a login to one of them is a weakening.
    type: list
    elements: str
    default: [unconfined_u]
  store:
    description:
      - The policy store to change. Defaults to C(SELINUXTYPE) from C(/etc/selinux/config), read as libselinux reads
        it.
    type: str
requirements:
  - libsemanage Python bindings for the system Python (C(python3-semanage) on Debian and Ubuntu,
    C(python3-libsemanage) on Fedora and RHEL)
seealso:
  - module: confine.lsm.selinux_port
  - module: community.general.selogin
'''

EXAMPLES = r'''
- name: Confine the people who log in, in one transaction
  confine.lsm.selinux_login:
    logins:
      - login: "%developers"
        seuser: user_u
      - login: alice
        seuser: staff_u
        serange: s0-s0:c0.c1023

- name: Exactly these local mappings, nothing else
  confine.lsm.selinux_login:
    logins:
      - login: alice
        seuser: staff_u
    purge: true

- name: A login unconfined on purpose (a weakening, so said out loud)
  confine.lsm.selinux_login:
    logins:
      - login: breakglass
        seuser: unconfined_u
    allow_weaken: true
'''

RETURN = r'''
changes:
  description: One entry per login whose mapping changed (or would change in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    login:
      description: The login.
      type: str
      returned: always
    before:
      description: The SELinux user the login got before (its own mapping, else C(__default__)'s).
      type: str
      returned: always
      sample: unconfined_u
    before_range:
      description: Its range before.
      type: str
      returned: always
    after:
      description: The SELinux user it gets after.
      type: str
      returned: always
      sample: user_u
    after_range:
      description: Its range after.
      type: str
      returned: always
    purged:
      description: Whether the entry is a removal by O(purge).
      type: bool
      returned: always
weakened:
  description: Logins moved from a confined SELinux user to an unconfined one (only with O(allow_weaken=true)).
  returned: always
  type: list
  elements: str
  sample: ["login breakglass: user_u -> unconfined_u (unconfined)"]
commits:
  description: Policy store commits made (or needed in check mode); 0 when nothing differed, else 1.
  returned: always
  type: int
store:
  description: The policy store used.
  returned: always
  type: str
  sample: default
'''


from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp
from ansible_collections.confine.lsm.plugins.module_utils import _selogin as sl
from ansible_collections.confine.lsm.plugins.module_utils import _store_task as task


def main():
    module = AnsibleModule(
        argument_spec=dict(
            logins=dict(type='list', elements='dict', required=True, options=sl.entry_options()),
            purge=dict(type='bool', default=False),
            unconfined_users=dict(type='list', elements='str', default=list(sl.UNCONFINED)),
            allow_weaken=dict(type='bool', default=False),
            store=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    entries = task.entries_or_fail(module, lambda p: sl.check_input(p['logins'], p['unconfined_users'], p['store']),
                                   (inp.InputError, sl.LoginError), 'logins')
    task.bindings_or_fail(module, sl.semanage)
    store = p['store'] or cfg.default_store_or_fail(module)
    result = dict(changed=False, changes=[], weakened=[], commits=0, store=store)
    handle = task.open_or_fail(module, sl.LoginStore, store, result)
    try:
        run(module, handle, entries, result)
    finally:
        handle.close()


def run(module, handle, entries, result):
    p = module.params
    try:
        planned = sl.plan_task(handle, entries, purge=p['purge'], unconfined=p['unconfined_users'])
    except sl.LoginError as exc:
        module.fail_json(msg=to_native(exc), **result)
    if planned['errors']:
        module.fail_json(msg='; '.join(planned['errors']) + '; nothing was changed', **result)
    changes, weakened = planned['changes'], planned['weakened']
    if weakened and not p['allow_weaken']:
        module.fail_json(msg=sl.refusal(weakened), **result)
    result.update(changes=changes, weakened=weakened, changed=bool(changes), commits=1 if changes else 0)
    if changes and module._diff:
        result['diff'] = sl.diff(planned, result['store'])
    if changes and not module.check_mode:
        try:
            handle.commit_plan(planned['modify'], planned['delete'], reload_policy=task.live_store(result['store']))
        except (sl.LoginError, sb.BoolError) as exc:
            module.fail_json(msg=to_native(exc), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
