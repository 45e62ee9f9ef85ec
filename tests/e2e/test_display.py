"""The installed program without a usable display, and on a desktop without a tray (a real X server, Xvfb)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_runner import CliRunner, wait_until
from tests.helpers.tools import require_tool

pytestmark = pytest.mark.e2e


def test_no_display_is_a_clear_message_not_a_qt_abort(tmp_path: Path) -> None:
    runner = CliRunner(tmp_path)
    result = runner.run("--hidden", drop=("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"))
    assert result.returncode == 1, result.stderr  # Qt's own abort would be -6 (134 from a shell)
    assert "cannot open a window: no display (neither DISPLAY nor WAYLAND_DISPLAY is set)" in result.stderr
    assert "could not load the Qt platform plugin" not in result.stderr.lower()


def test_a_display_nobody_serves_is_named(tmp_path: Path) -> None:
    runner = CliRunner(tmp_path)
    result = runner.run(env={"DISPLAY": ":4317"}, drop=("QT_QPA_PLATFORM",))
    assert result.returncode == 1, result.stderr
    assert "no X server answers on DISPLAY=:4317" in result.stderr


@pytest.fixture
def xvfb(tmp_path: Path) -> Iterator[str]:
    """A private X server (no window manager, so no tray); yields its DISPLAY."""
    program = require_tool("Xvfb", "xvfb")
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [program, "-displayfd", str(write_end), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as numbers:
            number = numbers.readline().strip()
        assert number, "Xvfb did not report its display number"
        yield f":{number}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_without_a_tray_the_window_says_so_once_and_the_app_keeps_running(tmp_path: Path, xvfb: str) -> None:
    runner = CliRunner(tmp_path)
    process = runner.start("--hidden", env={"DISPLAY": xvfb, "XDG_CURRENT_DESKTOP": "GNOME", "QT_QPA_PLATFORM": "xcb"})
    try:
        stderr = tmp_path / "gui.stderr"
        wait_until(lambda: "This desktop has no system tray" in stderr.read_text(), 30, "the no-tray message")
        wait_until(lambda: "Showing the game list" in runner.log_file.read_text(), 10, "the window to open")
        text = stderr.read_text()
        assert text.count("This desktop has no system tray") == 1
        assert "gnome-shell-extension-appindicator" in text
        assert process.poll() is None, "the app keeps running without a tray"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
