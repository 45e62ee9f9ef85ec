"""When pydt-tray keeps silent: quiet hours, the notification pause, per-game mute and snooze, "I'm away".

- Quiet hours (setting ``quiet_hours``, e.g. ``22:00-07:30`` or ``22:00-07:30 sun-thu``) are local time and may
  cross midnight; the days name the day a quiet period *starts* on. During them nothing pops up and no reminder
  fires; what was held back is summed up in one notification once they are over.
- The pause ("for 1 hour", "until tomorrow morning") works like quiet hours until it ends; "resume" ends the
  pause and also the quiet hours under way, until the next quiet period.
- A muted game never notifies; a snoozed one is silent until a time or until its next turn.
- While the user is away (PYDT vacation mode) or the desktop has notifications inhibited, no reminders are added.

Everything is Qt-free; the clock and the local-time conversion are injected. The persisted parts live in two
sections of the state file: ``quiet`` (pause, resume, held) and ``games`` (mute and snooze per game).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydt_tray.core.diff import turn_key
from pydt_tray.core.models import Game

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MORNING_HOUR = 8  # "until tomorrow morning" ends at 08:00 local time
EARLY_HOUR = 5  # before 05:00, "tomorrow morning" is the coming morning
DAY_MINUTES = 24 * 60
QUIET_FORMAT = "must look like 22:00-07:30, optionally followed by days such as mon-fri or sat,sun"

Clock = Callable[[], float]
LocalTime = Callable[[float], datetime]


def local_time(timestamp: float) -> datetime:
    """``timestamp`` as an aware datetime in the computer's time zone."""
    return datetime.fromtimestamp(timestamp).astimezone()


# --- quiet hours -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    """A daily quiet period from ``start`` to ``end`` (minutes after midnight), on ``days`` (empty: every day)."""

    start: int
    end: int
    days: frozenset[int] = frozenset()  # datetime.weekday() numbers of the day a period starts on

    def period_start(self, moment: datetime) -> datetime | None:
        """When the quiet period ``moment`` falls in began, or None when ``moment`` is not quiet."""
        minute = moment.hour * 60 + moment.minute
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.start < self.end:
            if not self.start <= minute < self.end:
                return None
            begin = midnight + timedelta(minutes=self.start)
        elif minute >= self.start:
            begin = midnight + timedelta(minutes=self.start)
        elif minute < self.end:
            begin = midnight - timedelta(days=1) + timedelta(minutes=self.start)
        else:
            return None
        if self.days and begin.weekday() not in self.days:
            return None
        return begin

    def period_end(self, moment: datetime) -> datetime | None:
        """When the quiet period ``moment`` falls in ends, or None when ``moment`` is not quiet."""
        begin = self.period_start(moment)
        if begin is None:
            return None
        return begin + timedelta(minutes=(self.end - self.start) % DAY_MINUTES)

    def describe(self) -> str:
        text = f"{_clock_text(self.start)}-{_clock_text(self.end)}"
        if self.days:
            text += " on " + ",".join(WEEKDAYS[day] for day in sorted(self.days))
        return text


def _clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


_QUIET = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})(?:\s+(.+))?")


def parse_quiet_hours(text: str) -> QuietHours | None:
    """``"22:00-07:30"`` / ``"22:00-07:30 sun-thu"`` / ``"9:00-17:00 mon,wed"``; empty text is None (off).

    Raises ValueError saying what is accepted.
    """
    stripped = text.strip().lower()
    if not stripped:
        return None
    match = _QUIET.fullmatch(stripped)
    if match is None:
        raise ValueError(QUIET_FORMAT)
    start_h, start_m, end_h, end_m = (int(match.group(i)) for i in range(1, 5))
    if start_h > 23 or end_h > 23 or start_m > 59 or end_m > 59:
        raise ValueError("hours go from 00 to 23 and minutes from 00 to 59")
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start == end:
        raise ValueError("the start and the end must differ")
    days = _parse_days(match.group(5)) if match.group(5) else frozenset()
    return QuietHours(start, end, days)


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        first, _, last = item.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"unknown day {item!r}; days are {', '.join(WEEKDAYS)} (ranges like mon-fri)")
        a = WEEKDAYS.index(first)
        b = WEEKDAYS.index(last) if last else a
        days.update((a + step) % 7 for step in range((b - a) % 7 + 1))
    return frozenset(days)


