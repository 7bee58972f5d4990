"""OCI runtime shim for dockerd on machines whose bounding set lacks capabilities.

runc fails with "unable to apply caps: operation not permitted" when a container
(e.g. --privileged) asks for a capability the host process cannot hold. This shim
removes such capabilities from the bundle's config.json and then runs runc.
"""
import json
import os
import sys

RUNC = "/usr/sbin/runc"
NAMES = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
]


def allowed():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                mask = int(line.split()[1], 16)
    return {"CAP_" + n for i, n in enumerate(NAMES) if mask & (1 << i)}


def bundle_dir(argv):
    for i, arg in enumerate(argv):
        if arg in ("--bundle", "-b") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--bundle="):
            return arg.split("=", 1)[1]
    return os.getcwd()


def main():
    argv = sys.argv[1:]
    if "create" in argv or "run" in argv:
        path = os.path.join(bundle_dir(argv), "config.json")
        if os.path.exists(path):
            with open(path) as f:
                cfg = json.load(f)
            caps = cfg.get("process", {}).get("capabilities")
            if caps:
                ok = allowed()
                for key, value in caps.items():
                    caps[key] = [c for c in value if c in ok]
                with open(path, "w") as f:
                    json.dump(cfg, f)
    os.execv(RUNC, [RUNC] + argv)


if __name__ == "__main__":
    main()
