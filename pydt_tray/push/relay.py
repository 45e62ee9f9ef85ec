"""Hands CRT events to the listener: never raises, and stays silent once the stop was delivered."""

from __future__ import annotations

import logging
import threading

from pydt_tray.push.config import PushListener

log = logging.getLogger(__name__)


class ListenerRelay:
    """A one-run gate in front of a :class:`PushListener`.

    Deliveries are serialised by a lock, so once :meth:`stopped` has run no other callback can start
    or still be running. Exceptions from the listener are logged and swallowed: they must never reach
    a CRT thread.
    """

    def __init__(self, listener: PushListener) -> None:
        self._listener = listener
        self._lock = threading.RLock()
        self._closed = False

    def message(self, topic: str, payload: bytes) -> None:
        self._deliver("on_push_message", topic, payload)

    def connected(self, session_present: bool) -> None:
        self._deliver("on_push_connected", session_present)

    def disconnected(self, reason: str) -> None:
        self._deliver("on_push_disconnected", reason)

    def stopped(self) -> bool:
        """Deliver ``on_push_stopped`` once and close the gate; False when it was already closed."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            self._call("on_push_stopped")
            return True

    def _deliver(self, name: str, *args: object) -> None:
        with self._lock:
            if not self._closed:
                self._call(name, *args)

    def _call(self, name: str, *args: object) -> None:
        try:
            getattr(self._listener, name)(*args)
        except Exception:
            log.exception("push listener %s failed", name)
