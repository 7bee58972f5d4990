"""Read config texts with the host's libselinux: run as root inside a private mount namespace.

    unshare --mount --propagation private python3 libselinux_reader.py HOST_MNT_NS

HOST_MNT_NS is the caller's /proc/self/ns/mnt link; the reader refuses to mount anything when its own namespace is
the same (it would hide the host's /etc/selinux). It mounts a tmpfs on /etc/selinux, the fixed path libselinux
reads, then answers one JSON line per JSON line read from stdin:

    in:  {"text": "<hex of the file's bytes>"}
    out: {"rc": 0 or -1, "mode": 1, 0, -1 or null, "policy_rc": 0 or -1, "policy": "<hex>" or null}

rc and mode are selinux_getenforcemode's return value and int; policy_rc and policy are selinux_getpolicytype's.
libselinux reads the policy type once a process (init_selinux_config runs under pthread_once) and caches it, so
each text is read by a fresh child: this process never loads libselinux itself; it writes the file and forks, and
the child loads libselinux.so.1 with ctypes, calls both functions and writes the answer to a pipe.
"""
import ctypes
import json
import os
import subprocess
import sys

CONFIG = '/etc/selinux/config'
LIBRARY = 'libselinux.so.1'


def child(fd):
    lib = ctypes.CDLL(LIBRARY)
    mode = ctypes.c_int(-99)
    rc = lib.selinux_getenforcemode(ctypes.byref(mode))
    policy = ctypes.c_char_p()
    policy_rc = lib.selinux_getpolicytype(ctypes.byref(policy))
    answer = {'rc': rc, 'mode': mode.value if rc == 0 else None, 'policy_rc': policy_rc,
              'policy': policy.value.hex() if policy_rc == 0 and policy.value is not None else None}
    data = json.dumps(answer).encode()
    while data:
        data = data[os.write(fd, data):]


def read_once(raw):
    with open(CONFIG, 'wb') as f:
        f.write(raw)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            child(w)
        except BaseException:  # pylint: disable=broad-except  # the parent reports a missing answer
            code = 1
        os._exit(code)  # pylint: disable=protected-access
    os.close(w)
    chunks = []
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    dummy, status = os.waitpid(pid, 0)
    if status != 0 or not chunks:
        return {'error': 'the reading child failed (wait status %d)' % status}
    return json.loads(b''.join(chunks))


def main():
    host_ns = sys.argv[1]
    if os.readlink('/proc/self/ns/mnt') == host_ns:
        print(json.dumps({'error': 'not in a private mount namespace: refusing to mount over /etc/selinux'}))
        return 1
    if not os.path.isdir('/etc/selinux'):
        print(json.dumps({'error': '/etc/selinux does not exist (the caller makes it)'}))
        return 1
    proc = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=8m,mode=0755', 'confine-oracle', '/etc/selinux'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if proc.returncode != 0:
        print(json.dumps({'error': 'mount tmpfs on /etc/selinux failed: %s' % proc.stdout.strip()}))
        return 1
    with open('/proc/self/maps') as f:
        if 'libselinux' in f.read():
            print(json.dumps({'error': 'libselinux is already loaded in the reader: its cached reading would leak'}))
            return 1
    print(json.dumps({'ready': True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps(read_once(bytes.fromhex(request['text']))), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
