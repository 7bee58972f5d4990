#!/usr/bin/env bash
# Every test tier, in order: lint + sanity, unit, container scenarios, VM scenarios (real kernels).
# Ends with one summary line per tier. Exit status is non-zero when any tier failed.
# Usage: tests/run-all.sh [tier ...]   (tiers: lint unit containers vms; default: all)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
VENV=${CONFINE_VENV:-$ROOT/.venv}
export PATH="$VENV/bin:$PATH"
LOGS=$ROOT/tests/output/logs
mkdir -p "$LOGS"
# ansible finds this checkout as confine.lsm through a symlinked collections path (made in one place: lab/util.py).
ANSIBLE_COLLECTIONS_PATH=$(python3 -m lab collections-path) || exit 1
export ANSIBLE_COLLECTIONS_PATH
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 ANSIBLE_NOCOLOR=1
TIERS=("$@")
[ ${#TIERS[@]} -eq 0 ] && TIERS=(lint unit containers vms)
declare -a SUMMARY
FAILED=0

say() { printf '\n=== [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

record() {  # record TIER STATUS DETAIL SECONDS
  SUMMARY+=("$(printf 'tier %-10s %-7s %4ss  %s' "$1" "$2" "$4" "$3")")
  [ "$2" = passed ] || FAILED=1
}

tier_status() {  # tier_status LINE: the status column of a summary line ("passed" or "FAILED"), not a word of its detail
  local _tier _name status _rest
  read -r _tier _name status _rest <<< "$1"
  printf '%s' "$status"
}

record_result() {  # record_result TIER RC PASS_DETAIL FAIL_DETAIL T0
  if [ "$2" = 0 ]; then
    record "$1" passed "$3" $((SECONDS - $5))
  else
    record "$1" FAILED "$4" $((SECONDS - $5))
  fi
}

# Everything shares two cores, so what a step costs is its CPU, not its wall time: with_cpu runs a command in a
# subshell and appends the CPU its processes used (user + system, every descendant waited for) to cpu-steps.txt.
# The lab VMs and the containers are not descendants; tests/cpu_account.py samples those.
with_cpu() {  # with_cpu LABEL cmd...
  local label=$1 tf rc=0; shift
  tf=$(mktemp)
  ( "$@"; rc=$?; LC_ALL=C times > "$tf"; exit $rc ) || rc=$?
  sed -n 2p "$tf" | awk -v l="$label" '{ n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] }
    printf "%8.0f  %s\n", n, l }' >> "$LOGS/cpu-steps.txt"
  rm -f "$tf"
  return $rc
}

run_step() {  # run_step LABEL LOGNAME cmd...  -> prints the log tail on failure
  local label=$1 name=$2 log=$LOGS/$2.log; shift 2
  say "$label"
  if with_cpu "$name" "$@" >"$log" 2>&1; then
    tail -n 3 "$log"; return 0
  fi
  echo "FAILED: $label (log: $log)"; tail -n 60 "$log"; return 1
}

# shellcheck disable=SC2317  # invoked through run_step
lint_docs() {
  (cd "$LOGS" && antsibull-docs lint-collection-docs --plugin-docs "$ROOT/.cache/collections/ansible_collections/confine/lsm")
}

# shellcheck disable=SC2317  # invoked through run_step
check_docs() {  # one ansible-doc per plugin type (it exits 0 even when a name is missing: each header is checked)
  local f n out modules=() roles=()
  for f in plugins/modules/*.py; do modules+=("confine.lsm.$(basename "$f" .py)"); done
  for f in roles/*/; do roles+=("confine.lsm.$(basename "$f")"); done
  out=$(ansible-doc -t module "${modules[@]}") || { echo "ansible-doc failed for the modules"; return 1; }
  for n in "${modules[@]}"; do
    grep -qF "> MODULE $n (" <<< "$out" || { echo "ansible-doc did not render module $n"; return 1; }
    echo "module $n renders"
  done
  out=$(ansible-doc -t role "${roles[@]}") || { echo "ansible-doc failed for the roles"; return 1; }
  for n in "${roles[@]}"; do
    grep -qF "> ROLE: *$n* (" <<< "$out" || { echo "ansible-doc did not render role $n"; return 1; }
    echo "role $n renders"
  done
}

tier_lint() {
  local ok=0 t0=$SECONDS
  run_step "ansible-lint (production profile)" ansible-lint ansible-lint --offline || ok=1
  [ -n "$MATRIX_LANE_PID" ] || run_step "ansible-test sanity" sanity bash tests/sanity.sh || ok=1
  run_step "ansible-doc renders every module and role" ansible-doc check_docs || ok=1
  run_step "changelog fragments" changelog antsibull-changelog lint || ok=1
  # the real readers as oracles: libselinux.so.1 (root, unshare) for /etc/selinux/config, apparmor_parser for
  # profile files; each fails, never skips, when its reader is missing
  run_step "oracles: /etc/selinux/config as libselinux reads it, profiles as apparmor_parser reads them (tests/oracle)" \
    oracle pytest -q -p no:cacheprovider -rA tests/oracle || ok=1
  run_step "antsibull-docs lint (every plugin's documentation)" antsibull-docs lint_docs || ok=1
  [ -n "$MATRIX_LANE_PID" ] || tier_matrix_steps || ok=1
  record_result lint $ok "ansible-lint, ansible-doc, changelog, oracles$([ -n "$MATRIX_LANE_PID" ] || echo ', sanity, matrix')" \
    "see $LOGS" "$t0"
}

# ansible-test sanity, then the older ansible-core lines: pure controller CPU that waits on nothing. In a full run
# they go in a lane of their own at a lower CPU priority (see below), part of the lint tier all the same.
MATRIX_LANE_PID=
tier_matrix_steps() {
  run_step "ansible-core 2.16, 2.17, 2.18: unit tests and sanity on each (tests/matrix.sh)" matrix \
    "${MATRIX_NICE[@]}" bash tests/matrix.sh
}
MATRIX_NICE=()

tier_unit() {
  local t0=$SECONDS ok=0
  run_step "unit tests (pytest)" unit pytest -q -p no:cacheprovider tests/unit || ok=1
  record_result unit $ok "$(grep -Eo '[0-9]+ passed' "$LOGS/unit.log" | tail -1)" "see $LOGS/unit.log" "$t0"
}

# shellcheck disable=SC2317  # invoked through run_step and timed
molecule_run() {  # molecule_run SCENARIO [molecule test options]
  local scenario=$1; shift
  (cd "$ROOT" && molecule test -s "$scenario" "$@")
}

# shellcheck disable=SC2317  # invoked in the containers sub-lanes
pytest_suite() {  # pytest_suite NAME LABEL: pytest on tests/NAME, adding "NAME: N passed" or "NAME FAILED" to notes
  if run_step "$2 (tests/$1)" "$1" pytest -q -p no:cacheprovider -rA "tests/$1"; then
    notes+=("$1: $(grep -Eo '[0-9]+ passed' "$LOGS/$1.log" | tail -1)")
  else
    notes+=("$1 FAILED"); return 1
  fi
}

# shellcheck disable=SC2317  # invoked in tier_containers' sub-lanes
containers_lane() {  # containers_lane NAME step...: the steps one after the other; notes to NAME.notes, rc to NAME.rc
  local name=$1 ok=0 notes=(); shift
  for step in "$@"; do "$step" || ok=1; done
  printf '%s\n' "${notes[@]}" > "$LOGS/containers-$name.notes"
  echo "$ok" > "$LOGS/containers-$name.rc"
}

# shellcheck disable=SC2317
step_debian() {
  if [ -z "${MOLECULE_UBUNTU_IMAGE_GIVEN:-}" ]; then
    run_step "molecule debian (bookworm container)" molecule-debian \
      molecule_run debian --platform-name confine-debian-bookworm || return 1
    notes+=("debian(bookworm)")
  else
    run_step "molecule debian (bookworm + trixie containers)" molecule-debian molecule_run debian || return 1
    notes+=("debian")
  fi
}
# shellcheck disable=SC2317
step_ubuntu() {
  run_step "molecule ubuntu ($MOLECULE_UBUNTU_IMAGE)" molecule-ubuntu molecule_run ubuntu || return 1
  if [ -z "${MOLECULE_UBUNTU_IMAGE_GIVEN:-}" ]; then
    notes+=("ubuntu(on local trixie = debian's trixie platform)")
  else
    notes+=("ubuntu")
  fi
}
# shellcheck disable=SC2317
step_fedora() {
  local fedora=${MOLECULE_FEDORA_IMAGE:-docker.io/geerlingguy/docker-fedora42-ansible:latest}
  if docker image inspect "$fedora" >/dev/null 2>&1 || timeout 60 docker pull -q "$fedora" >/dev/null 2>&1; then
    run_step "molecule fedora ($fedora)" molecule-fedora molecule_run fedora || return 1
    notes+=("fedora")
  else
    echo "fedora scenario: image $fedora is unavailable (no registry reachable, none built locally): not run."
    notes+=("fedora NOT RUN: image unavailable")
  fi
}
# shellcheck disable=SC2317
step_reliability() {  # bad input, faults (SIGKILL, read-only, disk full) and concurrent runs against one container
  pytest_suite reliability "reliability catalogue (table in tests/output/reliability.md)"
}
# shellcheck disable=SC2317
step_ecosystem() {  # the built tarball installed into a fresh path: every module and role from it; ansible-builder's context
  pytest_suite ecosystem "installed collection and execution environment"
}

# Two sub-lanes at once (each its own containers, names and logs): the Molecule container scenarios, the
# reliability catalogue and the ecosystem tests wait on containers and ansible, not on each other. One after the
# other they were the run's critical path, ending with one core idle while the VM lanes had long finished.
tier_containers() {
  local t0=$SECONDS ok=0 notes=() lane
  python3 -m lab build --containers --suite bookworm,trixie || { record containers FAILED "image build" 0; return; }
  if [ -z "${MOLECULE_UBUNTU_IMAGE:-}" ]; then
    export MOLECULE_UBUNTU_IMAGE=confine-lsm/trixie:latest MOLECULE_UBUNTU_COMMAND=/sbin/init
    echo "ubuntu scenario: no registry here, so it runs on the locally built Debian trixie image"\
         "(same family, apt, AppArmor 4). Set MOLECULE_UBUNTU_IMAGE to use a real Ubuntu image."
    # the debian scenario's trixie platform would run the same playbooks on the same image a second time
    echo "debian scenario: bookworm platform only here; its trixie platform's run is the ubuntu scenario's"\
         "(same image, same playbooks)."
  else
    export MOLECULE_UBUNTU_IMAGE_GIVEN=1
  fi
  rm -f "$LOGS"/containers-[ab].{notes,rc,out}
  say "containers: two sub-lanes at once (a: molecule debian, reliability; b: molecule ubuntu, fedora, ecosystem)"
  containers_lane a step_debian step_reliability > "$LOGS/containers-a.out" 2>&1 & local pa=$!
  containers_lane b step_ubuntu step_fedora step_ecosystem > "$LOGS/containers-b.out" 2>&1 & local pb=$!
  wait "$pa"; wait "$pb"
  for lane in a b; do
    cat "$LOGS/containers-$lane.out"
    [ "$(cat "$LOGS/containers-$lane.rc" 2>/dev/null)" = 0 ] || ok=1
    mapfile -t -O "${#notes[@]}" notes < <(grep -v '^$' "$LOGS/containers-$lane.notes" 2>/dev/null)
  done
  record_result containers $ok "${notes[*]}" "${notes[*]}; see $LOGS" "$t0"
}

# VM images take 10-15 min to build with a cold cache; when the vms tier will run, build them in the background
# from the start, while the lighter tiers run.
VM_SUITES=bookworm,trixie
VM_BUILD_PID=
start_vm_images() {
  say "VM images ($VM_SUITES): building or reusing in the background (log: $LOGS/vm-images.log)"
  python3 -m lab build --vm --suite "$VM_SUITES" > "$LOGS/vm-images.log" 2>&1 & VM_BUILD_PID=$!
}

# Runs its command with ansible under mitogen's linear strategy (one persistent interpreter per host instead of a
# Python start and a module payload per task: about half the time per task on the emulated VMs). The lanes that use
# it are named in tier_vms; the reboot lane and the containers tier stay on ansible's own SSH and docker paths.
# shellcheck disable=SC2317  # invoked in the lanes below
with_mitogen() {
  local dir
  dir=$(python3 -c 'import ansible_mitogen, os; print(os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy"))') \
    || { echo "mitogen is not installed in $VENV (requirements.txt pins it)"; return 1; }
  ANSIBLE_STRATEGY_PLUGINS=$dir ANSIBLE_STRATEGY=mitogen_linear "$@"
}

# shellcheck disable=SC2317  # invoked in the lanes below
timed() {  # timed cmd...: runs it, appends "start end seconds rc cmd" to the lanes' times file
  local t0=$SECONDS s0 rc=0
  s0=$(date +%H:%M:%S)
  with_cpu "lane: $*" "$@" || rc=$?
  printf '%s-%s %5ss rc=%s  %s\n' "$s0" "$(date +%H:%M:%S)" $((SECONDS - t0)) "$rc" "$*" >> "$LOGS/vm-lanes.times"
  return $rc
}

tier_vms() {
  local t0=$SECONDS
  [ -n "$VM_BUILD_PID" ] || start_vm_images
  say "waiting for the VM images"
  if ! wait "$VM_BUILD_PID"; then
    tail -n 40 "$LOGS/vm-images.log"; record vms FAILED "VM image build" $((SECONDS - t0)); return
  fi
  grep -E "ready|cached" "$LOGS/vm-images.log"
  # Three lanes (at most four VMs at once): Molecule on bookworm with SELinux; Molecule on bookworm with AppArmor and
  # after it the reboot tests on a trixie lab with the SELinux host only; the fleet playbooks and roles on a trixie
  # lab (tests/integration/test_playbooks_lab.py: drift, verify, profile deployment, tune, denials). Five emulated
  # VMs beside the containers tier starved the reboot lab's boot past its SSH deadline (CI, session 3).
  # Molecule and the fleet playbooks run under mitogen; the reboot tests (two enforce.yml runs, the SELinux role's
  # reboot) stay on ansible's own SSH connection, so both paths are proven on real kernels.
  say "molecule vm_selinux, vm_apparmor (then the reboot tests) and the fleet-playbook tests, in parallel (logs: $LOGS/{molecule-vm_*,playbooks-lab,playbooks-reboot}.log)"
  rm -f "$LOGS/molecule-vm_apparmor.rc" "$LOGS/vm-lanes.times"
  timed with_mitogen molecule_run vm_selinux > "$LOGS/molecule-vm_selinux.log" 2>&1 & local p1=$!
  (
    rc=0
    timed with_mitogen molecule_run vm_apparmor > "$LOGS/molecule-vm_apparmor.log" 2>&1 || rc=$?
    echo "$rc" > "$LOGS/molecule-vm_apparmor.rc"
    CONFINE_TEST_PLAYBOOKS_LAB=playbooks-reboot CONFINE_TEST_PLAYBOOKS_LSM=selinux \
      timed pytest -q -p no:cacheprovider -rA --durations=0 -k reboot tests/integration/test_playbooks_lab.py \
      > "$LOGS/playbooks-reboot.log" 2>&1
  ) & local p2=$!
  timed with_mitogen pytest -q -p no:cacheprovider -rA --durations=0 -k "not reboot" tests/integration/test_playbooks_lab.py \
    > "$LOGS/playbooks-lab.log" 2>&1 & local p3=$!
  local r1=0 r2=0 r3=0 r4=0
  wait $p1 || r1=$?
  wait $p2 || r4=$?
  r2=$(cat "$LOGS/molecule-vm_apparmor.rc" 2>/dev/null || echo 1)
  wait $p3 || r3=$?
  for s in vm_selinux vm_apparmor; do
    echo "--- $s: PLAY RECAP and testinfra"; grep -A3 "PLAY RECAP" "$LOGS/molecule-$s.log" | tail -n 4
    grep -E "^[0-9]+ passed|passed in|failed" "$LOGS/molecule-$s.log" | tail -n 2
  done
  echo "--- fleet playbooks and roles on a trixie lab"; grep -E "^(PASSED|FAILED|ERROR) |passed|failed" "$LOGS/playbooks-lab.log" | tail -n 10
  echo "--- reboot paths on a second trixie lab"; grep -E "^(PASSED|FAILED|ERROR) |passed|failed" "$LOGS/playbooks-reboot.log" | tail -n 4
  echo "--- wall time of each step (the lanes share the CPU)"; cat "$LOGS/vm-lanes.times"
  [ "$r1" = 0 ] || { echo "vm_selinux FAILED:"; tail -n 80 "$LOGS/molecule-vm_selinux.log"; }
  [ "$r2" = 0 ] || { echo "vm_apparmor FAILED:"; tail -n 80 "$LOGS/molecule-vm_apparmor.log"; }
  [ "$r3" = 0 ] || { echo "fleet playbook tests FAILED:"; tail -n 60 "$LOGS/playbooks-lab.log"; }
  [ "$r4" = 0 ] || { echo "reboot tests FAILED:"; tail -n 60 "$LOGS/playbooks-reboot.log"; }
  record_result vms $((r1 + r2 + r3 + r4)) \
    "vm_selinux + vm_apparmor on bookworm (roles, idempotence, module tests, verify); fleet playbooks on trixie ($(grep -Eo '[0-9]+ passed' "$LOGS/playbooks-lab.log" | tail -1); reboot paths $(grep -Eo '[0-9]+ passed' "$LOGS/playbooks-reboot.log" | tail -1))" \
    "selinux rc=$r1 apparmor rc=$r2 playbooks rc=$r3 reboot rc=$r4; see $LOGS" "$t0"
}

# The vms tier is mostly waiting on emulated VMs: when it runs with other tiers, it runs in its own lane from the
# start (its output is printed when it ends), next to lint, unit and containers.
VMS_LANE_PID=
run_vms_lane() {
  tier_vms > "$LOGS/tier-vms.out" 2>&1
  printf '%s\n' "${SUMMARY[@]}" > "$LOGS/tier-vms.summary"
}
# The lint tier's sanity and matrix steps (about 350 CPU s, waiting on nothing) in a lane of their own, niced: they
# take the CPU the other lanes leave idle (the VM lanes wait on guests; the end of the containers tier keeps one core
# busy) instead of lengthening the lint -> unit -> containers chain, the run's critical path. One after the other in
# the lane, so that no two ansible-test runs make the same sanity venv at once. Still the lint tier's proofs: the
# run fails with them.
run_matrix_lane() {
  SUMMARY=()
  local t0=$SECONDS ok=0
  MATRIX_NICE=(nice -n 10)
  {
    run_step "ansible-test sanity (ansible-core 2.19)" sanity nice -n 10 bash tests/sanity.sh || ok=1
    tier_matrix_steps || ok=1
  } > "$LOGS/tier-matrix.out" 2>&1
  record_result matrix $ok "ansible-test sanity on 2.19; ansible-core 2.16, 2.17, 2.18 unit tests and sanity (own lane, niced)" \
    "sanity or matrix FAILED; see $LOGS/tier-matrix.out" "$t0"
  printf '%s\n' "${SUMMARY[@]}" > "$LOGS/tier-matrix.summary"
}
# CPU of the VMs and containers (not descendants of this script), sampled until the run ends
rm -f "$LOGS/cpu-steps.txt"
python3 "$ROOT/tests/cpu_account.py" "$LOGS/cpu.txt" & CPU_PID=$!
trap 'kill -TERM "$CPU_PID" 2>/dev/null' EXIT
others=()
for tier in "${TIERS[@]}"; do
  [ "$tier" = vms ] || others+=("$tier")
done
if [[ " ${TIERS[*]} " == *" vms "* ]] && [ ${#others[@]} -gt 0 ]; then
  say "vms tier: running in its own lane from now (it builds the VM images first; output when it ends; log: $LOGS/tier-vms.out)"
  run_vms_lane & VMS_LANE_PID=$!
fi
if [[ " ${TIERS[*]} " == *" lint "* ]] && [ ${#TIERS[@]} -gt 1 ]; then
  say "lint tier's sanity and matrix steps: running in their own lane from now, niced (log: $LOGS/tier-matrix.out)"
  rm -f "$LOGS/tier-matrix.summary"
  run_matrix_lane & MATRIX_LANE_PID=$!
fi

for tier in "${TIERS[@]}"; do
  case $tier in
    lint) tier_lint ;;
    unit) tier_unit ;;
    containers) tier_containers ;;
    vms) [ -n "$VMS_LANE_PID" ] || tier_vms ;;
    *) echo "unknown tier $tier (lint unit containers vms)"; exit 2 ;;
  esac
done
if [ -n "$MATRIX_LANE_PID" ]; then
  say "waiting for the lint tier's sanity and matrix lane"
  wait "$MATRIX_LANE_PID"
  cat "$LOGS/tier-matrix.out"
  [ -s "$LOGS/tier-matrix.summary" ] || echo "tier matrix     FAILED     0s  the matrix lane left no summary" > "$LOGS/tier-matrix.summary"
  while IFS= read -r line; do
    SUMMARY+=("$line")
    [ "$(tier_status "$line")" = passed ] || FAILED=1
  done < "$LOGS/tier-matrix.summary"
fi
if [ -n "$VMS_LANE_PID" ]; then
  say "waiting for the vms lane"
  wait "$VMS_LANE_PID"
  cat "$LOGS/tier-vms.out"
  while IFS= read -r line; do
    SUMMARY+=("$line")
    [ "$(tier_status "$line")" = passed ] || FAILED=1
  done < "$LOGS/tier-vms.summary"
fi
say "summary"
printf '%s\n' "${SUMMARY[@]}"
kill -TERM "$CPU_PID" 2>/dev/null && wait "$CPU_PID"
# this run's tier and lane times, for docs/testing.md and the next session's comparison
{
  printf 'run of %s at %s: total %ss (%s min), tiers: %s\n' "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$SECONDS" "$((SECONDS / 60))" "${TIERS[*]}"
  printf '%s\n' "${SUMMARY[@]}"
  [ -f "$LOGS/vm-lanes.times" ] && { echo "vms lanes (wall time of each step; the lanes share the CPU):"; cat "$LOGS/vm-lanes.times"; }
  [ -f "$LOGS/cpu.txt" ] && cat "$LOGS/cpu.txt"
  [ -f "$LOGS/cpu-steps.txt" ] && { echo "  controller CPU seconds per step (the step's own processes):"; sort -rn "$LOGS/cpu-steps.txt"; }
} > "$ROOT/tests/output/times.txt"
cat "$ROOT/tests/output/times.txt" >> "$ROOT/tests/output/times-history.txt"
npass=0
for line in "${SUMMARY[@]}"; do
  [ "$(tier_status "$line")" = passed ] && npass=$((npass + 1))
done
printf 'tiers: %d passed, %d failed\n' "$npass" $(( ${#SUMMARY[@]} - npass ))
exit $FAILED
