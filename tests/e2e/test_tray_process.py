"""The installed program as a user runs it: `pydt-tray --hidden`, signed in, pushing through mosquitto."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.e2e.cli_runner import CliRunner, wait_until
from tests.helpers.mosquitto import push_env
from tests.integration.app_harness import publish_hook

pytestmark = pytest.mark.e2e


@pytest.fixture
def tray(tmp_path: Path, simulator, world, secret_service, mosquitto, notification_server):
    """A signed-in `pydt-tray --hidden` connected to the test broker; stopped (SIGTERM) afterwards."""
    publish_hook(simulator, mosquitto)
    runner = CliRunner(tmp_path, api_url=simulator.base_url, extra_env={**secret_service.env, **push_env(mosquitto)})
    assert runner.run("login", "--token-stdin", stdin=world.token + "\n").returncode == 0
    process = runner.start("--hidden")
    try:
        yield runner, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def log_text(runner: CliRunner) -> str:
    return runner.log_file.read_text(errors="replace") if runner.log_file.exists() else ""


def test_a_new_turn_reaches_the_desktop_and_the_app_exits_cleanly(
    tray, simulator, world, mosquitto, notification_server
):
    runner, process = tray
    mosquitto.wait_for_log("k600", timeout=20)
    start_notice = notification_server.wait_for(1, timeout=20)[0]
    assert start_notice.summary == "Your turn: Mine to play"
    wait_until(lambda: "Push connected" in log_text(runner), 20, "the push connection")

    simulator.advance_turn(world.their_turn_game)  # Alice plays: the service pings me
    second = notification_server.wait_for(2, timeout=20)[1]
    assert second.summary == "Your turn: Alice is playing"
    assert second.app_name == "pydt-tray"

    started = time.monotonic()
    again = runner.run()  # a second launch (no --hidden): asks the first to show its window
    assert again.returncode == 0, again.stderr
    assert time.monotonic() - started < 10
    wait_until(lambda: "Showing the game list" in log_text(runner), 10, "the first instance to show its window")
    assert process.poll() is None, "the first instance keeps running"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert "pydt-tray stopped" in log_text(runner)
    assert runner.files_containing(world.token) == []
