#!/usr/bin/env bash
# Install the controller machine's system packages (Debian/Ubuntu, as root): qemu for the lab VMs, debootstrap for
# images, Docker for container scenarios, rsync for Molecule and sanity, chromium to look at the HTML report,
# apparmor for apparmor_parser, the oracle of tests/oracle/test_apparmor_oracle.py.
# Idempotent: only missing ones are installed.
set -eu
PKGS=(qemu-system-x86 qemu-utils debootstrap docker.io rsync openssh-client e2fsprogs git curl python3-venv shellcheck
      chromium apparmor)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "host-deps: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then echo "host-deps: run as root (apt-get install ${missing[*]})"; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "host-deps: all present (${PKGS[*]})"
