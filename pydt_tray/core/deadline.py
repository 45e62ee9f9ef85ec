"""Whole-request deadlines for ``requests``: a slow or trickling server cannot hold a call past its deadline.

``requests`` only bounds each socket read, so a server sending one byte every few seconds keeps a call
alive forever. A :class:`Deadline` watches the connections its request uses (the :class:`DeadlineAdapter`
mounted on the session tells it which) and, when the time is up, shuts their sockets down from a timer
thread: the blocked read or write then fails at once and the caller sees :attr:`Deadline.expired`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Deadline:
    """``seconds`` from now. Arm with :meth:`start`; :meth:`watching` marks the thread's requests as its own."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._ends = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._expired = False
        self._timer = threading.Timer(max(0.0, seconds), self.expire)
        self._timer.daemon = True
        self._timer.name = "pydt-deadline"

    @property
    def expired(self) -> bool:
        return self._expired

    def remaining(self) -> float:
        return max(0.0, self._ends - time.monotonic())

    def start(self) -> Deadline:
        self._timer.start()
        return self

    def cancel(self) -> None:
        """The call is over: stop the timer and forget its sockets (they go back to the pool)."""
        self._timer.cancel()
        with self._lock:
            self._sockets.clear()

    def expire(self) -> None:
        """Time is up (or the caller gives up): break every socket of this call."""
        with self._lock:
            self._expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _break(sock)

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if not self._expired:
                self._sockets.append(sock)
                return
        _break(sock)

    @contextlib.contextmanager
    def watching(self) -> Iterator[Deadline]:
        """Connections taken from the pool on this thread inside the block belong to this deadline."""
        previous = getattr(_current, "deadline", None)
        _current.deadline = self
        try:
            yield self
        finally:
            _current.deadline = previous


def _break(sock: socket.socket) -> None:
    # the plain socket's shutdown, also for a TLS socket: it unblocks a read or write in another thread
    # without touching the TLS object that thread is using
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _claim(conn: Any) -> None:
    deadline = getattr(_current, "deadline", None)
    conn.pydt_deadline = deadline
    if deadline is not None:
        deadline.watch(getattr(conn, "sock", None))


class _HTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        deadline = getattr(self, "pydt_deadline", None)
        if deadline is not None:
            deadline.watch(self.sock)


class _HTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        deadline = getattr(self, "pydt_deadline", None)
        if deadline is not None:
            deadline.watch(self.sock)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        _claim(conn)
        return conn


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        _claim(conn)
        return conn


class DeadlineAdapter(HTTPAdapter):
    """The transport adapter whose connections a :class:`Deadline` can break."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
