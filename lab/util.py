"""Small helpers shared by the lab commands: paths, progress output, running tools, dockerd."""
import os
import shutil
import subprocess
import sys
import time

_T0 = time.time()
_LAST = [time.time()]


class LabError(Exception):
    pass


def cache_dir():
    base = os.environ.get("CONFINE_LAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "confine-lsm")
    base = os.path.abspath(base)  # daemonized qemu runs in /: every path handed to it is absolute
    os.makedirs(base, exist_ok=True)
    return base


def state_dir():
    base = os.environ.get("CONFINE_LAB_STATE") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "confine-lsm", "lab")
    os.makedirs(base, exist_ok=True)
    return base


def say(msg):
    now = time.time()
    print("[lab %6.1fs] %s" % (now - _T0, msg), file=sys.stderr, flush=True)


def step(msg):
    """Announce a step, with how long the previous one took."""
    now = time.time()
    say("%s  (previous step %.1f s)" % (msg, now - _LAST[0]))
    _LAST[0] = now


def run(argv, quiet=False, check=True, **kw):
    if quiet:
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.STDOUT)
    proc = subprocess.run(argv, universal_newlines=True, check=False, **kw)
    if check and proc.returncode != 0:
        tail = (proc.stdout or "")[-3000:] if quiet else ""
        raise LabError("command failed (rc=%d): %s\n%s" % (proc.returncode, " ".join(argv), tail))
    return proc


def which(tool):
    path = shutil.which(tool)
    if not path:
        need_tools([tool])
    return path


def need_tools(tools):
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        raise LabError("missing tools: %s (install: apt-get install qemu-system-x86 qemu-utils debootstrap "
                       "e2fsprogs openssh-client docker.io rsync)" % ", ".join(missing))


RUNTIME_NAME = "confine-dropcaps"


def docker_ok():
    return subprocess.run(["docker", "info"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def ensure_dockerd():
    """Start dockerd when none answers, with an OCI runtime that drops capabilities this machine lacks."""
    if docker_ok():
        return
    need_tools(["dockerd", "docker", "runc"])
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "runc_dropcaps.py")) as f:
        shim = f.read()
    runtime = os.path.join(cache_dir(), "runc-dropcaps")
    with open(runtime, "w") as f:
        f.write("#!/usr/bin/python3\n" + shim)  # dockerd runs it directly; the system Python is enough
    os.chmod(runtime, 0o755)
    log = os.path.join(state_dir(), "dockerd.log")
    step("start dockerd (log: %s)" % log)
    with open(log, "ab") as out:
        proc = subprocess.Popen(["dockerd", "--add-runtime", "%s=%s" % (RUNTIME_NAME, runtime),
                                 "--default-runtime", RUNTIME_NAME],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    with open(os.path.join(state_dir(), "dockerd.pid"), "w") as f:
        f.write(str(proc.pid))
    for dummy in range(60):
        if docker_ok():
            return
        if proc.poll() is not None:
            break
        time.sleep(1)
    raise LabError("dockerd did not start; see %s" % log)


def checkout_collections_path():
    """A collections path where ansible finds this checkout as confine.lsm (a symlink under .cache, as
    tests/run-all.sh makes it); returns the path for ANSIBLE_COLLECTIONS_PATH."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    coll = os.path.join(root, ".cache", "collections")
    os.makedirs(os.path.join(coll, "ansible_collections", "confine"), exist_ok=True)
    link = os.path.join(coll, "ansible_collections", "confine", "lsm")
    if not os.path.islink(link):
        os.symlink(root, link)
    return coll


def import_checkout():
    """Make this checkout importable as ansible_collections.confine.lsm in the running Python (the tests' conftest
    files call it), also when the ansible package's ansible_collections namespace was imported first."""
    coll = checkout_collections_path()
    if coll not in sys.path:
        sys.path.insert(0, coll)
    if "ansible_collections" in sys.modules:
        path = sys.modules["ansible_collections"].__path__
        if os.path.join(coll, "ansible_collections") not in list(path):
            path.insert(0, os.path.join(coll, "ansible_collections"))
    return coll
