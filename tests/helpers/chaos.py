"""A seeded chaos run over the real stack: turns keep coming while the broker, the service and the clock misbehave.

:class:`ChaosRun` drives one in-process :class:`~pydt_tray.app.TrayApp` against mosquitto (WSS + TLS), the
simulator (HTTP) and the fake D-Bus notification server. On the Qt main thread it runs timed lanes, all drawn
from one seeded ``random.Random``:

- turns: two games go back and forth between the user and another player; each turn that becomes the user's
  is timed until the app notifies it (it is played back only after that, or after ``give_up`` seconds);
- chatter: a third game is edited now and then (a "game updated" push to every player);
- broker: killed and started again (same ports), or paused (SIGSTOP/SIGCONT: a half-open connection);
- service: the next request on the pollUrl or ``/user/games`` fails with 500, hangs past the client's read
  timeout, trickles past its deadline, is malformed, unpacks past the size cap, or is 401 (games: the
  session ends, the sign-in prompt is checked and the user signs in again) / 403 or stale (pollUrl);
- relay (when one is given): every stream dropped, every stream gone half-open (silent), or the relay
  stopped and started again (same port, message cache kept);
- clock: a wall-clock jump fed to a :class:`~pydt_tray.platform.wake.ClockJumpSource` on fake clocks, or a
  wake / network-back signal.

Afterwards :meth:`ChaosRun.report` says how many faults of each kind were injected (service faults count when
they hit a request), the turns, the missed and duplicated ones and the worst notify delay; the caller checks
the invariants. Shared by ``tests/integration/test_chaos.py`` and ``python -m tests.benchmarks.chaos``.
"""

from __future__ import annotations

import gzip
import heapq
import itertools
import logging
import os
import random
import signal
import sys
import threading
import time
import traceback
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydt_tray.core.api import PydtClient
from pydt_tray.core.limits import MAX_JSON_BYTES
from pydt_tray.platform.wake import ClockJumpSource, WakeSource
from pydt_tray.sandbox.simulator import Reply
from tests.helpers.flapping import NotificationLog, Turn
from tests.helpers.mosquitto import Mosquitto
from tests.helpers.ntfy_relay import NtfyRelay
from tests.helpers.simulator import InstrumentedSimulator
from tests.helpers.tray_menu import menu_texts
from tests.helpers.trickle import TrickleServer

log = logging.getLogger(__name__)

# The app's HTTP client in the run: a read timeout and a whole-request deadline short enough that a hanging or
# trickling reply costs seconds, not the shipped 30 s / 60 s (the same code paths, smaller numbers).
CLIENT_TIMEOUT = (2.0, 4.0)
CLIENT_DEADLINE = 8.0
HANG_SECONDS = CLIENT_TIMEOUT[1] + 1.5
SERVICE_PAUSE = {"poll": (1.0, 4.0), "games": (5.0, 12.0)}  # seconds from a fault hitting to the next armed
SERVICE_FAULTS = ("api-500", "api-timeout", "api-trickle", "api-malformed", "api-oversized")
ME_NAME = "Me Myself"


def rss_bytes() -> int:
    """Resident memory of this process (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def spin_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Run the Qt event loop until ``condition`` holds or ``timeout`` seconds passed."""
    from PySide6.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.005)


def quick_client(ctx: Any) -> None:
    """Give the app's context a client factory with the run's short timeouts (see ``CLIENT_TIMEOUT``)."""

    def make_client(token: str | None, steam_id: str | None = None) -> PydtClient:
        known = ctx.state.accounts.get(steam_id) if steam_id else None
        return PydtClient(
            ctx.endpoints.api_url,
            token,
            timeout=CLIENT_TIMEOUT,
            deadline=CLIENT_DEADLINE,
            poll_url=known.poll_url if known is not None else None,
            poll_etag=known.poll_etag if known is not None else None,
        )

    ctx.make_client = make_client


class ManualWakeSource(WakeSource):
    """A wake source the run fires by hand (stands in for logind's resume and Qt's network-back)."""

    def fire(self, reason: str) -> None:
        self.woke.emit(reason)


