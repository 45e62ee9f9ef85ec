"""End to end: ``pydt-tray login``, ``accounts`` and ``logout`` with two accounts, the real gnome-keyring and
the PYDT simulator; and the token of an earlier single-account version moving to its account's entry."""

from __future__ import annotations

import json

import pytest

from pydt_tray.core.credentials import SERVICE, USERNAME
from tests.e2e.cli_runner import CliRunner
from tests.e2e.test_cli import EXIT_OK, EXIT_USAGE, assert_no_token, login, stored_token

pytestmark = pytest.mark.e2e

SECOND = "76561190000000009"


@pytest.fixture
def keyring_cli(tmp_path, simulator, secret_service) -> CliRunner:
    """A runner pointed at the simulator and the test's gnome-keyring."""
    return CliRunner(tmp_path, api_url=simulator.base_url, extra_env=dict(secret_service.env))


@pytest.fixture
def two_logged_in(keyring_cli: CliRunner, simulator, world) -> tuple[CliRunner, str]:
    """Both accounts signed in with ``pydt-tray login``; the second has a game of its own, its turn."""
    second_token = simulator.add_user(SECOND, "Second Me")
    simulator.add_game(name="Second alone", players=[SECOND, world.alice], current=SECOND, turn=3)
    for token in (world.token, second_token):
        result = login(keyring_cli, token)
        assert result.returncode == EXIT_OK, result.stderr
    return keyring_cli, second_token


def test_two_logins_are_two_accounts_listed_without_tokens(two_logged_in, world) -> None:
    cli, second_token = two_logged_in
    assert stored_token(world.me) == world.token and stored_token(SECOND) == second_token
    listed = cli.run("accounts", "--json")
    assert listed.returncode == EXIT_OK, listed.stderr
    rows = json.loads(listed.stdout)["accounts"]
    assert [(r["steamId"], r["name"]) for r in rows] == [(world.me, "Me Myself"), (SECOND, "Second Me")]
    table = cli.run("accounts")
    assert "Me Myself" in table.stdout and SECOND in table.stdout
    assert_no_token(cli, world.token, listed.stdout, table.stdout)
    assert_no_token(cli, second_token, listed.stdout, table.stdout)


def test_games_of_both_accounts_each_name_its_account(two_logged_in, world) -> None:
    cli, _second_token = two_logged_in
    result = cli.run("games", "--json")
    assert result.returncode == EXIT_OK, result.stderr
    games = json.loads(result.stdout)["games"]
    owners = {(g["name"], g["account"]["steamId"]) for g in games}
    assert ("Second alone", SECOND) in owners and ("Mine to play", world.me) in owners
    one = cli.run("--account", SECOND, "games", "--json")
    assert {g["account"]["name"] for g in json.loads(one.stdout)["games"]} == {"Second Me"}
    ambiguous = cli.run("vacation", "status")
    assert ambiguous.returncode == EXIT_USAGE and "--account" in ambiguous.stderr


def test_download_picks_the_account_whose_turn_it_is(two_logged_in, simulator, tmp_path) -> None:
    cli, second_token = two_logged_in
    games = json.loads(cli.run("games", "--json").stdout)["games"]
    game_id = next(g["id"] for g in games if g["name"] == "Second alone")
    result = cli.run("download", game_id, "--to", str(tmp_path / "saves"))
    assert result.returncode == EXIT_OK, result.stderr
    assert [r.authorization for r in simulator.recorded("getTurn")] == [second_token]


def test_login_again_replaces_the_token_of_that_account_only(two_logged_in, simulator, world) -> None:
    cli, second_token = two_logged_in
    new_token = simulator.revoke_tokens(world.me)
    result = login(cli, new_token)
    assert result.returncode == EXIT_OK and "replaced" in result.stdout
    assert stored_token(world.me) == new_token and stored_token(SECOND) == second_token
    assert len(json.loads(cli.run("accounts", "--json").stdout)["accounts"]) == 2


def test_logout_one_then_an_unknown_one_then_all(two_logged_in, world) -> None:
    cli, second_token = two_logged_in
    several = cli.run("logout")
    assert several.returncode != EXIT_OK and "--all" in several.stderr and stored_token(SECOND) == second_token
    one = cli.run("logout", SECOND)
    assert one.returncode == EXIT_OK, one.stderr
    assert stored_token(SECOND) is None and stored_token(world.me) == world.token
    unknown = cli.run("logout", "12345")
    assert unknown.returncode == EXIT_USAGE and "12345" in unknown.stderr and world.me in unknown.stderr
    everything = cli.run("logout", "--all")
    assert everything.returncode == EXIT_OK, everything.stderr
    assert stored_token(world.me) is None
    assert json.loads(cli.run("accounts", "--json").stdout)["accounts"] == []


def test_the_token_of_an_earlier_version_moves_to_its_account(keyring_cli: CliRunner, world) -> None:
    from keyring.backends.SecretService import Keyring

    Keyring().set_password(SERVICE, USERNAME, world.token)  # what a single-account version stored
    listed = keyring_cli.run("accounts", "--json")
    assert listed.returncode == EXIT_OK, listed.stderr
    assert [r["steamId"] for r in json.loads(listed.stdout)["accounts"]] == [world.me]
    assert stored_token(world.me) == world.token and Keyring().get_password(SERVICE, USERNAME) is None
    games = keyring_cli.run("games", "--json")
    assert games.returncode == EXIT_OK, games.stderr
