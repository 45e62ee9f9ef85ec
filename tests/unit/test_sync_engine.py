"""The engine's scheduling rules, driven step by step with a hand-operated background queue."""

from pydt_tray.core.api import AuthError, NetworkError
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


def test_a_crashing_fetcher_does_not_wedge_the_engine():
    h = Harness()

    def boom(reasons, full):
        raise RuntimeError("bug")

    h.engine._fetch = boom
    h.engine.request("start")
    h.run_next()
    assert h.results[-1].outcome.error is not None and not h.engine.busy


def test_stop_discards_results():
    h = Harness()
    h.engine.request("start")
    h.engine.stop()
    h.run_next()
    assert h.results == []
    h.engine.request("push")
    assert h.jobs == []
