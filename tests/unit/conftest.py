"""Make the repository importable as ansible_collections.confine.lsm, as ansible does with an installed copy."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from lab import util as _lab_util  # noqa: E402  # the one place that makes the collections path

_lab_util.import_checkout()

import json  # noqa: E402

import pytest  # noqa: E402


class ModuleExit(Exception):
    """Raised by run_module's exit_json/fail_json stand-ins with the module's result."""

    def __init__(self, result, failed):
        Exception.__init__(self, result.get('msg', ''))
        self.result = result
        self.failed = failed


def _run_module(main, args, check=False, diff=False, monkeypatch=None):
    """Run a module's main() in-process with args; return its result dict (with 'failed' set on failure)."""
    from ansible.module_utils import basic
    full = dict(args, _ansible_check_mode=check, _ansible_diff=diff, _ansible_remote_tmp='/tmp',
                _ansible_keep_remote_files=False)
    payload = json.dumps({'ANSIBLE_MODULE_ARGS': full}).encode()

    def exit_json(self, **kwargs):
        raise ModuleExit(kwargs, False)

    def fail_json(self, msg='', **kwargs):
        raise ModuleExit(dict(kwargs, msg=msg), True)

    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', payload)
    if hasattr(basic, '_ANSIBLE_PROFILE'):
        monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy')
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    try:
        main()
    except ModuleExit as exc:
        return dict(exc.result, failed=exc.failed)
    raise AssertionError('the module returned without exit_json or fail_json')


@pytest.fixture
def run_module(monkeypatch):
    """run_module(main, args, check=False, diff=False) -> the module's result."""
    def runner(main, args, check=False, diff=False):
        return _run_module(main, args, check=check, diff=diff, monkeypatch=monkeypatch)
    return runner


@pytest.fixture
def fake_update_grub(tmp_path, monkeypatch):
    """An update-grub first on PATH that only logs each run; returns the log's path (absent until it runs)."""
    bindir = tmp_path / 'fake-bin'
    bindir.mkdir()
    log = tmp_path / 'update-grub.log'
    (bindir / 'update-grub').write_text('#!/bin/sh\necho run >> %s\n' % log)
    (bindir / 'update-grub').chmod(0o755)
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ['PATH']))
    return log
