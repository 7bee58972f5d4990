# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own plugins; its API may change without notice.
"""The judgement: which parts of a host's MAC posture (lsm_status_info's status) fail, given what the user expects.

Every check has a stable id, a severity, one line of text, the fix of least power and the benchmark controls it
answers (ids as ComplianceAsCode's control files map them: CIS RHEL 9 v2.0.0, CIS Ubuntu 24.04 v1.0.0, CIS Debian 12
v1.1.0, DISA STIG RHEL 9 V2R4 and Ubuntu 22.04 V2R3, SCAP Security Guide rule ids).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch

# id: (severity, controls)
CHECKS = {
    'selinux.enabled': ('high', ['SSG selinux_not_disabled', 'CIS RHEL 9 1.3.1.4']),
    'selinux.mode': ('high', ['SSG selinux_state', 'CIS RHEL 9 1.3.1.5', 'STIG RHEL-09-431010']),
    'selinux.config_mode': ('high', ['SSG selinux_state', 'CIS RHEL 9 1.3.1.5', 'STIG RHEL-09-431010']),
    'selinux.policy': ('high', ['SSG selinux_policytype', 'CIS RHEL 9 1.3.1.3', 'STIG RHEL-09-431015']),
    'selinux.policy_installed': ('high', ['SSG selinux_policytype', 'CIS RHEL 9 1.3.1.3']),
    'selinux.kernel_args': ('high', ['SSG grub2_enable_selinux', 'CIS RHEL 9 1.3.1.2']),
    'selinux.boot_args': ('high', ['SSG grub2_enable_selinux', 'CIS RHEL 9 1.3.1.2']),
    'selinux.permissive_domain': ('high', []),
    'selinux.unconfined_service': ('medium', ['SSG selinux_confinement_of_daemons', 'CIS RHEL 9 1.3.1.6']),
    'selinux.unlabeled_device': ('medium', ['SSG selinux_all_devicefiles_labeled', 'STIG RHEL-09-232260']),
    'selinux.setroubleshoot': ('low', ['SSG package_setroubleshoot_removed', 'CIS RHEL 9 1.3.1.8']),
    'selinux.mcstrans': ('low', ['SSG package_mcstrans_removed', 'CIS RHEL 9 1.3.1.7']),
    'selinux.boolean': ('medium', []),
    'apparmor.enabled': ('high', ['SSG grub2_enable_apparmor', 'CIS Ubuntu 24.04 1.3.1.2', 'CIS Debian 12 1.3.1.2']),
    'apparmor.kernel_args': ('high', ['SSG grub2_enable_apparmor', 'CIS Ubuntu 24.04 1.3.1.2',
                                      'CIS Debian 12 1.3.1.2']),
    'apparmor.boot_args': ('high', ['SSG grub2_enable_apparmor', 'CIS Ubuntu 24.04 1.3.1.2',
                                    'CIS Debian 12 1.3.1.2']),
    'apparmor.service': ('high', ['SSG apparmor_configured', 'STIG UBTU-22-431015', 'STIG UBTU-24-100510']),
    'apparmor.package': ('high', ['SSG package_apparmor_installed', 'CIS Ubuntu 24.04 1.3.1.1',
                                  'CIS Debian 12 1.3.1.1', 'STIG UBTU-22-431010', 'STIG UBTU-24-100500']),
    'apparmor.pam_apparmor': ('low', ['SSG package_pam_apparmor_installed']),
    'apparmor.min_enforced': ('high', []),
    'apparmor.profile_not_enforced': ('high', []),
    'apparmor.complain': ('medium', ['SSG all_apparmor_profiles_enforced', 'CIS Ubuntu 24.04 1.3.1.4',
                                     'CIS Debian 12 1.3.1.4']),
    'apparmor.unconfined_process': ('high', ['SSG all_apparmor_profiles_in_enforce_complain_mode',
                                             'CIS Ubuntu 24.04 1.3.1.3', 'CIS Debian 12 1.3.1.3']),
    'apparmor.kill': ('info', []),
    'selinux.denials': ('medium', []),
    'apparmor.denials': ('medium', []),
}

SELINUX_DEFAULTS = {
    'state': 'enforcing', 'policy': '', 'booleans': {}, 'permissive_exceptions': [],
    'unconfined_exceptions': [], 'device_exceptions': [], 'check_unconfined_services': True, 'check_devices': True,
    'check_setroubleshoot': True, 'check_mcstrans': True, 'denials_max': -1,
}
APPARMOR_DEFAULTS = {
    'enforced': [], 'min_enforced': 1, 'policy': 'required', 'exceptions': [],
    'check_unconfined_processes': True, 'require_pam_apparmor': False, 'packages': ['apparmor'],
    'denials_max': -1, 'boot_args_required': [],
}


class PostureError(Exception):
    pass


def _finding(check, text, fix, subject=None):
    severity, controls = CHECKS[check]
    return {'id': check, 'severity': severity, 'text': text, 'fix': fix, 'controls': list(controls),
            'subject': subject}


def _kernel_args(lsm, label, section, fix_now, fix_boot):
    """Findings for kernel args that block the LSM in the running kernel and at the next boot (per source)."""
    found = [_finding(lsm + '.kernel_args', 'kernel args block %s: %s' % (label, reason), fix_now)
             for reason in section.get('kernel_args_blocking') or []]
    found += [_finding(lsm + '.boot_args', 'the next boot blocks %s: %s (%s)' % (label, item['reason'], item['source']),
                       fix_boot % item['source'], item['source'])
              for item in section.get('boot_args_blocking') or []]
    return found


def _boot_args_required(section, required):
    """Findings for each boot configuration source that lacks a required key=value (CIS 1.3.1.2 audits apparmor=1
    and security=apparmor in every boot entry)."""
    found = []
    for item in required or []:
        key, sep, value = str(item).partition('=')
        if not sep or not key:
            raise PostureError('a required kernel argument is key=value, got %r' % (item,))
        for source in section.get('boot_args') or []:
            if (source.get('args') or {}).get(key) != value:
                found.append(_finding('apparmor.boot_args', 'the next boot lacks %s (%s)' % (item, source['source']),
                                      'add %s to %s (confine_apparmor_fix_kernel_args with '
                                      'confine_apparmor_kernel_args_required)' % (item, source['source']),
                                      source['source']))
    return found


def _unlisted(check, count, listed, what, fix):
    """A finding for offenders beyond a list's limit: no exception covers what nobody has seen."""
    more = (count or 0) - len(listed or [])
    if more <= 0:
        return []
    return [_finding(check, 'and %d more %s, not listed (the list is cut at its limit)' % (more, what), fix)]


