# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""The SELinux fix advisor of lsm_denials_info: for a group of denials, the fix of least power, read from the
running policy (libselinux's audit2why, setools' rule queries): relabel, boolean, file context, port label, and a
policy module last, as a proposal. The ranking itself is in _denials (pure, unit-tested)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _denials as dn

try:
    import selinux
    HAS_SELINUX = True
except ImportError:
    HAS_SELINUX = False


class SELinuxAdvisor:
    """Fix suggestions for SELinux groups, least power first, from the running policy."""

    def __init__(self, module):
        self.module = module
        self.a2w = None
        self._types = None
        self._granted = {}  # (subject type, class) -> {target type: permissions}: one rule scan each (~20 s emulated)
        self._attributes = {}  # attribute -> the types that hold it
        self._usage = None
        self.warnings = []
        try:
            import selinux.audit2why as a2w
            a2w.init()
            self.a2w = a2w
        except Exception as exc:  # pylint: disable=broad-except
            self.warnings.append('audit2why analysis unavailable: %s' % to_native(exc))

    def suggest(self, group):
        rule = dn.allow_rule(group)
        base = dict(allow_rule=rule)
        relabel = self.relabel(group)
        if relabel:
            return dict(base, **relabel)
        rc, booleans = self.analyze(group)
        if rc == 'boolean':
            return dict(base, kind='boolean', booleans=booleans,
                        detail='a boolean allows this; set it with confine.lsm.sebool_persist')
        if rc == 'allowed':
            return dict(base, kind='none', detail='the running policy allows this now (fixed since, or a reload)')
        if rc in ('constraint', 'rbac', 'bounds'):
            return dict(base, kind='constraint', detail='denied by a %s, not by a missing allow rule; a module '
                        'cannot simply allow it: review the domain or the labels' % rc)
        if group.get('class') in dn.FILE_CLASSES and group.get('target_type'):
            candidates = self.candidate_types(group)
            if candidates:
                where = group.get('object') if group.get('path_is_full') else \
                    'the %s file named %r (the record holds its name, not its path)' % (
                        group['target_type'], group.get('object') or '?')
                return dict(base, kind='fcontext', candidate_types=candidates,
                            detail='label %s with a type %s may access this way (narrowest first), using '
                                   'confine.lsm.selinux_fcontext and restorecon' % (where, group['subject_type']))
        if group.get('class') in dn.PORT_CLASSES and group.get('target_type') and \
                set(group.get('permissions') or []) <= set(dn.PORT_PERMISSIONS):
            port = dn.port_suggestion(group, self.candidate_port_types(group))
            if port:
                return dict(base, **port)
        if rc == 'terule':
            return dict(base, kind='module', rule=rule,
                        detail='no boolean or file type allows this; a reviewed policy module would '
                               '(confine.lsm.selinux_policy_module with the sha256 of the reviewed source)')
        return dict(base, kind='unknown', detail='could not be analysed (%s)' % rc)

    def relabel(self, group):
        path = group.get('object')
        if not (HAS_SELINUX and group.get('path_is_full') and path and path.startswith('/')):
            return None
        if '\0' in path or 'object' in (group.get('truncated') or []):
            return None  # not a path the kernel could have logged whole
        try:
            mode = os.lstat(path).st_mode
            expected = selinux.matchpathcon(path, mode)[1]
            actual = selinux.lgetfilecon(path)[1]
        except (OSError, ValueError):
            return None
        if dn.context_type(expected) != dn.context_type(group.get('target_context')):
            if dn.context_type(actual) == dn.context_type(expected):
                return dict(kind='none', expected_context=expected,
                            detail='%s is labelled %s now, as the policy expects (relabelled since)' % (path, actual))
            return dict(kind='relabel', expected_context=expected,
                        detail='%s is labelled %s but the policy says %s: restorecon -v %s restores it, no policy '
                               'change needed' % (path, group.get('target_context'), expected, path))
        return None

    def analyze(self, group):
        if not self.a2w:
            return 'unknown', None
        try:
            rc, data = self.a2w.analyze(group['subject'], group['target_context'], group['class'],
                                        list(group['permissions']))
        except (ValueError, OSError, TypeError, RuntimeError) as exc:
            return 'error: %s' % to_native(exc), None
        names = {self.a2w.ALLOW: 'allowed', self.a2w.TERULE: 'terule', self.a2w.BOOLEAN: 'boolean',
                 self.a2w.CONSTRAINT: 'constraint', self.a2w.RBAC: 'rbac', self.a2w.DONTAUDIT: 'terule'}
        if hasattr(self.a2w, 'BOUNDS'):
            names[self.a2w.BOUNDS] = 'bounds'
        kind = names.get(rc, 'unknown')
        if kind == 'boolean':
            return kind, dict((name, bool(value)) for name, value in data)
        return kind, None

    def granted(self, group, attribute):
        """({target type: permissions} the subject is allowed on the group's class, the types holding attribute),
        read by setools from the running policy once per (subject, class) and attribute; None without setools."""
        try:
            import setools
        except ImportError:
            return None
        try:
            if self._types is None:
                self._types = setools.SELinuxPolicy()
            policy = self._types
            key = (group['subject_type'], group['class'])
            if key not in self._granted:
                granted = {}
                for rule in setools.TERuleQuery(policy, ruletype=['allow'], source=group['subject_type'],
                                                tclass=[group['class']]).results():
                    for target in rule.target.expand():
                        granted.setdefault(str(target), set()).update(str(p) for p in rule.perms)
                self._granted[key] = granted
            if attribute not in self._attributes:
                self._attributes[attribute] = set(str(t) for t in policy.lookup_typeattr(attribute).expand())
            return self._granted[key], self._attributes[attribute]
        except Exception as exc:  # pylint: disable=broad-except
            self.warnings.append('setools query failed: %s' % to_native(exc))
            return None

    def candidate_port_types(self, group):
        """Port types the subject may bind or connect to, its own family first (dn.rank_port_types)."""
        read = self.granted(group, 'port_type')
        if read is None:
            return []
        granted, port_types = read
        return dn.rank_port_types(group['subject_type'], granted, group['permissions'], port_types,
                                  group.get('target_type'))

    def candidate_types(self, group):
        """File types the subject may access with every denied permission, fewest granted permissions first."""
        read = self.granted(group, 'file_type')
        if read is None:
            return []
        granted, file_types = read
        wanted = set(group['permissions'])
        prefix = (group['subject_type'] or '').rsplit('_t', 1)[0] + '_'
        found = [t for t, perms in granted.items() if wanted <= perms and t in file_types
                 and t != group.get('target_type')]
        if self._usage is None:
            self._usage = self.fcontext_usage()
        usage = self._usage
        # least power: the subject's own family first, content types first, then the fewest granted permissions
        # (read-only before read-write), then the types the policy labels most paths with (the general-purpose
        # one, not a single package's)
        found.sort(key=lambda t: (not t.startswith(prefix), 'content' not in t, len(granted[t]), -usage.get(t, 0), t))
        return found[:5]

    def fcontext_usage(self):
        counts = {}
        try:
            path = selinux.selinux_file_context_path() if HAS_SELINUX else None
            with open(path) as f:
                for line in f:
                    t = dn.context_type(line.split()[-1]) if line.strip() and not line.startswith('#') else None
                    if t:
                        counts[t] = counts.get(t, 0) + 1
        except (IOError, OSError, TypeError, IndexError):
            pass
        return counts
