#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: selinux_local
short_description: Set SELinux booleans, permissive domains, port labels, login mappings and file contexts in one commit
version_added: 0.3.0
description:
  - Applies local policy-store modifications of five kinds at once, booleans (what C(setsebool -P) does),
    permissive domains (C(semanage permissive)), port labels (C(semanage port)), login mappings
    (C(semanage login)) and file-context rules (C(semanage fcontext)), in B(one) libsemanage transaction with B(one)
    commit. Each commit rebuilds the policy (a
    boolean or a port re-expands the kernel policy, a permissive domain recompiles every module, tens of seconds of
    CPU on a small emulated host), so one commit for all of them costs about what the most expensive kind alone
    costs (measured on a lab VM, one task took 0.60 of the time and CPU of the four modules of these kinds).
    When nothing differs, nothing is committed.
  - Every kind is planned and checked exactly as its own module does it (M(confine.lsm.sebool_persist),
    M(confine.lsm.selinux_permissive), M(confine.lsm.selinux_port), M(confine.lsm.selinux_login)); any error in
    any kind (an unknown boolean, a type the policy lacks, a conflicting port range, a Linux user the host lacks)
    fails the task naming every bad value, and nothing of any kind is changed.
  - Lowerings need O(allow_weaken=true) and are listed in RV(weakened) with their reasons, whatever kind they come
    from (making a domain permissive, mapping a login to an unconfined SELinux user); without it the task fails
    before anything changes and names them.
  - Each purge option removes the local records of its kind that the task does not name in the B(same) transaction
    that adds the declared ones, so there is no moment without either.
  - Running boolean values are set too when SELinux is active and O(store) is the running policy's store, directly
    and without a rebuild (what a reload already set is left alone). A commit of booleans alone does not load the
    rebuilt policy into the kernel (nor does C(setsebool)), since the running values are what changes there.
  - Works offline, when SELinux is not active in the kernel.
  - Uses the libsemanage and libselinux Python bindings, which exist only for the system Python; when the
    interpreter running the module lacks them, the module re-runs itself under the system Python.
author:
  - confine.lsm maintainers (@confine-lsm)
extends_documentation_fragment:
  - confine.lsm.attributes
  - confine.lsm.allow_weaken