def _exceptions(items, what):
    """{name: reason} from [{name, reason}] (a reason is required: the report prints it)."""
    out = {}
    for item in items or []:
        if not isinstance(item, dict) or not item.get('name') or not item.get('reason'):
            raise PostureError('each accepted %s exception needs a name and a reason, got %r' % (what, item))
        out[str(item['name'])] = str(item['reason'])
    return out


def _accepted(name, exceptions):
    for pattern, reason in exceptions.items():
        if fnmatch.fnmatchcase(name, pattern):
            return reason
    return None


def _int(name, value):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PostureError('%s must be a whole number, not %r' % (name, value))


def _bool(name, value):
    """A boolean's expected value as sebool_persist reads it (true/false, on/off, yes/no, 1/0)."""
    text = ('%s' % value).strip().lower()
    if text in ('true', 'on', 'yes', '1'):
        return True
    if text in ('false', 'off', 'no', '0'):
        return False
    raise PostureError('boolean %s: %r is not a boolean value (true/false, on/off, yes/no, 1/0)' % (name, value))


def judge(status, lsm, expect=None):
    """(findings, accepted): findings fail the host; accepted are weakenings the user listed, with their reasons."""
    expect = dict(expect or {})
    for key in ('min_enforced', 'denials_max'):
        if key in expect:
            expect[key] = _int(key, expect[key] if expect[key] is not None else -1)
    if expect.get('booleans'):
        expect['booleans'] = dict((n, _bool(n, v)) for n, v in expect['booleans'].items())
    if lsm == 'selinux':
        e = dict(SELINUX_DEFAULTS, **expect)
        found, accepted = _judge_selinux(status.get('selinux') or {}, status.get('packages') or {}, e)
    elif lsm == 'apparmor':
        e = dict(APPARMOR_DEFAULTS, **expect)
        found, accepted = _judge_apparmor(status.get('apparmor') or {}, status.get('packages') or {}, e)
    else:
        raise PostureError('lsm must be selinux or apparmor, not %r' % (lsm,))
    found.extend(_judge_denials(lsm, status.get('denials'), e['denials_max']))
    return found, accepted


