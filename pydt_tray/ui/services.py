"""Settings-driven desktop services of the running app: the local turn API and start at login."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pydt_tray.core.diff import Snapshot
from pydt_tray.core.settings import Settings
from pydt_tray.platform.autostart import (
    Autostart,
    AutostartError,
    SandboxAutostart,
    apply_autostart,
    pick_autostart,
)

if TYPE_CHECKING:  # the server is imported when it is turned on: an app without it stays light
    from pydt_tray.core.turn_api import TurnApiServer

log = logging.getLogger(__name__)


class TurnApiService:
    """Runs the ``/turns`` server while ``turn_api_enabled`` is on, on ``turn_api_port``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server: TurnApiServer | None = None
        self.problem = ""
        self._snapshot: Snapshot | None = None
        self._unread_smack = False

    def apply(self) -> None:
        """Start, stop or move the server to match the settings. A port in use is reported, not raised."""
        current = self.settings.snapshot()
        enabled, port = current.turn_api_enabled, current.turn_api_port
        if self.server is not None and (not enabled or self.server.port != port):
            self.server.stop()
            self.server = None
        self.problem = ""
        if enabled and self.server is None:
            from pydt_tray.core.turn_api import TurnApiError, TurnApiServer

            server = TurnApiServer(port)
            try:
                server.start()
            except TurnApiError as error:
                self.problem = error.user_message
                log.error("Turn API not started: %s", error.user_message)
                return
            server.update(self._snapshot, self._unread_smack)
            self.server = server
            log.info("Turn API listening on http://127.0.0.1:%d/turns", server.port)

    def update(self, snapshot: Snapshot | None) -> None:
        self._snapshot = snapshot
        if self.server is not None:
            self.server.update(snapshot, self._unread_smack)

    def set_unread_smack(self, unread: bool) -> None:
        """Whether any game has unread smack talk (``hasUnreadSmack``)."""
        self._unread_smack = unread
        self.update(self._snapshot)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


DEMO_AUTOSTART_REASON = "Start at login is off in the demo: it would make your real pydt-tray start at every login."


class AutostartService:
    """Keeps the start-at-login entry in step with the ``start_at_login`` setting."""

    def __init__(self, settings: Settings, autostart: Autostart | None = None) -> None:
        self.settings = settings
        self.autostart = autostart or pick_autostart()
        self.problem = ""

    def sandbox(self, reason: str = DEMO_AUTOSTART_REASON) -> None:
        """From now on never read or change the user's real login items (the demo); ``reason`` says why."""
        self.autostart = SandboxAutostart(reason)
        self.problem = ""

    @property
    def available(self) -> bool:
        return not isinstance(self.autostart, SandboxAutostart)

    def menu_text(self) -> str:
        """The tray menu item: a check mark when on; in a sandboxed run, why it is off."""
        if not self.available:
            return "Start at login (off in the demo)"
        return ("✓ " if self.settings.snapshot().start_at_login else "") + "Start at login"

    def apply(self) -> None:
        self.problem = ""
        if isinstance(self.autostart, SandboxAutostart):
            if self.settings.snapshot().start_at_login:
                self.problem = self.autostart.reason
            return
        try:
            apply_autostart(self.autostart, self.settings.snapshot().start_at_login)
        except AutostartError as error:
            self.problem = error.user_message
            log.error("Start at login: %s", error.user_message)

    def in_step(self) -> bool:
        """Whether the entry on disk (or in the registry) matches the setting."""
        try:
            return self.autostart.is_enabled() == self.settings.snapshot().start_at_login
        except AutostartError:
            return False
