"""Renders the app icon into the freedesktop hicolor sizes, committed under ``resources/icons/hicolor/``.

    python3 packaging/linux/make_hicolor.py          # after changing resources/pydt-tray.svg

The wheel carries them as package data and the .deb installs them into /usr/share/icons/hicolor/.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
from make_assets import SVG, render_pngs  # noqa: E402

HICOLOR_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
OUT = ROOT / "resources" / "icons" / "hicolor"


def main() -> int:
    for size, png in render_pngs(SVG, set(HICOLOR_SIZES)).items():
        target = OUT / f"{size}x{size}" / "apps" / "pydt-tray.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(png)
        print(target.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
