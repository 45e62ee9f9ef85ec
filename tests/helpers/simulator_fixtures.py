"""Fixtures around the PYDT simulator: a running service, a seeded world and a client for it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pydt_tray.core.api import PydtClient
from pydt_tray.sandbox.simulator import PydtSimulator
from tests.helpers.simulator import InstrumentedSimulator

ME = "76561190000000001"
ALICE = "76561190000000002"
BOB = "76561190000000003"


@dataclass(frozen=True)
class World:
    """A small seeded service: "me" plus two other players and three games."""

    me: str
    token: str
    alice: str
    bob: str
    my_turn_game: str  # my turn, turn > 1: a save is ready to download
    their_turn_game: str  # Alice's turn
    first_turn_game: str  # my turn but turn 1: no save yet

    @property
    def others(self) -> list[str]:
        return [self.alice, self.bob]


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def seeded_world(sim: PydtSimulator) -> World:
    token = sim.add_user(ME, "Me Myself", forum_username="me_on_forum")
    sim.add_user(ALICE, "Alice")
    sim.add_user(BOB, "Bob")
    mine = sim.add_game(name="Mine to play", players=[ME, ALICE, "", BOB], current=ME, turn=5, round=2)
    theirs = sim.add_game(name="Alice is playing", players=[ALICE, ME, BOB], current=ALICE, turn=3)
    first = sim.add_game(name="Brand new", players=[ME, ALICE], current=ME, turn=1)
    return World(ME, token, ALICE, BOB, mine, theirs, first)


@pytest.fixture
def simulator() -> Iterator[InstrumentedSimulator]:
    """A started simulator on a random 127.0.0.1 port, stopped after the test."""
    with InstrumentedSimulator() as sim:
        yield sim


@pytest.fixture
def world(simulator: InstrumentedSimulator) -> World:
    return seeded_world(simulator)


@pytest.fixture
def pydt_client(simulator: InstrumentedSimulator, world: World) -> Iterator[PydtClient]:
    """A client for "me" with no backoff sleeps and short timeouts."""
    client = PydtClient(simulator.base_url, world.token, timeout=(2.0, 5.0), backoff=0.0)
    try:
        yield client
    finally:
        client.close()
