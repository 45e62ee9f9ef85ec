"""The relay as a push path of the running app: start for the right account, enable/disable while running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pydt_tray.core import logs
from pydt_tray.core.api import PydtClient
from pydt_tray.core.credentials import TokenStore
from pydt_tray.core.relay_path import OFF, RelayPushPath
from pydt_tray.core.relay_setup import RelaySetupError
from pydt_tray.core.relay_store import RELAY_KEY, RelayStore
from pydt_tray.push.ntfy_config import RELAY_TOPIC_LABEL
from pydt_tray.push.ntfy_stream import CONNECTED
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.ntfy_relay import NtfyRelay
from tests.helpers.push_recorder import PushRecorder
from tests.helpers.simulator import InstrumentedSimulator
from tests.helpers.simulator_fixtures import ALICE, World


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    yield
    logs.clear_secrets()


@pytest.fixture
def backend() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def store(backend: MemoryKeyring, tmp_path) -> RelayStore:
    return RelayStore(TokenStore(backend=backend, plaintext_path=tmp_path / "relay.plaintext", username=RELAY_KEY))


@pytest.fixture
def recorder() -> PushRecorder:
    return PushRecorder()


@pytest.fixture
def path(store: RelayStore, recorder: PushRecorder) -> Iterator[RelayPushPath]:
    relay_path = RelayPushPath(store, recorder, verify_timeout=5.0)
    yield relay_path
    relay_path.stop()


def test_enable_streams_at_once_and_a_new_turn_arrives(
    path: RelayPushPath,
    recorder: PushRecorder,
    pydt_client: PydtClient,
    simulator: InstrumentedSimulator,
    world: World,
    ntfy_relay: NtfyRelay,
) -> None:
    assert path.state == OFF and path.start_for(world.me) is False
    path.enable(pydt_client, ntfy_relay.url, keepalive_seconds=ntfy_relay.keepalive)
    recorder.wait_for("connected")
    assert path.state == CONNECTED and path.record is not None
    simulator.advance_turn(world.their_turn_game)
    event = recorder.wait_for("message")
    assert event[1] == RELAY_TOPIC_LABEL and b"Me Myself" in event[2]
    assert len(recorder.of("message")) == 1  # the setup's check message never reached the listener


def test_start_for_only_the_account_it_was_set_up_for(
    path: RelayPushPath,
    store: RelayStore,
    recorder: PushRecorder,
    pydt_client: PydtClient,
    world: World,
    ntfy_relay: NtfyRelay,
) -> None:
    path.enable(pydt_client, ntfy_relay.url, keepalive_seconds=ntfy_relay.keepalive)
    recorder.wait_for("connected")
    path.stop()
    assert path.state == OFF
    other = RelayPushPath(store, PushRecorder())
    assert other.start_for(ALICE) is False and other.state == OFF
    assert path.start_for(world.me) is True
    recorder.wait_for("connected", count=2)


def test_disable_stops_streaming_and_restores(
    path: RelayPushPath,
    recorder: PushRecorder,
    pydt_client: PydtClient,
    simulator: InstrumentedSimulator,
    world: World,
    ntfy_relay: NtfyRelay,
) -> None:
    simulator.set_webhook_url(world.me, "https://old.example.invalid/hook")
    path.enable(pydt_client, ntfy_relay.url, replace=True, keepalive_seconds=ntfy_relay.keepalive)
    recorder.wait_for("connected")
    simulator.fail_next("getCurrentWithPud", 500, count=4)  # every retry fails: the disable cannot happen
    with pytest.raises(Exception, match="error"):
        path.disable(pydt_client)
    recorder.wait_for("connected", count=2)  # still on, so it streams again
    assert path.running
    result = path.disable(pydt_client)
    assert result.outcome == "restored" and path.state == OFF
    assert simulator.webhook_url(world.me) == "https://old.example.invalid/hook"
    assert recorder.events[-1] == ("stopped",)


def test_an_unreadable_store_is_reported_not_raised(
    path: RelayPushPath, backend: MemoryKeyring, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("the keyring daemon went away")

    backend.get_password = broken  # type: ignore[method-assign]
    assert path.start_for(world.me) is False
    assert "relay settings unreadable" in path.problem
    assert "The relay settings could not be read" in caplog.text


def test_a_failed_enable_leaves_it_off(
    path: RelayPushPath, pydt_client: PydtClient, world: World, ntfy_relay: NtfyRelay
) -> None:
    ntfy_relay.stop()
    with pytest.raises(RelaySetupError):
        path.enable(pydt_client, ntfy_relay.url, keepalive_seconds=ntfy_relay.keepalive)
    assert path.state == OFF and not path.running


def test_without_any_secure_keyring_the_relay_is_simply_off(tmp_path, recorder: PushRecorder, world: World) -> None:
    from keyring.backends import fail

    store = RelayStore(TokenStore(backend=fail.Keyring(), plaintext_path=tmp_path / "relay.plaintext"))
    quiet = RelayPushPath(store, recorder)
    assert quiet.start_for(world.me) is False
    assert quiet.problem == "" and quiet.state == OFF
