"""Supervising push: start, stop and restart the IoT connection, follow its state, and keep the backstop
poll armed by the :class:`~pydt_tray.core.poll_schedule.PollSchedule`: every ``poll_interval_seconds`` (600 s or more)
while a push path is live; when the last live path is lost, at once, then every 15 s for two minutes,
then every 90 s. Every push path in the :class:`PushState` feeds the schedule through :meth:`_set`. The relay
stream (when turned on for the account) runs beside the IoT link; a message on either only asks for a load,
and the sync engine folds close requests into one fetch, so one turn gives one notification."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from pydt_tray.core.context import AppContext
from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.poll_schedule import PollSchedule
from pydt_tray.core.push_state import OFF, PathMode, PushPath, PushState
from pydt_tray.core.relay_store import relay_store
from pydt_tray.desktop.relay_push import RelayPush
from pydt_tray.push.config import PushConfigError
from pydt_tray.push.connection import PushConfig, PushConnection, make_client_id
from pydt_tray.ui.bridge import PushBridge

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 5.0


class Backstop(QObject):
    """The fallback poll: a single-shot timer that emits ``due`` when the games should be loaded again.

    Its usual interval comes from ``schedule``; the session arms it after every load.
    """

    due = Signal()

    def __init__(self, schedule: PollSchedule, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.schedule = schedule
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.due.emit)

    @property
    def poll_while_push_down(self) -> float:
        """The interval once an outage is past its first minutes (or while push has not connected yet)."""
        return self.schedule.down_interval

    @poll_while_push_down.setter
    def poll_while_push_down(self, seconds: float) -> None:
        self.schedule.down_interval = seconds

    def arm(self, seconds: float | None = None) -> None:
        """Fire in ``seconds``, or after the schedule's interval for the push state of now."""
        if seconds is None:
            seconds = self.schedule.next_delay()
        self.timer.start(round(seconds * 1000))

    def loaded(self, reasons: tuple[str, ...]) -> None:
        """A good load ended: it spends the schedule's budget (see :meth:`PollSchedule.loaded`), then arm."""
        self.schedule.loaded(reasons)
        self.arm()

    def retry_delay(self, backoff: float) -> float:
        """The wait after a failed load: see :meth:`PollSchedule.retry_delay`."""
        return self.schedule.retry_delay(backoff)

    def arm_sooner(self) -> None:
        """Like :meth:`arm`, but never later than already planned: repeated failed reconnect attempts must not
        keep pushing the next poll away."""
        milliseconds = round(self.schedule.next_delay() * 1000)
        if not self.timer.isActive() or self.timer.remainingTime() > milliseconds:
            self.timer.start(milliseconds)

    def usual_seconds(self) -> int:
        """The interval :meth:`arm` would use now, in whole seconds (for the status line)."""
        return round(self.schedule.next_delay())

    def stop(self) -> None:
        self.timer.stop()


def push_config(ctx: AppContext, steam_id: str) -> PushConfig | None:
    """The IoT connection's settings for ``steam_id``; None without credentials. Raises PushConfigError."""
    endpoints, current = ctx.endpoints, ctx.settings.snapshot()
    if not endpoints.has_push_credentials:
        return None
    try:
        topic = endpoints.topic_for(steam_id)
    except ValueError as error:
        raise PushConfigError(str(error)) from error
    return PushConfig(
        endpoint=endpoints.iot_endpoint,
        port=endpoints.iot_port,
        region=endpoints.iot_region,
        ca_file=endpoints.iot_ca_file,
        access_key_id=endpoints.iot_access_key_id or "",
        secret_access_key=endpoints.iot_secret_access_key or "",
        keepalive_seconds=current.iot_keepalive_seconds,
        client_id=make_client_id(ctx.state.install_id),
        topic=topic,
        protocol=current.mqtt_protocol,
    )


