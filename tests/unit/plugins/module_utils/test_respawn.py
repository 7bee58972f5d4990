"""_respawn: a module running inside a long-lived interpreter (mitogen's runner: no AnsiballZ payload) re-runs in
another Python from the sources it has loaded, with its own arguments, and hands that run's output back."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys
import types

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _respawn

FQN = 'ansible_collections.confine.lsm.plugins.modules.confine_respawn_probe'
# the module as an in-process runner holds it: its text, not a file on the target
MODULE = '''
import sys
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.respawn import has_respawned
from ansible_collections.confine.lsm.plugins.module_utils import _respawn

def main():
    module = AnsibleModule(argument_spec=dict(word=dict(type='str')))
    module.exit_json(changed=False, word=module.params['word'], respawned=has_respawned(),
                     python=sys.executable, ansiballz=_respawn.under_ansiballz())

main()
'''


class RunnerStandIn(object):
    """What mitogen's NewStyleRunner offers as the __main__ module's loader: the module's source."""

    def __init__(self, source):
        self.source = source.encode('utf-8')


@pytest.fixture
def in_process_main(monkeypatch):
    from importlib.machinery import ModuleSpec
    from ansible.module_utils import basic
    main = types.ModuleType('__main__')
    main.__spec__ = ModuleSpec(FQN, RunnerStandIn(MODULE))
    monkeypatch.setitem(sys.modules, '__main__', main)
    args = json.dumps({'ANSIBLE_MODULE_ARGS': {'word': 'line one\n"quoted" \\ done'}}).encode()
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', args)
    if hasattr(basic, '_ANSIBLE_PROFILE'):
        monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy')
    return main


def other_python():
    """A Python other than the one running the tests that has none of this venv's packages."""
    for path in ('/usr/bin/python3', '/usr/local/bin/python3'):
        if os.path.exists(path) and os.path.realpath(path) != os.path.realpath(sys.executable):
            return path
    pytest.fail('no second Python on this machine (the test needs /usr/bin/python3)')


def test_not_under_ansiballz_here():
    assert not _respawn.under_ansiballz()


def test_in_process_module_reruns_in_the_other_python_with_its_arguments(in_process_main, capsys):
    python = other_python()
    from ansible.module_utils.basic import AnsibleModule
    AnsibleModule(argument_spec=dict(word=dict(type='str')))  # the callers read their arguments first
    with pytest.raises(SystemExit) as exc:
        _respawn._respawn_in_process_runner(python)
    assert exc.value.code == 0
    result = json.loads(capsys.readouterr().out)
    assert result['respawned'] is True and result['python'] == python
    assert result['word'] == 'line one\n"quoted" \\ done'  # the arguments survive quoting
    assert result['ansiballz'] is False


def test_a_failing_respawned_run_keeps_its_exit_code_and_message(in_process_main, capsys):
    in_process_main.__spec__.loader.source = b'import sys\nsys.stdout.write("{\\"failed\\": true}")\nsys.exit(1)\n'
    with pytest.raises(SystemExit) as exc:
        _respawn._respawn_in_process_runner(other_python())
    assert exc.value.code == 1
    assert json.loads(capsys.readouterr().out) == {'failed': True}


def test_unknown_runner_returns_for_the_fallback(monkeypatch):
    monkeypatch.setitem(sys.modules, '__main__', types.ModuleType('__main__'))  # no spec, no source
    assert _respawn._respawn_in_process_runner(other_python()) is None


def test_probe_skips_missing_and_incapable_interpreters(tmp_path):
    python = other_python()
    assert _respawn.probe([str(tmp_path / 'nope'), python], 'os') == python
    assert _respawn.probe([python], 'confine_no_such_module') is None
    assert _respawn.probe([sys.executable], 'os') is None  # never "respawn" into the interpreter already running


def test_tree_has_every_package_level(tmp_path):
    _respawn.write_tree(str(tmp_path), {'a.b.c': (False, 'X = 1\n'), 'a': (True, 'Y = 2\n')})
    assert (tmp_path / 'a' / '__init__.py').read_text() == 'Y = 2\n'
    assert (tmp_path / 'a' / 'b' / '__init__.py').read_text() == ''
    assert (tmp_path / 'a' / 'b' / 'c.py').read_text() == 'X = 1\n'
