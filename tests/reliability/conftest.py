"""Reliability catalogue: one container holding the real SELinux user-land (offline policy store), AppArmor's parser
and profiles, plus a read-only mount and a tiny filesystem; modules run through ansible-playbook with the docker
connection. Every case's outcome is written to tests/output/reliability.md (docs/reliability.md is a copy of it).

Each case's ansible-playbook is ansible's own PlaybookCLI run in a child forked from this process, which imported
ansible once: the same code path as the command, without a Python start and ansible's imports per case (0.5 against
1.3 CPU s a run, measured here). Runs from other threads (the concurrency and random-kill cases) start the
ansible-playbook command itself.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from lab import images, util  # noqa: E402  pylint: disable=wrong-import-position

# what ansible reads at import time, set before it is imported (the forked runs inherit it)
ENV = dict(ANSIBLE_COLLECTIONS_PATH=util.checkout_collections_path(), ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json',
           ANSIBLE_NOCOLOR='1', ANSIBLE_LOAD_CALLBACK_PLUGINS='1')
os.environ.update(ENV)
from ansible.cli.playbook import PlaybookCLI  # noqa: E402  pylint: disable=wrong-import-position

# one container per run: two checkouts' runs at once must not remove each other's container
NAME = 'confine-reliability-%d' % os.getpid()
OUT = os.path.join(ROOT, 'tests', 'output', 'reliability.md')
_ROWS = []


def sh(argv, check=True, **kw):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          check=False, **kw)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed (rc=%d): %s' % (' '.join(argv), proc.returncode, proc.stdout[-3000:]))
    return proc


class Host(object):
    """The container, and ways to run a module task or a command in it."""

    def __init__(self, name, workdir):
        self.name = name
        self.workdir = workdir
        self.inventory = os.path.join(workdir, 'inventory.json')
        with open(self.inventory, 'w') as f:
            json.dump({'all': {'hosts': {name: {'ansible_connection': 'community.docker.docker',
                                                'ansible_python_interpreter': '/usr/bin/python3'}}}}, f)
        self.env = dict(os.environ, **ENV)

    def exec(self, *argv, check=True, stdin=None):
        return sh(['docker', 'exec', '-i', self.name] + list(argv), check=check, input=stdin).stdout

    def write(self, path, text):
        self.exec('sh', '-c', 'cat > "$1"', '-', path, stdin=text)

    def read(self, path):
        """The file's text, byte for byte (no newline translation: CRLF stays CRLF)."""
        proc = subprocess.run(['docker', 'exec', self.name, 'cat', path], stdout=subprocess.PIPE, check=True)
        return proc.stdout.decode('utf-8', 'surrogateescape')

    def task(self, module, args, check=False, env=None, diff=False):
        """Run one module task; returns its result dict (with 'failed' and 'msg' when it failed)."""
        task = {'name': 'case', module: args, 'check_mode': check, 'diff': diff}
        if env:
            task['environment'] = env
        return self.play({'hosts': 'all', 'gather_facts': False, 'tasks': [task]})[0]

    def play(self, play, timeout=None):
        """Run one play (registered results flow as in a real playbook); the result of each task on this host.
        After timeout seconds the run is killed: subprocess.TimeoutExpired."""
        fd, path = tempfile.mkstemp(prefix='play-', suffix='.json', dir=self.workdir)  # own file: runs may overlap
        with os.fdopen(fd, 'w') as f:
            json.dump([play], f)
        argv = ['ansible-playbook', '-i', self.inventory, path]
        if threading.current_thread() is threading.main_thread():
            rc, out = forked_playbook(argv, timeout=timeout)
        else:
            proc = sh(argv, check=False, env=self.env, timeout=timeout)
            rc, out = proc.returncode, proc.stdout
        try:
            data = json.loads(out[out.index('{'):])
            return [t['hosts'][self.name] for t in data['plays'][0]['tasks']]
        except (ValueError, KeyError, IndexError):
            raise AssertionError('no result from ansible-playbook (rc=%d): %s' % (rc, out[-3000:]))

    def snapshot(self, *paths):
        """What a case must leave as it was: file bytes, the policy store's local changes, profile files."""
        files = self.exec('sh', '-c', 'for f in "$@"; do [ -e "$f" ] && sha256sum "$f" || echo "absent $f"; done; '
                          '[ $# -gt 0 ] && ls -la -- "$@" 2>/dev/null | sort; ls -A /etc/selinux /etc/apparmor.d /etc/apparmor.d/local '
                          '/mnt/ro /mnt/tiny 2>/dev/null', '-', *paths, check=False)
        # every byte of the active policy store (local customisations, modules, the built policy): stricter than
        # `semanage export` and a tenth of its time, taken twice per refused case
        store = self.exec('sh', '-c', 'cd /var/lib/selinux && find . -path "./*/active/*" -type f -print0 | sort -z '
                          '| xargs -0 sha256sum')
        return files + '\n--store--\n' + store


