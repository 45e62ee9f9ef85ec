"""The IoT push connection against a real mosquitto over WSS + TLS, for both MQTT flavours."""

from __future__ import annotations

import itertools
import logging
import os
import random
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from pydt_tray.core.environment import Endpoints
from pydt_tray.push.backoff import Backoff
from pydt_tray.push.connection import (
    CLIENT_ID_PREFIX,
    PushConfig,
    PushConfigError,
    PushConnection,
    make_client_id,
    new_install_id,
)
from pydt_tray.push.link import Link
from pydt_tray.push.relay import ListenerRelay
from tests.helpers.kick_server import KickServer
from tests.helpers.mosquitto import Mosquitto, MosquittoCerts, push_env
from tests.helpers.push_recorder import PushRecorder

pytestmark = pytest.mark.integration

TOPIC = Endpoints().topic_for("76561190000000001")
OTHER_TOPIC = Endpoints().topic_for("76561190000000002")
SECRET = "test-secret-do-not-log"
WAIT = 10.0

protocols = pytest.mark.parametrize("protocol", ["mqtt5", "mqtt311"])


def make_config(broker: Mosquitto, protocol: str, **overrides: object) -> PushConfig:
    values: dict[str, object] = {
        "endpoint": "localhost",
        "port": broker.wss_port,
        "region": "us-east-1",
        "ca_file": broker.ca_file,
        "access_key_id": "test",
        "secret_access_key": SECRET,
        "client_id": make_client_id(new_install_id()),
        "topic": TOPIC,
        "protocol": protocol,
        "min_reconnect_seconds": 0.2,
        "max_reconnect_seconds": 0.5,
    }
    values.update(overrides)
    return PushConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def run_push():
    """Start connections for a test (``connected=True``: and await the first connect); stop them all afterwards."""
    started: list[PushConnection] = []

    def start(config: PushConfig, *, connected: bool = False) -> tuple[PushConnection, PushRecorder]:
        recorder = PushRecorder()
        connection = PushConnection(config, recorder)
        started.append(connection)
        connection.start()
        if connected:
            recorder.wait_for("connected")
        return connection, recorder

    yield start
    for connection in started:
        assert connection.stop(timeout=10.0)


# --- against the broker -------------------------------------------------------------------------------


