"""A fleet of systemd containers (the lab's container image) for tests and the benchmark that need many hosts.

Containers run the real SELinux user-land and AppArmor parser but no MAC (the host kernel has none): good for
fleet mechanics (forks, strategies, reports), never proof of enforcement."""
import json
import subprocess
import time

from lab import images, util

DOCKER_HOST_VARS = {"ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3",
                    "ansible_pipelining": True}


def _docker(*argv, **kw):
    return subprocess.run(["docker"] + list(argv), universal_newlines=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, check=False, **kw)


def raise_inotify_limit(minimum=8192):
    """Each systemd container takes inotify instances; the default 128 per user stops the 25th or so from booting
    (it exits at once with 255). Raise the host's limit when it is lower (root only); says what it did."""
    path = "/proc/sys/fs/inotify/max_user_instances"
    with open(path) as f:
        current = int(f.read())
    if current < minimum:
        with open(path, "w") as f:
            f.write("%d\n" % minimum)
        util.say("fs.inotify.max_user_instances raised from %d to %d for the container fleet" % (current, minimum))


def start(prefix, count, suite="bookworm", settle=60):
    """Start count systemd containers named <prefix>-NN; returns their names once all of them run."""
    tag = images.build_container(suite)
    if count > 10:
        raise_inotify_limit()
    names = ["%s-%02d" % (prefix, i) for i in range(count)]
    for name in names:
        _docker("rm", "-f", name)
        proc = _docker("run", "-d", "--name", name, "--cgroupns", "host", "--tmpfs", "/run", "--tmpfs", "/run/lock",
                       "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro", tag, "/sbin/init")
        if proc.returncode != 0:
            stop(names)
            raise util.LabError("docker run %s failed: %s" % (name, proc.stdout[-2000:]))
    deadline = time.time() + settle
    while True:
        running = _docker("ps", "--filter", "name=^%s-" % prefix, "--format", "{{.Names}}").stdout.split()
        if sorted(running) == names:
            return names
        if time.time() > deadline:
            stop(names)
            raise util.LabError("only %d of %d fleet containers run (not running: %s)" % (
                len(running), count, ", ".join(sorted(set(names) - set(running)))))
        time.sleep(2)


def inventory(names, path):
    """Write a JSON inventory of the containers (docker connection) to path."""
    with open(path, "w") as f:
        json.dump({"all": {"hosts": dict((n, dict(DOCKER_HOST_VARS)) for n in names)}}, f)
    return path


def stop(names):
    if names:
        _docker("rm", "-f", *names)
