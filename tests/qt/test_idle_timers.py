"""Timers that only matter for a waiting turn run only then: an idle app sleeps."""

from pydt_tray.core.diff import Snapshot, diff_snapshots
from pydt_tray.core.policy import NotificationPolicy
from pydt_tray.core.sync import FetchOutcome, SyncResult
from pydt_tray.desktop.notices import Notices
from pydt_tray.platform.notifications import LogNotifier
from pydt_tray.platform.wake import ClockJumpSource
from tests.unit.test_diff_policy import ALICE, ME, MemoryStore, game


def result_of(previous, *games):
    snapshot = Snapshot.build(ME, list(games))
    return SyncResult(FetchOutcome(("push",), snapshot=snapshot), snapshot, diff_snapshots(previous, snapshot))


def make_notices(qtbot, reminder_minutes):
    holder = {"snapshot": None, "minutes": reminder_minutes}
    policy = NotificationPolicy(MemoryStore(), enabled=lambda: True, reminder_minutes=lambda: holder["minutes"])
    notices = Notices(LogNotifier(), policy, lambda: holder["snapshot"], lambda _id: None, lambda: None)
    return notices, holder


def test_reminder_timer_runs_only_while_a_turn_waits(qtbot):
    notices, holder = make_notices(qtbot, 120)
    notices.start()
    assert not notices.reminder_timer.isActive(), "nothing loaded yet"
    theirs = result_of(None, game("g1", ALICE))
    notices.on_synced(theirs)
    assert not notices.reminder_timer.isActive(), "no turn waits for me"
    mine = result_of(theirs.snapshot, game("g1", ME, turn=6))
    holder["snapshot"] = mine.snapshot
    notices.on_synced(mine)
    assert notices.reminder_timer.isActive()
    played = result_of(mine.snapshot, game("g1", ALICE, turn=7))
    notices.on_synced(played)
    assert not notices.reminder_timer.isActive(), "the turn was played"
    notices.on_synced(mine)
    notices.stop()
    assert not notices.reminder_timer.isActive()


def test_reminder_timer_stays_off_when_reminders_are_off(qtbot):
    notices, _holder = make_notices(qtbot, 0)
    notices.start()
    notices.on_synced(result_of(None, game("g1", ME)))
    assert not notices.reminder_timer.isActive()


def test_clock_jump_detector_checks_once_a_minute_on_a_coarse_timer(qtbot):
    source = ClockJumpSource()
    source.start()
    try:
        assert source._timer.interval() == 60_000
        assert source._timer.timerType().name == "CoarseTimer"  # Qt's default: the timer may fire late by 5 %
    finally:
        source.stop()