def forked_playbook(argv, timeout=None):
    """(rc, stdout and stderr) of ansible-playbook ARGV run by PlaybookCLI in a forked child (its own process group,
    killed whole after timeout seconds: subprocess.TimeoutExpired)."""
    fd, path = tempfile.mkstemp(prefix='playbook-out-')
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        rc = 250
        try:
            os.setpgid(0, 0)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.stdout = os.fdopen(1, 'w', closefd=False)
            sys.stderr = os.fdopen(2, 'w', closefd=False)
            rc = PlaybookCLI(argv).run()
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # pylint: disable=broad-except  # said in the output the parent reads
            import traceback
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(rc if isinstance(rc, int) else 1)
    try:
        deadline = time.time() + timeout if timeout else None
        while True:
            done, status = os.waitpid(pid, 0 if deadline is None else os.WNOHANG)
            if done:
                break
            if time.time() > deadline:
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise subprocess.TimeoutExpired(argv, timeout)
            time.sleep(0.1)
        rc = os.waitstatus_to_exitcode(status)
        with open(path, errors='replace') as f:
            return rc, f.read()
    finally:
        os.close(fd)
        os.unlink(path)


@pytest.fixture(scope='session')
def host():
    tag = images.build_container('bookworm')  # starts dockerd; reuses the cached image
    workdir = tempfile.mkdtemp(prefix='confine-rel-')
    ro = os.path.join(workdir, 'ro')
    os.makedirs(ro)
    with open(os.path.join(ro, 'config'), 'w') as f:
        f.write('SELINUX=permissive\nSELINUXTYPE=default\n')
    # containers of earlier runs that were killed before their clean-up (their pytest process is gone)
    names = sh(['docker', 'ps', '-a', '--filter', 'name=confine-reliability-', '--format', '{{.Names}}'],
               check=False).stdout.split()
    stale = [n for n in names if not os.path.exists('/proc/%s' % n.rsplit('-', 1)[-1])]
    if stale:
        sh(['docker', 'rm', '-f'] + stale, check=False)
    sh(['docker', 'run', '-d', '--name', NAME, '-v', '%s:/mnt/ro:ro' % ro,
        '--mount', 'type=tmpfs,destination=/mnt/tiny,tmpfs-size=65536', tag, 'sleep', 'infinity'])
    try:
        yield Host(NAME, workdir)
    finally:
        sh(['docker', 'rm', '-f', NAME], check=False)


def record(area, case, outcome):
    """A row of the reliability table (the test asserts; this says what was seen)."""
    _ROWS.append((area, case, outcome))


def pytest_runtest_logreport(report):
    if report.when == 'call' and report.failed:
        _ROWS.append(('FAILED', report.nodeid.split('::')[-1], 'the test failed: see the test log'))


def pytest_sessionfinish(session, exitstatus):
    if not _ROWS:
        return
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    lines = ['# Reliability catalogue', '',
             'Written by `pytest tests/reliability` (part of the test command) on %s; do not edit by hand. Each row '
             'is a hostile case, run against a container that holds the real SELinux user-land (an offline policy '
             'store) and AppArmor parser, or in-process; the test asserts what the row says.' %
             time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), '',
             '| area | case | what happened |', '|---|---|---|']
    lines += ['| %s | %s | %s |' % tuple(str(c).replace('|', '\\|').replace('\n', ' ') for c in row)
              for row in _ROWS]
    with open(OUT, 'w') as f:
        f.write('\n'.join(lines) + '\n')
