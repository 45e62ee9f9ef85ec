"""The relay push path in the Qt app: setup on the worker, events on the UI thread (real simulator and relay)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pydt_tray.core import logs
from pydt_tray.core.api import PydtClient
from pydt_tray.core.credentials import TokenStore
from pydt_tray.core.relay_store import RELAY_KEY, RelayStore
from pydt_tray.desktop.relay_push import RelayOutcome, RelayPush
from pydt_tray.ui.bridge import BackgroundWorker, MainThreadInvoker
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.ntfy_relay import NtfyRelay
from tests.helpers.simulator import InstrumentedSimulator
from tests.helpers.simulator_fixtures import World

FOREIGN = "https://hooks.example.invalid/keep/me"


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    yield
    logs.clear_secrets()


@pytest.fixture
def relay_push(qtbot, tmp_path) -> Iterator[RelayPush]:
    worker = BackgroundWorker("relay-test")
    invoker = MainThreadInvoker()
    store = RelayStore(
        TokenStore(backend=MemoryKeyring(), plaintext_path=tmp_path / "relay.plaintext", username=RELAY_KEY)
    )
    push = RelayPush(store, submit=worker.submit, call_soon=invoker.call_soon)
    yield push
    push.stop()
    worker.shutdown()


def client_factory(simulator: InstrumentedSimulator, world: World):
    return lambda: PydtClient(simulator.base_url, world.token, timeout=(2.0, 5.0), backoff=0.0)


def test_enable_then_turns_arrive_as_signals(
    qtbot, relay_push: RelayPush, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay
) -> None:
    assert not relay_push.on and relay_push.detail == ""
    with (
        qtbot.waitSignal(relay_push.connected, timeout=10_000),
        qtbot.waitSignal(relay_push.enable_finished, timeout=10_000) as finished,
    ):
        relay_push.enable(client_factory(simulator, world), ntfy_relay.url, "", False)
    outcome: RelayOutcome = finished.args[0]
    assert outcome.ok and "checked end to end" in outcome.text
    assert relay_push.on and relay_push.live and relay_push.detail.endswith("· live")
    topic = simulator.webhook_url(world.me).rsplit("/", 1)[1]
    assert topic not in outcome.text and topic not in relay_push.detail
    with qtbot.waitSignal(relay_push.message, timeout=10_000):
        simulator.advance_turn(world.their_turn_game)
    assert relay_push.messages == 1


def test_a_foreign_webhook_asks_first_and_disable_restores_it(
    qtbot, relay_push: RelayPush, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay
) -> None:
    simulator.set_webhook_url(world.me, FOREIGN)
    make_client = client_factory(simulator, world)
    with qtbot.waitSignal(relay_push.enable_finished, timeout=10_000) as refused:
        relay_push.enable(make_client, ntfy_relay.url, "", False)
    assert refused.args[0].ok is False and refused.args[0].foreign_host == "hooks.example.invalid"
    assert simulator.webhook_url(world.me) == FOREIGN and not relay_push.on
    with qtbot.waitSignal(relay_push.enable_finished, timeout=10_000) as replaced:
        relay_push.enable(make_client, ntfy_relay.url, "", True)
    assert replaced.args[0].ok and "hooks.example.invalid is remembered" in replaced.args[0].text
    seen: list[RelayOutcome] = []
    with qtbot.waitSignal(relay_push.disable_finished, timeout=10_000) as disabled:
        relay_push.disable(make_client, after=seen.append)
    assert disabled.args[0].ok and "hooks.example.invalid is back" in disabled.args[0].text
    assert seen == [disabled.args[0]]
    assert simulator.webhook_url(world.me) == FOREIGN and not relay_push.on


def test_failures_come_back_as_words(
    qtbot, relay_push: RelayPush, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay
) -> None:
    with qtbot.waitSignal(relay_push.enable_finished, timeout=10_000) as refused:
        relay_push.enable(client_factory(simulator, world), "http://relay.example.org", "", False)
    assert refused.args[0].ok is False and "only allowed for a relay on this machine" in refused.args[0].text
    simulator.unauthorized_next("getCurrentWithPud")
    with qtbot.waitSignal(relay_push.enable_finished, timeout=10_000) as unauthorized:
        relay_push.enable(client_factory(simulator, world), ntfy_relay.url, "", False)
    assert unauthorized.args[0].ok is False and "token" in unauthorized.args[0].text
