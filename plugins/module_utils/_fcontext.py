# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SELinux file-context customizations: read the local rules, plan one transaction, commit it through libsemanage
in the module's own process (or as `semanage import` lines), predict relabels."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.confine.lsm.plugins.module_utils import _files
from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp

try:
    import semanage
except ImportError:  # bindings exist only for the system Python; the module respawns into it or imports lines
    semanage = None

ROOT = '/etc/selinux'  # where the stores' file contexts are (looked up at call time: tests point it elsewhere)
# semanage's file type letters and how file_contexts spells them.
FTYPES = {'a': '', 'f': '--', 'd': '-d', 'c': '-c', 'b': '-b', 's': '-s', 'l': '-l', 'p': '-p'}
FLAGS = dict((v, k) for k, v in FTYPES.items() if v)
NAMES = {'a': 'all files', 'f': 'regular file', 'd': 'directory', 'c': 'character device', 'b': 'block device',
         's': 'socket', 'l': 'symbolic link', 'p': 'named pipe'}
# matched with fullmatch: a "$" would let a trailing newline through
IDENT = re.compile(r'[A-Za-z0-9_.]+')
LEVEL = re.compile(r's\d+(-s\d+)?(:c\d+([.,]c\d+)*)?')
RELABELED = re.compile(r'^Relabeled (.+) from (\S+) to (\S+)$')
META = set('.^$*+?()[]{}|\\')


class FcontextError(Exception):
    pass


def files_dir(store, root=None):
    return os.path.join(root or ROOT, store, 'contexts', 'files')


def entry_options():
    """The argument spec of one file-context rule (selinux_fcontext's rules, selinux_local's fcontexts)."""
    return dict(target=dict(type='str', required=True), setype=dict(type='str'),
                ftype=dict(type='str', default='a', choices=sorted(FTYPES)),
                seuser=dict(type='str', default='system_u'), selevel=dict(type='str'),
                state=dict(type='str', default='present', choices=['present', 'absent']))


def _read_optional(path):
    """A store file's text, '' when it is missing or unreadable; one that is not a regular file raises InputError."""
    try:
        return inp.read_regular(path, 'the policy store file') or ''
    except (IOError, OSError):
        return ''


def read_views(store):
    """{policy, local, subs, subs_dist, mls} from the store's file-context files (as libselinux and semanage read
    them); FcontextError when the store is not installed, InputError for a file that is not a regular one."""
    folder = files_dir(store)
    base = os.path.join(folder, 'file_contexts')
    if not os.path.exists(base):
        raise FcontextError('policy store %r is not installed (no %s)' % (store, base))
    views = dict((key, parse(_read_optional(os.path.join(folder, name)))) for key, name, parse in (
        ('policy', 'file_contexts', parse_local), ('local', 'file_contexts.local', parse_local),
        ('subs', 'file_contexts.subs', parse_subs), ('subs_dist', 'file_contexts.subs_dist', parse_subs)))
    views['mls'] = any(len(c.split(':')) > 3 for c in list(views['policy'].values())[:50])
    return views


def purged(rules, local):
    """Absent rules for every local rule that rules do not name (a purge in the same transaction)."""
    named = set((r['target'], r['ftype']) for r in rules)
    return [dict(target=t, ftype=f, context=None, state='absent', purged=True)
            for (t, f) in sorted(local) if (t, f) not in named]


def changing(rules, changes):
    """The rules whose change is in changes (a plan's)."""
    keys = set((c['target'], c['ftype']) for c in changes if c['kind'] == 'rule')
    return [r for r in rules if (r['target'], r['ftype']) in keys]


def sets_a_type(rules, changes):
    """Whether a rule that changes sets a type: only then is the policy read to check it (a no-change run, or one
    that only removes rules, reads nothing)."""
    return any(r['state'] == 'present' for r in changing(rules, changes))


def check_changed(rules, changes, subs, read):
    """Errors for the rules that change: under an equivalence, or (read: setools' {attribute: (types, all types,
    permissive)} for file_type and device_node, None when unread) a type that is no file or device type."""
    changing_rules = changing(rules, changes)
    errors = equivalence_conflicts(changing_rules, subs)
    if read is not None:
        errors += type_errors(changing_rules, read['file_type'][0] | read['device_node'][0], read['file_type'][1])
    return errors


