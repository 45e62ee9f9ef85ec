"""The freedesktop notification protocol over jeepney, in a worker thread of its own (no Qt here).

``NotifyBusWorker`` owns one session-bus connection: it sends ``Notify`` calls asynchronously, remembers
which notification replaces which, and reports clicks (``ActionInvoked``) and failures through callbacks
that run on its thread. ``service_available`` asks the bus whether a notification server is there.

Why jeepney and not QtDBus: PySide6 (6.12) cannot marshal a D-Bus ``uint32`` or ``byte`` (Python ints become
``int32``/``int64``, and ``QDBusArgument <<`` picks wrong overloads), so it cannot produce the ``susssasa{sv}i``
signature that GLib-based servers check strictly. jeepney is pure Python and present wherever ``keyring``
talks to the Secret Service.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import selectors
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydt_tray import APP_NAME

# One logger for every notification backend, so log lines and logging settings name them alike.
log = logging.getLogger("pydt_tray.platform.notifications")

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
NOTIFY_SIGNATURE = "susssasa{sv}i"
URGENCY_NORMAL = 1
MAX_REMEMBERED_IDS = 256


def escape_markup(text: str) -> str:
    """``&``, ``<`` and ``>`` as entities: a body the server reads as markup shows the text as it is (the same as
    ``html.escape(text, quote=False)``, without loading ``html``'s entity tables into a resident app)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Notification:
    """What to show: ``replace_group`` names the earlier notification it replaces, ``actions`` its extra buttons."""

    title: str
    body: str
    key: str
    replace_group: str | None
    actions: tuple[tuple[str, str], ...] = ()

    def key_for(self, action: str) -> str:
        """The key to emit when the user chose ``action``: an extra action's own key, else ``key``."""
        for action_key, _label in self.actions:
            if action_key == action and action != "default":
                return action_key
        return self.key


@dataclass
class _Call:
    kind: str  # "match", "capabilities" or "notify"
    deadline: float
    request: Notification | None = None


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError) and not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "DBUS_SESSION_BUS_ADDRESS is not set"
    return f"{type(exc).__name__}: {exc}"


def service_available(timeout: float) -> bool:
    """Ask the bus whether the notification service is there, in a helper thread bounded by ``timeout``."""
    answer: list[bool] = []

    def ask() -> None:
        try:
            from jeepney.bus_messages import message_bus
            from jeepney.io.blocking import Proxy, open_dbus_connection

            with open_dbus_connection(bus="SESSION", auth_timeout=timeout) as conn:
                bus = Proxy(message_bus, conn, timeout=timeout)
                answer.append(bool(bus.NameHasOwner(BUS_NAME)[0]) or BUS_NAME in bus.ListActivatableNames()[0])
        except Exception as exc:
            log.info("No notification service on the session bus: %s", _describe(exc))

    thread = threading.Thread(target=ask, name="pydt-notify-probe", daemon=True)
    thread.start()
    thread.join(timeout * 3)
    return bool(answer and answer[0])


