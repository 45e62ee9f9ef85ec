"""Snapshots of the user's games and what changed between two of them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pydt_tray.core.models import Game, sort_games


def turn_key(game: Game) -> str:
    """Identifies one turn of one game: ``<gameId>:<gameTurnRangeKey>``."""
    return f"{game.game_id}:{game.game_turn_range_key}"


@dataclass(frozen=True)
class Snapshot:
    """The user's games at one moment, as seen by ``steam_id``."""

    steam_id: str
    games: tuple[Game, ...]

    @classmethod
    def build(cls, steam_id: str, games: list[Game] | tuple[Game, ...]) -> Snapshot:
        return cls(steam_id=steam_id, games=tuple(sort_games(list(games), steam_id)))

    def my_turns(self) -> list[Game]:
        """Every game waiting for the user, turn-1 games included, in display order."""
        return [game for game in self.games if game.is_your_turn(self.steam_id)]

    def notifiable_turns(self) -> list[Game]:
        """The user's turns that can be downloaded and so deserve a notification (turn > 1)."""
        return [game for game in self.my_turns() if not game.is_first_turn]

    def others(self) -> list[Game]:
        return [game for game in self.games if not game.is_your_turn(self.steam_id)]

    def by_id(self) -> dict[str, Game]:
        return {game.game_id: game for game in self.games}


class EventKind(enum.Enum):
    TURN_MINE = "turn-mine"
    TURN_LEFT = "turn-left"
    GAME_ADDED = "game-added"
    GAME_REMOVED = "game-removed"
    GAME_FINISHED = "game-finished"


@dataclass(frozen=True)
class GameEvent:
    kind: EventKind
    game: Game

    @property
    def turn_key(self) -> str:
        return turn_key(self.game)


def diff_snapshots(old: Snapshot | None, new: Snapshot) -> list[GameEvent]:
    """Events that lead from ``old`` to ``new``.

    With no previous snapshot (the first load after start) every pending turn of the user is a
    ``TURN_MINE`` event; the notification policy decides, from its persisted keys, which of them are
    really new. A turn is identified by (gameId, gameTurnRangeKey), so a new turn in the same game is
    a new event even if the user was also the previous player. A game whose ``gameTurnRangeKey`` went
    down is an older copy of it (a stale list): it brings no ``TURN_MINE``, so a played turn is not
    announced again.
    """
    events: list[GameEvent] = []
    old_games = old.by_id() if old is not None else {}
    new_games = new.by_id()
    old_mine = {turn_key(g) for g in old.my_turns()} if old is not None else set()
    new_mine = {turn_key(g) for g in new.my_turns()}

    for game_id, game in new_games.items():
        before = old_games.get(game_id)
        if old is not None and before is None:
            events.append(GameEvent(EventKind.GAME_ADDED, game))
        if game.completed and (before is None or not before.completed) and old is not None:
            events.append(GameEvent(EventKind.GAME_FINISHED, game))
        older = before is not None and game.game_turn_range_key < before.game_turn_range_key
        if turn_key(game) in new_mine and turn_key(game) not in old_mine and not older:
            events.append(GameEvent(EventKind.TURN_MINE, game))

    for game_id, before in old_games.items():
        if game_id not in new_games:
            events.append(GameEvent(EventKind.GAME_REMOVED, before))
        if turn_key(before) in old_mine and turn_key(before) not in new_mine:
            events.append(GameEvent(EventKind.TURN_LEFT, before))
    return events
