"""The MQTT 5 flavour: awscrt's MQTT5 client, stopped after every loss and started again on our schedule."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from awscrt import mqtt5
from awsiot import mqtt5_client_builder

from pydt_tray.push.config import PushConfig
from pydt_tray.push.link import CONNECTING, Link, crt_callback, describe_error, signed_wss_options
from pydt_tray.push.relay import ListenerRelay

# Where the client is in our start/stop cycle (the public state is separate).
_RUNNING = "running"  # started: connecting or connected
_HALTING = "halting"  # stop() sent; the stopped callback decides what comes next
_WAITING = "waiting"  # stopped; our timer starts it again


def _goodbye() -> mqtt5.DisconnectPacket:
    """Without a packet the client just drops the socket; with one it says a proper DISCONNECT first."""
    return mqtt5.DisconnectPacket(reason_code=mqtt5.DisconnectReasonCode.NORMAL_DISCONNECTION)


class Mqtt5Link(Link):
    """One run of an MQTT5 client over SigV4-signed WSS.

    The client's own retries are not used: after a loss or a failed attempt the client is stopped, and
    it is started again after the policy's wait (``reconnect_now``: at once). The client's retry delay is
    set to the ceiling, so it could never retry sooner than we would.
    """

    def __init__(self, config: PushConfig, relay: ListenerRelay) -> None:
        super().__init__(config, relay)
        self._phase = _RUNNING
        self._resume_after: float | None = None  # after halting: None = start at once, else wait this long
        self._requested = False  # the halt was asked for by reconnect_now (reported as such)
        ceiling_ms = int(config.max_reconnect_seconds * 1000)
        self.client = mqtt5_client_builder.websockets_with_default_aws_signing(
            **signed_wss_options(config),
            keep_alive_interval_sec=config.keepalive_seconds,
            ping_timeout_ms=config.ping_timeout_ms,
            session_behavior=mqtt5.ClientSessionBehaviorType.CLEAN,
            retry_jitter_mode=mqtt5.ExponentialBackoffJitterMode.NONE,
            min_reconnect_delay_ms=ceiling_ms,
            max_reconnect_delay_ms=ceiling_ms,
            enable_metrics_collection=False,
            on_publish_received=self._on_publish,
            on_lifecycle_attempting_connect=self._on_attempting_connect,
            on_lifecycle_connection_success=self._on_connection_success,
            on_lifecycle_connection_failure=self._on_connection_failure,
            on_lifecycle_disconnection=self._on_disconnection,
            on_lifecycle_stopped=self._on_stopped,
        )

    def start(self) -> None:
        self.client.start()

    def reconnect_now(self) -> None:
        self.reset_backoff()
        with self.lock:
            if self.stopping:
                return
            phase = self._phase
            self._resume_after = None
            if phase == _RUNNING:
                self._phase = _HALTING
                self._requested = True
                self.restart_pending = True
            elif phase == _WAITING:
                self._phase = _RUNNING
                self.restart_pending = False
            self.state = CONNECTING
        if phase == _RUNNING:
            self.client.stop(_goodbye())
        elif phase == _WAITING:
            self.cancel_timer()
            self._start_client()
        # _HALTING: the stopped callback now starts the client at once.

    def _begin_stop(self) -> None:
        with self.lock:
            waiting = self._phase == _WAITING
        if waiting:  # already stopped: no stopped callback will come
            self.finish_stop()
        else:
            self.client.stop(_goodbye())

    def _drop_and_retry(self, wait: float) -> None:
        if self._halt(wait):
            self.client.stop(_goodbye())

    def _halt(self, wait: float) -> bool:
        """Move to halting (start again ``wait`` s after the stop); False when already halting or stopping."""
        with self.lock:
            if self.stopping or self._phase != _RUNNING:
                return False
            self._phase = _HALTING
            self._resume_after = wait
            self.restart_pending = True
            return True

    def _resume(self) -> None:
        with self.lock:
            if self.stopping or self._phase != _WAITING:
                return
            self._phase = _RUNNING
            self.restart_pending = False
        self._start_client()

    def _start_client(self) -> None:
        """Start the client again; a stop that came in meanwhile may have missed it, so stop it then."""
        self.client.start()
        with self.lock:
            stopping = self.stopping
        if stopping:
            self.client.stop(_goodbye())

    def _send_subscribe(self) -> Future[str | None]:
        packet = mqtt5.SubscribePacket(
            subscriptions=[
                mqtt5.Subscription(topic_filter=topic, qos=mqtt5.QoS.AT_MOST_ONCE) for topic in self.config.topics
            ]
        )
        result: Future[str | None] = Future()

        def on_suback(future: Future[Any]) -> None:
            error = future.exception()
            if error is not None:
                result.set_exception(error)
                return
            refused = [code for code in future.result().reason_codes if int(code) >= 0x80]
            result.set_result(", ".join(getattr(code, "name", str(code)) for code in refused) or None)

        self.client.subscribe(packet).add_done_callback(crt_callback(on_suback))
        return result

    # --- CRT callbacks --------------------------------------------------------------------------------

    @crt_callback
    def _on_publish(self, data: mqtt5.PublishReceivedData) -> None:
        packet = data.publish_packet
        self.relay.message(packet.topic, bytes(packet.payload or b""))

    @crt_callback
    def _on_attempting_connect(self, data: mqtt5.LifecycleAttemptingConnectData) -> None:
        self.attempt_started()

    @crt_callback
    def _on_connection_success(self, data: mqtt5.LifecycleConnectSuccessData) -> None:
        connack = data.connack_packet
        self.connection_up(bool(connack and connack.session_present))

    @crt_callback
    def _on_connection_failure(self, data: mqtt5.LifecycleConnectFailureData) -> None:
        self._lost("connect failed: " + describe_error(data.exception, "no reason given"))

    @crt_callback
    def _on_disconnection(self, data: mqtt5.LifecycleDisconnectData) -> None:
        with self.lock:
            requested, self._requested = self._requested, False
        if requested:
            self.connection_down("reconnect requested", CONNECTING)
            return
        packet = data.disconnect_packet
        reason = describe_error(data.exception, "connection closed")
        if packet is not None and packet.reason_code is not None:
            reason += f" (server: {getattr(packet.reason_code, 'name', packet.reason_code)})"
        self._lost(reason)

    def _lost(self, reason: str) -> None:
        """The client lost its connection or failed to connect: report it once, then stop the client."""
        with self.lock:
            if self.stopping or self._phase != _RUNNING:
                return  # a consequence of our own stop: already reported or asked for
        wait = self.connection_lost(reason)
        if wait is not None and self._halt(wait):
            self.client.stop()

    @crt_callback
    def _on_stopped(self, data: mqtt5.LifecycleStoppedData) -> None:
        with self.lock:
            stopping = self.stopping
            wait = self._resume_after
            if not stopping and self._phase == _HALTING:
                self._requested = False
                if wait is None:
                    self._phase = _RUNNING
                    self.restart_pending = False
                else:
                    self._phase = _WAITING
        if stopping:
            self.finish_stop()
        elif wait is None:
            self._start_client()
        else:
            self.call_later(wait, self._resume)
