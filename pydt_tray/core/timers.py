"""Turn timers: when a turn runs out, the countdown text, and the warnings before PYDT skips the user.

The expiry of a game with ``turnTimerMinutes`` is ``(lastTurnEndDate or updatedAt) + turnTimerMinutes``. While it
is the user's turn, a warning is given at each point of the setting ``timer_warnings`` (default ``75%, 1h``: at
75% of the timer and one hour before the end), each point once per turn (remembered in ``state.timer_warned``).
Points that would come before the turn even started are dropped; when the app was not running and several
points are due at once, only the latest is given. Quiet hours and a pause hold the warnings back, except the
last one while ``timer_final_warning_in_quiet_hours`` is on. Muted and snoozed games, the user's vacation and a
turn whose timer has already run out give none.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydt_tray.core.diff import Snapshot, turn_key
from pydt_tray.core.models import Game
from pydt_tray.core.policy import Gate, Notification
from pydt_tray.core.quiet import LocalTime, local_time

WARNINGS_FORMAT = "each warning is a share of the timer like 75% or a time before its end like 1h or 30m"

VACATION_WORDS = {
    "PAUSE": "Vacation mode would pause this timer for you.",
    "SKIP_AFTER_TIMER": "Vacation mode does not stop this timer.",
    "SKIP_IMMEDIATELY": "In vacation mode you would be skipped at once.",
}


@dataclass(frozen=True)
class WarningPoint:
    """One point of ``timer_warnings``: a share of the timer gone, or a time before its end."""

    label: str
    share: float | None = None
    before: timedelta | None = None

    def instant(self, start: datetime, expiry: datetime) -> datetime:
        if self.share is not None:
            return start + (expiry - start) * self.share
        assert self.before is not None
        return expiry - self.before


_SHARE = re.compile(r"(\d{1,2}(?:\.\d+)?)\s*%")
_BEFORE = re.compile(r"(\d+)\s*(m|min|h|d)")


def parse_timer_warnings(text: str) -> tuple[WarningPoint, ...]:
    """``"75%, 1h"`` -> two points; empty text -> none. Raises ValueError saying what is accepted."""
    points: dict[str, WarningPoint] = {}
    for item in text.split(","):
        word = item.strip().lower()
        if not word:
            continue
        share = _SHARE.fullmatch(word)
        before = _BEFORE.fullmatch(word)
        if share is not None and 0 < float(share.group(1)) < 100:
            value = float(share.group(1))
            label = f"{value:g}%"
            points[label] = WarningPoint(label, share=value / 100.0)
        elif before is not None and int(before.group(1)) > 0:
            amount, unit = int(before.group(1)), before.group(2)
            unit = "m" if unit == "min" else unit
            label = f"{amount}{unit}"
            seconds = amount * {"m": 60, "h": 3600, "d": 86400}[unit]
            points[label] = WarningPoint(label, before=timedelta(seconds=seconds))
        else:
            raise ValueError(WARNINGS_FORMAT)
    return tuple(points.values())


def warnings_from_setting(text: Any) -> tuple[WarningPoint, ...]:
    if not isinstance(text, str):
        return ()
    try:
        return parse_timer_warnings(text)
    except ValueError:
        return ()


def timer_expiry(game: Game) -> datetime | None:
    """When the game's turn timer runs out, or None when it has none."""
    start = game.last_activity
    if not game.turn_timer_minutes or game.turn_timer_minutes <= 0 or start is None:
        return None
    return start + timedelta(minutes=game.turn_timer_minutes)


