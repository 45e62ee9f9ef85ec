from datetime import UTC, datetime

import pytest

from pydt_tray.core.models import Game, Metadata, ModelError, parse_date, parse_games, sort_games

ME = "76561190000000001"
OTHER = "76561190000000002"


def game(**fields):
    base = {"gameId": "g1", "displayName": "Game", "players": [{"steamId": ME}, {"steamId": OTHER}]}
    base.update(fields)
    return Game.from_json(base)


def test_dates_become_aware_utc():
    parsed = parse_date("2026-08-02T12:34:56.789Z")
    assert parsed == datetime(2026, 8, 2, 12, 34, 56, 789000, tzinfo=UTC)
    assert parse_date(1_700_000_000_000).tzinfo is UTC
    assert parse_date("not a date") is None
    assert parse_date(None) is None


def test_missing_game_type_defaults_to_civ6_and_unknown_fields_are_ignored():
    parsed = game(someFutureField={"x": 1})
    assert parsed.game_type == "CIV6"
    assert parsed.round == 1 and parsed.game_turn_range_key == 1


def test_your_turn_needs_in_progress_and_current_player():
    assert game(inProgress=True, currentPlayerSteamId=ME).is_your_turn(ME)
    assert not game(inProgress=False, currentPlayerSteamId=ME).is_your_turn(ME)
    assert not game(inProgress=True, currentPlayerSteamId=OTHER).is_your_turn(ME)
    assert not game(inProgress=True, currentPlayerSteamId="").is_your_turn("")


def test_previous_player_skips_ai_and_surrendered():
    parsed = game(
        currentPlayerSteamId=ME,
        players=[{"steamId": OTHER}, {"steamId": ""}, {"steamId": "x", "hasSurrendered": True}, {"steamId": ME}],
    )
    assert parsed.previous_player().steam_id == OTHER


@pytest.mark.parametrize("bad", [[{"displayName": "no id"}], {"not": "a list"}, [{"gameId": "a", "players": 3}]])
def test_malformed_game_lists_raise_model_error(bad):
    with pytest.raises(ModelError):
        parse_games(bad)


def test_sort_puts_my_turns_first_by_flags_then_recency():
    older_mine = game(gameId="a", inProgress=True, currentPlayerSteamId=ME, updatedAt="2026-01-01T00:00:00Z")
    newer_mine = game(gameId="b", inProgress=True, currentPlayerSteamId=ME, updatedAt="2026-02-01T00:00:00Z")
    congress = game(
        gameId="c",
        inProgress=True,
        currentPlayerSteamId=ME,
        flags=["CIV6_CONGRESS_TURN"],
        updatedAt="2025-01-01T00:00:00Z",
    )
    other = game(gameId="d", inProgress=True, currentPlayerSteamId=OTHER, updatedAt="2026-03-01T00:00:00Z")
    ordered = [g.game_id for g in sort_games([other, older_mine, newer_mine, congress], ME)]
    assert ordered == ["c", "b", "a", "d"]


def test_metadata_parses_save_locations():
    meta = Metadata.from_json(
        {
            "hash": "h",
            "metadata": {
                "civGames": [
                    {
                        "id": "CIV6",
                        "displayName": "Civilization 6",
                        "saveExtension": "Civ6Save",
                        "savePath": "/Saves/Hotseat/",
                        "dataPaths": {"steam": "/Sid Meier's Civilization VI"},
                        "saveLocations": {"linux": {"basePath": "home", "prefix": "/.local/share/aspyr-media"}},
                        "runUrls": {"steam": "steam://run/289070/\\dx11"},
                        "awaitWriteFinish": False,
                    }
                ]
            },
        }
    )
    civ6 = meta.civ_game("CIV6")
    assert civ6.save_locations["linux"].prefix == "/.local/share/aspyr-media"
    assert meta.civ_game("CIV7") is None
    with pytest.raises(ModelError):
        Metadata.from_json({"metadata": {"civGames": "nope"}})
