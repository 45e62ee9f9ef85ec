"""Capped exponential backoff with jitter, for reconnect attempts."""

from __future__ import annotations

import random


class Backoff:
    """Delays that double from ``minimum`` up to ``maximum``; each one is drawn at random from [minimum, ceiling]."""

    def __init__(self, minimum: float, maximum: float, rng: random.Random | None = None) -> None:
        if not 0 < minimum <= maximum:
            raise ValueError("backoff needs 0 < minimum <= maximum")
        self.minimum = minimum
        self.maximum = maximum
        self._ceiling = minimum
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """The delay before the next attempt, in seconds; later calls allow longer delays."""
        delay = self._rng.uniform(self.minimum, self._ceiling)
        self._ceiling = min(self.maximum, self._ceiling * 2)
        return delay

    def reset(self) -> None:
        """Start again from the minimum (after a connection succeeded)."""
        self._ceiling = self.minimum
