"""A private D-Bus session bus for the whole test run.

Started once per session before anything talks to D-Bus, so no test ever reaches the developer's own
desktop bus. Tests and child processes find it through ``DBUS_SESSION_BUS_ADDRESS``.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.helpers.tools import require_tool


class DBusSession:
    def __init__(self) -> None:
        daemon = require_tool("dbus-daemon", "dbus")
        self.process = subprocess.Popen(
            [daemon, "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        if not line:
            self.process.kill()
            raise RuntimeError("dbus-daemon printed no address")
        self.address = line

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="session", autouse=True)
def dbus_session():
    """The private bus; its address is exported for the test process and every child process."""
    session = DBusSession()
    previous = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = session.address
    try:
        yield session
    finally:
        session.stop()
        if previous is None:
            os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = previous
