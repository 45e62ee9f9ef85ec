"""A flapping broker and a steady stream of turns: what a train, bad Wi-Fi or a flaky VPN does to push.

``BrokerFlapper`` stops and starts a :class:`~tests.helpers.mosquitto.Mosquitto` (same ports) on a
seeded random rhythm in a background thread. ``TurnDriver`` hands a two-player game back and forth and
measures, for every turn that becomes the user's, how long the app took to notify it. Both are shared
by the integration test and the on-demand run in ``tests/benchmarks/flapping.py``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pydt_tray.sandbox.simulator import PydtSimulator
from tests.helpers.mosquitto import Mosquitto

log = logging.getLogger(__name__)

Spin = Callable[[Callable[[], bool], float], bool]  # run the app's event loop until a condition or a timeout


class BrokerFlapper:
    """Keeps a broker up for ``up`` seconds, then down for ``down`` seconds (ranges, drawn per cycle)."""

    def __init__(
        self,
        broker: Mosquitto,
        *,
        up: tuple[float, float] = (5.0, 10.0),
        down: tuple[float, float] = (1.0, 4.0),
        seed: int = 16,
    ) -> None:
        self.broker = broker
        self.up = up
        self.down = down
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="broker-flapper", daemon=True)
        self.restarts = 0
        self.error: BaseException | None = None

    def start(self) -> BrokerFlapper:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop flapping and leave the broker running."""
        self._stop.set()
        self._thread.join(timeout=30)
        if not self.broker.running:
            self.broker.start()
        if self.error is not None:
            raise RuntimeError("the broker flapper failed") from self.error

    def _run(self) -> None:
        try:
            while not self._stop.wait(self._rng.uniform(*self.up)):
                self.broker.stop()
                self._stop.wait(self._rng.uniform(*self.down))
                self.broker.start()
                self.restarts += 1
        except BaseException as error:  # reported by stop()
            self.error = error
            log.exception("broker flapper failed")


@dataclass
class Turn:
    """One turn that became the user's, and when (monotonic seconds) the app notified it."""

    number: int
    became_mine: float
    notified: list[float] = field(default_factory=list)

    @property
    def delay(self) -> float | None:
        return None if not self.notified else self.notified[0] - self.became_mine


class NotificationLog:
    """Connect :meth:`record` to the app's ``notified`` signal; keeps (time, game ids) of every new-turn note."""

    def __init__(self) -> None:
        self.entries: list[tuple[float, tuple[str, ...]]] = []

    def record(self, note: object) -> None:
        if getattr(note, "reminder", False):
            return
        self.entries.append((time.monotonic(), tuple(getattr(note, "game_ids", ()))))

    def times_for(self, game_id: str, since: float = float("-inf")) -> list[float]:
        return [when for when, ids in self.entries if game_id in ids and when >= since]


class TurnDriver:
    """Alternates a two-player game between the other player and the user.

    For each turn of the user it waits (spinning the app's event loop) until every given log shows a
    notification or ``give_up`` seconds passed, then keeps the turn a moment and plays it.
    """

    def __init__(
        self,
        simulator: PydtSimulator,
        me: str,
        other: str,
        logs: dict[str, NotificationLog],
        spin: Spin,
        *,
        pause: tuple[float, float] = (2.0, 5.0),
        give_up: float = 30.0,
        seed: int = 61,
    ) -> None:
        self.simulator = simulator
        self.logs = logs
        self.spin = spin
        self.pause = pause
        self.give_up = give_up
        self._rng = random.Random(seed)
        self.game_id = simulator.add_game(name="Flapping", players=[me, other], current=other, turn=2)
        self.turns: dict[str, list[Turn]] = {name: [] for name in logs}

    def run(self, duration: float) -> None:
        deadline = time.monotonic() + duration
        number = 0
        while time.monotonic() < deadline:
            number += 1
            self.simulator.advance_turn(self.game_id)  # the other player is done: the user's turn
            mine = time.monotonic()
            for name in self.logs:
                self.turns[name].append(Turn(number, mine))
            self.spin(lambda mine=mine: all(log.times_for(self.game_id, mine) for log in self.logs.values()),
                      self.give_up)  # fmt: skip
            self.spin(lambda: False, self._rng.uniform(*self.pause))
            self.simulator.advance_turn(self.game_id)  # the user played: the other player's turn
            self.spin(lambda: False, self._rng.uniform(*self.pause))

    def settle(self, seconds: float) -> None:
        """Spin a little longer so that late (duplicate) notifications would show, then assign them."""
        self.spin(lambda: False, seconds)
        for name, log in self.logs.items():
            turns = self.turns[name]
            for index, turn in enumerate(turns):
                until = turns[index + 1].became_mine if index + 1 < len(turns) else float("inf")
                turn.notified = [when for when in log.times_for(self.game_id, turn.became_mine) if when < until]

    def worst_delay(self, name: str) -> float:
        delays = [turn.delay for turn in self.turns[name]]
        return max(float("inf") if delay is None else delay for delay in delays)