def plan_task(rules, views, read_types, purge=False):
    """What one task's rules change (views: read_views(); read_types: a function returning what check_changed
    takes as read, called only when a changing rule sets a type), the local rules it does not name taken out too
    when purge: {errors, changes, lines, rules, local, subs}. Nothing is changed here."""
    rules = rules + (purged(rules, views['local']) if purge else [])
    changes, lines = plan(rules, [], views['local'], views['subs'], views['policy'])
    read = read_types() if sets_a_type(rules, changes) else None
    errors = check_changed(rules, changes, dict(views['subs_dist'], **views['subs']), read)
    return dict(errors=errors, changes=changes, lines=lines, rules=rules, local=views['local'], subs=views['subs'])


def diff(store, local, subs, rules, equivs=()):
    """An Ansible diff of the local file-context rules and equivalences before and after rules and equivs."""
    header = 'file_contexts.local (%s)' % store
    after_local, after_subs = after(local, subs, rules, equivs)
    return dict(before=render(local, subs), after=render(after_local, after_subs),
                before_header=header, after_header=header)


def after(local, subs, rules, equivs):
    """(local rules, equivalences) once rules and equivs are in place, for diffs."""
    after_local, after_subs = dict(local), dict(subs)
    for r in rules:
        if r['state'] == 'present':
            after_local[(r['target'], r['ftype'])] = r['context']
        else:
            after_local.pop((r['target'], r['ftype']), None)
    for e in equivs:
        if e['state'] == 'present':
            after_subs[e['target']] = e['source']
        else:
            after_subs.pop(e['target'], None)
    return after_local, after_subs


def relabel(module, paths, enabled, check_mode, present_rules, predict_changes, limit):
    """restorecon -R -v over paths after a commit (-n in check mode, plus the relabels the present rules would
    cause, predicted, when predict_changes): {relabelled (at most limit), relabelled_count, restorecon_paths,
    restorecon_skipped}. FcontextError when restorecon fails."""
    out = dict(relabelled=[], relabelled_count=0, restorecon_paths=paths, restorecon_skipped=None)
    if not enabled:
        out['restorecon_skipped'] = 'restorecon=false'
    elif not paths:
        out['restorecon_skipped'] = 'no existing path is covered by the rules'
    elif not se.active():
        out['restorecon_skipped'] = 'SELinux is not active in the running kernel; files get these labels at the ' \
                                    'next relabel'
    if out['restorecon_skipped']:
        return out
    restorecon = module.get_bin_path('restorecon', required=True)
    if not check_mode:
        _files.fault_point('fcontext:before-restorecon')
    argv = [restorecon, '-R', '-v'] + (['-n'] if check_mode else []) + ['--'] + paths
    rc, stdout, err = module.run_command(argv)
    if rc != 0:
        raise FcontextError('restorecon failed (rc=%d): %s' % (rc, (err or stdout).strip()))
    relabelled = parse_restorecon(stdout)
    if check_mode and predict_changes:
        predicted, truncated = predict(present_rules, paths, _files.selinux_label)
        if truncated:
            module.warn('check mode looked at the first 100000 files only to predict relabels')
        known = dict((x['path'], x) for x in relabelled)
        known.update((x['path'], x) for x in predicted)
        relabelled = [known[k] for k in sorted(known)]
    out.update(relabelled=relabelled[:limit], relabelled_count=len(relabelled))
    return out


def parse_local(text):
    """{(target, ftype): context} from file_contexts.local text."""
    rules = {}
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        parts = line.split()
        if len(parts) == 2:
            rules[(parts[0], 'a')] = parts[1]
        elif len(parts) == 3 and parts[1] in FLAGS:
            rules[(parts[0], FLAGS[parts[1]])] = parts[2]
    return rules


def parse_subs(text):
    """{target: source} from file_contexts.subs text (target is labelled like source)."""
    subs = {}
    for line in (text or '').splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.lstrip().startswith('#'):
            subs[parts[0]] = parts[1]
    return subs


