"""A user-day of pydt-tray's calls to the service, on a fake clock, against the real simulator.

The real sync engine, game fetcher and API client run; the backstop's intervals come from the app's
:class:`PollSchedule`; a good load re-arms it and a failed one retries after the session's delays, as the
desktop parts do. Time moves only when the next timer is due, so a day takes a second or two.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from pydt_tray.core.api import PydtClient
from pydt_tray.core.poll_schedule import PollSchedule
from pydt_tray.core.sync import GameFetcher, SyncEngine, SyncResult
from pydt_tray.desktop.session import RETRY_AFTER_ERROR_SECONDS
from pydt_tray.sandbox.routes import ROUTES, S3_ROUTES
from tests.helpers.simulator import InstrumentedSimulator
from tests.helpers.simulator_fixtures import FakeClock, World

DAY = 24 * 3600.0
KINDS = ("pollUrl", "/user/games", "other API", "S3 other")


def kind_of(route: str) -> str:
    if route == "poll":
        return "pollUrl"
    if route == "games":
        return "/user/games"
    return "S3 other" if route in S3_ROUTES else "other API"


@dataclass(frozen=True)
class DayPlan:
    turns: int = 20
    smack_posts: int = 5
    reconnects: int = 2
    outage_seconds: float = 30.0
    poll_setting: int = 600


class FakeTimers:
    """``call_later`` on a fake clock: callables run in time order when :meth:`run_until` moves the clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def call_later(self, seconds: float, function: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (self.clock() + seconds, next(self._order), function))

    def run_until(self, when: float) -> None:
        while self._queue and self._queue[0][0] <= when:
            due, _order, function = heapq.heappop(self._queue)
            self.clock.now = max(self.clock.now, due)
            function()
        self.clock.now = max(self.clock.now, when)


class DayRun:
    """The app's load triggers on a fake clock."""

    def __init__(self, simulator: InstrumentedSimulator, world: World, plan: DayPlan) -> None:
        self.simulator, self.world, self.plan = simulator, world, plan
        self.clock = FakeClock(0.0)
        self.timers = FakeTimers(self.clock)
        self.client = PydtClient(simulator.base_url, world.token, timeout=(2.0, 5.0), backoff=0.0, clock=self.clock)
        self.fetcher = GameFetcher(self.client)
        self.schedule = PollSchedule(live_interval=lambda: plan.poll_setting, clock=self.clock)
        self.schedule.path_started("iot")
        self.pushes = 0
        self.results: list[SyncResult] = []
        self._backstop_generation = 0
        self._errors = 0
        self.engine = SyncEngine(
            self.fetcher.fetch,
            run_in_background=lambda job: job(),
            call_soon=lambda job: job(),
            on_result=self._on_result,
            call_later=self.timers.call_later,
            clock=self.clock,
        )

    def arm_backstop(self, seconds: float | None = None) -> None:
        self._backstop_generation += 1
        generation = self._backstop_generation
        if seconds is None:
            seconds = self.schedule.next_delay()

        def due() -> None:
            if generation == self._backstop_generation:
                self.engine.request("timer")

        self.timers.call_later(seconds, due)

    def _on_result(self, result: SyncResult) -> None:
        self.results.append(result)
        if result.outcome.error is not None:
            self._errors += 1
            backoff = RETRY_AFTER_ERROR_SECONDS[min(self._errors, len(RETRY_AFTER_ERROR_SECONDS)) - 1]
            self.arm_backstop(self.schedule.retry_delay(backoff))
            return
        self._errors = 0
        self.schedule.loaded(result.outcome.reasons)
        self.arm_backstop()
        self.client.get_metadata()  # the type names loader, once per client

    def connect(self) -> None:
        self.schedule.path_live("iot")
        self.engine.request("connected")

    def disconnect(self) -> None:
        """As the push supervisor does: an outage loads at once, then the schedule's fast polls."""
        if self.schedule.path_lost("iot"):
            self.engine.request("push lost")
        self.arm_backstop()

    def push(self) -> None:
        self.pushes += 1
        self.engine.request("push")

    def loads_for(self, reason: str) -> int:
        return sum(reason in result.outcome.reasons for result in self.results)

    def close(self) -> None:
        self.engine.stop()
        self.client.close()


def run_day(
    simulator: InstrumentedSimulator, world: World, plan: DayPlan | None = None
) -> tuple[DayRun, dict[str, int]]:
    """Start, connect, then a day of turns, smack-talk pings and reconnects; returns the run and counts by kind."""
    plan = plan or DayPlan()
    game = simulator.add_game(name="A day of turns", players=[world.me, world.alice], current=world.alice, turn=2)
    for _ in range(2):  # turns played before the day: the service has written the user's pollUrl copy
        simulator.advance_turn(game)
    simulator.reset_counts()
    run = DayRun(simulator, world, plan)
    events: list[tuple[float, str]] = [(1.0, "connect")]
    events += [((i + 0.5) * DAY / plan.turns, "turn") for i in range(plan.turns)]
    events += [((i + 0.3) * DAY / plan.smack_posts, "smack") for i in range(plan.smack_posts)]
    for i in range(plan.reconnects):
        at = (i + 1) * DAY / (plan.reconnects + 1)
        events += [(at, "disconnect"), (at + plan.outage_seconds, "connect")]
    run.engine.request("start", full=True)
    for at, what in sorted(events):
        run.timers.run_until(at)
        if what == "connect":
            run.connect()
        elif what == "disconnect":
            run.disconnect()
        elif what == "turn":
            simulator.advance_turn(game)  # the turn moves on: the service rewrites the pollUrl copy and pings
            run.push()
        else:
            run.push()  # a smack-talk post pings every player; the game list itself did not change
    run.timers.run_until(DAY)
    counts = {kind: 0 for kind in KINDS}
    for route in (*ROUTES, "s3", "unknown"):
        counts[kind_of(route)] += simulator.request_count(route)
    return run, counts


def official_day(plan: DayPlan | None = None) -> dict[str, int]:
    """The official client's calls in the same day, from its constants (docs: pydt-contract.md section 8):
    a load every 600 s and on each IoT message, each by pollUrl; ``/user/games`` once at start; the
    current user and the metadata once; Steam profiles again once their 60-minute cache entries expire."""
    plan = plan or DayPlan()
    loads = int(DAY // 600) + plan.turns + plan.smack_posts
    return {
        "pollUrl": loads,
        "/user/games": 1,
        "other API": 1 + 1 + int(DAY // 3600),  # getCurrent, metadata, steamProfiles hourly
        "S3 other": 0,
    }