def format_span(seconds: float) -> str:
    """``"2 d 3 h"``, ``"3 h 20 min"``, ``"12 min"``, ``"less than a minute"``."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def countdown_text(game: Game, now: float) -> str:
    """The countdown for the window and the tray ("" without a timer)."""
    expiry = timer_expiry(game)
    if expiry is None:
        return ""
    left = expiry.timestamp() - now
    if left <= 0:
        return "Timer expires soon…"
    return f"Timer expires in {format_span(left)}"


class TimerWarnings:
    """Decides the turn-timer warnings; :meth:`check` is called after each fetch and on a timer."""

    def __init__(
        self,
        store: MutableMapping[str, Any],
        *,
        points: Callable[[], tuple[WarningPoint, ...]],
        final_in_quiet: Callable[[], bool],
        enabled: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.time,
        local: LocalTime = local_time,
    ) -> None:
        self._store = store
        self._points = points
        self._final_in_quiet = final_in_quiet
        self._enabled = enabled
        self._clock = clock
        self._local = local

    def _schedule(self, game: Game) -> tuple[datetime, list[tuple[datetime, WarningPoint]]] | None:
        """The expiry and the warning instants (in order) of one of the user's turns."""
        expiry = timer_expiry(game)
        start = game.last_activity
        if expiry is None or start is None:
            return None
        instants = sorted(
            ((point.instant(start, expiry), point) for point in self._points()),
            key=lambda pair: pair[0],
        )
        return expiry, [(when, point) for when, point in instants if start < when < expiry]

    def next_due(self, snapshot: Snapshot | None) -> float | None:
        """The next instant a warning could be due (to arm a timer), or None."""
        if snapshot is None:
            return None
        now = self._clock()
        coming: list[float] = []
        for game in snapshot.notifiable_turns():
            plan = self._schedule(game)
            if plan is None:
                continue
            warned = self._warned(game)
            coming += [
                when.timestamp() for when, point in plan[1] if point.label not in warned and when.timestamp() > now
            ]
        return min(coming) if coming else None

    def _warned(self, game: Game) -> set[str]:
        labels = self._store.get(turn_key(game))
        return {label for label in labels if isinstance(label, str)} if isinstance(labels, list) else set()

    def check(self, snapshot: Snapshot | None, gate: Gate | None = None) -> Notification | None:
        """The warning due now (one notification for all games), marking what it covers as given."""
        if snapshot is None:
            return None
        now = self._clock()
        pending = snapshot.notifiable_turns()
        keys = {turn_key(game) for game in pending}
        for key in [key for key in self._store if key not in keys]:
            del self._store[key]  # that turn is over
        warnings: list[tuple[Game, datetime]] = []
        for game in pending:
            plan = self._schedule(game)
            if plan is None:
                continue
            expiry, instants = plan
            if now >= expiry.timestamp():
                continue
            warned = self._warned(game)
            due = [(when, point) for when, point in instants if when.timestamp() <= now and point.label not in warned]
            if not due:
                continue
            self._store[turn_key(game)] = sorted(warned | {point.label for _, point in due})
            final = due[-1][1] is instants[-1][1]
            if not self._enabled():
                continue
            if gate is not None:
                if gate.silenced(game) or gate.away():
                    continue
                if (gate.is_quiet() or gate.inhibited()) and not (final and self._final_in_quiet()):
                    gate.hold()
                    continue
            warnings.append((game, expiry))
        if not warnings:
            return None
        return self._compose(warnings, now)

    def _compose(self, warnings: list[tuple[Game, datetime]], now: float) -> Notification:
        ids = tuple(game.game_id for game, _ in warnings)
        if len(warnings) == 1:
            game, expiry = warnings[0]
            at = self._local(expiry.timestamp()).strftime("%a %H:%M")
            left = format_span(expiry.timestamp() - now)
            body = f"{left} left (until {at}), then PYDT skips your turn."
            words = VACATION_WORDS.get(game.turn_timer_vacation_handling)
            if words:
                body += " " + words
            return Notification(f"Turn timer: {game.display_name}", body, ids, True, "timer")
        body = ", ".join(
            f"{game.display_name}: {format_span(expiry.timestamp() - now)} left" for game, expiry in warnings
        )
        return Notification(f"{len(warnings)} turn timers are running out", body, ids, True, "timer")


def expires_at(game: Game) -> datetime | None:
    """The expiry in UTC (for ``games --json``)."""
    expiry = timer_expiry(game)
    return expiry.astimezone(UTC) if expiry is not None else None