def check_text(what, value):
    """No newline, NUL or other control character (libsemanage stops at a NUL, a newline splits an import line)."""
    try:
        inp.check_text(what, value)
    except inp.InputError as exc:
        raise FcontextError(str(exc).replace('; nothing was changed', ''))


def check_spec(what, spec):
    """Refuse what semanage would refuse, or what could not be passed safely, naming the value."""
    check_text(what, spec)
    if not isinstance(spec, str) or not spec.startswith('/'):
        raise FcontextError('%s %r must be an absolute path regex (starting with /)' % (what, spec))
    if re.search(r'[\s"\']', spec):
        raise FcontextError('%s %r: file specifications cannot contain spaces or quotes' % (what, spec))
    try:
        re.compile(spec)
    except re.error as exc:
        raise FcontextError('%s %r is not a valid regular expression: %s' % (what, spec, exc))


def normalize(rules, equivalences, default_level):
    """Validated rules [{target, ftype, context|None, state}] and equivalences [{target, source|None, state}]."""
    out, seen = [], set()
    for rule in rules or []:
        target, ftype, state = rule.get('target'), rule.get('ftype') or 'a', rule.get('state') or 'present'
        check_spec('target', target)
        for key in ('setype', 'seuser', 'selevel'):
            check_text('%s for %s' % (key, target), rule.get(key))
        if ftype not in FTYPES:
            raise FcontextError('ftype %r for %s: use one of %s' % (ftype, target, ', '.join(sorted(FTYPES))))
        if state not in ('present', 'absent'):
            raise FcontextError('state %r for %s: use present or absent' % (state, target))
        if (target, ftype) in seen:
            raise FcontextError('%s (%s) is listed twice' % (target, NAMES[ftype]))
        seen.add((target, ftype))
        context = None
        if state == 'present':
            setype, seuser = rule.get('setype'), rule.get('seuser') or 'system_u'
            level = rule.get('selevel') or default_level
            if not setype or not IDENT.fullmatch(setype):
                raise FcontextError('setype %r for %s is not a type name' % (setype, target))
            if not IDENT.fullmatch(seuser):
                raise FcontextError('seuser %r for %s is not a user name' % (seuser, target))
            if level and not LEVEL.fullmatch(level):
                raise FcontextError('selevel %r for %s is not an MLS/MCS level' % (level, target))
            context = 'system_u:object_r:%s' % setype if seuser == 'system_u' else '%s:object_r:%s' % (seuser, setype)
            if level:
                context += ':' + level
        out.append(dict(target=target, ftype=ftype, context=context, state=state))
    equivs = []
    for eq in equivalences or []:
        target, source, state = eq.get('target'), eq.get('source'), eq.get('state') or 'present'
        check_spec('equivalence target', target)
        check_text('equivalence source for %s' % target, source)
        if state == 'present':
            if not isinstance(source, str) or not source.startswith('/') or re.search(r'[\s"\']', source):
                raise FcontextError('equivalence source %r for %s must be an absolute path' % (source, target))
        equivs.append(dict(target=target, source=source if state == 'present' else None, state=state))
    return out, equivs


def context_type(context):
    parts = (context or '').split(':')
    return parts[2] if len(parts) >= 3 else None


def plan(rules, equivs, local, subs, policy=None):
    """(changes, semanage import lines). Only what differs; nothing when all is in place.

    A rule the policy itself defines for the same spec and file type is overridden with -m (semanage refuses -a).
    """
    policy = policy or {}
    changes, lines = [], []
    for r in rules:
        key = (r['target'], r['ftype'])
        now = local.get(key)
        flag = ['-f', r['ftype']]
        if r['state'] == 'present':
            if now == r['context']:
                continue
            parts = r['context'].split(':')
            args = ['-t', parts[2], '-s', parts[0]] + (['-r', ':'.join(parts[3:])] if len(parts) > 3 else [])
            verb = '-m' if now or key in policy else '-a'
            lines.append(' '.join(['fcontext', verb] + flag + args + [r['target']]))
        else:
            if now is None:
                continue
            lines.append(' '.join(['fcontext', '-d'] + flag + [r['target']]))
        change = dict(kind='rule', target=r['target'], ftype=r['ftype'], before=now, after=r['context'])
        if r.get('purged'):
            change['purged'] = True
        changes.append(change)
    for e in equivs:
        now = subs.get(e['target'])
        if e['state'] == 'present':
            if now == e['source']:
                continue
            if now:
                lines.append('fcontext -d -e %s %s' % (now, e['target']))
            lines.append('fcontext -a -e %s %s' % (e['source'], e['target']))
        else:
            if now is None:
                continue
            lines.append('fcontext -d -e %s %s' % (now, e['target']))
        changes.append(dict(kind='equivalence', target=e['target'], before=now, after=e['source']))
    return changes, lines


