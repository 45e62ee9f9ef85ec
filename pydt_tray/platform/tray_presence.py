"""What to do when the desktop has no system tray (GNOME without the AppIndicator extension, some tiling
window managers): say so once, show the window with the reason on it, and keep running with notifications.
The decision takes ``QSystemTrayIcon.isSystemTrayAvailable()`` and the two actions it needs; only
:func:`window_notice` touches Qt."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TextIO

from pydt_tray.platform.display import HEADLESS_PLATFORMS, requested_platforms

log = logging.getLogger(__name__)


class PanelHost(Protocol):
    """A window that can place a widget above its content (``GamesWindow.set_panel``)."""

    def set_panel(self, panel: Any) -> None: ...


def no_tray_advice(environ: Mapping[str, str] = os.environ) -> str:
    """How to get a tray on this desktop, as one sentence (empty when there is nothing specific to say)."""
    desktop = environ.get("XDG_CURRENT_DESKTOP", "").lower()
    if "gnome" in desktop or "ubuntu" in desktop:
        return (
            "GNOME shows tray icons with the AppIndicator/KStatusNotifierItem extension "
            "(Debian: apt install gnome-shell-extension-appindicator, then log in again)."
        )
    return ""


def no_tray_message(environ: Mapping[str, str] = os.environ) -> str:
    advice = no_tray_advice(environ)
    text = (
        "This desktop has no system tray: pydt-tray keeps running and still notifies you of your turns. "
        "Closing this window keeps it running; start pydt-tray again or click a notification to bring it back."
    )
    return f"{text} {advice}" if advice else text


def announce_missing_tray(
    tray_available: bool,
    *,
    show_window: Callable[[], None],
    show_notice: Callable[[str], None],
    environ: Mapping[str, str] = os.environ,
    stream: TextIO | None = None,
) -> bool:
    """Without a tray on a real desktop: log and print the reason once, put it on the window and show the
    window. Returns whether it did (nothing happens when the tray is there, or with a headless Qt platform
    such as ``offscreen``, where nobody could see a window)."""
    if tray_available:
        return False
    if any(name in HEADLESS_PLATFORMS for name in requested_platforms(environ)):
        log.info("No system tray on the %s platform (no desktop to show anything on)", environ["QT_QPA_PLATFORM"])
        return False
    message = no_tray_message(environ)
    log.warning("%s", message)
    out = stream if stream is not None else sys.stderr
    if out is not None:  # a windowed program on Windows has no stderr
        with contextlib.suppress(OSError, ValueError):
            print(f"pydt-tray: {message}", file=out, flush=True)
    show_notice(message)
    show_window()
    return True


def window_notice(window: Callable[[], PanelHost]) -> Callable[[str], None]:
    """A ``show_notice`` that puts the text above the game list of the window ``window()`` returns (a
    ``GamesWindow``, built only when a notice is shown: a hidden app on a headless platform builds none)."""

    def show(text: str) -> None:
        from PySide6.QtWidgets import QLabel

        label = QLabel(text)
        label.setObjectName("noTrayNotice")
        label.setWordWrap(True)
        label.setStyleSheet("QLabel#noTrayNotice { background: #fff4d6; color: #4a3a00; padding: 8px; }")
        window().set_panel(label)

    return show
