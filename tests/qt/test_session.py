"""The session against the simulator: error retry delays, a refused token, sign-out."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from pydt_tray.core.api import PydtClient
from pydt_tray.core.api_errors import UNREADABLE_REPLY
from pydt_tray.core.context import load_context
from pydt_tray.core.sync import SyncEngine
from pydt_tray.desktop import session as session_module
from pydt_tray.desktop.session import RETRY_AFTER_ERROR_SECONDS, TOKEN_REFUSED, Session
from pydt_tray.ui.bridge import BackgroundWorker, MainThreadInvoker
from tests.helpers.simulator import InstrumentedSimulator
from tests.helpers.simulator_fixtures import World

WAIT_MS = 15_000
FAST_WINDOW = 120


class RecordingBackstop:
    def __init__(self) -> None:
        self.arms: list[int | None] = []
        self.stops = 0

    def arm(self, seconds: int | None = None) -> None:
        self.arms.append(seconds)

    def loaded(self, reasons: tuple[str, ...]) -> None:
        self.arm()

    def retry_delay(self, backoff: float) -> float:
        return backoff

    def stop(self) -> None:
        self.stops += 1


@pytest.fixture
def session_parts(
    qapp, simulator: InstrumentedSimulator, tmp_path: Path
) -> Iterator[tuple[Session, RecordingBackstop]]:
    ctx = load_context({"PYDT_TRAY_HOME": str(tmp_path / "home"), "PYDT_API_URL": simulator.base_url})
    worker, invoker, backstop = BackgroundWorker(), MainThreadInvoker(), RecordingBackstop()
    session = Session(
        ctx, backstop, book=ctx.account_book(), run_in_background=worker.submit, call_soon=invoker.call_soon
    )
    try:
        yield session, backstop
    finally:
        session.close()
        worker.shutdown()


def test_load_errors_back_off_and_a_good_load_resets(qtbot, session_parts, simulator, world: World, caplog) -> None:
    session, backstop = session_parts
    known: list[str] = []
    session.user_known.connect(known.append)
    simulator.malformed_next("games", count=2)
    with qtbot.waitSignal(session.synced, timeout=WAIT_MS):
        session.sign_in(world.token)
    assert backstop.arms == [RETRY_AFTER_ERROR_SECONDS[0]] and session.last_error == UNREADABLE_REPLY
    with qtbot.waitSignal(session.synced, timeout=WAIT_MS):
        session.request("timer", full=True)
    assert backstop.arms == list(RETRY_AFTER_ERROR_SECONDS[:2])
    with qtbot.waitSignal(session.synced, timeout=WAIT_MS):
        session.request("timer", full=True)
    assert backstop.arms[-1] is None and session.last_error == "" and known == [world.me]
    retries = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert retries == [f"Could not load games ({UNREADABLE_REPLY}); next try in {s} s" for s in (15, 30)]
    snapshot = session.snapshot()
    assert snapshot is not None and world.my_turn_game in {g.game_id for g in snapshot.my_turns()}


def test_a_refused_token_ends_the_session_and_asks_again(qtbot, session_parts, simulator, world: World, caplog) -> None:
    session, backstop = session_parts
    with qtbot.waitSignal(session.synced, timeout=WAIT_MS):
        session.sign_in(world.token)
    simulator.revoke_tokens(world.me)
    ended: list[bool] = []
    session.ended.connect(lambda: ended.append(True))
    with qtbot.waitSignal(session.token_refused, timeout=WAIT_MS) as refused:
        session.request("user refresh", full=True)
    assert refused.args == [TOKEN_REFUSED] and ended == [True] and backstop.stops == 1
    assert not session.signed_in and session.auth_failed and session.refusal() == TOKEN_REFUSED
    assert session.client() is None and session.snapshot() is None
    assert any("token was refused" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def test_while_push_is_down_a_failing_load_retries_on_the_outage_schedule(
    qtbot, qapp, simulator, world, tmp_path, caplog, monkeypatch
):
    """Step by step on a fake clock: the back-off after errors (15, 30, 60, 120, 300 s) never waits longer than
    the outage's poll (15 s in its first two minutes, then 90 s) while no push path is live, and backs off in full
    while one is."""
    from pydt_tray.core.poll_schedule import PollSchedule
    from pydt_tray.desktop.push_supervisor import Backstop
    from tests.helpers.simulator_fixtures import FakeClock

    clock = FakeClock()
    backstop = Backstop(PollSchedule(live_interval=lambda: 600, clock=clock))
    schedule = backstop.schedule
    ctx = load_context({"PYDT_TRAY_HOME": str(tmp_path / "home"), "PYDT_API_URL": simulator.base_url})
    ctx.make_client = lambda token, *_: PydtClient(simulator.base_url, token, backoff=0.0)  # no waits between retries
    monkeypatch.setattr(session_module, "SyncEngine", partial(SyncEngine, refill_seconds=0.0))  # nor between loads
    worker, invoker = BackgroundWorker(), MainThreadInvoker()
    session = Session(
        ctx, backstop, book=ctx.account_book(), run_in_background=worker.submit, call_soon=invoker.call_soon
    )

    def load_fails() -> int:
        with qtbot.waitSignal(session.synced, timeout=WAIT_MS) as synced:
            session.request("timer", full=True)
        assert synced.args[0].outcome.error is not None
        return backstop.timer.interval() // 1000

    try:
        with qtbot.waitSignal(session.synced, timeout=WAIT_MS):
            session.sign_in(world.token)
        schedule.path_live("iot")
        simulator.malformed_next("games", count=100)
        assert [load_fails() for _ in range(5)] == list(RETRY_AFTER_ERROR_SECONDS)  # push live: full back-off
        schedule.path_lost("iot")
        steps = []
        for _ in range(6):
            steps.append(load_fails())
            clock.advance(steps[-1])
        assert steps == [15, 15, 15, 15, 15, 15]  # the outage's first two minutes: every 15 s
        clock.advance(FAST_WINDOW)
        assert [load_fails() for _ in range(2)] == [90, 90]  # later in the outage: every 90 s, not 300 s
        schedule.path_live("iot")
        assert load_fails() == RETRY_AFTER_ERROR_SECONDS[-1]  # live again: the full back-off
        retries = [r.getMessage().rsplit(" in ", 1)[1] for r in caplog.records if r.levelname == "WARNING"]
        assert retries == [f"{s} s" for s in (*RETRY_AFTER_ERROR_SECONDS, *[15] * 6, 90, 90, 300)]
    finally:
        session.close()
        worker.shutdown()
