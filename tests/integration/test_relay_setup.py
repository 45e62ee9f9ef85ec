"""Enabling and disabling the relay against the simulator and the local relay (real HTTP both ways)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pydt_tray.core import logs
from pydt_tray.core.api import PydtClient
from pydt_tray.core.credentials import TokenStore
from pydt_tray.core.relay_setup import ForeignWebhookError, RelaySetup, RelaySetupError
from pydt_tray.core.relay_store import RELAY_KEY, RelayStore, relay_store
from pydt_tray.push.ntfy_config import PROBE_PREFIX, RelayConfigError
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.ntfy_relay import NtfyRelay
from tests.helpers.simulator import InstrumentedSimulator
from tests.helpers.simulator_fixtures import World

FOREIGN = "https://discord.example.invalid/api/webhooks/123/very-secret-part"


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    yield
    logs.clear_secrets()


@pytest.fixture
def backend() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def store(backend: MemoryKeyring, tmp_path: Path) -> RelayStore:
    return RelayStore(TokenStore(backend=backend, plaintext_path=tmp_path / "relay.plaintext", username=RELAY_KEY))


@pytest.fixture
def setup(pydt_client: PydtClient, store: RelayStore) -> RelaySetup:
    return RelaySetup(pydt_client, store, verify_timeout=5.0)


def enable(setup: RelaySetup, relay: NtfyRelay, **options: object):
    return setup.enable(relay.url, keepalive_seconds=relay.keepalive, **options)  # type: ignore[arg-type]


def test_enable_sets_a_fresh_secret_topic_and_checks_it_end_to_end(
    setup: RelaySetup, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay, backend: MemoryKeyring
) -> None:
    result = enable(setup, ntfy_relay)
    record = result.record
    assert len(record.topic) >= 32  # 24 random bytes, base64url: 192 bits
    assert simulator.webhook_url(world.me) == f"{ntfy_relay.url}/{record.topic}"
    assert record.previous_webhook == "" and result.replaced_host is None
    assert result.check_ms > 0
    checks = ntfy_relay.messages(record.topic)
    assert len(checks) == 1 and checks[0]["message"].startswith(PROBE_PREFIX)
    stored = json.loads(backend.entries[("pydt-tray", RELAY_KEY)])
    assert stored["topic"] == record.topic and stored["steamId"] == world.me
    assert logs.redact(f"url {record.webhook_url}") == f"url {ntfy_relay.url}/<redacted>"
    assert setup.load() == record
    assert record.topic not in repr(record)
    # another enable makes another topic
    again = enable(setup, ntfy_relay)
    assert again.record.topic != record.topic and again.record.previous_webhook == ""


def test_a_new_turn_reaches_the_topic(
    setup: RelaySetup, simulator: InstrumentedSimulator, world: World, ntfy_relay
) -> None:
    record = enable(setup, ntfy_relay).record
    simulator.advance_turn(world.their_turn_game)
    turn = [m for m in ntfy_relay.messages(record.topic) if not m["message"].startswith(PROBE_PREFIX)]
    assert len(turn) == 1 and json.loads(turn[0]["message"])["steamId"] == world.me


def test_a_foreign_webhook_is_never_replaced_without_consent(
    setup: RelaySetup, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay, backend: MemoryKeyring
) -> None:
    simulator.set_webhook_url(world.me, FOREIGN)
    with pytest.raises(ForeignWebhookError) as refused:
        enable(setup, ntfy_relay)
    assert refused.value.host == "discord.example.invalid"
    assert "discord.example.invalid" in str(refused.value) and "very-secret-part" not in str(refused.value)
    assert simulator.webhook_url(world.me) == FOREIGN
    assert simulator.request_count("setWebhookUrl") == 0 and backend.entries == {}
    assert ntfy_relay.subscribes() == []


def test_replace_remembers_the_foreign_webhook_and_disable_restores_it(
    setup: RelaySetup, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay, backend: MemoryKeyring
) -> None:
    simulator.set_webhook_url(world.me, FOREIGN)
    result = enable(setup, ntfy_relay, replace=True)
    assert result.replaced_host == "discord.example.invalid"
    assert result.record.previous_webhook == FOREIGN
    assert logs.redact(FOREIGN) == "<redacted>"
    enable(setup, ntfy_relay)  # enabling again keeps the original, not our first topic
    assert setup.load().previous_webhook == FOREIGN  # type: ignore[union-attr]
    outcome = setup.disable()
    assert (outcome.outcome, outcome.host) == ("restored", "discord.example.invalid")
    assert simulator.webhook_url(world.me) == FOREIGN and backend.entries == {}
    assert setup.disable().outcome == "off"


def test_disable_clears_our_webhook(
    setup: RelaySetup, simulator: InstrumentedSimulator, world: World, ntfy_relay
) -> None:
    enable(setup, ntfy_relay)
    assert setup.disable().outcome == "cleared"
    assert simulator.webhook_url(world.me) == ""


def test_disable_leaves_a_webhook_changed_elsewhere(
    setup: RelaySetup, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay
) -> None:
    enable(setup, ntfy_relay)
    simulator.set_webhook_url(world.me, FOREIGN)  # the user changed it on the website
    outcome = setup.disable()
    assert (outcome.outcome, outcome.host) == ("left", "discord.example.invalid")
    assert simulator.webhook_url(world.me) == FOREIGN and setup.load() is None


def test_a_failed_check_puts_the_webhook_back(
    setup: RelaySetup, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay, backend: MemoryKeyring
) -> None:
    simulator.set_webhook_url(world.me, FOREIGN)
    ntfy_relay.fail_next(503, kind="publish")
    with pytest.raises(RelaySetupError, match="could not publish the check message"):
        enable(setup, ntfy_relay, replace=True)
    assert simulator.webhook_url(world.me) == FOREIGN and backend.entries == {}


def test_an_unreachable_relay_changes_nothing(
    setup: RelaySetup, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay, backend: MemoryKeyring
) -> None:
    ntfy_relay.stop()
    with pytest.raises(RelaySetupError, match="nothing was changed"):
        enable(setup, ntfy_relay)
    assert simulator.request_count("setWebhookUrl") == 0 and backend.entries == {}


def test_protected_topics_take_the_access_token(
    setup: RelaySetup, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay
) -> None:
    setup_topic = "protectedTopic0123456789abcdefghij"
    ntfy_relay.protect(setup_topic, "tk_relaytoken")
    protected = RelaySetup(setup._client, setup._store, verify_timeout=5.0, topic_factory=lambda: setup_topic)
    with pytest.raises(RelaySetupError, match="wants an access token"):
        enable(protected, ntfy_relay)
    assert simulator.webhook_url(world.me) == ""
    record = enable(protected, ntfy_relay, token="tk_relaytoken").record
    assert record.token == "tk_relaytoken" and "tk_relaytoken" not in repr(record)
    assert logs.redact("Bearer tk_relaytoken") == "Bearer <redacted>"
    assert all(r.headers.get("authorization") == "Bearer tk_relaytoken" for r in ntfy_relay.requests()[-2:])


@pytest.mark.parametrize("server", ["http://ntfy.sh", "http://192.168.1.20:8080", "ftp://127.0.0.1"])
def test_plain_http_to_another_host_is_refused_before_anything_happens(
    setup: RelaySetup, simulator: InstrumentedSimulator, server: str
) -> None:
    with pytest.raises(RelayConfigError):
        setup.enable(server)
    assert simulator.request_count("getCurrentWithPud") == 0


def test_status(setup: RelaySetup, simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay) -> None:
    assert setup.status().enabled is False
    record = enable(setup, ntfy_relay).record
    status = setup.status()
    assert (status.enabled, status.webhook_ok, status.reachable, status.server) == (True, True, True, ntfy_relay.url)
    assert status.topic_hint == f"…/{record.topic[:4]}…" and status.last_message_time is None  # the check is no turn
    simulator.advance_turn(world.their_turn_game)
    assert setup.status().last_message_time is not None
    simulator.set_webhook_url(world.me, "")
    ntfy_relay.stop()
    status = setup.status()
    assert status.webhook_ok is False and status.reachable is False and "could not reach" in (status.problem or "")


def test_plaintext_store_only_when_the_token_uses_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pydt_tray.core.credentials.find_secure_backend", lambda: None)
    assert relay_store(tmp_path).backend_name == "none (no secure keyring)"
    (tmp_path / "token.plaintext").write_text("x\n")
    assert relay_store(tmp_path).backend_name.startswith("plain file ")


def test_an_unreadable_stored_entry_counts_as_off_and_says_so(
    setup: RelaySetup, backend: MemoryKeyring, ntfy_relay: NtfyRelay, caplog: pytest.LogCaptureFixture
) -> None:
    backend.entries[("pydt-tray", RELAY_KEY)] = '{"version": 1, "server": "http://example.org", "topic": "x"}'
    assert setup.load() is None
    assert "stored relay settings are unreadable" in caplog.text
    assert enable(setup, ntfy_relay).record == setup.load()  # a fresh setup replaces it
