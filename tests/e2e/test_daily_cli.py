"""End to end: ``mute``, ``unmute``, ``snooze``, ``vacation`` and the everyday fields of ``games --json``."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.cli_runner import CliRunner

pytestmark = pytest.mark.e2e

EXIT_OK, EXIT_USAGE = 0, 2


@pytest.fixture
def signed_in(tmp_path: Path, simulator, world, secret_service) -> CliRunner:
    cli = CliRunner(tmp_path, api_url=simulator.base_url, extra_env=dict(secret_service.env))
    result = cli.run("login", "--token-stdin", stdin=world.token + "\n")
    assert result.returncode == EXIT_OK, result.stderr
    return cli


def games_by_id(cli: CliRunner) -> dict[str, dict]:
    result = cli.run("games", "--json")
    assert result.returncode == EXIT_OK, result.stderr
    return {game["id"]: game for game in json.loads(result.stdout)["games"]}


def state_games(cli: CliRunner) -> dict:
    return json.loads((cli.home / "state" / "state.json").read_text())["games"]


def test_mute_unmute_and_snooze_show_in_games_json(signed_in: CliRunner, world) -> None:
    before = games_by_id(signed_in)[world.my_turn_game]
    assert before["muted"] is False and before["snoozedUntil"] is None and before["timerExpiresAt"] is None

    assert signed_in.run("mute", world.my_turn_game).returncode == EXIT_OK
    assert games_by_id(signed_in)[world.my_turn_game]["muted"] is True
    assert state_games(signed_in) == {world.my_turn_game: {"muted": True}}

    assert signed_in.run("unmute", world.my_turn_game).returncode == EXIT_OK
    assert games_by_id(signed_in)[world.my_turn_game]["muted"] is False

    started = time.time()
    result = signed_in.run("snooze", world.their_turn_game, "2h")
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.startswith(f"Snoozed {world.their_turn_game} until ")
    until = games_by_id(signed_in)[world.their_turn_game]["snoozedUntil"]
    seconds = datetime.fromisoformat(until.replace("Z", "+00:00")).timestamp() - started
    assert 7190 <= seconds <= 7300

    result = signed_in.run("snooze", world.my_turn_game, "turn")
    assert result.returncode == EXIT_OK, result.stderr
    assert games_by_id(signed_in)[world.my_turn_game]["snoozedUntil"] == "turn"


def test_snooze_refuses_a_bad_duration_and_an_unknown_game(signed_in: CliRunner, world) -> None:
    bad = signed_in.run("snooze", world.my_turn_game, "a while")
    assert bad.returncode == EXIT_USAGE and "30m" in bad.stderr
    unknown = signed_in.run("snooze", "no-such-game", "turn")
    assert unknown.returncode != EXIT_OK and "no game 'no-such-game'" in unknown.stderr


def test_timer_expires_at_in_games_json(signed_in: CliRunner, simulator, world) -> None:
    simulator.update_game(world.my_turn_game, turnTimerMinutes=90, lastTurnEndDate="2026-11-30T10:00:00.000Z")
    assert games_by_id(signed_in)[world.my_turn_game]["timerExpiresAt"] == "2026-11-30T11:30:00.000Z"


def test_vacation_on_and_off(signed_in: CliRunner, simulator, world) -> None:
    on = signed_in.run("vacation", "on")
    assert on.returncode == EXIT_OK, on.stderr
    assert "ON" in on.stdout
    assert simulator.recorded("setUserInformation")[-1].method == "POST"
    status = signed_in.run("vacation", "status")
    assert "Vacation mode is ON" in status.stdout
    off = signed_in.run("vacation", "off")
    assert off.returncode == EXIT_OK and off.stdout.strip() == "Vacation mode is off"


def test_games_json_carries_unread_smack_from_the_state_file(signed_in: CliRunner, simulator, world) -> None:
    simulator.post_smack_talk(world.their_turn_game, "alice")  # post 2
    simulator.post_smack_talk(world.my_turn_game, "me_on_forum")  # my own post never counts
    path = signed_in.home / "state" / "state.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    reads = {world.their_turn_game: {"read": 1, "notified": 1}, world.my_turn_game: {"read": 1, "notified": 1}}
    path.write_text(json.dumps({"version": 1, "smack": {world.me: reads}}))
    result = signed_in.run("games", "--json")
    assert result.returncode == EXIT_OK, result.stderr
    unread = {game["id"]: game["unreadSmack"] for game in json.loads(result.stdout)["games"]}
    assert unread == {world.their_turn_game: True, world.my_turn_game: False, world.first_turn_game: False}
