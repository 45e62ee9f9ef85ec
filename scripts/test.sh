#!/usr/bin/env bash
# Installs what the tests need (Debian packages when run as root, the Python test extra) and runs the
# whole suite. Used by the README's quick start and by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  mosquitto mosquitto-clients openssl dbus dbus-x11 gnome-keyring xvfb xauth binutils
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
  libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1
  libdbus-1-3 libglib2.0-0 fonts-dejavu-core
  appstream desktop-file-utils python3-venv
)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

# shellcheck source=scripts/venv_if_managed.sh
source scripts/venv_if_managed.sh
python3 -m pip install -q -e ".[test]"
python3 -m ruff check .
python3 -m ruff format --check .
python3 -m vulture  # dead code: paths and the whitelist come from pyproject.toml
python3 -m mypy  # types: strict on core, push and platform (settings in pyproject.toml)
bash scripts/lint_workflows.sh  # actionlint over .github/workflows
python3 -m pytest "$@"
