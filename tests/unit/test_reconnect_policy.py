"""The reconnect policy on a fake clock: growth, ceiling, jitter, reset after a good connection, quick kicks."""

from __future__ import annotations

import random

import pytest

from pydt_tray.push.reconnect import CEILING_SECONDS, FLOOR_SECONDS, ReconnectPolicy
from tests.helpers.simulator_fixtures import FakeClock


def make(clock: FakeClock, seed: int = 1, **kwargs: float) -> ReconnectPolicy:
    return ReconnectPolicy(rng=random.Random(seed), clock=clock, **kwargs)


def fail(policy: ReconnectPolicy, clock: FakeClock) -> float:
    """One attempt that fails; the clock then moves on by the wait, as the link's timer would."""
    policy.attempt_started()
    wait = policy.lost()
    clock.advance(wait)
    return wait


def test_defaults_are_one_second_doubling_to_thirty() -> None:
    assert (FLOOR_SECONDS, CEILING_SECONDS) == (1.0, 30.0)
    policy = ReconnectPolicy()
    assert (policy.floor, policy.ceiling) == (1.0, 30.0)


def test_waits_double_with_jitter_and_never_pass_the_ceiling() -> None:
    clock = FakeClock()
    policy = make(clock)
    waits = [fail(policy, clock) for _ in range(40)]
    tops = [min(30.0, 2.0**step) for step in range(40)]
    for wait, top in zip(waits, tops, strict=True):
        assert top / 2 <= wait <= top, (wait, top)
    assert max(waits) <= 30.0 and policy.longest_wait == max(waits)
    assert max(waits[5:]) > 25.0  # it does reach the ceiling's range
    assert len({round(wait, 6) for wait in waits[6:]}) > 20  # jittered, not a fixed 30 s


def test_jitter_differs_between_clients() -> None:
    first, second = make(FakeClock(), seed=1), make(FakeClock(), seed=2)
    for _ in range(4):
        first.lost(), second.lost()
    assert first.lost() != second.lost()


def test_a_stable_connection_starts_over_at_the_floor() -> None:
    clock = FakeClock()
    policy = make(clock)
    for _ in range(8):
        fail(policy, clock)
    assert policy.streak == 8
    policy.attempt_started()
    policy.in_service()
    clock.advance(60)
    assert policy.lost() <= 1.0  # one loss after a good minute: back at the floor
    assert policy.quick_kicks == 0
    assert 1.0 <= policy.lost() <= 2.0  # and grows again from there if the broker stays away


def test_quick_kicks_keep_growing_instead_of_resetting() -> None:
    """A server that accepts, subscribes and drops at once must not get an attempt every second."""
    clock = FakeClock()
    policy = make(clock, stable_seconds=5.0)
    waits = []
    for _ in range(12):
        policy.attempt_started()
        clock.advance(0.3)  # connect and subscribe
        policy.in_service()
        clock.advance(0.1)  # kicked
        wait = policy.lost()
        waits.append(wait)
        clock.advance(wait)
    assert policy.quick_kicks == 12
    assert waits[-1] >= 15.0 and max(waits) <= 30.0
    assert waits[0] <= 1.0 < waits[2]


def test_attempts_per_minute_stay_bounded_under_endless_kicks() -> None:
    clock = FakeClock()
    policy = make(clock, seed=3)
    start = clock()
    while clock() - start < 600:  # ten minutes of a broker that kicks at once
        policy.attempt_started()
        policy.in_service()
        clock.advance(0.05)
        clock.advance(policy.lost())
    total = policy.attempts
    # 1+2+4+8+16 s of warm-up (halved at worst) then at least 15 s per attempt
    assert total <= 5 + 600 / 15 + 1, total
    assert policy.attempts_in_last(60) <= 4 + 1


def test_a_connection_that_lived_long_enough_is_not_a_kick() -> None:
    clock = FakeClock()
    policy = make(clock, stable_seconds=5.0)
    for _ in range(6):
        fail(policy, clock)
    policy.in_service()
    clock.advance(4.9)
    assert policy.lost() > 16.0  # 4.9 s is a quick kick: no reset
    assert policy.quick_kicks == 1
    policy.in_service()
    clock.advance(5.0)
    assert policy.lost() <= 1.0
    assert policy.quick_kicks == 0


def test_reset_starts_over_at_the_floor() -> None:
    clock = FakeClock()
    policy = make(clock)
    for _ in range(10):
        fail(policy, clock)
    policy.reset()
    assert policy.streak == 0 and policy.quick_kicks == 0
    assert policy.lost() <= 1.0


def test_attempts_in_last_counts_by_the_clock() -> None:
    clock = FakeClock()
    policy = make(clock)
    policy.attempt_started()
    clock.advance(30)
    policy.attempt_started()
    clock.advance(31)
    assert policy.attempts_in_last(60) == 1
    assert policy.attempts_in_last(120) == 2
    assert policy.attempts == 2


@pytest.mark.parametrize(("floor", "ceiling", "stable"), [(0, 1, 1), (2, 1, 1), (1, 2, -1)])
def test_rejects_nonsense(floor: float, ceiling: float, stable: float) -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(floor, ceiling, stable_seconds=stable)
