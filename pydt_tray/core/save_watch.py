"""Noticing the save the user makes at the end of a turn, by polling the save folder (docs/pydt-api.md §7.4, §9.15).

Polling is portable and needs no threads: the GUI calls :meth:`SaveWatcher.poll` from a timer, a command-line
loop calls :meth:`SaveWatcher.wait`. Only top-level files with the game's extension count; the downloaded
turn file and subfolders (``pydt-archive``, autosaves) are ignored. Nothing is reported during the grace
period after :meth:`SaveWatcher.arm`, so the client's own download is never taken for the user's save.
A file is reported once it stopped changing: for one poll interval, or for ``stable_seconds`` for games that
write slowly (``awaitWriteFinish``: Civ5, Beyond Earth, Old World).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from pydt_tray.core.transfer import DOWNLOAD_NAME
from pydt_tray.core.turn import GRACE_SECONDS, STABLE_SECONDS

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.25
Signature = tuple[int, int]  # (mtime_ns, size)


class SaveWatcher:
    """Finds the first new or changed save in one folder after :meth:`arm`."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        extension: str,
        *,
        ignore_names: Iterable[str] | None = None,
        await_write_finish: bool = False,
        grace_seconds: float = GRACE_SECONDS,
        stable_seconds: float = STABLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = Path(folder)
        self.extension = "." + extension.lstrip(".").lower()
        names = [DOWNLOAD_NAME.format(ext=extension.lstrip("."))] if ignore_names is None else list(ignore_names)
        self._ignored = {name.lower() for name in names}
        self.await_write_finish = await_write_finish
        self.grace_seconds = grace_seconds
        self.stable_seconds = stable_seconds if await_write_finish else 0.0
        self._clock = clock
        self._armed = False
        self._grace_ends = 0.0
        self._baseline: dict[str, Signature] = {}
        self._pending: dict[str, tuple[Signature, float]] = {}
        self._scan_failed = False

    @property
    def armed(self) -> bool:
        return self._armed

    @property
    def grace_over(self) -> bool:
        """Armed and past the grace period: a save written now is reported."""
        return self._armed and self._clock() >= self._grace_ends

    def arm(self) -> None:
        """Start watching: remember what the folder holds now and start the grace period."""
        self._baseline = self._scan() or {}
        self._pending.clear()
        self._grace_ends = self._clock() + self.grace_seconds
        self._armed = True

    def disarm(self) -> None:
        self._armed = False
        self._pending.clear()

    def poll(self) -> Path | None:
        """Check the folder once; returns the detected save (and disarms), else None."""
        if not self.armed:
            return None
        current = self._scan()
        if current is None:
            return None  # the folder cannot be listed right now; keep what is known
        now = self._clock()
        if now < self._grace_ends:
            self._baseline = current  # whatever happens during the grace period is not the user's save
            return None
        changed = {name: sig for name, sig in current.items() if self._baseline.get(name) != sig}
        for name in list(self._pending):
            if name not in changed:
                del self._pending[name]
        ready: list[tuple[int, str]] = []
        for name, sig in changed.items():
            previous = self._pending.get(name)
            if previous is None or previous[0] != sig:
                self._pending[name] = (sig, now)  # new, or still being written: wait for it to settle
                continue
            if sig[1] > 0 and now - previous[1] >= self.stable_seconds:
                ready.append((sig[0], name))
        if not ready:
            return None
        _, name = max(ready)  # the most recently written one
        self.disarm()
        log.info("Detected a new save: %s", name)
        return self.folder / name

    def wait(
        self,
        timeout: float | None = None,
        interval: float = POLL_INTERVAL,
        sleep: Callable[[float], None] = time.sleep,
        should_stop: Callable[[], bool] | None = None,
    ) -> Path | None:
        """Poll until a save is found, ``timeout`` seconds pass or ``should_stop()`` is true (command line)."""
        if not self.armed:
            self.arm()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            found = self.poll()
            if found is not None:
                return found
            if should_stop is not None and should_stop():
                return None
            if deadline is not None and time.monotonic() >= deadline:
                return None
            sleep(interval)

    def _scan(self) -> dict[str, Signature] | None:
        """Top-level regular files with the game's extension: name -> (mtime_ns, size); None on failure."""
        found: dict[str, Signature] = {}
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    name = entry.name
                    if not name.lower().endswith(self.extension) or name.lower() in self._ignored:
                        continue
                    try:
                        if not entry.is_file():
                            continue
                        stat = entry.stat()
                    except OSError:
                        continue  # vanished while listing
                    found[name] = (stat.st_mtime_ns, stat.st_size)
        except OSError as error:
            if not self._scan_failed:
                log.warning("Cannot list the save folder %s: %s", self.folder, error)
            self._scan_failed = True
            return None
        self._scan_failed = False
        return found
