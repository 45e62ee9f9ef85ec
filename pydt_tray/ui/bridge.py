"""Thread hand-off: callables and push events from worker/CRT threads to the Qt main thread."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from pydt_tray.platform.qt_light import QUEUED_CONNECTION

log = logging.getLogger(__name__)


class MainThreadInvoker(QObject):
    """``call_soon(f)`` from any thread runs ``f`` on the thread that owns this object."""

    _call = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._call.connect(self._run, QUEUED_CONNECTION)

    def call_soon(self, function: Callable[[], None]) -> None:
        self._call.emit(function)

    @Slot(object)
    def _run(self, function: Callable[[], None]) -> None:
        function()


class BackgroundWorker:
    """One worker thread (a lane) for network calls, so the GUI thread never waits on HTTP.

    A job that raises is logged and the lane goes on with the next one. The thread is a daemon: at Quit,
    :meth:`stop` drops the queued jobs and :meth:`join` waits a bounded time for the running one, which is
    then abandoned (its request ends with the process; files are only ever replaced atomically).
    """

    def __init__(self, name: str = "pydt-worker") -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, function: Callable[[], None]) -> None:
        if self._stopped:
            log.debug("%s: stopped; a job was dropped", self.name)
            return
        self._jobs.put(function)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("A background job on %s failed", self.name)

    def stop(self) -> None:
        """No new jobs; queued ones are dropped. Does not wait."""
        self._stopped = True
        with contextlib.suppress(queue.Empty):
            while True:
                self._jobs.get_nowait()
        self._jobs.put(None)

    def join(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for the running job; False if it is still running (abandoned)."""
        self._thread.join(max(0.0, timeout))
        if self._thread.is_alive():
            log.info("%s: a network call was still running at quit; it was abandoned", self.name)
            return False
        return True

    def shutdown(self, timeout: float = 1.5) -> bool:
        self.stop()
        return self.join(timeout)


def stop_workers(workers: list[BackgroundWorker], timeout: float) -> None:
    """Stop every lane at once, then wait for all of them together at most ``timeout`` seconds."""
    for worker in workers:
        worker.stop()
    end = time.monotonic() + timeout
    for worker in workers:
        worker.join(end - time.monotonic())


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
