"""``pydt-tray demo`` end to end: a child process shows a push-driven notification and cleans up after itself."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from pydt_tray.core.environment import Endpoints
from pydt_tray.sandbox.demo_world import DEMO_GAMES, USER_ID
from tests.helpers.notification_server import FakeNotificationServer

pytestmark = pytest.mark.e2e

USER_TOPIC = Endpoints().topic_for(USER_ID)
ANNOUNCE = re.compile(r"demo: announcing a change in (.+) on " + re.escape(USER_TOPIC) + "$")
HOME_LINE = re.compile(r"^pydt-tray demo: home=(.+)$")


class Lines:
    """Collects the lines of a child's pipe on a thread, so the pipe never fills up."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def snapshot(self) -> list[str]:
        with self._cond:
            return list(self.lines)

    def wait_for(self, found: Callable[[list[str]], bool], what: str, timeout: float) -> list[str]:
        with self._cond:
            if not self._cond.wait_for(lambda: found(self.lines), timeout):
                tail = "\n".join(self.lines[-40:])
                raise AssertionError(f"{what} not seen within {timeout}s; last lines:\n{tail}")
            return list(self.lines)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


def first_push_fetch_after_announcement(lines: list[str]) -> tuple[str, str] | None:
    """(game announced to the user, the first fetch line after that announcement), once both were logged."""
    for index, line in enumerate(lines):
        match = ANNOUNCE.search(line)
        if match:
            fetch = next((later for later in lines[index + 1 :] if "pydt_tray.core.sync: fetch #" in later), None)
            return (match.group(1), fetch) if fetch else None
    return None


def test_demo_notifies_through_push_and_leaves_nothing_behind(notification_server: FakeNotificationServer) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYDT_DEMO_TURN_SECONDS": "2-4", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "pydt_tray.sandbox.demo", "--debug", "--hidden", "--seed", "7"]
    home: Path | None = None
    with subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        out, err = Lines(proc.stdout), Lines(proc.stderr)  # type: ignore[arg-type]
        try:
            lines = out.wait_for(lambda ls: any(HOME_LINE.match(x) for x in ls), "the home line", 30)
            home = Path(next(m.group(1) for m in map(HOME_LINE.match, lines) if m))
            assert home.is_dir()

            notes = notification_server.wait_for(1, timeout=30)
            stderr = err.wait_for(lambda ls: first_push_fetch_after_announcement(ls) is not None, "a push fetch", 10)
            game, fetch = first_push_fetch_after_announcement(stderr) or ("", "")
            assert game in {g.name for g in DEMO_GAMES}
            assert "for push" in fetch, f"the first fetch after the announcement was not push-driven: {fetch}"
            assert notes[0].summary == f"Your turn: {game}"
            assert "push: connected and subscribed" in "\n".join(stderr)

            proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            code = proc.wait(timeout=10)
            assert code == 0, "\n".join(err.snapshot()[-40:])
            assert time.monotonic() - started < 10
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            out.join(5)
            err.join(5)
            leftover = home is not None and home.exists()
            if leftover:
                shutil.rmtree(home, ignore_errors=True)
    assert not leftover, f"the demo left its home folder {home} behind"
    assert out.snapshot()[-1] == "pydt-tray demo: stopped, temporary files removed"


RUNNING_LINE = re.compile(r"pydt-tray \S+ running")


def start_demo(
    env: dict[str, str], procs: list[subprocess.Popen], readers: list[Lines]
) -> tuple[subprocess.Popen, Path]:
    """A demo child process (noted in ``procs``), once its app runs; returns it and its home folder."""
    command = [sys.executable, "-m", "pydt_tray.sandbox.demo", "--debug", "--hidden", "--seed", "3"]
    proc = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    procs.append(proc)
    out, err = Lines(proc.stdout), Lines(proc.stderr)  # type: ignore[arg-type]
    readers += [out, err]
    lines = out.wait_for(lambda ls: any(HOME_LINE.match(x) for x in ls), "the home line", 30)
    home = Path(next(m.group(1) for m in map(HOME_LINE.match, lines) if m))
    err.wait_for(lambda ls: any(RUNNING_LINE.search(x) for x in ls), "the app running", 60)
    return proc, home


