"""Desktop notifications: the freedesktop notification server, the tray balloon, or just the log.

``pick_notifier`` chooses the best backend available when it is called and never raises. Every backend's
``notify`` returns at once: the freedesktop backend hands the call to a worker thread that owns its own
session-bus connection (``NotifyBusWorker`` in ``pydt_tray.platform.freedesktop``, which also says why
jeepney and not QtDBus), so a slow or missing server never stalls the GUI.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QSystemTrayIcon

from pydt_tray import APP_NAME
from pydt_tray.platform.freedesktop import BUS_NAME, Notification, NotifyBusWorker, service_available
from pydt_tray.platform.qt_light import QUEUED_CONNECTION

log = logging.getLogger(__name__)

DEFAULT_ACTION_LABEL = "Show games"
TRAY_MESSAGE_MSECS = 15_000


class Notifier(QObject):
    """Shows a notification; ``activated(key)`` fires on the main thread when the user clicks one."""

    activated = Signal(str)
    name = "none"

    def notify(
        self,
        title: str,
        body: str,
        *,
        key: str = "games",
        replace_group: str | None = None,
        actions: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Show ``title``/``body``; a newer notification of the same ``replace_group`` replaces the older one.

        ``actions`` are extra buttons as ``(action key, label)``: choosing one emits ``activated(action key)``
        instead of ``activated(key)``. Backends that cannot show buttons ignore them (a click still gives ``key``).
        """
        self._show(Notification(title, body, key, replace_group, tuple(actions)))

    def _show(self, note: Notification) -> None:
        """What a backend does for ``notify``; must return at once and never raise."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the backend holds; later ``notify`` calls only log."""


class LogNotifier(Notifier):
    """The fallback when nothing can show a notification: it only logs."""

    name = "log"

    def _show(self, note: Notification) -> None:
        log.info("Notification (not shown, no notification service): %s: %s", note.title, note.body)


class TrayNotifier(Notifier):
    """``QSystemTrayIcon.showMessage``; a click on the message activates the key of the last one."""

    name = "tray"

    def __init__(self, tray: QSystemTrayIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tray: QSystemTrayIcon | None = tray
        self._last_key = "games"
        tray.messageClicked.connect(self._on_message_clicked)

    def _show(self, note: Notification) -> None:
        self._last_key = note.key
        if self._tray is None:
            log.info("Notification after close: %s: %s", note.title, note.body)
            return
        try:
            self._tray.showMessage(note.title, note.body, QSystemTrayIcon.MessageIcon.Information, TRAY_MESSAGE_MSECS)
        except Exception:
            log.warning("The tray could not show a notification", exc_info=True)

    @Slot()
    def _on_message_clicked(self) -> None:
        self.activated.emit(self._last_key)

    def close(self) -> None:
        if self._tray is not None:
            with contextlib.suppress(RuntimeError, TypeError):  # the tray may already be gone
                self._tray.messageClicked.disconnect(self._on_message_clicked)
            self._tray = None


class FreedesktopNotifier(Notifier):
    """``org.freedesktop.Notifications`` on the session bus, driven from a worker thread.

    When a call fails (server gone, timeout), the notification goes to ``fallback`` if there is one.
    """

    name = "freedesktop"
    _bus_activated = Signal(str)  # emitted by the worker thread, delivered queued on our thread
    _bus_failed = Signal(str, str, str)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        app_name: str = APP_NAME,
        icon: str | None = None,
        action_label: str = DEFAULT_ACTION_LABEL,
        call_timeout: float = 5.0,
        fallback: Notifier | None = None,
    ) -> None:
        super().__init__(parent)
        self._fallback = fallback
        if fallback is not None:
            fallback.setParent(self)
            fallback.activated.connect(self.activated)
        self._bus_activated.connect(self.activated, QUEUED_CONNECTION)
        self._bus_failed.connect(self._on_bus_failed, QUEUED_CONNECTION)
        self._worker: NotifyBusWorker | None = NotifyBusWorker(
            app_name=app_name,
            icon=icon if icon is not None else default_icon(),
            action_label=action_label,
            call_timeout=call_timeout,
            on_activated=self._bus_activated.emit,
            on_failed=lambda request: self._bus_failed.emit(request.title, request.body, request.key),
        )

    @staticmethod
    def available(*, timeout: float = 1.0) -> bool:
        """Is ``org.freedesktop.Notifications`` owned or activatable on the session bus? Never raises."""
        return service_available(timeout)

    def _show(self, note: Notification) -> None:
        if self._worker is None:
            log.info("Notification after close: %s: %s", note.title, note.body)
            return
        try:
            self._worker.submit(replace(note, actions=tuple((str(k), str(v)) for k, v in note.actions)))
        except Exception:
            log.warning("Could not hand a notification to the D-Bus worker", exc_info=True)
            self._on_bus_failed(note.title, note.body, note.key)

    @Slot(str, str, str)
    def _on_bus_failed(self, title: str, body: str, key: str) -> None:
        if self._fallback is not None:
            self._fallback.notify(title, body, key=key)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        if self._fallback is not None:
            self._fallback.close()


def default_icon() -> str:
    """The app icon as a file path when the packaged icon exists, else the icon theme name."""
    try:
        from importlib.resources import files

        icon = files("pydt_tray.resources").joinpath("pydt-tray.svg")
        if icon.is_file():
            return str(icon)
    except Exception:
        pass
    return APP_NAME


def _tray_or_log(tray: QSystemTrayIcon | None, parent: QObject | None) -> Notifier:
    if tray is not None and QSystemTrayIcon.isSystemTrayAvailable():
        return TrayNotifier(tray, parent)
    return LogNotifier(parent)


def pick_notifier(
    tray: QSystemTrayIcon | None, parent: QObject | None = None, *, platform: str = sys.platform
) -> Notifier:
    """The best notifier available now: freedesktop (Linux), else the tray balloon, else the log."""
    notifier: Notifier
    try:
        if platform.startswith("linux") and FreedesktopNotifier.available():
            notifier = FreedesktopNotifier(parent, fallback=_tray_or_log(tray, None))
        else:
            notifier = _tray_or_log(tray, parent)
    except Exception:
        log.warning("Could not set up notifications; they will only be logged", exc_info=True)
        notifier = LogNotifier(parent)
    log.info("Notifications go through: %s", notifier.name)
    return notifier


def set_windows_app_user_model_id(app_id: str = "pydt-tray.pydt-tray") -> None:
    """On Windows, give the process its own AppUserModelID (needed before the first toast). Never raises."""
    if sys.platform != "win32":
        return
    try:
        result = ctypes.windll.shell32.SetCurrentProcessExplicitAppUserModelID(ctypes.c_wchar_p(app_id))
        if result != 0:
            log.warning("SetCurrentProcessExplicitAppUserModelID failed (HRESULT %#x)", result & 0xFFFFFFFF)
    except Exception:
        log.warning("Could not set the Windows AppUserModelID", exc_info=True)


__all__ = [
    "BUS_NAME",
    "DEFAULT_ACTION_LABEL",
    "FreedesktopNotifier",
    "LogNotifier",
    "Notification",
    "Notifier",
    "TrayNotifier",
    "default_icon",
    "pick_notifier",
    "set_windows_app_user_model_id",
]
