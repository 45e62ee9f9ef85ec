"""The engine's scheduling rules, driven step by step with a hand-operated background queue."""

import itertools
import logging

from pydt_tray.core.api_errors import AuthError, NetworkError
from pydt_tray.core.diff import EventKind, Snapshot
from pydt_tray.core.models import Game
from pydt_tray.core.sync import FetchOutcome, SyncEngine

ME = "76561190000000001"


class Harness:
    def __init__(self):
        self.jobs = []
        self.calls = []
        self.results = []
        self.games = []
        self.error = None
        self.engine = SyncEngine(
            self.fetch, run_in_background=self.jobs.append, call_soon=lambda f: f(), on_result=self.results.append
        )

    def fetch(self, reasons, full):
        self.calls.append((reasons, full))
        if self.error is not None:
            return FetchOutcome(reasons, error=self.error)
        return FetchOutcome(reasons, snapshot=Snapshot.build(ME, list(self.games)))

    def run_next(self):
        self.jobs.pop(0)()


def mine(game_id, turn):
    return Game.from_json(
        {
            "gameId": game_id,
            "displayName": game_id,
            "inProgress": True,
            "currentPlayerSteamId": ME,
            "gameTurnRangeKey": turn,
        }
    )


def test_first_trigger_fetches_at_once():
    h = Harness()
    h.engine.request("push")
    assert len(h.jobs) == 1 and h.engine.busy


def test_triggers_during_a_fetch_coalesce_into_one_follow_up():
    h = Harness()
    h.engine.request("push")
    for _ in range(29):
        h.engine.request("push")
    h.engine.request("timer", full=True)
    assert len(h.jobs) == 1
    h.run_next()
    assert len(h.jobs) == 1, "exactly one follow-up"
    h.run_next()
    assert h.jobs == [] and not h.engine.busy
    assert len(h.calls) == 2
    assert h.calls[1][1] is True, "a full request among the coalesced ones makes the follow-up full"
    assert h.calls[1][0].count("push") == 29


def test_events_come_from_the_previous_snapshot():
    h = Harness()
    h.games = [mine("a", 3)]
    h.engine.request("start")
    h.run_next()
    assert [e.kind for e in h.results[-1].events] == [EventKind.TURN_MINE]
    h.engine.request("push")
    h.run_next()
    assert h.results[-1].events == []
    h.games = [mine("a", 5)]
    h.engine.request("push")
    h.run_next()
    assert {e.kind for e in h.results[-1].events} == {EventKind.TURN_MINE, EventKind.TURN_LEFT}


def test_errors_keep_the_last_snapshot():
    h = Harness()
    h.games = [mine("a", 3)]
    h.engine.request("start")
    h.run_next()
    h.error = NetworkError("offline")
    h.engine.request("push")
    h.run_next()
    assert h.results[-1].outcome.error is h.error
    assert h.results[-1].snapshot.games[0].game_id == "a"
    assert h.results[-1].events == []


def test_auth_error_drops_pending_follow_ups():
    h = Harness()
    h.error = AuthError("revoked")
    h.engine.request("start")
    h.engine.request("push")
    h.run_next()
    assert h.jobs == []


def test_a_crashing_fetcher_does_not_wedge_the_engine(caplog):
    h = Harness()

    def boom(reasons, full):
        raise RuntimeError("bug")

    h.engine._fetch = boom
    h.engine.request("start")
    h.run_next()
    assert h.results[-1].outcome.error is not None and not h.engine.busy
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in problems] == ["game fetch failed unexpectedly"]
    assert problems[0].exc_info is not None  # with its traceback


def test_stop_discards_results():
    h = Harness()
    h.engine.request("start")
    h.engine.stop()
    h.run_next()
    assert h.results == []
    h.engine.request("push")
    assert h.jobs == []


def test_follow_up_waits_for_the_gap_after_the_previous_start():
    now = [100.0]
    later = []
    h = Harness()
    h.engine = SyncEngine(
        h.fetch,
        run_in_background=h.jobs.append,
        call_soon=lambda f: f(),
        on_result=h.results.append,
        call_later=lambda delay, f: later.append((delay, f)),
        follow_up_gap=0.25,
        clock=lambda: now[0],
    )
    h.engine.request("push")
    now[0] += 0.01
    h.engine.request("push")
    h.run_next()  # first fetch done 10 ms after it started: the follow-up is deferred
    assert h.jobs == [] and len(later) == 1 and abs(later[0][0] - 0.24) < 1e-9
    h.engine.request("push")  # still joins the deferred follow-up
    assert h.engine.busy and h.jobs == []
    now[0] += 0.24
    later.pop()[1]()
    assert len(h.jobs) == 1
    h.run_next()
    assert h.jobs == [] and h.calls[1][0] == ("push", "push") and not h.engine.busy