def private_keys_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and b"PRIVATE KEY" in path.read_bytes()]


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    """A child environment whose "real" home and temp folder are the test's own."""
    (tmp_path / "home").mkdir()
    (tmp_path / "tmp").mkdir()
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONUNBUFFERED": "1",
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"),
        "TMPDIR": str(tmp_path / "tmp"),
    }


@pytest.fixture
def children() -> Iterator[tuple[list[subprocess.Popen], list[Lines]]]:
    procs: list[subprocess.Popen] = []
    readers: list[Lines] = []
    try:
        yield procs, readers
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        for reader in readers:
            reader.join(5)
        for proc in procs:
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


def test_the_demo_never_touches_the_real_start_at_login_entry(
    isolated_env: dict[str, str], children, notification_server: FakeNotificationServer
) -> None:
    entry = Path(isolated_env["XDG_CONFIG_HOME"]) / "autostart" / "pydt-tray.desktop"
    entry.parent.mkdir(parents=True)
    entry.write_text("[Desktop Entry]\nType=Application\nExec=/opt/real/pydt-tray --hidden\n")  # the real app's
    original = entry.read_bytes()
    demo, _home = start_demo(isolated_env, *children)
    assert entry.read_bytes() == original, "the demo changed the real start-at-login entry"
    demo.send_signal(signal.SIGTERM)
    assert demo.wait(timeout=15) == 0
    assert entry.read_bytes() == original
    assert sorted(path.name for path in entry.parent.iterdir()) == ["pydt-tray.desktop"]


def test_a_killed_demo_leaves_no_private_key_and_the_next_demo_clears_its_home(
    isolated_env: dict[str, str], children, notification_server: FakeNotificationServer
) -> None:
    temp = Path(isolated_env["TMPDIR"])
    first, first_home = start_demo(isolated_env, *children)
    assert first_home.parent == temp
    assert private_keys_under(temp) == [], "the broker's private key stays on disk while the demo runs"
    first.kill()  # no chance to clean up
    first.wait(timeout=10)
    assert first_home.exists()

    second, second_home = start_demo(isolated_env, *children)
    assert not first_home.exists(), "the next demo did not clear the home a killed demo left"
    assert second_home.exists()
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=15) == 0
    assert list(temp.glob("pydt-tray-demo-*")) == []


def demo_check(*options: str, turn_seconds: str | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONUNBUFFERED"] = "1"
    if turn_seconds:
        env["PYDT_DEMO_TURN_SECONDS"] = turn_seconds
    else:
        env.pop("PYDT_DEMO_TURN_SECONDS", None)
    command = [sys.executable, "-m", "pydt_tray", "demo", "--check", *options]
    return subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


def test_demo_check_mode_passes_at_the_first_notification_without_a_display(
    notification_server: FakeNotificationServer,
) -> None:
    result = demo_check("--seed", "3")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    passed = [line for line in result.stdout.splitlines() if "check passed" in line]
    assert len(passed) == 1, result.stdout
    note = notification_server.wait_for(1, timeout=5)[0]
    assert f'"{note.summary}" notified' in passed[0]
    assert "notifications through freedesktop" in passed[0]
    home = Path(HOME_LINE.match(result.stdout.splitlines()[0]).group(1))  # type: ignore[union-attr]
    assert not home.exists()
    assert result.stdout.splitlines()[-1] == "pydt-tray demo: stopped, temporary files removed"


def test_demo_check_mode_fails_when_no_notification_comes_in_time() -> None:
    result = demo_check("--timeout", "1", turn_seconds="30")  # the first opponent moves after 3 s
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert "check FAILED: no turn notification within 1 s" in result.stdout
    assert result.stdout.splitlines()[-1] == "pydt-tray demo: stopped, temporary files removed"
