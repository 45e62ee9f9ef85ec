"""The backstop timer follows the poll schedule, and the push supervisor feeds the schedule from its state."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydt_tray.core.context import load_context
from pydt_tray.core.poll_schedule import PollMode, PollSchedule
from pydt_tray.core.push_state import PathMode, PushPath
from pydt_tray.desktop.push_supervisor import Backstop, PushSupervisor
from tests.helpers.simulator_fixtures import FakeClock

SETTING = 900


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backstop(qapp, clock: FakeClock) -> Backstop:
    return Backstop(PollSchedule(live_interval=lambda: SETTING, clock=clock))


@pytest.fixture
def supervisor(qapp, backstop: Backstop, tmp_path: Path):
    requests: list[str] = []
    ctx = load_context({"PYDT_TRAY_HOME": str(tmp_path / "home")})
    return PushSupervisor(ctx, requests.append, backstop), requests


def test_arm_uses_the_schedule(backstop: Backstop) -> None:
    backstop.schedule.path_live("iot")
    backstop.arm()
    assert backstop.timer.interval() == SETTING * 1000
    backstop.schedule.path_lost("iot")
    backstop.arm()
    assert backstop.timer.interval() == 15_000
    backstop.arm(2)
    assert backstop.timer.interval() == 2_000


def test_arm_sooner_never_postpones(backstop: Backstop) -> None:
    backstop.arm(5)
    backstop.schedule.path_live("iot")
    backstop.arm_sooner()  # 300 s would be later than the 5 s already planned
    assert backstop.timer.interval() == 5_000
    backstop.arm(60)
    backstop.schedule.path_lost("iot")
    backstop.arm_sooner()
    assert backstop.timer.interval() == 15_000


def test_losing_the_only_live_path_asks_for_a_load_once(supervisor, backstop: Backstop) -> None:
    push, requests = supervisor
    push._set(push.state.with_path(PushPath.IOT, PathMode.CONNECTING))
    push._set(push.state.with_path(PushPath.IOT, PathMode.LIVE))
    assert backstop.schedule.mode is PollMode.LIVE and requests == []
    assert push._set(push.state.with_path(PushPath.IOT, PathMode.RECONNECTING)) is True
    assert requests == ["push lost"] and backstop.schedule.mode is PollMode.CATCH_UP
    assert push._set(push.state.with_path(PushPath.IOT, PathMode.RECONNECTING)) is False  # no change, no load
    push._set(push.state.without(PushPath.IOT))
    assert backstop.schedule.mode is PollMode.OFF and requests == ["push lost"]


def test_a_second_live_path_keeps_polling_relaxed(supervisor, backstop: Backstop) -> None:
    push, requests = supervisor
    push._set(push.state.with_path(PushPath.IOT, PathMode.LIVE).with_path(PushPath.RELAY, PathMode.LIVE))
    push._set(push.state.with_path(PushPath.IOT, PathMode.RECONNECTING))
    assert requests == [] and backstop.schedule.mode is PollMode.LIVE
    push._set(push.state.with_path(PushPath.RELAY, PathMode.RECONNECTING))
    assert requests == ["push lost"] and backstop.schedule.mode is PollMode.CATCH_UP


def test_wake_restarts_the_fast_window(supervisor, backstop: Backstop, clock: FakeClock) -> None:
    push, requests = supervisor
    push._set(push.state.with_path(PushPath.IOT, PathMode.LIVE))
    push._set(push.state.with_path(PushPath.IOT, PathMode.RECONNECTING))
    clock.advance(600)
    assert backstop.schedule.mode is PollMode.DOWN
    push.on_wake("resume")
    assert backstop.schedule.mode is PollMode.CATCH_UP
    assert requests == ["push lost", "wake: resume"]
