"""What a changed setting does to the running app, and the settings entries of the tray menu."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pydt_tray.core.context import AppContext
from pydt_tray.core.errors import PydtTrayError
from pydt_tray.desktop.settings_watch import SettingsFileWatcher
from pydt_tray.ui.services import AutostartService, TurnApiService

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from pydt_tray.core.forget import Forgetter
    from pydt_tray.ui.settings_window import SettingsWindow

log = logging.getLogger(__name__)

CONNECTION_KEYS = frozenset(
    {"iot_keepalive_seconds", "mqtt_protocol", "iot_endpoint", "iot_port", "iot_region", "iot_ca_file"}
)
TURN_API_KEYS = frozenset({"turn_api_enabled", "turn_api_port"})


def forget_in_window(window: QWidget, forgetter: Forgetter, quit_app: Callable[[], None]) -> None:
    """The settings window's "Forget me": the dialog's module is loaded only when asked for."""
    from pydt_tray.ui.forget_dialog import forget_from_settings

    forget_from_settings(window, forgetter, quit_app)


def forget_with(
    ctx: AppContext, autostart: AutostartService, quit_app: Callable[[], None]
) -> Callable[[QWidget], None]:
    """The settings window's "Forget me" for the app (with the login entry ``autostart`` uses when asked): the
    forget code is imported only then."""

    def forget(window: QWidget) -> None:
        from pydt_tray.core.forget import forgetter_for

        forget_in_window(window, forgetter_for(ctx, autostart.autostart), quit_app)

    return forget


class SettingsReactions:
    """Listens to the settings: connection settings restart push, the poll interval re-arms the backstop,
    the turn API and start-at-login follow their switches. Also owns the settings window and the watch on
    the settings file, so a change made by another process (``pydt-tray config set``) acts the same way."""

    def __init__(
        self,
        ctx: AppContext,
        turn_api: TurnApiService,
        autostart: AutostartService,
        *,
        restart_push: Callable[[], None],
        rearm_backstop: Callable[[], None],
        render: Callable[[], None],
        window_title: Callable[[str], str],
        forget: Callable[[SettingsWindow], None] | None = None,
        on_window_built: Sequence[Callable[[SettingsWindow], None]] = (),
    ) -> None:
        self._on_window_built = on_window_built
        self.ctx = ctx
        self.turn_api = turn_api
        self.autostart = autostart
        self._restart_push = restart_push
        self._rearm_backstop = rearm_backstop
        self._render = render
        self._window_title = window_title
        self._forget = forget  # the window's "Forget me on this computer…"
        self.settings_window: SettingsWindow | None = None
        ctx.settings.add_listener(self.on_setting_changed)
        self.file_watch = SettingsFileWatcher(ctx.settings)

    def on_setting_changed(self, key: str, _value: object) -> None:
        if key in CONNECTION_KEYS:
            try:
                self.ctx.refresh_endpoints()
            except PydtTrayError as error:  # EnvironmentConfigError: a bad address, port or stage
                log.error("Connection settings not applied: %s", error)
                return
            self._restart_push()
            self._render()
        elif key == "poll_interval_seconds":
            self._rearm_backstop()
        elif key in TURN_API_KEYS:
            self.turn_api.apply()
            self._render()
        elif key == "start_at_login":
            self.autostart.apply()
            self._render()

    def on_tray_action(self, key: str) -> None:
        if key == "settings":
            self.show_settings()
        elif key == "autostart":
            settings = self.ctx.settings
            settings.set("start_at_login", not settings.snapshot().start_at_login)
            self.save_settings()

    def save_settings(self) -> None:
        try:
            self.ctx.settings.save()
        except OSError as error:
            log.error("Could not save the settings file (%s); the change lasts until pydt-tray quits", error)

    def show_settings(self) -> None:
        if self.settings_window is None:
            from pydt_tray.ui.settings_window import SettingsWindow  # only when first opened

            self.settings_window = SettingsWindow(self.ctx.settings)
            self.settings_window.setWindowTitle(self._window_title("settings"))
            if self._forget is not None:
                window, forget = self.settings_window, self._forget
                window.forget_requested.connect(lambda: forget(window))
            for built in self._on_window_built:  # the sections other parts add (relay, accounts)
                built(self.settings_window)
        self.settings_window.show()
        self.settings_window.raise_()
        self.settings_window.activateWindow()

    def close(self) -> None:
        self.file_watch.close()
        if self.settings_window is not None:
            self.settings_window.close()
