"""Giving freed heap memory back to the system.

glibc keeps memory a program has freed for later use; after start-up and after each load, a resident tray
program would so keep pages it no longer needs. ``malloc_trim(0)`` returns them. Elsewhere it does nothing.

PySide6's import hook reads the source of every module imported after it (to look for its ``__feature__``
switches), and ``linecache`` keeps all those lines: several megabytes a running app never reads again, spread
through the heap so that emptying the cache later gives little back. :func:`no_source_reads` keeps them out
while the app imports and starts (the app uses no ``__feature__`` switch); the trimmer empties the cache of
what later imports add.
"""

from __future__ import annotations

import contextlib
import ctypes
import linecache
import logging
import sys
from collections.abc import Iterator
from typing import Any

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)

TRIM_DELAY_MS = 3_000


@contextlib.contextmanager
def no_source_reads() -> Iterator[None]:
    """Within the block, source lines are not read into ``linecache`` (a traceback shows no source lines)."""
    original = linecache.getlines

    def no_lines(filename: str, module_globals: dict[str, Any] | None = None) -> list[str]:
        del filename, module_globals
        return []

    linecache.getlines = no_lines
    try:
        yield
    finally:
        linecache.getlines = original


def release_free_memory(platform: str = sys.platform) -> bool:
    """Return the heap's free pages to the system (glibc only); True when some were returned."""
    if not platform.startswith("linux"):
        return False
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return bool(trim(0))


class HeapTrimmer(QObject):
    """``soon()`` after work that allocated (a load, a closed window): trims once things settled."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.trims = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(TRIM_DELAY_MS)
        self._timer.timeout.connect(self.trim_now)

    def soon(self) -> None:
        self._timer.start()

    def trim_now(self) -> None:
        self.trims += 1
        linecache.clearcache()
        released = release_free_memory()
        log.debug("heap trimmed (#%d, %s)", self.trims, "pages returned" if released else "nothing to return")

    def stop(self) -> None:
        self._timer.stop()
