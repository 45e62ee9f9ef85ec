"""Turn-timer expiry, countdown and warnings on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pydt_tray.core.diff import Snapshot
from pydt_tray.core.models import Game
from pydt_tray.core.quiet import GamePrefs, Quiet, Silence, parse_quiet_hours
from pydt_tray.core.settings_table import SPECS, SettingsError, validate
from pydt_tray.core.timers import (
    TimerWarnings,
    countdown_text,
    format_span,
    parse_timer_warnings,
    timer_expiry,
)
from tests.helpers.wall_clock import Clock, at, utc

ME, ALICE = "76561190000000001", "76561190000000002"
START = "2026-11-30T10:00:00.000Z"


def game(
    game_id: str = "g",
    current: str = ME,
    *,
    turn: int = 5,
    minutes: int | None = 8 * 60,
    last: str | None = START,
    updated: str = "2026-11-30T09:00:00.000Z",
    handling: str | None = None,
) -> Game:
    data: dict[str, Any] = {
        "gameId": game_id,
        "displayName": f"Game {game_id}",
        "inProgress": True,
        "currentPlayerSteamId": current,
        "gameTurnRangeKey": turn,
        "players": [{"steamId": ALICE}, {"steamId": ME}],
        "updatedAt": updated,
    }
    if minutes is not None:
        data["turnTimerMinutes"] = minutes
    if last is not None:
        data["lastTurnEndDate"] = last
    if handling is not None:
        data["turnTimerVacationHandling"] = handling
    return Game.from_json(data)


def snap(*games: Game) -> Snapshot:
    return Snapshot.build(ME, list(games))


def test_expiry_from_last_turn_end_or_updated_at():
    assert timer_expiry(game()) == datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    assert timer_expiry(game(last=None)) == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert timer_expiry(game(minutes=None)) is None
    assert timer_expiry(game(minutes=0)) is None


def test_vacation_handling_defaults_as_the_service_does():
    assert game().turn_timer_vacation_handling == "SKIP_AFTER_TIMER"
    assert game(handling="PAUSE").turn_timer_vacation_handling == "PAUSE"


def test_countdown_text():
    assert countdown_text(game(), at("2026-11-30 14:40")) == "Timer expires in 3 h 20 min"
    assert countdown_text(game(), at("2026-11-30 17:59:30")) == "Timer expires in less than a minute"
    assert countdown_text(game(), at("2026-11-30 18:00")) == "Timer expires soon…"
    assert countdown_text(game(minutes=None), at("2026-11-30 14:40")) == ""
    assert format_span(2 * 86400 + 3 * 3600 + 59) == "2 d 3 h"
    assert format_span(3600) == "1 h"


def test_parse_timer_warnings():
    assert [p.label for p in parse_timer_warnings("75%, 1h")] == ["75%", "1h"]
    assert [p.label for p in parse_timer_warnings("50 %,30 min, 2d, 1h, 1h")] == ["50%", "30m", "2d", "1h"]
    assert parse_timer_warnings("") == ()
    for bad in ("100%", "0%", "soon", "0h", "75"):
        with pytest.raises(ValueError):
            parse_timer_warnings(bad)
        with pytest.raises(SettingsError, match="timer_warnings"):
            validate(SPECS["timer_warnings"], bad)
    assert SPECS["timer_warnings"].default == "75%, 1h"


class Rig:
    def __init__(self, now: str, *, warnings: str = "75%, 1h", hours: str = "", final_in_quiet: bool = True) -> None:
        self.clock = Clock(at(now))
        self.store: dict[str, Any] = {}
        self.hours = hours
        self.away = False
        self.enabled = True
        self.final_in_quiet = final_in_quiet
        self.silence = Silence(
            Quiet({}, hours=lambda: parse_quiet_hours(self.hours), clock=self.clock, local=utc),
            GamePrefs({}, clock=self.clock, local=utc),
            away=lambda: self.away,
        )
        self.timers = TimerWarnings(
            self.store,
            points=lambda: parse_timer_warnings(warnings),
            final_in_quiet=lambda: self.final_in_quiet,
            enabled=lambda: self.enabled,
            clock=self.clock,
            local=utc,
        )

    def check(self, *games: Game):
        return self.timers.check(snap(*games), self.silence)


def test_warnings_fire_once_each_at_the_right_instant():
    # timer 10:00 -> 18:00: 75% at 16:00, one hour before at 17:00
    rig = Rig("2026-11-30 10:30")
    assert rig.timers.next_due(snap(game())) == at("2026-11-30 16:00")
    assert rig.check(game()) is None
    rig.clock.set("2026-11-30 15:59:59")
    assert rig.check(game()) is None
    rig.clock.set("2026-11-30 16:00")
    first = rig.check(game())
    assert first is not None and first.kind == "timer" and first.game_ids == ("g",)
    assert first.title == "Turn timer: Game g"
    assert first.body.startswith("2 h left (until Mon 18:00), then PYDT skips your turn.")
    assert rig.check(game()) is None  # once
    assert rig.timers.next_due(snap(game())) == at("2026-11-30 17:00")
    rig.clock.set("2026-11-30 16:59:59")
    assert rig.check(game()) is None
    rig.clock.set("2026-11-30 17:00")
    second = rig.check(game())
    assert second is not None and second.body.startswith("1 h left")
    rig.clock.set("2026-11-30 17:30")
    assert rig.check(game()) is None
    assert rig.timers.next_due(snap(game())) is None


def test_no_warning_on_other_players_turns():
    rig = Rig("2026-11-30 17:30")
    assert rig.check(game(current=ALICE)) is None
    assert rig.timers.next_due(snap(game(current=ALICE))) is None


def test_a_new_turn_warns_again():
    rig = Rig("2026-11-30 16:00")
    assert rig.check(game(turn=5)) is not None
    assert rig.check(game(current=ALICE, turn=6)) is None
    rig.clock.set("2026-12-01 16:00")
    again = game(turn=7, last="2026-12-01T10:00:00.000Z")
    assert rig.check(again) is not None
    assert set(rig.store) == {"g:7"}  # the old turn's record is gone


def test_several_points_due_at_once_give_only_the_latest():
    rig = Rig("2026-11-30 17:10")  # the app was not running at 16:00 and 17:00
    note = rig.check(game())
    assert note is not None and note.body.startswith("50 min left")
    assert rig.check(game()) is None


def test_points_before_the_turn_started_are_dropped():
    rig = Rig("2026-11-30 10:00:30", warnings="75%, 1h")
    short = game(minutes=30)  # "1 hour before" a 30-minute timer would be before the turn began
    assert rig.check(short) is None
    rig.clock.set("2026-11-30 10:22:30")
    assert rig.check(short) is not None


def test_no_warning_after_expiry_or_without_a_timer():
    rig = Rig("2026-11-30 18:00")
    assert rig.check(game()) is None
    assert rig.check(game(minutes=None)) is None


def test_quiet_hours_hold_all_but_the_final_warning():
    rig = Rig("2026-11-30 16:00", hours="15:00-20:00")
    assert rig.check(game()) is None  # 75%: held
    rig.clock.set("2026-11-30 17:00")
    final = rig.check(game())
    assert final is not None and final.body.startswith("1 h left")


def test_final_warning_can_be_held_too():
    rig = Rig("2026-11-30 17:00", hours="15:00-20:00", final_in_quiet=False)
    assert rig.check(game()) is None
    rig.clock.set("2026-11-30 17:30")
    assert rig.check(game()) is None  # given (held), not repeated


def test_muted_game_and_vacation_and_disabled_give_no_warnings():
    rig = Rig("2026-11-30 16:00")
    rig.silence.games.mute("g")
    assert rig.check(game()) is None
    rig.silence.games.unmute("g")
    rig.away = True
    rig.clock.set("2026-11-30 17:00")
    assert rig.check(game()) is None
    rig.away = False
    rig.enabled = False
    rig.clock.set("2026-11-30 17:30")
    assert rig.check(game()) is None


@pytest.mark.parametrize(
    ("handling", "words"),
    [
        ("PAUSE", "Vacation mode would pause this timer for you."),
        ("SKIP_AFTER_TIMER", "Vacation mode does not stop this timer."),
        ("SKIP_IMMEDIATELY", "In vacation mode you would be skipped at once."),
    ],
)
def test_wording_follows_the_vacation_handling(handling, words):
    rig = Rig("2026-11-30 17:00")
    note = rig.check(game(handling=handling))
    assert note is not None and note.body.endswith(words)


def test_several_games_make_one_notification():
    rig = Rig("2026-11-30 17:00")
    note = rig.check(game("a"), game("b", last="2026-11-30T10:30:00.000Z"))
    assert note is not None and note.title == "2 turn timers are running out"
    assert note.body == "Game a: 1 h left, Game b: 1 h 30 min left"
