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
    text is put back; so it is on any other error or interrupt.
  - The local include is never read or written through a symlink, and a C(local/) directory that is a symlink is
    refused; the file is checked again just before it is replaced, after C(apparmor_parser) ran. A FIFO or device
    in its place is refused without being opened. A string option (a rule included) holding a newline, NUL or other
    control character is refused naming it, so a rule cannot inject a second one.
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

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa
from ansible_collections.confine.lsm.plugins.module_utils import _apparmor_task as aa_task


class LocalRules(aa_task.Task):

    STRING_OPTIONS = ('profile', 'rules', 'state', 'profile_dir')
    TEMP_PREFIX = 'confine-aa-local-'

    def __init__(self, module):
        aa_task.Task.__init__(self, module, dict(changed=False, profile_file=None, local_file=None, rules=[],
                                                 before_rules=[], added=[], removed=[], loaded_mode=None,
                                                 reloaded=False))
        self.local_dir = os.path.join(self.dir, 'local')
        self.files = aa_task.FileSet(module, self.local_dir)

    def locate(self):
        self.check_dir()
        ref = self.p['profile']
        if any(c in ref for c in '*?['):
            self.fail('profile %r is a glob; name one profile' % ref)
        paths, files = self.resolve([ref])
        path = paths[0]
        text = files[path]  # read once, by profile_files
        target, dummy = aa.local_include(text)
        self.result['profile_file'] = path
        if not target:
            self.fail('profile %s (%s) has no local include (include if exists <local/NAME>): confine.lsm does not '
                      'edit packaged profiles; add that line to the profile first' % (ref, path))
        local = os.path.join(self.dir, target)
        if os.path.islink(self.local_dir):
            self.fail('%s is a symlink; refusing to write local includes through a link' % self.local_dir)
        real_local_dir = os.path.realpath(self.local_dir)
        if not os.path.realpath(local).startswith(real_local_dir + os.sep):
            self.fail('the local include %s of %s points outside %s' % (target, path, real_local_dir))
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
        dummy, match = aa.local_include(text)

        def layout(tmpdir):
            tmp_local = os.path.join(tmpdir, 'local')
            copy = text[:match.start()] + 'include "%s"' % tmp_local + text[match.end():]
            return [(tmp_local, self.result['local_file'], new_local, False),
                    (os.path.join(tmpdir, os.path.basename(path)), path, copy, True)]
        self.compile_copies(layout, 'the profile does not compile with these rules; nothing was changed. '
                                    'apparmor_parser said: ')

    def reload_argv(self, text):
        argv = [self.parser, '-r', '-W', '--base', self.dir]
        if self.result['loaded_mode'] == 'complain' and aa.file_mode(text) != 'complain':
            argv.append('-C')  # loaded in complain by aa-complain or force-complain: keep it so
        return argv

    def write_and_reload(self, path, text, local, new_local):
        """Write the local include (never through a link, re-checked after the parser ran) and reload: all or
        nothing. Whatever interrupts it, the old local text is put back (and reloaded) before the error is
        reported."""
        try:
            self.files.write(local, new_local)
            if self.result['reloaded']:
                rc, out, err = self.module.run_command(self.reload_argv(text) + [path])
                if rc != 0:
                    restored = self.restore(path, text)
                    self.fail('apparmor_parser -r failed; %s. It said: %s' % (restored, (err or out).strip()))
        except BaseException as exc:
            restored = self.restore(path, text)  # nothing left to do when fail() restored it already
            if self.reported or not isinstance(exc, Exception):
                raise
            self.fail('could not apply the new local include %s (%s: %s); %s%s' % (
                local, type(exc).__name__, to_native(exc), restored,
                ', so nothing was changed' if restored == 'the old local include was put back' else ''))

    def restore(self, path, text):
        """Put the old local text back and, when it was reloaded, reload it; what was done, as text."""
        if not self.files.old:
            return 'the old local include was put back'
        errors = self.files.rollback()
        done = ('putting the old local include back failed: %s' % '; '.join(errors) if errors
                else 'the old local include was put back')
        if self.result['reloaded']:
            try:
                rc, out, err = self.module.run_command(self.reload_argv(text) + [path])
                if rc != 0:
                    done += ' (reloading it failed too: %s)' % (err or out).strip()
            except Exception as exc:  # pylint: disable=broad-except  # the file is back; say what the reload did
                done += ' (reloading it failed too: %s)' % to_native(exc)
        return done

    def run(self):
        path, text, local = self.locate()
        try:
            old_local = aa_task.read_regular_or_none(local)
        except (IOError, OSError, aa.ProfileError) as exc:
            self.fail('cannot read %s: %s; nothing was changed' % (local, to_native(exc)))
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
            self.write_and_reload(path, text, local, new_local)
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
