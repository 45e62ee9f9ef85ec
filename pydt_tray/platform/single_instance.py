"""One running pydt-tray per user and profile; a second start asks the first to show its window and exits.

Who wins is decided by a lock file (``QLockFile``), held for the whole life of the first instance. The lock
is atomic, so two near-simultaneous starts cannot both win, and it carries the holder's process id, so
the lock of a crashed instance is recognised as stale and taken over. The winner then listens on a
``QLocalServer``, clearing any socket a crashed run left behind. A loser connects to that server, sends
``show`` and waits briefly for ``ok``; the whole exchange stays under a second.

The key (lock and socket name) is derived from the user and the resolved config folder, so a test or
demo run with its own ``PYDT_TRAY_HOME`` never talks to the user's real instance.

Lock and socket live in a folder only this user can write: the runtime folder where there is a private one,
else ``<temp>/pydt-tray-<uid>`` (created 0700, refused if it is a link or belongs to someone else), else the
app's own cache folder. Another user cannot plant a file there, and a lock file that is not ours anyway is
ignored: a foreign file never stops the app from starting.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import logging
import os
import stat
import time
from pathlib import Path

from PySide6.QtCore import QDir, QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from pydt_tray import APP_NAME
from pydt_tray.core.paths import app_paths

log = logging.getLogger(__name__)

SHOW_MESSAGE = b"show\n"
ACK_MESSAGE = b"ok\n"
TOTAL_BUDGET_MS = 900  # a second start must be done in under a second
CONNECT_RETRY_MS = 25


def _user_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers, odd environments): the uid still separates users
        return str(os.getuid()) if hasattr(os, "getuid") else "user"


def _is_private_dir(path: Path) -> bool:
    """A real folder (not a link) of this user that nobody else may write to."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and (info.st_mode & 0o077) == 0


def _make_private_dir(path: Path) -> bool:
    """Create ``path`` 0700 (or tighten our own existing one); False if it is not, or cannot be made, private."""
    with contextlib.suppress(FileExistsError, OSError):
        path.mkdir(mode=0o700, parents=True)
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and info.st_mode & 0o077:
        with contextlib.suppress(OSError):
            os.chmod(path, 0o700)
    return _is_private_dir(path)


def _private_folder() -> Path:
    """Where the lock and socket live (see the module text). On Windows the temp folder is per-user already."""
    if os.name != "posix":
        return Path(QDir.tempPath())
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and Path(runtime).is_absolute() and _is_private_dir(Path(runtime)):
        return Path(runtime)
    per_user = Path(QDir.tempPath()) / f"{APP_NAME}-{os.getuid()}"
    if _make_private_dir(per_user):
        return per_user
    log.warning("%s is not private to this user; keeping the instance lock in the app's cache folder", per_user)
    fallback = app_paths().cache_dir / "instance"
    if _make_private_dir(fallback):
        return fallback
    raise OSError(f"no private folder for the instance lock ({per_user}, {fallback})")


def _owned_by_someone_else(path: Path) -> bool:
    try:
        return os.name == "posix" and os.lstat(path).st_uid != os.getuid()
    except OSError:
        return False


def instance_key(config_dir: Path | None = None, user: str | None = None) -> str:
    """``pydt-tray-<hash>`` of the user and the resolved config folder: short enough for any socket path."""
    folder = config_dir if config_dir is not None else app_paths().config_dir
    try:
        resolved = str(Path(folder).expanduser().resolve())
    except OSError:
        resolved = str(Path(folder).expanduser().absolute())
    digest = hashlib.sha256(f"{user or _user_name()}\0{resolved}".encode()).hexdigest()[:16]
    return f"{APP_NAME}-{digest}"


