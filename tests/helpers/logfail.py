"""Fail a test that logs a WARNING (or worse) it did not ask for.

A warning in the log is a problem somebody should look at, so the suite treats an unexpected one like a
failed assertion. A test that expects warnings says so in one of two ways:

- it uses the ``caplog`` fixture, and so checks the records itself;
- it carries ``@pytest.mark.expect_warning_logs`` (for warnings it cannot easily capture, e.g. logged by
  a fixture's teardown or by a thread the test starts).

Records are collected per phase (setup, call, teardown) from the root logger; the phase fails with the
records listed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator

import pytest

MARKER = "expect_warning_logs"


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._lock_records = threading.Lock()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock_records:
            self.records.append(record)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: the test expects WARNING log records (otherwise they fail the test)")


def _expects_warnings(item: pytest.Item) -> bool:
    return item.get_closest_marker(MARKER) is not None or "caplog" in getattr(item, "fixturenames", ())


def _watch(item: pytest.Item, phase: str) -> Generator[None, object, object]:
    collector = _Collector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        result = yield
    finally:
        root.removeHandler(collector)
    if collector.records and not _expects_warnings(item):
        lines = "\n".join(
            f"  {record.levelname} {record.name}: {record.getMessage()}" for record in collector.records[:20]
        )
        pytest.fail(
            f"unexpected WARNING log records during {phase} (use caplog or @pytest.mark.{MARKER} "
            f"if they are expected):\n{lines}",
            pytrace=False,
        )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _watch(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _watch(item, "call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _watch(item, "teardown"))
