"""Supervising push: start, stop and restart the IoT connection, follow its state, and keep the backstop
poll armed by the :class:`~pydt_tray.core.poll_schedule.PollSchedule`: every ``poll_interval_seconds`` (600 s or more)
while a push path is live; when the last live path is lost, at once, then every 15 s for two minutes,
then every 90 s. Every push path in the :class:`PushState` feeds the schedule through :meth:`_set`. The relay
stream (when turned on for the account) runs beside the IoT link; a message on either only asks for a load,
and the sync engine folds close requests into one fetch, so one turn gives one notification."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from pydt_tray.core.context import AppContext
from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.poll_schedule import PollBudget, PollSchedule
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

    Its usual interval comes from ``schedule``, and while push is live from this account's own poll budget;
    the session arms it after every load.
    """

    due = Signal()

    def __init__(self, schedule: PollSchedule, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.schedule = schedule
        self.budget = PollBudget(schedule.clock)
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
            seconds = self.schedule.next_delay(self.budget)
        self.timer.start(round(seconds * 1000))

    def loaded(self, reasons: tuple[str, ...]) -> None:
        """A good load ended: it spends this account's budget (see :meth:`PollSchedule.loaded`), then arm."""
        self.schedule.loaded(reasons, self.budget)
        self.arm()

    def retry_delay(self, backoff: float) -> float:
        """The wait after a failed load: see :meth:`PollSchedule.retry_delay`."""
        return self.schedule.retry_delay(backoff)

    def arm_sooner(self) -> None:
        """Like :meth:`arm`, but never later than already planned: repeated failed reconnect attempts must not
        keep pushing the next poll away."""
        milliseconds = round(self.schedule.next_delay(self.budget) * 1000)
        if not self.timer.isActive() or self.timer.remainingTime() > milliseconds:
            self.timer.start(milliseconds)

    def usual_seconds(self) -> int:
        """The interval :meth:`arm` would use now, in whole seconds (for the status line)."""
        return round(self.schedule.next_delay(self.budget))

    def stop(self) -> None:
        self.timer.stop()


def push_config(ctx: AppContext, steam_ids: Sequence[str]) -> PushConfig | None:
    """The IoT connection's settings: one connection subscribed to the topic of every account in ``steam_ids``;
    None without credentials. Raises PushConfigError."""
    endpoints, current = ctx.endpoints, ctx.settings.snapshot()
    if not endpoints.has_push_credentials:
        return None
    try:
        topics = [endpoints.topic_for(steam_id) for steam_id in steam_ids]
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
        topic=topics[0],
        extra_topics=tuple(topics[1:]),
        protocol=current.mqtt_protocol,
    )


class BackstopLike(Protocol):
    """What the supervisor drives: the backstop of one account, or of every account at once."""

    schedule: PollSchedule

    def arm(self, seconds: float | None = None) -> None: ...

    def arm_sooner(self) -> None: ...


