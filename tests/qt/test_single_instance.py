"""Single instance: real processes racing for one key, stale sockets after a crash, and the show request."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from PySide6.QtNetwork import QLocalSocket

from pydt_tray.platform.single_instance import ACK_MESSAGE, SHOW_MESSAGE, SingleInstance, instance_key

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0  # importing Qt on a busy shared machine


class Probe:
    """One ``tests.helpers.instance_probe`` process; its output lines are collected by a reader thread."""

    def __init__(self, key: str, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.instance_probe", key, *extra],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def expect(self, prefix: str, timeout: float = STARTUP_TIMEOUT, count: int = 1) -> str:
        """Wait until ``count`` lines start with ``prefix``; return the last of them."""
        with self._changed:
            found = self._changed.wait_for(lambda: len(self.matching(prefix)) >= count, timeout)
            if not found:
                raise TimeoutError(f"{prefix!r} x{count} not seen within {timeout}s; got {self.lines}")
            return self.matching(prefix)[count - 1]

    def outcome(self, timeout: float = STARTUP_TIMEOUT) -> str:
        """``FIRST`` or ``SECOND``, once the probe has said which."""
        with self._changed:
            self._changed.wait_for(lambda: self.matching("FIRST") or self.matching("SECOND"), timeout)
        return "FIRST" if self.matching("FIRST") else "SECOND" if self.matching("SECOND") else f"none: {self.lines}"

    def matching(self, prefix: str) -> list[str]:
        return [line for line in self.lines if line.startswith(prefix)]

    def quit(self) -> int:
        """Close stdin (the first instance exits on that) and wait."""
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        return self.proc.wait(timeout=STARTUP_TIMEOUT)

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            try:
                self.quit()
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        self._reader.join(timeout=5)
        self.proc.stdout.close()


@pytest.fixture
def probes():
    started: list[Probe] = []

    def start(key: str, *extra: str) -> Probe:
        probe = Probe(key, *extra)
        started.append(probe)
        return probe

    yield start
    for probe in started:
        probe.cleanup()


@pytest.fixture
def key():
    return f"pydt-tray-test-{uuid.uuid4().hex[:12]}"


def test_second_start_asks_the_first_to_show_and_exits_at_once(probes, key):
    first = probes(key)
    assert first.expect("FIRST").split()[1].endswith(key)

    second = probes(key)
    second.expect("READY")
    ready_at = time.monotonic()
    assert second.proc.wait(timeout=5) == 0
    took = time.monotonic() - ready_at
    assert second.expect("SECOND", timeout=1)
    assert int(second.expect("SECOND").split()[1]) < 1000
    assert took < 1.0, f"the second start took {took:.2f}s after Qt was up"
    first.expect("SHOWN", timeout=5)
    assert first.proc.poll() is None

    third = probes(key)
    assert third.proc.wait(timeout=STARTUP_TIMEOUT) == 0
    third.expect("SECOND", timeout=1)
    first.expect("SHOWN", timeout=5, count=2)


def test_a_clean_exit_lets_the_next_start_win(probes, key):
    first = probes(key)
    socket_path = Path(first.expect("FIRST").split()[1])
    assert socket_path.exists()
    assert first.quit() == 0
    assert not socket_path.exists()

    again = probes(key)
    again.expect("FIRST")


def test_a_crashed_first_instance_does_not_block_the_next_start(probes, key):
    crashed = probes(key)
    socket_path = Path(crashed.expect("FIRST").split()[1])
    crashed.proc.send_signal(signal.SIGKILL)
    crashed.proc.wait(timeout=10)
    assert socket_path.exists(), "SIGKILL should leave the socket file behind"
    assert Path(socket_path.parent / f"{key}.lock").exists(), "and the lock file"

    successor = probes(key)
    assert successor.expect("FIRST").split()[1] == str(socket_path)

    follower = probes(key)
    assert follower.proc.wait(timeout=STARTUP_TIMEOUT) == 0
    follower.expect("SECOND", timeout=1)
    successor.expect("SHOWN", timeout=5)


def test_near_simultaneous_starts_have_exactly_one_winner(probes, key, tmp_path):
    gate = tmp_path / "go"
    racers = [probes(key, "--start-when", str(gate)) for _ in range(4)]
    for racer in racers:
        racer.expect("READY")
    gate.touch()
    outcomes = [racer.outcome() for racer in racers]
    assert sorted(outcomes) == ["FIRST", "SECOND", "SECOND", "SECOND"], outcomes
    winner = racers[outcomes.index("FIRST")]
    for racer in racers:
        if racer is not winner:
            assert racer.proc.wait(timeout=5) == 0
    winner.expect("SHOWN", timeout=5, count=3)


def test_different_keys_do_not_meet(probes, key):
    a = probes(key)
    b = probes(key + "-other")
    a.expect("FIRST")
    b.expect("FIRST")


# --- in-process ------------------------------------------------------------------------------------------


def test_key_depends_on_user_and_config_folder(tmp_path, monkeypatch):
    assert instance_key(tmp_path / "a", user="ann") == instance_key(tmp_path / "a", user="ann")
    assert instance_key(tmp_path / "a", user="ann") != instance_key(tmp_path / "b", user="ann")
    assert instance_key(tmp_path / "a", user="ann") != instance_key(tmp_path / "a", user="bob")
    assert instance_key(tmp_path / "a" / ".." / "b", user="ann") == instance_key(tmp_path / "b", user="ann")
    assert instance_key(tmp_path).startswith("pydt-tray-")
    assert len(instance_key(tmp_path)) <= 40

    monkeypatch.delenv("PYDT_TRAY_HOME", raising=False)
    real = instance_key()
    monkeypatch.setenv("PYDT_TRAY_HOME", str(tmp_path / "demo"))
    demo = instance_key()
    assert demo != real
    assert demo == instance_key(tmp_path / "demo" / "config")
    assert SingleInstance().key == demo


def test_show_request_over_the_socket(qtbot, key):
    instance = SingleInstance(key)
    try:
        assert instance.acquire()
        assert instance.acquire()  # idempotent while held
        client = QLocalSocket()
        client.connectToServer(instance.server_name)
        assert client.waitForConnected(2000)
        with qtbot.waitSignal(instance.show_requested, timeout=5000):
            client.write(SHOW_MESSAGE)
            client.flush()
        qtbot.waitUntil(lambda: client.canReadLine(), timeout=5000)
        assert bytes(client.readLine().data()) == ACK_MESSAGE
        client.abort()
    finally:
        instance.close()


def test_other_messages_are_ignored(qtbot, key):
    instance = SingleInstance(key)
    try:
        assert instance.acquire()
        client = QLocalSocket()
        client.connectToServer(instance.server_name)
        assert client.waitForConnected(2000)
        with qtbot.assertNotEmitted(instance.show_requested):
            client.write(b"hello\n")
            client.flush()
            qtbot.waitUntil(lambda: client.state() == QLocalSocket.LocalSocketState.UnconnectedState, timeout=5000)
        assert client.readAll().size() == 0
    finally:
        instance.close()


def test_close_releases_for_a_new_owner(key):
    first = SingleInstance(key)
    assert first.acquire()
    first.close()
    first.close()  # harmless twice
    second = SingleInstance(key)
    try:
        assert second.acquire()
        assert second.server_name.endswith(key)
    finally:
        second.close()


def test_lock_and_socket_go_to_a_private_runtime_folder(tmp_path, monkeypatch, key):
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    instance = SingleInstance(key)
    try:
        assert instance.acquire()
        assert instance.server_name == str(runtime / key)
        assert (runtime / f"{key}.lock").exists()
    finally:
        instance.close()
    assert not (runtime / key).exists()


def test_a_shared_runtime_folder_is_not_trusted(tmp_path, monkeypatch, key):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared))
    instance = SingleInstance(key)
    try:
        assert instance.acquire()
        assert not instance.server_name.startswith(str(shared))
    finally:
        instance.close()


def plant_live_lock(path: Path) -> None:
    """A lock file as QLockFile writes it, naming a live process of this machine: QLockFile takes it as held."""
    import socket as socket_module

    from PySide6.QtCore import QSysInfo

    app_name = Path(os.readlink("/proc/self/exe")).name
    machine = bytes(QSysInfo.machineUniqueId().data()).decode()
    path.write_text(f"{os.getpid()}\n{app_name}\n{socket_module.gethostname()}\n{machine}\n")


@pytest.fixture
def short_tmp():
    """A temp folder with a short path, so socket paths in it stay under the Unix length limit."""
    folder = Path(tempfile.mkdtemp(prefix="si", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_without_a_runtime_folder_a_private_per_user_temp_folder_is_made(short_tmp, monkeypatch, key):
    tmp_path = short_tmp
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tmp_path.chmod(0o1777)  # like /tmp
    instance = SingleInstance(key)
    try:
        assert instance.acquire()
        folder = tmp_path / f"pydt-tray-{os.getuid()}"
        info = folder.lstat()
        assert info.st_uid == os.getuid() and (info.st_mode & 0o777) == 0o700
        assert (folder / f"{key}.lock").exists()
        assert instance.server_name == str(folder / key)
        assert not (tmp_path / f"{key}.lock").exists(), "nothing under a predictable name in the shared folder"
    finally:
        instance.close()


def test_a_foreign_lock_file_in_the_shared_temp_folder_does_not_stop_the_start(tmp_path, monkeypatch, key):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    plant_live_lock(tmp_path / f"{key}.lock")  # what another user could leave at the old predictable name
    instance = SingleInstance(key)
    try:
        assert instance.acquire()
    finally:
        instance.close()


def test_a_planted_link_at_the_per_user_folder_name_is_not_used(tmp_path, monkeypatch, key, caplog):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("PYDT_TRAY_HOME", str(tmp_path / "home"))
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setenv("TMPDIR", str(shared))
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir(mode=0o700)
    plant_live_lock(elsewhere / f"{key}.lock")
    (shared / f"pydt-tray-{os.getuid()}").symlink_to(elsewhere, target_is_directory=True)
    instance = SingleInstance(key)
    try:
        assert instance.acquire()
        assert not instance.server_name.startswith(str(elsewhere))
        assert (tmp_path / "home" / "cache" / "instance" / f"{key}.lock").exists()
        assert "is not private to this user" in caplog.text
    finally:
        instance.close()


def test_a_lock_file_owned_by_another_user_is_ignored(tmp_path, monkeypatch, key, caplog):
    if os.getuid() != 0:
        pytest.skip("making a file owned by another user needs root")  # the machine running CI is root
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    lock = runtime / f"{key}.lock"
    plant_live_lock(lock)
    os.chown(lock, 54321, 54321)
    instance = SingleInstance(key)
    try:
        assert instance.acquire()
        assert "belongs to another user; starting anyway" in caplog.text
    finally:
        instance.close()
