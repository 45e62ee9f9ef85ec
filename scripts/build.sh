#!/usr/bin/env bash
# Builds the frozen app with PyInstaller: dist/pydt-tray/ (one folder; macOS also dist/pydt-tray.app).
#
#     bash scripts/build.sh                 # installs the `package` and `demo` extras first
#     bash scripts/build.sh --no-install    # use what is installed
#
# Optional, for release builds: PYDT_BUILD_IOT_ACCESS_KEY_ID and PYDT_BUILD_IOT_SECRET_ACCESS_KEY (and
# PYDT_BUILD_IOT_ENDPOINT / PYDT_BUILD_IOT_REGION) are bundled as the app's default live-update key pair.
# PYDT_BUILD_DEMO=0 leaves `pydt-tray demo` (amqtt) out. Linux packages: bash packaging/linux/build_deb.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ "${1:-}" != "--no-install" ]; then
  "$PYTHON" -m pip install -q -e ".[package,demo]"
fi

started=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN pyinstaller.spec
elapsed=$(( $(date +%s) - started ))

for bundle in dist/pydt-tray dist/pydt-tray.app; do
  [ -e "$bundle" ] && echo "build: $bundle $(du -sh "$bundle" | cut -f1) unpacked, built in ${elapsed} s"
done
if [ -x dist/pydt-tray/pydt-tray ]; then
  echo "build: $(dist/pydt-tray/pydt-tray --version)"
fi