@protocols
def test_connects_subscribes_and_receives(mosquitto: Mosquitto, run_push, protocol: str, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    config = make_config(mosquitto, protocol)
    connection, recorder = run_push(config)

    assert recorder.wait_for("connected") == ("connected", False)
    assert connection.state == "connected"
    mosquitto.publish(OTHER_TOPIC, b"not for us")
    mosquitto.publish(TOPIC, b"Hello!")
    mosquitto.publish(TOPIC, b"marker")
    recorder.wait_for_message(b"marker")
    assert recorder.of("message") == [("message", TOPIC, b"Hello!"), ("message", TOPIC, b"marker")]

    line = mosquitto.wait_for_log(f"as {config.client_id} (", WAIT)
    assert config.client_id.startswith(CLIENT_ID_PREFIX)
    assert "k600" in line, line
    assert ("p5" if protocol == "mqtt5" else "p2") in line, line
    assert "c1" in line, line  # clean start / clean session
    assert "SDK=" not in line, line  # metrics off: nothing written into the username
    mosquitto.wait_for_log(f"Received SUBSCRIBE from {config.client_id}", WAIT)
    assert f"{TOPIC} (QoS 0)" in mosquitto.log_text()
    assert SECRET not in caplog.text


@protocols
def test_broker_restart_reconnects_and_subscribes_again(mosquitto: Mosquitto, run_push, protocol: str) -> None:
    config = make_config(mosquitto, protocol)
    connection, recorder = run_push(config, connected=True)

    mark = mosquitto.log_mark()
    mosquitto.restart()
    recorder.wait_for("disconnected")
    recorder.wait_for("connected", count=2)
    mosquitto.wait_for_log(f"Received SUBSCRIBE from {config.client_id}", WAIT, since=mark)
    mosquitto.publish(TOPIC, b"after restart")
    recorder.wait_for_message(b"after restart")
    assert connection.state == "connected"


@protocols
def test_first_connect_fails_then_connects_by_itself(mosquitto_broker: Mosquitto, run_push, protocol: str) -> None:
    connection, recorder = run_push(make_config(mosquitto_broker, protocol))
    reason = recorder.wait_for("disconnected")[1]
    assert "connect failed" in reason
    assert connection.state in ("backoff", "connecting")
    assert not recorder.of("connected")

    mosquitto_broker.start()
    recorder.wait_for("connected")
    mosquitto_broker.publish(TOPIC, b"Hello!")
    recorder.wait_for_message(b"Hello!")


@protocols
def test_reconnect_now_makes_a_new_connection(mosquitto: Mosquitto, run_push, protocol: str) -> None:
    config = make_config(mosquitto, protocol)
    connection, recorder = run_push(config, connected=True)
    mosquitto.wait_for_log(f"as {config.client_id} (", WAIT)

    mark = mosquitto.log_mark()
    connection.reconnect_now()
    recorder.wait_for("connected", count=2)
    assert recorder.of("disconnected") == [("disconnected", "reconnect requested")]
    mosquitto.wait_for_log(f"as {config.client_id} (", WAIT, since=mark)
    assert mosquitto.log_text().count(f"as {config.client_id} (") == 2
    mosquitto.publish(TOPIC, b"after reconnect")
    recorder.wait_for_message(b"after reconnect")


@protocols
def test_reconnect_now_skips_the_backoff_wait(mosquitto_broker: Mosquitto, run_push, protocol: str) -> None:
    config = make_config(mosquitto_broker, protocol, min_reconnect_seconds=60.0, max_reconnect_seconds=60.0)
    connection, recorder = run_push(config)
    recorder.wait_for("disconnected")
    mosquitto_broker.start()

    started = time.monotonic()
    connection.reconnect_now()
    recorder.wait_for("connected", timeout=WAIT)
    assert time.monotonic() - started < WAIT  # far below the 60 s backoff


@protocols
def test_stop_is_prompt_and_final(mosquitto: Mosquitto, run_push, protocol: str) -> None:
    config = make_config(mosquitto, protocol)
    connection, recorder = run_push(config, connected=True)

    started = time.monotonic()
    assert connection.stop(timeout=5.0)
    assert time.monotonic() - started < 2.0
    assert connection.state == "stopped"
    assert recorder.events[-1] == ("stopped",)
    assert len(recorder.of("stopped")) == 1
    mosquitto.wait_for_log(f"Received DISCONNECT from {config.client_id}", WAIT)  # a clean goodbye
    assert connection.stop() is True  # a second stop is harmless


@protocols
def test_stop_during_backoff_cancels_the_retry(mosquitto_broker: Mosquitto, run_push, protocol: str) -> None:
    connection, recorder = run_push(make_config(mosquitto_broker, protocol))
    recorder.wait_for("disconnected")

    assert connection.stop(timeout=5.0)
    assert recorder.events[-1] == ("stopped",)
    for thread in threading.enumerate():
        if thread.name == "pydt-push-retry":
            thread.join(timeout=2.0)
            assert not thread.is_alive()


@protocols
def test_start_again_after_stop(mosquitto: Mosquitto, run_push, protocol: str) -> None:
    connection, recorder = run_push(make_config(mosquitto, protocol))
    recorder.wait_for("connected")
    assert connection.stop()

    connection.start()
    assert recorder.wait_for("connected", count=2)
    mosquitto.publish(TOPIC, b"second run")
    recorder.wait_for_message(b"second run")
    assert connection.stop()
    kinds = [event[0] for event in recorder.events]
    assert kinds.count("stopped") == 2
    assert kinds.index("stopped") < kinds.index("connected", kinds.index("stopped"))  # run 2 began after run 1 ended


def test_interpreter_exits_cleanly_after_stop(mosquitto: Mosquitto, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, threading
        from pydt_tray.push.connection import PushConfig, PushConnection
        env = os.environ
        connected = threading.Event()
        class Listener:
            def on_push_message(self, topic, payload): pass
            def on_push_connected(self, session_present): connected.set()
            def on_push_disconnected(self, reason): pass
            def on_push_stopped(self): print("stopped", flush=True)
        config = PushConfig(endpoint=env["PYDT_IOT_ENDPOINT"], port=int(env["PYDT_IOT_PORT"]),
            region=env["PYDT_IOT_REGION"], ca_file=env["PYDT_IOT_CA_FILE"],
            access_key_id=env["PYDT_IOT_ACCESS_KEY_ID"], secret_access_key=env["PYDT_IOT_SECRET_ACCESS_KEY"],
            client_id="pydt-tray-exit-test", topic={TOPIC!r})
        connection = PushConnection(config, Listener())
        connection.start()
        assert connected.wait(10), "not connected"
        print("connected", flush=True)
        assert connection.stop()
        """
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYDT_IOT_")}
    env.update(push_env(mosquitto))
    result = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error", "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["connected", "stopped"]
    assert "test-secret" not in result.stdout + result.stderr


# --- the signed WebSocket upgrade -----------------------------------------------------------------------


@protocols
def test_websocket_upgrade_is_sigv4_signed(mosquitto_certs: MosquittoCerts, protocol: str) -> None:
    """A bare TLS server records the upgrade request: the SigV4 query string reaches the broker side."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(mosquitto_certs.cert_file, mosquitto_certs.key_file)
    request: list[bytes] = []
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(WAIT)
        port = server.getsockname()[1]

        def serve_one() -> None:
            conn, _ = server.accept()
            with context.wrap_socket(conn, server_side=True) as tls:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                request.append(data)

        thread = threading.Thread(target=serve_one)
        thread.start()
        recorder = PushRecorder()
        config = PushConfig(
            endpoint="localhost",
            port=port,
            region="us-east-1",
            ca_file=str(mosquitto_certs.ca_file),
            access_key_id="AKIDEXAMPLE",
            secret_access_key=SECRET,
            client_id="pydt-tray-sigv4",
            topic=TOPIC,
            protocol=protocol,
            min_reconnect_seconds=30.0,
            max_reconnect_seconds=30.0,
        )
        connection = PushConnection(config, recorder)
        connection.start()
        try:
            thread.join(WAIT)
            recorder.wait_for("disconnected")
        finally:
            assert connection.stop()
    head = request[0].decode("latin-1")
    request_line = head.split("\r\n", 1)[0]
    assert request_line.startswith("GET /mqtt?"), request_line
    for part in ("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Credential=AKIDEXAMPLE%2F", "us-east-1%2Fiotdevicegateway",
                 "X-Amz-Signature=", "X-Amz-SignedHeaders=", "X-Amz-Date="):  # fmt: skip
        assert part in request_line, request_line
    assert SECRET not in head
    assert "upgrade: websocket" in head.lower()


# --- without a broker -----------------------------------------------------------------------------------


def test_make_client_id() -> None:
    assert make_client_id("abc123", "m1") == "pydt-tray-abc123-m1"
    assert make_client_id("a b/c#+d", "m1") == "pydt-tray-abcd-m1"
    assert len(make_client_id("x" * 500)) == 128
    first, second = make_client_id(new_install_id()), make_client_id(new_install_id())
    assert first != second and first.startswith(CLIENT_ID_PREFIX)
    with pytest.raises(PushConfigError):
        make_client_id("/#+ ")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("port", 0, "port"),
        ("keepalive_seconds", 2, "keepalive"),
        ("topic", "/pydt/+/user/1/gameupdate", "topic"),
        ("protocol", "mqtt4", "protocol"),
        ("secret_access_key", "", "secret"),
        ("min_reconnect_seconds", 5.0, "reconnect"),
        ("endpoint", "", "endpoint"),
    ],
)
def test_config_rejects_bad_values(field: str, value: object, words: str) -> None:
    values = {
        "endpoint": "example.invalid",
        "port": 443,
        "region": "us-east-1",
        "ca_file": None,
        "access_key_id": "id",
        "secret_access_key": SECRET,
        "client_id": "pydt-tray-x",
        "topic": TOPIC,
        "max_reconnect_seconds": 1.0,
    }
    values[field] = value
    with pytest.raises(PushConfigError, match=words):
        PushConfig(**values)  # type: ignore[arg-type]