options:
  booleans:
    description:
      - Boolean name to wanted value (on/off, yes/no, true/false, 1/0), persistent and running.
    type: dict
    default: {}
  permissive:
    description:
      - Domains to make permissive (a lowering, needs O(allow_weaken)) or to take out (O(permissive[].state=absent)).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The domain type, for example V(httpd_t).
        type: str
        required: true
      state:
        description: V(present) makes the domain permissive; V(absent) takes the local permissive mark out.
        type: str
        choices: [present, absent]
        default: present
      reason:
        description: Why the domain is permissive; it is printed in RV(weakened).
        type: str
  permissive_purge:
    description: Take out every local permissive domain that O(permissive) does not name and O(permissive_keep) does not match.
    type: bool
    default: false
  permissive_keep:
    description: Glob patterns of local permissive domains a purge keeps.
    type: list
    elements: str
    default: []
  ports:
    description:
      - Port labels, as O(confine.lsm.selinux_port#module:ports).
    type: list
    elements: dict
    default: []
    suboptions:
      port:
        description: A port number (V(8123)) or an inclusive range (V(8000-8010)), 1 to 65535.
        type: raw
        required: true
      protocol:
        description: The protocol.
        type: str
        choices: [tcp, udp, sctp, dccp]
        default: tcp
      setype:
        description: The port type, for example V(http_port_t). Required with O(ports[].state=present).
        type: str
      selevel:
        description: The MLS/MCS level of the label. Defaults to V(s0) where the policy has MLS/MCS.
        type: str
      state:
        description: V(present) labels the port; V(absent) removes the local label.
        type: str
        choices: [present, absent]
        default: present
  ports_purge:
    description: Remove every local port label that O(ports) does not name.
    type: bool
    default: false
  logins:
    description:
      - Login mappings, as O(confine.lsm.selinux_login#module:logins).
    type: list
    elements: dict
    default: []
    suboptions:
      login:
        description: A Linux user, a V(%group) or V(__default__).
        type: str
        required: true
      seuser:
        description: The SELinux user. Required with O(logins[].state=present).
        type: str
      serange:
        description: The MLS/MCS range. Defaults to V(s0) where the policy has MLS/MCS.
        type: str
      state:
        description: V(present) maps the login; V(absent) removes its local mapping.
        type: str
        choices: [present, absent]
        default: present
  logins_purge:
    description: Remove every local login mapping that O(logins) does not name.
    type: bool
    default: false
  unconfined_users:
    description: SELinux users that count as unconfined, so that mapping a login to one is a lowering.
    type: list
    elements: str
    default: [unconfined_u]
  fcontexts:
    description:
      - File-context rules, as M(confine.lsm.selinux_fcontext) takes them in its O(confine.lsm.selinux_fcontext#module:rules).
        After the commit, C(restorecon -R -v) runs once over the existing paths they cover (see O(restorecon)).
      - Path equivalences are not taken here (they go through C(semanage import)); use
        M(confine.lsm.selinux_fcontext) for them.
    type: list
    elements: dict
    default: []
    suboptions:
      target:
        description: The path regular expression, as C(semanage fcontext) takes it (V(/srv/www(/.*\)?)).
        type: str
        required: true
      setype:
        description: The SELinux type, a file or device type of the policy. Required with O(fcontexts[].state=present).
        type: str
      ftype:
        description: The file type the rule is for (V(a) all files, V(f) regular file, V(d) directory, V(c), V(b),
          V(s), V(l), V(p)).
        type: str
        choices: [a, b, c, d, f, l, p, s]
        default: a
      seuser:
        description: The SELinux user of the context.
        type: str
        default: system_u
      selevel:
        description: The MLS/MCS level. Defaults to V(s0) where the policy has MLS/MCS.
        type: str
      state:
        description: V(present) sets the rule; V(absent) removes the local rule.
        type: str
        choices: [present, absent]
        default: present
  fcontexts_purge:
    description: Remove every local file-context rule that O(fcontexts) does not name, in the same transaction.
    type: bool
    default: false
  restorecon:
    description:
      - Run C(restorecon -R -v) over the existing paths the O(fcontexts) rules cover, after the commit (C(-n) in
        check mode, with the relabels the new rules would cause predicted), when SELinux is active. A file someone
        relabelled by hand is drift and is put back.
    type: bool
    default: true
  reload:
    description:
      - Load the rebuilt policy into the running kernel after the commit, when SELinux is active there, O(store)
        is the running policy's store and the commit changes permissive domains, port labels or login mappings.
        Booleans alone need no load, since their running values are set directly, and file contexts are no part
        of the kernel's policy.
    type: bool
    default: true
  store:
    description:
      - The policy store to change. Defaults to C(SELINUXTYPE) from C(/etc/selinux/config), read as libselinux reads
        it. For another store, running boolean values are left alone.
    type: str
requirements:
  - libsemanage and libselinux Python bindings for the system Python (C(python3-semanage) and C(python3-selinux) on
    Debian and Ubuntu, C(python3-libsemanage) and C(python3-libselinux) on Fedora and RHEL)
  - setools (C(python3-setools)) to check domains, port types and file types before the commit (optional)
  - C(restorecon) (C(policycoreutils)) when O(fcontexts) are given
notes:
  - File-context equivalences stay with M(confine.lsm.selinux_fcontext) and policy modules with
    M(confine.lsm.selinux_policy_module) (each needs its reviewed sha256).
  - The role C(confine.lsm.confine_selinux) uses this module for its booleans, permissive domains, ports, logins
    and file contexts.
seealso:
  - module: confine.lsm.sebool_persist
  - module: confine.lsm.selinux_permissive
  - module: confine.lsm.selinux_port
  - module: confine.lsm.selinux_login
'''

EXAMPLES = r'''
- name: A web server on 8123 with its booleans, and the tuning of one domain, in one policy commit
  confine.lsm.selinux_local:
    booleans:
      httpd_can_network_connect: true
      httpd_can_sendmail: false
    ports:
      - port: 8123
        setype: http_port_t
    permissive:
      - name: dhcpc_t
        reason: CHG-1234, tuning the DHCP client
    allow_weaken: true

- name: Exactly these local port labels and no local permissive domain, in one commit
  confine.lsm.selinux_local:
    ports:
      - port: 8123
        setype: http_port_t
    ports_purge: true
    permissive_purge: true
'''

RETURN = r'''
booleans:
  description: The booleans' part, shaped as M(confine.lsm.sebool_persist) returns it.
  returned: always
  type: dict
  contains:
    changed:
      description: Whether a boolean changed.
      type: bool
      returned: always
    changes:
      description: One entry per boolean that changed, with C(name), C(before) and C(after) (each C(persistent)
        and C(runtime)).
      type: list
      elements: dict
      returned: always
    runtime_skipped:
      description: Why running values were left alone, or null.
      type: str
      returned: always
permissive:
  description: The permissive domains' part.
  returned: always
  type: dict
  contains:
    changed:
      description: Whether a permissive domain was added or taken out.
      type: bool
      returned: always
    added:
      description: Domains made permissive.
      type: list
      elements: str
      returned: always
    removed:
      description: Domains taken out (made enforcing again).
      type: list
      elements: str
      returned: always
    weakened:
      description: The lowering line of each domain added.
      type: list
      elements: str
      returned: always
ports:
  description: The port labels' part; C(changes) as M(confine.lsm.selinux_port) returns them.
  returned: always
  type: dict
  contains:
    changed:
      description: Whether a port label changed.
      type: bool
      returned: always
    changes:
      description: One entry per port label that changed, with C(port), C(protocol), C(before), C(after),
        C(local_before) and C(purged).
      type: list
      elements: dict
      returned: always
logins:
  description: The login mappings' part; C(changes) as M(confine.lsm.selinux_login) returns them.
  returned: always
  type: dict
  contains:
    changed:
      description: Whether a login mapping changed.
      type: bool
      returned: always
    changes:
      description: One entry per login whose mapping changed.
      type: list
      elements: dict
      returned: always
    weakened:
      description: The lowering line of each login mapped to an unconfined SELinux user.
      type: list
      elements: str
      returned: always
fcontexts:
  description: The file contexts' part; C(changes) and the relabel fields as M(confine.lsm.selinux_fcontext)
    returns them.
  returned: always
  type: dict
  contains:
    changed:
      description: Whether a rule changed or a file was relabelled.
      type: bool
      returned: always
    changes:
      description: One entry per rule that changed, with C(kind), C(target), C(ftype), C(before), C(after) (and
        C(purged) for one taken out by O(fcontexts_purge)).
      type: list
      elements: dict
      returned: always
    commands:
      description: The changes as C(semanage import) lines.
      type: list
      elements: str
      returned: always
    relabelled:
      description: Files relabelled (in check mode, that would be), at most 1000 listed.
      type: list
      elements: dict
      returned: always
    relabelled_count:
      description: How many files were (or would be) relabelled.
      type: int
      returned: always
    restorecon_paths:
      description: The paths given to restorecon.
      type: list
      elements: str
      returned: always
    restorecon_skipped:
      description: Why restorecon did not run, or null.
      type: str
      returned: always
weakened:
  description: Every lowering this task made (or would make in check mode), from every kind.
  returned: always
  type: list
  elements: str
  sample: ["permissive domain added: dhcpc_t (CHG-1234, tuning the DHCP client)"]
commits:
  description: Policy store commits made (or needed in check mode); 0 or 1, whatever the number of kinds.
  returned: always
  type: int
  sample: 1
store:
  description: The policy store used.
  returned: always
  type: str
  sample: default
type_check:
  description: How domains, port types and file types were checked before the commit, V(setools) or
    V(libsemanage).
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

from ansible_collections.confine.lsm.plugins.module_utils import _fcontext as fc
from ansible_collections.confine.lsm.plugins.module_utils import _respawn
from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp
from ansible_collections.confine.lsm.plugins.module_utils import _selocal as local
from ansible_collections.confine.lsm.plugins.module_utils import _selogin as sl
from ansible_collections.confine.lsm.plugins.module_utils import _sepermissive as pm
from ansible_collections.confine.lsm.plugins.module_utils import _seport as sp
from ansible_collections.confine.lsm.plugins.module_utils import _status
from ansible_collections.confine.lsm.plugins.module_utils import _store_task as task

NOTHING = '; nothing was changed'
LIST_LIMIT = 1000


def check_input(p):
    """(wanted booleans, {permissive, ports, logins, fcontexts} entries normalized, errors): every bad value of every
    kind in one error list (file contexts' levels are set once the store's MLS is known)."""
    wanted, errors = sb.wanted_values(p['booleans'])
    entries = {}
    for kind, check in (('permissive', lambda: pm.check_input(p['permissive'], p['permissive_keep'], p['store'])),
                        ('ports', lambda: sp.check_input(p['ports'], p['store'])),
                        ('logins', lambda: sl.check_input(p['logins'], p['unconfined_users'], p['store']))):
        try:
            entries[kind] = check()
        except (inp.InputError, pm.PermissiveError, sp.PortError, sl.LoginError) as exc:
            errors.append(to_native(exc).replace(NOTHING, ''))
    try:
        entries['fcontexts'] = fc.normalize(p['fcontexts'], [], None)[0]
    except fc.FcontextError as exc:
        errors.append(to_native(exc))
    return wanted, entries, errors


def main():
    module = AnsibleModule(
        argument_spec=dict(
            booleans=dict(type='dict', default={}),
            permissive=dict(type='list', elements='dict', default=[], options=pm.entry_options()),
            permissive_purge=dict(type='bool', default=False),
            permissive_keep=dict(type='list', elements='str', default=[]),
            ports=dict(type='list', elements='dict', default=[], options=sp.entry_options()),
            ports_purge=dict(type='bool', default=False),
            logins=dict(type='list', elements='dict', default=[], options=sl.entry_options()),
            logins_purge=dict(type='bool', default=False),
            fcontexts=dict(type='list', elements='dict', default=[], options=fc.entry_options(),
                           required_if=[('state', 'present', ['setype'])]),
            fcontexts_purge=dict(type='bool', default=False),
            restorecon=dict(type='bool', default=True),
            unconfined_users=dict(type='list', elements='str', default=list(sl.UNCONFINED)),
            allow_weaken=dict(type='bool', default=False),
            reload=dict(type='bool', default=True),
            store=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    wanted, entries, errors = check_input(p)
    if errors:
        module.fail_json(msg='; '.join(errors) + NOTHING)
    if not sb.HAS_BINDINGS:
        _respawn.into_system_python('selinux, semanage')  # returns only when no system Python has the bindings
        module.fail_json(msg='the libsemanage and libselinux Python bindings are missing for every Python on the host '
                             '(install python3-semanage and python3-selinux, or python3-libsemanage and '
                             'python3-libselinux on Fedora and RHEL)' + NOTHING)
    store = p['store'] or cfg.default_store_or_fail(module)
    result = dict(changed=False, commits=0, weakened=[], store=store, type_check='libsemanage', reloaded=False)
    result.update(local.result_parts(dict((k, None) for k in local.KINDS)))
    views = None
    if entries['fcontexts'] or p['fcontexts_purge']:
        try:
            views = fc.read_views(store)
        except (fc.FcontextError, inp.InputError) as exc:
            module.fail_json(msg=to_native(exc) + NOTHING, **result)
        if views['mls']:
            entries['fcontexts'] = fc.normalize(p['fcontexts'], [], 's0')[0]
    attributes = [a for a, kind in (('domain', 'permissive'), ('port_type', 'ports')) if entries[kind]]
    reads = _status.policy_types_of(_status.import_policyrep(), _status.policy_file(store), attributes) \
        if attributes else {}
    if attributes and reads is None:
        module.warn('setools could not read the policy of store %s (is python3-setools installed?): domains, port '
                    'types are checked by libsemanage at commit only' % store)
    elif attributes:
        result['type_check'] = 'setools'
    handle = task.open_or_fail(module, local.LocalStore, store, result)
    try:
        run(module, handle, wanted, entries, reads or {}, result, views)
    finally:
        handle.close()


def run(module, handle, wanted, entries, reads, result, views):
    p = module.params
    store = result['store']
    other_store = task.other_store_reason(p['store'])
    runtime_now = sb.runtime_values(wanted) if wanted else None
    options = dict((k, p[k]) for k in ('permissive_purge', 'permissive_keep', 'ports_purge', 'logins_purge',
                                       'unconfined_users', 'fcontexts_purge'))
    try:
        planned = local.plan(handle, wanted, entries['permissive'], entries['ports'], entries['logins'], reads,
                             options, runtime_now=runtime_now,
                             runtime_skipped=sb.skipped_reason(runtime_now, True, other_store) if wanted else None,
                             fcontexts=entries['fcontexts'], views=views,
                             read_file_types=lambda: read_file_types(module, result))
    except local.ERRORS as exc:
        module.fail_json(msg=to_native(exc) + NOTHING, **result)
    if planned['errors']:
        module.fail_json(msg='; '.join(planned['errors']) + NOTHING, **result)
    if planned['weakened'] and not p['allow_weaken']:
        module.fail_json(msg='refusing to weaken confinement without allow_weaken: %s%s' % (
            '; '.join(planned['weakened']), NOTHING), **result)
    result.update(local.result_parts(planned), weakened=planned['weakened'], changed=local.changed(planned),
                  commits=1 if local.needs_commit(planned) else 0)
    if result['changed'] and module._diff:
        result['diff'] = local.diffs(planned, store)
    if result['changed'] and not module.check_mode:
        live = p['reload'] and task.live_store(store) and local.needs_reload(planned)
        try:
            if result['commits']:
                local.commit(handle, planned, reload_policy=live)
                result['reloaded'] = bool(live)
            local.set_running_booleans(planned)
        except local.ERRORS as exc:
            module.fail_json(msg=to_native(exc), **result)
    if planned['fcontexts'] is not None:  # rules named or purged: what they cover, purged rules' paths too
        relabel(module, planned['fcontexts'], result)
    module.exit_json(**result)


def read_file_types(module, result):
    """setools' read of the file and device types, made only when a file-context rule that changes sets a type (a
    run with nothing to change reads no policy for them)."""
    read = _status.policy_types_of(_status.import_policyrep(), _status.policy_file(result['store']),
                                   ('file_type', 'device_node'))
    if read is None:
        module.warn('setools could not read the policy of store %s (is python3-setools installed?): file types are '
                    'checked by libsemanage at commit only' % result['store'])
    else:
        result['type_check'] = 'setools'
    return read


def relabel(module, planned, result):
    """restorecon over what the named and purged rules cover, after the commit (only looking in check mode), as
    selinux_fcontext does; a file relabelled makes the task changed."""
    present = [r for r in planned['rules'] if r['state'] == 'present']
    try:
        result['fcontexts'].update(fc.relabel(module, fc.restorecon_paths(planned['rules'], []),
                                              module.params['restorecon'], module.check_mode, present,
                                              bool(planned['changes']), LIST_LIMIT))
    except fc.FcontextError as exc:
        module.fail_json(msg=to_native(exc), **result)
    if result['fcontexts']['relabelled_count']:
        result['fcontexts']['changed'] = result['changed'] = True


if __name__ == '__main__':
    main()
