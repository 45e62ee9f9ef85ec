"""When to try again after a push connection dropped or a connection attempt failed.

The policy knows nothing of MQTT: a link tells it when an attempt starts, when the connection is in
service ("subscribed") and when it is lost, and asks it how long to wait before the next attempt.

- The wait doubles from ``floor`` up to ``ceiling`` (1 s to 30 s by default) and is jittered: each
  wait is drawn from the upper half of the current step, so many clients dropped at once do not come
  back in lockstep, and no wait is ever longer than ``ceiling``.
- A connection that was in service for at least ``stable_seconds`` and is then lost starts over at the
  floor: one loss after a good hour costs a one-second wait, not the wait of the last outage.
- A connection that is lost sooner than that is a *quick kick* (a server that accepts and drops at
  once, a duplicate client id, a refused subscription). Quick kicks count like failed attempts, so a
  server that keeps kicking sees the waits grow to the ceiling instead of an attempt every second.
- :meth:`reset` (a network change, a wake from sleep, the user asked) starts over at the floor.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable

FLOOR_SECONDS = 1.0
CEILING_SECONDS = 30.0
STABLE_SECONDS = 2.0
_MAX_DOUBLINGS = 32  # 2**32 s is far above any ceiling; stops the float from growing without end


class ReconnectPolicy:
    """Jittered, capped, doubling reconnect waits with a guard against accept-and-kick loops.

    Not thread-safe by itself: the owner calls it under its own lock.
    """

    def __init__(
        self,
        floor: float = FLOOR_SECONDS,
        ceiling: float = CEILING_SECONDS,
        *,
        stable_seconds: float = STABLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < floor <= ceiling:
            raise ValueError("reconnect waits need 0 < floor <= ceiling")
        if stable_seconds < 0:
            raise ValueError("stable_seconds must not be negative")
        self.floor = floor
        self.ceiling = ceiling
        self.stable_seconds = stable_seconds
        self._clock = clock
        self._rng = rng or random.Random()
        self._streak = 0  # losses since the last stable connection (or reset)
        self._in_service_since: float | None = None
        self.quick_kicks = 0  # consecutive quick kicks since the last stable connection
        self.attempts = 0
        self.longest_wait = 0.0
        self._recent_attempts: deque[float] = deque(maxlen=1000)

    # --- what the link reports ----------------------------------------------------------------------

    def attempt_started(self) -> None:
        """A connection attempt begins."""
        self.attempts += 1
        self._recent_attempts.append(self._clock())

    def in_service(self) -> None:
        """The connection reached the point where it delivers messages (subscribed)."""
        self._in_service_since = self._clock()

    def lost(self) -> float:
        """The connection was lost or the attempt failed: the seconds to wait before the next attempt."""
        since, self._in_service_since = self._in_service_since, None
        if since is not None:
            if self._clock() - since >= self.stable_seconds:
                self._streak = 0
                self.quick_kicks = 0
            else:
                self.quick_kicks += 1
        wait = self._draw(self._streak)
        self._streak += 1
        self.longest_wait = max(self.longest_wait, wait)
        return wait

    def reset(self) -> None:
        """Start over at the floor (network change, wake, an explicit reconnect)."""
        self._streak = 0
        self.quick_kicks = 0

    # --- for status and measurements ----------------------------------------------------------------

    @property
    def streak(self) -> int:
        """Losses and failed attempts since the last stable connection or reset."""
        return self._streak

    def attempts_in_last(self, seconds: float) -> int:
        """How many attempts started within the last ``seconds``."""
        since = self._clock() - seconds
        return sum(1 for started in self._recent_attempts if started > since)

    def _draw(self, step: int) -> float:
        top = min(self.ceiling, self.floor * 2.0 ** min(step, _MAX_DOUBLINGS))
        return self._rng.uniform(top / 2.0, top)
