"""D-Bus signals (logind's resume, NetworkManager's state) read on one quiet daemon thread, without QtDBus.

One blocking jeepney connection (jeepney already carries the notifications) subscribes to every signal asked
for, and its thread sleeps in ``recv`` until a message arrives: an idle app is never woken by it. Loading
QtDBus for the same two signals would cost the running app about 1 MB. Qt-free: each handler runs on the
reader's thread, and the caller hands the result to its own thread.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

SYSTEM_BUS = "SYSTEM"
CALL_TIMEOUT_S = 5.0
JOIN_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Subscription:
    sender: str
    path: str
    interface: str
    member: str
    on_signal: Callable[[tuple[Any, ...]], None]
    on_unavailable: Callable[[str], None]


class BusSignals:
    """The signals subscribed on ``address`` (``"SYSTEM"``, ``"SESSION"`` or a D-Bus address: tests use a
    private bus). Shared by several users: the reader runs from the first ``start`` to the last ``stop``."""

    def __init__(self, address: str = SYSTEM_BUS) -> None:
        self._address = address
        self._subscriptions: list[Subscription] = []
        self._users = 0
        self._conn: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.listening = threading.Event()  # set while subscribed and reading

    def subscribe(self, subscription: Subscription) -> None:
        """Add a signal; takes effect at the next start of the reader."""
        self._subscriptions.append(subscription)

    def start(self) -> None:
        """Connect and subscribe on the reader's thread (a slow bus never holds up the caller). When that fails,
        each subscription's ``on_unavailable(why)`` is called there and the thread ends. Never raises."""
        self._users += 1
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="bus-signals", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """One user is done; after the last one, no handler is called again. Safe to repeat."""
        self._users = max(0, self._users - 1)
        thread = self._thread
        if self._users or thread is None:
            return
        self._thread = None
        self._stopping.set()
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread from recv
        thread.join(JOIN_TIMEOUT_S)

    def _connect(self) -> Any:
        from jeepney import MessageType
        from jeepney.bus_messages import MatchRule, message_bus
        from jeepney.io.blocking import open_dbus_connection

        conn = open_dbus_connection(bus=self._address)
        try:
            for sub in self._subscriptions:
                rule = MatchRule(
                    type="signal", sender=sub.sender, path=sub.path, interface=sub.interface, member=sub.member
                )
                reply = conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=CALL_TIMEOUT_S)
                if reply.header.message_type is MessageType.error:
                    raise OSError(f"AddMatch refused: {reply.body}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _run(self) -> None:
        try:
            conn = self._connect()
        except Exception as error:  # no such bus, no socket, refused authentication, a bad address, a timeout
            if not self._stopping.is_set():
                for sub in self._subscriptions:
                    sub.on_unavailable(f"{type(error).__name__}: {error}")
            return
        self._conn = conn
        self.listening.set()
        try:
            self._read(conn)
        finally:
            self.listening.clear()
            self._conn = None
            conn.close()

    def _read(self, conn: Any) -> None:
        from jeepney import MessageType
        from jeepney.low_level import HeaderFields

        handlers = {(sub.interface, sub.member): sub.on_signal for sub in self._subscriptions}
        while not self._stopping.is_set():
            try:
                message = conn.receive()
            except Exception as error:  # the bus went away, or stop() closed the socket
                if not self._stopping.is_set():
                    log.info("D-Bus connection for resume and network signals lost: %s", error)
                return
            if message.header.message_type is not MessageType.signal or self._stopping.is_set():
                continue
            fields = message.header.fields
            handler = handlers.get((fields.get(HeaderFields.interface), fields.get(HeaderFields.member)))
            if handler is not None:
                handler(message.body)
