"""The demo's embedded amqtt broker with the app's own push client (MQTT 3.1.1 over wss)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pydt_tray.core.environment import Endpoints
from pydt_tray.push.connection import PushConfig, PushConnection
from pydt_tray.sandbox.demo_broker import DemoBroker, make_demo_certs
from tests.helpers.push_recorder import PushRecorder
from tests.helpers.tools import require_module

pytestmark = pytest.mark.integration

TOPIC = Endpoints().topic_for("76561190000000100")
WAIT = 10.0


@pytest.fixture(autouse=True)
def _need_amqtt() -> None:
    require_module("amqtt", "pip install 'pydt-tray[demo]'")


def push_config(broker: DemoBroker, topic: str = TOPIC) -> PushConfig:
    return PushConfig(
        endpoint="127.0.0.1",
        port=broker.port,
        region="us-east-1",
        ca_file=broker.ca_file,
        access_key_id="demo",
        secret_access_key="demo-secret",
        client_id="pydt-tray-demo-broker-test",
        topic=topic,
        protocol="mqtt311",
        keepalive_seconds=30,
    )


@pytest.fixture
def broker() -> Iterator[DemoBroker]:
    demo = DemoBroker(tls=True).start()
    try:
        yield demo
    finally:
        demo.stop()


def test_push_connection_receives_hello_over_wss(broker: DemoBroker) -> None:
    assert broker.ws_url == f"wss://127.0.0.1:{broker.port}/mqtt"
    subscribed = threading.Event()
    seen: list[tuple[str, str]] = []
    broker.add_subscribe_listener(lambda client_id, topic: (seen.append((client_id, topic)), subscribed.set()))
    recorder = PushRecorder()
    connection = PushConnection(push_config(broker), recorder)
    connection.start()
    try:
        assert recorder.wait_for("connected") == ("connected", False)
        assert subscribed.wait(WAIT)
        assert seen == [("pydt-tray-demo-broker-test", TOPIC)]
        broker.publish(Endpoints().topic_for("someone-else"), b"not for us")
        broker.publish(TOPIC, b"Hello!")
        assert recorder.wait_for("message") == ("message", TOPIC, b"Hello!")
    finally:
        assert connection.stop(timeout=5)
    assert recorder.of("message") == [("message", TOPIC, b"Hello!")]
    assert recorder.events[-1] == ("stopped",)


def test_publish_from_other_threads(broker: DemoBroker) -> None:
    recorder = PushRecorder()
    connection = PushConnection(push_config(broker), recorder)
    connection.start()
    try:
        recorder.wait_for("connected")
        errors: list[BaseException] = []

        def send() -> None:
            try:
                broker.publish(TOPIC, b"Hello!")
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=send) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert errors == []
        recorder.wait_for("message", count=3)
        assert recorder.of("message") == [("message", TOPIC, b"Hello!")] * 3
    finally:
        assert connection.stop(timeout=5)


def test_stop_is_fast_with_a_client_connected() -> None:
    broker = DemoBroker(tls=True).start()
    cert_dir = Path(broker.ca_file or "").parent
    recorder = PushRecorder()
    connection = PushConnection(push_config(broker), recorder)
    connection.start()
    try:
        recorder.wait_for("connected")
        started = time.monotonic()
        broker.stop()
        elapsed = time.monotonic() - started
        assert elapsed < 2.0, f"broker stop took {elapsed:.2f}s"
        recorder.wait_for("disconnected")
    finally:
        broker.stop()
        assert connection.stop(timeout=5)
    assert not cert_dir.exists()
    with pytest.raises(RuntimeError):
        broker.publish(TOPIC, b"Hello!")


@pytest.mark.expect_warning_logs  # bare TLS connections fail the websocket handshake
def test_certificates_verify_for_localhost_and_loopback_ip(tmp_path: Path) -> None:
    broker = DemoBroker(tls=True, cert_dir=tmp_path / "certs").start()
    try:
        context = ssl.create_default_context(cafile=broker.ca_file)
        for name in ("localhost", "127.0.0.1"):
            with (
                socket.create_connection(("127.0.0.1", broker.port), timeout=WAIT) as raw,
                context.wrap_socket(raw, server_hostname=name) as tls,
            ):
                assert tls.version() is not None
        with (
            socket.create_connection(("127.0.0.1", broker.port), timeout=WAIT) as raw,
            pytest.raises(ssl.SSLCertVerificationError),
        ):
            context.wrap_socket(raw, server_hostname="example.invalid").close()
    finally:
        broker.stop()
    assert (tmp_path / "certs" / "demo-ca.crt").exists()  # a caller-given folder is the caller's to delete


def test_make_demo_certs_writes_a_private_key_only_the_owner_reads(tmp_path: Path) -> None:
    certs = make_demo_certs(tmp_path / "c")
    assert certs.ca_file.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert certs.key_file.stat().st_mode & 0o077 == 0


def test_plain_websocket_broker_with_an_unsigned_awscrt_client() -> None:
    from awscrt import io, mqtt

    broker = DemoBroker().start()
    try:
        assert broker.ws_url.startswith("ws://") and broker.ca_file is None
        client = mqtt.Client(io.ClientBootstrap.get_or_create_static_default(), None)
        connection = mqtt.Connection(
            client, "127.0.0.1", broker.port, client_id="plain-ws-test", use_websockets=True, keep_alive_secs=30
        )
        connection.connect().result(WAIT)
        got: list[bytes] = []
        arrived = threading.Event()
        subscribed, _ = connection.subscribe(
            TOPIC, mqtt.QoS.AT_MOST_ONCE, lambda topic, payload, **_: (got.append(payload), arrived.set())
        )
        subscribed.result(WAIT)
        broker.publish(TOPIC, b"Hello!")
        assert arrived.wait(WAIT)
        assert got == [b"Hello!"]
        connection.disconnect().result(WAIT)
    finally:
        broker.stop()


class Changes:
    """A simulator change hook that lets the test await a particular change."""

    def __init__(self) -> None:
        self.seen: list[tuple[list[str], str, bool]] = []
        self._cond = threading.Condition()

    def __call__(self, steam_ids: list[str], game_id: str, new_turn: bool) -> None:
        with self._cond:
            self.seen.append((steam_ids, game_id, new_turn))
            self._cond.notify_all()

    def wait_for_turn(self, steam_id: str, game_id: str, after: int = 0, timeout: float = WAIT) -> None:
        def found() -> bool:
            return any(steam_id in ids and gid == game_id and new for ids, gid, new in self.seen[after:])

        with self._cond:
            if not self._cond.wait_for(found, timeout):
                raise AssertionError(f"no turn for {steam_id} in {game_id} within {timeout}s; seen {self.seen}")


def test_demo_world_waits_for_the_subscriber_then_plays_around_the_user(broker: DemoBroker) -> None:
    from pydt_tray.core.api import PydtClient
    from pydt_tray.sandbox.demo_world import DEMO_GAMES, USER_ID, DemoWorld
    from pydt_tray.sandbox.simulator import PydtSimulator

    with PydtSimulator() as simulator:
        world = DemoWorld(simulator, broker.publish, seed=3, turn_interval=(0.2, 0.4), first_turn_delay=0.1)
        token = world.populate()
        changes = Changes()
        simulator.add_change_hook(changes)
        broker.add_subscribe_listener(world.on_subscribed)
        world.start(wait_for_subscriber=60)
        first = next(iter(world.game_ids))
        assert world.game_ids[first] == DEMO_GAMES[0].name
        assert simulator.game(first)["currentPlayerSteamId"] == DEMO_GAMES[0].current  # nobody listens yet

        recorder = PushRecorder()
        connection = PushConnection(push_config(broker, world.user_topic), recorder)
        connection.start()
        client = PydtClient(simulator.base_url, token)
        try:
            assert recorder.wait_for("message") == ("message", world.user_topic, b"Hello!")
            changes.wait_for_turn(USER_ID, first)
            assert simulator.game(first)["currentPlayerSteamId"] == USER_ID
            assert [game.display_name for game in client.get_games() if game.current_player_steam_id == USER_ID]

            mark = len(changes.seen)
            client.upload(client.start_submit(first), b"my turn, played")
            assert client.finish_submit(first).current_player_steam_id != USER_ID
            changes.wait_for_turn(USER_ID, first, after=mark)  # the opponents played on, back to the user
        finally:
            world.stop()
            client.close()
            assert connection.stop(timeout=5)


@pytest.mark.parametrize("text, expected", [("5", (5.0, 5.0)), (" 2-4 ", (2.0, 4.0)), ("0.5-1", (0.5, 1.0))])
def test_turn_seconds_parse(text: str, expected: tuple[float, float]) -> None:
    from pydt_tray.sandbox.demo_world import parse_turn_seconds

    assert parse_turn_seconds(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "4-2", "0", "-3", "1-x", "nan", "inf"])
def test_turn_seconds_refuse_nonsense_with_a_clear_message(text: str) -> None:
    from pydt_tray.sandbox.demo_world import TURN_SECONDS_VARIABLE, parse_turn_seconds

    with pytest.raises(ValueError, match=TURN_SECONDS_VARIABLE):
        parse_turn_seconds(text)
