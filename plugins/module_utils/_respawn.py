# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""Respawn a module into the system Python, whose SELinux bindings the task's interpreter may lack.

Under Ansible's own module runner (AnsiballZ) this is ansible-core's respawn_module. Runners that execute modules
inside a long-lived interpreter (mitogen's strategies) have no AnsiballZ payload to re-run, and ansible-core's probe
and respawn both fail there; for them the module's loaded sources are written to a private temporary directory and
the module runs again from it under the system Python, its output handed back through the runner.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from importlib.machinery import PathFinder

from ansible.module_utils.common.respawn import has_respawned, probe_interpreters_for_module, respawn_module

SYSTEM_PYTHONS = ('/usr/libexec/platform-python', '/usr/bin/python3', '/usr/bin/python')
# the packages a module's code comes from; everything else is the target's own standard library
_PACKAGES = ('ansible', 'ansible_collections')

_CHILD = '''
import runpy, sys
sys.path.insert(0, %(tree)r)
from ansible.module_utils import basic
basic._ANSIBLE_ARGS = %(args)r
PROFILE = %(profile)r
if PROFILE is not None:
    basic._ANSIBLE_PROFILE = PROFILE
runpy.run_module(%(fqn)r, init_globals=dict(_respawned=True), run_name='__main__', alter_sys=True)
'''


def under_ansiballz():
    """True when this module was started by AnsiballZ (ansible-core's own runner)."""
    return hasattr(sys.modules.get('__main__'), '_module_fqn')


def probe(interpreters, import_name):
    """The first interpreter that exists and can import import_name (no ansible needed on it), else None."""
    for path in interpreters:
        if path == sys.executable or not os.path.exists(path):
            continue
        try:
            with open(os.devnull, 'wb') as null:
                rc = subprocess.call([path, '-c', 'import %s' % import_name], stdout=null, stderr=null)
        except OSError:
            continue
        if rc == 0:
            return path
    return None


def into_system_python(import_name, interpreters=SYSTEM_PYTHONS):
    """Re-run the current module under the first interpreter of interpreters that can import import_name.

    Call it after AnsibleModule() has read the arguments (what decoding them needs is then loaded, and so goes
    into the tree an in-process runner's respawn is made from). Does not return when it respawned. Returns when
    there is nothing to do (already respawned, or no interpreter has the bindings): the caller then goes on with
    what this interpreter has (a fallback, or a clear failure).
    """
    if has_respawned():
        return
    if under_ansiballz():
        interpreter = probe_interpreters_for_module(list(interpreters), import_name)
        if interpreter:
            respawn_module(interpreter)  # does not return
        return
    interpreter = probe(interpreters, import_name)
    if interpreter:
        _respawn_in_process_runner(interpreter)  # does not return


def _from_mitogen(name):
    """(is_package, source) from mitogen's importers on the target, else None."""
    for finder in sys.meta_path:
        by_name = getattr(finder, '_by_fullname', None)  # mitogen's importer of a collection's module_utils
        if isinstance(by_name, dict) and name in by_name:
            from ansible_mitogen import target  # pylint: disable=import-error
            path, is_package = by_name[name]
            return bool(is_package), target.get_small_file(finder._context, path)  # pylint: disable=protected-access
        cache = getattr(finder, '_cache', None)  # mitogen's core importer: 0 name, 1 package members, 2 path, 3 zlib
        if isinstance(cache, dict) and isinstance(cache.get(name), tuple) and cache[name][3] is not None:
            return cache[name][1] is not None, finder.get_source(name)
    return None


def _find(name, mod):
    """(is_package, source text) of a loaded module, found by its name, not by the object sys.modules holds under
    it (a package such as ansible.module_utils.distro puts another module there in its place)."""
    found = _from_mitogen(name)
    if found is None:
        parent = name.rpartition('.')[0]
        search = getattr(sys.modules.get(parent), '__path__', None) if parent else None
        spec = PathFinder.find_spec(name, search)
        if spec is not None and spec.origin and os.path.isfile(spec.origin):
            with open(spec.origin, 'rb') as f:
                found = spec.submodule_search_locations is not None, f.read()
    if found is None:
        loader = getattr(getattr(mod, '__spec__', None), 'loader', None)
        getter = getattr(loader, 'get_source', None)
        found = hasattr(mod, '__path__'), (getter(name) if getter else None)
    is_package, text = found
    if isinstance(text, bytes):
        text = text.decode('utf-8')
    return is_package, text


def write_tree(root, modules):
    """Write {name: (is_package, source)} as a package tree under root."""
    for name, (is_package, text) in sorted(modules.items()):
        parts = name.split('.')
        if is_package:
            path = os.path.join(root, *(parts + ['__init__.py']))
        else:
            path = os.path.join(root, *parts) + '.py'
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path), 0o700)
        with open(path, 'w') as f:
            f.write(text or '')
    # a package that had no source of its own (a namespace) still needs a file to be imported from the tree
    for dirpath, dummy, filenames in os.walk(root):
        if dirpath != root and '__init__.py' not in filenames:
            open(os.path.join(dirpath, '__init__.py'), 'w').close()


def loaded_modules(main_fqn, main_source):
    """{name: (is_package, source)} of every loaded ansible and collection module, and the module being run."""
    found = {main_fqn: (False, main_source)}
    for name, mod in list(sys.modules.items()):
        if mod is None or name.split('.')[0] not in _PACKAGES or name == main_fqn:
            continue
        found[name] = _find(name, mod)
    return found


def _respawn_in_process_runner(interpreter):
    from ansible.module_utils import basic
    main = sys.modules['__main__']
    spec = getattr(main, '__spec__', None)
    fqn = getattr(spec, 'name', None)
    main_source = getattr(getattr(spec, 'loader', None), 'source', None)  # mitogen's runner keeps the module text
    if isinstance(main_source, bytes):
        main_source = main_source.decode('utf-8')
    if not fqn or main_source is None:
        return  # not a runner this helper knows: the caller's fallback applies
    profile = getattr(basic, '_ANSIBLE_PROFILE', None)
    if profile:
        # ansible-core 2.19+ loads the serializers of a profile by name when it first needs them (the result's
        # encoder only at exit_json): load both now so that they are in the tree
        for direction in ('c2m', 'm2c'):
            try:
                importlib.import_module('ansible.module_utils._internal._json._profiles._module_%s_%s' % (
                    profile, direction))
            except ImportError:
                pass
    args = basic._ANSIBLE_ARGS  # pylint: disable=protected-access
    if not isinstance(args, bytes):
        args = args.encode('utf-8')
    tree = tempfile.mkdtemp(prefix='confine-respawn-')
    try:
        write_tree(tree, loaded_modules(fqn, main_source))
        code = _CHILD % dict(tree=tree, args=args, fqn=fqn, profile=profile)
        # the code (with the task's arguments) goes through a pipe, not argv: other users can read a process's argv
        proc = subprocess.Popen([interpreter, '-'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        out, err = proc.communicate(code.encode('utf-8'))
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    sys.stdout.write(out.decode('utf-8', 'replace'))
    sys.stderr.write(err.decode('utf-8', 'replace'))
    sys.stdout.flush()
    sys.exit(proc.returncode)  # pylint: disable=ansible-bad-function
