#!/usr/bin/env bash
# The supported ansible-core lines older than the pinned one (2.16, 2.17, 2.18; the full suite runs on 2.19):
# unit tests and ansible-test sanity on each, in venvs cached outside the repository, keyed by version.
# Usage: tests/matrix.sh [2.16.19 ...]
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VERSIONS=("$@")
[ ${#VERSIONS[@]} -eq 0 ] && VERSIONS=(2.16.19 2.17.14 2.18.19)
CACHE=${CONFINE_LAB_CACHE:-$HOME/.cache/confine-lsm}
# The unit tests' own imports, pinned once in requirements.txt; the venv's name carries their hash, so a new
# test requirement builds a new venv instead of failing in a cached one.
mapfile -t TEST_REQS < <(grep -E '^(pytest|hypothesis|markdown-it-py)==' "$ROOT/requirements.txt")
REQS_KEY=$(printf '%s\n' "${TEST_REQS[@]}" | sha256sum | cut -c1-8)
status=0
for v in "${VERSIONS[@]}"; do
  venv=$CACHE/venv-ansible-core-$v-$REQS_KEY
  if [ ! -x "$venv/bin/ansible-test" ]; then
    python3 -m venv "$venv"
    if ! "$venv/bin/pip" install -q "ansible-core==$v" "${TEST_REQS[@]}" > "$ROOT/tests/output/logs/matrix-$v-pip.log" 2>&1; then
      rm -rf "$venv"   # never keep a half-installed venv as the cache
      echo "ansible-core $v: venv setup FAILED (log: tests/output/logs/matrix-$v-pip.log)"; status=1; continue
    fi
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
