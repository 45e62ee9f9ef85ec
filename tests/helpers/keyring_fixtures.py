"""A real gnome-keyring Secret Service for tests, never touching the developer's own keyrings.

``secret_service``: an unlocked gnome-keyring-daemon on the session's private test bus, with a temporary
HOME / XDG_DATA_HOME / XDG_RUNTIME_DIR. ``locked_secret_service``: a daemon on a bus of its own that has no
D-Bus activation at all (so the unlock prompter cannot start and every unlock is "dismissed"), holding a
login keyring that exists but is locked.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers.dbus_session import DBusSession, stop_process
from tests.helpers.tools import require_tool

SECRETS_NAME = "org.freedesktop.secrets"
PASSWORD = b"test-keyring-password"
START_TIMEOUT = 10.0

# A session bus without <servicedir>: nothing can be auto-started on it.


def name_has_owner(bus_address: str, name: str) -> bool:
    """Ask the bus whether ``name`` is owned right now."""
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus")
    with open_dbus_connection(bus=bus_address) as connection:
        reply = connection.send_and_get_reply(new_method_call(bus, "NameHasOwner", "s", (name,)), timeout=5)
    return bool(reply.body[0])


def _wait_for(condition, timeout: float) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


@dataclass
class SecretServiceDaemon:
    """A running gnome-keyring-daemon; ``env`` is what a child process needs to use it."""

    bus_address: str
    root: Path
    process: subprocess.Popen | None = None
    log_file: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self, *, unlock: bool) -> None:
        program = require_tool("gnome-keyring-daemon", "gnome-keyring")
        if not _wait_for(lambda: not name_has_owner(self.bus_address, SECRETS_NAME), 5.0):
            raise RuntimeError(f"{SECRETS_NAME} is already owned on the test bus; another keyring is running")
        for sub in ("home", "data", "runtime"):
            (self.root / sub).mkdir(mode=0o700, exist_ok=True)
        env = {
            **os.environ,
            "DBUS_SESSION_BUS_ADDRESS": self.bus_address,
            "HOME": str(self.root / "home"),
            "XDG_DATA_HOME": str(self.root / "data"),
            "XDG_RUNTIME_DIR": str(self.root / "runtime"),
        }
        for name in ("DISPLAY", "WAYLAND_DISPLAY", "GNOME_KEYRING_CONTROL"):
            env.pop(name, None)
        args = [program, "--foreground", "--components=secrets"] + (["--unlock"] if unlock else [])
        self.log_file = self.root / "gnome-keyring.log"
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=log, stderr=log)
        assert self.process.stdin is not None
        if unlock:
            self.process.stdin.write(PASSWORD)
        self.process.stdin.close()
        self._await_name()
        self.env = {
            "DBUS_SESSION_BUS_ADDRESS": self.bus_address,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
        }

    def _await_name(self) -> None:
        process = self.process
        assert process is not None
        if _wait_for(
            lambda: process.poll() is not None or name_has_owner(self.bus_address, SECRETS_NAME), START_TIMEOUT
        ):
            if process.poll() is None:
                return
            output = self.log_file.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"gnome-keyring-daemon exited with {process.returncode}: {output}")
        self.stop()
        raise TimeoutError(f"gnome-keyring-daemon did not own {SECRETS_NAME} within {START_TIMEOUT}s")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@pytest.fixture
def secret_service(dbus_session) -> Iterator[SecretServiceDaemon]:
    """An unlocked gnome-keyring on the private test bus, stopped after the test."""
    with tempfile.TemporaryDirectory(prefix="pydt-keyring-") as folder:
        daemon = SecretServiceDaemon(bus_address=dbus_session.address, root=Path(folder))
        daemon.start(unlock=True)
        try:
            yield daemon
        finally:
            daemon.stop()


@pytest.fixture
def locked_secret_service(monkeypatch) -> Iterator[SecretServiceDaemon]:
    """A gnome-keyring whose login keyring exists but is locked, on its own bus.

    ``DBUS_SESSION_BUS_ADDRESS`` points at that bus for the duration of the test.
    """
    with tempfile.TemporaryDirectory(prefix="pydt-keyring-") as folder:
        root = Path(folder)
        bus = DBusSession(root)
        daemon = SecretServiceDaemon(bus_address=bus.address, root=root)
        try:
            daemon.start(unlock=True)  # creates the login keyring with a password
            daemon.stop()
            daemon.start(unlock=False)  # same keyring, now locked
            monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
            yield daemon
        finally:
            daemon.stop()
            bus.stop()
