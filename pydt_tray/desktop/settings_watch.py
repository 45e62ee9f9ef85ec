"""Live settings: the running app takes in changes other processes make to ``settings.toml``.

``pydt-tray config set auto_submit true`` (or an editor) replaces the file while the app runs. The folder is
watched (an atomic replace gives the file a new identity, so watching the file alone would miss the next
change); a short pause gathers a burst of events into one :meth:`Settings.reload`, whose listeners then do
what a change made in the settings window does.
"""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer

from pydt_tray.core.settings import Settings

log = logging.getLogger(__name__)

SETTLE_MS = 200


class SettingsFileWatcher(QObject):
    """Calls ``settings.reload()`` after the settings file changed on disk (by anyone)."""

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.path = settings.path
        self._seen = self._signature()
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._reload)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(lambda _path: self._settle.start())
        self._watcher.fileChanged.connect(lambda _path: self._settle.start())
        if self.path is not None:
            try:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as error:
                log.info("Settings folder unavailable (%s); changes made elsewhere apply after a restart", error)
                return
            self._watcher.addPath(str(self.path.parent))
            self._watch_file()

    def _signature(self) -> tuple[int, int, int] | None:
        if self.path is None:
            return None
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def _watch_file(self) -> None:
        if self.path is not None and self.path.exists() and str(self.path) not in self._watcher.files():
            self._watcher.addPath(str(self.path))

    def _reload(self) -> None:
        self._watch_file()
        signature = self._signature()
        if signature == self._seen:
            return  # another file in the folder changed
        self._seen = signature
        self.settings.reload()

    def close(self) -> None:
        self._settle.stop()
        paths = self._watcher.files() + self._watcher.directories()
        if paths:
            self._watcher.removePaths(paths)
