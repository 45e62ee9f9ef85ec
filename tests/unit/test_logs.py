from __future__ import annotations

import logging
import os
import stat
import sys
import threading

import pytest

from pydt_tray.core import logs
from pydt_tray.core.logs import (
    PrivateRotatingFileHandler,
    RedactingFilter,
    redact,
    register_secret,
    setup_logging,
    teardown_logging,
)

TOKEN = "tok-5f2a9c81e7d34b60"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3NjUifQ.c2lnbmF0dXJlLXBhcnQ"
SIGNED_URL = (
    "wss://iot.example/mqtt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1"
    "&X-Amz-Date=20260101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=0123abcd"
)


@pytest.fixture(autouse=True)
def _clean():
    yield
    teardown_logging()
    logs.clear_secrets()


def our_handlers():
    return [handler for handler in logging.getLogger().handlers if handler in logs._handlers]


def read_log(folder):
    for handler in our_handlers():
        handler.flush()
    return (folder / "pydt-tray.log").read_text(encoding="utf-8")


def test_redact_secrets_jwts_and_signed_url_parts():
    register_secret(TOKEN)
    register_secret("abc")  # too short to redact safely
    register_secret(None)
    text = redact(f"token={TOKEN} jwt={JWT} url={SIGNED_URL} abc")
    assert TOKEN not in text and JWT not in text and "0123abcd" not in text and "AKIAEXAMPLE" not in text
    assert "X-Amz-Signature=<redacted>" in text and "X-Amz-Credential=<redacted>&X-Amz-Date=" in text
    assert text.endswith(" abc")


def test_file_only_by_default_at_info_with_rotation(tmp_path):
    logger = setup_logging(tmp_path)
    handlers = our_handlers()
    assert len(handlers) == 1
    [handler] = handlers
    assert isinstance(handler, PrivateRotatingFileHandler)
    assert (handler.max_bytes, handler.backups) == (1_000_000, 3)
    logger.debug("quiet detail")
    logger.info("visible line")
    text = read_log(tmp_path)
    assert "visible line" in text and "quiet detail" not in text


def test_the_log_rotates_by_size_keeps_its_backups_private_and_drops_the_oldest(tmp_path):
    path = tmp_path / "app.log"
    handler = PrivateRotatingFileHandler(path, max_bytes=100, backups=2)
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        for n in range(12):  # 12 lines of 30 bytes: 3 per file
            handler.emit(logging.LogRecord("t", logging.INFO, __file__, 1, f"line {n:02d} " + "x" * 21, None, None))
    finally:
        handler.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["app.log", "app.log.1", "app.log.2"]  # the oldest file was dropped
    assert all((tmp_path / name).stat().st_size <= 100 for name in files)
    assert all(stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600 for name in files)
    assert "line 11" in path.read_text() and "line 08" in (tmp_path / "app.log.1").read_text()
    assert "line 05" in (tmp_path / "app.log.2").read_text()
    assert "line 02" not in "".join((tmp_path / name).read_text() for name in files)


def test_setup_twice_adds_no_duplicate_handlers(tmp_path):
    setup_logging(tmp_path, debug=True)
    setup_logging(tmp_path, debug=True)
    root = logging.getLogger()
    assert len(our_handlers()) == 2
    assert sum(1 for handler in root.handlers if isinstance(handler, PrivateRotatingFileHandler)) == 1
    for handler in our_handlers():
        assert any(isinstance(item, RedactingFilter) for item in handler.filters)
    logging.getLogger("pydt_tray.test").info("once")
    assert read_log(tmp_path).count("once") == 1


@pytest.mark.expect_warning_logs  # logs an error on purpose, to check its redaction
def test_secrets_are_redacted_on_file_and_console(tmp_path, capsys):
    logger = setup_logging(tmp_path, debug=True)
    register_secret(TOKEN)
    logger.debug("direct %s", "message " + TOKEN)
    logger.info("args %s and %r", TOKEN, {"auth": TOKEN})
    logging.getLogger("urllib3.connectionpool").debug("GET %s", SIGNED_URL)
    try:
        raise RuntimeError(f"server refused {TOKEN} / {JWT}")
    except RuntimeError:
        logger.exception("request failed")
    logger.info("stack", stack_info=True, extra={"unused": TOKEN})

    file_text = read_log(tmp_path)
    console_text = capsys.readouterr().err
    for text in (file_text, console_text):
        assert "direct message <redacted>" in text
        assert "args <redacted> and {'auth': '<redacted>'}" in text
        assert "X-Amz-Signature=<redacted>" in text
        assert "RuntimeError: server refused <redacted> / <redacted>" in text
        assert "Traceback (most recent call last)" in text
        assert TOKEN not in text and JWT not in text and "0123abcd" not in text


def test_a_record_with_broken_format_args_is_kept_and_redacted():
    register_secret(TOKEN)
    record = logging.LogRecord("pydt_tray", logging.WARNING, __file__, 1, "two %s %s", (TOKEN,), None)
    assert RedactingFilter().filter(record) is True
    text = logging.Formatter("%(message)s").format(record)
    assert text.startswith("two %s %s") and "<redacted>" in text and TOKEN not in text


@pytest.mark.expect_warning_logs  # unhandled errors are logged as CRITICAL
def test_unhandled_errors_in_main_and_worker_threads_are_logged(tmp_path):
    setup_logging(tmp_path)
    register_secret(TOKEN)
    logs.install_excepthook()
    logs.install_excepthook()  # idempotent
    try:
        raise ValueError(f"main thread failure {TOKEN}")
    except ValueError:
        sys.excepthook(*sys.exc_info())

    def work():
        raise KeyError("worker failure")

    worker = threading.Thread(target=work, name="worker-1")
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive()

    text = read_log(tmp_path)
    assert "CRITICAL" in text and "ValueError: main thread failure <redacted>" in text
    assert "Unhandled error in thread worker-1" in text and "KeyError: 'worker failure'" in text


def test_teardown_restores_hooks_and_handlers(tmp_path):
    before_hooks = (sys.excepthook, threading.excepthook)
    before_handlers = list(logging.getLogger().handlers)
    setup_logging(tmp_path, debug=True)
    logs.install_excepthook()
    assert sys.excepthook is not before_hooks[0]
    teardown_logging()
    assert (sys.excepthook, threading.excepthook) == before_hooks
    assert logging.getLogger().handlers == before_handlers


def test_rotated_log_files_stay_private(tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "MAX_LOG_BYTES", 2_000)
    old_umask = os.umask(0o022)  # the usual umask would make new files 0644
    try:
        logger = setup_logging(tmp_path)
        for index in range(200):
            logger.info("line %d %s", index, "x" * 60)
    finally:
        os.umask(old_umask)
    files = sorted(tmp_path.glob("pydt-tray.log*"))
    assert len(files) == 4  # the current log and three rotations
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in files} == {path.name: 0o600 for path in files}
