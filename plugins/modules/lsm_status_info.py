#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: lsm_status_info
short_description: The whole SELinux and AppArmor posture of a host, in one read-only call
version_added: 0.3.0
description:
  - Reads, in one module run, what an attacker and an auditor would check on a host, and returns it as data;
    P(confine.lsm.confine_verify#role) and the roles judge it with the P(confine.lsm.lsm_findings#filter) filter.
  - "SELinux: whether the kernel runs it, the running and configured mode and the policy type as libselinux itself
    reads them (C(security_getenforce), C(selinux_getenforcemode), C(selinux_getpolicytype)), whether that policy is
    installed, blocking kernel arguments now (C(/proc/cmdline)) and at the next boot (C(/etc/default/grub),
    C(/etc/kernel/cmdline)), the permissive domains of the loaded policy (read by setools' policy reader; those
    added with C(semanage permissive -a) are marked V(local)), system services running in a domain the policy
    leaves unconfined (its C(unconfined_domain_type) attribute) with unit, pid, executable and the executable's
    label, device files labelled C(device_t) or C(unlabeled_t), and the persistent and running values of the
    booleans named in O(booleans)."
  - "AppArmor: whether the kernel runs it, blocking kernel arguments now and at the next boot, C(apparmor.service),
    every loaded profile with its mode (enforce, complain, kill, prompt, unconfined), profiles disabled on disk,
    processes that run unconfined or under another profile although a loaded profile attaches to their
    executable (a profile loaded after its process started confines nothing), and for each reference in
    O(profiles) which of its profiles are not enforced on disk or in the kernel."
  - Installed or not, for the packages named in O(packages) (one C(dpkg-query) or C(rpm) call).
  - Changes nothing; runs the same in check mode. The SELinux bindings exist only for the system Python, so the
    module re-runs itself there when the task's interpreter lacks them.
author:
  - confine.lsm maintainers (@confine-lsm)
extends_documentation_fragment:
  - confine.lsm.attributes.info_module
options:
  lsm:
    description:
      - Which LSM's sections to read. Each section says whether the kernel runs that LSM.
      - V(native) reads the one the host is meant to run, by the rule of the P(confine.lsm.native_lsm#filter)
        filter applied to the facts this call collects (SELinux for the RedHat family, when SELinux is enabled or
        the kernel was booted for it; AppArmor otherwise). RV(lsm) says which.
    type: str
    choices: [all, selinux, apparmor, native]
    default: all
  facts:
    description:
      - Also return the minimal facts in RV(ansible_facts), collected by ansible's own collectors, that is what
        M(ansible.builtin.setup) returns with O(ansible.builtin.setup#module:gather_subset=[min]) (OS family,
        distribution, service and package manager, kernel command line, SELinux and AppArmor status, and so on),
        except C(ansible_local).
      - A play that sets C(gather_facts) to V(false) gets its facts and the posture from one module run per host
        instead of two; the fleet playbooks and roles of this collection do so.
    type: bool
    default: false
    version_added: 0.3.0
  processes:
    description:
      - Read every process's label from C(/proc) (unconfined services on SELinux, processes a loaded profile
        should confine on AppArmor).
    type: bool
    default: true
  devices:
    description: Look for device files under C(/dev) labelled C(device_t) or C(unlabeled_t) (SELinux).
    type: bool
    default: true
  booleans:
    description: SELinux booleans whose persistent and running values to return.
    type: list
    elements: str
    default: []
  profiles:
    description:
      - AppArmor profile references (names, attachment paths, file names or globs, as
        M(confine.lsm.apparmor_profile_mode) takes them) whose on-disk and kernel modes to return.
    type: list
    elements: str
    default: []
  profile_dir:
    description: The AppArmor profile directory.
    type: path
    default: /etc/apparmor.d
  packages:
    description: Packages to report as installed or not.
    type: list
    elements: str
    default: []
  denials_since:
    description:
      - Count the SELinux and AppArmor denials in the audit log since this time (V(boot), a duration such as
        V(24h), an epoch V(@1700000000) or an ISO 8601 time), grouped as M(confine.lsm.lsm_denials_info) groups
        them; the five largest groups are returned as one line each. Not read when unset.
    type: str
  audit_log:
    description: The audit log read for O(denials_since).
    type: path
    default: /var/log/audit/audit.log
notes:
  - Offender lists (unconfined services, unlabelled devices, processes) hold at most 200 entries; counts are exact.
seealso:
  - module: confine.lsm.lsm_denials_info
  - plugin: confine.lsm.lsm_findings
    plugin_type: filter
'''

EXAMPLES = r'''
- name: Read the posture
  confine.lsm.lsm_status_info:
    booleans: [httpd_can_network_connect]
    profiles: [nginx]
    packages: [setroubleshoot, mcstrans]
  register: posture

- name: Fail on what an auditor would flag
  ansible.builtin.assert:
    that: __findings == []
    fail_msg: "{{ __findings | map(attribute='text') | list }}"
  vars:
    __findings: "{{ (posture.status | confine.lsm.lsm_findings('selinux'))['findings'] }}"
'''

RETURN = r'''
lsm:
  description: The LSM sections read (V(all), V(selinux) or V(apparmor)); for O(lsm=native), the host's native one.
  returned: always
  type: str
  sample: selinux
ansible_facts:
  description: The minimal facts, as M(ansible.builtin.setup) with C(gather_subset=[min]) returns them.
  returned: when O(facts) is true
  type: dict
  sample: {ansible_os_family: Debian, ansible_service_mgr: systemd, ansible_selinux: {status: enabled}}
status:
  description: The posture, one section per LSM read, and the packages.
  returned: always
  type: dict
  contains:
    selinux:
      description:
        - C(enabled), C(mode) (running), C(config_mode), C(policy), C(policy_installed), C(reader) (V(libselinux)
          or V(files) when the bindings are missing), C(kernel_args), C(kernel_args_blocking),
          C(boot_args_blocking) (list of C(source), C(reason)), C(permissive_domains) (list of C(name),
          C(origin) V(local) or V(policy)), C(permissive_complete) (false when setools could not read the loaded
          policy; then only local ones are listed), C(unconfined_types), C(unconfined_services) (list of C(pid),
          C(unit), C(exe), C(domain), C(context), C(exe_label)), C(unlabeled_devices) (list of C(path), C(type)),
          C(unlabeled_device_count), C(booleans) ({name - C(persistent), C(runtime)}).
        - With the V(files) reader, C(config_mode) and C(policy) are read from C(/etc/selinux/config) as libselinux
          reads them (C(policy) V(targeted) when no C(SELINUXTYPE) line names one). Where the file cannot be read
          that way (a NUL byte, a line longer than the page size, a line break other than C(\n) that changes what is
          read, a line that looks like the C(SELINUX) setting while libselinux reads no mode), both are null and
          C(config_error) says why.
      returned: when O(lsm) is V(all) or V(selinux)
      type: dict
    apparmor:
      description:
        - C(enabled), C(kernel_args_blocking), C(boot_args_blocking), C(boot_args) (list of C(source) and C(args),
          the V(apparmor), V(security), V(lsm) and V(selinux) arguments that source gives), C(service) (V(active, enabled), ..., or null
          without systemd), C(profiles) ({name - mode}), C(modes) ({mode - count}), C(disabled) (file names under
          C(disable/)), C(misattached) (list of C(pid), C(exe), C(unit), C(label), C(profile), C(profile_mode)),
          C(requested) ({reference - C(names), C(kernel), C(files), C(not_enforced), C(error)}).
      returned: when O(lsm) is V(all) or V(apparmor)
      type: dict
    packages:
      description: "{name: installed} for O(packages)."
      returned: always
      type: dict
    denials:
      description:
        - C(source), C(since), C(selinux_denied), C(apparmor_denied) (enforced denials), C(selinux_permissive),
          C(apparmor_allowed) (logged only), C(groups), C(top) (one line each for the largest groups).
      returned: when O(denials_since) is set
      type: dict
    read:
      description: What this call was asked to read (C(lsm), C(processes), C(devices), C(booleans), C(profiles),
        C(packages), C(profile_dir)), so that a reader of a kept status knows what it covers.
      returned: always
      type: dict
  sample:
    selinux: {enabled: true, mode: enforcing, config_mode: enforcing, policy: default, permissive_domains: []}
    packages: {setroubleshoot: false}
'''

import os
import re
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.confine.lsm.plugins.module_utils import _apparmor as aa
from ansible_collections.confine.lsm.plugins.module_utils import _denials as dn
from ansible_collections.confine.lsm.plugins.module_utils import _facts
from ansible_collections.confine.lsm.plugins.module_utils import _files
from ansible_collections.confine.lsm.plugins.module_utils import _respawn
from ansible_collections.confine.lsm.plugins.module_utils import _sebool as sb
from ansible_collections.confine.lsm.plugins.module_utils import _selinux as se
from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg
from ansible_collections.confine.lsm.plugins.module_utils import _status as st

try:
    import selinux
    # PyPI's "selinux" is a shim that imports without the system's bindings behind it
    HAS_SELINUX = hasattr(selinux, 'selinux_getenforcemode')
except ImportError:  # the bindings exist only for the system Python; the module respawns into it
    HAS_SELINUX = False


BOOLEAN_NAME = re.compile(r'^[A-Za-z0-9_]+\Z')
PACKAGE_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9+.:_~-]*\Z')


def read_selinux(module, procs, cmdline, boot):
    p = module.params
    fs = se.selinuxfs()
    out = {'enabled': bool(fs)}
    if HAS_SELINUX:
        out['reader'] = 'libselinux'
        out['enabled'] = selinux.is_selinux_enabled() == 1
        if out['enabled']:
            out['mode'] = 'enforcing' if selinux.security_getenforce() == 1 else 'permissive'
        else:
            out['mode'] = 'disabled'
        rc, mode = selinux.selinux_getenforcemode()
        out['config_mode'] = {1: 'enforcing', 0: 'permissive', -1: 'disabled'}.get(mode) if rc == 0 else None
        rc, policy = selinux.selinux_getpolicytype()
        out['policy'] = policy if rc == 0 else None
    else:
        out['reader'] = 'files'
        out['mode'] = se.runtime_mode(fs)
        # read as bytes and as libselinux reads them (a text-mode open would turn a lone \r into a line break)
        try:
            text = _files.read_text(se.SELINUX_DIR + '/config')
        except (IOError, OSError):
            text = None
        out['config_mode'] = out['policy'] = None
        if text:
            try:
                out['config_mode'] = cfg.read_mode(text)
                out['policy'] = cfg.policy_type(text)
            except cfg.ConfigError as exc:
                out['config_error'] = '%s/config: %s' % (se.SELINUX_DIR, to_native(exc))
    out['policy_installed'] = se.policy_installed(out['policy']) if out['policy'] else False
    out['kernel_args'] = se.parse_args(cmdline)
    want = out['config_mode'] if out['config_mode'] in ('enforcing', 'permissive') else 'enforcing'
    out['kernel_args_blocking'] = se.blocking_reasons(out['kernel_args'], want) if fs or cmdline else []
    out['boot_args_blocking'] = [
        {'source': source, 'reason': reason}
        for source, text in boot
        for reason in se.blocking_reasons(se.parse_args(text), want)]

    local = st.local_permissive(out['policy'])
    facts = st.loaded_policy_facts() if out['enabled'] else None
    if facts:
        names = sorted(set(facts['permissive']) | set(local))
        out['permissive_complete'] = True
        out['permissive_reader'] = 'setools'
        out['unconfined_types'] = facts['unconfined']
    else:
        names = local
        out['permissive_complete'] = not out['enabled']
        out['permissive_reader'] = ('setools is not installed for %s, or could not read the loaded policy; only '
                                    'local ones were read' % sys.executable)
        out['unconfined_types'] = list(st.UNCONFINED_FALLBACK)
    out['permissive_domains'] = [{'name': n, 'origin': 'local' if n in local else 'policy'} for n in names]

    out['unconfined_services'] = []
    if out['enabled'] and procs is not None:
        services = st.unconfined_services(procs, set(out['unconfined_types']))
        out['unconfined_services'] = services[:st.LIST_LIMIT]
        out['unconfined_service_count'] = len(services)
    out['unlabeled_devices'], out['unlabeled_device_count'] = [], 0
    if out['enabled'] and p['devices']:
        out['unlabeled_devices'], out['unlabeled_device_count'] = st.unlabeled_devices(
            expected_of=matchpathcon if HAS_SELINUX else None)

    out['booleans'] = {}
    if p['booleans']:
        out['booleans'] = read_booleans(module, p['booleans'], out)
    return out


def matchpathcon(path, mode):
    """The label the policy's file contexts give path (libselinux's own lookup), or None."""
    try:
        rc, context = selinux.matchpathcon(path, mode)
    except OSError:
        return None
    return context if rc == 0 else None


def read_booleans(module, names, out):
    runtime = sb.runtime_values(names) if out['enabled'] else None
    persistent = {}
    if sb.HAS_BINDINGS and out['policy']:
        store = None
        try:
            store = sb.Store(out['policy'])
            persistent = store.values(names)
        except (sb.BoolError, OSError) as exc:
            module.warn('could not read persistent boolean values: %s' % to_native(exc))
        finally:
            if store is not None:
                store.close()
    known = set(runtime or {}) | set(persistent)
    return dict((n, {'persistent': persistent.get(n), 'runtime': (runtime or {}).get(n)})
                for n in names if n in known)


def read_apparmor(module, procs, cmdline, boot):
    p = module.params
    out = {'enabled': aa.enabled()}
    out['kernel_args_blocking'] = st.aa_blocking(st.parse_aa_args(cmdline))
    out['boot_args_blocking'] = [
        {'source': source, 'reason': reason}
        for source, text in boot
        for reason in st.aa_blocking(st.parse_aa_args(text))]
    out['boot_args'] = [{'source': source, 'args': st.parse_aa_args(text)} for source, text in boot]
    out['service'] = service_state(module, 'apparmor.service')
    try:
        loaded = aa.read_kernel_profiles() if out['enabled'] else {}
    except (IOError, OSError):
        loaded = {}
    out['profiles'] = loaded
    out['modes'] = st.mode_counts(loaded)
    profile_dir = p['profile_dir']
    try:
        files = aa.profile_files(profile_dir) if os.path.isdir(profile_dir) else {}
    except OSError:
        files = {}
    out['disabled'] = st.disabled_profiles(profile_dir)
    out['misattached'] = []
    if out['enabled'] and procs is not None:
        attach, unknown = st.attachments(files, st.parse_variables(st.tunables_texts(profile_dir)))
        out['attachments_unread'] = [{'profile': n, 'attach': a} for n, a in unknown[:st.LIST_LIMIT]]
        found = st.misattached(procs, attach, loaded)
        out['misattached'] = found[:st.LIST_LIMIT]
        out['misattached_count'] = len(found)
        # another user's /proc/PID/exe is readable by root only: without it nothing says what the process runs
        out['processes_complete'] = os.geteuid() == 0
    out['requested'] = {}
    disabled = set(out['disabled'])
    for ref in p['profiles']:
        try:
            _ordered, by_ref = aa.resolve([ref], files, profile_dir)
        except aa.ProfileError as exc:
            out['requested'][ref] = {'names': [], 'kernel': {}, 'files': {}, 'not_enforced': [],
                                     'error': to_native(exc)}
            continue
        names, kernel, on_disk, not_enforced = [], {}, {}, []
        for path in by_ref[ref]:
            text = files[path]
            # every profile, hat and child profile (the kernel names them parent//name): a hat in complain mode
            # leaves that much of the profile unenforced (resolve() has read the file)
            tops = [(h['fullname'], h['mode']) for h in aa.headers(text)]
            mode = aa.file_mode(text)
            if os.path.basename(path) in disabled:
                mode = 'disabled'
            on_disk[os.path.basename(path)] = mode
            for name, declared in tops:
                if '//' not in name:
                    names.append(name)
                kernel[name] = loaded.get(name, 'unloaded')
                # enforced: enforce or stronger (kill), live and on disk; an unknown mode is not enforced
                if mode == 'disabled' or min(aa.rank(kernel[name], -1), aa.rank(declared, -1)) < aa.RANK['enforce']:
                    not_enforced.append(name)
        out['requested'][ref] = {'names': names, 'kernel': kernel, 'files': on_disk,
                                 'not_enforced': not_enforced, 'error': None}
    return out


def service_state(module, unit):
    """'ActiveState, UnitFileState' of a systemd unit, or None without systemd."""
    if not os.path.isdir('/run/systemd/system'):
        return None
    systemctl = module.get_bin_path('systemctl')
    if not systemctl:
        return None
    rc, stdout, _err = module.run_command([systemctl, 'show', unit, '--property=ActiveState,UnitFileState'])
    if rc != 0:
        return None
    props = dict(line.split('=', 1) for line in stdout.splitlines() if '=' in line)
    return '%s, %s' % (props.get('ActiveState') or 'missing', props.get('UnitFileState') or 'missing')


def read_packages(module, names):
    if not names:
        return {}
    dpkg = module.get_bin_path('dpkg-query')
    if dpkg:
        rc, stdout, _err = module.run_command([dpkg, '--show', '--showformat=${db:Status-Abbrev} ${Package}\n']
                                              + list(names))
        installed = set(line.split()[1].split(':')[0] for line in stdout.splitlines()
                        if line.startswith('ii ') and len(line.split()) >= 2)
        return dict((n, n in installed) for n in names)
    rpm = module.get_bin_path('rpm')
    if rpm:
        found = {}
        for name in names:
            rc, _out, _err = module.run_command([rpm, '--query', '--whatprovides', name])
            found[name] = rc == 0
        return found
    return dict((n, None) for n in names)


def read_denials(module):
    """Denials in the audit log since denials_since, counted and grouped (bounded: no records kept)."""
    p = module.params
    try:
        since = dn.parse_since(p['denials_since'], boot_time=dn.boot_time())
    except dn.DenialError as exc:
        module.fail_json(msg=to_native(exc))
    path = p['audit_log']
    out = {'source': path, 'since': dn.iso(since)}
    if not os.path.isfile(path):
        out['error'] = '%s does not exist or is not a regular file' % path
        return out
    collector = dn.Collector(since=since, max_records=0)
    try:
        with open(path, 'rb') as f:
            collector.feed(line.decode('utf-8', 'replace') for line in f)
    except (IOError, OSError) as exc:
        out['error'] = 'cannot read %s: %s' % (path, to_native(exc))
        return out
    summary = collector.summary()
    groups = collector.result_groups()[1]
    out.update((k, summary[k]) for k in ('selinux_denied', 'selinux_permissive', 'apparmor_denied',
                                         'apparmor_allowed', 'groups'))
    out['top'] = [dn.describe(g) for g in groups[:5]]
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            lsm=dict(type='str', default='all', choices=['all', 'selinux', 'apparmor', 'native']),
            facts=dict(type='bool', default=False),
            processes=dict(type='bool', default=True),
            devices=dict(type='bool', default=True),
            booleans=dict(type='list', elements='str', default=[]),
            profiles=dict(type='list', elements='str', default=[]),
            profile_dir=dict(type='path', default='/etc/apparmor.d'),
            packages=dict(type='list', elements='str', default=[]),
            denials_since=dict(type='str'),
            audit_log=dict(type='path', default='/var/log/audit/audit.log'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p['lsm'] in ('all', 'selinux', 'native') and not HAS_SELINUX and \
            (se.selinuxfs() or os.path.exists('/etc/selinux/config')):
        _respawn.into_system_python('selinux')  # returns only when no system Python has the bindings
    facts = _facts.minimal(module) if p['facts'] or p['lsm'] == 'native' else None
    lsm = _facts.native(_facts.unprefixed(facts)) if p['lsm'] == 'native' else p['lsm']
    want_selinux = lsm in ('all', 'selinux')
    want_apparmor = lsm in ('all', 'apparmor')
    for ref in p['profiles']:
        try:
            aa.check_reference(ref)
        except aa.ProfileError as exc:
            module.fail_json(msg=to_native(exc))
    for what, names, pattern in (('boolean', p['booleans'], BOOLEAN_NAME), ('package', p['packages'], PACKAGE_NAME)):
        bad = [n for n in names if not pattern.match(n)]
        if bad:
            module.fail_json(msg='%s name %r is not valid (letters, digits and %s only); nothing was read'
                             % (what, bad[0], '_' if what == 'boolean' else '+ . : _ ~ -'))
    status = {}
    selinux_on = want_selinux and bool(se.selinuxfs())
    apparmor_on = want_apparmor and aa.enabled()
    se_procs = st.processes(lsm='selinux') if p['processes'] and selinux_on else None
    aa_procs = st.processes(lsm='apparmor') if p['processes'] and apparmor_on else None
    # the running kernel's args and the next boot's, read once for both LSMs
    cmdline = st.read_text_or_empty('/proc/cmdline')
    boot = st.boot_args()
    if want_selinux:
        status['selinux'] = read_selinux(module, se_procs, cmdline, boot)
    if want_apparmor:
        status['apparmor'] = read_apparmor(module, aa_procs, cmdline, boot)
    status['packages'] = read_packages(module, p['packages'])
    status['read'] = dict((k, p[k]) for k in ('processes', 'devices', 'booleans', 'profiles', 'packages',
                                              'profile_dir'))
    status['read']['lsm'] = lsm
    if p['denials_since']:
        status['denials'] = read_denials(module)
    result = dict(changed=False, lsm=lsm, status=status)
    if p['facts']:
        result['ansible_facts'] = facts
    module.exit_json(**result)


if __name__ == '__main__':
    main()
