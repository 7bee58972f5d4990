# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""SELinux host state: selinuxfs, the kernel command line, boot configuration, relabel scheduling."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shlex
import stat

from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_input as inp

# Host paths, looked up at call time (tests point them elsewhere).
SELINUX_DIR = '/etc/selinux'
AUTORELABEL = '/.autorelabel'
DEFAULT_GRUB = '/etc/default/grub'
BLS_DIR = '/boot/loader/entries'
CMDLINE = '/proc/cmdline'
CONFIG_TAIL = '/etc/selinux/config'


def selinuxfs(mounts='/proc/mounts'):
    """Mount point of selinuxfs, or None when SELinux is not active in the kernel."""
    try:
        with open(mounts) as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 3 and fields[2] == 'selinuxfs':
                    return fields[1]
    except (IOError, OSError):
        pass
    if os.path.exists('/sys/fs/selinux/enforce'):
        return '/sys/fs/selinux'
    return None


def active():
    """True when SELinux runs in the kernel (selinuxfs is mounted and has its enforce node)."""
    fs = selinuxfs()
    return bool(fs) and os.path.exists(os.path.join(fs, 'enforce'))


def runtime_mode(fs=None):
    """'enforcing', 'permissive', or 'disabled' (no SELinux in the running kernel)."""
    fs = fs if fs is not None else selinuxfs()
    if not fs:
        return 'disabled'
    try:
        with open(os.path.join(fs, 'enforce')) as f:
            return 'enforcing' if f.read().strip() == '1' else 'permissive'
    except (IOError, OSError):
        return 'disabled'


def policy_installed(policy, root=None):
    """True when /etc/selinux/POLICY/policy holds a compiled policy."""
    if not policy or '/' in policy or policy in ('.', '..'):
        return False
    path = os.path.join(root or SELINUX_DIR, policy, 'policy')
    try:
        return any(n.startswith('policy.') for n in os.listdir(path))
    except (IOError, OSError):
        return False


def installed_policies(root=None):
    root = root or SELINUX_DIR
    try:
        return sorted(n for n in os.listdir(root) if policy_installed(n, root))
    except (IOError, OSError):
        return []


# ------------------------------------------------------------------ kernel arguments

WATCHED = ('selinux', 'enforcing', 'security', 'lsm')


def parse_args(text, watched=WATCHED):
    """Return {key: value} for the watched args in a kernel command line (SELinux's by default; last one wins, as
    in Linux)."""
    try:
        tokens = shlex.split(text or '')
    except ValueError:
        tokens = (text or '').split()
    found = {}
    for tok in tokens:
        if tok == '--':
            break
        key, sep, value = tok.partition('=')
        if key in watched and sep:
            found[key] = value
    return found


def blocking_reasons(args, state):
    """Why these kernel args keep SELinux from reaching state (empty list: nothing blocks)."""
    reasons = []
    if state == 'disabled':
        return reasons
    if args.get('selinux') == '0':
        reasons.append('selinux=0 disables SELinux')
    if state == 'enforcing' and args.get('enforcing') == '0':
        reasons.append('enforcing=0 boots SELinux permissive')
    return reasons + other_lsm_chosen(args, 'selinux')


# The LSMs the kernel starts one of at most (LSM_FLAG_EXCLUSIVE), and the arg that switches each off.
EXCLUSIVE_LSMS = ('selinux', 'smack', 'apparmor')
OFF_ARG = {'selinux': 'selinux', 'apparmor': 'apparmor'}


def _switched_off(args, name):
    """selinux=0 or apparmor=0: the kernel reads the value as a number (kstrtoul), any zero switches it off."""
    value = args.get(OFF_ARG.get(name, ''))
    try:
        return value is not None and int(value, 0) == 0
    except ValueError:
        return False


def lsm_order_first(value, lsm):
    """The lsm= value that lets the kernel start lsm: lsm moved (or added) before the first other exclusive LSM."""
    names = [n for n in value.split(',') if n and n != lsm]
    at = min([names.index(n) for n in EXCLUSIVE_LSMS if n in names and n != lsm] or [len(names)])
    return ','.join(names[:at] + [lsm] + names[at:])


def other_lsm_chosen(args, lsm):
    """Why lsm= or security= in these kernel args leave lsm out, as the kernel's LSM init reads them (empty: they
    do not). lsm= supersedes security= (the kernel then ignores security=); in lsm= order the first exclusive LSM
    not switched off is the only one started; security= switches off every major LSM it does not name (an empty
    security= all of them)."""
    if 'lsm' in args:
        names = args['lsm'].split(',')
        if lsm not in names:
            return ['lsm=%s does not list %s' % (args['lsm'], lsm)]
        first = [n for n in names[:names.index(lsm)] if n in EXCLUSIVE_LSMS and n != lsm and not _switched_off(args, n)]
        if first:
            return ['lsm=%s starts %s before %s (the kernel starts one of them)' % (args['lsm'], first[0], lsm)]
        return []
    if 'security' in args and args['security'] != lsm:
        if not args['security']:
            return ['security= with no value switches every major LSM off']
        return ['security=%s selects another LSM' % args['security']]
    return []