class FakeClocks:
    """Wall and monotonic clocks for a :class:`ClockJumpSource` that move only when told to."""

    def __init__(self) -> None:
        self.wall_now = 1_000_000.0
        self.mono_now = 500.0

    def wall(self) -> float:
        return self.wall_now

    def mono(self) -> float:
        return self.mono_now


def wake_sources() -> tuple[list[WakeSource], tuple[ClockJumpSource, ManualWakeSource, FakeClocks]]:
    """The wake sources the app under chaos runs with (a clock-jump source on fake clocks and a manual one),
    and the handles the run feeds them through."""
    clocks = FakeClocks()
    jump = ClockJumpSource(interval_ms=3_600_000, wall=clocks.wall, mono=clocks.mono)
    manual = ManualWakeSource()
    return [jump, manual], (jump, manual, clocks)


class Failures:
    """Collects what must not happen: an uncaught exception in any thread, and ERROR tracebacks of our code."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._lock = threading.Lock()

    def add(self, text: str) -> None:
        with self._lock:
            self.items.append(text)

    @contextmanager
    def watching(self) -> Iterator[Failures]:
        failures = self

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.exc_info and record.name.startswith("pydt_tray"):
                    failures.add(f"{record.name}: {record.getMessage()}\n{self.format(record)}")

        handler = Handler(logging.ERROR)
        handler.setFormatter(logging.Formatter())
        root = logging.getLogger()
        root.addHandler(handler)
        old_thread_hook, old_sys_hook = threading.excepthook, sys.excepthook

        def thread_hook(args: threading.ExceptHookArgs) -> None:
            name = args.thread.name if args.thread else "?"
            failures.add(f"thread {name}: {args.exc_type.__name__}: {args.exc_value}")
            old_thread_hook(args)

        def sys_hook(exc_type: Any, value: Any, tb: Any) -> None:
            failures.add("".join(traceback.format_exception(exc_type, value, tb)))
            old_sys_hook(exc_type, value, tb)

        threading.excepthook, sys.excepthook = thread_hook, sys_hook
        try:
            yield self
        finally:
            threading.excepthook, sys.excepthook = old_thread_hook, old_sys_hook
            root.removeHandler(handler)


@dataclass
class GameLane:
    """One game going back and forth; ``turns`` are the user's turns in it."""

    game_id: str
    name: str
    mine: bool = False
    turns: list[Turn] = field(default_factory=list)
    before_mine: tuple[bytes, str] | None = None  # the pollUrl object just before the last turn became mine


@dataclass
class ChaosReport:
    seed: int
    seconds: float
    faults: Counter[str]
    turns: int
    missed: list[str]
    duplicated: list[str]
    stray: list[str]
    worst_delay: float
    sign_in_prompts: int
    rss_growth: int
    unused_faults: int  # service faults armed but never hit by a request (not counted in ``faults``)
    notes: int  # new-turn notifications the app sent during the run

    @property
    def total_faults(self) -> int:
        return sum(self.faults.values())

    def text(self) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.faults.items()))
        return (
            f"chaos seed {self.seed}: {self.seconds:.0f} s, {self.total_faults} faults injected ({kinds}); "
            f"{self.turns} turns, missed {len(self.missed)}, duplicated {len(self.duplicated)}, "
            f"stray {len(self.stray)}, worst notify delay {self.worst_delay:.1f} s; "
            f"{self.sign_in_prompts} sign-in prompts; RSS growth {self.rss_growth / 2**20:.1f} MB"
            + (f"; replay: --seed {self.seed}" if self.missed or self.duplicated else "")
        )


