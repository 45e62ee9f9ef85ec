"""When to tell the user about a turn, and with which words.

Rules:
- one notification per new turn of the user, keyed by (gameId, gameTurnRangeKey), remembered in the
  state file so that a restart does not notify again and a turn that arrived while the app was
  closed is notified once at start;
- turn 1 is never notified (its save is uploaded on the website), though it shows in the tray;
- several new turns at once make one grouped notification;
- optional reminders for turns still pending every ``reminder_minutes`` (0 = off);
- nothing at all while ``notifications_enabled`` is off (the turns are still marked as seen).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from pydt_tray.core.diff import EventKind, GameEvent, Snapshot, turn_key
from pydt_tray.core.models import Game


class NotifiedTurns(Protocol):
    """The persisted part of the policy (implemented by the state file)."""

    reminded_at: dict[str, float]

    def was_notified(self, key: str) -> bool: ...

    def mark_notified(self, key: str) -> None: ...

    def prune(self, keep_keys: set[str]) -> None: ...


@dataclass(frozen=True)
class Notification:
    title: str
    body: str
    game_ids: tuple[str, ...]
    reminder: bool = False


NameLookup = Callable[[str], "str | None"]


def _describe(game: Game, names: NameLookup) -> str:
    parts = [f"Round {game.round}"]
    previous = game.previous_player()
    if previous is not None:
        name = names(previous.steam_id)
        if name:
            parts.append(f"{name} played last")
    return " · ".join(parts)


def compose(games: list[Game], names: NameLookup, *, reminder: bool = False) -> Notification:
    """The words of one notification about ``games`` (at least one)."""
    ids = tuple(game.game_id for game in games)
    if len(games) == 1:
        game = games[0]
        title = f"Still your turn: {game.display_name}" if reminder else f"Your turn: {game.display_name}"
        return Notification(title, _describe(game, names), ids, reminder)
    title = f"{len(games)} turns still waiting" if reminder else f"{len(games)} turns are waiting for you"
    body = ", ".join(f"{game.display_name} (round {game.round})" for game in games)
    return Notification(title, body, ids, reminder)


class NotificationPolicy:
    def __init__(
        self,
        store: NotifiedTurns,
        *,
        enabled: Callable[[], bool],
        reminder_minutes: Callable[[], int],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._enabled = enabled
        self._reminder_minutes = reminder_minutes
        self._clock = clock

    def on_events(self, events: Iterable[GameEvent], snapshot: Snapshot, names: NameLookup) -> Notification | None:
        """Decide what to show for one fetch; marks the turns it covers as notified."""
        fresh: list[Game] = []
        for event in events:
            if event.kind is not EventKind.TURN_MINE or event.game.is_first_turn:
                continue
            key = event.turn_key
            if self._store.was_notified(key):
                continue
            self._store.mark_notified(key)
            self._store.reminded_at[key] = self._clock()
            fresh.append(event.game)
        self._store.prune({turn_key(game) for game in snapshot.notifiable_turns()})
        if not fresh or not self._enabled():
            return None
        return compose(fresh, names)

    def reminders_on(self) -> bool:
        return self._reminder_minutes() > 0 and self._enabled()

    def reminder(self, snapshot: Snapshot, names: NameLookup) -> Notification | None:
        """A reminder for the turns still pending whose last notice is older than the interval."""
        minutes = self._reminder_minutes()
        if minutes <= 0 or not self._enabled():
            return None
        now = self._clock()
        due: list[Game] = []
        for game in snapshot.notifiable_turns():
            key = turn_key(game)
            last = self._store.reminded_at.get(key)
            if last is None:
                # notified before reminders were tracked (or while disabled): start counting now
                self._store.reminded_at[key] = now
                continue
            if now - last >= minutes * 60:
                due.append(game)
        if not due:
            return None
        for game in due:
            self._store.reminded_at[turn_key(game)] = now
        return compose(due, names, reminder=True)