def type_errors(rules, file_types, everything):
    """Text for each present rule whose type the policy does not define, or defines as neither a file type nor a
    device node type (what semanage refuses: its valid types are the attributes file_type and device_node)."""
    found = []
    for r in rules:
        t = context_type(r['context']) if r['state'] == 'present' else None
        if t is None:
            continue
        if t not in everything:
            found.append('setype %s for %s is not a type of the policy%s'
                         % (t, r['target'], inp.did_you_mean(t, file_types)))
        elif t not in file_types:
            found.append('setype %s for %s is not a file or device type (the policy gives it neither the file_type '
                         'nor the device_node attribute)' % (t, r['target']))
    return found


def equivalence_conflicts(rules, subs):
    """Text for each present rule whose target lies under an equivalence target (semanage refuses those: the files
    there are labelled as the equivalence's source says, so the rule would never apply)."""
    found = []
    for r in rules:
        target = r['target'].rstrip('/') or '/'
        for eq, source in sorted(subs.items()):
            if r['state'] == 'present' and target.startswith(eq.rstrip('/') + '/'):
                found.append('target %s lies under the equivalence %s = %s; give the rule for %s instead' % (
                    r['target'], eq, source, source.rstrip('/') + target[len(eq.rstrip('/')):]))
    return found


def render(local, subs):
    """Readable text of the local customizations, for diffs."""
    out = ['%s %s %s' % (t, NAMES[f], c) for (t, f), c in sorted(local.items())]
    out += ['%s = %s' % (t, s) for t, s in sorted(subs.items())]
    return '\n'.join(out) + ('\n' if out else '')


def literal_prefix(spec):
    """The longest plain path a regex spec starts with, cut back to a whole path component: where to restorecon."""
    out = []
    i = 0
    while i < len(spec):
        ch = spec[i]
        if ch == '\\' and i + 1 < len(spec) and spec[i + 1] in META:
            out.append(spec[i + 1])
            i += 2
            continue
        if ch in META:
            # a quantifier makes the previous character optional: drop it
            if ch in '?*{' and out:
                out.pop()
            break
        out.append(ch)
        i += 1
    path = ''.join(out)
    whole_component = spec[i:i + 2] == '(/' or spec[i:i + 1] == '$'
    if i < len(spec) and not path.endswith('/') and not whole_component:
        path = path.rsplit('/', 1)[0] or '/'
    return path.rstrip('/') or '/'


def restorecon_paths(rules, equivs, exists=os.path.exists):
    """Existing top paths touched by the rules, without paths nested in others."""
    tops = sorted(set([literal_prefix(r['target']) for r in rules] + [e['target'] for e in equivs]))
    out = []
    for path in tops:
        if path == '/':
            continue  # never relabel the whole file system implicitly
        if any(path == p or path.startswith(p.rstrip('/') + '/') for p in out):
            continue
        if exists(path):
            out.append(path)
    return out


def parse_restorecon(output):
    """[{path, from, to}] from `restorecon -v` output."""
    found = []
    for line in (output or '').splitlines():
        m = RELABELED.match(line.strip())
        if m:
            found.append({'path': m.group(1), 'from': m.group(2), 'to': m.group(3)})
    return found


def ftype_of(mode):
    import stat
    for test, letter in ((stat.S_ISREG, 'f'), (stat.S_ISDIR, 'd'), (stat.S_ISLNK, 'l'), (stat.S_ISCHR, 'c'),
                         (stat.S_ISBLK, 'b'), (stat.S_ISSOCK, 's'), (stat.S_ISFIFO, 'p')):
        if test(mode):
            return letter
    return 'a'