def _judge_denials(lsm, denials, limit):
    """Enforced denials in the window read, against a threshold (-1: counted, never failed)."""
    if limit is None or int(limit) < 0:
        return []
    if not denials:
        return [_finding(lsm + '.denials', 'denials were not read (a threshold is set but no window to read)',
                         'set denials_since (confine_verify_denials_since), e.g. boot or 24h')]
    if denials.get('error'):
        return [_finding(lsm + '.denials', 'denials were not read: %s' % denials['error'],
                         'install auditd, or point audit_log at the audit log')]
    count = denials.get('%s_denied' % lsm) or 0
    if count <= int(limit):
        return []
    return [_finding(lsm + '.denials', '%d enforced %s denials since %s (at most %s allowed)'
                     % (count, 'SELinux' if lsm == 'selinux' else 'AppArmor', denials.get('since'), limit),
                     'read them with confine.lsm.lsm_denials_info and fix the policy least power first '
                     '(playbooks/denials.yml)')]


def _judge_selinux(s, packages, e):
    found, accepted = [], []
    want = e['state']
    if not s.get('enabled') and want != 'disabled':
        found.append(_finding('selinux.enabled', 'SELinux is not active in the running kernel',
                              'set SELINUX=%s in /etc/selinux/config, remove selinux=0 from the boot args, '
                              'reboot (a relabel runs first)' % want))
    mode = s.get('mode')
    if s.get('enabled') and mode != want:
        found.append(_finding('selinux.mode', 'running mode is %s' % mode,
                              'confine.lsm.selinux_mode state=%s (setenforce 1 and the config)' % want))
    config_mode = s.get('config_mode')
    if config_mode != want:
        found.append(_finding('selinux.config_mode', 'config says %s' % config_mode,
                              'confine.lsm.selinux_mode state=%s' % want))
    policy = s.get('policy')
    if e['policy'] and policy != e['policy']:
        found.append(_finding('selinux.policy', 'policy is %s' % policy,
                              'confine.lsm.selinux_mode policy=%s (a relabel and a reboot follow)' % e['policy']))
    if policy and not s.get('policy_installed', True):
        found.append(_finding('selinux.policy_installed', 'the configured policy %s is not installed' % policy,
                              'install the policy package, or set SELINUXTYPE to an installed policy'))
    found.extend(_kernel_args('selinux', 'SELinux', s, 'remove the argument from the boot configuration '
                              '(confine_selinux_fix_kernel_args) and reboot',
                              'remove the argument from %s (confine_selinux_fix_kernel_args)'))
    exc = _exceptions(e['permissive_exceptions'], 'permissive domain')
    for item in s.get('permissive_domains') or []:
        reason = _accepted(item['name'], exc)
        text = 'permissive domain: %s (%s)' % (item['name'], item['origin'])
        if reason:
            accepted.append({'id': 'selinux.permissive_domain', 'text': text, 'reason': reason})
            continue
        fix = ('semanage permissive -d %s, after the denials it logs are fixed (confine.lsm.lsm_denials_info)'
               % item['name'] if item['origin'] == 'local' else
               'the loaded policy declares %s permissive: update or override the module that does' % item['name'])
        found.append(_finding('selinux.permissive_domain', text, fix, item['name']))
    if not s.get('permissive_complete', True) and s.get('enabled'):
        found.append(_finding('selinux.permissive_domain',
                              'policy-defined permissive domains were not read (%s)' % s.get('permissive_reader'),
                              'install setools (python3-setools) so the loaded policy can be read'))
    if e['check_unconfined_services']:
        exc = _exceptions(e['unconfined_exceptions'], 'unconfined service')
        for p in s.get('unconfined_services') or []:
            text = 'unconfined service: %s (pid %s, %s, domain %s, executable label %s)' % (
                p['unit'], p['pid'], p['exe'], p['domain'], p.get('exe_label'))
            reason = _accepted(p['unit'], exc) or _accepted(p['domain'], exc)
            if reason:
                accepted.append({'id': 'selinux.unconfined_service', 'text': text, 'reason': reason})
                continue
            found.append(_finding('selinux.unconfined_service', text,
                                  'label %s with the policy\'s type for it (confine.lsm.selinux_fcontext + restorecon) '
                                  'and restart %s; when the policy has none, a reviewed module'
                                  % (p['exe'], p['unit']), p['unit']))
    if e['check_unconfined_services']:
        found.extend(_unlisted('selinux.unconfined_service', s.get('unconfined_service_count'),
                               s.get('unconfined_services'), 'processes of services in an unconfined domain',
                               'read them with ps -eZ and fix them as the listed ones'))
    if e['check_devices']:
        exc = _exceptions(e['device_exceptions'], 'device')
        for d in s.get('unlabeled_devices') or []:
            text = 'device %s is labelled %s' % (d['path'], d['type'])
            reason = _accepted(d['path'], exc)
            if not reason and d.get('expected') == d['type']:
                reason = ('the loaded policy labels it %s itself (matchpathcon): restorecon cannot change it; '
                          'a file context with a specific type would' % d['type'])
            if reason:
                accepted.append({'id': 'selinux.unlabeled_device', 'text': text, 'reason': reason})
                continue
            found.append(_finding('selinux.unlabeled_device', text,
                                  'restorecon -v %s (the policy says %s)' % (d['path'], d.get('expected')),
                                  d['path']))
        more = (s.get('unlabeled_device_count') or 0) - len(s.get('unlabeled_devices') or [])
        if more > 0:
            found.append(_finding('selinux.unlabeled_device', 'and %d more unlabelled devices' % more,
                                  'restorecon -Rv /dev'))
    if e['check_setroubleshoot'] and packages.get('setroubleshoot'):
        found.append(_finding('selinux.setroubleshoot', 'setroubleshoot is installed',
                              'remove the setroubleshoot package'))
    if e['check_mcstrans'] and packages.get('mcstrans'):
        found.append(_finding('selinux.mcstrans', 'mcstrans is installed', 'remove the mcstrans package'))
    booleans = s.get('booleans') or {}
    for name, value in sorted((e['booleans'] or {}).items()):
        have = booleans.get(name) or {}
        fix = 'confine.lsm.sebool_persist booleans={%s: %s}' % (name, value)
        if not have or have.get('persistent') is not None and have['persistent'] != value or \
                have.get('runtime') is not None and have['runtime'] != value:
            found.append(_finding('selinux.boolean', 'boolean differs: %s' % name, fix, name))
        elif have.get('persistent') is None:
            found.append(_finding('selinux.boolean', 'boolean %s: its persistent value could not be read (the '
                                  'libsemanage bindings or the policy store are missing)' % name, fix, name))
    return found, accepted


