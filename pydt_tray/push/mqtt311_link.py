"""The MQTT 3.1.1 flavour (for brokers that speak nothing newer).

awscrt's 3.1.1 connection reconnects by itself once it has been connected, but when the very first
connect fails it gives up. This link retries that first connect itself, with jittered capped backoff.
"""

from __future__ import annotations

import math
from concurrent.futures import Future
from typing import Any

from awscrt import mqtt
from awsiot import mqtt_connection_builder

from pydt_tray.push.config import PushConfig
from pydt_tray.push.link import BACKOFF, CONNECTING, Link, crt_callback, describe_error, signed_wss_options
from pydt_tray.push.relay import ListenerRelay

# Where the link is in its own connect/disconnect dance (the public state is separate).
_IDLE = "idle"  # not connected, nothing in flight (a retry timer may be pending)
_CONNECTING = "connecting"  # our connect() is in flight
_UP = "up"  # connected, or the CRT is reconnecting by itself
_DISCONNECTING = "disconnecting"  # our disconnect() is in flight


class Mqtt311Link(Link):
    """One run of an MQTT 3.1.1 connection over SigV4-signed WSS, clean session."""

    def __init__(self, config: PushConfig, relay: ListenerRelay) -> None:
        super().__init__(config, relay)
        min_secs = max(1, math.ceil(config.min_reconnect_seconds))
        self._phase = _IDLE
        self.connection = mqtt_connection_builder.websockets_with_default_aws_signing(
            **signed_wss_options(config),
            clean_session=True,
            keep_alive_secs=config.keepalive_seconds,
            ping_timeout_ms=config.ping_timeout_ms,
            reconnect_min_timeout_secs=min_secs,
            reconnect_max_timeout_secs=max(min_secs, math.ceil(config.max_reconnect_seconds)),
            enable_metrics_collection=False,
            on_connection_interrupted=self._on_interrupted,
            on_connection_resumed=self._on_resumed,
        )

    def start(self) -> None:
        self._connect()

    def reconnect_now(self) -> None:
        with self.lock:
            if self.stopping or self.restart_pending or self._phase in (_CONNECTING, _DISCONNECTING):
                return
            drop = self._phase == _UP
            if drop:
                self.restart_pending = True
                self._phase = _DISCONNECTING
                self.state = CONNECTING
        if drop:
            self.connection.disconnect().add_done_callback(self._on_disconnected)
        else:
            self.cancel_timer()
            self._connect()

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
        future, _packet_id = self.connection.subscribe(self.config.topic, mqtt.QoS.AT_MOST_ONCE, self._on_message)
        result: Future[str | None] = Future()

        def on_suback(suback: Future[Any]) -> None:
            error = suback.exception()
            if isinstance(error, mqtt.SubscribeError):
                result.set_result("refused by the server")
            elif error is not None:
                result.set_exception(error)
            else:
                result.set_result(None)

        future.add_done_callback(crt_callback(on_suback))
        return result

    # --- our own connect / disconnect ---------------------------------------------------------------

    def _connect(self) -> None:
        with self.lock:
            if self.stopping or self._phase != _IDLE:
                return
            self._phase = _CONNECTING
            self.state = CONNECTING
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
            self.connection_down("connect failed: " + describe_error(error, "no reason given"), BACKOFF)
            self.call_later(self.backoff.next_delay(), self._connect)

    @crt_callback
    def _on_disconnected(self, future: Future[Any]) -> None:
        with self.lock:
            self._phase = _IDLE
            stopping = self.stopping
            self.restart_pending = False
        if stopping:
            self.finish_stop()
            return
        self.connection_down("reconnect requested", CONNECTING)
        self._connect()

    # --- CRT callbacks ------------------------------------------------------------------------------

    @crt_callback
    def _on_message(self, topic: str, payload: bytes, **_kwargs: object) -> None:
        self.relay.message(topic, bytes(payload))

    @crt_callback
    def _on_interrupted(self, connection: mqtt.Connection, error: Exception, **_kwargs: object) -> None:
        with self.lock:
            if self._phase != _UP:
                return
        self.connection_down(describe_error(error, "connection lost"), BACKOFF)

    @crt_callback
    def _on_resumed(
        self, connection: mqtt.Connection, return_code: mqtt.ConnectReturnCode, session_present: bool, **_kwargs: object
    ) -> None:
        with self.lock:
            if self._phase != _UP:
                return
        self.connection_up(bool(session_present))
