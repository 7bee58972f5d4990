# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""A host's MAC posture, read-only: processes and their labels, permissive domains, device labels, profiles.

Every reader takes its paths as arguments so the unit tests run it on recorded trees; lsm_status_info puts them
together. Nothing here changes the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import glob
import importlib
import importlib.util
import os
import re
import stat
import sys
import types

from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa
from ansible_collections.confine.lsm.plugins.module_utils import _files
from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se

PROC = '/proc'
SELINUX_STORE = '/var/lib/selinux'
# Domains the reference policy and Fedora's targeted policy leave unconfined, used when the loaded policy cannot be
# read (no setools): with setools, the policy's own unconfined_domain_type attribute is the list.
UNCONFINED_FALLBACK = ('init_t', 'initrc_t', 'kernel_t', 'unconfined_t', 'unconfined_service_t')
UNCONFINED_ATTRIBUTE = 'unconfined_domain_type'
DEVICE_TYPES_UNLABELED = ('device_t', 'unlabeled_t')
LIST_LIMIT = 200  # at most this many entries in any list of offenders (counts stay exact)


# ------------------------------------------------------------------ processes

def _read(path, binary=False):
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except (IOError, OSError):
        return None
    return data if binary else data.decode('utf-8', 'replace')


def read_text_or_empty(path):
    """A small text file (/proc/cmdline), or '' when it cannot be read."""
    return _read(path) or ''


def parse_stat_ppid(text):
    """The parent pid from /proc/PID/stat (the command name may hold spaces and parentheses)."""
    if not text or ')' not in text:
        return None
    fields = text[text.rindex(')') + 2:].split()
    try:
        return int(fields[1])
    except (IndexError, ValueError):
        return None


def unit_of(cgroup_text):
    """(unit, slice_path) from /proc/PID/cgroup: the innermost systemd unit, or (None, path)."""
    path = None
    for line in (cgroup_text or '').splitlines():
        parts = line.split(':', 2)
        if len(parts) != 3:
            continue
        if parts[0] == '0' and parts[1] == '' or parts[1] == 'name=systemd':
            path = parts[2]
            if parts[1] == 'name=systemd':
                break
    if path is None:
        return None, None
    for part in reversed(path.strip('/').split('/')):
        if part.endswith(('.service', '.scope')):
            return part, path
    return None, path


def clean_label(raw):
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode('utf-8', 'replace')
    return raw.replace('\x00', '').strip() or None


def processes(proc=PROC, lsm='selinux'):
    """Every user-space process: pid, ppid, exe, unit, cgroup, label. Kernel threads (children of kthreadd) are left out.

    lsm picks the label: 'selinux' reads attr/current, 'apparmor' attr/apparmor/current where the kernel has it
    (stacking kernels), else attr/current.
    """
    found = []
    try:
        entries = os.listdir(proc)
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        base = os.path.join(proc, entry)
        pid = int(entry)
        ppid = parse_stat_ppid(_read(os.path.join(base, 'stat')))
        if ppid is None or pid == 2 or ppid == 2:
            continue
        try:
            exe = os.readlink(os.path.join(base, 'exe'))
        except OSError:
            exe = None
        if exe and exe.endswith(' (deleted)'):
            exe = exe[:-len(' (deleted)')]
        label = None
        if lsm == 'apparmor':
            label = clean_label(_read(os.path.join(base, 'attr', 'apparmor', 'current'), binary=True))
        if label is None:
            label = clean_label(_read(os.path.join(base, 'attr', 'current'), binary=True))
        unit, cgroup = unit_of(_read(os.path.join(base, 'cgroup')))
        found.append({'pid': pid, 'ppid': ppid, 'exe': exe, 'unit': unit, 'cgroup': cgroup, 'label': label})
    return sorted(found, key=lambda p: p['pid'])


def is_system_service(p):
    """True for a process systemd started for a system service (not a login session, not a user manager)."""
    cgroup = p.get('cgroup') or ''
    return bool(p.get('unit')) and p['unit'].endswith('.service') and not cgroup.startswith('/user.slice')


def selinux_type(context):
    parts = (context or '').split(':')
    return parts[2] if len(parts) >= 3 else None


def unconfined_services(procs, unconfined_types, label_of=_files.selinux_label):
    """System-service processes (pid 1 excepted, role system_r) whose domain is one the policy leaves unconfined."""
    out = []
    for p in procs:
        if p['pid'] == 1 or not is_system_service(p):
            continue
        parts = (p['label'] or '').split(':')
        if len(parts) < 3 or parts[1] != 'system_r':
            continue  # a login session (sshd without pam_systemd leaves it in ssh.service) has a user role
        domain = parts[2]
        if domain in unconfined_types:
            out.append({'pid': p['pid'], 'unit': p['unit'], 'exe': p['exe'], 'domain': domain,
                        'context': p['label'], 'exe_label': label_of(p['exe'])})
    return out


