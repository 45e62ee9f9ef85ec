"""What tests arrange or observe per simulator route: faults, latency, requests seen.

:class:`Traffic` keeps the per-route fault queues, latencies, counts and recorded requests. Thread-safe.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass

from pydt_tray.sandbox.routes import ROUTES

Fault = tuple[str, int]  # (kind: "fail" | "malformed" | "unauthorized", status)


@dataclass(frozen=True)
class RecordedRequest:
    """What the simulator saw of one request (header names in lower case)."""

    route: str
    method: str
    path: str
    query: str
    headers: dict[str, str]

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


def check_route(route: str) -> None:
    """Raise ValueError for a route name tests cannot arrange anything on."""
    if route not in ROUTES:
        raise ValueError(f"unknown route {route!r}; known: {', '.join(ROUTES)}")


class Traffic:
    """Per-route fault queues and latencies set by tests, and the requests that arrived."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, deque[Fault]] = {}
        self._latency: dict[str, float] = {}
        self._counts: Counter[str] = Counter()
        self._recorded: dict[str, list[RecordedRequest]] = {}

    def queue_fault(self, route: str, kind: str, status: int, count: int) -> None:
        check_route(route)
        with self._lock:
            self._faults.setdefault(route, deque()).extend([(kind, status)] * count)

    def set_latency(self, route: str, seconds: float) -> None:
        check_route(route)
        with self._lock:
            self._latency[route] = seconds

    def arrived(self, request: RecordedRequest) -> float:
        """Count and record a request; returns the latency to apply to it."""
        with self._lock:
            self._counts[request.route] += 1
            self._recorded.setdefault(request.route, []).append(request)
            return self._latency.get(request.route, 0.0)

    def take_fault(self, route: str) -> Fault | None:
        """The next fault queued for the route, if any (it is used up)."""
        with self._lock:
            faults = self._faults.get(route)
            return faults.popleft() if faults else None

    def count(self, route: str) -> int:
        with self._lock:
            return self._counts[route]

    def recorded(self, route: str) -> list[RecordedRequest]:
        with self._lock:
            return list(self._recorded.get(route, ()))

    def reset(self) -> None:
        """Forget the counts and recorded requests (queued faults and latencies stay)."""
        with self._lock:
            self._counts.clear()
            self._recorded.clear()
