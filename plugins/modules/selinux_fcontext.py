#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: selinux_fcontext
short_description: Many SELinux file-context rules in one policy transaction, then restorecon over what they cover
version_added: 0.2.0
description:
  - Adds, changes and removes any number of SELinux file-context rules (path regex, type, file type) and path
    equivalences in B(one) policy transaction, so thirty rules cost one commit, not thirty. Nothing is committed
    when every rule is in place already.
  - Rules are committed through libsemanage inside the module's own process (no C(semanage) child, which starts a
    second Python and reads the policy again); file contexts are no part of the policy the kernel runs, so the
    commit loads nothing into it. A transaction that changes equivalences, or a host without the libsemanage
    Python bindings, goes through one C(semanage import) instead (RV(backend) says which).
  - Then runs C(restorecon -R -v) once over the paths the rules cover (or O(restorecon_paths)) and returns each
    file relabelled, with its old and new context. A file someone relabelled by hand (C(chcon)) is drift, and is
    put back.
  - Check mode returns the rules that would change and the files that would be relabelled (predicted from the new
    rules, plus what C(restorecon -n) finds already mislabelled).
  - Bad input (a spec with spaces, an invalid regex, an unknown type, a type that is no file or device type, a
    rule under an equivalence, a duplicate) fails before anything changes, naming the value; types are checked
    against the store's policy with setools (check mode too). A transaction that libsemanage or semanage refuses
    changes nothing.
  - A target, type, user, level, equivalence source, O(store) or O(restorecon_paths) entry with a newline, a NUL or
    another control character fails before the store is read, naming the value (libsemanage would stop at the NUL
    and write a rule for a path the task did not name). The store's file-context files are read only as regular
    files.
  - This is the fix for a denial whose file is labelled with a type the confined service may not use
    (see M(confine.lsm.lsm_denials_info)); prefer it to a policy module.
author:
  - confine.lsm maintainers (@confine-lsm)
extends_documentation_fragment:
  - confine.lsm.attributes
options:
  rules:
    description: File-context rules.
    type: list
    elements: dict
    default: []
    suboptions:
      target:
        description: The path regular expression, as C(semanage fcontext) takes it (V(/srv/www(/.*\)?)).
        type: str
        required: true
      setype:
        description: The SELinux type. Required when O(rules[].state=present).
        type: str
      ftype:
        description:
          - The file type the rule applies to - V(a) all files, V(f) regular files, V(d) directories, V(l) symbolic
            links, V(s) sockets, V(p) named pipes, V(c) character and V(b) block devices.
        type: str
        default: a
        choices: [a, f, d, c, b, s, l, p]
      seuser:
        description: The SELinux user of the context.
        type: str
        default: system_u
      selevel:
        description: The MLS/MCS level (range). Defaults to V(s0) when the policy uses MLS/MCS.
        type: str
      state:
        description: Whether the rule should exist.
        type: str
        choices: [present, absent]
        default: present
  equivalences:
    description: Path equivalences - O(equivalences[].target) is labelled as if it were O(equivalences[].source).
    type: list
    elements: dict
    default: []
    suboptions:
      target:
        description: The path that gets the labels.
        type: str
        required: true
      source:
        description: The path whose labelling it follows. Required when O(equivalences[].state=present).
        type: str
      state:
        description: Whether the equivalence should exist.
        type: str
        choices: [present, absent]
        default: present
  restorecon:
    description: Relabel the files the rules cover (only when SELinux is active in the running kernel).
    type: bool
    default: true
  restorecon_paths:
    description:
      - Paths to relabel (recursively). Default, the existing top paths the rules' targets start with (V(/srv/www)
        for V(/srv/www(/.*\)?)); never V(/).
    type: list
    elements: path
  reload:
    description:
      - Whether a C(semanage import) transaction (equivalences, or no libsemanage bindings) reloads the policy
        (C(semanage import -N) when false). A libsemanage commit of rules never loads the policy into the kernel,
        which has no file contexts in it.
    type: bool
    default: true
  store:
    description: The policy store. Defaults to C(SELINUXTYPE) from C(/etc/selinux/config).
    type: str