def lsm_choice_fix(args, lsm):
    """{key: new value} that makes lsm= or security= start lsm (empty when they already do)."""
    if not other_lsm_chosen(args, lsm):
        return {}
    if 'lsm' in args:
        return {'lsm': lsm_order_first(args['lsm'], lsm)}
    return {'security': lsm}


def chosen_major(args):
    """The exclusive LSM these args start ('selinux', 'apparmor', 'smack'), None when CONFIG_LSM decides or none."""
    if 'lsm' in args:
        for name in args['lsm'].split(','):
            if name in EXCLUSIVE_LSMS and not _switched_off(args, name):
                return name
        return None
    return args.get('security') if args.get('security') in EXCLUSIVE_LSMS else None


def read_cmdline(path=None):
    """The running kernel's command line, '' when it cannot be read."""
    try:
        with open(path or CMDLINE) as f:
            return f.read()
    except (IOError, OSError):
        return ''


GRUB_D = '/etc/default/grub.d'
_GRUB_ASSIGN = re.compile(r'^\s*(?:export\s+)?(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)=(.*)$')
_GRUB_REF = re.compile(r'\$\{?(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)\}?')


def grub_default_files(grub_default=None, grub_d=None):
    """The files grub-mkconfig sources for its defaults, in its order: /etc/default/grub, then grub.d/*.cfg sorted."""
    grub_default, grub_d = grub_default or DEFAULT_GRUB, grub_d or GRUB_D
    try:
        extra = sorted(os.path.join(grub_d, n) for n in os.listdir(grub_d) if n.endswith('.cfg'))
    except OSError:
        extra = []
    return [grub_default] + extra


def grub_defaults_source(files):
    """How results and reports name the files grub_default_files() returned: the one file, or 'FILE and DIR/*.cfg'."""
    return files[0] if len(files) == 1 else '%s and %s/*.cfg' % (files[0], os.path.dirname(files[1]))


def _shell_value(raw):
    """The value of a shell assignment's right-hand side: quotes removed, a trailing comment dropped."""
    raw = raw.strip()
    if raw[:1] in ('"', "'"):
        end = raw.find(raw[0], 1)
        return raw[1:end] if end > 0 else raw[1:]
    return raw.split('#', 1)[0].strip()


def read_grub_file(path):
    """A GRUB defaults file's text, None when it does not exist; a FIFO, a device or a directory raises
    _selinux_input.InputError unread (the open never blocks)."""
    try:
        return inp.read_regular(path, 'the GRUB defaults file')
    except (IOError, OSError):
        return None


def grub_default_args(paths, read=read_grub_file):
    """The kernel args grub-mkconfig builds from /etc/default/grub and grub.d/*.cfg, read in that order: the last
    assignment wins and "$GRUB_CMDLINE_LINUX ..." extends the value before it, as the shell that sources them does.
    None when no file assigns either variable."""
    values, seen = {}, False
    for path in paths:
        text = read(path)
        if text is None:
            continue
        for line in text.splitlines():
            m = _GRUB_ASSIGN.match(line)
            if not m:
                continue
            seen = True
            value = _shell_value(m.group(2))
            if m.group(2).strip()[:1] != "'":  # the shell expands in double quotes and bare words, not in single
                value = _GRUB_REF.sub(lambda r: values.get(r.group(1), ''), value)
            values[m.group(1)] = value
    if not seen:
        return None
    return ' '.join(' '.join(values.get(k, '') for k in ('GRUB_CMDLINE_LINUX', 'GRUB_CMDLINE_LINUX_DEFAULT')).split())


def read_grub_default(path=None, grub_d=None):
    """Args from GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT as grub-mkconfig gets them (None: no file assigns
    them). With only path, that file alone; otherwise /etc/default/grub (or path) and grub.d/*.cfg."""
    if path is not None and grub_d is None:
        return grub_default_args([path])
    return grub_default_args(grub_default_files(path, grub_d))


_GRUB_KEY = re.compile(r'^(\s*(?:export\s+)?GRUB_CMDLINE_LINUX(?:_DEFAULT)?=)(["\']?)(.*?)(\2\s*(?:#.*)?)$', re.M)


def strip_grub_default(text, drop):
    """Remove kernel args named in drop ({key: replacement or None}) from the GRUB_CMDLINE_LINUX* lines."""
    def fix(m):
        kept = []
        for tok in m.group(3).split():
            key = tok.partition('=')[0]
            if key in drop:
                if drop[key] is not None:
                    kept.append('%s=%s' % (key, drop[key]))
                continue
            kept.append(tok)
        return m.group(1) + m.group(2) + ' '.join(kept) + m.group(4)
    return _GRUB_KEY.sub(fix, text)


def apply_fixes(args, drop):
    """The args once fixes_for's drop is applied (what the boot configuration holds after fix_kernel_args)."""
    fixed = dict(args)
    for key, value in drop.items():
        if value is None:
            fixed.pop(key, None)
        else:
            fixed[key] = value
    return fixed