def test_config_hides_the_secret_and_bounds_the_ping_timeout() -> None:
    config = PushConfig(
        endpoint="example.invalid", port=443, region="us-east-1", ca_file=None, access_key_id="id",
        secret_access_key=SECRET, client_id="pydt-tray-x", topic=TOPIC,
    )  # fmt: skip
    assert SECRET not in repr(config)
    assert config.keepalive_seconds == 600 and config.protocol == "mqtt5"
    assert config.ping_timeout_ms == 30_000
    short = PushConfig(**{**config.__dict__, "keepalive_seconds": 10})
    assert short.ping_timeout_ms == 9_000


def test_unreadable_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    config = PushConfig(
        endpoint="localhost", port=443, region="us-east-1", ca_file=str(tmp_path / "missing.pem"),
        access_key_id="id", secret_access_key=SECRET, client_id="pydt-tray-x", topic=TOPIC,
    )  # fmt: skip
    connection = PushConnection(config, PushRecorder())
    with pytest.raises(PushConfigError, match=r"missing\.pem"):
        connection.start()
    assert connection.state == "stopped"


def test_backoff_grows_with_jitter_and_stays_capped() -> None:
    backoff = Backoff(1.0, 8.0, random.Random(7))
    delays = [backoff.next_delay() for _ in range(20)]
    assert all(1.0 <= delay <= 8.0 for delay in delays)
    assert delays[0] == 1.0  # the first ceiling is the minimum
    assert max(delays[3:]) > 2.0 and len(set(delays[3:])) > 10  # grows, and is jittered
    backoff.reset()
    assert backoff.next_delay() == 1.0


