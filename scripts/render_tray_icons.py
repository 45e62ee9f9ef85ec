"""Writes the tray icons the package ships (``resources/tray/<variant>-<size>.png``) from the painter in
``pydt_tray/ui/icon_painter.py``. Run it after changing a drawing; ``tests/qt/test_icons.py`` checks the files match.

    QT_QPA_PLATFORM=offscreen python3 scripts/render_tray_icons.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QGuiApplication, QImage

from pydt_tray.ui.icon_painter import render_icon_image
from pydt_tray.ui.icons import TRAY_ICON_PNG, TRAY_SIZES, tray_icon_name, tray_variants

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def main() -> int:
    app = QGuiApplication(sys.argv[:1])
    written = 0
    for status, label in tray_variants():
        for size in TRAY_SIZES:
            path = RESOURCES / TRAY_ICON_PNG.format(name=tray_icon_name(status, label), size=size)
            path.parent.mkdir(parents=True, exist_ok=True)
            image = render_icon_image(status, label, size).convertToFormat(QImage.Format.Format_ARGB32)
            if not image.save(str(path), "PNG"):
                print(f"could not write {path}", file=sys.stderr)
                return 1
            written += 1
    print(f"wrote {written} tray icons under {RESOURCES / 'tray'}")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