class PushSupervisor(QObject):
    """Runs the one push connection of every signed-in account. ``request(reason)`` asks every account for a
    load; ``dispatch(steam_id, reason)`` asks one account (a message on its topic)."""

    state_changed = Signal(object)  # a PushState

    def __init__(
        self,
        ctx: AppContext,
        request: Callable[[str], None],
        backstop: BackstopLike,
        parent: QObject | None = None,
        *,
        run_in_background: Callable[[Callable[[], None]], None] | None = None,
        call_soon: Callable[[Callable[[], None]], None] | None = None,
        dispatch: Callable[[str, str], None] | None = None,
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
        self._dispatch = dispatch or (lambda _steam_id, reason: request(reason))
        self.backstop = backstop
        self.state: PushState = OFF
        self.connection: PushConnection | None = None
        self.messages = 0  # push messages received since start
        self._steam_ids: list[str] = []  # the accounts subscribed to, in the order they became known
        self._topics: dict[str, str] = {}  # topic -> steam id, for the running connection
        self.bridge = PushBridge(self)
        self.bridge.message.connect(self._on_message)
        self.bridge.connected.connect(self._on_connected)
        self.bridge.disconnected.connect(self._on_disconnected)
        self._relay_checked: set[str] = set()
        if relay is not None:
            relay.message.connect(self._on_relay_message)
            relay.connected.connect(self._on_relay_connected)
            relay.disconnected.connect(self._on_relay_disconnected)

    @property
    def steam_ids(self) -> list[str]:
        return list(self._steam_ids)

    @property
    def relay_accounts(self) -> list[str]:
        """The accounts whose topics the relay stream carries."""
        return self.relay.path.accounts if self.relay is not None else []

    def ensure_started(self, steam_id: str) -> None:
        """Make sure the connection carries ``steam_id``'s topic (called after each good load of an account):
        started when it is not running, connected once more with one more topic for a new account."""
        if steam_id not in self._steam_ids:
            self._steam_ids.append(steam_id)
            if self.connection is not None:
                log.info("One more account: subscribing to its topic too")
                self._stop_iot()
        if self.connection is None:
            self.start()
        if self.relay is not None and steam_id not in self._relay_checked:
            self._relay_checked.add(steam_id)  # the keyring is read once per account, not after every load
            if self.relay.start_for(steam_id):
                self._set(self.state.with_path(PushPath.RELAY, PathMode.CONNECTING))
            elif self.relay.path.problem:
                self._set(self.state.with_path(PushPath.RELAY, PathMode.FAILED, self.relay.path.problem))

    def relay_started(self) -> None:
        """The relay was just turned on (settings window): it streams now."""
        live = self.relay is not None and self.relay.live
        self._set(self.state.with_path(PushPath.RELAY, PathMode.LIVE if live else PathMode.CONNECTING))

    def relay_stopped(self) -> None:
        """The relay was turned off (for one account: it may still stream the others')."""
        if self.relay is not None and self.relay.on:
            self._set(self.state.with_path(PushPath.RELAY, PathMode.LIVE if self.relay.live else PathMode.CONNECTING))
            return
        self._set(self.state.without(PushPath.RELAY))
        if self._steam_ids:
            self.backstop.arm()

    def start(self, steam_id: str | None = None) -> None:
        """Connect with every known account's topic (``steam_id`` is added to them first)."""
        if steam_id is not None and steam_id not in self._steam_ids:
            self._steam_ids.append(steam_id)
        if not self._steam_ids:
            return
        try:
            config = push_config(self.ctx, self._steam_ids)
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
        self._topics = {topic: steam_id for topic, steam_id in zip(config.topics, self._steam_ids, strict=False)}
        self._set(self.state.with_path(PushPath.IOT, PathMode.CONNECTING))

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop both paths (quitting, or the session ended), each within ``timeout`` seconds."""
        self._stop_iot(timeout)
        if self.relay is not None:
            self.relay.stop(timeout)
        self._set(self.state.without(PushPath.RELAY))
        for steam_id in self._steam_ids:
            self.ctx.state.account(steam_id).push = ""  # not running

    def _stop_iot(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        if self.connection is not None:
            if not self.connection.stop(timeout=timeout):
                log.warning("The push connection did not stop within %g s", timeout)
            self.connection = None
        self._set(self.state.without(PushPath.IOT))

    def end(self) -> None:
        """Every session ended: stop, and forget the accounts."""
        self.stop()
        self._steam_ids = []
        self._topics = {}
        self._relay_checked = set()

    def remove(self, steam_id: str) -> None:
        """One account left (signed out, token refused): the connection goes on with the others' topics."""
        self._relay_checked.discard(steam_id)
        if steam_id not in self._steam_ids:
            return
        self._steam_ids.remove(steam_id)
        if not self._steam_ids:
            self.end()
            return
        if self.relay is not None and steam_id in self.relay.path.accounts:
            self.relay.remove(steam_id)
            if not self.relay.on:
                self._set(self.state.without(PushPath.RELAY))
        if self.connection is not None:
            log.info("An account left: the connection goes on without its topic")
            self._stop_iot()
            self.start()

    def restart(self) -> None:
        """Connection settings changed: start the IoT link again with them (nothing to do before an account is
        known). The relay has no such settings and keeps running."""
        if not self._steam_ids:
            return
        self._stop_iot()
        self.start()

    def on_wake(self, reason: str) -> None:
        """A wake or a network change: the reconnect waits and the outage's fast polling start over."""
        log.info("Woke up (%s): reconnecting and catching up", reason)
        self.backstop.schedule.restart_window()
        if self.connection is not None:
            self.connection.reconnect_now()
        if self.relay is not None:
            self.relay.reconnect_now()
        self._request(f"wake: {reason}")

    def _on_relay_message(self, label: str = "") -> None:
        self.messages += 1
        steam_id = self.relay.owner_of(label) if self.relay is not None else None
        if steam_id is not None:
            self._dispatch(steam_id, "relay push")  # only the account whose topic it came on loads
        else:
            self._request("relay push")

    def _on_relay_connected(self) -> None:
        log.info("Relay push connected: catching up")
        self._set(self.state.with_path(PushPath.RELAY, PathMode.LIVE))
        self._request("relay connected")

    def _on_relay_disconnected(self, reason: str) -> None:
        log.info("Relay push lost: %s", reason)
        if not self._set(self.state.with_path(PushPath.RELAY, PathMode.RECONNECTING)):
            self.backstop.arm_sooner()

    def _on_message(self, topic: str) -> None:
        self.messages += 1
        log.debug("push message #%d", self.messages)
        steam_id = self._topics.get(topic)
        if steam_id is not None:
            self._dispatch(steam_id, "push")  # only the account whose topic it came on loads
        else:
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
        self._note_accounts()
        if state == previous:
            return False
        outage = _follow(self.backstop.schedule, previous, state)
        self.state_changed.emit(state)
        if outage:
            self._request("push lost")  # what was published meanwhile is lost: look now, then often
        return outage

    def account_live(self, steam_id: str) -> bool:
        """Whether a push path carries ``steam_id``'s pushes now (the relay carries only its own account)."""
        live = self.state.live_paths
        if steam_id not in self._steam_ids:
            return False
        return PushPath.IOT in live or (PushPath.RELAY in live and steam_id in self.relay_accounts)

    def _note_accounts(self) -> None:
        """Keep "live" or "polling" per account in the state file, for `pydt-tray accounts`."""
        for steam_id in self._steam_ids:
            self.ctx.state.account(steam_id).push = "live" if self.account_live(steam_id) else "polling"


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
