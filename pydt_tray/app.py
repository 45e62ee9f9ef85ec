"""Composition root: builds the objects, wires their signals and owns the Qt event loop."""

from __future__ import annotations

import logging
import webbrowser

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from pydt_tray.core.api import AuthError
from pydt_tray.core.context import AppContext
from pydt_tray.core.credentials import CredentialError
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.logs import register_secret
from pydt_tray.core.models import WEBSITE_URL
from pydt_tray.core.policy import Notification, NotificationPolicy
from pydt_tray.core.relay_setup import relay_store
from pydt_tray.core.sync import GameFetcher, SyncEngine, SyncResult
from pydt_tray.platform.notifications import pick_notifier, set_windows_app_user_model_id
from pydt_tray.platform.termination import TerminationSignals
from pydt_tray.platform.wake import WakeMonitor
from pydt_tray.push.connection import PushConfig, PushConnection, make_client_id
from pydt_tray.ui.account import AccountFlow
from pydt_tray.ui.bridge import BackgroundWorker, MainThreadInvoker, PushBridge
from pydt_tray.ui.games_window import GamesWindow
from pydt_tray.ui.icons import TrayStatus, app_icon
from pydt_tray.ui.play_turn import install_play_turn
from pydt_tray.ui.relay_push import RelayOutcome, RelayPush
from pydt_tray.ui.relay_section import PushView, RelaySection
from pydt_tray.ui.services import AutostartService, TurnApiService
from pydt_tray.ui.settings_window import SettingsWindow
from pydt_tray.ui.tray import Tray, TrayModel

log = logging.getLogger(__name__)

POLL_WHILE_PUSH_DOWN_SECONDS = 90
RETRY_AFTER_ERROR_SECONDS = (15, 30, 60, 120, 300)
REMINDER_CHECK_MS = 60_000


class PushStatus:
    NONE = "polling: no push credentials"
    CONNECTING = "connecting…"
    LIVE = "live"
    DOWN = "offline, retrying"


PUSH_OFF_HINT = "turn it on in Settings → Real-time push"


