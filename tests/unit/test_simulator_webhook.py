"""The simulator's private user data and the webhook POST it makes on a new turn (contract §6.6)."""

from __future__ import annotations

import json
import socket
import time

import pytest

from pydt_tray.core.api import PydtClient
from pydt_tray.core.api_errors import ApiError
from pydt_tray.sandbox.webhooks import WEBHOOK_TIMEOUT
from tests.helpers.ntfy_relay import NtfyRelay
from tests.helpers.simulator import InstrumentedSimulator
from tests.helpers.simulator_fixtures import World

FIELDS = {"gameName", "userName", "round", "civName", "leaderName", "value1", "value2", "value3", "content", "steamId"}


def test_webhook_url_round_trip(pydt_client: PydtClient, simulator: InstrumentedSimulator, world: World) -> None:
    user, pud = pydt_client.get_current_with_pud()
    assert user.steam_id == world.me and pud.webhook_url == ""
    saved = pydt_client.set_webhook_url("https://hooks.example.invalid/abc")
    assert saved.webhook_url == "https://hooks.example.invalid/abc"
    assert simulator.webhook_url(world.me) == "https://hooks.example.invalid/abc"
    assert "hooks.example" not in repr(saved)  # the URL is a secret
    assert pydt_client.get_current_with_pud()[1].webhook_url == "https://hooks.example.invalid/abc"
    pydt_client.set_webhook_url("")
    assert pydt_client.get_current_with_pud()[1].webhook_url == ""
    request = simulator.recorded("setWebhookUrl")[-1]
    assert request.method == "POST" and request.authorization == world.token


def test_set_webhook_url_refuses_a_body_without_a_string(pydt_client: PydtClient) -> None:
    with pytest.raises(ApiError):
        pydt_client._api_json("POST", "/user/setWebhookUrl", retry=False, json_body={"webhookUrl": 5})


def test_new_turn_posts_the_webhook_before_the_ping(
    simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay
) -> None:
    simulator.set_webhook_url(world.me, f"{ntfy_relay.url}/mytopic")
    simulator.set_webhook_url(world.alice, f"{ntfy_relay.url}/alicetopic")
    seen_at_ping: list[int] = []
    simulator.add_change_hook(lambda ids, game, new: seen_at_ping.append(len(ntfy_relay.messages("mytopic"))))
    simulator.advance_turn(world.their_turn_game)  # Alice -> me
    messages = ntfy_relay.messages("mytopic")
    assert len(messages) == 1 and seen_at_ping == [1]  # the webhook was in before the IoT ping
    assert ntfy_relay.messages("alicetopic") == []  # only the current player's webhook
    body = json.loads(messages[0]["message"])
    assert set(body) == FIELDS
    game = simulator.game(world.their_turn_game)
    assert body["gameName"] == body["value1"] == "Alice is playing"
    assert body["userName"] == body["value2"] == "Me Myself"
    assert body["round"] == body["value3"] == game["round"]
    assert body["content"] == f"It's Me Myself's turn in Alice is playing (Round {game['round']})"
    assert body["steamId"] == world.me and body["leaderName"] and body["civName"]
    request = ntfy_relay.requests("POST")[-1]
    assert request.headers["content-type"] == "application/json"
    delivery = simulator.webhook_deliveries()[-1]
    assert (delivery.status, delivery.error) == (200, None)


def test_game_webhook_first_then_the_players(
    simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay
) -> None:
    simulator.update_game(world.their_turn_game, webhookUrl=f"{ntfy_relay.url}/gametopic")
    simulator.set_webhook_url(world.me, f"{ntfy_relay.url}/mytopic")
    assert ntfy_relay.messages() == []  # a game update sends no webhook
    simulator.advance_turn(world.their_turn_game)
    assert [m["topic"] for m in ntfy_relay.messages()] == ["gametopic", "mytopic"]


def test_no_webhook_and_no_ping_on_vacation(
    simulator: InstrumentedSimulator, world: World, ntfy_relay: NtfyRelay
) -> None:
    simulator.set_webhook_url(world.me, f"{ntfy_relay.url}/mytopic")
    pings: list[list[str]] = []
    simulator.add_change_hook(lambda ids, game, new: pings.append(ids))
    simulator.set_vacation(world.me)
    simulator.advance_turn(world.their_turn_game)
    assert ntfy_relay.messages() == [] and pings == []
    simulator.set_vacation(world.me, False)
    simulator.advance_turn(world.their_turn_game)  # me -> Bob: Bob has no webhook; the ping still goes
    assert pings == [[world.bob]] and ntfy_relay.messages() == []


@pytest.mark.parametrize("url", ["not a url", "/relative/path"])
def test_values_that_are_not_urls_are_skipped(simulator: InstrumentedSimulator, world: World, url: str) -> None:
    simulator.set_webhook_url(world.me, url)
    simulator.advance_turn(world.their_turn_game)
    assert simulator.webhook_deliveries() == []


def test_webhook_errors_are_swallowed_and_time_out(simulator: InstrumentedSimulator, world: World) -> None:
    assert WEBHOOK_TIMEOUT == 5.0 and simulator.webhooks.timeout == 5.0
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    silent = socket.create_server(("127.0.0.1", 0))  # accepts connections, never answers
    try:
        simulator.webhooks.timeout = 0.5
        simulator.set_webhook_url(world.me, f"http://127.0.0.1:{dead_port}/x")
        simulator.advance_turn(world.their_turn_game)  # Alice -> me; no exception
        simulator.advance_turn(world.their_turn_game)  # me -> Bob
        simulator.advance_turn(world.their_turn_game)  # Bob -> Alice
        simulator.set_webhook_url(world.me, f"http://127.0.0.1:{silent.getsockname()[1]}/x")
        started = time.monotonic()
        simulator.advance_turn(world.their_turn_game)  # Alice -> me: the POST waits for its timeout
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    refused, timed_out = simulator.webhook_deliveries()
    assert refused.status is None and "Connection" in (refused.error or "")
    assert timed_out.status is None and "timed out" in (timed_out.error or "")
    assert 0.4 <= elapsed < 3
