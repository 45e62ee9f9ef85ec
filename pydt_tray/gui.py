"""The launcher: starts the Qt application around :class:`pydt_tray.app.TrayApp`.

Part of the composition root with :mod:`pydt_tray.app`: it creates the ``QApplication``, keeps to one
instance, builds the app and runs the event loop. Callers of :func:`run_gui` (the command line, the demo)
see the running app only as a :class:`StartedApp`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

from pydt_tray import APP_NAME, __version__
from pydt_tray.core.context import AppContext

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

    from pydt_tray.platform.notifications import Notifier
    from pydt_tray.ui.play_turn import ExtraAction

log = logging.getLogger(__name__)


class StartedApp(Protocol):
    """What ``on_started`` may use of the running app: its turn notifications and Quit."""

    @property
    def notified(self) -> SignalInstance: ...  # a Notification, after it was handed to the notifier

    @property
    def notifier(self) -> Notifier: ...

    def quit(self) -> None: ...


def run_gui(
    ctx: AppContext,
    *,
    hidden: bool,
    title_suffix: str = "",
    token: str | None = None,
    waiting_actions: Mapping[str, ExtraAction] | None = None,
    save_grace_seconds: float | None = None,
    on_started: Callable[[StartedApp], None] | None = None,
    login_items_off: str | None = None,
) -> int:
    """Run the tray app until it quits. ``token`` bypasses the keyring (the demo's token is never stored);
    ``waiting_actions`` and ``save_grace_seconds`` let the demo stand in for saving in the game;
    ``on_started(app)`` runs just before the event loop; ``login_items_off`` (the reason) keeps the run away
    from the user's real start-at-login entry."""
    from pydt_tray.platform.display import display_problem

    if (problem := display_problem()) is not None:  # checked first: Qt would abort the process (exit 134)
        log.error("%s", problem.message())
        print(f"pydt-tray: {problem.message()}", file=sys.stderr)
        return 1
    from pydt_tray.platform.memory import HeapTrimmer, no_source_reads

    with no_source_reads():  # start-up keeps no source lines in memory (see platform/memory.py)
        from PySide6.QtWidgets import QApplication

        from pydt_tray.app import TrayApp
        from pydt_tray.platform.single_instance import SingleInstance, instance_key
        from pydt_tray.platform.tray_presence import announce_missing_tray, window_notice

        existing = QApplication.instance()
        qapp = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
        qapp.setApplicationName(APP_NAME)
        qapp.setApplicationVersion(__version__)
        qapp.setDesktopFileName("pydt-tray")
        instance = SingleInstance(instance_key(ctx.paths.config_dir))
        if not instance.acquire():
            log.info("pydt-tray is already running: asked it to show its window")
            return 0
        app = TrayApp(qapp, ctx, show_window=not hidden, title_suffix=title_suffix, waiting_actions=waiting_actions)
        instance.show_requested.connect(app.show_games)
        if save_grace_seconds is not None:
            app.turn_player.grace_seconds = save_grace_seconds
        if login_items_off is not None:
            app.autostart.sandbox(login_items_off)  # before start(): the real entry is never read or changed
        app.termination.install()
        trimmer = HeapTrimmer(app)  # a hidden tray program keeps no start-up or load garbage
        app.synced.connect(lambda _result: trimmer.soon())
        app.start(token=token)
    if not app.tray.available:  # say so once, on the window, and keep running
        notice = window_notice(lambda: app.presenter.window)  # the window is built only if a notice is shown
        announce_missing_tray(False, show_window=app.show_games, show_notice=notice)
    if on_started is not None:
        on_started(app)
    log.info("pydt-tray %s running (%s)", __version__, "hidden" if hidden else "window shown")
    try:
        return qapp.exec()
    finally:
        app.termination.remove()
        instance.close()
        log.info("pydt-tray stopped")
