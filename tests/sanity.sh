#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection laid out as ansible_collections/confine/lsm (ansible-test needs
# that path). Ignore files stay empty: every finding is fixed, not ignored.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=${CONFINE_SANITY_DIR:-$ROOT/.cache/sanity}/ansible_collections/confine/lsm
mkdir -p "$DEST"
rsync -a --delete --exclude .git --exclude .venv --exclude .cache --exclude tests/output --exclude '__pycache__' \
  --exclude .pytest_cache "$ROOT/" "$DEST/"
# ansible-test bootstraps pip in its venvs with a script from a host that is unreachable here: provide a stand-in.
PIP_VERSION=$(python3 -c "import re,sys;print(re.search(r\"pip='([0-9.]+)'\",open(sys.argv[1]).read()).group(1))" \
  "$(dirname "$(python3 -c 'import ansible_test;print(ansible_test.__file__)')")/_internal/python_requirements.py")
CACHE=$HOME/.ansible/test/cache/get_pip_${PIP_VERSION//./_}.py
# (copied, then renamed: the matrix lane's sanity runs beside the lint tier's and must never read a half-copied file)
[ -s "$CACHE" ] || { mkdir -p "$(dirname "$CACHE")"; cp "$ROOT/tests/sanity/get_pip_offline.py" "$CACHE.$$" &&
  mv -f "$CACHE.$$" "$CACHE"; }
cd "$DEST"
# ansible-test reads the file list from git when there is a repository; give it one with everything staged.
git init -q . && git add -A >/dev/null
ansible-test sanity --venv --python "${CONFINE_SANITY_PYTHON:-3.11}" --color no "$@"
