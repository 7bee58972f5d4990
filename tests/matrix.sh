#!/usr/bin/env bash
# The supported ansible-core lines older than the pinned one (2.16, 2.17, 2.18; the full suite runs on 2.19):
# unit tests and ansible-test sanity on each, in venvs cached outside the repository, keyed by version.
# Usage: tests/matrix.sh [2.16.19 ...]
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VERSIONS=("$@")
[ ${#VERSIONS[@]} -eq 0 ] && VERSIONS=(2.16.19 2.17.14 2.18.19)
CACHE=${CONFINE_LAB_CACHE:-$HOME/.cache/confine-lsm}
TEST_REQS=(pytest==9.2.0 hypothesis==6.170.17)
status=0
for v in "${VERSIONS[@]}"; do
  venv=$CACHE/venv-ansible-core-$v
  if [ ! -x "$venv/bin/ansible-test" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "ansible-core==$v" "${TEST_REQS[@]}" > "$ROOT/tests/output/logs/matrix-$v-pip.log" 2>&1
  fi
  if ! "$venv/bin/ansible-test" --version >/dev/null 2>&1; then
    echo "ansible-core $v: venv setup FAILED"; status=1; continue
  fi
  if (cd "$ROOT" && PATH="$venv/bin:$PATH" pytest -q -p no:cacheprovider tests/unit > "$ROOT/tests/output/logs/matrix-$v-unit.log" 2>&1); then
    unit="unit $(grep -Eo '[0-9]+ passed' "$ROOT/tests/output/logs/matrix-$v-unit.log" | tail -1)"
  else
    unit="unit FAILED"; status=1
  fi
  if (PATH="$venv/bin:$PATH" CONFINE_SANITY_DIR=$ROOT/.cache/sanity-$v bash "$ROOT/tests/sanity.sh" > "$ROOT/tests/output/logs/matrix-$v-sanity.log" 2>&1); then
    sanity="sanity passed"
  else
    sanity="sanity FAILED"; status=1
  fi
  echo "ansible-core $v: $unit, $sanity (logs: tests/output/logs/matrix-$v-*.log)"
done
exit $status
