"""The suite's own rule: a WARNING in the log fails the test unless the test expects it."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import logging

import pytest

log = logging.getLogger("example")


def test_quiet():
    log.info("all is well")


def test_unexpected_warning():
    log.warning("something is off")


def test_warning_checked_with_caplog(caplog):
    log.warning("expected")
    assert "expected" in caplog.text


@pytest.mark.expect_warning_logs
def test_warning_marked_as_expected():
    log.error("expected too")


@pytest.fixture
def noisy_teardown():
    yield
    log.warning("left a mess")


def test_warning_in_teardown(noisy_teardown):
    pass
"""


@pytest.mark.expect_warning_logs  # the inner run logs in this process too
def test_unexpected_warnings_fail_and_expected_ones_do_not(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sample=TESTS)
    result = pytester.runpytest("-p", "tests.helpers.logfail", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=1, errors=1)
    result.stdout.fnmatch_lines(["*unexpected WARNING log records during call*", "*WARNING example: something is off"])
    result.stdout.fnmatch_lines(["*unexpected WARNING log records during teardown*", "*WARNING example: left a mess"])
    result.stdout.no_fnmatch_line("*WARNING example: expected*")
