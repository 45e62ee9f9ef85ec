"""The backstop polling schedule on a fake clock: relaxed while live, fast at the start of an outage."""

from __future__ import annotations

import pytest

from pydt_tray.core.poll_schedule import (
    DOWN_INTERVAL_SECONDS,
    FAST_INTERVAL_SECONDS,
    FAST_WINDOW_SECONDS,
    PollBudget,
    PollMode,
    PollSchedule,
)
from tests.helpers.simulator_fixtures import FakeClock

SETTING = 900.0


def make(clock: FakeClock, setting: float = SETTING) -> PollSchedule:
    return PollSchedule(live_interval=lambda: setting, clock=clock)


def polls_until(schedule: PollSchedule, clock: FakeClock, until: float) -> list[float]:
    """Follow the schedule as the app's timer would: the times (since now) of every backstop poll."""
    start = clock()
    times = []
    while True:
        delay = schedule.next_delay()
        if clock() + delay - start > until:
            return times
        clock.advance(delay)
        times.append(round(clock() - start, 6))


def test_defaults_match_the_documented_numbers() -> None:
    assert (FAST_INTERVAL_SECONDS, FAST_WINDOW_SECONDS, DOWN_INTERVAL_SECONDS) == (15.0, 120.0, 90.0)


def test_live_polls_at_the_setting_and_off_at_most_every_90_s() -> None:
    clock = FakeClock()
    schedule = make(clock)
    assert schedule.mode is PollMode.OFF and schedule.next_delay() == 90.0  # no push at all
    schedule.path_started("iot")
    assert schedule.mode is PollMode.OFF and schedule.next_delay() == 90.0  # still connecting
    schedule.path_live("iot")
    assert schedule.mode is PollMode.LIVE and schedule.next_delay() == SETTING
    assert make(FakeClock(), setting=60).next_delay() == 60.0  # a shorter setting wins while push is down


def test_while_live_the_backstop_is_never_shorter_than_600_s() -> None:
    for setting, expected in ((60, 600.0), (300, 600.0), (600, 600.0), (1800, 1800.0)):
        schedule = make(FakeClock(), setting=setting)
        schedule.path_live("iot")
        assert schedule.next_delay() == expected


def test_an_outage_polls_at_once_then_every_15_s_for_2_minutes_then_every_90_s() -> None:
    clock = FakeClock()
    schedule = make(clock)
    schedule.path_started("iot")
    schedule.path_live("iot")
    assert schedule.path_lost("iot") is True  # poll at once
    assert schedule.mode is PollMode.CATCH_UP
    times = polls_until(schedule, clock, 400)
    assert times[:8] == [15, 30, 45, 60, 75, 90, 105, 120]
    assert times[8:] == [210, 300, 390]
    assert schedule.mode is PollMode.DOWN and schedule.outage_seconds() == 390


def test_repeated_failures_during_an_outage_do_not_restart_it() -> None:
    clock = FakeClock()
    schedule = make(clock)
    schedule.path_live("iot")
    assert schedule.path_lost("iot") is True
    clock.advance(100)
    assert schedule.path_lost("iot") is False  # a failed reconnect attempt: same outage
    clock.advance(30)
    assert schedule.mode is PollMode.DOWN and schedule.next_delay() == 90.0


def test_a_first_connect_that_fails_starts_an_outage() -> None:
    clock = FakeClock()
    schedule = make(clock)
    schedule.path_started("iot")
    assert schedule.path_lost("iot") is True
    assert schedule.next_delay() == 15.0


def test_coming_back_ends_the_outage_and_a_new_loss_starts_a_new_one() -> None:
    clock = FakeClock()
    schedule = make(clock)
    schedule.path_live("iot")
    schedule.path_lost("iot")
    clock.advance(500)
    schedule.path_live("iot")
    assert schedule.outage_seconds() is None and schedule.next_delay() == SETTING
    clock.advance(8)  # a flapping connection: lost again a few seconds later
    assert schedule.path_lost("iot") is True
    assert schedule.next_delay() == 15.0


def test_wake_or_network_change_restarts_the_fast_window() -> None:
    clock = FakeClock()
    schedule = make(clock)
    schedule.path_live("iot")
    schedule.path_lost("iot")
    clock.advance(600)
    assert schedule.next_delay() == 90.0
    schedule.restart_window()
    assert schedule.mode is PollMode.CATCH_UP and schedule.next_delay() == 15.0
    live = make(FakeClock())
    live.path_live("iot")
    live.restart_window()  # nothing to restart while live
    assert live.mode is PollMode.LIVE


def test_any_live_path_is_enough() -> None:
    """A second push path (a relay) keeps the schedule relaxed while the first one is down."""
    clock = FakeClock()
    schedule = make(clock)
    schedule.path_live("iot")
    schedule.path_live("relay")
    assert schedule.path_lost("iot") is False  # the relay still delivers
    assert schedule.mode is PollMode.LIVE
    clock.advance(10)
    assert schedule.path_lost("relay") is True  # now nothing delivers: poll at once
    assert schedule.next_delay() == 15.0
    schedule.path_live("relay")
    assert schedule.mode is PollMode.LIVE


