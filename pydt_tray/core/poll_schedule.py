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
        self._clock = clock
        self._paths: dict[str, bool] = {}  # running paths -> live?
        self._outage_since: float | None = None

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

    def next_delay(self) -> float:
        """Seconds from now until the next backstop poll."""
        relaxed = float(self._live_interval())
        mode = self.mode
        if mode is PollMode.LIVE:
            return max(relaxed, self.live_floor)
        if mode is PollMode.CATCH_UP:
            return min(self.fast_interval, relaxed)
        return min(self.down_interval, relaxed)

    def _settle(self) -> None:
        if not self._paths:
            self._outage_since = None  # nothing is running: nothing is "down", just polling
        elif self.any_live:
            self._outage_since = None
