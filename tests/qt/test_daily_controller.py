"""DailyController: pause entries, "I'm away" with its confirmation, per-game actions, timer warnings and the
update notice, against the simulator and a local release feed over real HTTP."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pydt_tray.core.api import PydtClient
from pydt_tray.core.daily import VACATION_OFF_QUESTION, VACATION_ON_QUESTION, DailyRules
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.policy import Notification
from pydt_tray.core.settings import Settings
from pydt_tray.core.state import State
from pydt_tray.desktop.daily import DailyController
from pydt_tray.sandbox.simulator import PydtSimulator
from pydt_tray.ui.bridge import BackgroundWorker, MainThreadInvoker
from tests.helpers.release_feed import Feed
from tests.helpers.simulator_fixtures import World

WAIT_MS = 10_000


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


class Clock:
    def __init__(self, text: str) -> None:
        self.now = datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self, simulator: PydtSimulator, world: World, tmp_path: Path, feed_url: str = "") -> None:
        self.clock = Clock("2026-11-30 12:00")
        self.settings = Settings()
        self.state = State(tmp_path / "state.json")
        self.rules = DailyRules(self.settings, self.state, feed_url=feed_url, clock=self.clock, local=utc)
        self.api = PydtClient(simulator.base_url, world.token, timeout=(2.0, 5.0), backoff=0.0)
        self.snap: Snapshot | None = Snapshot.build(world.me, self.api.get_games())
        self.shown: list[Notification] = []
        self.changes = 0
        self.questions: list[str] = []
        self.answer = True
        self.opened: list[str] = []
        self.worker = BackgroundWorker("test-daily")
        self.invoker = MainThreadInvoker()
        threads = {"run_in_background": self.worker.submit, "call_soon": self.invoker.call_soon}
        self.controller = DailyController(
            self.rules, self, self.shown.append, threads, confirm=self._confirm, open_url=self.opened.append
        )
        self.controller.changed.connect(self._changed)

    def client(self) -> PydtClient | None:  # the session's view the controller reads
        return self.api

    def snapshot(self) -> Snapshot | None:
        return self.snap

    def _changed(self) -> None:
        self.changes += 1

    def _confirm(self, question: str) -> bool:
        self.questions.append(question)
        return self.answer

    def close(self) -> None:
        self.controller.stop()
        self.worker.shutdown()
        self.api.close()


@pytest.fixture
def rig(qtbot, simulator: PydtSimulator, world: World, tmp_path: Path) -> Iterator[Rig]:
    made = Rig(simulator, world, tmp_path)
    yield made
    made.close()


def texts(actions: tuple[tuple[str, str], ...]) -> list[str]:
    return [text for _key, text in actions]


def test_pause_entries_follow_the_pause(rig: Rig) -> None:
    assert texts(rig.controller.tray_actions()) == [
        "Pause notifications for 1 hour",
        "Pause notifications until tomorrow morning",
        "I'm away (vacation mode)",
    ]
    assert rig.controller.handle("daily:pause-1h")
    assert rig.rules.quiet.is_quiet() and rig.changes == 1
    assert texts(rig.controller.tray_actions())[0] == "Resume notifications"
    assert rig.rules.status_lines() == ["Notifications paused until 13:00"]
    assert rig.controller.handle("daily:resume")
    assert not rig.rules.quiet.is_quiet()
    assert rig.controller.handle("daily:pause-morning")
    assert rig.rules.quiet.paused_until() == Clock("2026-12-01 08:00").now
    assert not rig.controller.handle("settings")
    assert not rig.controller.handle("daily:nonsense")


def test_away_toggle_asks_first_and_round_trips_with_the_service(rig: Rig, qtbot, simulator, world) -> None:
    rig.answer = False
    rig.controller.handle("daily:away")
    assert rig.questions == [VACATION_ON_QUESTION]
    assert simulator.request_count("setUserInformation") == 0  # "no" changes nothing

    rig.answer = True
    rig.controller.handle("daily:away")
    qtbot.waitUntil(lambda: rig.rules.away, timeout=WAIT_MS)
    assert rig.api.get_current_user().vacation_mode is True
    assert "✓ I'm away (vacation mode)" in texts(rig.controller.tray_actions())
    assert rig.rules.status_lines()[0].startswith("You are away")

    rig.controller.handle("daily:away")
    assert rig.questions[-1] == VACATION_OFF_QUESTION
    qtbot.waitUntil(lambda: not rig.rules.away, timeout=WAIT_MS)
    assert rig.api.get_current_user().vacation_mode is False


def test_a_failed_away_toggle_is_reported_and_changes_nothing(rig: Rig, qtbot, simulator, caplog) -> None:
    simulator.fail_next("setUserInformation", 500)
    with qtbot.waitSignal(rig.controller.away_failed, timeout=WAIT_MS) as failed:
        rig.controller.handle("daily:away")
    assert failed.args and failed.args[0]
    assert rig.rules.away is False and not rig.controller.away_busy
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        f"Vacation mode not switched: {failed.args[0]}"
    ]


def test_vacation_switched_on_the_website_is_taken_from_the_user(rig: Rig, qtbot) -> None:
    before = rig.api.get_current_user()
    rig.controller.on_user(before)
    assert not rig.rules.away
    rig.controller.on_user(rig.api.set_vacation_mode(True))  # switched on the website
    assert rig.rules.away
    rig.controller.handle("daily:away")  # and off again here
    qtbot.waitUntil(lambda: not rig.rules.away, timeout=WAIT_MS)
    rig.controller.on_user(rig.api.get_current_user())
    assert not rig.rules.away


def test_a_user_fetched_before_the_switch_does_not_undo_it(rig: Rig, qtbot) -> None:
    stale = rig.api.get_current_user()  # vacation off: what the fetcher keeps holding
    rig.controller.on_user(stale)
    rig.controller.handle("daily:away")
    qtbot.waitUntil(lambda: rig.rules.away, timeout=WAIT_MS)
    rig.controller.on_user(stale)
    assert rig.rules.away


def test_game_actions_snooze_and_mute(rig: Rig, world) -> None:
    game = rig.snap.by_id()[world.my_turn_game] if rig.snap else None
    assert game is not None
    assert texts(rig.controller.game_actions(game)) == [
        "Snooze for 1 hour",
        "Snooze until tomorrow",
        "Snooze until its next turn",
        "Mute this game",
    ]
    assert rig.controller.handle(f"daily:snooze-turn:{game.game_id}")
    assert rig.rules.games.snoozed_until(game) == "turn"
    assert texts(rig.controller.game_actions(game))[0] == "End the snooze"
    assert rig.controller.handle(f"daily:unsnooze:{game.game_id}")
    assert rig.controller.handle(f"daily:mute:{game.game_id}")
    assert rig.rules.games.is_muted(game.game_id)
    assert texts(rig.controller.game_actions(game))[-1] == "Unmute this game"
    assert rig.rules.game_note(game, world.me) == "muted"
    assert rig.controller.handle(f"daily:unmute:{game.game_id}")
    assert not rig.rules.games.silenced(game)


def test_notification_buttons_name_the_game(rig: Rig) -> None:
    one = Notification("Your turn: A", "", ("a",))
    expected = (("daily:snooze-1h:a", "Snooze 1 h"), ("daily:mute:a", "Mute this game"))
    assert rig.controller.notification_actions(one) == expected
    assert rig.controller.notification_actions(Notification("2 turns", "", ("a", "b"))) == ()
    assert rig.controller.notification_actions(Notification("Update", "", (), kind="update")) == ()


def test_timer_warning_is_shown_by_the_tick(rig: Rig, simulator, world) -> None:
    simulator.update_game(world.my_turn_game, turnTimerMinutes=60, lastTurnEndDate="2026-11-30T11:00:00.000Z")
    rig.snap = Snapshot.build(world.me, rig.api.get_games())
    rig.clock.now = Clock("2026-11-30 11:45").now  # 75% of 11:00..12:00
    rig.controller.on_synced()
    assert [note.kind for note in rig.shown] == ["timer"]
    assert rig.controller.timer.isActive()
    rig.controller.tick()
    assert len(rig.shown) == 1


def test_cli_mutes_are_picked_up_on_the_tick(rig: Rig, world) -> None:
    rig.state.save()
    other, _ = State.load(rig.state.path)
    other.games[world.my_turn_game] = {"muted": True}
    other.save()
    before = rig.changes
    rig.controller.tick()
    assert rig.rules.games.is_muted(world.my_turn_game) and rig.changes == before + 1


def test_update_notice_once_with_a_menu_entry(qtbot, simulator, world, tmp_path, feed: Feed) -> None:
    feed.serve_version("99.0")
    made = Rig(simulator, world, tmp_path, feed_url=feed.url)
    try:
        made.controller.start()
        qtbot.waitUntil(lambda: made.shown != [], timeout=WAIT_MS)
        assert [note.kind for note in made.shown] == ["update"]
        assert "99.0" in made.shown[0].title
        entry = made.controller.tray_actions()[0]
        assert entry == ("daily:update", "Update available: pydt-tray 99.0…")
        made.controller.handle("daily:update")
        assert made.opened == ["https://example.invalid/pydt-tray/99.0/"]
        made.controller.check_updates()  # not due again today
        assert len(feed.requests) == 1 and len(made.shown) == 1
    finally:
        made.close()


def test_no_feed_no_request_and_no_entry(qtbot, rig: Rig) -> None:
    rig.controller.start()
    assert not rig.controller._update_busy
    assert texts(rig.controller.tray_actions())[0].startswith("Pause")


def test_an_unexpected_error_in_the_switch_is_reported_and_frees_it(rig: Rig, qtbot, monkeypatch, caplog) -> None:
    def broken(on: bool) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(rig.api, "set_vacation_mode", broken)
    with qtbot.waitSignal(rig.controller.away_failed, timeout=WAIT_MS) as failed:
        rig.controller.handle("daily:away")
    assert "unexpected error" in failed.args[0]
    assert not rig.controller.away_busy and rig.rules.away is False
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)