# ------------------------------------------------------------------ SELinux policy

def import_policyrep():
    """setools' policy reader without the package's analysis modules (networkx, pkg_resources: seconds to import).

    Returns the policyrep module, or None when setools is not installed for this interpreter.
    """
    if 'setools.policyrep' in sys.modules:
        return sys.modules['setools.policyrep']
    try:
        spec = importlib.util.find_spec('setools')
    except (ImportError, ValueError, AttributeError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None
    if 'setools' not in sys.modules:
        pkg = types.ModuleType('setools')
        pkg.__path__ = list(spec.submodule_search_locations)
        sys.modules['setools'] = pkg
    try:
        return importlib.import_module('setools.policyrep')
    except Exception:  # pylint: disable=broad-except  # a broken setools means "cannot read", not a crash
        return None


def policy_file(store, root='/etc/selinux'):
    """The store's binary policy (policy.NN with the highest NN), or None."""
    best = None
    for path in glob.glob(os.path.join(root, store, 'policy', 'policy.*')):
        suffix = path.rsplit('.', 1)[1]
        if suffix.isdigit() and (best is None or int(suffix) > best[0]):
            best = (int(suffix), path)
    return best[1] if best else None


def policy_types(policyrep, path, attribute):
    """(types with the attribute, all types, permissive types) of the binary policy at path, read by setools'
    policyrep; None when it cannot be read (no setools, no file, a policy setools does not understand)."""
    read = policy_types_of(policyrep, path, (attribute,))
    return read and read[attribute]


def policy_types_of(policyrep, path, attributes):
    """{attribute: (types with it, all types, permissive types)} for each of attributes, the policy at path read
    once; None when it cannot be read."""
    if policyrep is None or not path:
        return None
    try:
        policy = policyrep.SELinuxPolicy(path)
        types = list(policy.types())
        members = dict((a, set(str(t) for t in policy.lookup_typeattr(a).expand())) for a in attributes)
    except Exception:  # pylint: disable=broad-except  # an unreadable policy means "cannot check", not a crash
        return None
    names, permissive = set(str(t) for t in types), set(str(t) for t in types if t.ispermissive)
    return dict((a, (members[a], names, permissive)) for a in attributes)


def loaded_policy_facts(policyrep=None):
    """Permissive types and unconfined domains of the policy the kernel runs, read by setools.

    Returns {'permissive': [...], 'unconfined': [...], 'reader': 'setools'} or None when setools is missing or the
    policy cannot be read.
    """
    policyrep = policyrep if policyrep is not None else import_policyrep()
    if policyrep is None:
        return None
    try:
        policy = policyrep.SELinuxPolicy()
        permissive = sorted(str(t) for t in policy.types() if t.ispermissive)
        try:
            unconfined = sorted(str(t) for t in policy.lookup_typeattr(UNCONFINED_ATTRIBUTE).expand())
        except Exception:  # pylint: disable=broad-except  # a policy without the attribute
            unconfined = [t for t in UNCONFINED_FALLBACK if _has_type(policy, t)]
    except Exception:  # pylint: disable=broad-except
        return None
    return {'permissive': permissive, 'unconfined': unconfined, 'reader': 'setools'}


def _has_type(policy, name):
    try:
        policy.lookup_type(name)
        return True
    except Exception:  # pylint: disable=broad-except
        return False


def local_permissive(policy_name, store_root=SELINUX_STORE):
    """Types made permissive by `semanage permissive -a` (modules permissive_TYPE in the store, any priority)."""
    base = os.path.join(store_root, policy_name or '', 'active', 'modules')
    found = set()
    try:
        priorities = os.listdir(base)
    except OSError:
        return []
    for prio in priorities:
        if not prio.isdigit():
            continue
        try:
            names = os.listdir(os.path.join(base, prio))
        except OSError:
            continue
        for name in names:
            if name.startswith('permissive_') and os.path.isdir(os.path.join(base, prio, name)):
                if not os.path.exists(os.path.join(base, 'disabled', name)):
                    found.add(name[len('permissive_'):])
    return sorted(found)


def unlabeled_devices(root='/dev', label_of=_files.selinux_label, expected_of=None, limit=LIST_LIMIT):
    """Character and block devices under root labelled device_t or unlabeled_t: ([{path, type, expected}], count).

    expected_of(path, mode) gives the label the policy's file contexts assign (libselinux's matchpathcon), or None.
    """
    out, count = [], 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in filenames + dirnames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
                continue
            setype = selinux_type(label_of(path))
            if setype in DEVICE_TYPES_UNLABELED:
                count += 1
                if len(out) < limit:
                    expected = selinux_type(expected_of(path, st.st_mode)) if expected_of else None
                    out.append({'path': path, 'type': setype, 'expected': expected})
    return out, count


# ------------------------------------------------------------------ boot configuration

KERNEL_CMDLINE = '/etc/kernel/cmdline'
GRUB_D = se.GRUB_D
BLS_DIR = '/boot/loader/entries'
GRUBENVS = ('/boot/grub2/grubenv', '/boot/grub/grubenv')
grub_default_args = se.grub_default_args


def read_config(path):
    """A boot configuration file's text; None when it is missing, unreadable or not a regular file (a FIFO there is
    never opened in a way that could block the status read)."""
    try:
        return _files.read_text(path)
    except (IOError, OSError):
        return None


def boot_args(grub_default=se.DEFAULT_GRUB, kernel_cmdline=KERNEL_CMDLINE, grub_d=GRUB_D, bls_dir=BLS_DIR,
              grubenvs=GRUBENVS):
    """(source, text) pairs of the kernel args a next boot can get: /etc/default/grub (+ grub.d), /etc/kernel/cmdline,
    each boot loader entry's options (BLS, what grubby edits, with $kernelopts from grubenv) and grubenv."""
    found = []
    files = se.grub_default_files(grub_default, grub_d)
    text = grub_default_args(files, read=read_config)
    if text is not None:
        found.append((se.grub_defaults_source(files), text))
    text = read_config(kernel_cmdline)
    if text is not None:
        found.append((kernel_cmdline, text.strip()))
    kernelopts = None
    for env in grubenvs:
        text = read_config(env)
        if text is None:
            continue
        for line in text.splitlines():
            if line.startswith('kernelopts='):
                kernelopts = line[len('kernelopts='):]
                found.append((env, kernelopts))
    try:
        entries = sorted(n for n in os.listdir(bls_dir) if n.endswith('.conf'))
    except OSError:
        entries = []
    for name in entries:
        path = os.path.join(bls_dir, name)
        for line in (read_config(path) or '').splitlines():
            if line.startswith('options'):
                opts = line[len('options'):].strip().replace('$kernelopts', kernelopts or '')
                found.append((path, opts))
    return found


AA_WATCHED = ('apparmor', 'security', 'lsm', 'selinux')  # selinux=0 takes SELinux out of lsm='s order


def parse_aa_args(text):
    """{key: value} of the AppArmor-relevant kernel args (last one wins), read as the SELinux ones are."""
    return se.parse_args(text, AA_WATCHED)


def aa_blocking(args):
    """Why these kernel args keep AppArmor off (empty: nothing blocks)."""
    reasons = ['apparmor=0 disables AppArmor'] if args.get('apparmor') == '0' else []
    return reasons + se.other_lsm_chosen(args, 'apparmor')


# ------------------------------------------------------------------ AppArmor attachments

_VAR = re.compile(r'@\{([A-Za-z0-9_]+)\}')
_VAR_DEF = re.compile(r'^\s*@\{([A-Za-z0-9_]+)\}\s*(\+?=)\s*(.*?)\s*$')


def parse_variables(texts):
    """{name: [values]} from tunables texts ('@{x}=a b', '@{x}+=c'); values are whitespace separated."""
    found = {}
    for text in texts:
        for line in text.splitlines():
            line = aa.strip_comment(line)
            m = _VAR_DEF.match(line)
            if not m:
                continue
            values = [aa.unquote(v) for v in m.group(3).split()]
            if m.group(2) == '+=':
                found.setdefault(m.group(1), []).extend(values)
            else:
                found[m.group(1)] = values
    return found


def expand_variables(pattern, variables, depth=0):
    """Every pattern with its @{var} replaced by each value (an alternation); None when a variable is unknown."""
    m = _VAR.search(pattern)
    if not m:
        return [pattern]
    if depth > 8 or m.group(1) not in variables:
        return None
    out = []
    for value in variables[m.group(1)]:
        more = expand_variables(pattern[:m.start()] + value + pattern[m.end():], variables, depth + 1)
        if more is None:
            return None
        out.extend(more)
    return out


def aare_to_regex(pattern):
    """A Python regex for an AppArmor path glob: * (not /), ** (any), ? (one, not /), [...], {a,b}."""
    out, i, depth = [], 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == '\\' and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == '*':
            if pattern[i:i + 2] == '**':
                out.append('.*')
                i += 2
                continue
            out.append('[^/]*')
        elif c == '?':
            out.append('[^/]')
        elif c == '[':
            j, body = i + 1, []
            neg = pattern[j:j + 1] == '^'
            j += 1 if neg else 0
            while j < len(pattern) and pattern[j] != ']':
                if pattern[j] == '\\' and j + 1 < len(pattern):
                    body.append(re.escape(pattern[j + 1]))
                    j += 2
                    continue
                body.append(pattern[j] if pattern[j] == '-' else re.escape(pattern[j]))
                j += 1
            if j >= len(pattern) or not body:
                return None  # an unterminated or empty class: the parser would refuse the profile
            out.append('[' + ('^' if neg else '') + ''.join(body) + ']')
            i = j + 1
            continue
        elif c == '{':
            out.append('(?:')
            depth += 1
        elif c == '}' and depth:
            out.append(')')
            depth -= 1
        elif c == ',' and depth:
            out.append('|')
        else:
            out.append(re.escape(c))
        i += 1
    if depth:
        return None
    return '^' + ''.join(out) + '$'


GLOB_CHARS = '*?[{'


def literal_prefix(pattern):
    """How many characters of an attachment come before its first glob character (escapes count as one)."""
    count, i = 0, 0
    while i < len(pattern):
        if pattern[i] == '\\':
            i += 2
            count += 1
            continue
        if pattern[i] in GLOB_CHARS:
            break
        i += 1
        count += 1
    return count


def attachments(files, variables):
    """{profile name: [(regex, exact, literal prefix length)]} for the top-level profiles that attach to a path,
    and [(profile, attachment)] of those whose attachment could not be expanded (an unknown variable).

    Variables come from the tunables and from the profile's own file (profiles may define their own).
    """
    found, unknown = {}, []
    for path, text in sorted(files.items()):
        local = None
        try:
            read = aa.headers(text)
        except aa.ProfileError as exc:
            unknown.append((os.path.basename(path), 'unreadable (%s)' % exc))
            continue
        for h in read:
            if h['depth'] != 0:
                continue
            attach = h['attach'] if h['attach'] else (h['name'] if h['name'].startswith('/') else None)
            if not attach or not attach.startswith(('/', '@')):
                continue
            if local is None:
                local = dict(variables)
                local.update(parse_variables([text]))
            patterns = expand_variables(attach, local)
            if not patterns:
                unknown.append((h['name'], attach))
                continue
            for p in patterns:
                rx = aare_to_regex(p)
                if not rx:
                    unknown.append((h['name'], p))
                    continue
                try:
                    found.setdefault(h['name'], []).append(
                        (re.compile(rx), not any(c in p for c in GLOB_CHARS), literal_prefix(p)))
                except re.error:
                    unknown.append((h['name'], p))
    return found, unknown


def attaching_profile(exe, attach, loaded):
    """The loaded profile whose attachment matches exe, as the kernel picks it: an exact path beats a glob, then the
    longest literal prefix wins."""
    best, best_key = None, None
    for name, entries in sorted(attach.items()):
        if name not in loaded:
            continue
        for rx, exact, prefix in entries:
            if rx.match(exe):
                key = (exact, prefix)
                if best_key is None or key > best_key:
                    best, best_key = name, key
    return best


def aa_label_profile(label):
    """'nginx (enforce)' -> ('nginx', 'enforce'); 'unconfined' -> ('unconfined', None)."""
    label = (label or '').strip()
    if label.endswith(')') and ' (' in label:
        name, mode = label[:-1].rsplit(' (', 1)
        return name, mode
    return label or None, None


def misattached(procs, attach, loaded):
    """Processes running unconfined (or under another profile) although a loaded profile attaches to their exe.

    A profile loaded after its process started confines nothing until the process is started again.
    """
    out = []
    for p in procs:
        if not p['exe'] or p['pid'] == 1:
            continue
        profile = attaching_profile(p['exe'], attach, loaded)
        if not profile:
            continue
        running, _mode = aa_label_profile(p['label'])
        if running is None:
            continue
        top = running.split('//')[0]
        if top != profile:
            out.append({'pid': p['pid'], 'exe': p['exe'], 'unit': p['unit'], 'label': p['label'],
                        'profile': profile, 'profile_mode': loaded.get(profile)})
    return out


def disabled_profiles(profile_dir):
    """File names linked in profile_dir/disable."""
    try:
        return sorted(os.listdir(os.path.join(profile_dir, 'disable')))
    except OSError:
        return []


def mode_counts(loaded):
    counts = {}
    for mode in loaded.values():
        counts[mode] = counts.get(mode, 0) + 1
    return counts


def tunables_texts(profile_dir):
    texts = []
    base = os.path.join(profile_dir, 'tunables')
    for dirpath, _dirs, names in os.walk(base, followlinks=False):
        for name in sorted(names):
            text = _read(os.path.join(dirpath, name))
            if text:
                texts.append(text)
    return texts


def matches_any(name, patterns):
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)
