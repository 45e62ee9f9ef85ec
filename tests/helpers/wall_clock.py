"""A settable UTC wall clock for the fake-clock tests of quiet hours, snooze and turn timers."""

from __future__ import annotations

from datetime import UTC, datetime


def at(text: str) -> float:
    """A UTC wall-clock time as epoch seconds ("2026-11-30 22:15" is a Monday)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def set(self, text: str) -> None:
        self.now = at(text)
