"""The links' reconnect cycle with stand-in CRT clients: who stops, who starts again, and when.

The real clients are exercised against mosquitto in tests/integration/test_push.py; here the CRT
callbacks are called by hand, so the order of events (and the races around a stop) is exact.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest

from pydt_tray.push import mqtt5_link, mqtt311_link
from pydt_tray.push.config import PushConfig
from pydt_tray.push.relay import ListenerRelay
from tests.helpers.push_recorder import PushRecorder

WAIT = 5.0


def config(protocol: str, floor: float = 0.05, ceiling: float = 0.4) -> PushConfig:
    return PushConfig(
        endpoint="localhost", port=443, region="us-east-1", ca_file=None, access_key_id="id",
        secret_access_key="secret", client_id="pydt-tray-unit", topic="/pydt/prod/user/1/gameupdate",
        protocol=protocol, min_reconnect_seconds=floor, max_reconnect_seconds=ceiling,
    )  # fmt: skip


class FakeMqtt5Client:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.calls: list[str] = []
        self.started = threading.Event()
        self.answer_stop = False  # True: a stop is answered with the stopped callback at once

    def start(self) -> None:
        self.calls.append("start")
        self.started.set()

    def stop(self, packet: object = None) -> None:
        self.calls.append("stop")
        if self.answer_stop:
            self.kwargs["on_lifecycle_stopped"](None)

    def subscribe(self, packet: object) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(SimpleNamespace(reason_codes=[0]))
        return future


@pytest.fixture
def mqtt5(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(mqtt5_link, "signed_wss_options", lambda _config: {})
    monkeypatch.setattr(
        mqtt5_link.mqtt5_client_builder, "websockets_with_default_aws_signing", lambda **kw: FakeMqtt5Client(**kw)
    )

    def make(**overrides: float) -> tuple[mqtt5_link.Mqtt5Link, FakeMqtt5Client, PushRecorder]:
        recorder = PushRecorder()
        link = mqtt5_link.Mqtt5Link(config("mqtt5", **overrides), ListenerRelay(recorder))
        return link, link.client, recorder

    return make


def failure() -> SimpleNamespace:
    return SimpleNamespace(exception=None)


def test_mqtt5_client_retries_are_held_at_the_ceiling(mqtt5) -> None:
    _link, client, _recorder = mqtt5(floor=1.0, ceiling=30.0)
    assert client.kwargs["min_reconnect_delay_ms"] == client.kwargs["max_reconnect_delay_ms"] == 30_000


def test_mqtt5_failed_attempt_stops_the_client_and_starts_it_after_the_wait(mqtt5) -> None:
    link, client, recorder = mqtt5()
    link.start()
    link._on_attempting_connect(None)
    client.started.clear()
    link._on_connection_failure(failure())
    assert client.calls == ["start", "stop"]
    assert recorder.of("disconnected") == [("disconnected", "connect failed: no reason given")]
    assert link.state == "backoff"
    link._on_connection_failure(failure())  # a late echo of the same failure: not reported twice
    assert len(recorder.of("disconnected")) == 1
    link._on_stopped(None)
    assert client.started.wait(WAIT)  # started again by our timer, after the policy's wait
    assert client.calls == ["start", "stop", "start"]
    assert link.policy.attempts == 1 and link.policy.streak == 1
    client.answer_stop = True
    assert link.stop(1.0)
    assert recorder.events[-1] == ("stopped",)


def test_mqtt5_stop_while_waiting_finishes_without_a_callback(mqtt5) -> None:
    link, client, recorder = mqtt5(floor=5.0, ceiling=5.0)
    link.start()
    link._on_connection_failure(failure())
    link._on_stopped(None)  # now waiting 2.5-5 s for our timer
    assert link.stop(1.0)  # the client is already stopped: no stopped callback will come
    assert recorder.events[-1] == ("stopped",)
    assert client.calls == ["start", "stop"]


def test_mqtt5_reconnect_now_while_waiting_starts_at_once_and_resets_the_waits(mqtt5) -> None:
    link, client, recorder = mqtt5(floor=5.0, ceiling=5.0)
    link.start()
    for _ in range(3):
        link._on_connection_failure(failure())
        link._on_stopped(None)
        link._resume()
    link._on_connection_failure(failure())
    link._on_stopped(None)
    assert link.policy.streak == 4
    link.reconnect_now()
    assert client.calls[-1] == "start" and link.state == "connecting"
    assert link.policy.streak == 0
    client.answer_stop = True
    assert link.stop(1.0)
    assert recorder.events[-1] == ("stopped",)


def test_mqtt5_reconnect_now_while_connected_reports_it_and_restarts_at_once(mqtt5) -> None:
    link, client, recorder = mqtt5()
    link.start()
    link._on_connection_success(SimpleNamespace(connack_packet=SimpleNamespace(session_present=False)))
    assert recorder.of("connected") == [("connected", False)]
    link.reconnect_now()
    assert client.calls == ["start", "stop"]
    link._on_disconnection(SimpleNamespace(exception=None, disconnect_packet=None))
    assert recorder.of("disconnected") == [("disconnected", "reconnect requested")]
    link._on_stopped(None)
    assert client.calls == ["start", "stop", "start"]  # at once, no wait


class FakeConnection:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.connects: list[Future[Any]] = []
        self.disconnects: list[Future[Any]] = []
        self.connected = threading.Event()

    def connect(self) -> Future[Any]:
        future: Future[Any] = Future()
        self.connects.append(future)
        self.connected.set()
        return future

    def disconnect(self) -> Future[Any]:
        future: Future[Any] = Future()
        self.disconnects.append(future)
        return future

    def subscribe(self, topic: str, qos: object, callback: object) -> tuple[Future[Any], int]:
        future: Future[Any] = Future()
        future.set_result({"packet_id": 1})
        return future, 1


@pytest.fixture
def mqtt311(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(mqtt311_link, "signed_wss_options", lambda _config: {})
    monkeypatch.setattr(
        mqtt311_link.mqtt_connection_builder, "websockets_with_default_aws_signing", lambda **kw: FakeConnection(**kw)
    )

    def make(**overrides: float) -> tuple[mqtt311_link.Mqtt311Link, FakeConnection, PushRecorder]:
        recorder = PushRecorder()
        link = mqtt311_link.Mqtt311Link(config("mqtt311", **overrides), ListenerRelay(recorder))
        return link, link.connection, recorder

    return make


def test_mqtt311_crt_retries_are_held_at_the_ceiling(mqtt311) -> None:
    _link, connection, _recorder = mqtt311(floor=1.0, ceiling=30.0)
    assert connection.kwargs["reconnect_min_timeout_secs"] == connection.kwargs["reconnect_max_timeout_secs"] == 30


def test_mqtt311_interruption_disconnects_and_connects_again_after_the_wait(mqtt311) -> None:
    link, connection, recorder = mqtt311()
    link.start()
    connection.connects[0].set_result({"session_present": False})
    assert recorder.of("connected") == [("connected", False)]
    link._on_interrupted(connection, RuntimeError("gone"))
    assert recorder.of("disconnected") == [("disconnected", "gone")]
    assert len(connection.disconnects) == 1  # ends the CRT's own reconnecting
    link._on_resumed(connection, 0, False)  # the CRT got in first after all: ignored, we are dropping it
    assert len(recorder.of("connected")) == 1
    connection.connected.clear()
    connection.disconnects[0].set_result(None)
    assert connection.connected.wait(WAIT)  # our own attempt, after the policy's wait
    assert len(connection.connects) == 2 and link.policy.attempts == 2
    assert len(recorder.of("disconnected")) == 1  # the disconnect we asked for is not a second loss
    connection.connects[1].set_result({"session_present": False})
    assert len(recorder.of("connected")) == 2
    stopped = threading.Thread(target=link.stop, args=(WAIT,))
    stopped.start()
    for _ in range(500):  # until the stop sent its goodbye
        if len(connection.disconnects) == 2:
            break
        stopped.join(0.01)
    connection.disconnects[1].set_result(None)
    stopped.join(WAIT)
    assert recorder.events[-1] == ("stopped",) and link.state == "stopped"


def test_mqtt311_failed_connect_retries_with_growing_waits(mqtt311) -> None:
    link, connection, recorder = mqtt311(floor=0.05, ceiling=0.1)
    link.start()
    for attempt in range(3):
        connection.connected.clear()
        connection.connects[attempt].set_exception(RuntimeError("refused"))
        assert connection.connected.wait(WAIT)
    assert len(recorder.of("disconnected")) == 3
    assert link.policy.streak == 3 and link.policy.longest_wait <= 0.1
    connection.connects[3].set_exception(RuntimeError("refused"))
    assert link.stop(1.0)
