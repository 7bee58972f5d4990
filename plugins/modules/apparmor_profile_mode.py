#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: apparmor_profile_mode
short_description: Put AppArmor profiles into enforce, kill, complain or disabled mode, on disk and live, in one parser call
version_added: 0.2.0
description:
  - Sets the mode of AppArmor profiles persistently (the C(flags=(...)) of each profile in its file, and the
    C(disable/) symlink for V(disabled)) and live (the kernel's loaded profiles).
  - Only the mode flags change in a profile file. Other flags such as C(attach_disconnected), comments, includes and
    every other byte stay, also in a C(flags=(...)) list spread over several lines. Every profile and hat in a file
    gets the mode, except those O(skip_unconfined) leaves alone.
  - Profile files are read as C(apparmor_parser) reads them. A header ends at its C({) and may spread over lines
    with comments between its parts; flags are given as C(flags=(...)) or C((...)); hats (C(^name), C(hat name)) and
    child profiles are profiles of their own (the kernel names them C(parent//name)). A file that cannot be read
    that way, or that the parser would reject (an unknown flag, two modes, C(flags=) without parentheses, a duplicate
    profile, ...), is refused with its path and line and nothing is changed; the module never guesses a mode.
  - Includes are followed as C(apparmor_parser) follows them (C(<name>) under O(profile_dir), absolute paths,
    directories, once per profile), so profiles that included files define (C(abstractions/ubuntu-helpers) defines
    C(sanitized_helper), which the kernel lists as C(parent//sanitized_helper)) are guarded too. Their modes are
    set in the included file, which this module does not edit; a mode change lists them in RV(skipped_profiles)
    and reloads them in the mode they declare (a lowering if they run stronger), and V(disabled) unloads them (a
    lowering each). The names the parser itself lists (C(apparmor_parser -N)) must be those the module read, or the
    task fails naming the file; an include it cannot read that way (missing, relative, a FIFO or device, nested
    without end) is refused.
  - Every changed profile is compiled before anything is loaded, in one C(apparmor_parser -Q -W) call over the
    rewritten files, which also fills the parser's cache; on any error the files are restored, nothing is loaded
    and the parser's message is returned. Then all profiles to (re)load go to one C(apparmor_parser -r) call (or
    one C(-R) to unload), which takes the compiled policy from the cache instead of compiling it a second time.
    If that call fails, the files are restored; nothing is left half-applied. In check mode the new texts are
    compiled from temporary copies (C(-Q -K)) and nothing is written.
  - A loaded profile whose live mode differs from its file (someone ran C(aa-complain), or unloaded it) is drift
    and is corrected. After loading, the kernel's profile list is read back to prove the new mode.
  - Never weakens by default. Modes are ranked by the protection they give, from apparmor.d(5) and the parser's
    sources - C(kill) (enforce, and the offending task is killed) > C(enforce) > C(prompt) (AppArmor 4; a userspace
    agent may allow what enforce denies) > C(complain) > C(unconfined) = C(default_allow) (AppArmor 4; the kernel
    shows it as unconfined) > V(disabled) (not loaded). Moving any profile or hat of a file down this ranking, from
    its mode in effect (the file's flags, or disabled or complain through a C(disable/) or C(force-complain/) link)
    or from its live mode in the kernel, fails before anything changes unless O(allow_weaken=true); RV(weakened)
    names each profile lowered. Moving up never needs O(allow_weaken).
  - With O(mode=enforce), profiles and hats in C(kill) mode (stronger than enforce) are left as they are and listed
    in RV(skipped_profiles), so a list of profiles to enforce never fails on one already stronger; with
    O(allow_weaken=true) they are switched to enforce, a lowering listed in RV(weakened).
  - A reference that matches no profile is an error (C(aa-enforce) exits 0 there). A string option holding a
    newline, NUL or other control character is refused naming it, before anything is read.
  - Files are written by a temporary file and a rename in their own directory, never through a symlink (a profile
    swapped for one before the write is refused). Whatever interrupts a change of several files, every file and
    link already changed is put back and nothing is loaded.
  - When AppArmor is not active in the kernel (for example in a container), files are managed and compiled and
    loading is reported as skipped.
author:
  - confine.lsm maintainers (@confine-lsm)
extends_documentation_fragment:
  - confine.lsm.attributes
  - confine.lsm.allow_weaken
options:
  profiles:
    description:
      - Profiles to switch. Each item is a profile name as C(aa-status) shows it (V(nginx), V(/usr/sbin/nginx)),
        an attachment path, a file name or path under O(profile_dir), or a glob over any of these
        (V(usr.sbin.*)).
      - A plain reference must match exactly one file; a glob must match at least one.
    type: list
    elements: str
    required: true
  mode:
    description:
      - The mode wanted. V(kill) is enforce that also kills the task that breaks the profile.
      - V(enforce) on a profile declared C(kill), or V(complain) on one declared C(prompt), lowers it (see the
        ranking above).
    type: str
    choices: [enforce, complain, kill, disabled]
    default: enforce
  profile_dir:
    description:
      - Where the profile files live.
    type: path
    default: /etc/apparmor.d
  skip_unconfined:
    description:
      - Leave profiles declared C(flags=(unconfined)) or C(flags=(default_allow)) alone and list them in
        RV(skipped_profiles). AppArmor 4 ships dozens of such stub profiles; putting them in enforce mode turns them
        into deny-all profiles that break programs. A file whose profiles are all left alone is not touched.
    type: bool
    default: true
requirements:
  - apparmor_parser (package C(apparmor))
seealso:
  - module: confine.lsm.apparmor_local_rules
  - module: confine.lsm.lsm_status_info
  - name: AppArmor profile modes
    description: The apparmor_parser manual page (modes, flags, loading).
    link: https://manpages.debian.org/bookworm/apparmor/apparmor_parser.8.en.html
'''

EXAMPLES = r'''
- name: Enforce the nginx profile and every profile shipped for /usr/sbin binaries
  confine.lsm.apparmor_profile_mode:
    profiles:
      - nginx
      - usr.sbin.*
    mode: enforce

- name: Put a profile in kill mode (a later mode=enforce leaves it in kill unless allow_weaken is set)
  confine.lsm.apparmor_profile_mode:
    profiles: [usr.sbin.helper]
    mode: kill

- name: Put one profile in complain mode to tune it (loud opt-in, visible in the result)
  confine.lsm.apparmor_profile_mode:
    profiles: [/usr/sbin/nginx]
    mode: complain
    allow_weaken: true
'''

RETURN = r'''
profiles:
  description: One entry per profile file handled.
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: The profile file.
      type: str
      returned: always
    names:
      description: Top-level profile names in the file (and those its top-level includes define).
      type: list
      elements: str
      returned: always
    before:
      description: C(file_mode) (V(enforce), V(complain), V(kill), V(disabled), V(mixed) when the top-level profiles
        differ, ...), C(loaded_mode) (the kernel's mode, V(unloaded), or null when AppArmor is inactive) and C(modes)
        (the mode the file declares for each profile and hat, by the name the kernel lists) before the run.
      type: dict
      returned: always
      sample: {"file_mode": "complain", "loaded_mode": "complain", "modes": {"nginx": "complain"}}
    after:
      description: The same after the run (the live mode read back from the kernel).
      type: dict
      returned: always
      sample: {"file_mode": "enforce", "loaded_mode": "enforce", "modes": {"nginx": "enforce"}}
    changed:
      description: Whether this profile changed.
      type: bool
      returned: always
skipped_profiles:
  description: Profiles left alone (O(skip_unconfined), C(kill) ones under O(mode=enforce), and those an included
    file defines), with the reason; C(names) are full names (C(parent//hat)).
  returned: always
  type: list
  elements: dict
  sample: [{"file": "/etc/apparmor.d/unconfined-app", "names": ["app"], "reason": "declared flags=(unconfined)"}]
parser_calls:
  description: C(apparmor_parser) invocations made (or that would be made in check mode) to compile, load or unload;
    one to compile, one to load or unload. The C(-N) calls that list the profiles the parser sees are not counted.
  returned: always
  type: int
  sample: 2
apparmor_active:
  description: Whether AppArmor is active in the running kernel.
  returned: always
  type: bool
load_skipped:
  description: Why profiles were not loaded, or null.
  returned: always
  type: str
weakened:
  description: >-
    One entry per profile or hat whose protection this run lowered (only with O(allow_weaken=true)),
    C(NAME: BEFORE -> AFTER); BEFORE is the mode it was lowered from (in effect on disk, then live when that differs).
  returned: always
  type: list
  elements: str
  sample: ["usr.bin.tool: kill -> enforce", "apache2//DEFAULT_URI: enforce -> complain"]
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa
from ansible_collections.confine.lsm.plugins.module_utils import _apparmor_task as aa_task
from ansible_collections.confine.lsm.plugins.module_utils import _files

DOCTRINE = ("confine.lsm never lowers protection by default: tune a profile (complain, exercise, refine, enforce) "
            "instead of switching it off")


class Runner(aa_task.Task):

    STRING_OPTIONS = ('profiles', 'mode', 'profile_dir')

    def __init__(self, module):
        aa_task.Task.__init__(self, module, dict(changed=False, profiles=[], skipped_profiles=[], parser_calls=0,
                                                 apparmor_active=False, load_skipped=None, weakened=[]))
        self.mode = self.p['mode']
        self.files = aa_task.FileSet(module, self.dir)
        self.touched = []  # items whose links may have changed

    def link(self, sub, path):
        return os.path.join(self.dir, sub, os.path.basename(path))

    def plan(self):
        paths, files = self.resolve(self.p['profiles'])
        active = aa.enabled()
        self.result['apparmor_active'] = active
        loaded = aa.read_kernel_profiles() if active else {}
        keep = aa.UNCONFINED_MODES if self.p['skip_unconfined'] else ()
        if self.mode == 'enforce' and not self.p['allow_weaken']:
            keep = tuple(keep) + ('kill',)  # stronger than what is asked for: never lowered without the opt-in
        seen = {}
        for path in paths:
            try:
                seen[path] = aa.read_profiles(files[path], self.dir)
            except aa.ProfileError as exc:
                self.fail('%s %s; confine.lsm does not guess the modes of the profiles it cannot read; nothing was '
                          'changed' % (path, to_native(exc)))
        self.check_names(paths, seen)
        items = []
        for path in paths:
            item = self.plan_file(path, files[path], seen[path], active, loaded, keep)
            if item:
                items.append(item)
        if not active:
            self.result['load_skipped'] = 'AppArmor is not active in the running kernel; files were managed only'
        return items

    def parser_names(self, paths):
        """(rc, the full names apparmor_parser -N lists for paths, its message)."""
        rc, out, err = self.module.run_command([self.parser, '-N', '--base', self.dir] + list(paths))
        return rc, sorted(line for line in (out or '').splitlines() if line.strip()), aa.parser_message(err or out)

    def check_names(self, paths, seen):
        """The profiles apparmor_parser itself sees in the files (-N, includes followed by the parser) must be those
        the reader found, or the guard would miss some: a disagreement is refused, naming the file."""
        if not self.parser or not paths:
            return  # without the parser the files are managed only, by the reader alone
        mine = sorted(h['fullname'] for path in paths for h in seen[path])
        rc, theirs, dummy = self.parser_names(paths)
        if rc == 0 and theirs == mine:
            return
        for path in paths:
            rc, theirs, msg = self.parser_names([path])
            if rc != 0:
                self.fail('%s does not compile; nothing was changed. apparmor_parser -N said: %s' % (path, msg))
            mine = sorted(h['fullname'] for h in seen[path])
            if theirs != mine:
                self.fail('apparmor_parser sees the profiles %s in %s (with its includes), confine.lsm reads %s: it '
                          'does not guess the modes of profiles it cannot read as the parser does; nothing was '
                          'changed' % (', '.join(theirs) or 'none', path, ', '.join(mine) or 'none'))
        self.fail('apparmor_parser -N lists other profiles for %s together than one by one; nothing was changed'
                  % ', '.join(paths))

    def plan_file(self, path, text, everything, active, loaded, keep):
        """What to do with one profile file; None when every profile in it is left alone (skip_unconfined).
        everything: the file's profiles and those its includes define (read_profiles)."""
        profiles = aa.headers(text)  # the file's own: the ones set_mode can switch
        included = [h for h in everything if h['source']]
        names = [h['name'] for h in everything if h['depth'] == 0]
        kept = [h for h in profiles if h['mode'] in keep]
        if kept and (len(kept) == len(profiles) or self.mode != 'disabled'):
            # disabling takes the whole file: a file with other profiles disables its unconfined ones too
            self.result['skipped_profiles'].append({
                'file': path, 'names': [h['fullname'] for h in kept],
                'reason': 'declared flags=(%s)%s' % ('/'.join(sorted(set(h['mode'] for h in kept))),
                                                     ', stronger than enforce: kept' if any(
                                                         h['mode'] == 'kill' for h in kept) else '')})
            if len(kept) == len(profiles):
                return None
        if included and self.mode != 'disabled':
            for source in sorted(set(h['source'] for h in included)):
                self.result['skipped_profiles'].append({
                    'file': path, 'names': [h['fullname'] for h in included if h['source'] == source],
                    'reason': 'defined in the included file %s: their modes are set there, not in this file '
                              '(reloaded in them)' % source})
        targets = everything if self.mode == 'disabled' else [h for h in profiles if h['mode'] not in keep]
        disabled = os.path.lexists(self.link('disable', path))
        forced = os.path.lexists(self.link('force-complain', path))
        before = {'file_mode': 'disabled' if disabled else ('complain' if forced else aa.file_mode(text)),
                  'loaded_mode': aa.loaded_mode(names, loaded) if active else None,
                  'modes': dict((h['fullname'], h['mode']) for h in everything)}
        item = {'path': path, 'names': names, 'text': text, 'before': before, 'disabled': disabled,
                'forced': forced, 'targets': [h['fullname'] for h in targets if h['depth'] == 0 and not h['source']]}
        if self.mode == 'disabled':
            item['new_text'] = text
            item['after'] = {'file_mode': 'disabled', 'loaded_mode': 'unloaded' if active else None,
                             'modes': before['modes']}
            item['load'] = None
            item['unload'] = active and before['loaded_mode'] != 'unloaded'
        else:
            item['new_text'] = aa.set_mode(text, self.mode, keep)
            modes = dict(aa.profile_modes(item['new_text']))
            modes.update((h['fullname'], h['mode']) for h in included)
            item['after'] = {'file_mode': aa.file_mode(item['new_text']), 'loaded_mode': self.mode if active else None,
                             'modes': modes}
            item['unload'] = False
            live_differs = any(loaded.get(n) != aa.KERNEL_MODE[self.mode] for n in item['targets'])
            item['load'] = active and (item['new_text'] != text or disabled or forced or live_differs)
        if item['new_text'] != text and (os.path.islink(path) or not os.path.isfile(path)):
            self.fail('%s is a symlink or not a regular file; refusing to rewrite a profile through a link; nothing '
                      'was changed' % path)
        item['changed'] = (item['new_text'] != text or item['load'] or item['unload']
                           or disabled != (self.mode == 'disabled')
                           or (forced and self.mode in ('enforce', 'kill')))
        if item['changed']:
            wanted = [(h, self.mode) for h in targets]
            if self.mode != 'disabled' and (item['load'] or not active):
                # the others are (re)loaded in the mode they declare: lowered when they were stronger
                wanted += [(h, h['mode']) for h in everything if h not in targets]
            self.result['weakened'].extend(self.lowered(wanted, disabled, forced, active, loaded))
        return item

    def lowered(self, wanted, disabled, forced, active, loaded):
        """'name: before -> after' for each (profile or hat, the mode it gets) that lowers its protection: the mode
        in effect on disk (disabled by a disable/ link, complain by a force-complain/ link, else its flags) and the
        kernel's live mode are each compared with the one it gets by RANK (kill > enforce > prompt > complain >
        unconfined, default_allow > disabled, unloaded)."""
        out = []
        for h, mode in wanted:
            current = ['disabled' if disabled else ('complain' if forced else h['mode'])]
            if active:
                current.append(loaded.get(h['fullname'], 'unloaded'))
            if aa.is_weakening(current, mode):
                shown = [m for i, m in enumerate(current) if m not in current[:i]]  # on disk, then live
                out.append('%s: %s -> %s' % (h['fullname'], '/'.join(shown), mode))
        return out

    def compile(self, items):
        """Check mode: apparmor_parser -Q -K over the new texts from temporary copies, in one call."""
        todo = [i for i in items if i['new_text'] != i['text']]
        if not todo:
            return
        self.need_parser()
        self.result['parser_calls'] += 1
        self.compile_copies(
            lambda tmpdir: [(os.path.join(tmpdir, os.path.basename(i['path'])), i['path'], i['new_text'], True)
                            for i in todo],
            'the new profile text does not compile; nothing was changed. apparmor_parser said: ')

    def compile_written(self, changed):
        """apparmor_parser -Q over the rewritten files, in one call, before anything is loaded. With AppArmor active
        it writes the cache (-W) that the load then reads: the policy is compiled once, not twice. On an error the
        files are restored and the task fails with the parser's message; the kernel was not touched."""
        todo = [i['path'] for i in changed if i['new_text'] != i['text']]
        if not todo:
            return
        argv = [self.parser, '-Q', '-W' if self.result['apparmor_active'] else '-K', '--base', self.dir] + todo
        self.result['parser_calls'] += 1
        rc, out, err = self.module.run_command(argv)
        if rc != 0:
            self.fail('the new profile text does not compile; %s and nothing was loaded. apparmor_parser said: %s'
                      % (self.restored(), aa.parser_message(err or out)))

    def apply(self, items):
        """Write, compile, load: all or nothing. Whatever interrupts it (an OSError, any other exception, an
        interrupt), every file written so far and every link changed is put back before the error is reported."""
        changed = [i for i in items if i['changed']]
        if any(i['new_text'] != i['text'] for i in changed):
            self.need_parser()
        try:
            for item in changed:
                self.touched.append(item)  # before anything of it changes
                if item['new_text'] != item['text']:
                    self.files.write(item['path'], item['new_text'])
                self.set_links(item)
                _files.fault_point('aa:between-files')
            self.compile_written(changed)  # every changed item is written by now
            _files.fault_point('aa:before-load')
            self.load(changed)
        except BaseException as exc:
            restored = self.restored()  # nothing left to do when fail() restored them already
            if self.reported or not isinstance(exc, Exception):
                raise  # reported by fail(), an interrupt, or fail_json from atomic_move: the files are back
            self.fail('could not apply the profile changes (%s: %s); %s and nothing was loaded'
                      % (type(exc).__name__, to_native(exc), restored))

    def set_links(self, item):
        disable = self.link('disable', item['path'])
        if self.mode == 'disabled' and not os.path.lexists(disable):
            if not os.path.isdir(os.path.dirname(disable)):
                os.makedirs(os.path.dirname(disable))
                self.files.dirs.append(os.path.dirname(disable))
            os.symlink(item['path'], disable)
        if self.mode != 'disabled' and os.path.lexists(disable):
            os.unlink(disable)
        force = self.link('force-complain', item['path'])
        if self.mode in ('enforce', 'kill') and os.path.lexists(force):
            os.unlink(force)

    def restore_links(self, item):
        disable = self.link('disable', item['path'])
        if item['disabled'] and not os.path.lexists(disable):
            os.symlink(item['path'], disable)
        if not item['disabled'] and os.path.lexists(disable):
            os.unlink(disable)
        force = self.link('force-complain', item['path'])
        if item['forced'] and not os.path.lexists(force):
            os.symlink(item['path'], force)

    def restored(self):
        """Put back every file written and every link changed; 'the files were restored', or what could not be."""
        errors = []
        for item in reversed(self.touched):
            try:
                self.restore_links(item)
            except Exception as exc:  # pylint: disable=broad-except  # every item is tried; errors are reported
                errors.append('%s: %s' % (item['path'], to_native(exc)))
        self.touched = []
        errors.extend(self.files.rollback())
        if errors:
            return 'restoring failed for %s' % '; '.join(errors)
        return 'the files were restored'

    def load(self, changed):
        to_load = [i['path'] for i in changed if i['load']]
        to_unload = [i['path'] for i in changed if i['unload']]
        for flag, paths in (('-r', to_load), ('-R', to_unload)):
            if not paths:
                continue
            self.need_parser()
            self.result['parser_calls'] += 1
            argv = [self.parser, flag, '--base', self.dir] + (['-W'] if flag == '-r' else []) + paths
            rc, out, err = self.module.run_command(argv)
            if rc != 0:
                restored = self.restored()
                if flag == '-r':
                    # Put the previous texts back into the kernel for profiles that were loaded before.
                    again = [i['path'] for i in changed if i['before']['loaded_mode'] not in (None, 'unloaded')]
                    if again:
                        self.module.run_command([self.parser, '-r', '--base', self.dir] + again)
                self.fail('apparmor_parser %s failed; %s. It said: %s' % (flag, restored, (err or out).strip()))

    def verify(self, items):
        if not self.result['apparmor_active']:
            return
        loaded = aa.read_kernel_profiles()
        wrong = []
        for item in items:
            item['after']['loaded_mode'] = aa.loaded_mode(item['names'], loaded)
            if self.mode == 'disabled':
                wrong.extend('%s is %s' % (n, loaded[n]) for n in item['names'] if n in loaded)
            else:
                want = aa.KERNEL_MODE[self.mode]
                wrong.extend('%s is %s' % (n, loaded.get(n, 'unloaded')) for n in item['targets']
                             if loaded.get(n) != want)
        if wrong:
            self.fail('after loading, the kernel does not show mode %s: %s' % (self.mode, '; '.join(wrong)))

    @staticmethod
    def diff_text(text, modes):
        return '%s\n# mode: file=%s loaded=%s\n' % (text, modes['file_mode'], modes['loaded_mode'])

    def run(self):
        items = self.plan()
        if self.result['weakened'] and not self.p['allow_weaken']:
            refused = self.result['weakened']
            self.result['weakened'] = []
            self.fail('refusing to lower AppArmor protection (%s; modes rank kill > enforce > prompt > complain > '
                      'unconfined, default_allow > disabled). %s. Set allow_weaken=true to do it anyway; nothing was '
                      'changed' % ('; '.join(refused), DOCTRINE))
        changed = [i for i in items if i['changed']]
        if changed and not self.module.check_mode:
            self.apply(items)
            self.verify(items)
        elif changed:
            self.compile(items)
            self.result['parser_calls'] += (1 if any(i['load'] for i in items) else 0) + \
                (1 if any(i['unload'] for i in items) else 0)
        self.result['changed'] = bool(changed)
        self.result['profiles'] = [dict(file=i['path'], names=i['names'], before=i['before'], after=i['after'],
                                        changed=bool(i['changed'])) for i in items]
        if changed and self.module._diff:
            diffs = []
            for i in changed:
                diffs.append(dict(before_header=i['path'], after_header=i['path'],
                                  before=self.diff_text(i['text'], i['before']),
                                  after=self.diff_text(i['new_text'], i['after'])))
            self.result['diff'] = diffs
        self.module.exit_json(**self.result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            profiles=dict(type='list', elements='str', required=True),
            mode=dict(type='str', default='enforce', choices=['enforce', 'complain', 'kill', 'disabled']),
            profile_dir=dict(type='path', default=aa.PROFILE_DIR),
            skip_unconfined=dict(type='bool', default=True),
            allow_weaken=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    if not module.params['profiles']:
        module.fail_json(msg='profiles is empty: name at least one profile')
    Runner(module).run()


if __name__ == '__main__':
    main()