class ChaosRun:
    """See the module docstring. Call :meth:`run` on the Qt main thread, then :meth:`report`."""

    def __init__(
        self,
        app: Any,
        simulator: InstrumentedSimulator,
        broker: Mosquitto,
        me: str,
        other: str,
        token: str,
        *,
        seed: int,
        jump: ClockJumpSource,
        manual: ManualWakeSource,
        clocks: FakeClocks,
        give_up: float = 90.0,
        relay: NtfyRelay | None = None,
    ) -> None:
        self.app = app
        self.simulator = simulator
        self.broker = broker
        self.me = me
        self.token = token
        self.seed = seed
        self.rng = random.Random(seed)
        self.jump, self.manual, self.clocks = jump, manual, clocks
        self.give_up = give_up
        self.relay = relay
        self.faults: Counter[str] = Counter()
        self.notes = NotificationLog()
        app.notified.connect(self.notes.record)
        self.lanes = [
            GameLane(simulator.add_game(name=name, players=[me, other], current=other, turn=2), name)
            for name in ("Chaos 1", "Chaos 2")
        ]
        self.chatter = simulator.add_game(name="Chatter", players=[other, me], current=other, turn=3)
        self.sign_in_prompts = 0
        self._signing_in = False
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._ending = False
        self._paused = False
        self._to_arm: list[str] = []  # routes whose fault hit a request (appended on handler threads)
        self._games_armed_at: float | None = None
        self._trickle = TrickleServer("body", tick=0.2).start()
        self._bomb = gzip.compress(b" " * (MAX_JSON_BYTES + 1024), compresslevel=9)
        self.rss_start = 0
        self.elapsed = 0.0

    # --- scheduling ----------------------------------------------------------------------------------

    def _at(self, delay: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (time.monotonic() + delay, next(self._order), action))

    def _run_due(self) -> None:
        now = time.monotonic()
        while self._queue and self._queue[0][0] <= now:
            _when, _n, action = heapq.heappop(self._queue)
            action()

    def run(self, seconds: float) -> None:
        started = time.monotonic()
        for index, lane in enumerate(self.lanes):
            self._at(0.5 + index, lambda lane=lane: self._turn_to_me(lane))
        self._at(1.0, self._chatter)
        self._at(1.0, self._broker_fault)
        self._at(0.5, lambda: self._arm_service_fault("poll"))
        self._at(1.0, lambda: self._arm_service_fault("games"))
        self._at(1.5, self._signal_fault)
        if self.relay is not None:
            self._at(2.0, self._relay_fault)
        warm = started + min(20.0, seconds / 5)
        end = started + seconds
        while time.monotonic() < end:
            if not self.rss_start and time.monotonic() >= warm:
                self.rss_start = rss_bytes()
            self._run_due()
            self._watch_sign_in()
            spin_until(lambda: False, 0.03)
        self._ending = True
        self.elapsed = time.monotonic() - started
        self._finish_broker()
        if self.relay is not None and not self.relay.running:
            self.relay.start()

    def wind_down(self, timeout: float) -> None:
        """Faults stopped: let the turns still waiting be notified and played (up to ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self._queue or self._signing_in or self.app.session.auth_failed):
            self._run_due()
            self._watch_sign_in()
            spin_until(lambda: False, 0.03)
        self._trickle.stop()

    # --- turns -----------------------------------------------------------------------------------------

    def _turn_to_me(self, lane: GameLane) -> None:
        if self._ending:
            return
        lane.before_mine = self.simulator.poll_entry(self.me)
        self.simulator.advance_turn(lane.game_id)  # the other player is done: the user's turn
        lane.mine = True
        turn = Turn(len(lane.turns) + 1, time.monotonic())
        lane.turns.append(turn)
        self._at(0.2, lambda: self._wait_notified(lane, turn))

    def _wait_notified(self, lane: GameLane, turn: Turn) -> None:
        if self.notes.times_for(lane.game_id, turn.became_mine) or time.monotonic() - turn.became_mine > self.give_up:
            self._at(self.rng.uniform(0.5, 4.0), lambda: self._play(lane))
        else:
            self._at(0.2, lambda: self._wait_notified(lane, turn))

    def _play(self, lane: GameLane) -> None:
        self.simulator.advance_turn(lane.game_id)  # the user played: the other player's turn
        lane.mine = False
        self._at(self.rng.uniform(0.5, 2.5), lambda: self._turn_to_me(lane))

    def _chatter(self) -> None:
        if self._ending:
            return
        self._ping()
        self._at(self.rng.uniform(2.0, 5.0), self._chatter)

    def _ping(self) -> None:
        """A post in the chatter game: the service pings every player (the app loads through the pollUrl)."""
        self.simulator.update_game(self.chatter, description=f"post {self.rng.random():.6f}")

    # --- broker ----------------------------------------------------------------------------------------

    def _broker_fault(self) -> None:
        if self._ending:
            return
        if self.rng.random() < 0.5:
            self.faults["broker-restart"] += 1
            self.broker.stop()
            self._at(self.rng.uniform(0.3, 3.0), self._broker_back)
        else:
            self.faults["broker-paused"] += 1
            assert self.broker.process is not None
            os.kill(self.broker.process.pid, signal.SIGSTOP)
            self._paused = True
            self._at(self.rng.uniform(0.5, 4.0), self._broker_back)

    def _broker_back(self) -> None:
        if self._paused:
            self._paused = False
            assert self.broker.process is not None
            os.kill(self.broker.process.pid, signal.SIGCONT)
        elif not self.broker.running:
            self.broker.start()
        if not self._ending:
            self._at(self.rng.uniform(0.3, 2.0), self._broker_fault)

    def _finish_broker(self) -> None:
        """Leave the broker running and not paused."""
        for index, (_when, _n, action) in enumerate(self._queue):
            if getattr(action, "__name__", "") == "_broker_back":
                self._queue.pop(index)
                heapq.heapify(self._queue)
                self._broker_back()
                break

    # --- service ---------------------------------------------------------------------------------------

    def _arm_service_fault(self, route: str) -> None:
        if self._ending:
            return
        rng = self.rng
        kinds = [*SERVICE_FAULTS, "poll-403" if route == "poll" else "api-401"]
        kind = rng.choice(kinds)
        if route == "games" and not self.faults["api-401"]:
            kind = "api-401"  # every run signs the user out once: the prompt is checked, then they sign in again
        if route == "poll" and any(lane.mine and lane.before_mine for lane in self.lanes) and rng.random() < 0.4:
            kind = "poll-stale"  # only while a turn is the user's: the list of before it is the harmful one
        self.simulator.script_next(route, self._fault_action(route, kind))
        if route == "games":
            self._games_armed_at = time.monotonic()
            self._at(rng.uniform(0.5, 6.0), self._nudge_games)
        elif kind == "poll-stale" or rng.random() < 0.5:
            self._at(rng.uniform(0.0, 1.0), self._ping)

    def _nudge_games(self) -> None:
        """A games fault still waiting for its request: the user clicks Refresh (a full load)."""
        if self._games_armed_at is not None and not self._ending:
            self.app.session.request("user refresh", full=True)

    def _fault_action(self, route: str, kind: str) -> Callable[[], Reply | None]:
        def action() -> Reply | None:  # on a simulator handler thread
            stale = next((lane.before_mine for lane in self.lanes if lane.mine and lane.before_mine), None)
            self.faults[kind] += 1
            self._fired(route)
            if kind == "api-500":
                return Reply(503 if route == "games" else 500, b'{"errorMessage":"chaos"}')
            if kind == "api-timeout":
                self.simulator.wait_stopping(HANG_SECONDS)
                return None
            if kind == "api-trickle":
                return Reply(307, b"", [("Location", f"http://127.0.0.1:{self._trickle.port}/slow")], api=False)
            if kind == "api-malformed":
                return Reply(200, b'{"data": [{"gameId": "broken", ')
            if kind == "api-oversized":
                headers = [("Content-Encoding", "gzip"), ("Content-Type", "application/json")]
                return Reply(200, self._bomb, headers, api=False)
            if kind == "api-401":
                return Reply(401, b'{"errorMessage":"Unauthorized"}')
            if kind == "poll-403":
                return Reply(403, b"<Error><Code>AccessDenied</Code></Error>", api=False)
            if kind == "poll-stale" and stale is not None:
                body, tag = stale
                return Reply(200, body, [("ETag", tag), ("Cache-Control", "no-cache")], api=False)
            return None

        return action

    def _fired(self, route: str) -> None:
        """A scripted fault hit its request (handler thread): arm the next one from the main thread's queue."""
        if route == "games":
            self._games_armed_at = None
        self._to_arm.append(route)

    # --- relay -----------------------------------------------------------------------------------------

    def _relay_fault(self) -> None:
        relay = self.relay
        if self._ending or relay is None:
            return
        choice = self.rng.random()
        if choice < 0.35:
            self.faults["relay-drop"] += 1
            relay.drop_streams()
            self._at(self.rng.uniform(1.0, 4.0), self._relay_fault)
        elif choice < 0.7:
            self.faults["relay-half-open"] += 1
            relay.go_half_open()
            self._at(self.rng.uniform(2.0, 5.0), self._relay_fault)
        else:
            self.faults["relay-restart"] += 1
            relay.stop()
            self._at(self.rng.uniform(0.3, 3.0), self._relay_back)

    def _relay_back(self) -> None:
        if self.relay is not None and not self.relay.running:
            self.relay.start()
        if not self._ending:
            self._at(self.rng.uniform(1.0, 4.0), self._relay_fault)

    # --- signals ---------------------------------------------------------------------------------------

    def _signal_fault(self) -> None:
        if self._ending:
            return
        if self.rng.random() < 0.5:
            self.faults["clock-jump"] += 1
            self.clocks.wall_now += self.rng.uniform(60.0, 7200.0)  # slept: the wall clock ran on, monotonic not
            self.clocks.mono_now += 1.0
            self.jump.check_now()
        else:
            self.faults["wake-signal"] += 1
            self.manual.fire(self.rng.choice(["resume", "network back"]))
        self._at(self.rng.uniform(1.0, 3.0), self._signal_fault)

    # --- 401: the sign-in prompt, and signing in again -------------------------------------------------

    def _watch_sign_in(self) -> None:
        while self._to_arm:
            route = self._to_arm.pop(0)
            # the service fails now and then, not every call: a load that keeps failing backs off for minutes
            pause = self.rng.uniform(*SERVICE_PAUSE[route])
            self._at(pause, lambda route=route: self._arm_service_fault(route))
        session = self.app.session
        if session.auth_failed and not self._signing_in:
            self._signing_in = True
            self.sign_in_prompts += 1
            assert session.token is None and self.app.push.connection is None
            assert "Sign in…" in menu_texts(self.app.tray), menu_texts(self.app.tray)
            self._at(self.rng.uniform(0.5, 2.0), self._sign_in_again)

    def _sign_in_again(self) -> None:
        """What the sign-in dialog does once the pasted token checked out."""
        self.app.account.close()
        self.app.session.switch_account(self.token, ME_NAME)
        self._signing_in = False

    # --- results ---------------------------------------------------------------------------------------

    def stop_faults(self) -> int:
        """No more scripted service faults; returns how many were armed but never hit a request."""
        return self.simulator.clear_scripts()

    def report(self, unused_faults: int) -> ChaosReport:
        missed: list[str] = []
        duplicated: list[str] = []
        delays: list[float] = []
        for lane in self.lanes:
            for index, turn in enumerate(lane.turns):
                until = lane.turns[index + 1].became_mine if index + 1 < len(lane.turns) else float("inf")
                turn.notified = [when for when in self.notes.times_for(lane.game_id, turn.became_mine) if when < until]
                label = f"{lane.name} turn {turn.number}"
                if not turn.notified:
                    missed.append(label)
                elif len(turn.notified) > 1:
                    duplicated.append(f"{label} x{len(turn.notified)}")
                if turn.delay is not None:
                    delays.append(turn.delay)
        known = {lane.game_id for lane in self.lanes}
        first = min((lane.turns[0].became_mine for lane in self.lanes if lane.turns), default=0.0)
        stray = [
            f"{ids} at {when - first:.1f} s"
            for when, ids in self.notes.entries
            if not set(ids) <= known or when < first
        ]
        return ChaosReport(
            seed=self.seed,
            seconds=self.elapsed,
            faults=Counter(self.faults),
            turns=sum(len(lane.turns) for lane in self.lanes),
            missed=missed,
            duplicated=duplicated,
            stray=stray,
            worst_delay=max(delays, default=0.0) if not missed else float("inf"),
            sign_in_prompts=self.sign_in_prompts,
            rss_growth=rss_bytes() - self.rss_start if self.rss_start else 0,
            unused_faults=unused_faults,
            notes=len(self.notes.entries),
        )