class FakeLink(Link):
    """A link whose SUBACK the test decides; counts reconnect requests."""

    def __init__(self, config: PushConfig, relay: ListenerRelay, refusal: str | None) -> None:
        super().__init__(config, relay)
        self.refusal = refusal
        self.reconnects = threading.Event()
        self.waits: list[float] = []

    def _send_subscribe(self) -> Future:
        future: Future = Future()
        future.set_result(self.refusal)
        return future

    def reconnect_now(self) -> None:
        self.reconnects.set()

    def _drop_and_retry(self, wait: float) -> None:
        self.waits.append(wait)
        self.call_later(wait, self.reconnect_now)

    def _begin_stop(self) -> None:
        self.finish_stop()


@pytest.mark.expect_warning_logs  # the refused subscription is logged
def test_refused_subscription_is_reported_and_retried_later() -> None:
    recorder = PushRecorder()
    config = PushConfig(
        endpoint="localhost", port=443, region="us-east-1", ca_file=None, access_key_id="id",
        secret_access_key=SECRET, client_id="pydt-tray-x", topic=TOPIC, min_reconnect_seconds=0.05,
        max_reconnect_seconds=0.05,
    )  # fmt: skip
    link = FakeLink(config, ListenerRelay(recorder), refusal="NOT_AUTHORIZED")
    link.connection_up(session_present=False)
    assert recorder.events == [("disconnected", "subscribe failed: NOT_AUTHORIZED")]
    assert link.state == "backoff"
    assert link.reconnects.wait(WAIT)
    assert len(link.waits) == 1 and 0.025 <= link.waits[0] <= 0.05  # the policy's wait, within its bounds
    assert link.stop(1.0)

    accepted = FakeLink(config, ListenerRelay(PushRecorder()), refusal=None)
    accepted.connection_up(session_present=False)
    assert accepted.state == "connected"
    assert accepted.relay._listener.events == [("connected", False)]  # type: ignore[attr-defined]


def test_relay_is_silent_after_stopped_and_swallows_listener_errors(caplog) -> None:
    calls: list[str] = []

    class Failing(PushRecorder):
        def on_push_connected(self, session_present: bool) -> None:
            raise RuntimeError("listener bug")

    relay = ListenerRelay(Failing())
    with caplog.at_level(logging.ERROR):
        relay.connected(False)  # raises inside the listener; must not escape
    assert "listener bug" in caplog.text
    relay.message(TOPIC, b"Hello!")
    assert relay.stopped() is True
    assert relay.stopped() is False
    relay.message(TOPIC, b"late")
    relay.disconnected("late")
    listener: PushRecorder = relay._listener  # type: ignore[assignment]
    calls.extend(event[0] for event in listener.events)
    assert calls == ["message", "stopped"]


# --- reconnect timing: quick kicks, the ceiling, starting over after a stable connection ----------------


def kick_config(server: KickServer, certs: MosquittoCerts, protocol: str, **overrides: object) -> PushConfig:
    values: dict[str, object] = {
        "endpoint": "localhost",
        "port": server.port,
        "region": "us-east-1",
        "ca_file": str(certs.ca_file),
        "access_key_id": "test",
        "secret_access_key": SECRET,
        "client_id": make_client_id(new_install_id()),
        "topic": TOPIC,
        "protocol": protocol,
    }
    values.update(overrides)
    return PushConfig(**values)  # type: ignore[arg-type]


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