def test_stopping_every_path_ends_the_outage() -> None:
    clock = FakeClock()
    schedule = make(clock)
    schedule.path_live("iot")
    schedule.path_lost("iot")
    schedule.path_stopped("iot")
    assert schedule.mode is PollMode.OFF and schedule.outage_seconds() is None
    assert schedule.next_delay() == 90.0


def test_a_stopped_path_no_longer_counts_as_live() -> None:
    clock = FakeClock()
    schedule = make(clock)
    schedule.path_live("iot")
    schedule.path_started("relay")
    schedule.path_stopped("iot")
    assert schedule.mode is PollMode.OFF
    assert schedule.path_lost("relay") is True


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        PollSchedule(live_interval=lambda: 300, fast_interval=100, down_interval=90)


def live_polls(schedule: PollSchedule, clock: FakeClock, until: float) -> list[float]:
    """Like :func:`polls_until`, with each backstop poll reported as a good load (as the session does)."""
    start = clock()
    times = []
    while clock() + schedule.next_delay() - start <= until:
        clock.advance(schedule.next_delay())
        schedule.loaded(("timer",))
        times.append(round(clock() - start, 6))
    return times


def test_a_push_load_restarts_the_live_interval_without_spending_the_budget() -> None:
    clock = FakeClock()
    schedule = make(clock, setting=600)
    schedule.path_live("iot")
    schedule.loaded(("connected",))
    assert live_polls(schedule, clock, 1800) == [600.0, 1200.0, 1800.0]
    clock.advance(100)
    schedule.loaded(("push",))
    assert schedule.next_delay() == 600.0
    clock.advance(50)
    schedule.loaded(("relay push", "timer"))  # folded with a push: still free
    assert schedule.next_delay() == 600.0


def test_the_polls_of_a_short_outage_replace_the_next_backstop_polls() -> None:
    clock = FakeClock()
    schedule = make(clock, setting=600)
    schedule.path_live("iot")
    schedule.loaded(("connected",))
    clock.advance(600)
    schedule.loaded(("timer",))
    assert schedule.path_lost("iot")
    clock.advance(1)
    schedule.loaded(("push lost",))  # the outage: a poll at once, then every 15 s
    assert schedule.next_delay() == FAST_INTERVAL_SECONDS
    clock.advance(15)
    schedule.loaded(("timer",))
    schedule.path_live("iot")
    clock.advance(1)
    schedule.loaded(("connected",))
    # four polls within 17 s spent four intervals: the next backstop poll waits for them (at most three)
    assert schedule.next_delay() == pytest.approx(3 * 600.0)
    clock.advance(schedule.next_delay())
    schedule.loaded(("timer",))
    assert schedule.next_delay() == 600.0  # the budget is back to one poll per interval


def test_what_an_outage_owes_postpones_the_backstop_by_at_most_three_intervals() -> None:
    clock = FakeClock()
    schedule = make(clock, setting=600)
    schedule.path_live("iot")
    schedule.path_lost("iot")
    for _ in range(40):  # a long outage: 40 polls
        clock.advance(schedule.next_delay())
        schedule.loaded(("timer",))
    schedule.path_live("iot")
    schedule.loaded(("connected",))
    assert schedule.next_delay() == 1800.0
    assert live_polls(schedule, clock, 3000) == [1800.0, 2400.0, 3000.0]  # the rest is forgiven


def test_retry_after_an_error_keeps_to_the_outage_schedule_while_no_path_is_live() -> None:
    clock = FakeClock()
    schedule = make(clock)
    schedule.path_live("iot")
    assert [schedule.retry_delay(b) for b in (15, 60, 300)] == [15, 60, 300]  # live: the full back-off
    schedule.path_lost("iot")
    assert [schedule.retry_delay(b) for b in (15, 60, 300)] == [15.0, 15.0, 15.0]  # catch-up window
    clock.advance(FAST_WINDOW_SECONDS)
    assert [schedule.retry_delay(b) for b in (15, 60, 300)] == [15, 60, 90.0]  # later in the outage
    schedule.path_stopped("iot")
    assert schedule.retry_delay(300) == 90.0  # no push at all: plain polling


def test_each_account_spends_its_own_budget() -> None:
    clock = FakeClock()
    schedule = make(clock, setting=600)
    schedule.path_live("iot")
    first, second = PollBudget(clock), PollBudget(clock)
    schedule.loaded(("connected",), first)
    schedule.loaded(("timer",), first)  # two loads of the first account
    schedule.loaded(("connected",), second)
    assert schedule.next_delay(first) == 1200.0
    assert schedule.next_delay(second) == 600.0
    assert schedule.next_delay() == 600.0  # the schedule's own budget was not touched
