#!/usr/bin/env bash
# The sdist and wheel as a user gets them: `python -m build`, `twine check`, then the wheel installed in a
# clean virtual environment and run (--version, --help, the desktop files it carries). Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

"$PYTHON" -m build --outdir "$OUT/dist" . >/dev/null
"$PYTHON" -m twine check --strict "$OUT"/dist/*
"$PYTHON" -m venv "$OUT/venv"
PIP_DISABLE_PIP_VERSION_CHECK=1 "$OUT/venv/bin/python" -m pip install -q "$OUT"/dist/*.whl
cd "$OUT"  # away from the checkout: only the installed copy can answer
env -u PYTHONPATH "$OUT/venv/bin/pydt-tray" --version
env -u PYTHONPATH "$OUT/venv/bin/pydt-tray" --help | grep -q "forget"
env -u PYTHONPATH "$OUT/venv/bin/python" - <<'PY'
from importlib.resources import files

import pydt_tray

resources = files("pydt_tray.resources")
for name in ("pydt-tray.desktop", "io.github.pydt_tray.pydt_tray.metainfo.xml", "pydt-tray.svg",
             "icons/hicolor/48x48/apps/pydt-tray.png", "tray/your_turn-9+-16.png"):
    assert resources.joinpath(name).is_file(), name
assert "/venv/" in pydt_tray.__file__, pydt_tray.__file__
print("check_dist: the wheel installs in a clean virtual environment, runs and carries its desktop files")
PY
