"""The backstop polling schedule on a fake clock: relaxed while live, fast at the start of an outage."""

from __future__ import annotations

import pytest

from pydt_tray.core.poll_schedule import (
    DOWN_INTERVAL_SECONDS,
    FAST_INTERVAL_SECONDS,
    FAST_WINDOW_SECONDS,
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