@dataclass
class ChaosOutcome:
    """What a whole run saw; the invariants are checked by the caller."""

    report: ChaosReport
    failures: list[str]  # uncaught exceptions and ERROR tracebacks of our code
    live_again: bool  # push live within the reconnect ceiling once the faults stopped
    refresh_seconds: float | None  # a Refresh at the end (None: it did not complete)
    refresh_error: str  # what the session said after it ("" when it loaded cleanly)
    turn_api: dict[str, Any]  # GET /turns at the end
    mine: list[str]  # the game ids the app lists as the user's turns at the end
    summaries: list[str]  # every notification the desktop received during the run


def enable_relay(env: dict[str, str], simulator: InstrumentedSimulator, token: str, relay: NtfyRelay) -> None:
    """``relay enable`` for the account into the app's secret store (the keyring), before the app starts."""
    from pydt_tray.core.context import load_context
    from pydt_tray.core.relay_setup import RelaySetup
    from pydt_tray.core.relay_store import relay_store

    ctx = load_context(env)
    client = PydtClient(simulator.base_url, token, timeout=(2.0, 5.0), backoff=0.0)
    try:
        store = relay_store(ctx.paths.config_dir)
        RelaySetup(client, store, verify_timeout=5.0).enable(relay.url, keepalive_seconds=relay.keepalive)
    finally:
        client.close()


