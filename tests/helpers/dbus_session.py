"""Private D-Bus buses for the tests.

A session-wide bus is started once before anything talks to D-Bus, so no test ever reaches the
developer's own desktop bus; tests and child processes find it through ``DBUS_SESSION_BUS_ADDRESS``.
Its configuration has no service directories: nothing is auto-started on it (a test that wants a
keyring or a notification server starts one itself).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.helpers.tools import require_tool

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={folder}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def stop_process(process: subprocess.Popen) -> None:
    """Terminate (then kill) a child and close its pipes."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


class DBusSession:
    """A dbus-daemon on a socket in its own folder, without service activation."""

    def __init__(self, folder: Path | None = None) -> None:
        daemon = require_tool("dbus-daemon", "dbus")
        self._owned_folder = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="pydt-bus-")) if folder is None else folder
        config = self.folder / "bus.conf"
        config.write_text(BUS_CONFIG.format(folder=self.folder))
        self.process = subprocess.Popen(
            [daemon, f"--config-file={config}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        self.address = self.process.stdout.readline().decode().strip()
        if not self.address:
            self.stop()
            raise RuntimeError("dbus-daemon printed no address")

    def stop(self) -> None:
        stop_process(self.process)
        if self._owned_folder:
            shutil.rmtree(self.folder, ignore_errors=True)


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