def hours_from_setting(text: Any) -> QuietHours | None:
    """The quiet hours of a settings value; a value that does not parse is logged and means "off"."""
    if not isinstance(text, str):
        return None
    try:
        return parse_quiet_hours(text)
    except ValueError as error:
        log.info("quiet_hours %r ignored: %s", text, error)
        return None


def next_morning(now: float, local: LocalTime = local_time) -> float:
    """The coming morning at 08:00 (today's if it is still before 05:00)."""
    moment = local(now)
    morning = moment.replace(hour=MORNING_HOUR, minute=0, second=0, microsecond=0)
    if moment.hour >= EARLY_HOUR:
        morning += timedelta(days=1)
    return morning.timestamp()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


class Quiet:
    """Quiet hours plus the user's pause; keeps what it held back for the summary. State: ``state.quiet``."""

    def __init__(
        self,
        store: MutableMapping[str, Any],
        *,
        hours: Callable[[], QuietHours | None],
        clock: Clock = time.time,
        local: LocalTime = local_time,
    ) -> None:
        self._store = store
        self._hours = hours
        self._clock = clock
        self._local = local

    # the pause

    def pause_for(self, seconds: float) -> float:
        until = self._clock() + seconds
        self._store["paused_until"] = until
        return until

    def pause_until_morning(self) -> float:
        until = next_morning(self._clock(), self._local)
        self._store["paused_until"] = until
        return until

    def resume(self) -> None:
        """End the pause, and the quiet hours under way (until their next period)."""
        self._store.pop("paused_until", None)
        hours = self._hours()
        end = hours.period_end(self._local(self._clock())) if hours is not None else None
        if end is not None:
            self._store["resumed_until"] = end.timestamp()
        else:
            self._store.pop("resumed_until", None)

    def paused_until(self) -> float | None:
        until = _number(self._store.get("paused_until"))
        if until is not None and until <= self._clock():
            return None
        return until

    def quiet_until(self) -> float | None:
        """When the silence under way ends (pause or quiet hours, whichever is later), or None if not quiet."""
        now = self._clock()
        ends: list[float] = []
        paused = self.paused_until()
        if paused is not None:
            ends.append(paused)
        hours = self._hours()
        if hours is not None:
            end = hours.period_end(self._local(now))
            resumed = _number(self._store.get("resumed_until"))
            if end is not None and not (resumed is not None and now < resumed):
                ends.append(end.timestamp())
        return max(ends) if ends else None

    def is_quiet(self) -> bool:
        return self.quiet_until() is not None

    def status(self) -> str:
        """One line for the tray ("" when not quiet)."""
        until = self.quiet_until()
        if until is None:
            return ""
        what = "Notifications paused" if self.paused_until() is not None else "Quiet hours"
        return f"{what} until {self._local(until).strftime('%H:%M')}"

    # what was held back

    def hold(self) -> None:
        self._store["held"] = True

    def take_summary(self) -> bool:
        """True once, when something was held back and the silence is over."""
        if not self._store.get("held") or self.is_quiet():
            return False
        self._store.pop("held", None)
        return True


# --- per game ----------------------------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+)\s*(m|min|h|d)")


def parse_snooze(text: str) -> tuple[str, float]:
    """``"turn"`` (until its next turn) -> ("turn", 0); ``"tomorrow"`` -> ("tomorrow", 0); ``"90m"``, ``"2h"``,
    ``"1d"`` -> ("seconds", n). Raises ValueError saying what is accepted."""
    stripped = text.strip().lower()
    if stripped in ("turn", "next-turn", "next turn"):
        return "turn", 0.0
    if stripped in ("tomorrow", "morning"):
        return "tomorrow", 0.0
    match = _DURATION.fullmatch(stripped)
    if match is None or int(match.group(1)) <= 0:
        raise ValueError("a snooze is a duration like 30m, 1h or 2d, or 'tomorrow', or 'turn' (until its next turn)")
    unit = {"m": 60, "min": 60, "h": 3600, "d": 86400}[match.group(2)]
    return "seconds", float(int(match.group(1)) * unit)


