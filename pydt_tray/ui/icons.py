"""The app's tray icons (one per status, the turn count on a badge) and its application icon.

The drawings live in :mod:`pydt_tray.ui.icon_painter`. The package ships every tray variant it paints as
PNGs (``resources/tray``, written by ``scripts/render_tray_icons.py``; a test checks they match the painter),
and the running app loads those: painting needs QPainter's bindings and Qt's pen enums, and the first use of
any enum of Qt's namespace builds all of them (about 1 MB a hidden tray app keeps for good). The painter is
imported only as the fallback when the files cannot be read.
"""

from __future__ import annotations

import enum
import functools
import logging
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication, QIcon, QImageReader, QPixmap

log = logging.getLogger(__name__)

TRAY_SIZES = (16, 22, 32, 64)
APP_ICON_SIZES = (16, 22, 32, 48, 64, 128, 256)
APP_ICON_RESOURCE = "pydt-tray.svg"  # the drawing; the app loads the PNGs rendered from it
APP_ICON_PNG = "icons/hicolor/{size}x{size}/apps/pydt-tray.png"
TRAY_ICON_PNG = "tray/{name}-{size}.png"


class TrayStatus(enum.Enum):
    IDLE = "idle"
    YOUR_TURN = "your_turn"
    POLLING = "polling"
    SIGNED_OUT = "signed_out"
    ERROR = "error"
    SMACK = "smack"


def count_label(count: int) -> str:
    """The badge text for ``count`` waiting turns: "" for none, "1".."9", or "9+"."""
    if count <= 0:
        return ""
    return str(count) if count <= 9 else "9+"


def tray_icon(status: TrayStatus, count: int = 0) -> QIcon:
    """The tray icon for ``status`` at sizes 16, 22, 32 and 64; only YOUR_TURN shows ``count``."""
    if QGuiApplication.instance() is None:
        raise RuntimeError("tray icons need a QGuiApplication")
    label = count_label(count) if status is TrayStatus.YOUR_TURN else ""
    return QIcon(_cached_icon(status, label))


def tray_variants() -> list[tuple[TrayStatus, str]]:
    """Every (status, badge label) the tray can show: the turn badge only on YOUR_TURN."""
    labels = ["", *(count_label(count) for count in range(1, 11))]
    return [(status, label) for status in TrayStatus for label in (labels if status is TrayStatus.YOUR_TURN else [""])]


def tray_icon_name(status: TrayStatus, label: str) -> str:
    """The file name stem of a variant: ``idle``, ``your_turn-3``, ``your_turn-9+``."""
    return f"{status.value}-{label}" if label else status.value


@functools.lru_cache(maxsize=64)
def _cached_icon(status: TrayStatus, label: str) -> QIcon:
    name = tray_icon_name(status, label)
    icon = _icon_from_files(_resource_files(TRAY_ICON_PNG, TRAY_SIZES, name=name))
    if icon is not None:
        return icon
    log.debug("tray icon %s: no packaged PNGs, painting it", name)
    return _painted(status, label, TRAY_SIZES)


def _painted(status: TrayStatus, label: str, sizes: tuple[int, ...]) -> QIcon:
    from pydt_tray.ui import icon_painter  # the fallback only: see the module's docstring

    icon = QIcon()
    for size in sizes:
        icon.addPixmap(QPixmap.fromImage(icon_painter.render_icon_image(status, label, size)))
    return icon


def app_icon() -> QIcon:
    """The application icon from the packaged PNGs (rendered from our SVG, one per size, read only when a size
    is first drawn: no SVG renderer is loaded), or the painted token when they cannot be read."""
    if QGuiApplication.instance() is None:
        raise RuntimeError("the app icon needs a QGuiApplication")
    icon = _icon_from_files(_app_icon_files())
    if icon is None:
        log.warning("app icon %s could not be loaded; using the painted icon", APP_ICON_RESOURCE)
        icon = _painted(TrayStatus.IDLE, "", APP_ICON_SIZES)
    return icon


def _app_icon_files() -> dict[int, Path]:
    """The packaged PNG of each app icon size ({} when the resources are not files on disk)."""
    return _resource_files(APP_ICON_PNG, APP_ICON_SIZES)


def _resource_files(pattern: str, sizes: tuple[int, ...], **names: str) -> dict[int, Path]:
    """``pattern`` filled in for each size, as packaged files ({} when the resources are not files on disk)."""
    try:
        root = resources.files("pydt_tray.resources")
    except ModuleNotFoundError as exc:
        log.debug("icon resources unavailable: %s", exc)
        return {}
    if not isinstance(root, Path):  # inside an archive: no file to read lazily
        return {}
    return {size: root / pattern.format(size=size, **names) for size in sizes}


def _icon_from_files(files: dict[int, Path]) -> QIcon | None:
    if not files:
        return None
    icon = QIcon()
    for size, path in files.items():
        header = QImageReader(str(path))  # reads the header only: is it a PNG of the right size?
        if header.size() != QSize(size, size):
            log.debug("icon %s unreadable or not %d px: %s", path, size, header.errorString())
            return None
        icon.addFile(str(path), QSize(size, size))
    return icon