class SingleInstance(QObject):
    """Call :meth:`acquire` once at start-up, before building the window; ``show_requested`` fires when a
    later start asks this instance to come to the front."""

    show_requested = Signal()

    def __init__(self, key: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key or instance_key()
        try:
            folder = _private_folder()
        except OSError as error:
            log.warning("%s; relying on the local socket alone", error)
            folder = Path(QDir.tempPath())
        self._lock_path = folder / f"{self.key}.lock"
        # On Unix a server name with a slash is used as the socket path; keep it within the 104-byte limit.
        socket_path = folder / self.key
        self._socket_name = str(socket_path) if os.name == "posix" and len(str(socket_path)) < 100 else self.key
        self._lock = QLockFile(str(self._lock_path))
        self._lock.setStaleLockTime(0)  # only a dead holder makes the lock stale, never its age
        self._server: QLocalServer | None = None
        self._first = False

    @property
    def server_name(self) -> str:
        """The socket path (Unix) or pipe name (Windows) while listening, else ``""``."""
        return self._server.fullServerName() if self._server is not None else ""

    def acquire(self) -> bool:
        """True: this is the first instance and now listens. False: another one runs and was asked to show."""
        if self._first:
            return True
        started = time.monotonic()
        if self._lock.tryLock(0):
            return self._listen()
        error = self._lock.error()
        if error != QLockFile.LockError.LockFailedError:
            # The lock folder is unusable (permissions, full disk): fall back to the socket alone.
            log.warning("single-instance lock unavailable (%s); relying on the local socket", error)
            if self._ask_running_instance(started, retry=False):
                return False
            return self._listen()
        if self._ask_running_instance(started, retry=True):
            return False
        if _owned_by_someone_else(self._lock_path):
            log.warning("the instance lock %s belongs to another user; starting anyway", self._lock_path)
            return self._listen()
        log.warning("another %s holds the instance lock but did not answer; not starting", APP_NAME)
        return False

    def close(self) -> None:
        """Stop listening and release the lock; a later :meth:`acquire` (here or elsewhere) can win again."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            server.deleteLater()
        if self._lock.isLocked():
            self._lock.unlock()
        self._first = False

    # --- first instance -----------------------------------------------------------------------------------

    def _listen(self) -> bool:
        self._first = True
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        server.newConnection.connect(self._on_new_connection)
        if not server.listen(self._socket_name):
            # We hold the lock, so a socket under our name is a leftover of a crashed run.
            log.debug("removing a stale instance socket: %s", server.errorString())
            QLocalServer.removeServer(self._socket_name)
            if not server.listen(self._socket_name):
                log.warning("cannot listen for other starts (%s); running without that", server.errorString())
                server.deleteLater()
                return True
        self._server = server
        log.debug("first instance, listening on %s", server.fullServerName())
        return True

    def _on_new_connection(self) -> None:
        server = self._server
        while server is not None and server.hasPendingConnections():
            socket = server.nextPendingConnection()
            socket.setParent(self)
            socket.readyRead.connect(lambda s=socket: self._on_ready_read(s))
            socket.disconnected.connect(socket.deleteLater)
            if socket.bytesAvailable():
                self._on_ready_read(socket)

    def _on_ready_read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            if socket.bytesAvailable() > 64:  # not our protocol
                socket.abort()
            return
        line = bytes(socket.readLine().data())
        if line == SHOW_MESSAGE:
            socket.write(ACK_MESSAGE)
            socket.flush()
            log.debug("another start asked to show the window")
            self.show_requested.emit()
        socket.disconnectFromServer()

    # --- second instance ----------------------------------------------------------------------------------

    def _ask_running_instance(self, started: float, retry: bool) -> bool:
        """Connect to the running instance and send ``show``; True once connected (an ack is waited for)."""
        socket = QLocalSocket()
        try:
            while True:
                socket.connectToServer(self._socket_name)
                if socket.waitForConnected(max(1, self._remaining_ms(started))):
                    break
                socket.abort()
                if not retry or self._remaining_ms(started) <= CONNECT_RETRY_MS:
                    return False
                time.sleep(CONNECT_RETRY_MS / 1000)  # the winner is between taking the lock and listening
            socket.write(SHOW_MESSAGE)
            socket.flush()
            acked = False
            while not acked and socket.waitForReadyRead(max(1, self._remaining_ms(started))):
                acked = socket.canReadLine() and bytes(socket.readLine().data()) == ACK_MESSAGE
            if not acked:
                log.warning("the running %s did not confirm the show request", APP_NAME)
            return True
        finally:
            socket.abort()

    @staticmethod
    def _remaining_ms(started: float) -> int:
        return int(TOTAL_BUDGET_MS - (time.monotonic() - started) * 1000)
