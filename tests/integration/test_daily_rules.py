"""The everyday rules end to end in the core: the simulator over real HTTP, the real fetcher, sync engine, policy,
silence and timer warnings, and a fake wall clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from pydt_tray.core.api import PydtClient
from pydt_tray.core.models import format_date
from pydt_tray.core.policy import Notification, NotificationPolicy
from pydt_tray.core.quiet import GamePrefs, Quiet, Silence, parse_quiet_hours
from pydt_tray.core.state import State
from pydt_tray.core.sync import GameFetcher, SyncEngine, SyncResult
from pydt_tray.core.timers import TimerWarnings, parse_timer_warnings
from pydt_tray.sandbox.simulator import PydtSimulator
from tests.helpers.simulator_fixtures import ALICE, ME, World


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


class Wall:
    def __init__(self, text: str) -> None:
        self.now = at(text)

    def __call__(self) -> float:
        return self.now

    def set(self, text: str) -> None:
        self.now = at(text)


class Daily:
    """The core of the tray app for one user, run synchronously."""

    def __init__(self, simulator: PydtSimulator, token: str, tmp_path: Any, *, hours: str = "") -> None:
        self.wall = Wall("2026-11-30 20:00")
        self.state = State(tmp_path / "state.json")
        self.hours = hours
        self.away = False
        self.quiet = Quiet(self.state.quiet, hours=lambda: parse_quiet_hours(self.hours), clock=self.wall, local=utc)
        self.prefs = GamePrefs(self.state.games, clock=self.wall, local=utc)
        self.silence = Silence(self.quiet, self.prefs, away=lambda: self.away)
        self.policy = NotificationPolicy(
            self.state, enabled=lambda: True, reminder_minutes=lambda: 0, clock=self.wall, gate=self.silence
        )
        self.timers = TimerWarnings(
            self.state.timer_warned,
            points=lambda: parse_timer_warnings("75%, 1h"),
            final_in_quiet=lambda: True,
            clock=self.wall,
            local=utc,
        )
        self.client = PydtClient(simulator.base_url, token, timeout=(2.0, 5.0), backoff=0.0)
        self.fetcher = GameFetcher(self.client)
        self.shown: list[Notification] = []
        self.engine = SyncEngine(self.fetcher.fetch, run_in_background=_now, call_soon=_now, on_result=self._on_result)

    def _on_result(self, result: SyncResult) -> None:
        assert result.outcome.error is None, result.outcome.error
        assert result.snapshot is not None
        self._show(self.policy.on_events(result.events, result.snapshot, lambda sid: None))
        self._show(self.timers.check(result.snapshot, self.silence))

    def _show(self, note: Notification | None) -> None:
        if note is not None:
            self.shown.append(note)

    def fetch(self) -> list[Notification]:
        before = len(self.shown)
        self.engine.request("push", full=True)
        return self.shown[before:]

    def tick(self) -> list[Notification]:
        before = len(self.shown)
        assert self.engine.snapshot is not None
        self._show(self.policy.reminder(self.engine.snapshot, lambda sid: None))
        self._show(self.timers.check(self.engine.snapshot, self.silence))
        return self.shown[before:]


def _now(function: Callable[[], None]) -> None:
    function()


@pytest.fixture
def daily(simulator: PydtSimulator, world: World, tmp_path: Any) -> Iterator[Daily]:
    rig = Daily(simulator, world.token, tmp_path)
    yield rig
    rig.client.close()


def to_me(simulator: PydtSimulator, game_id: str) -> None:
    """Play the others' turns until it is mine."""
    simulator.advance_turn(game_id)
    while simulator.game(game_id)["currentPlayerSteamId"] != ME:
        simulator.advance_turn(game_id)


def titles(notes: list[Notification]) -> list[str]:
    return [note.title for note in notes]


def test_quiet_hours_across_midnight_hold_then_summarise(simulator, world, daily: Daily) -> None:
    daily.hours = "22:00-07:00"
    assert titles(daily.fetch()) == ["Your turn: Mine to play"]
    daily.wall.set("2026-11-30 23:40")
    to_me(simulator, world.their_turn_game)
    to_me(simulator, world.my_turn_game)
    assert daily.fetch() == []
    daily.wall.set("2026-12-01 03:00")
    assert daily.tick() == []
    daily.wall.set("2026-12-01 07:00")
    summary = daily.tick()
    assert len(summary) == 1 and summary[0].kind == "summary"
    assert summary[0].title in (
        "2 turns waiting: Mine to play, Alice is playing",
        "2 turns waiting: Alice is playing, Mine to play",
    )
    assert daily.tick() == []


def test_mute_and_snooze_expiry(simulator, world, daily: Daily) -> None:
    daily.prefs.mute(world.their_turn_game)
    daily.prefs.snooze(world.my_turn_game, "1h")
    assert daily.fetch() == []  # my waiting turn is snoozed
    to_me(simulator, world.their_turn_game)
    assert daily.fetch() == []  # muted
    assert world.their_turn_game in {g.game_id for g in daily.engine.snapshot.my_turns()}  # still listed
    daily.wall.set("2026-11-30 21:00")  # the snooze is over: the next turn in that game speaks
    to_me(simulator, world.my_turn_game)
    assert titles(daily.fetch()) == ["Your turn: Mine to play"]
    daily.prefs.unmute(world.their_turn_game)
    to_me(simulator, world.their_turn_game)
    assert titles(daily.fetch()) == ["Your turn: Alice is playing"]


def test_timer_warnings_fire_once_each_and_not_on_others_turns(simulator, world, daily: Daily) -> None:
    start = format_date(utc(at("2026-11-30 20:00")))
    simulator.update_game(world.my_turn_game, turnTimerMinutes=240, lastTurnEndDate=start)
    simulator.update_game(world.their_turn_game, turnTimerMinutes=240, lastTurnEndDate=start)
    assert titles(daily.fetch()) == ["Your turn: Mine to play"]
    daily.wall.set("2026-11-30 22:59:59")
    assert daily.tick() == []
    daily.wall.set("2026-11-30 23:00")  # 75% of four hours, and also one hour before: one warning
    warned = daily.tick()
    assert [(n.kind, n.game_ids) for n in warned] == [("timer", (world.my_turn_game,))]
    assert daily.tick() == [] and daily.fetch() == []
    assert world.their_turn_game not in str(daily.shown)


def test_vacation_toggle_round_trip_stops_reminders_and_pushes(simulator, world, daily: Daily) -> None:
    pings: list[tuple[list[str], str, bool]] = []
    simulator.add_change_hook(lambda ids, gid, new_turn: pings.append((ids, gid, new_turn)))
    daily.fetch()
    user = daily.client.set_vacation_mode(True)
    daily.away = user.vacation_mode
    assert daily.client.get_current_user().vacation_mode is True
    pings.clear()
    simulator.advance_turn(world.their_turn_game)  # Alice -> me: I am away, so no push
    assert [p for p in pings if p[2]] == []
    assert daily.client.set_vacation_mode(False).vacation_mode is False
    simulator.advance_turn(world.my_turn_game)
    to_me(simulator, world.my_turn_game)
    assert ([ME], world.my_turn_game, True) in pings
    assert ALICE in {sid for ids, _, new_turn in pings if new_turn for sid in ids}