def _judge_apparmor(a, packages, e):
    found, accepted = [], []
    if not a.get('enabled'):
        found.append(_finding('apparmor.enabled', 'AppArmor is not enabled in the kernel',
                              'boot with apparmor=1 security=apparmor (or an lsm= list with apparmor)'))
    found.extend(_kernel_args('apparmor', 'AppArmor', a, 'remove it from the boot configuration and reboot',
                              'remove the argument from %s and regenerate the boot loader config '
                              '(confine_apparmor_fix_kernel_args)'))
    found.extend(_boot_args_required(a, e['boot_args_required']))
    service = a.get('service')
    if service and service != 'active, enabled':
        found.append(_finding('apparmor.service', 'apparmor.service is %s' % service,
                              'systemctl enable --now apparmor.service'))
    for name in e['packages'] or []:
        if name in packages and not packages[name]:
            found.append(_finding('apparmor.package', 'package %s is not installed' % name,
                                  'install %s' % name, name))
    if e['require_pam_apparmor'] and not packages.get('libpam-apparmor', packages.get('pam_apparmor')):
        found.append(_finding('apparmor.pam_apparmor', 'pam_apparmor is not installed',
                              'install libpam-apparmor (pam_apparmor)'))
    # kill is enforce plus a kill: it counts as enforced
    enforced = _int('enforced', (a.get('modes') or {}).get('enforce', 0)) + \
        _int('kill', (a.get('modes') or {}).get('kill', 0))
    if a.get('enabled') and enforced < e['min_enforced']:
        found.append(_finding('apparmor.min_enforced', 'fewer than %s profiles enforced' % e['min_enforced'],
                              'confine.lsm.apparmor_profile_mode mode=enforce'))
    for ref, info in sorted((a.get('requested') or {}).items()):
        if ref not in (e['enforced'] or []):
            continue
        for name in info.get('not_enforced') or []:
            found.append(_finding('apparmor.profile_not_enforced', 'profile not enforced: %s' % name,
                                  # a hat (parent//hat) is switched through its profile
                                  'confine.lsm.apparmor_profile_mode profiles=[%s] mode=enforce' % name.split('//')[0],
                                  name))
        if info.get('error'):
            found.append(_finding('apparmor.profile_not_enforced', 'profile not enforced: %s (%s)'
                                  % (ref, info['error']), 'deploy the profile and enforce it', ref))
    exc = _exceptions(e['exceptions'], 'AppArmor profile')
    for name, mode in sorted((a.get('profiles') or {}).items()):
        if mode == 'kill':
            found_kill = _finding('apparmor.kill', 'profile %s is in kill mode (stronger than enforce; kept)'
                                  % name, 'none', name)
            accepted.append({'id': found_kill['id'], 'text': found_kill['text'], 'reason': 'kill is not a lowering'})
            continue
        if e['policy'] == 'all' and mode in ('complain', 'prompt', 'user'):  # the kernel shows prompt as 'user'
            text = 'profile %s is in %s mode' % (name, mode)
            reason = _accepted(name, exc)
            if reason:
                accepted.append({'id': 'apparmor.complain', 'text': text, 'reason': reason})
            else:
                found.append(_finding('apparmor.complain', text,
                                      'exercise it, refine with confine.lsm.lsm_denials_info, then '
                                      'confine.lsm.apparmor_profile_mode mode=enforce', name))
    if e['check_unconfined_processes']:
        groups = {}
        for p in a.get('misattached') or []:
            groups.setdefault((p.get('unit') or p['exe'], p['profile'], p['label']), []).append(p)
        for (where, profile, label), procs in sorted(groups.items()):
            pids = ', '.join(str(p['pid']) for p in procs)
            exes = ', '.join(sorted(set(p['exe'] for p in procs)))
            text = 'runs unconfined: %s (pid %s, %s) runs as %s although profile %s attaches to it' % (
                where, pids, exes, label, profile)
            reason = _accepted(profile, exc)
            if reason:
                accepted.append({'id': 'apparmor.unconfined_process', 'text': text, 'reason': reason})
                continue
            unit = procs[0].get('unit')
            fix = 'restart %s' % unit if unit else 'restart the process'
            found.append(_finding('apparmor.unconfined_process', text + '; ' + fix, fix, unit or procs[0]['exe']))
        found.extend(_unlisted('apparmor.unconfined_process', a.get('misattached_count'), a.get('misattached'),
                               'processes a loaded profile does not confine',
                               'restart the services aa-status lists as unconfined with a profile'))
        if a.get('processes_complete') is False:
            found.append(_finding('apparmor.unconfined_process', 'processes were not all read (not root): which '
                                  'ones run unconfined is unknown', 'run verify with become: true'))
    return found, accepted


