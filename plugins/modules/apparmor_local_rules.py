#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: apparmor_local_rules
short_description: Keep reviewed rules in an AppArmor profile's local include, compiled before they land, reloaded live
version_added: 0.2.0
description:
  - Manages one block of rules, between C(# BEGIN confine.lsm managed rules) and C(# END confine.lsm managed rules)
    markers, in the local include of a profile (the file its C(include if exists <local/NAME>) line names, under
    C(/etc/apparmor.d/local/)). The packaged profile is never edited, and lines outside the block keep their bytes.
  - Before anything is written, the profile is compiled (C(apparmor_parser -Q -K)) with the new local text in place
    of the old one; a rule the parser rejects fails the task naming the parser's message, and nothing changes.
  - Then the local file is replaced atomically and the profile is reloaded in one C(apparmor_parser -r) call,
    keeping the mode it is loaded in (a profile in complain stays in complain). If the reload fails, the old local
    text is put back.
  - This is the I(refine) step of tuning (complain, exercise, refine, enforce); the C(playbooks/tune.yml) playbook
    drives the whole loop, taking the rules from M(confine.lsm.lsm_denials_info)'s suggestions.
author:
  - confine.lsm maintainers (@confine-lsm)
extends_documentation_fragment:
  - confine.lsm.attributes
options:
  profile:
    description: The profile, by name as C(aa-status) shows it (V(nginx)), attachment path, or file name under
      O(profile_dir). It must match exactly one file.
    type: str
    required: true
  rules:
    description:
      - Rules for the managed block, one rule per item, each ending with a comma (V(/srv/www/** r,)). With
        O(state=present) and O(append=false) the block holds exactly these rules.
    type: list
    elements: str
    default: []
  append:
    description: Keep the rules already in the block and add the new ones after them (duplicates are dropped).
    type: bool
    default: false
  state:
    description: V(present) writes the block; V(absent) removes it (other lines of the local file stay).
    type: str
    choices: [present, absent]
    default: present
  reload:
    description: Reload the profile after a change when AppArmor is active and the profile is loaded.
    type: bool
    default: true
  profile_dir:
    description: The AppArmor profile directory.
    type: path
    default: /etc/apparmor.d
requirements:
  - C(apparmor_parser) (package C(apparmor)).
seealso:
  - module: confine.lsm.apparmor_profile_mode
  - module: confine.lsm.lsm_denials_info
'''

EXAMPLES = r'''
- name: Let nginx read the shared assets directory (rules reviewed in the change request)
  confine.lsm.apparmor_local_rules:
    profile: nginx
    rules:
      - /srv/assets/ r,
      - /srv/assets/** r,

- name: Add the rules a tuning run proposed, keeping the earlier ones
  confine.lsm.apparmor_local_rules:
    profile: nginx
    rules: "{{ denials.denials | map(attribute='suggestion.rule') | select | list }}"
    append: true

- name: Drop the managed rules again
  confine.lsm.apparmor_local_rules:
    profile: nginx
    state: absent
'''

RETURN = r'''
profile_file:
  description: The profile file the reference resolved to.
  returned: always
  type: str
  sample: /etc/apparmor.d/usr.sbin.nginx
local_file:
  description: The local include the block lives in.
  returned: always
  type: str
  sample: /etc/apparmor.d/local/usr.sbin.nginx
rules:
  description: The rules in the block after the task (what would be there, in check mode).
  returned: always
  type: list
  elements: str
before_rules:
  description: The rules in the block before the task; give them back as O(rules) to undo it.
  returned: always
  type: list
  elements: str
added:
  description: Rules added to the block.
  returned: always
  type: list
  elements: str
removed:
  description: Rules removed from the block.
  returned: always
  type: list
  elements: str
loaded_mode:
  description: How the profile is loaded in the kernel (V(enforce), V(complain), V(unloaded)), or null when
    AppArmor is not active.
  returned: always
  type: str
reloaded:
  description: Whether the profile was (or would be) reloaded.
  returned: always
  type: bool
'''

import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa
from ansible_collections.confine.lsm.plugins.module_utils import _files


class LocalRules(object):

    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.dir = self.p['profile_dir'].rstrip('/') or '/'
        self.parser = module.get_bin_path('apparmor_parser')
        self.result = dict(changed=False, profile_file=None, local_file=None, rules=[], before_rules=[], added=[],
                           removed=[], loaded_mode=None, reloaded=False)

    def fail(self, msg):
        self.module.fail_json(msg=msg, **self.result)

    def locate(self):
        if not os.path.isdir(self.dir):
            self.fail('profile_dir %s does not exist or is not a directory' % self.dir)
        ref = self.p['profile']
        if any(c in ref for c in '*?['):
            self.fail('profile %r is a glob; name one profile' % ref)
        files = aa.profile_files(self.dir)
        try:
            paths, dummy = aa.resolve([ref], files, self.dir)
        except aa.ProfileError as exc:
            self.fail('%s; nothing was changed' % to_native(exc))
        path = paths[0]
        text = files[path]  # read once, by profile_files
        target, dummy = aa.local_include(text)
        self.result['profile_file'] = path
        if not target:
            self.fail('profile %s (%s) has no local include (include if exists <local/NAME>): confine.lsm does not '
                      'edit packaged profiles; add that line to the profile first' % (ref, path))
        local_dir = os.path.realpath(os.path.join(self.dir, 'local'))
        local = os.path.join(self.dir, target)
        if not os.path.realpath(local).startswith(local_dir + os.sep):
            self.fail('the local include %s of %s points outside %s' % (target, path, local_dir))
        if os.path.islink(local):
            self.fail('%s is a symlink; refusing to rewrite a local include through a link' % local)
        self.result['local_file'] = local
        return path, text, local

    def wanted(self, before):
        if self.p['state'] == 'absent':
            return []
        try:
            rules = [aa.check_rule(r) for r in self.p['rules']]
        except aa.ProfileError as exc:
            self.fail('%s; nothing was changed' % to_native(exc))
        out = list(before) if self.p['append'] else []
        for rule in rules:
            if rule not in out:
                out.append(rule)
        return out

    def compile(self, path, text, new_local):
        """Compile the profile with new_local in place of its local include, from a temp copy."""
        if not self.parser:
            self.fail('apparmor_parser not found: install the apparmor package; nothing was changed')
        tmpdir = tempfile.mkdtemp(prefix='confine-aa-local-')
        try:
            tmp_local = os.path.join(tmpdir, 'local')
            with open(tmp_local, 'wb') as f:
                f.write(new_local.encode('utf-8', 'surrogateescape'))
            dummy, match = aa.local_include(text)
            copy = text[:match.start()] + 'include "%s"' % tmp_local + text[match.end():]
            tmp_profile = os.path.join(tmpdir, os.path.basename(path))
            with open(tmp_profile, 'wb') as f:
                f.write(copy.encode('utf-8', 'surrogateescape'))
            rc, out, err = self.module.run_command([self.parser, '-Q', '-K', '--base', self.dir, tmp_profile])
            if rc != 0:
                msg = aa.parser_message(err or out).replace(tmp_profile, path).replace(tmp_local, self.result['local_file'])
                self.fail('the profile does not compile with these rules; nothing was changed. apparmor_parser '
                          'said: %s' % msg)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)

    def reload(self, path, text, old_local, local):
        argv = [self.parser, '-r', '-W', '--base', self.dir]
        if self.result['loaded_mode'] == 'complain' and aa.file_mode(text) != 'complain':
            argv.append('-C')  # loaded in complain by aa-complain or force-complain: keep it so
        rc, out, err = self.module.run_command(argv + [path])
        if rc != 0:
            if old_local is None:
                os.unlink(local)
            else:
                _files.write_atomic(self.module, local, old_local)
            self.module.run_command(argv + [path])
            self.fail('apparmor_parser -r failed; the old local include was put back. It said: %s'
                      % (err or out).strip())

    def run(self):
        path, text, local = self.locate()
        try:
            old_local = _files.read_text(local)
        except (IOError, OSError) as exc:
            self.fail('cannot read %s: %s' % (local, to_native(exc)))
        before = aa.block_rules(old_local)
        rules = self.wanted(before)
        new_local = aa.set_block(old_local or '', rules)
        if old_local is None and not rules:
            new_local = None
        self.result.update(rules=rules, before_rules=before, added=[r for r in rules if r not in before],
                           removed=[r for r in before if r not in rules])
        active = aa.enabled()
        if active:
            names = aa.top_profiles(text)
            self.result['loaded_mode'] = aa.loaded_mode(names, aa.read_kernel_profiles())
        changed = new_local is not None and new_local != (old_local or '')
        if changed:
            self.compile(path, text, new_local)
        self.result['reloaded'] = bool(changed and self.p['reload'] and active
                                       and self.result['loaded_mode'] not in (None, 'unloaded'))
        if changed and not self.module.check_mode:
            try:
                if not os.path.isdir(os.path.dirname(local)):
                    os.makedirs(os.path.dirname(local), 0o755)
                _files.write_atomic(self.module, local, new_local)
            except (IOError, OSError) as exc:
                self.fail('cannot write %s: %s (nothing was changed)' % (local, to_native(exc)))
            if self.result['reloaded']:
                self.reload(path, text, old_local, local)
        self.result['changed'] = changed
        if changed and self.module._diff:
            self.result['diff'] = dict(before_header=local, after_header=local, before=old_local or '',
                                       after=new_local)
        self.module.exit_json(**self.result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            profile=dict(type='str', required=True),
            rules=dict(type='list', elements='str', default=[]),
            append=dict(type='bool', default=False),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            reload=dict(type='bool', default=True),
            profile_dir=dict(type='path', default=aa.PROFILE_DIR),
        ),
        supports_check_mode=True,
    )
    if module.params['state'] == 'absent' and module.params['rules']:
        module.fail_json(msg='state=absent removes the whole managed block; do not give rules with it')
    LocalRules(module).run()


if __name__ == '__main__':
    main()
