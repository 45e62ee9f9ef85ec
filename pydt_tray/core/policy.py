"""When to tell the user about a turn, and with which words.

Rules:
- one notification per new turn of the user, keyed by (gameId, gameTurnRangeKey), remembered in the
  state file so that a restart does not notify again and a turn that arrived while the app was
  closed is notified once at start;
- turn 1 is never notified (its save is uploaded on the website), though it shows in the tray;
- several new turns at once make one grouped notification;
- optional reminders for turns still pending every ``reminder_minutes`` (0 = off);
- nothing at all while ``notifications_enabled`` is off (the turns are still marked as seen);
- with a :class:`Gate` (``core.quiet.Silence``): muted or snoozed games never notify; during quiet hours or a
  pause nothing pops up (what was held back is summed up once it is over: "2 turns waiting: A, B"); no
  reminders while the user is away (vacation mode) or the desktop inhibits notifications.
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
    kind: str = "turn"  # turn, reminder, summary, timer, update
    url: str = ""  # a page the notification points to (the release page of an update)


class Gate(Protocol):
    """What the policy asks before it speaks (implemented by ``core.quiet.Silence``)."""

    def is_quiet(self) -> bool: ...

    def silenced(self, game: Game) -> bool: ...

    def away(self) -> bool: ...

    def inhibited(self) -> bool: ...

    def hold(self) -> None: ...

    def take_summary(self) -> bool: ...


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
        return Notification(title, _describe(game, names), ids, reminder, "reminder" if reminder else "turn")
    title = f"{len(games)} turns still waiting" if reminder else f"{len(games)} turns are waiting for you"
    body = ", ".join(f"{game.display_name} (round {game.round})" for game in games)
    return Notification(title, body, ids, reminder, "reminder" if reminder else "turn")


def compose_summary(games: list[Game]) -> Notification:
    """The one notification after quiet hours or a pause: "2 turns waiting: A, B"."""
    count = f"{len(games)} turn{'s' if len(games) != 1 else ''} waiting"
    title = f"{count}: " + ", ".join(game.display_name for game in games)
    body = ", ".join(f"{game.display_name} (round {game.round})" for game in games)
    return Notification(title, body, tuple(game.game_id for game in games), True, "summary")


class NotificationPolicy:
    def __init__(
        self,
        store: NotifiedTurns,
        *,
        enabled: Callable[[], bool],
        reminder_minutes: Callable[[], int],
        clock: Callable[[], float] = time.time,
        gate: Gate | None = None,
    ) -> None:
        self._store = store
        self._gate = gate
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
        gate = self._gate
        if gate is not None:
            fresh = [game for game in fresh if not gate.silenced(game)]
            if not fresh:
                return None
            if gate.is_quiet():
                gate.hold()
                return None
        return compose(fresh, names)

    def reminders_on(self) -> bool:
        return self._reminder_minutes() > 0 and self._enabled()

    def reminder(self, snapshot: Snapshot, names: NameLookup) -> Notification | None:
        """A reminder for the turns still pending whose last notice is older than the interval.

        With a gate, the summary of what quiet hours held back comes first (even with reminders off).
        """
        gate = self._gate
        now = self._clock()
        if gate is not None and gate.take_summary() and self._enabled():
            waiting = [game for game in snapshot.notifiable_turns() if not gate.silenced(game)]
            if waiting:
                for game in waiting:
                    self._store.reminded_at[turn_key(game)] = now
                return compose_summary(waiting)
        minutes = self._reminder_minutes()
        if minutes <= 0 or not self._enabled():
            return None
        if gate is not None and (gate.away() or gate.inhibited()):
            return None
        due: list[Game] = []
        for game in snapshot.notifiable_turns():
            if gate is not None and gate.silenced(game):
                continue
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
        if gate is not None and gate.is_quiet():
            gate.hold()
            return None
        return compose(due, names, reminder=True)