class GamePrefs:
    """Mute and snooze per game. State: ``state.games`` (gameId -> {"muted", "snooze_until", "snooze_turn"})."""

    def __init__(
        self, store: MutableMapping[str, Any], *, clock: Clock = time.time, local: LocalTime = local_time
    ) -> None:
        self._store = store
        self._clock = clock
        self._local = local

    def _entry(self, game_id: str) -> dict[str, Any]:
        entry = self._store.get(game_id)
        if not isinstance(entry, dict):
            entry = {}
            self._store[game_id] = entry
        return entry

    def _tidy(self, game_id: str) -> None:
        entry = self._store.get(game_id)
        if isinstance(entry, dict) and not entry:
            del self._store[game_id]

    def mute(self, game_id: str) -> None:
        self._entry(game_id)["muted"] = True

    def unmute(self, game_id: str) -> None:
        """Unmute and end any snooze: the game speaks again."""
        self._store.pop(game_id, None)

    def is_muted(self, game_id: str) -> bool:
        entry = self._store.get(game_id)
        return isinstance(entry, dict) and entry.get("muted") is True

    def snooze(self, game_id: str, choice: str, game: Game | None = None) -> str:
        """Snooze by a :func:`parse_snooze` text; returns a description ("until 14:30", "until its next turn")."""
        kind, seconds = parse_snooze(choice)
        entry = self._entry(game_id)
        entry.pop("snooze_until", None)
        entry.pop("snooze_turn", None)
        if kind == "turn":
            if game is None:
                self._tidy(game_id)
                raise ValueError("snoozing until the next turn needs the game's current turn")
            entry["snooze_turn"] = turn_key(game)
            return "until its next turn"
        until = next_morning(self._clock(), self._local) if kind == "tomorrow" else self._clock() + seconds
        entry["snooze_until"] = until
        return "until " + self._local(until).strftime("%a %H:%M")

    def unsnooze(self, game_id: str) -> None:
        entry = self._store.get(game_id)
        if isinstance(entry, dict):
            entry.pop("snooze_until", None)
            entry.pop("snooze_turn", None)
            self._tidy(game_id)

    def snoozed_until(self, game: Game) -> float | str | None:
        """The end of the game's snooze (a time, or "turn" for "until its next turn"), or None."""
        entry = self._store.get(game.game_id)
        if not isinstance(entry, dict):
            return None
        until = _number(entry.get("snooze_until"))
        if until is not None:
            if until > self._clock():
                return until
            entry.pop("snooze_until", None)
        snoozed_turn = entry.get("snooze_turn")
        if isinstance(snoozed_turn, str):
            if snoozed_turn == turn_key(game):
                return "turn"
            entry.pop("snooze_turn", None)
        self._tidy(game.game_id)
        return None

    def silenced(self, game: Game) -> bool:
        return self.is_muted(game.game_id) or self.snoozed_until(game) is not None


# --- all of it together ------------------------------------------------------------------------------------


class Silence:
    """What the notification policy asks before it speaks (see :class:`pydt_tray.core.policy.Gate`)."""

    def __init__(
        self,
        quiet: Quiet,
        games: GamePrefs,
        *,
        away: Callable[[], bool] = lambda: False,
        inhibited: Callable[[], bool] = lambda: False,
    ) -> None:
        self.quiet = quiet
        self.games = games
        self._away = away
        self._inhibited = inhibited

    def is_quiet(self) -> bool:
        return self.quiet.is_quiet()

    def silenced(self, game: Game) -> bool:
        return self.games.silenced(game)

    def away(self) -> bool:
        return self._away()

    def inhibited(self) -> bool:
        return self._inhibited()

    def hold(self) -> None:
        self.quiet.hold()

    def take_summary(self) -> bool:
        return self.quiet.take_summary()
