"""DailyRules: the everyday rules built from real settings and a real state file, on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime

from pydt_tray.core.daily import DailyRules
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.models import Game
from pydt_tray.core.settings import Settings
from pydt_tray.core.state import State

ME, ALICE = "76561190000000001", "76561190000000002"


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


class Clock:
    def __init__(self, text: str) -> None:
        self.now = at(text)

    def __call__(self) -> float:
        return self.now


def game(current: str = ME) -> Game:
    return Game.from_json(
        {
            "gameId": "g",
            "displayName": "Timed",
            "inProgress": True,
            "currentPlayerSteamId": current,
            "gameTurnRangeKey": 4,
            "players": [{"steamId": ALICE}, {"steamId": ME}],
            "lastTurnEndDate": "2026-11-30T10:00:00.000Z",
            "turnTimerMinutes": 600,
        }
    )


def rules(tmp_path, clock: Clock, **values) -> DailyRules:
    return DailyRules(Settings(values=values), State(tmp_path / "state.json"), clock=clock, local=utc)


def test_settings_drive_quiet_hours_and_timer_warnings(tmp_path):
    clock = Clock("2026-11-30 17:30")  # 75% of 10:00..20:00
    daily = rules(tmp_path, clock, quiet_hours="17:00-18:00", timer_warnings="75%, 1h")
    snapshot = Snapshot.build(ME, [game()])
    assert daily.status_lines() == ["Quiet hours until 18:00"]
    assert daily.timer_warning(snapshot) is None  # 75% held by the quiet hours
    clock.now = at("2026-11-30 19:00")
    note = daily.timer_warning(snapshot)
    assert note is not None and note.kind == "timer"


def test_seconds_to_next_check_follows_the_next_warning(tmp_path):
    clock = Clock("2026-11-30 17:29:30")
    daily = rules(tmp_path, clock)
    snapshot = Snapshot.build(ME, [game()])
    assert daily.seconds_to_next_check(snapshot) == 30.0
    assert daily.seconds_to_next_check(Snapshot.build(ME, [game(ALICE)])) == 60.0
    assert daily.seconds_to_next_check(None) == 60.0


def test_status_lines_and_game_notes(tmp_path):
    clock = Clock("2026-11-30 12:00")
    daily = rules(tmp_path, clock)
    assert daily.status_lines() == []
    daily.away = True
    daily.quiet.pause_for(3600)
    assert daily.status_lines() == [
        "You are away (vacation mode): no turn notifications or reminders",
        "Notifications paused until 13:00",
    ]
    assert daily.game_note(game(), ME) == "Timer expires in 8 h"
    daily.games.mute("g")
    daily.games.snooze("g", "2h")
    assert daily.game_note(game(ALICE), ME) == "muted · snoozed until Mon 14:00"


def test_timer_warnings_off_with_notifications_or_an_empty_setting(tmp_path):
    clock = Clock("2026-11-30 19:00")
    snapshot = Snapshot.build(ME, [game()])
    assert rules(tmp_path, clock, notifications_enabled=False).timer_warning(snapshot) is None
    assert rules(tmp_path, clock, timer_warnings="").timer_warning(snapshot) is None
    assert rules(tmp_path, clock).timer_warning(snapshot) is not None
