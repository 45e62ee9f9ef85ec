"""The desktop's own do-not-disturb, where it can be read (Qt-free).

On freedesktop desktops the notification server may publish a read-only ``Inhibited`` property (KDE Plasma
does; servers without it simply do not say). The server keeps showing what it wants; pydt-tray only stops
adding reminders on top of an inhibited session. :class:`InhibitionWatch` asks in a thread of its own at most
once a minute and answers from what it last heard, so the caller (the UI thread) never waits for the bus.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
REFRESH_SECONDS = 60.0


def ask_inhibited(timeout: float = 1.0) -> bool | None:
    """The notification server's ``Inhibited`` property; None when there is no bus, server or property."""
    try:
        from jeepney import DBusAddress, MessageType, Properties
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(bus="SESSION", auth_timeout=timeout) as conn:
            address = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=INTERFACE)
            reply = conn.send_and_get_reply(Properties(address).get("Inhibited"), timeout=timeout)
    except Exception as exc:  # no bus, no server, timeout: the desktop does not say
        log.debug("Cannot read the desktop's do-not-disturb: %s: %s", type(exc).__name__, exc)
        return None
    if reply.header.message_type is MessageType.error or not reply.body:
        return None
    variant = reply.body[0]
    if isinstance(variant, tuple) and len(variant) == 2 and variant[0] == "b":
        return bool(variant[1])
    return None


class InhibitionWatch:
    """``watch()`` is True while the desktop says notifications are inhibited (as last heard)."""

    def __init__(
        self,
        ask: Callable[[], bool | None] = ask_inhibited,
        *,
        refresh: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        enabled: bool = sys.platform.startswith("linux"),
    ) -> None:
        self._ask = ask
        self._refresh = refresh
        self._clock = clock
        self._enabled = enabled
        self._lock = threading.Lock()
        self._value = False
        self._asked_at: float | None = None
        self._thread: threading.Thread | None = None
        self.answered = threading.Event()  # set after each answer (tests wait on it)

    def __call__(self) -> bool:
        if not self._enabled:
            return False
        with self._lock:
            stale = self._asked_at is None or self._clock() - self._asked_at >= self._refresh
            if stale and (self._thread is None or not self._thread.is_alive()):
                self._asked_at = self._clock()
                self.answered.clear()
                self._thread = threading.Thread(target=self._update, name="pydt-dnd-probe", daemon=True)
                self._thread.start()
            return self._value

    def _update(self) -> None:
        try:
            value = self._ask()
        except Exception:  # a probe must never take the app down
            log.debug("do-not-disturb probe failed", exc_info=True)
            value = None
        with self._lock:
            self._value = bool(value)
        self.answered.set()
