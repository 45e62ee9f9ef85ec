"""One D-Bus signal (logind's resume, NetworkManager's state) read on a quiet daemon thread, without QtDBus.

A blocking jeepney connection (jeepney already carries the notifications) subscribes to the signal, and its
thread sleeps in ``recv`` until a message arrives: an idle app is never woken by it. Loading QtDBus for the
same two signals would cost the running app about 1 MB. Qt-free: the caller hands results to its own thread.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

SYSTEM_BUS = "SYSTEM"
CALL_TIMEOUT_S = 5.0
JOIN_TIMEOUT_S = 1.0


class BusSignalWatch:
    """Calls ``on_signal(body)`` on its own thread for each ``interface.member`` signal from ``sender``.

    ``address`` is ``"SYSTEM"``, ``"SESSION"`` or a D-Bus address (tests use a private bus).
    """

    def __init__(
        self,
        address: str,
        sender: str,
        path: str,
        interface: str,
        member: str,
        on_signal: Callable[[tuple[Any, ...]], None],
    ) -> None:
        self._address = address
        self._match = {"sender": sender, "path": path, "interface": interface, "member": member}
        self._on_signal = on_signal
        self._conn: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.listening = threading.Event()  # set while subscribed and reading

    def start(self, on_unavailable: Callable[[str], None] = lambda _problem: None) -> None:
        """Connect and subscribe on the reader's thread (a slow bus never holds up the caller); when that fails,
        ``on_unavailable(why)`` is called there and the thread ends. Never raises."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, args=(on_unavailable,), name=f"bus-{self._match['member']}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop reading (safe to repeat); after it returns, ``on_signal`` is not called again."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
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
            rule = MatchRule(type="signal", **self._match)
            reply = conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=CALL_TIMEOUT_S)
            if reply.header.message_type is MessageType.error:
                raise OSError(f"AddMatch refused: {reply.body}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _run(self, on_unavailable: Callable[[str], None]) -> None:
        try:
            conn = self._connect()
        except Exception as error:  # no such bus, no socket, refused authentication, a bad address, a timeout
            if not self._stopping.is_set():
                on_unavailable(f"{type(error).__name__}: {error}")
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

        interface, member = self._match["interface"], self._match["member"]
        while not self._stopping.is_set():
            try:
                message = conn.receive()
            except Exception as error:  # the bus went away, or stop() closed the socket
                if not self._stopping.is_set():
                    log.info("D-Bus connection for %s lost: %s", member, error)
                return
            fields = message.header.fields
            if (
                message.header.message_type is MessageType.signal
                and fields.get(HeaderFields.interface) == interface
                and fields.get(HeaderFields.member) == member
                and not self._stopping.is_set()
            ):
                self._on_signal(message.body)
