"""Quiet hours, the pause, per-game mute and snooze, and how the notification policy obeys them (fake clock)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from pydt_tray.core.diff import Snapshot, diff_snapshots
from pydt_tray.core.models import Game
from pydt_tray.core.policy import NotificationPolicy
from pydt_tray.core.quiet import GamePrefs, Quiet, QuietHours, Silence, next_morning, parse_quiet_hours, parse_snooze
from pydt_tray.core.settings_table import SPECS, SettingsError, validate
from pydt_tray.core.state import State
from tests.helpers.wall_clock import Clock, at, utc

ME, ALICE = "76561190000000001", "76561190000000002"


def _contains(hours: QuietHours, moment: datetime) -> bool:
    return hours.period_start(moment) is not None


def game(game_id: str, current: str = ME, turn: int = 5, name: str = "") -> Game:
    return Game.from_json(
        {
            "gameId": game_id,
            "displayName": name or f"Game {game_id}",
            "inProgress": True,
            "currentPlayerSteamId": current,
            "gameTurnRangeKey": turn,
            "round": turn,
            "players": [{"steamId": ALICE}, {"steamId": ME}],
        }
    )


def snap(*games: Game) -> Snapshot:
    return Snapshot.build(ME, list(games))


# --- parsing -----------------------------------------------------------------------------------------------


def test_parse_quiet_hours_forms():
    assert parse_quiet_hours("") is None
    assert parse_quiet_hours("  ") is None
    assert parse_quiet_hours("22:00-07:30") == QuietHours(22 * 60, 7 * 60 + 30)
    assert parse_quiet_hours("9:05 - 17:00 mon,wed") == QuietHours(9 * 60 + 5, 17 * 60, frozenset({0, 2}))
    assert parse_quiet_hours("22:00-07:00 fri-mon").days == frozenset({4, 5, 6, 0})
    assert parse_quiet_hours("22:00-07:00 SUN-thu").days == frozenset({6, 0, 1, 2, 3})


@pytest.mark.parametrize("text", ["22-07", "24:00-07:00", "22:00-07:60", "22:00-22:00", "22:00-07:00 someday", "x"])
def test_bad_quiet_hours_are_refused_by_the_setting(text):
    with pytest.raises(ValueError):
        parse_quiet_hours(text)
    with pytest.raises(SettingsError, match="quiet_hours"):
        validate(SPECS["quiet_hours"], text)


def test_parse_snooze():
    assert parse_snooze("1h") == ("seconds", 3600.0)
    assert parse_snooze("30m") == ("seconds", 1800.0)
    assert parse_snooze("2d") == ("seconds", 172800.0)
    assert parse_snooze("tomorrow") == ("tomorrow", 0.0)
    assert parse_snooze("turn") == ("turn", 0.0)
    for bad in ("", "0h", "soon", "1y"):
        with pytest.raises(ValueError):
            parse_snooze(bad)


# --- quiet hours -------------------------------------------------------------------------------------------


def test_quiet_hours_across_midnight():
    hours = QuietHours(22 * 60, 7 * 60)
    assert not _contains(hours, utc(at("2026-11-30 21:59")))
    assert _contains(hours, utc(at("2026-11-30 22:00")))
    assert _contains(hours, utc(at("2026-12-01 03:00")))
    assert _contains(hours, utc(at("2026-12-01 06:59")))
    assert not _contains(hours, utc(at("2026-12-01 07:00")))
    assert hours.period_end(utc(at("2026-11-30 23:00"))) == utc(at("2026-12-01 07:00"))
    assert hours.period_end(utc(at("2026-12-01 01:00"))) == utc(at("2026-12-01 07:00"))


def test_quiet_days_name_the_evening_a_period_starts():
    fridays = QuietHours(22 * 60, 7 * 60, frozenset({4}))  # Friday night only
    assert _contains(fridays, utc(at("2026-12-04 23:00")))  # Friday evening
    assert _contains(fridays, utc(at("2026-12-05 06:00")))  # Saturday early morning: still Friday's night
    assert not _contains(fridays, utc(at("2026-12-05 23:00")))  # Saturday evening
    assert not _contains(fridays, utc(at("2026-12-04 06:00")))  # Friday early morning belongs to Thursday
    daytime = QuietHours(9 * 60, 17 * 60, frozenset({0}))
    assert _contains(daytime, utc(at("2026-11-30 12:00")))  # Monday
    assert not _contains(daytime, utc(at("2026-12-01 12:00")))  # Tuesday


def test_quiet_hours_use_local_time():
    plus_two = timezone(timedelta(hours=2))
    clock = Clock(at("2026-11-30 20:30"))  # 22:30 at UTC+2
    hours = QuietHours(22 * 60, 7 * 60)
    quiet = Quiet({}, hours=lambda: hours, clock=clock, local=lambda t: datetime.fromtimestamp(t, plus_two))
    assert quiet.is_quiet()
    assert quiet.quiet_until() == at("2026-12-01 05:00")  # 07:00 at UTC+2
    assert quiet.status() == "Quiet hours until 07:00"


def test_pause_for_an_hour_and_resume():
    clock = Clock(at("2026-11-30 12:00"))
    store: dict[str, Any] = {}
    quiet = Quiet(store, hours=lambda: None, clock=clock, local=utc)
    assert not quiet.is_quiet()
    quiet.pause_for(3600)
    assert quiet.is_quiet() and quiet.status() == "Notifications paused until 13:00"
    clock.set("2026-11-30 12:59:59")
    assert quiet.is_quiet()
    clock.set("2026-11-30 13:00")
    assert not quiet.is_quiet()
    quiet.pause_for(3600)
    quiet.resume()
    assert not quiet.is_quiet()
    assert "paused_until" not in store


def test_pause_until_tomorrow_morning():
    assert next_morning(at("2026-11-30 15:00"), utc) == at("2026-12-01 08:00")
    assert next_morning(at("2026-11-30 23:30"), utc) == at("2026-12-01 08:00")
    assert next_morning(at("2026-12-01 02:00"), utc) == at("2026-12-01 08:00")  # the coming morning
    clock = Clock(at("2026-11-30 15:00"))
    quiet = Quiet({}, hours=lambda: None, clock=clock, local=utc)
    quiet.pause_until_morning()
    clock.set("2026-12-01 07:59")
    assert quiet.is_quiet()
    clock.set("2026-12-01 08:00")
    assert not quiet.is_quiet()


def test_resume_ends_the_quiet_hours_under_way_until_the_next_period():
    clock = Clock(at("2026-11-30 23:00"))
    quiet = Quiet({}, hours=lambda: QuietHours(22 * 60, 7 * 60), clock=clock, local=utc)
    assert quiet.is_quiet()
    quiet.resume()
    assert not quiet.is_quiet()
    clock.set("2026-12-01 06:00")
    assert not quiet.is_quiet()
    clock.set("2026-12-01 22:00")  # the next night is quiet again
    assert quiet.is_quiet()


# --- per game ----------------------------------------------------------------------------------------------


def test_mute_and_unmute():
    store: dict[str, Any] = {}
    prefs = GamePrefs(store, clock=Clock(0.0), local=utc)
    a = game("a")
    assert not prefs.silenced(a)
    prefs.mute("a")
    assert prefs.is_muted("a") and prefs.silenced(a)
    assert store == {"a": {"muted": True}}
    prefs.unmute("a")
    assert not prefs.silenced(a) and store == {}


def test_snooze_for_a_time_expires():
    clock = Clock(at("2026-11-30 12:00"))
    store: dict[str, Any] = {}
    prefs = GamePrefs(store, clock=clock, local=utc)
    a = game("a")
    assert prefs.snooze("a", "1h") == "until Mon 13:00"
    assert prefs.silenced(a) and prefs.snoozed_until(a) == at("2026-11-30 13:00")
    clock.set("2026-11-30 12:59:59")
    assert prefs.silenced(a)
    clock.set("2026-11-30 13:00")
    assert not prefs.silenced(a)
    assert store == {}  # the expired snooze was tidied away


def test_snooze_until_tomorrow():
    clock = Clock(at("2026-11-30 12:00"))
    prefs = GamePrefs({}, clock=clock, local=utc)
    prefs.snooze("a", "tomorrow")
    clock.set("2026-12-01 07:59")
    assert prefs.silenced(game("a"))
    clock.set("2026-12-01 08:00")
    assert not prefs.silenced(game("a"))


def test_snooze_until_the_next_turn():
    prefs = GamePrefs({}, clock=Clock(0.0), local=utc)
    assert prefs.snooze("a", "turn", game("a", turn=5)) == "until its next turn"
    assert prefs.silenced(game("a", turn=5))
    assert prefs.snoozed_until(game("a", turn=5)) == "turn"
    assert not prefs.silenced(game("a", turn=7))
    assert not prefs.silenced(game("a", turn=5))  # forgotten once the turn moved on
    with pytest.raises(ValueError):
        prefs.snooze("b", "turn")


def test_mute_and_snooze_survive_a_restart(tmp_path):
    state = State(tmp_path / "state.json")
    GamePrefs(state.games, clock=Clock(at("2026-11-30 12:00")), local=utc).mute("a")
    GamePrefs(state.games, clock=Clock(at("2026-11-30 12:00")), local=utc).snooze("b", "2h")
    Quiet(state.quiet, hours=lambda: None, clock=Clock(at("2026-11-30 12:00")), local=utc).pause_for(600)
    state.save()
    loaded, problems = State.load(tmp_path / "state.json")
    assert problems == []
    prefs = GamePrefs(loaded.games, clock=Clock(at("2026-11-30 13:00")), local=utc)
    assert prefs.is_muted("a") and prefs.silenced(game("b")) and not prefs.silenced(game("c"))
    assert Quiet(loaded.quiet, hours=lambda: None, clock=Clock(at("2026-11-30 12:05")), local=utc).is_quiet()


def test_a_broken_section_in_the_state_file_is_reset_and_reported(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"version": 1, "games": [1, 2], "quiet": {"paused_until": "soon"}}')
    state, problems = State.load(path)
    assert state.games == {} and "games is not an object" in problems[0]
    assert not Quiet(state.quiet, hours=lambda: None, clock=Clock(0.0), local=utc).is_quiet()


# --- the policy with a gate --------------------------------------------------------------------------------


class Store:
    def __init__(self) -> None:
        self.notified: set[str] = set()
        self.reminded_at: dict[str, float] = {}

    def was_notified(self, key: str) -> bool:
        return key in self.notified

    def mark_notified(self, key: str) -> None:
        self.notified.add(key)

    def notified_keys(self) -> set[str]:
        return set(self.notified)

    def prune(self, keep_keys: set[str]) -> None:
        self.notified &= keep_keys
        self.reminded_at = {k: v for k, v in self.reminded_at.items() if k in keep_keys}


class Rig:
    """A policy with a real Silence on a fake clock."""

    def __init__(self, now: str, *, hours: str = "", minutes: int = 0) -> None:
        self.clock = Clock(at(now))
        self.quiet_store: dict[str, Any] = {}
        self.games_store: dict[str, Any] = {}
        self.hours = hours
        self.away = False
        self.inhibited = False
        self.quiet = Quiet(self.quiet_store, hours=lambda: parse_quiet_hours(self.hours), clock=self.clock, local=utc)
        self.prefs = GamePrefs(self.games_store, clock=self.clock, local=utc)
        self.silence = Silence(self.quiet, self.prefs, away=lambda: self.away, inhibited=lambda: self.inhibited)
        self.policy = NotificationPolicy(
            Store(), enabled=lambda: True, reminder_minutes=lambda: minutes, clock=self.clock, gate=self.silence
        )
        self.snapshot: Snapshot | None = None

    def fetch(self, *games: Game):
        new = snap(*games)
        events = diff_snapshots(self.snapshot, new)
        self.snapshot = new
        return self.policy.on_events(events, new, lambda sid: None)

    def tick(self):
        assert self.snapshot is not None
        return self.policy.reminder(self.snapshot, lambda sid: None)


def test_quiet_hours_across_midnight_hold_then_summarise():
    rig = Rig("2026-11-30 21:00", hours="22:00-07:00", minutes=120)
    assert rig.fetch(game("x", ALICE)) is None
    rig.clock.set("2026-11-30 23:30")
    assert rig.fetch(game("a", name="Alpha"), game("x", ALICE)) is None  # held
    rig.clock.set("2026-12-01 02:00")
    assert rig.fetch(game("a", name="Alpha"), game("b", name="Beta"), game("x", ALICE)) is None  # held
    rig.clock.set("2026-12-01 04:00")
    assert rig.tick() is None  # a reminder would be due, but it is still quiet
    rig.clock.set("2026-12-01 06:59")
    assert rig.tick() is None
    rig.clock.set("2026-12-01 07:00")
    summary = rig.tick()
    assert summary is not None and summary.kind == "summary"
    assert summary.title.startswith("2 turns waiting: ")
    assert set(summary.title.split(": ", 1)[1].split(", ")) == {"Alpha", "Beta"}
    assert rig.tick() is None  # once
    rig.clock.set("2026-12-01 08:59")
    assert rig.tick() is None  # the summary counts as the last notice: reminders restart from 07:00
    rig.clock.set("2026-12-01 09:00")
    reminder = rig.tick()
    assert reminder is not None and reminder.kind == "reminder"


def test_no_summary_when_nothing_was_held():
    rig = Rig("2026-11-30 21:00", hours="22:00-07:00")
    assert rig.fetch(game("x", ALICE)) is None
    rig.clock.set("2026-12-01 07:30")
    assert rig.tick() is None


def test_outside_quiet_hours_a_turn_notifies_at_once():
    rig = Rig("2026-11-30 21:00", hours="22:00-07:00")
    note = rig.fetch(game("a", name="Alpha"))
    assert note is not None and note.title == "Your turn: Alpha"


def test_a_pause_holds_then_summarises():
    rig = Rig("2026-11-30 12:00")
    rig.quiet.pause_for(3600)
    assert rig.fetch(game("a", name="Alpha")) is None
    rig.clock.set("2026-11-30 12:30")
    assert rig.tick() is None
    rig.clock.set("2026-11-30 13:00")
    summary = rig.tick()
    assert summary is not None and summary.title == "1 turn waiting: Alpha"


def test_a_muted_game_never_notifies_but_others_do():
    rig = Rig("2026-11-30 12:00", minutes=60)
    rig.prefs.mute("a")
    assert rig.fetch(game("a")) is None
    note = rig.fetch(game("a"), game("b", name="Beta"))
    assert note is not None and note.game_ids == ("b",)
    rig.clock.set("2026-11-30 13:00")
    reminder = rig.tick()
    assert reminder is not None and reminder.game_ids == ("b",)
    rig.prefs.unmute("a")
    assert rig.fetch(game("a", turn=6), game("b")) is not None  # its next turn speaks again


def test_snoozed_game_is_silent_until_the_snooze_ends():
    rig = Rig("2026-11-30 12:00", minutes=30)
    rig.prefs.snooze("a", "1h")
    assert rig.fetch(game("a")) is None
    rig.clock.set("2026-11-30 12:45")
    assert rig.tick() is None
    rig.clock.set("2026-11-30 13:00")
    reminder = rig.tick()
    assert reminder is not None and reminder.game_ids == ("a",)


def test_snooze_until_next_turn_lets_the_next_turn_through():
    rig = Rig("2026-11-30 12:00")
    rig.fetch(game("a", ALICE, turn=4))
    rig.prefs.snooze("a", "turn", game("a", turn=5))
    assert rig.fetch(game("a", turn=5)) is None
    rig.fetch(game("a", ALICE, turn=6))
    assert rig.fetch(game("a", turn=7)) is not None


def test_no_reminders_while_away_or_inhibited():
    rig = Rig("2026-11-30 12:00", minutes=30)
    assert rig.fetch(game("a")) is not None
    rig.away = True
    rig.clock.set("2026-11-30 13:00")
    assert rig.tick() is None
    rig.away = False
    rig.inhibited = True
    assert rig.tick() is None
    rig.inhibited = False
    assert rig.tick() is not None


def test_a_running_app_adopts_mutes_written_by_the_command_line(tmp_path):
    app_state = State(tmp_path / "state.json")
    app_state.save()
    app_prefs = GamePrefs(app_state.games, clock=Clock(0.0), local=utc)
    assert not app_state.adopt_from_disk()  # its own write is not news
    cli_state, _ = State.load(tmp_path / "state.json")
    GamePrefs(cli_state.games).mute("a")
    cli_state.save()
    assert app_state.adopt_from_disk()
    assert app_prefs.is_muted("a")  # the same mapping the app's prefs read
    assert not app_state.adopt_from_disk()
    (tmp_path / "state.json").write_text("{broken")
    assert not app_state.adopt_from_disk() and app_prefs.is_muted("a")
