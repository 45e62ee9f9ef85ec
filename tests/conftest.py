"""Test-wide setup: hermetic environment and the shared fixtures of tests/helpers."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = [
    "tests.helpers.logfail",
    "tests.helpers.dbus_session",
    "tests.helpers.simulator_fixtures",
    "tests.helpers.mosquitto",
    "tests.helpers.notification_server",
    "tests.helpers.keyring_fixtures",
    "tests.helpers.release_feed",
    "tests.helpers.ntfy_relay",
]
