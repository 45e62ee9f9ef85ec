"""Supervising push: start, stop and restart the IoT connection, follow its state, and keep the backstop
poll armed by the :class:`~pydt_tray.core.poll_schedule.PollSchedule`: every ``poll_interval_seconds``
while a push path is live; when the last live path is lost, at once, then every 15 s for two minutes,
then every 90 s. Every push path in the :class:`PushState` feeds the schedule through :meth:`_set`."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from pydt_tray.core.context import AppContext
from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.poll_schedule import PollSchedule
from pydt_tray.core.push_state import OFF, PathMode, PushPath, PushState
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
        self, ctx: AppContext, request: Callable[[str], None], backstop: Backstop, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
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

    def ensure_started(self, steam_id: str) -> None:
        """Start push for ``steam_id`` unless it runs already (called after each good load)."""
        if self.connection is None:
            self.start(steam_id)

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
        if self.connection is not None:
            if not self.connection.stop(timeout=timeout):
                log.warning("The push connection did not stop within %g s", timeout)
            self.connection = None
        self._set(self.state.without(PushPath.IOT))

    def end(self) -> None:
        """The session ended: stop, and forget the user."""
        self.stop()
        self._steam_id = None

    def restart(self) -> None:
        """Connection settings changed: start again with them (nothing to do before the user is known)."""
        if self._steam_id is None:
            return
        self.stop()
        self.start(self._steam_id)

    def on_wake(self, reason: str) -> None:
        """A wake or a network change: the reconnect waits and the outage's fast polling start over."""
        log.info("Woke up (%s): reconnecting and catching up", reason)
        self.backstop.schedule.restart_window()
        if self.connection is not None:
            self.connection.reconnect_now()
        self._request(f"wake: {reason}")

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
