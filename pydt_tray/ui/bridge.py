"""Thread hand-off: callables and push events from worker/CRT threads to the Qt main thread."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QObject, Qt, Signal, Slot


class MainThreadInvoker(QObject):
    """``call_soon(f)`` from any thread runs ``f`` on the thread that owns this object."""

    _call = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def call_soon(self, function: Callable[[], None]) -> None:
        self._call.emit(function)

    @Slot(object)
    def _run(self, function: Callable[[], None]) -> None:
        function()


class BackgroundWorker:
    """One worker thread for network calls, so the GUI thread never waits on HTTP."""

    def __init__(self, name: str = "pydt-worker") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def submit(self, function: Callable[[], None]) -> None:
        self._executor.submit(function)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class PushBridge(QObject):
    """A push listener whose methods may be called on CRT threads; it only emits queued signals."""

    message = Signal(str)
    connected = Signal(bool)
    disconnected = Signal(str)
    stopped = Signal()

    def on_push_message(self, topic: str, payload: bytes) -> None:
        self.message.emit(topic)

    def on_push_connected(self, session_present: bool) -> None:
        self.connected.emit(session_present)

    def on_push_disconnected(self, reason: str) -> None:
        self.disconnected.emit(reason)

    def on_push_stopped(self) -> None:
        self.stopped.emit()
