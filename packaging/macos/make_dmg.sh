#!/usr/bin/env bash
# Wraps dist/pydt-tray.app (from scripts/build.sh on a Mac) in dist/pydt-tray-<version>.dmg: the app and a
# link to /Applications, so installing is one drag. macOS only (hdiutil).
#
#     bash scripts/build.sh && bash packaging/macos/make_dmg.sh
#
# Optional, for distribution outside the developer's own Macs (docs/packaging.md, "macOS"):
#   PYDT_CODESIGN_IDENTITY="Developer ID Application: NAME (TEAMID)"  signs the app before it is packed
#   PYDT_NOTARY_PROFILE=PROFILE  (a `xcrun notarytool store-credentials` profile) notarizes and staples the dmg
set -euo pipefail
cd "$(dirname "$0")/../.."

APP=dist/pydt-tray.app
[ -d "$APP" ] || { echo "make_dmg: no $APP; run scripts/build.sh on a Mac first" >&2; exit 1; }
command -v hdiutil >/dev/null || { echo "make_dmg: hdiutil is missing (this runs on macOS only)" >&2; exit 1; }
PLIST="$APP/Contents/Info.plist"
VERSION=$(/usr/libexec/PlistBuddy -c "Print :CFBundleShortVersionString" "$PLIST")
[ "$(/usr/libexec/PlistBuddy -c "Print :LSUIElement" "$PLIST")" = true ] \
  || { echo "make_dmg: $PLIST lacks LSUIElement=true (a menu-bar app has no Dock icon)" >&2; exit 1; }
OUT="dist/pydt-tray-${VERSION}.dmg"

if [ -n "${PYDT_CODESIGN_IDENTITY:-}" ]; then
  codesign --deep --force --options runtime --timestamp -s "$PYDT_CODESIGN_IDENTITY" "$APP"
  codesign --verify --deep --strict "$APP"
fi

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$OUT"
hdiutil create -volname "pydt-tray ${VERSION}" -srcfolder "$STAGE" -ov -format UDZO "$OUT" >/dev/null

if [ -n "${PYDT_CODESIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp -s "$PYDT_CODESIGN_IDENTITY" "$OUT"
fi
if [ -n "${PYDT_NOTARY_PROFILE:-}" ]; then
  xcrun notarytool submit "$OUT" --keychain-profile "$PYDT_NOTARY_PROFILE" --wait
  xcrun stapler staple "$OUT"
fi
echo "make_dmg: $OUT ($(du -h "$OUT" | cut -f1))"