class PushSupervisor(QObject):
    """Runs the push connection of the signed-in user. ``request(reason)`` asks for a load."""

    state_changed = Signal(object)  # a PushState

    def __init__(
        self,
        ctx: AppContext,
        request: Callable[[str], None],
        backstop: Backstop,
        parent: QObject | None = None,
        *,
        run_in_background: Callable[[Callable[[], None]], None] | None = None,
        call_soon: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        """With ``run_in_background`` and ``call_soon`` (the relay's setup runs off the UI thread) the relay
        path runs too, for the account it was turned on for."""
        super().__init__(parent)
        self.ctx = ctx
        self.relay: RelayPush | None = None
        if run_in_background is not None and call_soon is not None:
            store = relay_store(ctx.paths.config_dir)
            self.relay = RelayPush(store, submit=run_in_background, call_soon=call_soon, parent=self)
        relay = self.relay
        self._request = request
        self.backstop = backstop
        self.state: PushState = OFF
        self.connection: PushConnection | None = None
        self.messages = 0  # push messages received since start
        self._steam_id: str | None = None
        self.bridge = PushBridge(self)
        self.bridge.message.connect(self._on_message)
        self.bridge.connected.connect(self._on_connected)
        self.bridge.disconnected.connect(self._on_disconnected)
        self._relay_checked_for: str | None = None
        if relay is not None:
            relay.message.connect(self._on_relay_message)
            relay.connected.connect(self._on_relay_connected)
            relay.disconnected.connect(self._on_relay_disconnected)

    def ensure_started(self, steam_id: str) -> None:
        """Start push for ``steam_id`` unless it runs already (called after each good load)."""
        if self.connection is None:
            self.start(steam_id)
        if self.relay is not None and self._relay_checked_for != steam_id:
            self._relay_checked_for = steam_id  # the keyring is read once per session, not after every load
            if self.relay.start_for(steam_id):
                self._set(self.state.with_path(PushPath.RELAY, PathMode.CONNECTING))
            elif self.relay.path.problem:
                self._set(self.state.with_path(PushPath.RELAY, PathMode.FAILED, self.relay.path.problem))

    def relay_started(self) -> None:
        """The relay was just turned on (settings window): it streams now."""
        live = self.relay is not None and self.relay.live
        self._set(self.state.with_path(PushPath.RELAY, PathMode.LIVE if live else PathMode.CONNECTING))

    def relay_stopped(self) -> None:
        """The relay was turned off."""
        self._set(self.state.without(PushPath.RELAY))
        if self._steam_id is not None:
            self.backstop.arm()

    def start(self, steam_id: str) -> None:
        self._steam_id = steam_id
        try:
            config = push_config(self.ctx, steam_id)
            if config is None:
                log.info("No IoT credentials configured: running on polling only")
                self._set(self.state.without(PushPath.IOT))
                return
            connection = PushConnection(config, self.bridge)
            connection.start()
        except PydtTrayError as error:  # PushConfigError: a bad setting, a CA file that does not exist, ...
            log.error("Push connection not started: %s", error)
            self._set(self.state.with_path(PushPath.IOT, PathMode.FAILED, str(error)))
            return
        self.connection = connection
        self._set(self.state.with_path(PushPath.IOT, PathMode.CONNECTING))

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop both paths (quitting, or the session ended), each within ``timeout`` seconds."""
        self._stop_iot(timeout)
        if self.relay is not None:
            self.relay.stop(timeout)
        self._set(self.state.without(PushPath.RELAY))

    def _stop_iot(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        if self.connection is not None:
            if not self.connection.stop(timeout=timeout):
                log.warning("The push connection did not stop within %g s", timeout)
            self.connection = None
        self._set(self.state.without(PushPath.IOT))

    def end(self) -> None:
        """The session ended: stop, and forget the user."""
        self.stop()
        self._steam_id = None
        self._relay_checked_for = None

    def restart(self) -> None:
        """Connection settings changed: start the IoT link again with them (nothing to do before the user is
        known). The relay has no such settings and keeps running."""
        if self._steam_id is None:
            return
        self._stop_iot()
        self.start(self._steam_id)

    def on_wake(self, reason: str) -> None:
        """A wake or a network change: the reconnect waits and the outage's fast polling start over."""
        log.info("Woke up (%s): reconnecting and catching up", reason)
        self.backstop.schedule.restart_window()
        if self.connection is not None:
            self.connection.reconnect_now()
        if self.relay is not None:
            self.relay.reconnect_now()
        self._request(f"wake: {reason}")

    def _on_relay_message(self) -> None:
        self.messages += 1
        self._request("relay push")

    def _on_relay_connected(self) -> None:
        log.info("Relay push connected: catching up")
        self._set(self.state.with_path(PushPath.RELAY, PathMode.LIVE))
        self._request("relay connected")

    def _on_relay_disconnected(self, reason: str) -> None:
        log.info("Relay push lost: %s", reason)
        if not self._set(self.state.with_path(PushPath.RELAY, PathMode.RECONNECTING)):
            self.backstop.arm_sooner()

    def _on_message(self, _topic: str) -> None:
        self.messages += 1
        log.debug("push message #%d", self.messages)
        self._request("push")

    def _on_connected(self, session_present: bool) -> None:
        if self.connection is None:
            return
        log.info("Push connected (session present: %s): catching up", session_present)
        self._set(self.state.with_path(PushPath.IOT, PathMode.LIVE))
        self._request("connected")

    def _on_disconnected(self, reason: str) -> None:
        if self.connection is None:
            return
        log.info("Push connection lost: %s", reason)
        if not self._set(self.state.with_path(PushPath.IOT, PathMode.RECONNECTING)):
            self.backstop.arm_sooner()

    def _set(self, state: PushState) -> bool:
        """Take in a new push state; True when it began an outage (and a load was asked for)."""
        previous, self.state = self.state, state
        if state == previous:
            return False
        outage = _follow(self.backstop.schedule, previous, state)
        self.state_changed.emit(state)
        if outage:
            self._request("push lost")  # what was published meanwhile is lost: look now, then often
        return outage


def _follow(schedule: PollSchedule, previous: PushState, state: PushState) -> bool:
    """Tell ``schedule`` what changed between two push states; True when no path is live any more."""
    outage = False
    for path in state.paths:
        name = path.path.value
        if path.mode is PathMode.LIVE:
            schedule.path_live(name)
        elif path.mode is PathMode.RECONNECTING:
            outage = schedule.path_lost(name) or outage
        elif path.mode is PathMode.CONNECTING:
            schedule.path_started(name)
        else:  # FAILED: not running
            schedule.path_stopped(name)
    for path in previous.paths:
        if state.path(path.path) is None:
            schedule.path_stopped(path.path.value)
    return outage