requirements:
  - C(restorecon) (C(policycoreutils)); the libsemanage Python bindings for the system Python (C(python3-semanage)
    on Debian and Ubuntu, C(python3-libsemanage) on Fedora and RHEL; when the interpreter running the module lacks
    them, the module re-runs itself under the system Python), else C(semanage) (C(policycoreutils-python-utils)).
  - setools' Python package (C(python3-setools)) to check types before the commit; without it libsemanage checks
    the contexts at commit.
seealso:
  - module: confine.lsm.lsm_denials_info
  - module: community.general.sefcontext
'''

EXAMPLES = r'''
- name: Let nginx serve /srv/www and write /srv/www/uploads, relabelling what is there, in one transaction
  confine.lsm.selinux_fcontext:
    rules:
      - target: /srv/www(/.*)?
        setype: httpd_sys_content_t
      - target: /srv/www/uploads(/.*)?
        setype: httpd_sys_rw_content_t
  register: labels

- name: Show what was relabelled
  ansible.builtin.debug:
    msg: "{{ labels.relabelled | map(attribute='path') | list }}"

- name: Label /srv/web exactly as /var/www is labelled
  confine.lsm.selinux_fcontext:
    equivalences:
      - target: /srv/web
        source: /var/www

- name: Remove a rule
  confine.lsm.selinux_fcontext:
    rules:
      - target: /srv/old(/.*)?
        state: absent
'''

RETURN = r'''
changes:
  description: Rules and equivalences that changed (or would), with C(before) and C(after) contexts or sources.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "rule", "target": "/srv/www(/.*)?", "ftype": "a", "before": null,
            "after": "system_u:object_r:httpd_sys_content_t:s0"}]
commands:
  description: The transaction's changes as C(semanage import) lines (what was given to C(semanage import), or
    committed through libsemanage to the same effect).
  returned: always
  type: list
  elements: str
  sample: ["fcontext -a -f a -t httpd_sys_content_t -s system_u -r s0 /srv/www(/.*)?"]
commits:
  description: Policy transactions made (or needed in check mode), 0 or 1.
  returned: always
  type: int
backend:
  description: How the transaction is committed, V(libsemanage) (in the module's process) or V(semanage import);
    null when nothing is committed.
  returned: always
  type: str
  sample: libsemanage
type_check:
  description: How the rules' types were checked before the commit, V(setools), or V(libsemanage) (at commit,
    when setools could not read the policy); null when no rule is added.
  returned: always
  type: str
  sample: setools
relabelled:
  description: Files relabelled (in check mode, that would be), at most 1000 listed.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/srv/www/index.html", "from": "unconfined_u:object_r:var_t:s0",
            "to": "unconfined_u:object_r:httpd_sys_content_t:s0"}]
relabelled_count:
  description: How many files were (or would be) relabelled.
  returned: always
  type: int
restorecon_paths:
  description: The paths given to restorecon.
  returned: always
  type: list
  elements: str
restorecon_skipped:
  description: Why restorecon did not run, or null.
  returned: always
  type: str
store:
  description: The policy store used.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _fcontext as fc
from ansible_collections.confine.lsm.plugins.module_utils import _respawn
from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp
from ansible_collections.confine.lsm.plugins.module_utils import _files
from ansible_collections.confine.lsm.plugins.module_utils import _status

LIST_LIMIT = 1000


def check_rules(module, rules, changes, subs, result):
    """Fail, naming each, on rules that semanage would refuse and libsemanage would take: a rule under an
    equivalence, a type that is no file or device type of the store's policy (read by setools)."""
    read = None
    if fc.sets_a_type(rules, changes):
        read = _status.policy_types_of(_status.import_policyrep(), _status.policy_file(result['store']),
                                       ('file_type', 'device_node'))
        if read is None:
            result['type_check'] = 'libsemanage'
            module.warn('setools could not read the policy of store %s (is python3-setools installed?): types are '
                        'checked by libsemanage (or semanage) at commit only' % result['store'])
        else:
            result['type_check'] = 'setools'
    errors = fc.check_changed(rules, changes, subs, read)
    if errors:
        module.fail_json(msg='; '.join(errors) + '; nothing was changed', **result)