@protocols
@pytest.mark.parametrize("kick_after", ["suback", "connack", "accept"])
def test_a_server_that_kicks_at_once_gets_growing_waits_not_a_loop(
    mosquitto_certs: MosquittoCerts, run_push, protocol: str, kick_after: str
) -> None:
    """Scaled-down timings (0.2 s doubling to 1.6 s) so the growth shows within a few seconds."""
    with KickServer(mosquitto_certs.cert_file, mosquitto_certs.key_file, kick_after=kick_after) as server:
        config = kick_config(server, mosquitto_certs, protocol, min_reconnect_seconds=0.2, max_reconnect_seconds=1.6)
        connection, recorder = run_push(config)
        recorder.wait_for("disconnected", count=7, timeout=30)
        started = server.accepted[0]
        time.sleep(max(0.0, started + 8.0 - time.monotonic()))
        policy = connection.reconnect_policy
        assert policy is not None
        assert connection.stop(timeout=5.0)
        accepted = [when for when in server.accepted if when <= started + 8.0]
    if kick_after != "accept":
        assert recorder.of("connected") or kick_after == "connack"  # it did get in before being kicked
    # waits 0.1-0.2, 0.2-0.4, 0.4-0.8, then 0.8-1.6 s: at most ~12 attempts in 8 s (a loop would make 30+)
    assert 6 <= len(accepted) <= 13, (len(accepted), gaps(accepted))
    assert max(gaps(accepted)) <= 1.6 + 1.0, gaps(accepted)  # the ceiling, plus the time to connect
    assert min(gaps(accepted)[4:]) >= 0.8, gaps(accepted)  # after four kicks the waits stay long
    assert policy.longest_wait <= 1.6
    assert policy.quick_kicks >= 6 or kick_after != "suback"


@pytest.mark.timeout(150)
def test_with_the_real_timings_a_kicking_server_sees_few_attempts_per_minute(
    mosquitto_certs: MosquittoCerts, run_push
) -> None:
    """The shipped defaults (1 s doubling to 30 s), both flavours at once, for one minute."""
    minute = 60.0
    servers = {
        protocol: KickServer(mosquitto_certs.cert_file, mosquitto_certs.key_file, kick_after="suback")
        for protocol in ("mqtt5", "mqtt311")
    }
    connections = {}
    try:
        for protocol, server in servers.items():
            server.__enter__()
            connections[protocol], _recorder = run_push(kick_config(server, mosquitto_certs, protocol))
        time.sleep(minute)
        policies = {protocol: connection.reconnect_policy for protocol, connection in connections.items()}
        for connection in connections.values():
            assert connection.stop(timeout=5.0)
    finally:
        for server in servers.values():
            server.stop()
    for protocol, server in servers.items():
        accepted = server.accepted
        within = [when for when in accepted if when <= accepted[0] + minute]
        policy = policies[protocol]
        assert policy is not None
        print(f"{protocol}: {len(within)} attempts in the first minute, longest wait {policy.longest_wait:.1f} s")
        # waits of at least 0.5, 1, 2, 4, 8, 15, 15, ... s: no more than 8 attempts can fit in a minute
        assert 5 <= len(within) <= 8, (protocol, gaps(within))
        assert policy.longest_wait <= 30.0
        assert max(gaps(within)) <= 30.0 + 2.0


@protocols
def test_after_a_stable_connection_the_wait_starts_over_at_the_floor(
    mosquitto_broker: Mosquitto, run_push, protocol: str
) -> None:
    """Failed attempts first push the wait up; once a connection held, its loss costs the floor again."""
    config = make_config(
        mosquitto_broker, protocol, min_reconnect_seconds=0.5, max_reconnect_seconds=8.0, stable_connection_seconds=2.0
    )
    connection, recorder = run_push(config)
    recorder.wait_for("disconnected", count=4, timeout=20)  # waits of up to 0.5, 1, 2, 4 s
    policy = connection.reconnect_policy
    assert policy is not None and policy.streak >= 4
    mosquitto_broker.start()
    recorder.wait_for("connected", timeout=20)
    time.sleep(2.5)  # stable now

    mark = mosquitto_broker.log_mark()
    restarted = time.monotonic()
    mosquitto_broker.restart()
    recorder.wait_for("connected", count=2, timeout=20)
    elapsed = time.monotonic() - restarted
    mosquitto_broker.wait_for_log(f"Received SUBSCRIBE from {config.client_id}", WAIT, since=mark)
    # without the reset the next wait would be 4-8 s; with it: at most 0.5 s (+1 s if the broker was not up yet)
    assert elapsed < 3.5, elapsed
    assert policy.quick_kicks == 0
