"""Image recipes for the confine.lsm lab: VM disks and container bases, built from Debian's archive only.

A recipe is plain data; its hash keys the cache, so an image is rebuilt only when its recipe changes.
Bump BUILD_STEPS when the build procedure itself (not the data) changes in a way that alters the image.
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

from . import util

MIRROR = os.environ.get("CONFINE_LAB_MIRROR", "http://deb.debian.org/debian")
BUILD_STEPS = 3
FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")

COMMON = [
    "systemd-sysv", "udev", "dbus", "kmod", "procps", "python3", "python3-apt", "sudo", "iproute2", "netbase",
    "ca-certificates", "apparmor", "apparmor-utils", "apparmor-profiles", "apparmor-profiles-extra", "auditd",
    "selinux-basics", "selinux-policy-default", "policycoreutils", "policycoreutils-python-utils", "selinux-utils",
    "setools", "python3-selinux", "python3-semanage", "nginx", "curl", "less",
]
VM_ONLY = ["linux-image-amd64", "initramfs-tools", "openssh-server"]
# Timers and services that only add noise (and minutes, under emulation) to a lab VM.
MASK = ["apt-daily.timer", "apt-daily-upgrade.timer", "man-db.timer", "e2scrub_all.timer", "fstrim.timer",
        "logrotate.timer", "getty@tty1.service"]

SUITES = ("bookworm", "trixie")


def _file(name):
    with open(os.path.join(FILES, name)) as f:
        return f.read()


def vm_recipe(suite):
    return {
        "kind": "vm", "suite": suite, "mirror": MIRROR, "steps": BUILD_STEPS, "disk_gb": 6,
        "packages": sorted(COMMON + VM_ONLY), "mask": MASK,
        "files": {n: _file(n) for n in ("usr.sbin.nginx", "20-wired.network", "50-confine-lab.conf")},
    }


def container_recipe(suite):
    return {
        "kind": "container", "suite": suite, "mirror": MIRROR, "steps": BUILD_STEPS,
        "packages": sorted(COMMON), "mask": MASK + ["auditd.service", "nginx.service"],
        "files": {n: _file(n) for n in ("usr.sbin.nginx",)},
    }


def recipe_hash(recipe):
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def vm_dir(suite):
    return os.path.join(util.cache_dir(), "images", "vm-%s-%s" % (suite, recipe_hash(vm_recipe(suite))))


def container_tag(suite):
    return "confine-lsm/%s:%s" % (suite, recipe_hash(container_recipe(suite)))


# ---------------------------------------------------------------- rootfs


def debootstrap(recipe, rootfs):
    util.step("debootstrap %s (%d packages)" % (recipe["suite"], len(recipe["packages"])))
    util.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(recipe["packages"]),
              recipe["suite"], rootfs, recipe["mirror"]], quiet=True)


def write(rootfs, path, text, mode=0o644):
    full = os.path.join(rootfs, path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)
    os.chmod(full, mode)


def chroot(rootfs, *argv):
    util.run(["chroot", rootfs] + list(argv), quiet=True)


def configure_common(recipe, rootfs):
    suite = recipe["suite"]
    write(rootfs, "/etc/apt/sources.list", "deb %s %s main\n" % (recipe["mirror"], suite))
    write(rootfs, "/etc/apparmor.d/usr.sbin.nginx", recipe["files"]["usr.sbin.nginx"])
    write(rootfs, "/etc/selinux/config", "# SELinux configuration (confine.lsm lab image)\n"
          "SELINUX=permissive\nSELINUXTYPE=default\n")
    for unit in recipe["mask"]:
        chroot(rootfs, "systemctl", "mask", unit)
    # The apt caches make images larger for nothing.
    chroot(rootfs, "apt-get", "clean")


def configure_vm(recipe, rootfs, pubkey):
    configure_common(recipe, rootfs)
    write(rootfs, "/etc/hostname", "confine-lab\n")
    write(rootfs, "/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 confine-lab\n")
    write(rootfs, "/etc/fstab", "/dev/vda / ext4 defaults,errors=remount-ro 0 1\n")
    write(rootfs, "/etc/systemd/network/20-wired.network", recipe["files"]["20-wired.network"])
    write(rootfs, "/etc/ssh/sshd_config.d/50-confine-lab.conf", recipe["files"]["50-confine-lab.conf"])
    write(rootfs, "/root/.ssh/authorized_keys", pubkey, 0o600)
    os.chmod(os.path.join(rootfs, "root/.ssh"), 0o700)
    for unit in ("systemd-networkd", "ssh", "auditd", "nginx"):
        chroot(rootfs, "systemctl", "enable", unit)
    # What selinux-activate does, minus grub: relabel on the first SELinux boot.
    write(rootfs, "/.autorelabel", "")


# ---------------------------------------------------------------- VM image


def build_vm(suite, force=False):
    """Build (or reuse) the VM image for suite; return its cache directory."""
    out = vm_dir(suite)
    if os.path.exists(os.path.join(out, "ready")) and not force:
        util.say("VM image %s: cached at %s" % (suite, out))
        return out
    recipe = vm_recipe(suite)
    util.need_tools(["debootstrap", "mkfs.ext4", "qemu-img", "qemu-system-x86_64", "ssh-keygen"])
    started = time.time()
    if os.path.exists(out):
        shutil.rmtree(out)
    work = out + ".build"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    rootfs = os.path.join(work, "rootfs")
    key = os.path.join(work, "id_ed25519")
    util.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "confine-lab", "-f", key], quiet=True)
    try:
        debootstrap(recipe, rootfs)
        util.step("configure the image")
        with open(key + ".pub") as f:
            configure_vm(recipe, rootfs, f.read())
        boot = os.path.join(rootfs, "boot")
        kernels = sorted(n for n in os.listdir(boot) if n.startswith("vmlinuz-"))
        initrds = sorted(n for n in os.listdir(boot) if n.startswith("initrd.img-"))
        if not kernels or not initrds:
            raise util.LabError("no kernel or initrd in %s" % boot)
        shutil.copy(os.path.join(boot, kernels[-1]), os.path.join(work, "vmlinuz"))
        shutil.copy(os.path.join(boot, initrds[-1]), os.path.join(work, "initrd.img"))
        shutil.copy(os.path.join(rootfs, "etc/ssh/ssh_host_ed25519_key.pub"), os.path.join(work, "hostkey.pub"))
        util.step("make the disk (%d GB sparse ext4)" % recipe["disk_gb"])
        raw = os.path.join(work, "disk.raw")
        util.run(["mkfs.ext4", "-q", "-L", "root", "-d", rootfs, raw, "%dG" % recipe["disk_gb"]], quiet=True)
        shutil.rmtree(rootfs)
        util.run(["qemu-img", "convert", "-O", "qcow2", raw, os.path.join(work, "base.qcow2")], quiet=True)
        os.unlink(raw)
        with open(os.path.join(work, "recipe.json"), "w") as f:
            json.dump(recipe, f, indent=1, sort_keys=True)
        first_boots(work)
    except BaseException:
        shutil.rmtree(rootfs, ignore_errors=True)
        raise
    os.rename(work, out)
    with open(os.path.join(out, "ready"), "w") as f:
        f.write("built in %.0f s\n" % (time.time() - started))
    util.say("VM image %s ready in %.0f s: %s" % (suite, time.time() - started, out))
    return out


def first_boots(work):
    """Boot the fresh image twice, writing into base.qcow2 itself.

    1. AppArmor boot: compiles every profile once, so the cache is baked into the image.
    2. SELinux boot: /.autorelabel makes Debian's selinux-autorelabel relabel the disk and reboot by itself;
       after that reboot the image is switched to SELINUX=enforcing and powered off.
    The AppArmor boot comes first so that the relabel also labels the files it wrote.
    """
    from . import vm
    disk = os.path.join(work, "base.qcow2")
    with vm.Booted(work, disk, "apparmor", name="build-apparmor") as guest:
        guest.ssh(["aa-status", "--enabled"])
        guest.ssh(["systemctl", "is-active", "apparmor", "nginx"])
        guest.poweroff()
    util.step("SELinux relabel boot (the guest relabels and reboots by itself; ~4 min under emulation)")
    with vm.Booted(work, disk, "selinux", name="build-selinux", timeout=1200) as guest:
        out = guest.ssh(["getenforce"]).strip()
        if out != "Permissive":
            raise util.LabError("after the relabel boot getenforce says %r, expected Permissive" % out)
        label = guest.ssh(["stat", "-c", "%C", "/etc/shadow"]).strip()
        if "shadow_t" not in label:
            raise util.LabError("relabel did not happen: /etc/shadow is %s" % label)
        guest.ssh(["sed", "-i", "s/^SELINUX=.*/SELINUX=enforcing/", "/etc/selinux/config"])
        guest.poweroff()


# ---------------------------------------------------------------- container base images


def build_container(suite, force=False):
    tag = container_tag(suite)
    util.ensure_dockerd()
    if not force and subprocess.run(["docker", "image", "inspect", tag], check=False, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL).returncode == 0:
        util.say("container image %s: present" % tag)
        return tag
    recipe = container_recipe(suite)
    util.need_tools(["debootstrap"])
    started = time.time()
    work = tempfile.mkdtemp(prefix="confine-ctr-", dir=os.path.join(util.cache_dir()))
    rootfs = os.path.join(work, "rootfs")
    try:
        debootstrap(recipe, rootfs)
        configure_common(recipe, rootfs)
        write(rootfs, "/etc/selinux/config", "# SELinux configuration (confine.lsm container image)\n"
              "SELINUX=enforcing\nSELINUXTYPE=default\n")
        util.step("docker import %s" % tag)
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        util.run(["docker", "import", "--change", 'CMD ["/sbin/init"]', "-", tag], stdin=tar.stdout, quiet=True)
        tar.wait()
        util.run(["docker", "tag", tag, "confine-lsm/%s:latest" % suite], quiet=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    util.say("container image %s ready in %.0f s" % (tag, time.time() - started))
    return tag