def commit_in_process(module, store, changes, result):
    try:
        handle = fc.FcontextStore(store)
    except sb.BoolError as exc:
        module.fail_json(msg=to_native(exc) + '; nothing was changed', **dict(result, changes=[], commits=0))
    try:
        handle.commit_rules(changes)
    except (fc.FcontextError, sb.BoolError) as exc:
        result.update(changes=[], commits=0)
        module.fail_json(msg='libsemanage refused the transaction, nothing was changed: %s' % to_native(exc),
                         **result)
    finally:
        handle.close()


def commit_import(module, store, lines, result):
    semanage = module.get_bin_path('semanage', required=True)
    argv = [semanage, 'import', '-S', store] + ([] if module.params['reload'] else ['-N'])
    _files.fault_point('fcontext:before-import')
    rc, out, err = module.run_command(argv, data='\n'.join(lines) + '\n', binary_data=False)
    if rc != 0:
        result.update(changes=[], commits=0)
        module.fail_json(msg='semanage refused the transaction, nothing was changed: %s'
                         % (err or out).strip(), rc=rc, **result)


def main():
    equiv_spec = dict(target=dict(type='str', required=True), source=dict(type='str'),
                      state=dict(type='str', default='present', choices=['present', 'absent']))
    module = AnsibleModule(
        argument_spec=dict(
            rules=dict(type='list', elements='dict', default=[], options=fc.entry_options(),
                       required_if=[('state', 'present', ['setype'])]),
            equivalences=dict(type='list', elements='dict', default=[], options=equiv_spec,
                              required_if=[('state', 'present', ['source'])]),
            restorecon=dict(type='bool', default=True),
            restorecon_paths=dict(type='list', elements='path'),
            reload=dict(type='bool', default=True),
            store=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not p['rules'] and not p['equivalences']:
        module.fail_json(msg='give at least one rule or equivalence')
    try:
        inp.check_store(p['store'])
        for path in p['restorecon_paths'] or []:
            inp.check_path('restorecon_paths entry', path)
    except inp.InputError as exc:
        module.fail_json(msg=to_native(exc), changed=False, store=p['store'])
    try:
        rules, equivs = fc.normalize(p['rules'], p['equivalences'], None)  # checked before the store is looked up
    except fc.FcontextError as exc:
        module.fail_json(msg=to_native(exc) + '; nothing was changed', changed=False, store=p['store'])
    store = p['store'] or cfg.default_store_or_fail(module)
    result = dict(changed=False, changes=[], commands=[], commits=0, relabelled=[], relabelled_count=0,
                  restorecon_paths=[], restorecon_skipped=None, store=store, backend=None, type_check=None)
    try:
        views = fc.read_views(store)
    except (fc.FcontextError, inp.InputError) as exc:
        module.fail_json(msg=to_native(exc), **result)
    if views['mls']:
        rules, equivs = fc.normalize(p['rules'], p['equivalences'], 's0')
    local, subs = views['local'], views['subs']
    changes, lines = fc.plan(rules, equivs, local, subs, views['policy'])
    equivalences_change = any(c['kind'] == 'equivalence' for c in changes)
    if lines and not module.check_mode and fc.semanage is None and not equivalences_change:
        _respawn.into_system_python('semanage')  # returns only when no system Python has the bindings
    check_rules(module, rules, changes, dict(views['subs_dist'], **subs), result)
    in_process = fc.semanage is not None and not equivalences_change
    result.update(changes=changes, commands=lines, commits=1 if lines else 0,
                  backend=(('libsemanage' if in_process else 'semanage import') if lines else None))
    if changes and module._diff:
        result['diff'] = fc.diff(store, local, subs, rules, equivs)

    if lines and not module.check_mode and in_process:
        commit_in_process(module, store, changes, result)
    elif lines and not module.check_mode:
        commit_import(module, store, lines, result)

    paths = p['restorecon_paths'] if p['restorecon_paths'] is not None else fc.restorecon_paths(rules, equivs)
    try:
        result.update(fc.relabel(module, paths, p['restorecon'], module.check_mode,
                                 [r for r in rules if r['state'] == 'present'], bool(changes), LIST_LIMIT))
    except fc.FcontextError as exc:
        module.fail_json(msg=to_native(exc), **result)
    result['changed'] = bool(changes or result['relabelled_count'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
