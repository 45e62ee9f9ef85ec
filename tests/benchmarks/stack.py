"""The whole test stack, outside pytest: private D-Bus, mosquitto over WSS+TLS, the simulator, the fake
notification server, the local ntfy relay and (for child processes and the relay secrets) a real gnome-keyring."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from pydt_tray.core.environment import Endpoints
from pydt_tray.core.logs import teardown_logging
from tests.helpers.dbus_session import DBusSession
from tests.helpers.keyring_fixtures import SecretServiceDaemon
from tests.helpers.mosquitto import Mosquitto, make_certs, push_env
from tests.helpers.notification_server import FakeNotificationServer
from tests.helpers.ntfy_relay import NtfyRelay
from tests.helpers.simulator import InstrumentedSimulator
from tests.helpers.simulator_fixtures import seeded_world


class BenchStack(contextlib.ExitStack):
    def __init__(self, *, keyring: bool = False) -> None:
        super().__init__()
        self.keyring_wanted = keyring

    def __enter__(self) -> BenchStack:
        super().__enter__()
        self.root = Path(tempfile.mkdtemp(prefix="pydt-bench-"))
        self.callback(shutil.rmtree, self.root, ignore_errors=True)
        self.bus = DBusSession()
        self.callback(self.bus.stop)
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = self.bus.address
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        self.broker = Mosquitto(make_certs(self.root / "certs"), self.root)
        self.broker.start()
        self.callback(self.broker.stop)
        self.simulator = InstrumentedSimulator().start()
        self.callback(self.simulator.stop)
        self.world = seeded_world(self.simulator)
        self.notifications = FakeNotificationServer().start()
        self.callback(self.notifications.stop)
        self.relay = NtfyRelay().start()  # ntfy's default 45 s keepalive
        self.callback(self.relay.stop)
        self.callback(teardown_logging)
        self.keyring_env: dict[str, str] = {}
        if self.keyring_wanted:
            daemon = SecretServiceDaemon(bus_address=self.bus.address, root=self.root / "keyring")
            (self.root / "keyring").mkdir()
            daemon.start(unlock=True)
            self.callback(daemon.stop)
            self.keyring_env = daemon.env
        return self

    def app_env(self, home: Path) -> dict[str, str]:
        return {
            "PYDT_TRAY_HOME": str(home),
            "PYDT_API_URL": self.simulator.base_url,
            **push_env(self.broker),
        }

    def topic(self, steam_id: str) -> str:
        return Endpoints().topic_for(steam_id)
