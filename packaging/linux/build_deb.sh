#!/usr/bin/env bash
# Builds dist/pydt-tray_<version>_<arch>.deb from the PyInstaller bundle in dist/pydt-tray/.
#
#     bash scripts/build.sh && bash packaging/linux/build_deb.sh
#
# Layout: the bundle in /opt/pydt-tray/, a /usr/bin/pydt-tray symlink, the menu entry, the icon (SVG and a
# 256 px PNG). Depends are worked out from the bundle: the glibc version its binaries need, and the
# packages owning every system library they link against that PyInstaller did not bundle (GL/EGL,
# Wayland, libxcb). Needs dpkg-deb, ldd and objdump (binutils).
set -euo pipefail
cd "$(dirname "$0")/../.."

BUNDLE=dist/pydt-tray
ASSETS=build/pydt-assets
[ -x "$BUNDLE/pydt-tray" ] || { echo "build_deb: no bundle in $BUNDLE; run scripts/build.sh first" >&2; exit 1; }
for tool in dpkg-deb dpkg-query ldd objdump; do
  command -v "$tool" >/dev/null || { echo "build_deb: $tool is missing (apt-get install -y dpkg binutils)" >&2; exit 1; }
done
[ -f "$ASSETS/pydt-tray-256.png" ] || python3 packaging/make_assets.py "$ASSETS" >/dev/null

PY_VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' pydt_tray/__init__.py)
[ -n "$PY_VERSION" ] || { echo "build_deb: no __version__ in pydt_tray/__init__.py" >&2; exit 1; }
# PEP 440 pre-releases sort before the release in Debian only with a tilde: 1.0rc1 -> 1.0~rc1
VERSION=$(printf '%s' "$PY_VERSION" | sed -E 's/[.]?(a|b|rc|dev)([0-9]+)$/~\1\2/')
ARCH=$(dpkg --print-architecture)
OUT="dist/pydt-tray_${VERSION}_${ARCH}.deb"

# --- which system packages the bundle needs ------------------------------------------------------------
mapfile -t ELF_FILES < <(find "$BUNDLE" -type f \( -name '*.so' -o -name '*.so.*' -o -path "$BUNDLE/pydt-tray" \))
BUNDLE_ABS=$(cd "$BUNDLE" && pwd)
LIB_PATH="$BUNDLE_ABS/_internal:$BUNDLE_ABS/_internal/PySide6/Qt/lib"
ldd_out=$(for f in "${ELF_FILES[@]}"; do LD_LIBRARY_PATH="$LIB_PATH" ldd "$f" 2>/dev/null || true; done)
if grep -q "not found" <<<"$ldd_out"; then
  echo "build_deb: the bundle links against libraries this machine lacks:" >&2
  grep "not found" <<<"$ldd_out" | sort -u >&2
  exit 1
fi
mapfile -t SYSTEM_LIBS < <(awk '/=> \// {print $3}' <<<"$ldd_out" | grep -v "^$BUNDLE_ABS/" | sort -u)

owner_of() {  # the package that ships a library path (merged /usr or not)
  local path=$1 real
  real=$(readlink -f "$path")
  for candidate in "$path" "${path#/usr}" "/usr$path" "$real" "${real#/usr}"; do
    dpkg-query -S "$candidate" 2>/dev/null | head -n1 | cut -d: -f1 && return 0
  done
  echo "build_deb: no package owns $path" >&2
  return 1
}
declare -A PACKAGES=()
for lib in "${SYSTEM_LIBS[@]}"; do
  pkg=$(owner_of "$lib")
  PACKAGES[$pkg]=1
done
unset 'PACKAGES[libc6]' 'PACKAGES[libcrypt1]'  # glibc is the libc6 (>= ...) below; libcrypt1 is essential
GLIBC=$(for f in "${ELF_FILES[@]}"; do objdump -T "$f" 2>/dev/null || true; done | grep -o 'GLIBC_[0-9.]*' \
  | sed 's/GLIBC_//' | sort -uV | tail -n1)
# libfontconfig1 is bundled, but its configuration (/etc/fonts) and at least one font come with the package.
DEPENDS="libc6 (>= ${GLIBC}), libfontconfig1"
for pkg in $(printf '%s\n' "${!PACKAGES[@]}" | sort); do DEPENDS+=", $pkg"; done

# --- the package tree ----------------------------------------------------------------------------------
STAGE="build/deb/pydt-tray_${VERSION}_${ARCH}"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/icons/hicolor/scalable/apps" "$STAGE/usr/share/icons/hicolor/256x256/apps" \
  "$STAGE/usr/share/doc/pydt-tray"
cp -a "$BUNDLE" "$STAGE/opt/pydt-tray"
ln -s /opt/pydt-tray/pydt-tray "$STAGE/usr/bin/pydt-tray"
install -m 0644 packaging/linux/pydt-tray.desktop "$STAGE/usr/share/applications/pydt-tray.desktop"
install -m 0644 resources/pydt-tray.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/pydt-tray.svg"
install -m 0644 "$ASSETS/pydt-tray-256.png" "$STAGE/usr/share/icons/hicolor/256x256/apps/pydt-tray.png"
cat >"$STAGE/usr/share/doc/pydt-tray/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: pydt-tray
Comment: A frozen build: /opt/pydt-tray/_internal holds Python, Qt (LGPLv3, PySide6) and the Python
 packages the app uses, each under its own licence (see the *.dist-info folders there).

Files: *
License: MIT
EOF
# Plain permissions whatever the umask of the build machine
find "$STAGE" -type d -exec chmod 0755 {} +
find "$STAGE/opt" -type f -exec chmod go-w,a+r {} +

INSTALLED_KB=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat >"$STAGE/DEBIAN/control" <<EOF
Package: pydt-tray
Version: ${VERSION}
Architecture: ${ARCH}
Maintainer: pydt-tray developers <pydt-tray@users.noreply.github.com>
Installed-Size: ${INSTALLED_KB}
Depends: ${DEPENDS}
Recommends: gnome-keyring | kwalletmanager | keepassxc, dbus-user-session | dbus-x11
Section: games
Priority: optional
Description: system-tray client for Play Your Damn Turn
 Shows your Play Your Damn Turn (play-by-cloud Civilization) games in the
 system tray and notifies you the moment it is your turn. It can download
 and submit turns from the command line too.
 .
 The token is kept in the desktop's Secret Service keyring.
EOF

mkdir -p dist
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$OUT" >/dev/null
echo "build_deb: $OUT ($(du -h "$OUT" | cut -f1), installed ${INSTALLED_KB} KiB)"
echo "build_deb: Depends: ${DEPENDS}"