def checked(lsm, expect=None):
    """The ids of the checks judge() evaluates for lsm with these expectations (those switched off left out)."""
    e = dict(SELINUX_DEFAULTS if lsm == 'selinux' else APPARMOR_DEFAULTS, **(expect or {}))
    off = set()
    if lsm == 'selinux':
        off.update(k for k, flag in (('selinux.unconfined_service', 'check_unconfined_services'),
                                     ('selinux.unlabeled_device', 'check_devices'),
                                     ('selinux.setroubleshoot', 'check_setroubleshoot'),
                                     ('selinux.mcstrans', 'check_mcstrans')) if not e[flag])
        if not e['policy']:
            off.add('selinux.policy')
        if not e['booleans']:
            off.add('selinux.boolean')
    else:
        if e['policy'] != 'all':
            off.add('apparmor.complain')
        if not e['check_unconfined_processes']:
            off.add('apparmor.unconfined_process')
        if not e['require_pam_apparmor']:
            off.add('apparmor.pam_apparmor')
        if not e['enforced']:
            off.add('apparmor.profile_not_enforced')
        off.add('apparmor.kill')  # reported, never failed
    if e.get('denials_max') is None or int(e['denials_max']) < 0:
        off.add(lsm + '.denials')
    return [k for k in sorted(CHECKS) if k.startswith(lsm + '.') and k not in off]


def texts(findings):
    return [f['text'] for f in findings]
