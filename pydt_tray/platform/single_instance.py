"""One running pydt-tray per user and profile; a second start asks the first to show its window and exits.

Who wins is decided by a lock file (``QLockFile``), held for the whole life of the first instance: atomic, so
two near-simultaneous starts cannot both win, and carrying the holder's process id, so the lock of a crashed
instance is taken over. The winner listens on a local socket (clearing one a crashed run left); a loser
connects, sends ``show`` and waits briefly for ``ok``; the whole exchange stays under a second.

On Unix the socket is a standard-library ``AF_UNIX`` stream socket watched by a ``QSocketNotifier``: a running
app does not load QtNetwork (about 2.5 MB) for one line a day. Windows has no such socket in Python, so there
the exchange goes through QtNetwork's ``QLocalServer`` (a named pipe). The key (lock and socket name) comes
from the user and the resolved config folder, so a run with its own ``PYDT_TRAY_HOME`` never talks to the
user's real instance.

Lock and socket live in a folder only this user can write: the runtime folder where there is a private one,
else ``<temp>/pydt-tray-<uid>`` (created 0700, refused if it is a link or belongs to someone else), else the
app's own cache folder. Another user cannot plant a file there, and a lock file that is not ours anyway is
ignored: a foreign file never stops the app from starting.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib
import logging
import os
import socket
import stat
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDir, QLockFile, QObject, QSocketNotifier, Signal

from pydt_tray import APP_NAME
from pydt_tray.core.paths import app_paths

log = logging.getLogger(__name__)

SHOW_MESSAGE = b"show\n"
ACK_MESSAGE = b"ok\n"
TOTAL_BUDGET_MS = 900  # a second start must be done in under a second
CONNECT_RETRY_MS = 25
MAX_LINE = 64  # longer than any message of ours: not our protocol
UNIX_SOCKETS = os.name == "posix" and hasattr(socket, "AF_UNIX")


def _user_name() -> str:
    """The login name, found as ``getpass.getuser()`` finds it (that module would also load termios)."""
    found = [os.environ[name] for name in ("LOGNAME", "USER", "LNAME", "USERNAME") if os.environ.get(name)]
    try:
        return found[0] if found else importlib.import_module("pwd").getpwuid(os.getuid())[0]
    except Exception:  # no login name (containers, odd environments, Windows): the uid still separates users
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
        if UNIX_SOCKETS and self._socket_name == self.key:
            self._socket_name = str(Path(QDir.tempPath()) / self.key)  # where QLocalServer would put it
        self._lock = QLockFile(str(self._lock_path))
        self._lock.setStaleLockTime(0)  # only a dead holder makes the lock stale, never its age
        self._server: Any = None  # a _UnixServer, or a QLocalServer on Windows
        self._first = False

    @property
    def server_name(self) -> str:
        """The socket path (Unix) or pipe name (Windows) while listening, else ``""``."""
        if self._server is None:
            return ""
        return str(self._server.path if UNIX_SOCKETS else self._server.fullServerName())

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
            if not UNIX_SOCKETS:
                server.deleteLater()
        if self._lock.isLocked():
            self._lock.unlock()
        self._first = False

    # --- first instance -----------------------------------------------------------------------------------

    def _listen(self) -> bool:
        self._first = True
        if UNIX_SOCKETS:
            try:
                self._server = _UnixServer(self._socket_name, self._on_line, self)
            except OSError as error:
                log.warning("cannot listen for other starts (%s); running without that", error)
                return True
            log.debug("first instance, listening on %s", self._socket_name)
            return True
        from PySide6.QtNetwork import QLocalServer

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

    def _on_line(self, line: bytes) -> bytes:
        """What a later start sent (one line); returns the answer ("" for none)."""
        if line != SHOW_MESSAGE:
            return b""
        log.debug("another start asked to show the window")
        self.show_requested.emit()
        return ACK_MESSAGE

    def _on_new_connection(self) -> None:
        server = self._server
        while server is not None and server.hasPendingConnections():
            connection = server.nextPendingConnection()
            connection.setParent(self)
            connection.readyRead.connect(lambda c=connection: self._on_ready_read(c))
            connection.disconnected.connect(connection.deleteLater)
            if connection.bytesAvailable():
                self._on_ready_read(connection)

    def _on_ready_read(self, connection: Any) -> None:  # a QLocalSocket (Windows)
        if not connection.canReadLine():
            if connection.bytesAvailable() > MAX_LINE:  # not our protocol
                connection.abort()
            return
        answer = self._on_line(bytes(connection.readLine().data()))
        if answer:
            connection.write(answer)
            connection.flush()
        connection.disconnectFromServer()

    # --- second instance ----------------------------------------------------------------------------------

    def _ask_running_instance(self, started: float, retry: bool) -> bool:
        """Connect to the running instance and send ``show``; True once connected (an ack is waited for)."""
        ask = self._ask_unix if UNIX_SOCKETS else self._ask_qt
        acked = ask(started, retry)
        if acked is None:
            return False
        if not acked:
            log.warning("the running %s did not confirm the show request", APP_NAME)
        return True

    def _ask_unix(self, started: float, retry: bool) -> bool | None:
        """None: nobody listens. Else whether the show request was confirmed."""
        while True:
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                client.settimeout(max(1, self._remaining_ms(started)) / 1000)
                client.connect(self._socket_name)
            except OSError:
                client.close()
                if not retry or self._remaining_ms(started) <= CONNECT_RETRY_MS:
                    return None
                time.sleep(CONNECT_RETRY_MS / 1000)  # the winner is between taking the lock and listening
                continue
            break
        with client:
            received = b""
            try:
                client.sendall(SHOW_MESSAGE)
                while b"\n" not in received and self._remaining_ms(started) > 0:
                    client.settimeout(max(1, self._remaining_ms(started)) / 1000)
                    chunk = client.recv(MAX_LINE)
                    if not chunk:
                        break
                    received += chunk
            except OSError:
                pass
            return received.split(b"\n", 1)[0] + b"\n" == ACK_MESSAGE

    def _ask_qt(self, started: float, retry: bool) -> bool | None:
        from PySide6.QtNetwork import QLocalSocket

        connection = QLocalSocket()
        try:
            while True:
                connection.connectToServer(self._socket_name)
                if connection.waitForConnected(max(1, self._remaining_ms(started))):
                    break
                connection.abort()
                if not retry or self._remaining_ms(started) <= CONNECT_RETRY_MS:
                    return None
                time.sleep(CONNECT_RETRY_MS / 1000)
            connection.write(SHOW_MESSAGE)
            connection.flush()
            acked = False
            while not acked and connection.waitForReadyRead(max(1, self._remaining_ms(started))):
                acked = connection.canReadLine() and bytes(connection.readLine().data()) == ACK_MESSAGE
            return acked
        finally:
            connection.abort()

    @staticmethod
    def _remaining_ms(started: float) -> int:
        return int(TOTAL_BUDGET_MS - (time.monotonic() - started) * 1000)


class _UnixServer(QObject):
    """A listening ``AF_UNIX`` socket (mode 0600) on the Qt event loop: each connection sends one line, gets
    the answer of ``on_line`` and is closed. A socket file left at ``path`` by a crashed run is replaced."""

    def __init__(self, path: str, on_line: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self._on_line = on_line
        self._clients: dict[int, tuple[socket.socket, QSocketNotifier, bytearray]] = {}
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                self._bind(listener)
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                # We hold the lock, so a socket under our name is a leftover of a crashed run.
                log.debug("removing a stale instance socket: %s", path)
                os.unlink(path)
                self._bind(listener)
            listener.listen(8)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self._listener: socket.socket | None = listener
        self._notifier = QSocketNotifier(listener.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(lambda *_args: self._accept())

    def _bind(self, listener: socket.socket) -> None:
        old_mask = os.umask(0o177)  # the socket file is born 0600: only this user may connect
        try:
            listener.bind(self.path)
        finally:
            os.umask(old_mask)

    def _accept(self) -> None:
        while self._listener is not None:
            try:
                connection, _address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                log.debug("instance socket accept failed: %s", error)
                return
            connection.setblocking(False)
            notifier = QSocketNotifier(connection.fileno(), QSocketNotifier.Type.Read, self)
            fd = connection.fileno()
            self._clients[fd] = (connection, notifier, bytearray())
            notifier.activated.connect(lambda *_args, fd=fd: self._read(fd))
            self._read(fd)

    def _read(self, fd: int) -> None:
        entry = self._clients.get(fd)
        if entry is None:
            return
        connection, _notifier, buffer = entry
        try:
            chunk = connection.recv(MAX_LINE + 1)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        buffer += chunk
        if b"\n" in buffer:
            line = bytes(buffer[: buffer.index(b"\n") + 1])
            answer = self._on_line(line)
            if answer:
                with contextlib.suppress(OSError):
                    connection.setblocking(True)
                    connection.settimeout(0.5)
                    connection.sendall(answer)
            self._drop(fd)
        elif not chunk or len(buffer) > MAX_LINE:  # closed, or not our protocol
            self._drop(fd)

    def _drop(self, fd: int) -> None:
        connection, notifier, _buffer = self._clients.pop(fd)
        notifier.setEnabled(False)
        notifier.deleteLater()
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
        connection.close()

    def close(self) -> None:
        for fd in list(self._clients):
            self._drop(fd)
        listener, self._listener = self._listener, None
        if listener is None:
            return
        self._notifier.setEnabled(False)
        self._notifier.deleteLater()
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
