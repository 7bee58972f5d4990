#!/usr/bin/env bash
# The main job. With no argument: boot the built-in lab (a SELinux VM and an AppArmor VM, both enforcing), lower
# them so there is something to correct, enforce, then verify and print the report. With an inventory path:
# enforce and verify those hosts (never lowered).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
ANSIBLE_COLLECTIONS_PATH=$(python3 -m lab collections-path) || exit 1
export ANSIBLE_COLLECTIONS_PATH ANSIBLE_STDOUT_CALLBACK=default
step() { printf '\n=== [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
INVENTORY=${1:-}
EXTRA=()
if [ -z "$INVENTORY" ]; then
  step "boot the lab VMs (first run builds the image from Debian's archive: ~10-20 min; later: ~1-3 min)"
  INVENTORY=$(python3 -m lab up)
  EXTRA=(-e @playbooks/vars/lab.yml)
  step "lower the lab: SELinux permissive + a boolean flipped live, nginx profile in complain"
  ansible-playbook -i "$INVENTORY" playbooks/lab-lower.yml
fi
step "enforce (playbooks/enforce.yml: role confine.lsm.confine_enforce, then the read-only verify and the report)"
rc=0
ansible-playbook -i "$INVENTORY" "${EXTRA[@]}" -e confine_report_dir="$ROOT/confine-report/enforce" playbooks/enforce.yml || rc=$?
step "what enforce corrected, per host (the changes column of $ROOT/confine-report/enforce/report.md)"
cat "$ROOT/confine-report/enforce/report.md"
step "verify again, in check mode (playbooks/verify.yml --check): an audit changes nothing"
ansible-playbook -i "$INVENTORY" "${EXTRA[@]}" -e confine_report_dir="$ROOT/confine-report" --check playbooks/verify.yml || rc=$?
step "report: $ROOT/confine-report/report.md (also report.json, report.xml for CI, report.html)"
cat "$ROOT/confine-report/report.md"
if [ -z "${1:-}" ]; then
  echo "The lab VMs are still up: 'python3 -m lab ssh selinux' to look around, 'make lab-down' to stop them."
fi
exit $rc