def fixes_for(args, state):
    """{key: replacement or None} that removes what blocks state."""
    drop = {}
    if args.get('selinux') == '0':
        drop['selinux'] = None
    if state == 'enforcing' and args.get('enforcing') == '0':
        drop['enforcing'] = None
    # security= only: an lsm= that leaves SELinux out is reported, not rewritten (and with lsm= the kernel ignores
    # security=, so there is nothing to change there)
    drop.update(dict((k, v) for k, v in lsm_choice_fix(args, 'selinux').items() if k == 'security'))
    return drop


# ------------------------------------------------------------------ relabel scheduling


def autorelabel_for(configfile):
    """Where the relabel flag goes for this config: ROOT/.autorelabel when the file (links followed, as the write
    follows them) is ROOT/etc/selinux/config (/.autorelabel for the system one), else None: such a config implies no
    root, and a flag at the host's root would relabel the wrong system."""
    real = os.path.realpath(configfile)
    if real == CONFIG_TAIL:
        return AUTORELABEL
    if real.endswith(CONFIG_TAIL):
        return os.path.join(real[:-len(CONFIG_TAIL)], os.path.basename(AUTORELABEL))
    return None


def policy_dir_for(configfile):
    """Where the policy stores of this config are: ROOT/etc/selinux for ROOT/etc/selinux/config (links followed),
    else the host's SELINUX_DIR."""
    flag = autorelabel_for(configfile)
    if flag is None or flag == AUTORELABEL:
        return SELINUX_DIR
    return os.path.dirname(os.path.realpath(configfile))


def autorelabel_state(path):
    """'absent', 'present' (a regular file), or what else is there (a symlink, a directory, ...): a flag that is
    not a regular file is not written through or over."""
    try:
        found = os.lstat(path)
    except OSError:
        return 'absent'
    if stat.S_ISREG(found.st_mode):
        return 'present'
    return 'a symbolic link' if stat.S_ISLNK(found.st_mode) else inp.kind_of(found.st_mode)


# ------------------------------------------------------------------ plan for selinux_mode


def plan_mode(text, runtime_now, state, policy, runtime=True, allow_weaken=False, autorelabel_exists=False):
    """Compute everything selinux_mode would do, without touching the host.

    text: current config text (None when the file is missing); runtime_now: runtime_mode();
    state, policy: the request (policy already resolved). Returns a dict; 'refused' lists the lowerings
    that allow_weaken must permit before anything may change. The config is read as libselinux reads it
    (_selinux_config); a text it cannot read that way raises _selinux_config.ConfigError.
    """
    cfg_state = cfg.get(text, 'SELINUX') if text else None
    cfg_policy = cfg.get(text, 'SELINUXTYPE') if text else None
    if text is None or not text.strip():
        new_text = cfg.render_new(state, policy)
    else:
        new_text = cfg.set_values(text, {'SELINUX': state, 'SELINUXTYPE': policy})
    config_changed = new_text != text

    weakened = []
    if cfg_state is None:
        # a config that sets no mode, or none at all: libselinux finds no mode and the boot loads the policy
        # permissive, so writing disabled is a lowering
        if cfg.is_weakening(cfg.UNSET_BOOTS, state):
            weakened.append('config: %s (the boot loads the policy %s) -> %s' % (
                'SELINUX unset' if text is not None else 'no config file', cfg.UNSET_BOOTS, state))
    elif cfg.is_weakening(cfg_state, state):
        weakened.append('config: SELINUX=%s -> %s' % (cfg_state, state))

    runtime_action = None
    runtime_skipped = None
    runtime_after = runtime_now
    if not runtime:
        runtime_skipped = 'runtime=false: the running mode was left alone'
    elif runtime_now == 'disabled':
        runtime_skipped = 'SELinux is not active in the running kernel; the config takes effect at the next boot'
    else:
        live = 'permissive' if state == 'disabled' else state
        if live != runtime_now:
            runtime_action = live
            runtime_after = live
            if cfg.is_weakening(runtime_now, live):
                weakened.append('runtime: %s -> %s' % (runtime_now, live))

    # with no SELINUXTYPE line libselinux uses targeted, so naming another policy changes it
    policy_before = (cfg.DEFAULT_POLICY if cfg_policy is None else cfg_policy) if text and text.strip() else None
    policy_changed = policy_before is not None and policy_before != policy
    from_disabled = runtime_now == 'disabled' or cfg_state == 'disabled'
    relabel = (config_changed and state != 'disabled' and (from_disabled or policy_changed)
               and not autorelabel_exists)
    reboot_required = ((state != 'disabled' and runtime_now == 'disabled')
                       or (state == 'disabled' and runtime_now != 'disabled')
                       or (policy_changed and runtime_now != 'disabled'))
    return {
        'new_text': new_text,
        'config_changed': config_changed,
        'config_before': cfg_state,
        'policy_before': cfg_policy,
        'runtime_action': runtime_action,
        'runtime_after': runtime_after,
        'runtime_skipped': runtime_skipped,
        'weakened': weakened,
        'refused': [] if allow_weaken else weakened,
        'relabel': relabel,
        'reboot_required': reboot_required,
    }