class NotifyBusWorker:
    """One session-bus connection in one thread: sends ``Notify`` and watches the server's signals.

    Nothing here blocks the caller: ``submit`` queues and wakes the thread. Calls are asynchronous on the
    wire (matched to replies by serial) with a deadline each; notifications go out one at a time so a
    ``replace_group`` always knows the id to replace.
    """

    def __init__(
        self,
        *,
        app_name: str,
        icon: str,
        action_label: str,
        call_timeout: float,
        on_activated: Callable[[str], Any],
        on_failed: Callable[[Notification], Any],
    ) -> None:
        self._app_name, self._icon, self._action_label = app_name, icon, action_label
        self._call_timeout = call_timeout
        self._on_activated, self._on_failed = on_activated, on_failed
        self._requests: queue.SimpleQueue[Notification] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stopping = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # Owned by the worker thread only:
        self._conn: Any = None
        self._selector: selectors.BaseSelector | None = None
        self._capabilities: set[str] | None = None
        self._waiting: deque[Notification] = deque()
        self._calls: dict[int, _Call] = {}
        self._sending = False
        self._keys: OrderedDict[int, Notification] = OrderedDict()  # notification id -> what was shown
        self._groups: dict[str, int] = {}  # replace group -> id of its latest notification

    def submit(self, request: Notification) -> None:
        with self._start_lock:
            if self._stopping.is_set():
                raise RuntimeError("the notification bus worker is stopped")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pydt-notify-bus", daemon=True)
                self._thread.start()
        self._requests.put(request)
        self._wake()

    def stop(self, timeout: float = 3.0) -> None:
        self._stopping.set()
        self._wake()
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("The notification bus thread did not stop within %.1fs", timeout)
        self._wake_w.close()
        if thread is None:
            self._wake_r.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # buffer full (already woken) or closed (stopping)
            self._wake_w.send(b"\0")

    # ---- worker thread ----

    def _run(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stopping.is_set():
                deadlines = [call.deadline for call in self._calls.values()]
                timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                for selected, _ in self._selector.select(timeout):
                    if selected.data == "wake":
                        self._drain_wake()
                    else:
                        self._read_bus()
                self._take_requests()
                self._expire_calls()
                self._send_next()
        except Exception:
            log.exception("The notification bus thread failed")
        finally:
            self._disconnect("shutting down", fail_pending=False)
            self._selector.close()
            self._wake_r.close()

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass

    def _take_requests(self) -> None:
        while True:
            try:
                self._waiting.append(self._requests.get_nowait())
            except queue.Empty:
                break
        if self._waiting and self._conn is None:
            self._connect()

    def _connect(self) -> None:
        try:
            from jeepney import DBusAddress
            from jeepney.bus_messages import MatchRule, message_bus
            from jeepney.io.blocking import open_dbus_connection

            self._conn = open_dbus_connection(bus="SESSION", auth_timeout=self._call_timeout)
        except Exception as exc:
            log.warning("Cannot reach the session bus for notifications: %s", _describe(exc))
            self._fail_waiting()
            return
        assert self._selector is not None
        self._selector.register(self._conn.sock, selectors.EVENT_READ, "bus")
        self._address = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=INTERFACE)
        for member in ("ActionInvoked", "NotificationClosed"):
            rule = MatchRule(type="signal", sender=BUS_NAME, interface=INTERFACE, path=OBJECT_PATH, member=member)
            self._call("match", message_bus.AddMatch(rule))
        self._ask_capabilities()

    def _ask_capabilities(self) -> None:
        from jeepney import new_method_call

        self._call("capabilities", new_method_call(self._address, "GetCapabilities"))

    def _call(self, kind: str, msg: Any, request: Notification | None = None) -> bool:
        serial = next(self._conn.outgoing_serial)
        try:
            self._conn.send(msg, serial=serial)
        except OSError as exc:
            if request is not None:
                self._waiting.appendleft(request)
            self._disconnect(f"send failed: {exc}")
            return False
        self._calls[serial] = _Call(kind, time.monotonic() + self._call_timeout, request)
        return True

    def _send_next(self) -> None:
        if self._conn is None or self._capabilities is None or self._sending or not self._waiting:
            return
        from jeepney import new_method_call

        request = self._waiting.popleft()
        actions: list[str] = []
        if "actions" in self._capabilities:
            actions = ["default", self._action_label]
            for action_key, label in request.actions:
                actions += [action_key, label]
        body = escape_markup(request.body) if "body-markup" in self._capabilities else request.body
        replaces_id = self._groups.get(request.replace_group, 0) if request.replace_group else 0
        hints = {"urgency": ("y", URGENCY_NORMAL), "desktop-entry": ("s", APP_NAME)}
        args = (self._app_name, replaces_id, self._icon, request.title, body, actions, hints, -1)
        self._sending = self._call("notify", new_method_call(self._address, "Notify", NOTIFY_SIGNATURE, args), request)

    def _read_bus(self) -> None:
        from jeepney import MessageType

        while self._conn is not None:
            try:
                msg = self._conn.receive(timeout=0)
            except TimeoutError:
                return
            except Exception as exc:  # connection reset, or bytes we cannot parse
                self._disconnect(f"connection lost: {exc}")
                return
            kind = msg.header.message_type
            if kind in (MessageType.method_return, MessageType.error):
                self._on_reply(msg, kind is MessageType.error)
            elif kind is MessageType.signal:
                self._on_signal(msg)

    def _on_reply(self, msg: Any, is_error: bool) -> None:
        from jeepney import HeaderFields

        call = self._calls.pop(msg.header.fields.get(HeaderFields.reply_serial, -1), None)
        if call is None:
            return
        if is_error:
            name = msg.header.fields.get(HeaderFields.error_name, "unknown error")
            detail = msg.body[0] if msg.body and isinstance(msg.body[0], str) else ""
            self._call_failed(call, f"{name} {detail}".strip())
            return
        try:
            if call.kind == "capabilities":
                self._capabilities = {str(item) for item in msg.body[0]}
                log.debug("Notification server capabilities: %s", sorted(self._capabilities))
            elif call.kind == "notify":
                self._notified(call.request, int(msg.body[0]))
        except (IndexError, TypeError, ValueError) as exc:
            self._call_failed(call, f"malformed reply {msg.body!r}: {exc}")

    def _notified(self, request: Notification | None, notification_id: int) -> None:
        self._sending = False
        if request is None:
            return
        self._keys[notification_id] = request
        self._keys.move_to_end(notification_id)
        while len(self._keys) > MAX_REMEMBERED_IDS:
            self._keys.popitem(last=False)
        if request.replace_group:
            self._groups[request.replace_group] = notification_id

    def _call_failed(self, call: _Call, reason: str) -> None:
        if call.kind == "capabilities":
            log.info("The notification server did not list its capabilities (%s); sending no actions", reason)
            self._capabilities = set()
        elif call.kind == "notify":
            self._sending = False
            log.warning("Notification not shown: %s", reason)
            if call.request is not None:
                self._on_failed(call.request)
        else:
            log.info("Cannot watch notification clicks: %s", reason)

    def _expire_calls(self) -> None:
        now = time.monotonic()
        for serial in [serial for serial, call in self._calls.items() if call.deadline <= now]:
            call = self._calls.pop(serial)
            self._call_failed(call, f"no answer within {self._call_timeout:g}s")

    def _on_signal(self, msg: Any) -> None:
        from jeepney import HeaderFields

        fields = msg.header.fields
        if fields.get(HeaderFields.interface) != INTERFACE:
            return
        member = fields.get(HeaderFields.member)
        try:
            notification_id = int(msg.body[0])
        except (IndexError, TypeError, ValueError):
            log.debug("Ignoring a malformed %s signal: %r", member, msg.body)
            return
        if member == "ActionInvoked" and notification_id in self._keys:
            action = str(msg.body[1]) if len(msg.body) > 1 else "default"
            # A clicked notification is as good as closed: forget it before anyone reacts to the click, so a
            # notification sent in reaction never "replaces" it even if NotificationClosed is still in transit.
            self._forget_group_of(notification_id)
            self._on_activated(self._keys[notification_id].key_for(action))
        elif member == "NotificationClosed":
            self._forget_group_of(notification_id)

    def _forget_group_of(self, notification_id: int) -> None:
        self._groups = {group: nid for group, nid in self._groups.items() if nid != notification_id}

    def _fail_waiting(self) -> None:
        while self._waiting:
            self._on_failed(self._waiting.popleft())

    def _disconnect(self, reason: str, *, fail_pending: bool = True) -> None:
        """Drop the connection; unanswered and queued notifications go to the fallback."""
        if self._conn is None:
            return
        if fail_pending:
            log.warning("Notification bus connection dropped: %s", reason)
        assert self._selector is not None
        self._selector.unregister(self._conn.sock)
        self._conn.close()
        self._conn = None
        calls, self._calls = self._calls, {}
        self._capabilities, self._sending = None, False
        self._keys.clear()
        self._groups.clear()
        if fail_pending:
            for call in calls.values():
                if call.request is not None:
                    self._on_failed(call.request)
            self._fail_waiting()


__all__ = ["BUS_NAME", "Notification", "NotifyBusWorker", "service_available"]