def predict(rules, paths, current_label, limit=100000):
    """Files under paths whose type the rules being added would change: [{path, from, to}] (a prediction for check
    mode: later-listed rules win, as with file_contexts.local). Stops after limit entries."""
    compiled = [(re.compile(r['target']), r['ftype'], r['context']) for r in rules if r['state'] == 'present']
    found, walked = [], 0

    def consider(path, mode):
        want = None
        for regex, ftype, context in compiled:
            if regex.fullmatch(path) and ftype in ('a', ftype_of(mode)):
                want = context
        if want is None:
            return
        now = current_label(path)
        if now and context_type(now) != context_type(want):
            parts = now.split(':')
            to = ':'.join([parts[0], parts[1], context_type(want)] + parts[3:])
            found.append({'path': path, 'from': now, 'to': to})

    for top in paths:
        for root, dirs, files in os.walk(top):
            for name in [''] + dirs + files if root == top else dirs + files:
                path = os.path.join(root, name) if name else root
                walked += 1
                if walked > limit:
                    return found, True
                try:
                    consider(path, os.lstat(path).st_mode)
                except OSError:
                    continue
    return found, False


# ------------------------------------------------------------------ libsemanage, in the module's own process

def _ftype_codes():
    return {'a': semanage.SEMANAGE_FCONTEXT_ALL, 'f': semanage.SEMANAGE_FCONTEXT_REG,
            'd': semanage.SEMANAGE_FCONTEXT_DIR, 'c': semanage.SEMANAGE_FCONTEXT_CHAR,
            'b': semanage.SEMANAGE_FCONTEXT_BLOCK, 's': semanage.SEMANAGE_FCONTEXT_SOCK,
            'l': semanage.SEMANAGE_FCONTEXT_LINK, 'p': semanage.SEMANAGE_FCONTEXT_PIPE}


COMMIT_HINT = '; libsemanage names the cause on stderr, often a context the policy does not allow'


class FcontextStore(sb.Store):
    """A libsemanage connection to one policy store, for local file-context rules (connection and locking as for
    booleans). Saves the `semanage import` child: a second Python, seobject and a policy read by sepolicy."""

    def commit_rules(self, changes):
        """The rule changes of a plan (kind 'rule': after is the new context, None to remove) in one transaction,
        committed once (between the fault points fcontext:before-commit and fcontext:after-commit). File contexts
        are no part of the policy the kernel runs, so nothing is loaded into it: restorecon reads the files the
        commit installs."""
        self.begin()
        self.stage_rules([c for c in changes if c['kind'] == 'rule'])
        self.set_reload(False)
        self.finish('fcontext', FcontextError, COMMIT_HINT)

    def stage_rules(self, changes):
        codes = _ftype_codes()
        for c in changes:
            rc, key = semanage.semanage_fcontext_key_create(self.handle, c['target'], codes[c['ftype']])
            if rc < 0:
                raise FcontextError('could not create a key for %s' % c['target'])
            try:
                if c['after'] is None:
                    if semanage.semanage_fcontext_del_local(self.handle, key) < 0:
                        raise FcontextError('could not remove the rule for %s from the policy store' % c['target'])
                else:
                    self._modify(key, c, codes)
            finally:
                semanage.semanage_fcontext_key_free(key)

    def _modify(self, key, c, codes):
        rc, rec = semanage.semanage_fcontext_create(self.handle)
        if rc < 0:
            raise FcontextError('could not create a record for %s' % c['target'])
        try:
            semanage.semanage_fcontext_set_expr(self.handle, rec, c['target'])
            semanage.semanage_fcontext_set_type(rec, codes[c['ftype']])
            rc, con = semanage.semanage_context_from_string(self.handle, c['after'])
            if rc < 0 or con is None:
                raise FcontextError('context %s for %s is not a valid context' % (c['after'], c['target']))
            try:
                semanage.semanage_fcontext_set_con(self.handle, rec, con)
                if semanage.semanage_fcontext_modify_local(self.handle, key, rec) < 0:
                    raise FcontextError('could not add the rule for %s to the policy store' % c['target'])
            finally:
                semanage.semanage_context_free(con)
        finally:
            semanage.semanage_fcontext_free(rec)
