#!/usr/bin/env bash
# Builds dist/pydt-tray_<version>_<arch>.deb from the PyInstaller bundle in dist/pydt-tray/.
#
#     bash scripts/build.sh && bash packaging/linux/build_deb.sh
#
# Layout: the bundle in /usr/lib/pydt-tray/, a /usr/bin/pydt-tray symlink, the menu entry, the AppStream
# metadata, the icon (SVG and the hicolor PNGs), prerm/postrm pointing to `pydt-tray forget`. Depends are
# worked out from the bundle: the glibc version its binaries need, and the
# packages owning every system library they link against that PyInstaller did not bundle (GL/EGL,
# Wayland, libxcb). Needs dpkg-deb, ldd and objdump (binutils).
set -euo pipefail
cd "$(dirname "$0")/../.."

BUNDLE=dist/pydt-tray
[ -x "$BUNDLE/pydt-tray" ] || { echo "build_deb: no bundle in $BUNDLE; run scripts/build.sh first" >&2; exit 1; }
for tool in dpkg-deb dpkg-query ldd objdump; do
  command -v "$tool" >/dev/null || { echo "build_deb: $tool is missing (apt-get install -y dpkg binutils)" >&2; exit 1; }
done

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
mkdir -p "$STAGE/DEBIAN" "$STAGE/usr/lib" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/metainfo" "$STAGE/usr/share/icons/hicolor/scalable/apps" "$STAGE/usr/share/doc/pydt-tray"
cp -a "$BUNDLE" "$STAGE/usr/lib/pydt-tray"
APP_DIR="$STAGE/usr/lib/pydt-tray"
# Libraries every Debian/Ubuntu system has as packages: depend on those instead of shipping copies
# (lintian: embedded-library; security updates then reach pydt-tray too).
declare -A UNBUNDLED=(
  [libz.so.1]=zlib1g [libpng16.so.16]="libpng16-16 | libpng16-16t64" [libfreetype.so.6]=libfreetype6
  [libexpat.so.1]=libexpat1 [libbz2.so.1.0]=libbz2-1.0 [libtinfo.so.6]=libtinfo6 [libblkid.so.1]=libblkid1
  [libmount.so.1]=libmount1
)
for lib in $(printf '%s\n' "${!UNBUNDLED[@]}" | sort); do
  if [ -e "$APP_DIR/_internal/$lib" ]; then
    rm "$APP_DIR/_internal/$lib"
    DEPENDS+=", ${UNBUNDLED[$lib]}"
  fi
done
# A Python built outside /usr (pyenv, python.org) leaves its build folder as RUNPATH: drop those, keep $ORIGIN.
while IFS= read -r -d '' elf; do
  head -c4 "$elf" | grep -q 'ELF' || continue
  rpath=$(objdump -p "$elf" 2>/dev/null | awk '$1 == "RUNPATH" || $1 == "RPATH" {print $2}')
  if [ -n "$rpath" ] && [[ "$rpath" != *'$ORIGIN'* ]]; then
    command -v patchelf >/dev/null \
      || { echo "build_deb: $elf has RUNPATH $rpath; install patchelf to remove it" >&2; exit 1; }
    patchelf --remove-rpath "$elf"
  fi
done < <(find "$APP_DIR" -type f \( -name '*.so' -o -name '*.so.*' -o -path "$APP_DIR/pydt-tray" \) -print0)
ln -s ../lib/pydt-tray/pydt-tray "$STAGE/usr/bin/pydt-tray"
install -m 0644 resources/pydt-tray.desktop "$STAGE/usr/share/applications/pydt-tray.desktop"
install -m 0644 resources/io.github.pydt_tray.pydt_tray.metainfo.xml "$STAGE/usr/share/metainfo/"
install -m 0644 resources/pydt-tray.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/pydt-tray.svg"
for icon in resources/icons/hicolor/*/apps/pydt-tray.png; do
  size_dir=$(basename "$(dirname "$(dirname "$icon")")")
  install -D -m 0644 "$icon" "$STAGE/usr/share/icons/hicolor/$size_dir/apps/pydt-tray.png"
done
# Removal: the package cannot reach each user's keyring or home; it points users to `pydt-tray forget`.
for script in prerm postrm; do
  install -m 0755 "packaging/linux/$script" "$STAGE/DEBIAN/$script"
done
cat >"$STAGE/usr/share/doc/pydt-tray/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: pydt-tray
Comment: A frozen build: /usr/lib/pydt-tray/_internal holds Python, Qt (LGPLv3, PySide6) and the Python
 packages the app uses, each under its own licence (see the *.dist-info folders there).

Files: *
Copyright: 2026 pydt-tray developers
License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all
 copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
 SOFTWARE.
EOF
# A native package's changelog (Debian format), compressed reproducibly
CHANGED=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
cat >"build/deb/changelog" <<EOF
pydt-tray (${VERSION}) unstable; urgency=medium

  * Release ${PY_VERSION}; the project's history is in its source repository.

 -- pydt-tray developers <pydt-tray@users.noreply.github.com>  ${CHANGED}
EOF
gzip -9n -c build/deb/changelog >"$STAGE/usr/share/doc/pydt-tray/changelog.gz"
# lintian: what a frozen bundle cannot avoid, each with its reason (docs/packaging.md lists them)
install -D -m 0644 packaging/linux/lintian-overrides "$STAGE/usr/share/lintian/overrides/pydt-tray"
# Plain permissions whatever the umask of the build machine
find "$STAGE" -type d -exec chmod 0755 {} +
find "$STAGE/usr/lib" -type f -exec chmod go-w,a+r {} +
find "$APP_DIR" -type f \( -name '*.so' -o -name '*.so.*' \) -exec chmod 0644 {} +  # libraries are not programs

INSTALLED_KB=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat >"$STAGE/DEBIAN/control" <<EOF
Package: pydt-tray
Version: ${VERSION}
Architecture: ${ARCH}
Maintainer: pydt-tray developers <pydt-tray@users.noreply.github.com>
Installed-Size: ${INSTALLED_KB}
Depends: ${DEPENDS}
Recommends: gnome-keyring | kwalletmanager | keepassxc, dbus-user-session | dbus-x11
Section: utils
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
