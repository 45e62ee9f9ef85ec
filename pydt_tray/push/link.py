"""What both MQTT flavours share: state, the stop handshake, subscribing after a connect, timers.

Both flavours drive their own reconnects: after a loss or a failed attempt the CRT client is stopped
(MQTT 5) or disconnected (3.1.1), and the next attempt starts from our timer after the wait the
:class:`~pydt_tray.push.reconnect.ReconnectPolicy` gives. The CRT clients' own retry settings are set
to the ceiling, so they never retry sooner than the policy would.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from pydt_tray.push.config import PushConfig
from pydt_tray.push.reconnect import ReconnectPolicy
from pydt_tray.push.relay import ListenerRelay

log = logging.getLogger(__name__)

STOPPED = "stopped"
CONNECTING = "connecting"
CONNECTED = "connected"
BACKOFF = "backoff"

F = TypeVar("F", bound=Callable[..., Any])


def crt_callback(method: F) -> F:
    """Wrap a method the CRT calls: log any exception instead of letting it reach native code."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception:
            log.exception("push: %s failed", method.__name__)
            return None

    return wrapper  # type: ignore[return-value]


def describe_error(error: BaseException | None, fallback: str) -> str:
    """A short, secret-free description of a CRT error."""
    if error is None:
        return fallback
    name = getattr(error, "name", None)
    message = getattr(error, "message", None)
    if name and message:
        return f"{name}: {message}"
    return str(error) or type(error).__name__


def signed_wss_options(config: PushConfig) -> dict[str, Any]:
    """The builder arguments both flavours share: where to connect over WSS, signed with SigV4 by static keys."""
    from awscrt import auth  # loaded with the flavours, not with this module

    return {
        "region": config.region,
        "credentials_provider": auth.AwsCredentialsProvider.new_static(config.access_key_id, config.secret_access_key),
        "endpoint": config.endpoint,
        "port": config.port,
        "ca_filepath": config.ca_file,
        "client_id": config.client_id,
    }


