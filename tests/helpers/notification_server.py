"""A fake ``org.freedesktop.Notifications`` server on the private test session bus.

It runs in a background thread of the test process (jeepney, blocking I/O), owns the well-known name,
records every ``Notify`` call and can emit ``ActionInvoked`` / ``NotificationClosed`` to simulate the
user. Because it sits on the shared test bus (``DBUS_SESSION_BUS_ADDRESS``), both in-process Qt tests and
the app started as a child process reach it.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from jeepney import DBusAddress, HeaderFields, MessageType, new_error, new_method_return, new_signal
from jeepney.bus_messages import DBusNameFlags, message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
PRIMARY_OWNER = 1
REASON_DISMISSED = 2
REASON_CLOSED_BY_CALL = 3


@dataclass(frozen=True)
class ReceivedNotification:
    """One ``Notify`` call as the server saw it."""

    id: int
    received_at: float  # time.perf_counter() when the server read the call
    app_name: str
    replaces_id: int
    app_icon: str
    summary: str
    body: str
    actions: list[str]
    hints: dict[str, tuple[str, Any]]  # name -> (D-Bus signature, value)
    expire_timeout: int
    signature: str
    sender: str


class FakeNotificationServer:
    """Owns ``org.freedesktop.Notifications`` and answers like a small notification daemon."""

    def __init__(self, capabilities: Iterable[str] = ("body", "actions"), *, targeted_signals: bool = False) -> None:
        self.capabilities = list(capabilities)
        self.targeted_signals = targeted_signals  # send signals to the notification's sender only, as some desktops do
        self.capability_queries = 0
        self.notify_reply: tuple[str, tuple] | None = None  # (signature, body) to answer Notify with instead of the id
        self.inhibited: bool | None = None  # the "Inhibited" property (do-not-disturb); None: not published
        self._condition = threading.Condition()
        self._received: list[ReceivedNotification] = []
        self._senders: dict[int, str] = {}
        self._next_id = 1
        self._send_lock = threading.Lock()
        self._conn: DBusConnection | None = None
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping = threading.Event()
        self._emitter = DBusAddress(OBJECT_PATH, interface=INTERFACE)

    # ---- lifecycle (test thread) -----------------------------------------------------------------

    def start(self) -> FakeNotificationServer:
        """Connect, take the name (failing if someone else has it) and start answering."""
        conn = open_dbus_connection(bus="SESSION")
        try:
            reply = conn.send_and_get_reply(message_bus.RequestName(BUS_NAME, DBusNameFlags.do_not_queue), timeout=5)
            if reply.body[0] != PRIMARY_OWNER:
                raise RuntimeError(f"{BUS_NAME} is already owned on the test bus (RequestName -> {reply.body[0]})")
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._thread = threading.Thread(target=self._serve, name="fake-notification-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, give the name back (synchronously) and close every socket. Idempotent."""
        if self._thread is not None:
            self._stopping.set()
            self._wake_w.send(b"x")
            self._thread.join(timeout=10)
            if self._thread.is_alive():
                raise RuntimeError("fake notification server thread did not stop")
            self._thread = None
        if self._conn is not None:
            try:
                self._conn.send_and_get_reply(message_bus.ReleaseName(BUS_NAME), timeout=5)
            finally:
                self._conn.close()
                self._conn = None
        self._wake_r.close()
        self._wake_w.close()

    # ---- test API ---------------------------------------------------------------------------------

    @property
    def notifications(self) -> list[ReceivedNotification]:
        with self._condition:
            return list(self._received)

    def wait_for(self, count: int = 1, timeout: float = 10) -> list[ReceivedNotification]:
        """Wait until at least ``count`` notifications were received; return them all."""
        with self._condition:
            if not self._condition.wait_for(lambda: len(self._received) >= count, timeout=timeout):
                raise TimeoutError(f"expected {count} notification(s) within {timeout}s, got {len(self._received)}")
            return list(self._received)

    def clear(self) -> None:
        with self._condition:
            self._received.clear()

    def click(self, notification_id: int, action: str = "default") -> None:
        """Simulate the user clicking: ActionInvoked, then NotificationClosed (dismissed by the user)."""
        self._emit(notification_id, "ActionInvoked", "us", (notification_id, action))
        self._emit(notification_id, "NotificationClosed", "uu", (notification_id, REASON_DISMISSED))

    def close_notification(self, notification_id: int, reason: int = REASON_DISMISSED) -> None:
        self._emit(notification_id, "NotificationClosed", "uu", (notification_id, reason))

    # ---- server thread ----------------------------------------------------------------------------

    def _emit(self, notification_id: int, member: str, signature: str, body: tuple) -> None:
        msg = new_signal(self._emitter, member, signature, body)
        if self.targeted_signals:
            with self._condition:
                msg.header.fields[HeaderFields.destination] = self._senders[notification_id]
        self._send(msg)

    def _send(self, msg) -> None:
        if self._conn is None:
            raise RuntimeError("the fake notification server is not running")
        with self._send_lock:
            self._conn.send(msg)

    def _serve(self) -> None:
        assert self._conn is not None
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)
        selector.register(self._conn.sock, selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                selector.select()
                for msg in self._drain():
                    self._answer(msg)
        finally:
            selector.close()

    def _drain(self) -> Iterator:
        assert self._conn is not None
        while True:
            try:
                yield self._conn.receive(timeout=0)
            except TimeoutError:
                return

    def _answer(self, msg) -> None:
        fields = msg.header.fields
        if (
            fields.get(HeaderFields.interface) == "org.freedesktop.DBus.Properties"
            and fields.get(HeaderFields.member) == "Get"
        ):
            if self.inhibited is None or tuple(msg.body) != (INTERFACE, "Inhibited"):
                self._send(new_error(msg, "org.freedesktop.DBus.Error.UnknownProperty", "s", ("no such property",)))
            else:
                self._send(new_method_return(msg, "v", (("b", self.inhibited),)))
            return
        if msg.header.message_type is not MessageType.method_call or fields.get(HeaderFields.interface) != INTERFACE:
            if msg.header.message_type is MessageType.method_call:
                self._send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", ("not here",)))
            return
        member = fields.get(HeaderFields.member)
        if member == "Notify":
            notification_id = self._record(msg)
            signature, body = self.notify_reply or ("u", (notification_id,))
            self._send(new_method_return(msg, signature, body))
        elif member == "GetCapabilities":
            self.capability_queries += 1
            self._send(new_method_return(msg, "as", (list(self.capabilities),)))
        elif member == "GetServerInformation":
            self._send(new_method_return(msg, "ssss", ("fake-notifications", "pydt-tray tests", "1.0", "1.2")))
        elif member == "CloseNotification":
            self._send(new_method_return(msg))
            self._send(new_signal(self._emitter, "NotificationClosed", "uu", (msg.body[0], REASON_CLOSED_BY_CALL)))
        else:
            self._send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"no method {member}",)))

    def _record(self, msg) -> int:
        received_at = time.perf_counter()
        app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout = msg.body
        signature = msg.header.fields.get(HeaderFields.signature, "")
        sender = msg.header.fields.get(HeaderFields.sender, "")
        with self._condition:
            if replaces_id and replaces_id in self._senders:
                notification_id = replaces_id
            else:
                notification_id = self._next_id
                self._next_id += 1
            self._senders[notification_id] = sender
            self._received.append(
                ReceivedNotification(
                    notification_id,
                    received_at,
                    app_name,
                    replaces_id,
                    app_icon,
                    summary,
                    body,
                    list(actions),
                    dict(hints),
                    expire_timeout,
                    signature,
                    sender,
                )
            )
            self._condition.notify_all()
        return notification_id


@pytest.fixture
def notification_server() -> Iterator[FakeNotificationServer]:
    """A running fake notification server on the test session bus; the name is released afterwards."""
    server = FakeNotificationServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()