def test_follow_up_starts_at_once_when_the_gap_has_passed():
    now = [100.0]
    later = []
    h = Harness()
    h.engine = SyncEngine(
        h.fetch,
        run_in_background=h.jobs.append,
        call_soon=lambda f: f(),
        on_result=h.results.append,
        call_later=lambda delay, f: later.append((delay, f)),
        clock=lambda: now[0],
    )
    h.engine.request("push")
    h.engine.request("push")
    now[0] += 1.0
    h.run_next()
    assert later == [] and len(h.jobs) == 1


def test_a_trigger_just_after_a_fetch_waits_for_the_window_and_takes_the_rest_along():
    now = [100.0]
    later = []
    h = Harness()
    h.engine = SyncEngine(
        h.fetch,
        run_in_background=h.jobs.append,
        call_soon=lambda f: f(),
        on_result=h.results.append,
        call_later=lambda delay, f: later.append((delay, f)),
        follow_up_gap=0.25,
        clock=lambda: now[0],
    )
    h.engine.request("push")
    h.run_next()
    now[0] += 0.05
    for _ in range(5):
        h.engine.request("push")
    assert h.jobs == [] and len(later) == 1 and abs(later[0][0] - 0.2) < 1e-9
    now[0] += 0.2
    later.pop()[1]()
    h.run_next()
    assert [len(reasons) for reasons, _full in h.calls] == [1, 5]
    now[0] += 1.0
    h.engine.request("push")
    assert len(h.jobs) == 1, "a lone trigger after the window fetches at once"


class FakeLoop:
    """A fake clock with timers: fetches finish at once, timers fire when the clock passes their time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.timers: list[tuple[float, object]] = []
        self.starts: list[float] = []
        self.reasons: list[tuple[str, ...]] = []

    def fetch(self, reasons, full):
        self.starts.append(self.now)
        self.reasons.append(reasons)
        return FetchOutcome(reasons, snapshot=Snapshot.build(ME, []))

    def engine(self, **kwargs) -> SyncEngine:
        return SyncEngine(
            self.fetch,
            run_in_background=lambda job: job(),
            call_soon=lambda f: f(),
            on_result=lambda result: None,
            call_later=lambda delay, f: self.timers.append((self.now + delay, f)),
            clock=lambda: self.now,
            **kwargs,
        )

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            due = [timer for timer in self.timers if timer[0] <= end]
            if not due:
                break
            first = min(due, key=lambda timer: timer[0])
            self.timers.remove(first)
            self.now = max(self.now, first[0])
            first[1]()
        self.now = end


def test_a_steady_push_storm_is_bounded_to_the_bucket_rate():
    loop = FakeLoop()
    engine = loop.engine()
    for _ in range(600):  # a push every 100 ms for a minute
        engine.request("push")
        loop.advance(0.1)
    assert loop.starts[0] == 1000.0, "the first push is fetched at once"
    assert len(loop.starts) <= 3 + 60 / 5 + 1, len(loop.starts)
    steady = loop.starts[3:]
    assert all(later - earlier >= 5.0 - 1e-6 for earlier, later in itertools.pairwise(steady))
    assert sum(len(reasons) for reasons in loop.reasons) + sum(1 for _ in engine._pending) == 600, "no push lost"


def test_a_lone_push_after_a_storm_and_a_quiet_spell_is_fetched_at_once():
    loop = FakeLoop()
    engine = loop.engine()
    for _ in range(100):
        engine.request("push")
        loop.advance(0.1)
    loop.advance(20.0)  # quiet: the pending follow-up ran, the bucket filled up again
    count = len(loop.starts)
    engine.request("push")
    assert len(loop.starts) == count + 1 and loop.starts[-1] == loop.now


def test_three_pushes_in_quick_succession_after_quiet_each_wait_only_for_the_gap():
    loop = FakeLoop()
    engine = loop.engine()
    for _ in range(3):
        engine.request("push")
        loop.advance(0.3)
    assert [round(start - 1000.0, 2) for start in loop.starts] == [0.0, 0.3, 0.6]
    engine.request("push")  # the fourth within a second waits for a token
    assert len(loop.starts) == 3
    loop.advance(5.0)
    assert len(loop.starts) == 4 and loop.starts[3] - loop.starts[0] >= 5.0 - 1e-6


def test_pushes_that_each_bring_a_new_turn_are_never_held_back_by_the_bucket():
    loop = FakeLoop()
    turn = itertools.count(1)
    loop.fetch = lambda reasons, full: (  # type: ignore[method-assign]
        loop.starts.append(loop.now) or FetchOutcome(reasons, snapshot=Snapshot.build(ME, [mine("g", next(turn))]))
    )
    engine = loop.engine()
    for _ in range(20):  # a new turn every second: far above the bucket's one fetch per 5 s
        engine.request("push")
        loop.advance(1.0)
    assert len(loop.starts) == 20
    assert all(later - earlier == 1.0 for earlier, later in itertools.pairwise(loop.starts)), loop.starts
