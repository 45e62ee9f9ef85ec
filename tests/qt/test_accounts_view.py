"""Several accounts in the window, the tray menu and ``/turns``: grouped and named per account."""

from __future__ import annotations

import json

from pydt_tray.core.account_view import AccountPart, MergedSnapshot
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.turn_api import render_turns
from pydt_tray.ui.games_window import GamesWindow
from tests.qt.test_games_window import ALICE, ME, NAMES, NOW, game

SECOND = "1009"


def merged(shared_turn_of: str = ME) -> MergedSnapshot:
    shared = game("shared", shared_turn_of)
    mine = Snapshot.build(ME, [shared, game("m1", ME), game("m2", ALICE)])
    second = Snapshot.build(SECOND, [shared, game("s1", SECOND)])
    return MergedSnapshot.merge([AccountPart(ME, "Me Myself", mine), AccountPart(SECOND, "Second", second)])


def test_the_window_groups_the_games_under_a_header_per_account(qtbot) -> None:
    window = GamesWindow("games")
    qtbot.addWidget(window)
    window.update_view(merged(), "2 turns", NAMES.get, now=NOW)
    assert window.headers() == ["Me Myself", "Second"]
    names = [row[0] for row in window.rows()]
    # Me: my turns (shared, m1) then the others (m2); Second: its turn (s1), then the shared game it waits in
    assert names == ["Game shared", "Game m1", "Game m2", "Game s1", "Game shared"]
    window.update_view(Snapshot.build(ME, [game("m1", ME)]), "1 turn", NAMES.get, now=NOW)
    assert window.headers() == [] and [row[0] for row in window.rows()] == ["Game m1"]


def test_a_shared_game_is_one_turn_of_the_account_whose_turn_it_is() -> None:
    snapshot = merged(shared_turn_of=SECOND)
    turns = [g.game_id for g in snapshot.my_turns()]
    assert sorted(turns) == ["m1", "s1", "shared"]  # each once
    assert snapshot.owner_of("shared").name == "Second" and snapshot.owner_of("m2").name == "Me Myself"
    assert "shared" not in {g.game_id for g in snapshot.others()}


def test_turns_api_names_the_account_only_with_several() -> None:
    body = json.loads(render_turns(merged(shared_turn_of=SECOND)))
    accounts = {g["id"]: g["account"] for g in body["games"]}
    assert accounts == {"shared": "Second", "s1": "Second", "m1": "Me Myself"} and body["count"] == 3
    single = json.loads(render_turns(Snapshot.build(ME, [game("m1", ME)])))
    assert "account" not in single["games"][0]
