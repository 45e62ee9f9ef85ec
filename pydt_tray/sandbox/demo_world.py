"""The demo's scripted world: four games and three opponents who take their turns on timers, every change
announced on the user's push topic as the service would."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from pydt_tray.core.environment import Endpoints
from pydt_tray.sandbox.simulator import PydtSimulator

log = logging.getLogger(__name__)

TURN_SECONDS_VARIABLE = "PYDT_DEMO_TURN_SECONDS"
PAYLOAD = b"Hello!"
USER_ID = "76561190000000100"
USER_NAME = "You"
OPPONENTS = {"76561190000000101": "Ada", "76561190000000102": "Boudica", "76561190000000103": "Cyrus"}


@dataclass(frozen=True)
class DemoGame:
    """One scripted game: players in turn order ("" = AI), who plays now, where it stands."""

    name: str
    game_type: str
    players: tuple[str, ...]
    current: str
    turn: int
    round: int


_A, _B, _C = OPPONENTS
DEMO_GAMES = (  # the first one is a single opponent move away from being your turn
    DemoGame("Rivers of Gold", "CIV6", (_A, USER_ID, _B), _A, 31, 11),
    DemoGame("Iron and Bronze", "CIV5", (_B, _C, USER_ID), _B, 58, 20),
    DemoGame("Tides of Empire", "OLD_WORLD", (USER_ID, _C, _A, ""), _C, 14, 5),
    DemoGame("Age of Antiquity", "CIV7", (_C, USER_ID, _A, _B), _C, 9, 3),
)


def parse_turn_seconds(text: str) -> tuple[float, float]:
    """``"12"`` or ``"10-20"`` -> (low, high) seconds; ValueError for anything else."""
    low_text, _, high_text = text.strip().partition("-")
    try:
        low = float(low_text)
        high = float(high_text) if high_text else low
    except ValueError:
        low = high = -1.0
    if not 0 < low <= high < float("inf"):
        raise ValueError(f"{TURN_SECONDS_VARIABLE} must be N or LOW-HIGH seconds with 0 < LOW <= HIGH, got {text!r}")
    return low, high


class DemoWorld:
    """The scripted players: opponents take their turns on timers; every change is announced by push."""

    def __init__(
        self,
        simulator: PydtSimulator,
        publish: Callable[[str, bytes], None] | None = None,
        *,
        stage: str = "prod",
        seed: int | None = None,
        turn_interval: tuple[float, float] = (10, 20),
        first_turn_delay: float = 3.0,
    ) -> None:
        self.simulator = simulator
        self.publish = publish
        self.endpoints = Endpoints(stage=stage)
        self.turn_interval = turn_interval
        self.first_turn_delay = first_turn_delay
        self.game_ids: dict[str, str] = {}  # game id -> name
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._timers: dict[str, threading.Timer] = {}
        self._fallback: threading.Timer | None = None
        self._begun = False
        self._stopped = False

    @property
    def user_topic(self) -> str:
        return self.endpoints.topic_for(USER_ID)

    def populate(self) -> str:
        """Add the players and games to the simulator; returns the demo user's token."""
        token = self.simulator.add_user(USER_ID, USER_NAME)
        for steam_id, name in OPPONENTS.items():
            self.simulator.add_user(steam_id, name)
        for game in DEMO_GAMES:
            game_id = self.simulator.add_game(
                name=game.name,
                players=list(game.players),
                current=game.current,
                game_type=game.game_type,
                turn=game.turn,
                round=game.round,
            )
            self.game_ids[game_id] = game.name
        self.simulator.update_game(game_id)  # writes every player's pollUrl object, as the live service has
        self.simulator.add_change_hook(self._on_change)
        return token

    def start(self, *, wait_for_subscriber: float | None = 20.0) -> None:
        """Begin play now, or once the app subscribes to the user's topic (at most ``wait_for_subscriber`` s)."""
        if wait_for_subscriber is None:
            self._begin()
            return
        fallback = threading.Timer(wait_for_subscriber, self._begin)
        fallback.daemon = True
        with self._lock:
            if self._stopped or self._begun:
                return
            self._fallback = fallback
            fallback.start()

    def on_subscribed(self, _client_id: str, topic: str) -> None:
        """A broker subscribe listener: the app listens now, so the first turn change will reach it."""
        if topic == self.user_topic:
            self._begin()

    def stop(self) -> None:
        """Cancel every pending move; nothing is scheduled afterwards."""
        with self._lock:
            self._stopped = True
            timers = list(self._timers.values())
            self._timers.clear()
            if self._fallback is not None:
                timers.append(self._fallback)
                self._fallback = None
        for timer in timers:
            timer.cancel()
        for timer in timers:
            if timer is not threading.current_thread():
                timer.join(timeout=5)

    def _begin(self) -> None:
        with self._lock:
            if self._begun or self._stopped:
                return
            self._begun = True
            fallback, self._fallback = self._fallback, None
        if fallback is not None:
            fallback.cancel()
        log.info("demo: the opponents start playing")
        for index, game_id in enumerate(self.game_ids):
            delay = self.first_turn_delay + (self._interval() if index else 0.0)
            self._schedule(game_id, delay)

    def _interval(self) -> float:
        low, high = self.turn_interval
        return self._random.uniform(low, high)

    def _schedule(self, game_id: str, delay: float) -> None:
        timer = threading.Timer(delay, self._move, args=(game_id,))
        timer.daemon = True
        with self._lock:
            if self._stopped:
                return
            previous = self._timers.pop(game_id, None)
            self._timers[game_id] = timer
            timer.start()
        if previous is not None:
            previous.cancel()

    def _move(self, game_id: str) -> None:
        with self._lock:
            if self._stopped or self._timers.get(game_id) is not threading.current_thread():
                return
            del self._timers[game_id]
        try:
            before = self.simulator.game(game_id)["currentPlayerSteamId"]
            after = self.simulator.advance_turn(game_id)["currentPlayerSteamId"]
        except Exception:
            log.exception("demo: a scripted turn failed in %s", self.game_ids.get(game_id, game_id))
            return
        log.info("demo: %s played in %s; now %s", self._name(before), self.game_ids[game_id], self._name(after))

    def _on_change(self, steam_ids: list[str], game_id: str, new_turn: bool) -> None:
        """The simulator's change hook: announce by push, then let the next opponent think."""
        if self.publish is not None:
            for steam_id in steam_ids:
                topic = self.endpoints.topic_for(steam_id)
                log.info("demo: announcing a change in %s on %s", self.game_ids.get(game_id, game_id), topic)
                try:
                    self.publish(topic, PAYLOAD)
                except Exception as error:
                    log.warning("demo: could not publish to %s: %s", topic, error)
        if not new_turn or game_id not in self.game_ids:
            return
        current = self.simulator.game(game_id).get("currentPlayerSteamId")
        if current in OPPONENTS:
            self._schedule(game_id, self._interval())

    @staticmethod
    def _name(steam_id: str) -> str:
        return USER_NAME if steam_id == USER_ID else OPPONENTS.get(steam_id, steam_id)