class TrayApp(QObject):
    """The running application. ``start()`` signs in with the stored token, if there is one."""

    notified = Signal(object)  # a Notification, after it was handed to the notifier
    synced = Signal(object)  # a SyncResult, after the tray and window were updated

    def __init__(
        self,
        qapp: QApplication,
        ctx: AppContext,
        *,
        show_window: bool,
        title_suffix: str = "",
        wake_sources: list | None = None,
    ) -> None:
        super().__init__()
        self.qapp = qapp
        self.ctx = ctx
        self.title_suffix = title_suffix
        self.show_window_at_start = show_window
        self.invoker = MainThreadInvoker(self)
        self.worker = BackgroundWorker()
        self.token_store = ctx.token_store()
        self.token: str | None = None
        self.engine: SyncEngine | None = None
        self.fetcher: GameFetcher | None = None
        self.push: PushConnection | None = None
        self.push_status = PushStatus.NONE
        self.names: dict[str, str] = {}
        self.last_error: str = ""
        self.auth_failed = False
        self.push_messages = 0
        self.poll_while_push_down = POLL_WHILE_PUSH_DOWN_SECONDS
        self._error_streak = 0
        self._quitting = False

        set_windows_app_user_model_id()
        qapp.setQuitOnLastWindowClosed(False)
        qapp.setWindowIcon(app_icon())

        self.tray = Tray(self)
        self._window: GamesWindow | None = None  # built on first use: a hidden tray app never pays for it
        self._settings_window: SettingsWindow | None = None
        self.account = AccountFlow(self)
        self.user_name = ""
        self.turn_api = TurnApiService(ctx.settings)
        self.autostart = AutostartService(ctx.settings)
        self.notifier = pick_notifier(self.tray.icon, self)
        log.info("Notifications through %s", self.notifier.name)
        self.notifier.activated.connect(self._on_notification_clicked)

        self.policy = NotificationPolicy(
            ctx.state,
            enabled=lambda: bool(ctx.settings.get("notifications_enabled")),
            reminder_minutes=lambda: int(ctx.settings.get("reminder_minutes")),
        )

        self.bridge = PushBridge(self)
        self.bridge.message.connect(self._on_push_message)
        self.bridge.connected.connect(self._on_push_connected)
        self.bridge.disconnected.connect(self._on_push_disconnected)
        self.relay = RelayPush(
            relay_store(ctx.paths.config_dir), submit=self.worker.submit, call_soon=self.invoker.call_soon, parent=self
        )
        self.relay.message.connect(self._on_relay_message)
        self.relay.connected.connect(self._on_relay_connected)
        self.relay.disconnected.connect(self._on_relay_disconnected)
        self.relay.enable_finished.connect(self._on_relay_enabled)
        self.relay.disable_finished.connect(self._on_relay_disabled)
        self._relay_checked_for: str | None = None
        self._relay_section: RelaySection | None = None

        self.backstop = QTimer(self)
        self.backstop.setSingleShot(True)
        self.backstop.timeout.connect(lambda: self.request("timer"))
        self.reminder_timer = QTimer(self)
        self.reminder_timer.setInterval(REMINDER_CHECK_MS)
        self.reminder_timer.timeout.connect(self._check_reminders)

        self.wake = WakeMonitor(sources=wake_sources, parent=self)
        self.wake.woke.connect(self._on_wake)

        self.tray.show_window.connect(self.show_games)
        self.tray.refresh_requested.connect(lambda: self.request("user refresh", full=True))
        self.tray.open_game.connect(self.open_game_page)
        self.tray.sign_in_requested.connect(self.show_sign_in)
        self.tray.action_requested.connect(self._on_tray_action)
        self.tray.sign_out_requested.connect(self.sign_out)
        self.tray.quit_requested.connect(self.quit)
        ctx.settings.add_listener(self._on_setting_changed)
        self.turn_player = install_play_turn(self)
        self.termination = TerminationSignals(self)
        self.termination.received.connect(self.quit)

    # ----- life cycle -------------------------------------------------------------------------------

    def window_title(self, what: str) -> str:
        return f"pydt-tray — {what}{self.title_suffix}"

    def start(self, token: str | None = None) -> None:
        """Sign in with ``token``, or with the stored one when none is given."""
        self.wake.start()
        self.reminder_timer.start()
        self.turn_api.apply()
        if not self.autostart.in_step():
            self.autostart.apply()
        if token is None:
            try:
                token = self.token_store.load()
            except CredentialError as error:
                self.last_error = error.user_message
                log.error("%s", error.user_message)
        if token:
            self.sign_in(token)
        self.render()
        if not token and (self.show_window_at_start or not self.tray.available):
            self.show_sign_in()
        elif self.show_window_at_start:
            self.show_games()

    def sign_in(self, token: str) -> None:
        register_secret(token)
        self.token = token
        self.auth_failed = False
        self.last_error = ""
        client = self.ctx.make_client(token)
        self.fetcher = GameFetcher(client)
        self.engine = SyncEngine(
            self.fetcher.fetch,
            run_in_background=self.worker.submit,
            call_soon=self.invoker.call_soon,
            on_result=self._on_result,
            call_later=lambda seconds, function: QTimer.singleShot(int(seconds * 1000) + 1, self, function),
        )
        self.request("start", full=True)

    def switch_account(self, token: str, name: str) -> None:
        """A checked and stored token replaces the current session."""
        self._drop_session()
        self.user_name = name
        self.sign_in(token)

    def show_sign_in(self) -> None:
        self.account.show()

    def sign_out(self) -> None:
        token = self.token
        try:
            self.token_store.delete()
        except CredentialError as error:
            log.error("%s", error.user_message)
        self._drop_session()  # stops the relay stream first, so nothing can restart it once we are signed out
        if token:  # the relay goes off with the account: the previous webhook comes back (needs the token)
            self.relay.disable(lambda: self.ctx.make_client(token), after=self._relay_off_at_sign_out)
        self.last_error = ""
        self.render()

    def _relay_off_at_sign_out(self, outcome: RelayOutcome) -> None:
        if outcome.ok:
            log.info("Signed out: %s", outcome.text)
            return
        log.error("The relay could not be turned off at sign-out: %s", outcome.text)
        self.notifier.notify(
            "pydt-tray: the relay is still on",
            f"{outcome.text} Sign in again and turn it off in Settings → Real-time push.",
            key="sign-in",
        )

    def _drop_session(self) -> None:
        self.stop_push()
        self.relay.stop()
        self._relay_checked_for = None
        if self.engine is not None:
            self.engine.stop()
        self.engine = None
        self.fetcher = None
        self.token = None
        self.backstop.stop()

    def quit(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        log.info("Quitting")
        self.reminder_timer.stop()
        self.backstop.stop()
        self.wake.stop()
        if self.engine is not None:
            self.engine.stop()
        self.stop_push()
        self.relay.stop()
        self.turn_api.stop()
        self.turn_player.cancel()
        self.worker.shutdown()
        self._save_state()
        self.notifier.close()
        self.tray.hide()
        self.account.close()
        for window in (self._window, self._settings_window):
            if window is not None:
                window.close()
        self.qapp.quit()

    # ----- sync -------------------------------------------------------------------------------------

    def request(self, reason: str, *, full: bool = False) -> None:
        if self.engine is not None and not self._quitting:
            self.engine.request(reason, full=full)

    def _on_result(self, result: SyncResult) -> None:
        outcome = result.outcome
        if outcome.names:
            self.names.update(outcome.names)
        if isinstance(outcome.error, AuthError):
            self.on_auth_failed()
            return
        if outcome.error is not None:
            self.last_error = outcome.error.user_message
            self._error_streak += 1
            delay = RETRY_AFTER_ERROR_SECONDS[min(self._error_streak, len(RETRY_AFTER_ERROR_SECONDS)) - 1]
            log.warning("Could not load games (%s); next try in %d s", self.last_error, delay)
            self._arm_backstop(delay)
        else:
            self.last_error = ""
            self._error_streak = 0
            self._arm_backstop()
            if outcome.user is not None:
                self.user_name = outcome.user.display_name
                if self.push is None:
                    self.start_push(outcome.user.steam_id)
                if self._relay_checked_for != outcome.user.steam_id:
                    self._relay_checked_for = outcome.user.steam_id
                    self.relay.start_for(outcome.user.steam_id)
            if result.snapshot is not None:
                note = self.policy.on_events(result.events, result.snapshot, self.names.get)
                if note is not None:
                    self._show(note)
            self._remember_poll_state()
        self.turn_api.update(result.snapshot)
        self.render()
        self.synced.emit(result)

    def _remember_poll_state(self) -> None:
        if self.fetcher is None:
            return
        client = self.fetcher.client
        self.ctx.state.poll_url = client.poll_url
        self.ctx.state.poll_etag = client.poll_etag
        self._save_state()

    def _save_state(self) -> None:
        try:
            self.ctx.state.save()
        except OSError as error:
            log.error("Could not save the state file (%s); notified turns may be shown again after a restart", error)

    def _show(self, note: Notification) -> None:
        self.notifier.notify(note.title, note.body, key="games", replace_group="reminder" if note.reminder else None)
        self.notified.emit(note)

    def _check_reminders(self) -> None:
        if self.engine is None or self.engine.snapshot is None:
            return
        note = self.policy.reminder(self.engine.snapshot, self.names.get)
        if note is not None:
            self._show(note)
            self._save_state()

    def on_auth_failed(self) -> None:
        log.error("The PYDT token was refused (401): it was probably regenerated on the website")
        self._drop_session()
        self.auth_failed = True
        self.last_error = "The token no longer works: sign in again with the one from your PYDT profile page."
        self.turn_api.update(None)
        self.notifier.notify("pydt-tray: sign in again", self.last_error, key="sign-in")
        self.render()
        self.show_sign_in()

    def _arm_backstop(self, seconds: int | None = None) -> None:
        if seconds is None:
            seconds = int(self.ctx.settings.get("poll_interval_seconds"))
            if not self.push_live:
                seconds = min(seconds, self.poll_while_push_down)
        self.backstop.start(seconds * 1000)

    # ----- push -------------------------------------------------------------------------------------

    def start_push(self, steam_id: str) -> None:
        endpoints = self.ctx.endpoints
        if not endpoints.has_push_credentials:
            self.push_status = PushStatus.NONE
            log.info("No IoT credentials configured: running on polling only")
            return
        try:
            config = PushConfig(
                endpoint=endpoints.iot_endpoint,
                port=endpoints.iot_port,
                region=endpoints.iot_region,
                ca_file=endpoints.iot_ca_file,
                access_key_id=endpoints.iot_access_key_id or "",
                secret_access_key=endpoints.iot_secret_access_key or "",
                keepalive_seconds=int(self.ctx.settings.get("iot_keepalive_seconds")),
                client_id=make_client_id(self.ctx.state.install_id),
                topic=endpoints.topic_for(steam_id),
                protocol=str(self.ctx.settings.get("mqtt_protocol")),
            )
            push = PushConnection(config, self.bridge)
            push.start()
        except ValueError as error:  # PushConfigError: a bad setting, a CA file that does not exist, ...
            self.push_status = f"push off: {error}"
            log.error("Push connection not started: %s", error)
            return
        self.push = push
        self.push_status = PushStatus.CONNECTING

    def stop_push(self) -> None:
        if self.push is not None:
            if not self.push.stop(timeout=5.0):
                log.warning("The push connection did not stop within 5 s")
            self.push = None
        self.push_status = PushStatus.NONE

    def restart_push(self) -> None:
        if self.fetcher is None or self.fetcher.user is None:
            return
        self.stop_push()
        self.start_push(self.fetcher.user.steam_id)
        self.render()

    def _on_push_message(self, _topic: str) -> None:
        self.push_messages += 1
        self.request("push")

    def _on_push_connected(self, session_present: bool) -> None:
        if self.push is None:
            return
        self.push_status = PushStatus.LIVE
        log.info("Push connected (session present: %s): catching up", session_present)
        self.request("connected")
        self.render()

    def _on_push_disconnected(self, reason: str) -> None:
        if self.push is None:
            return
        self.push_status = PushStatus.DOWN
        log.info("Push connection lost: %s", reason)
        self._arm_backstop()
        self.render()

    # ----- relay push ------------------------------------------------------------------------------

    def _on_relay_message(self) -> None:
        self.push_messages += 1
        self.request("relay push")

    def _on_relay_connected(self) -> None:
        log.info("Relay push connected: catching up")
        self.request("relay connected")
        self._arm_backstop()
        self.render()

    def _on_relay_disconnected(self, reason: str) -> None:
        log.info("Relay push lost: %s", reason)
        self._arm_backstop()
        self.render()

    def enable_relay(self, server: str, token: str, replace: bool) -> None:
        """The settings window's Enable: set the relay up for the signed-in account (off the UI thread)."""
        session_token = self.token
        if session_token is None:
            self._on_relay_enabled(RelayOutcome(False, "Sign in first: the relay is set up for your PYDT account."))
            return
        self.relay.enable(lambda: self.ctx.make_client(session_token), server, token, replace)

    def disable_relay(self) -> None:
        session_token = self.token
        if session_token is None:
            self._on_relay_disabled(RelayOutcome(False, "Sign in first: turning the relay off needs your account."))
            return
        self.relay.disable(lambda: self.ctx.make_client(session_token))

    def _on_relay_enabled(self, outcome: RelayOutcome) -> None:
        section = self._relay_section
        if section is not None:
            if outcome.ok:
                section.show_done(outcome.text)
            elif outcome.foreign_host:
                section.ask_replace(outcome.foreign_host)
            else:
                section.show_failed(outcome.text)
        self.render()

    def _on_relay_disabled(self, outcome: RelayOutcome) -> None:
        section = self._relay_section
        if section is not None:
            (section.show_done if outcome.ok else section.show_failed)(outcome.text)
        if self.engine is not None:
            self._arm_backstop()
        self.render()

    # ----- both paths -------------------------------------------------------------------------------

    @property
    def push_live(self) -> bool:
        """Any push path is live (IoT or the relay)."""
        return self.push_status == PushStatus.LIVE or self.relay.live

    def push_headline(self) -> str:
        """How turns reach us right now, in the words of the tooltip and the window header."""
        paths = (("AWS IoT", self.push_status == PushStatus.LIVE), ("relay", self.relay.live))
        live = [name for name, on in paths if on]
        if live:
            return f"Live ({' + '.join(live)})"
        every = f"Checking every {self.poll_while_push_down} s"
        if self.push is not None or self.relay.on:
            state = "connecting…" if self.push_status == PushStatus.CONNECTING else "is down, retrying"
            return f"{every}: live push {state}"
        return f"{every}: live push is off ({PUSH_OFF_HINT})"

    def _on_wake(self, reason: str) -> None:
        log.info("Woke up (%s): reconnecting and catching up", reason)
        if self.push is not None:
            self.push.reconnect_now()
        self.relay.reconnect_now()
        self.request(f"wake: {reason}")

    def _on_setting_changed(self, key: str, _value: object) -> None:
        if key in {"iot_keepalive_seconds", "mqtt_protocol", "iot_endpoint", "iot_port", "iot_region", "iot_ca_file"}:
            try:
                self.ctx.refresh_endpoints()
            except ValueError as error:
                log.error("Connection settings not applied: %s", error)
                return
            self.restart_push()
        elif key == "poll_interval_seconds" and self.engine is not None:
            self._arm_backstop()
        elif key in {"turn_api_enabled", "turn_api_port"}:
            self.turn_api.apply()
            self.render()
        elif key == "start_at_login":
            self.autostart.apply()
            self.render()

    # ----- presentation -----------------------------------------------------------------------------

    @property
    def window(self) -> GamesWindow:
        if self._window is None:
            self._window = GamesWindow(self.window_title("games"))
            self._window.refresh_requested.connect(lambda: self.request("user refresh", full=True))
            self._window.open_game.connect(self.open_game_page)
            self.turn_player.attach_window(self._window)
            self._window.render(self.snapshot(), self.status_text(), self.names.get)
        return self._window

    def snapshot(self) -> Snapshot | None:
        return self.engine.snapshot if self.engine is not None else None

    def status_text(self) -> str:
        if self.token is None:
            return "signed out — " + self.last_error if self.last_error else "signed out"
        snapshot = self.snapshot()
        if snapshot is None:
            head = "loading games…"
        else:
            count = len(snapshot.my_turns())
            head = f"{count} turn{'s' if count != 1 else ''} waiting" if count else "no turns waiting"
        text = f"{head} · {self.push_headline()}"
        push_problem = self.push_status if self.push_status.startswith("push off") else ""
        relay_problem = self.relay.path.problem
        for problem in (self.last_error, push_problem, relay_problem, self.turn_api.problem, self.autostart.problem):
            if problem:
                text += f" · {problem}"
        return text

    def render(self) -> None:
        snapshot = self.snapshot()
        my_turns = tuple(snapshot.my_turns()) if snapshot else ()
        if self.token is None:
            status = TrayStatus.ERROR if self.auth_failed else TrayStatus.SIGNED_OUT
        elif self.last_error:
            status = TrayStatus.ERROR
        elif my_turns:
            status = TrayStatus.YOUR_TURN
        elif not self.push_live:
            status = TrayStatus.POLLING
        else:
            status = TrayStatus.IDLE
        text = "pydt-tray" + self.title_suffix + ": " + self.status_text()
        self.tray.render(
            TrayModel(
                status=status,
                tooltip=text,
                my_turns=my_turns,
                others=tuple(snapshot.others()) if snapshot else (),
                signed_in=self.token is not None,
                connection=self.push_headline(),
                extra_actions=(
                    ("settings", "Settings…"),
                    ("autostart", ("✓ " if self.ctx.settings.get("start_at_login") else "") + "Start at login"),
                ),
            )
        )
        if self._window is not None:
            self._window.render(snapshot, self.status_text(), self.names.get)
        if self._relay_section is not None:
            self._relay_section.show_state(PushView(self.push_headline(), self.relay.on, self.relay.detail))

    def show_games(self) -> None:
        log.info("Showing the game list")
        self.window.bring_to_front()

    def open_game_page(self, game_id: str) -> None:
        webbrowser.open(f"{WEBSITE_URL}/game/{game_id}")

    def _on_notification_clicked(self, key: str) -> None:
        if key == "sign-in":
            self.show_sign_in()
        else:
            self.show_games()

    def _on_tray_action(self, key: str) -> None:
        if key == "settings":
            self.show_settings()
        elif key == "autostart":
            self.ctx.settings.set("start_at_login", not self.ctx.settings.get("start_at_login"))
            self._save_settings()

    def _save_settings(self) -> None:
        try:
            self.ctx.settings.save()
        except OSError as error:
            log.error("Could not save the settings file (%s); the change lasts until pydt-tray quits", error)

    def show_settings(self) -> None:
        if self._settings_window is None:
            self._settings_window = SettingsWindow(self.ctx.settings)
            self._settings_window.setWindowTitle(self.window_title("settings"))
            section = RelaySection()
            section.enable_requested.connect(self.enable_relay)
            section.disable_requested.connect(self.disable_relay)
            self._settings_window.tabs.addTab(section, "Real-time push")
            self._relay_section = section
            section.show_state(PushView(self.push_headline(), self.relay.on, self.relay.detail))
        self._settings_window.show()
        self._settings_window.raise_()
        self._settings_window.activateWindow()
