#!/usr/bin/env bash
# The quick start: a virtual environment in the checkout (.venv), pydt-tray with its `demo` extra inside it,
# the system libraries Qt needs, then `pydt-tray demo` (simulated PYDT: no account, no game).
#
#     bash scripts/demo.sh                    # the demo on your desktop
#     bash scripts/demo.sh --check            # non-interactive: start, first turn notification, exit (CI)
#     PYTHON=python3.13 bash scripts/demo.sh  # another Python (3.11 or newer)
#
# Works with Debian/Ubuntu's own /usr/bin/python3 (which refuses `pip install` outside a virtual
# environment, PEP 668) and with any newer Python. Run as root, it installs the missing Debian packages
# (python3-venv, Qt's libraries); otherwise it prints the exact apt-get line. PYDT_NO_APT=1: never run apt.
# Arguments go to `pydt-tray demo` (--check, --timeout S, --seed N, --debug, --hidden).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${PYDT_VENV:-.venv}

# What Qt's xcb platform plugin and QtGui load at run time (pydt_tray/platform/display.py names them too).
QT_PACKAGES=(
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
  libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxcb-util1 libxcb-shm0 libxcb-sync1 libxcb-render0 libxcb1
  libxkbcommon-x11-0
  libxkbcommon0 libx11-xcb1 libegl1 libgl1 libfontconfig1 libdbus-1-3 libglib2.0-0
)

say() { echo "demo.sh: $*" >&2; }

can_apt() { [ "$(id -u)" = 0 ] && [ -z "${PYDT_NO_APT:-}" ] && command -v apt-get >/dev/null; }

apt_install() {  # install (as root) or print the line to run; returns 1 when the user must act
  if can_apt; then
    say "installing: $*"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    say "run this first (as root), then run the same command again:"
    echo "    sudo apt-get install $*" >&2
    return 1
  fi
}

# --- Python -------------------------------------------------------------------------------------------------
command -v "$PYTHON" >/dev/null || { say "no $PYTHON found: install Python 3.11 or newer (or set PYTHON=...)"; exit 1; }
version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { say "$PYTHON is Python $version; pydt-tray needs 3.11 or newer (set PYTHON=...)"; exit 1; }

venv_package() {  # Debian's venv support for this interpreter
  if [ "$(readlink -f "$(command -v "$PYTHON")")" = "$(readlink -f /usr/bin/python3 2>/dev/null)" ]; then
    echo python3-venv
  else
    echo "python${version}-venv"
  fi
}

# --- the virtual environment --------------------------------------------------------------------------------
if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "$VENV is broken or too old: making it again"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ] || [ ! -x "$VENV/bin/pip" ]; then
  rm -rf "$VENV"
  if ! venv_error=$("$PYTHON" -m venv "$VENV" 2>&1); then
    rm -rf "$VENV"
    if command -v dpkg-query >/dev/null; then
      say "Python $version cannot make a virtual environment here (Debian/Ubuntu ship that part separately)"
      apt_install "$(venv_package)" || exit 1
      "$PYTHON" -m venv "$VENV" || { say "still no virtual environment; see the error above"; exit 1; }
    else
      say "$PYTHON -m venv failed: $venv_error"
      exit 1
    fi
  fi
fi

# --- Qt's system libraries (Debian and Ubuntu) ---------------------------------------------------------------
if command -v dpkg-query >/dev/null; then
  missing=()
  for pkg in "${QT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "Qt needs system libraries that are missing"
    apt_install "${missing[@]}" || say "continuing: without them pydt-tray says which library it cannot load"
  fi
fi

# --- pydt-tray ----------------------------------------------------------------------------------------------
say "installing pydt-tray and its demo extra into $VENV (the first time takes a minute)"
PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install -q -e ".[demo]"
say "starting: $VENV/bin/pydt-tray demo $*"
exec "$VENV/bin/pydt-tray" demo "$@"
