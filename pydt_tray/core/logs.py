"""Logging for the app: a rotating file, an optional console, and redaction of secrets on every handler.

Secrets (the PYDT token, IoT keys) are registered with :func:`register_secret` as soon as they are known;
:class:`RedactingFilter` replaces them, anything shaped like a JWT and signed-URL query values
(``X-Amz-Signature``, ``X-Amz-Credential``, ``X-Amz-Security-Token``) with ``<redacted>``.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import cast

from pydt_tray.core.paths import LOG_FILE_NAME

REDACTED = "<redacted>"
LOGGER_NAME = "pydt_tray"
MAX_LOG_BYTES = 1_000_000
LOG_BACKUPS = 3
MIN_SECRET_LENGTH = 4  # shorter values would blank out ordinary words
LOG_FORMAT = "%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_AMZ_QUERY = re.compile(r"(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s\"'<>]+", re.IGNORECASE)

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_state_lock = threading.RLock()
_handlers: list[logging.Handler] = []
_previous_hooks: tuple[Callable[..., object], Callable[..., object]] | None = None
_previous_root_level: int | None = None


def register_secret(value: str | None) -> None:
    """Redact ``value`` from every log record from now on (empty or very short values are ignored)."""
    if value and isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
        with _secrets_lock:
            _secrets.add(value)


def clear_secrets() -> None:
    """Forget every registered secret (tests)."""
    with _secrets_lock:
        _secrets.clear()


def redact(text: str) -> str:
    """``text`` with every registered secret, JWT and signed-URL credential replaced."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)  # longest first: a secret may contain another
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _JWT.sub(REDACTED, text)
    return _AMZ_QUERY.sub(lambda match: match.group(1) + REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record in place: message (with its args), exception text and stack text."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad format args: keep both parts, redacted
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            record.exc_info = None  # no later formatter may render the raw traceback again
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class PrivateRotatingFileHandler(logging.FileHandler):
    """A log file rotated by size (``pydt-tray.log``, then ``.1`` .. ``.<backups>``, the oldest dropped) whose
    every file is readable only by the user: the log names games, players and folders. Not
    ``logging.handlers``: that module brings pickle and sockets a running app never uses (about 0.3 MB)."""

    def __init__(self, filename: str | Path, *, max_bytes: int, backups: int, encoding: str = "utf-8") -> None:
        self.max_bytes, self.backups = max_bytes, backups
        super().__init__(filename, mode="a", encoding=encoding)

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with contextlib.suppress(OSError):
            os.chmod(self.baseFilename, 0o600)  # a file left by an older version may be wider
        return cast(io.TextIOWrapper, open(fd, self.mode, encoding=self.encoding, errors=self.errors))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self._would_overflow(record):
                self._rotate()
        except Exception:
            self.handleError(record)
            return
        super().emit(record)

    def _would_overflow(self, record: logging.LogRecord) -> bool:
        if self.max_bytes <= 0:
            return False
        if self.stream is None:
            self.stream = self._open()
        line = self.format(record) + self.terminator
        return self.stream.tell() + len(line.encode(self.encoding or "utf-8", "replace")) > self.max_bytes

    def _rotate(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        names = [self.baseFilename] + [f"{self.baseFilename}.{n}" for n in range(1, self.backups + 1)]
        for older, newer in reversed(list(itertools.pairwise(names))):
            if os.path.exists(older):
                os.replace(older, newer)
        if self.backups <= 0:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.baseFilename)
        self.stream = self._open()


def setup_logging(log_dir: str | Path, *, debug: bool = False) -> logging.Logger:
    """Log to ``log_dir/pydt-tray.log`` (1 MB x 3 rotations), plus the console when ``debug``.

    Handlers go on the root logger so libraries' records are redacted too. Calling it again replaces
    the handlers it added before (no duplicates). Returns the app's logger.
    """
    folder = Path(log_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    level = logging.DEBUG if debug else logging.INFO
    formatter = logging.Formatter(LOG_FORMAT)
    global _previous_root_level
    with _state_lock:
        _remove_handlers()
        if _previous_root_level is None:
            _previous_root_level = logging.getLogger().level
        log_path = folder / LOG_FILE_NAME
        log_path.touch(mode=0o600, exist_ok=True)
        log_path.chmod(0o600)
        file_handler = PrivateRotatingFileHandler(log_path, max_bytes=MAX_LOG_BYTES, backups=LOG_BACKUPS)
        new_handlers: list[logging.Handler] = [file_handler]
        if debug:
            new_handlers.append(logging.StreamHandler(sys.stderr))
        root = logging.getLogger()
        for handler in new_handlers:
            handler.setLevel(level)
            handler.setFormatter(formatter)
            handler.addFilter(RedactingFilter())
            root.addHandler(handler)
            _handlers.append(handler)
        root.setLevel(level)
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    return logger


def _remove_handlers() -> None:
    root = logging.getLogger()
    while _handlers:
        handler = _handlers.pop()
        root.removeHandler(handler)
        handler.close()


def install_excepthook() -> None:
    """Log unhandled exceptions of the main thread and of worker threads instead of losing them.

    The process keeps running: in a Qt app an exception escaping a slot only reaches ``sys.excepthook``.
    """
    global _previous_hooks
    with _state_lock:
        if _previous_hooks is not None:
            return
        _previous_hooks = (sys.excepthook, threading.excepthook)
        sys.excepthook = _log_unhandled
        threading.excepthook = _log_unhandled_in_thread


def _log_unhandled(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt) and _previous_hooks is not None:
        _previous_hooks[0](exc_type, exc, tb)
        return
    logging.getLogger(LOGGER_NAME).critical("Unhandled error", exc_info=(exc_type, exc, tb))


def _log_unhandled_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    if args.exc_value is None:
        logging.getLogger(LOGGER_NAME).critical("Unhandled error in thread %s: %s", name, args.exc_type)
        return
    logging.getLogger(LOGGER_NAME).critical(
        "Unhandled error in thread %s", name, exc_info=(args.exc_type, args.exc_value, args.exc_traceback)
    )


def teardown_logging() -> None:
    """Undo :func:`setup_logging` and :func:`install_excepthook` (tests, clean shutdown)."""
    global _previous_hooks, _previous_root_level
    with _state_lock:
        _remove_handlers()
        if _previous_root_level is not None:
            logging.getLogger().setLevel(_previous_root_level)
            logging.getLogger(LOGGER_NAME).setLevel(logging.NOTSET)
            _previous_root_level = None
        if _previous_hooks is not None:
            sys.excepthook, threading.excepthook = _previous_hooks
            _previous_hooks = None