class Link:
    """One run of a connection: built by ``start``, finished by ``stop``; never restarted.

    Subclasses talk to one awscrt client; this class keeps the state, the "connection epoch" (bumped on
    every connect and disconnect, so late subscribe results of an old connection are ignored) and the
    promise that ``on_push_stopped`` is the last thing the listener hears.
    """

    def __init__(self, config: PushConfig, relay: ListenerRelay) -> None:
        self.config = config
        self.relay = relay
        self.lock = threading.Lock()
        self.state = CONNECTING
        self.stopping = False
        self.restart_pending = False  # the current connection is being dropped on purpose: ignore its late results
        self.epoch = 0
        self.policy = ReconnectPolicy(
            config.min_reconnect_seconds,
            config.max_reconnect_seconds,
            stable_seconds=config.stable_connection_seconds,
        )
        self._timer: threading.Timer | None = None
        self._stopped = threading.Event()

    # --- to be provided by a flavour ----------------------------------------------------------------

    def start(self) -> None:
        raise NotImplementedError

    def reconnect_now(self) -> None:
        raise NotImplementedError

    def _begin_stop(self) -> None:
        """Ask the client to stop; :meth:`finish_stop` must follow (from a callback or at once)."""
        raise NotImplementedError

    def _send_subscribe(self) -> Future[str | None]:
        """Send our SUBSCRIBE; the future resolves to a refusal text or None once the SUBACK arrived."""
        raise NotImplementedError

    def _drop_and_retry(self, wait: float) -> None:
        """Drop the current connection (the loss is already reported) and try again after ``wait`` seconds."""
        raise NotImplementedError

    # --- stopping -----------------------------------------------------------------------------------

    def stop(self, timeout: float) -> bool:
        """Stop and wait up to ``timeout`` seconds. The listener is detached when this returns, in any case."""
        with self.lock:
            first = not self.stopping
            self.stopping = True
            self.restart_pending = False
            self._cancel_timer_locked()
        if first:
            self._begin_stop()
        done = self._stopped.wait(timeout)
        if not done:
            log.warning("push: the MQTT client did not stop within %.1f s", timeout)
            self.relay.stopped()
        return done

    def finish_stop(self) -> None:
        with self.lock:
            self.state = STOPPED
            self._cancel_timer_locked()
        self.relay.stopped()
        self._stopped.set()

    # --- after a connection succeeded ---------------------------------------------------------------

    def connection_up(self, session_present: bool) -> None:
        """A CONNACK arrived: subscribe unless the session still has it, then tell the listener."""
        with self.lock:
            if self.stopping or self.restart_pending:
                return
            self.epoch += 1
            epoch = self.epoch
        if session_present:
            self._mark_connected(epoch, session_present)
            return
        future = self._send_subscribe()
        future.add_done_callback(functools.partial(self._on_subscribed, epoch, session_present))

    @crt_callback
    def _on_subscribed(self, epoch: int, session_present: bool, future: Future[str | None]) -> None:
        error = future.exception()
        refusal = describe_error(error, "") if error is not None else future.result()
        with self.lock:
            current = epoch == self.epoch and not self.stopping and not self.restart_pending
        if not current:
            return
        if refusal:
            # a SUBACK that says no is worth a warning; a subscribe cut short by a dropped connection is a loss
            level = logging.INFO if error is not None else logging.WARNING
            log.log(level, "push: subscribing to the topic failed (%s); reconnecting later", refusal)
            wait = self.connection_lost(f"subscribe failed: {refusal}")
            if wait is not None:
                self._drop_and_retry(wait)
            return
        self._mark_connected(epoch, session_present)

    def _mark_connected(self, epoch: int, session_present: bool) -> None:
        with self.lock:
            if epoch != self.epoch or self.stopping:
                return
            self.state = CONNECTED
            self.policy.in_service()
        log.info("push: connected and subscribed (session present: %s)", session_present)
        self.relay.connected(session_present)

    def attempt_started(self) -> None:
        """A connection attempt begins (counted by the policy)."""
        with self.lock:
            if not self.stopping:
                self.state = CONNECTING
                self.policy.attempt_started()

    def connection_lost(self, reason: str) -> float | None:
        """A connection dropped or an attempt failed: tell the listener and return the wait before the next
        attempt (None when stopping: then nothing follows)."""
        with self.lock:
            if self.stopping:
                return None
            self.epoch += 1
            self.state = BACKOFF
            wait = self.policy.lost()
            kicks = self.policy.quick_kicks
        if kicks:
            log.info("push: disconnected (%s; %d quick drop(s) in a row); next attempt in %.1f s", reason, kicks, wait)
        else:
            log.info("push: disconnected (%s); next attempt in %.1f s", reason, wait)
        self.relay.disconnected(reason)
        return wait

    def reset_backoff(self) -> None:
        """The next wait starts at the floor again (a network change, a wake, an explicit reconnect)."""
        with self.lock:
            self.policy.reset()

    def connection_down(self, reason: str, state: str) -> None:
        """We dropped the connection on purpose (a reconnect was asked for): note the state, tell the listener."""
        with self.lock:
            if self.stopping:
                return
            self.epoch += 1
            self.state = state
        log.info("push: disconnected (%s)", reason)
        self.relay.disconnected(reason)

    # --- timers -------------------------------------------------------------------------------------

    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` on a timer thread after ``delay`` seconds, unless stopped first."""
        with self.lock:
            if self.stopping:
                return
            self._cancel_timer_locked()
            timer = threading.Timer(delay, crt_callback(action))
            timer.daemon = True
            timer.name = "pydt-push-retry"
            self._timer = timer
            timer.start()

    def cancel_timer(self) -> bool:
        """Cancel a pending timer; True if one was pending."""
        with self.lock:
            return self._cancel_timer_locked()

    def _cancel_timer_locked(self) -> bool:
        timer, self._timer = self._timer, None
        if timer is None:
            return False
        timer.cancel()
        return True
