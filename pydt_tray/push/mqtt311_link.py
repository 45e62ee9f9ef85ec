"""The MQTT 3.1.1 flavour (for brokers that speak nothing newer).

awscrt's 3.1.1 connection reconnects by itself once it has been connected (without jitter, and not at
all when the very first connect fails). This link does not rely on that: after a loss it disconnects
the connection, which ends the CRT's own retries, and connects again after the policy's wait.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import Future
from typing import Any

from awscrt import mqtt
from awsiot import mqtt_connection_builder

from pydt_tray.push.config import PushConfig
from pydt_tray.push.link import CONNECTING, Link, crt_callback, describe_error, signed_wss_options
from pydt_tray.push.relay import ListenerRelay

# Where the link is in its own connect/disconnect dance (the public state is separate).
_IDLE = "idle"  # not connected, nothing in flight (a retry timer may be pending)
_CONNECTING = "connecting"  # our connect() is in flight
_UP = "up"  # connected
_DISCONNECTING = "disconnecting"  # our disconnect() is in flight; then connect at once or after a wait


class Mqtt311Link(Link):
    """One run of an MQTT 3.1.1 connection over SigV4-signed WSS, clean session."""

    def __init__(self, config: PushConfig, relay: ListenerRelay) -> None:
        super().__init__(config, relay)
        ceiling = max(1, math.ceil(config.max_reconnect_seconds))
        self._phase = _IDLE
        self._reconnect_after: float | None = None  # after our disconnect: None = at once, else wait this long
        self._requested = False  # the disconnect was asked for by reconnect_now (reported as such)
        self.connection = mqtt_connection_builder.websockets_with_default_aws_signing(
            **signed_wss_options(config),
            clean_session=True,
            keep_alive_secs=config.keepalive_seconds,
            ping_timeout_ms=config.ping_timeout_ms,
            reconnect_min_timeout_secs=ceiling,  # never sooner than our own schedule (we disconnect first)
            reconnect_max_timeout_secs=ceiling,
            enable_metrics_collection=False,
            on_connection_interrupted=self._on_interrupted,
            on_connection_resumed=self._on_resumed,
        )

    def start(self) -> None:
        self._connect()

    def reconnect_now(self) -> None:
        self.reset_backoff()
        with self.lock:
            if self.stopping:
                return
            phase = self._phase
            if phase == _UP:
                self.restart_pending = True
                self._requested = True
                self._phase = _DISCONNECTING
                self.state = CONNECTING
            self._reconnect_after = None  # also when a disconnect is in flight: connect at once after it
        if phase == _UP:
            self.connection.disconnect().add_done_callback(self._on_disconnected)
        elif phase == _IDLE:
            self.cancel_timer()
            self._connect()
        # _CONNECTING: an attempt is in flight anyway.

    def _drop_and_retry(self, wait: float) -> None:
        with self.lock:
            if self.stopping or self._phase != _UP:
                return
            self.restart_pending = True
            self._phase = _DISCONNECTING
            self._reconnect_after = wait
        self.connection.disconnect().add_done_callback(self._on_disconnected)

    def _begin_stop(self) -> None:
        with self.lock:
            phase = self._phase
            if phase == _UP:
                self._phase = _DISCONNECTING
        if phase == _UP:
            self.connection.disconnect().add_done_callback(self._on_disconnected)
        elif phase == _IDLE:
            self.finish_stop()
        # _CONNECTING / _DISCONNECTING: the pending callback sees ``stopping`` and finishes.

    def _send_subscribe(self) -> Future[str | None]:
        """Subscribe to every topic (MQTT 3.1.1 here has one SUBSCRIBE per topic); the result is the first
        refusal or error, once every SUBACK is in."""
        topics = self.config.topics
        result: Future[str | None] = Future()
        answers: list[BaseException | str | None] = []
        lock = threading.Lock()

        def on_suback(suback: Future[Any]) -> None:
            error = suback.exception()
            answer: BaseException | str | None = error
            if isinstance(error, mqtt.SubscribeError):
                answer = "refused by the server"
            with lock:
                answers.append(answer)
                done = len(answers) == len(topics)
            if not done:
                return
            failed = [item for item in answers if isinstance(item, BaseException)]
            if failed:
                result.set_exception(failed[0])
            else:
                result.set_result(next((item for item in answers if item is not None), None))  # type: ignore[arg-type]

        for topic in topics:
            future, _packet_id = self.connection.subscribe(topic, mqtt.QoS.AT_MOST_ONCE, self._on_message)
            future.add_done_callback(crt_callback(on_suback))
        return result

    # --- our own connect / disconnect ---------------------------------------------------------------

    def _connect(self) -> None:
        with self.lock:
            if self.stopping or self._phase != _IDLE:
                return
            self._phase = _CONNECTING
        self.attempt_started()
        self.connection.connect().add_done_callback(self._on_connect_done)

    @crt_callback
    def _on_connect_done(self, future: Future[Any]) -> None:
        error = future.exception()
        with self.lock:
            self._phase = _UP if error is None else _IDLE
            stopping = self.stopping
        if stopping:
            self._begin_stop()
        elif error is None:
            self.connection_up(bool(future.result().get("session_present")))
        else:
            wait = self.connection_lost("connect failed: " + describe_error(error, "no reason given"))
            if wait is not None:
                self.call_later(wait, self._connect)

    @crt_callback
    def _on_disconnected(self, future: Future[Any]) -> None:
        with self.lock:
            self._phase = _IDLE
            stopping = self.stopping
            self.restart_pending = False
            wait, self._reconnect_after = self._reconnect_after, None
            requested, self._requested = self._requested, False
        if stopping:
            self.finish_stop()
            return
        if requested:
            self.connection_down("reconnect requested", CONNECTING)
        if wait is None:
            self._connect()
        else:
            self.call_later(wait, self._connect)

    # --- CRT callbacks ------------------------------------------------------------------------------

    @crt_callback
    def _on_message(self, topic: str, payload: bytes, **_kwargs: object) -> None:
        self.relay.message(topic, bytes(payload))

    @crt_callback
    def _on_interrupted(self, connection: mqtt.Connection, error: Exception, **_kwargs: object) -> None:
        with self.lock:
            if self._phase != _UP:
                return
        wait = self.connection_lost(describe_error(error, "connection lost"))
        if wait is not None:
            self._drop_and_retry(wait)  # ends the CRT's own reconnecting; ours follows after ``wait``

    @crt_callback
    def _on_resumed(
        self, connection: mqtt.Connection, return_code: mqtt.ConnectReturnCode, session_present: bool, **_kwargs: object
    ) -> None:
        with self.lock:
            if self._phase != _UP or self.restart_pending:
                return
        self.connection_up(bool(session_present))
