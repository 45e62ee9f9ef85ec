"""When to fetch the pollUrl as a backstop, given whether any push path is live.

Push paths (the IoT connection, a relay) report to one :class:`PollSchedule` under their own names.
The schedule only cares whether *any* of them is live:

- some path live: poll at the relaxed interval (the user's setting, never under ``live_floor``: 600 s, the
  official client's own poll), as a safety net;
- none live after one was lost (an *outage*): poll at once, then every ``fast_interval`` seconds for
  the first ``fast_window`` seconds of the outage, then every ``down_interval`` seconds;
- no path running at all (no credentials, stopped), or paths still making their first connection:
  every ``down_interval`` seconds (capped by the setting).

A network change or a wake calls :meth:`PollSchedule.restart_window`: a running outage starts its fast
window again, since whatever was missed before is likely to be missed again.

While a path is live the backstop keeps to a budget of one poll per relaxed interval. The owner reports every
good load with :meth:`PollSchedule.loaded`: a load a push message asked for only restarts the interval, any other
(the backstop itself, an outage's catch-up polls, a reconnect's catch-up) spends one interval of the budget, so
the polls of a short outage replace the next backstop polls instead of adding to them. The budget owed never
postpones the next poll by more than ``LIVE_MAX_INTERVALS`` intervals.

After a failed load the owner backs off (:meth:`PollSchedule.retry_delay`), but while no path is live never
longer than the outage's own interval, so a turn is still noticed on the outage schedule.

Qt-free and clock-injected; the owner calls it on one thread and arms its own timer with
:meth:`PollSchedule.next_delay`.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

FAST_INTERVAL_SECONDS = 15.0
FAST_WINDOW_SECONDS = 120.0
DOWN_INTERVAL_SECONDS = 90.0
LIVE_MIN_INTERVAL_SECONDS = 600.0  # while push is live the backstop is a safety net: never more often than this
LIVE_MAX_INTERVALS = 3  # what the polls of an outage owe delays the live backstop by at most this many intervals
PUSH_REASONS = frozenset({"push", "relay push"})  # loads a push message asked for: free of the backstop budget


class PollMode(enum.Enum):
    OFF = "off"  # no push path running, or none connected yet: plain polling
    LIVE = "live"  # at least one push path live: relaxed polling
    CATCH_UP = "catch-up"  # the first minutes of an outage: frequent polling
    DOWN = "down"  # a longer outage: plain polling


class PollSchedule:
    """Backstop polling intervals from the push paths' state (see the module docstring)."""

    def __init__(
        self,
        *,
        live_interval: Callable[[], float],
        down_interval: float = DOWN_INTERVAL_SECONDS,
        fast_interval: float = FAST_INTERVAL_SECONDS,
        fast_window: float = FAST_WINDOW_SECONDS,
        live_floor: float = LIVE_MIN_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < fast_interval <= down_interval:
            raise ValueError("poll intervals need 0 < fast_interval <= down_interval")
        self._live_interval = live_interval
        self.down_interval = down_interval
        self.fast_interval = fast_interval
        self.fast_window = fast_window
        self.live_floor = live_floor
        self.clock = self._clock = clock
        self._paths: dict[str, bool] = {}  # running paths -> live?
        self._outage_since: float | None = None
        self.budget = PollBudget(clock)  # the budget of a single account (see :meth:`loaded`)

    # --- what the push paths report -----------------------------------------------------------------

    def path_started(self, name: str) -> None:
        """A push path began connecting (not live yet)."""
        self._paths.setdefault(name, False)
        self._settle()

    def path_live(self, name: str) -> None:
        """A push path is connected and subscribed: messages flow again."""
        self._paths[name] = True
        self._outage_since = None

    def path_lost(self, name: str) -> bool:
        """A push path lost its connection or failed to connect.

        True when this begins an outage (no path is live any more): the caller should poll at once.
        """
        self._paths[name] = False
        if self.any_live or self._outage_since is not None:
            return False
        self._outage_since = self._clock()
        return True

    def path_stopped(self, name: str) -> None:
        """A push path was stopped for good (signed out, settings changed, no credentials)."""
        self._paths.pop(name, None)
        self._settle()

    def restart_window(self) -> None:
        """A network change or a wake: an outage in progress polls frequently again from now."""
        if self._outage_since is not None:
            self._outage_since = self._clock()

    def loaded(self, reasons: tuple[str, ...] | list[str], budget: PollBudget | None = None) -> None:
        """A good load just ended; ``reasons`` are what asked for it (the sync engine's reasons). ``budget``:
        the account's (each account polls its own pollUrl), else the schedule's own."""
        (budget or self.budget).loaded(reasons, self._live_delay())

    # --- what the owner asks ------------------------------------------------------------------------

    @property
    def any_live(self) -> bool:
        return any(self._paths.values())

    @property
    def mode(self) -> PollMode:
        if self.any_live:
            return PollMode.LIVE
        if self._outage_since is None:
            return PollMode.OFF
        if self._clock() - self._outage_since < self.fast_window:
            return PollMode.CATCH_UP
        return PollMode.DOWN

    def outage_seconds(self) -> float | None:
        """How long the current outage has lasted, or None when there is none."""
        return None if self._outage_since is None else self._clock() - self._outage_since

    def next_delay(self, budget: PollBudget | None = None) -> float:
        """Seconds from now until the next backstop poll (of the account with ``budget``)."""
        relaxed = float(self._live_interval())
        mode = self.mode
        if mode is PollMode.LIVE:
            return (budget or self.budget).delay(self._live_delay())
        if mode is PollMode.CATCH_UP:
            return min(self.fast_interval, relaxed)
        return min(self.down_interval, relaxed)

    def retry_delay(self, backoff: float) -> float:
        """The wait after a failed load: ``backoff`` while a path is live, else never more than the poll
        interval of now (an outage's 15 s, then 90 s), so the back-off cannot hold off the outage polling."""
        if self.any_live:
            return backoff
        return min(backoff, self.next_delay())

    def _live_delay(self) -> float:
        return max(float(self._live_interval()), self.live_floor)

    def _settle(self) -> None:
        if not self._paths:
            self._outage_since = None  # nothing is running: nothing is "down", just polling
        elif self.any_live:
            self._outage_since = None


class PollBudget:
    """One account's live backstop budget: a load a push message asked for only restarts the interval, any
    other spends one interval; what is owed postpones the next poll by at most ``LIVE_MAX_INTERVALS``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._spent_until: float | None = None  # the budget is used up to this time

    def loaded(self, reasons: tuple[str, ...] | list[str], interval: float) -> None:
        now = self._clock()
        spent = now if self._spent_until is None or self._spent_until < now else self._spent_until
        if PUSH_REASONS.intersection(reasons):
            spent = max(spent, now + interval)  # a push only restarts the interval
        else:
            spent += interval
        self._spent_until = min(spent, now + interval * LIVE_MAX_INTERVALS)  # the rest is forgiven

    def delay(self, interval: float) -> float:
        """The wait until the next live backstop poll."""
        if self._spent_until is None:
            return interval
        owed = self._spent_until - self._clock()
        return min(max(interval, owed), interval * LIVE_MAX_INTERVALS)