def prepare_app(app: Any, turn_api_port: int) -> None:
    """Before start: the run's client timings and the local turn API on ``turn_api_port``."""
    quick_client(app.ctx)
    app.ctx.settings.set("turn_api_enabled", True)
    app.ctx.settings.set("turn_api_port", turn_api_port)


def run_chaos(
    app: Any,
    simulator: InstrumentedSimulator,
    broker: Mosquitto,
    world: Any,
    notifications: Any,
    *,
    seed: int,
    seconds: float,
    sources: tuple[ClockJumpSource, ManualWakeSource, FakeClocks],
    turn_api_port: int,
    relay: NtfyRelay | None = None,
) -> ChaosOutcome:
    """A started, live and synced ``app`` (made with :func:`wake_sources` and :func:`prepare_app`): run the
    chaos for ``seconds``, let the last turns finish, check that the app still answers, and report."""
    from pydt_tray.push.reconnect import CEILING_SECONDS

    jump, manual, clocks = sources
    with Failures().watching() as failures:
        chaos = ChaosRun(
            app, simulator, broker, world.me, world.alice, world.token,
            seed=seed, jump=jump, manual=manual, clocks=clocks, relay=relay,
        )  # fmt: skip
        notifications.clear()
        try:
            chaos.run(seconds)
        finally:
            unused = chaos.stop_faults()
            chaos.wind_down(120.0)

        def all_live() -> bool:
            relay_live = relay is None or (app.push.relay is not None and app.push.relay.live)
            return bool(app.push.state.live) and relay_live

        live_again = spin_until(all_live, CEILING_SECONDS + 10)
        engine = app.session.engine
        fetches = engine.fetch_count
        started = time.monotonic()
        app.session.request("user refresh", full=True)
        done = spin_until(lambda: engine.fetch_count > fetches and not engine.busy, 15.0)
        refresh_seconds = time.monotonic() - started if done else None
        turn_api = turn_api_answers(turn_api_port)
        report = chaos.report(unused)
    snapshot = app.session.snapshot()
    return ChaosOutcome(
        report=report,
        failures=list(failures.items),
        live_again=live_again,
        refresh_seconds=refresh_seconds,
        refresh_error=app.session.last_error,
        turn_api=turn_api,
        mine=sorted(game.game_id for game in snapshot.my_turns()) if snapshot is not None else [],
        summaries=[note.summary for note in notifications.notifications],
    )


def turn_api_answers(port: int) -> dict[str, Any]:
    """The body of ``GET /turns`` of the app's local turn API (raises when it does not answer)."""
    import json

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/turns", timeout=5) as reply:
        data = json.loads(reply.read())
    assert isinstance(data, dict), data
    return data
