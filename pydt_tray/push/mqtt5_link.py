"""The MQTT 5 flavour: awscrt's MQTT5 client, which reconnects by itself with jittered backoff."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from awscrt import mqtt5
from awsiot import mqtt5_client_builder

from pydt_tray.push.config import PushConfig
from pydt_tray.push.link import BACKOFF, CONNECTING, Link, crt_callback, describe_error, signed_wss_options
from pydt_tray.push.relay import ListenerRelay


def _goodbye() -> mqtt5.DisconnectPacket:
    """Without a packet the client just drops the socket; with one it says a proper DISCONNECT first."""
    return mqtt5.DisconnectPacket(reason_code=mqtt5.DisconnectReasonCode.NORMAL_DISCONNECTION)


class Mqtt5Link(Link):
    """One run of an MQTT5 client over SigV4-signed WSS.

    ``reconnect_now`` stops the client and starts it again from its stopped callback, which gives an
    immediate fresh connection (no backoff wait).
    """

    def __init__(self, config: PushConfig, relay: ListenerRelay) -> None:
        super().__init__(config, relay)
        self.client = mqtt5_client_builder.websockets_with_default_aws_signing(
            **signed_wss_options(config),
            keep_alive_interval_sec=config.keepalive_seconds,
            ping_timeout_ms=config.ping_timeout_ms,
            session_behavior=mqtt5.ClientSessionBehaviorType.CLEAN,
            retry_jitter_mode=mqtt5.ExponentialBackoffJitterMode.FULL,
            min_reconnect_delay_ms=int(config.min_reconnect_seconds * 1000),
            max_reconnect_delay_ms=int(config.max_reconnect_seconds * 1000),
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
        with self.lock:
            if self.stopping or self.restart_pending:
                return
            self.restart_pending = True
            self.state = CONNECTING
        self.cancel_timer()
        self.client.stop(_goodbye())

    def _begin_stop(self) -> None:
        self.client.stop(_goodbye())

    def _send_subscribe(self) -> Future[str | None]:
        packet = mqtt5.SubscribePacket(
            subscriptions=[mqtt5.Subscription(topic_filter=self.config.topic, qos=mqtt5.QoS.AT_MOST_ONCE)]
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
        with self.lock:
            if not self.stopping:
                self.state = CONNECTING

    @crt_callback
    def _on_connection_success(self, data: mqtt5.LifecycleConnectSuccessData) -> None:
        connack = data.connack_packet
        self.connection_up(bool(connack and connack.session_present))

    @crt_callback
    def _on_connection_failure(self, data: mqtt5.LifecycleConnectFailureData) -> None:
        with self.lock:
            if self.restart_pending:
                return
        self.connection_down("connect failed: " + describe_error(data.exception, "no reason given"), BACKOFF)

    @crt_callback
    def _on_disconnection(self, data: mqtt5.LifecycleDisconnectData) -> None:
        with self.lock:
            restarting = self.restart_pending
        if restarting:
            self.connection_down("reconnect requested", CONNECTING)
            return
        packet = data.disconnect_packet
        reason = describe_error(data.exception, "connection closed")
        if packet is not None and packet.reason_code is not None:
            reason += f" (server: {getattr(packet.reason_code, 'name', packet.reason_code)})"
        self.connection_down(reason, BACKOFF)

    @crt_callback
    def _on_stopped(self, data: mqtt5.LifecycleStoppedData) -> None:
        with self.lock:
            restart = self.restart_pending and not self.stopping
            self.restart_pending = False
        if restart:
            self.client.start()
        else:
            self.finish_stop()
