"""SIGTERM, SIGINT and SIGHUP (the terminal closed) delivered through the Qt event loop (a wakeup fd, no
polling timer)."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier, Signal

SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name))


class TerminationSignals(QObject):
    """Emits ``received`` on the main thread when the process is asked to stop; ``remove()`` undoes it."""

    received = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sockets: tuple[socket.socket, socket.socket] | None = None
        self._previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}

    def install(self) -> None:
        read, write = socket.socketpair()
        read.setblocking(False)
        write.setblocking(False)
        signal.set_wakeup_fd(write.fileno())
        self._sockets = (read, write)
        notifier = QSocketNotifier(read.fileno(), QSocketNotifier.Type.Read, self)
        notifier.activated.connect(self._drain)
        for sig in SIGNALS:
            self._previous[sig] = signal.signal(sig, lambda *_: None)

    def _drain(self) -> None:
        if self._sockets is None:
            return
        try:
            data = self._sockets[0].recv(64)
        except BlockingIOError:
            return
        if any(number in SIGNALS for number in data):
            self.received.emit()

    def remove(self) -> None:
        if self._sockets is None:
            return
        signal.set_wakeup_fd(-1)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        for sock in self._sockets:
            sock.close()
        self._sockets = None
