#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: selinux_port
short_description: Label many SELinux network ports in one policy transaction
version_added: 0.3.0
description:
  - Sets the SELinux type of network ports and port ranges (what C(semanage port -a/-m/-d) does), any number of them
    in B(one) libsemanage transaction with one commit. When nothing differs, nothing is committed.
  - The least-power fix for a C(name_bind) or C(name_connect) denial on a port is one port label (for example
    C(http_port_t) for tcp/8123 so the web server may bind it), not a policy module that lets the domain use every
    port of a kind. M(confine.lsm.lsm_denials_info) suggests the label and the candidate types.
  - A port the policy already labels with another type is relabelled by a local record (libsemanage's modify); a
    port the policy already labels with the wanted type needs nothing.
  - A range that overlaps an existing range of the same protocol without one holding the other fails, naming both
    (the shared ports would get whichever type the narrower range has). A range inside a wider one is a normal
    override.
  - Every C(setype) is checked to be a type of the policy with the C(port_type) attribute (read by setools from the
    store's binary policy) before anything changes; unknown types get close matches. Without setools the check is
    left to libsemanage, which refuses an undefined type at commit, and a warning says so.
  - With O(purge=true), every local port record that O(ports) does not name is removed in the B(same) transaction
    that adds the declared ones, so there is no moment in which neither the old nor the new labels hold.
  - Works offline, when SELinux is not active in the kernel (a container, before the first SELinux boot).
  - Uses the libsemanage Python bindings, which exist only for the system Python; when the interpreter running the
    module lacks them, the module re-runs itself under the system Python.
author:
  - confine.lsm maintainers (@confine-lsm)
extends_documentation_fragment:
  - confine.lsm.attributes
options:
  ports:
    description:
      - The port labels wanted.
    type: list
    elements: dict
    required: true
    suboptions:
      port:
        description:
          - A port number (V(8123)) or an inclusive range (V(8000-8010)), 1 to 65535.
        type: raw
        required: true
      protocol:
        description:
          - The protocol.
        type: str
        choices: [tcp, udp, sctp, dccp]
        default: tcp
      setype:
        description:
          - The port type, for example V(http_port_t). Required with O(ports[].state=present).
          - With O(ports[].state=absent), naming the type the policy itself gives the exact range (and no local
            record exists) fails, since a local change cannot take that label away.
        type: str
      selevel:
        description:
          - The MLS/MCS level of the label. Defaults to V(s0) where the policy has MLS/MCS, and none otherwise.
        type: str
      state:
        description:
          - V(present) labels the port; V(absent) removes the local label (the policy's own label, if any, applies
            again).
        type: str
        choices: [present, absent]
        default: present
  purge:
    description:
      - Remove every local port label that O(ports) does not name, in the same transaction.
      - RV(changes) lists each such removal with C(purged=true); check mode lists them without removing.
    type: bool
    default: false
  reload:
    description:
      - Load the rebuilt policy into the running kernel after the commit, when SELinux is active there and O(store)
        is the running policy's store. V(false) changes only the store; the labels apply at the next policy load.
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
  - setools (C(python3-setools)) to check the types before the commit (optional)
notes:
  - Port labels are local records merged into the policy at commit; no module is recompiled, so a commit costs far
    less than a policy module. Still, every change of one run goes into one commit.
seealso:
  - module: confine.lsm.lsm_denials_info
  - module: confine.lsm.sebool_persist
  - module: confine.lsm.selinux_fcontext
  - module: community.general.seport
'''

EXAMPLES = r'''
- name: Let nginx (httpd_t) listen on 8123 and a metrics range, one commit
  confine.lsm.selinux_port:
    ports:
      - port: 8123
        setype: http_port_t
      - port: 9100-9110
        protocol: tcp
        setype: http_port_t

- name: Exactly these local port labels, nothing else (removed in the same transaction)
  confine.lsm.selinux_port:
    ports:
      - port: 8123
        setype: http_port_t
    purge: true

- name: Take a local label away again
  confine.lsm.selinux_port:
    ports:
      - port: 8123
        state: absent
'''

RETURN = r'''
changes:
  description: One entry per port label that changed (or would change in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    port:
      description: The port or range.
      type: str
      returned: always
      sample: "8123"
    protocol:
      description: The protocol.
      type: str
      returned: always
      sample: tcp
    before:
      description: The type before (a local record's, else the policy's), or null where the port had none.
      type: str
      returned: always
      sample: null
    after:
      description: The type after, or null (a local label removed from a port the policy does not label).
      type: str
      returned: always
      sample: http_port_t
    local_before:
      description: Whether a local record existed before.
      type: bool
      returned: always
    purged:
      description: Whether the entry is a removal by O(purge).
      type: bool
      returned: always
commits:
  description: Policy store commits made (or needed in check mode); 0 when nothing differed, else 1.
  returned: always
  type: int
  sample: 1
store:
  description: The policy store used.
  returned: always
  type: str
  sample: default
type_check:
  description: How the types were checked before the commit, V(setools) or V(libsemanage) (at commit only).
  returned: always
  type: str
  sample: setools
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
from ansible_collections.confine.lsm.plugins.module_utils import _seport as sp
from ansible_collections.confine.lsm.plugins.module_utils import _status
from ansible_collections.confine.lsm.plugins.module_utils import _store_task as task


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ports=dict(type='list', elements='dict', required=True, options=sp.entry_options()),
            purge=dict(type='bool', default=False),
            reload=dict(type='bool', default=True),
            store=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    entries = task.entries_or_fail(module, lambda p: sp.check_input(p['ports'], p['store']),
                                   (inp.InputError, sp.PortError), 'ports')
    task.bindings_or_fail(module, sp.semanage)
    store = p['store'] or cfg.default_store_or_fail(module)
    result = dict(changed=False, changes=[], commits=0, store=store, type_check='libsemanage', reloaded=False)
    read = _status.policy_types(_status.import_policyrep(), _status.policy_file(store), 'port_type')
    if read is None:
        module.warn('setools could not read the policy of store %s (is python3-setools installed?): the port types '
                    'are checked by libsemanage at commit only' % store)
    handle = task.open_or_fail(module, sp.PortStore, store, result)
    try:
        run(module, handle, entries, read, result)
    finally:
        handle.close()


def run(module, handle, entries, read, result):
    p = module.params
    try:
        planned = sp.plan_task(handle, entries, read, purge=p['purge'])
    except sp.PortError as exc:
        module.fail_json(msg=to_native(exc), **result)
    result['type_check'] = planned['type_check']
    if planned['errors']:
        module.fail_json(msg='; '.join(planned['errors']) + '; nothing was changed', **result)
    changes = planned['changes']
    result.update(changes=changes, changed=bool(changes), commits=1 if changes else 0)
    if changes and module._diff:
        result['diff'] = sp.diff(planned, result['store'])
    if changes and not module.check_mode:
        live = p['reload'] and task.live_store(result['store'])
        try:
            handle.commit_plan(planned['modify'], planned['delete'], reload_policy=live)
        except (sp.PortError, sb.BoolError) as exc:
            module.fail_json(msg=to_native(exc), **result)
        result['reloaded'] = bool(live)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
