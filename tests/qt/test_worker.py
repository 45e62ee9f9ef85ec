"""The background lanes: a failing job is logged and the lane goes on; a failed token check leaves "Checking…"."""

from __future__ import annotations

import logging
import threading
import time

from pydt_tray.ui.account import UNEXPECTED, AccountFlow
from pydt_tray.ui.bridge import BackgroundWorker, MainThreadInvoker, stop_workers

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdGVhbUlkIjoiNzY1NjExOTgwMDAwMDAwMDEifQ.c2lnbmF0dXJl"


def test_a_failing_job_is_logged_and_the_next_job_runs(caplog) -> None:
    worker = BackgroundWorker("test-lane")
    ran = threading.Event()

    def broken() -> None:
        raise RuntimeError("boom in a job")

    try:
        with caplog.at_level(logging.ERROR, logger="pydt_tray.ui.bridge"):
            worker.submit(broken)
            worker.submit(ran.set)
            assert ran.wait(5)
            assert worker.shutdown(5)
    finally:
        worker.shutdown(5)
    [record] = [r for r in caplog.records if r.name == "pydt_tray.ui.bridge" and r.levelno == logging.ERROR]
    assert "test-lane" in record.getMessage()
    assert record.exc_info is not None and "boom in a job" in str(record.exc_info[1])


def test_stopping_abandons_a_stuck_job_within_the_budget() -> None:
    lanes = [BackgroundWorker("lane-a"), BackgroundWorker("lane-b")]
    release = threading.Event()
    started = threading.Event()
    after_stop: list[str] = []

    def stuck() -> None:
        started.set()
        release.wait(30)

    lanes[0].submit(stuck)
    assert started.wait(5)
    lanes[0].submit(lambda: after_stop.append("queued"))
    began = time.monotonic()
    stop_workers(lanes, 0.5)
    took = time.monotonic() - began
    release.set()
    assert took < 2.0
    assert after_stop == []  # the queued job was dropped, not run after the stop


class _BrokenSession:
    signed_in = False
    user_name = ""

    def refusal(self) -> str:
        return ""

    def verify_and_store(self, token: str) -> str:
        raise RuntimeError("keyring backend exploded")

    def switch_account(self, token: str, name: str) -> None:
        raise AssertionError("must not sign in")

    def sign_out(self) -> None:
        pass


def test_an_unexpected_failure_while_checking_the_token_reaches_the_dialog(qtbot, caplog) -> None:
    worker, invoker = BackgroundWorker(), MainThreadInvoker()
    flow = AccountFlow(_BrokenSession(), title="sign in", run_in_background=worker.submit, call_soon=invoker.call_soon)
    try:
        flow.show()
        qtbot.addWidget(flow.dialog)
        flow.check_token(TOKEN)
        assert flow.dialog.busy_label.isVisible()
        qtbot.waitUntil(lambda: not flow.dialog.busy_label.isVisible(), timeout=5000)
        assert flow.dialog.error_label.text() == UNEXPECTED
        assert flow.dialog.token_edit.isEnabled()
    finally:
        worker.shutdown(5)
    messages = [record.getMessage() for record in caplog.records]
    assert any("Checking the token failed unexpectedly" in message for message in messages)
    assert any(message.startswith("Sign-in failed:") for message in messages)
    assert all(TOKEN not in message for message in messages)


class _BrokenMetadataClient:
    calls = 0

    def get_metadata(self):
        self.calls += 1
        raise RuntimeError("metadata parser bug")


def test_an_unexpected_metadata_failure_is_logged_and_tried_again(caplog) -> None:
    from pydt_tray.desktop.type_names import TypeNamesLoader

    client = _BrokenMetadataClient()
    delivered: list[dict[str, str]] = []
    loader = TypeNamesLoader(
        lambda: client, delivered.append, run_in_background=lambda job: job(), call_soon=lambda f: f()
    )
    loader.load()
    loader.load()  # the next sync tries again rather than never
    assert client.calls == 2 and delivered == []
    assert any("metadata failed unexpectedly" in record.getMessage() for record in caplog.records)
