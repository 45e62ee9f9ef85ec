"""A push listener for tests: it records every call and lets the test await what it expects."""

from __future__ import annotations

import threading

WAIT = 10.0


class PushRecorder:
    """Records ``PushListener`` calls as ``(kind, *args)`` tuples; the waits fail after ``timeout`` seconds."""

    def __init__(self) -> None:
        self.events: list[tuple] = []
        self._cond = threading.Condition()

    def _add(self, *event: object) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def on_push_message(self, topic: str, payload: bytes) -> None:
        self._add("message", topic, payload)

    def on_push_connected(self, session_present: bool) -> None:
        self._add("connected", session_present)

    def on_push_disconnected(self, reason: str) -> None:
        self._add("disconnected", reason)

    def on_push_stopped(self) -> None:
        self._add("stopped")

    def of(self, kind: str) -> list[tuple]:
        with self._cond:
            return [event for event in self.events if event[0] == kind]

    def wait_for(self, kind: str, count: int = 1, timeout: float = WAIT) -> tuple:
        """Wait until ``count`` events of ``kind`` arrived; return the last of them."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.of(kind)) >= count, timeout):
                raise AssertionError(f"no {count} x {kind} within {timeout}s; got {self.events}")
            return self.of(kind)[count - 1]

    def wait_for_message(self, payload: bytes, timeout: float = WAIT) -> None:
        """Wait until a message with exactly ``payload`` arrived."""
        with self._cond:
            found = self._cond.wait_for(lambda: any(e[2] == payload for e in self.of("message")), timeout)
            assert found, f"{payload!r} not received within {timeout}s; got {self.events}"
