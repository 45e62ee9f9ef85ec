"""The real tray app in the test process, wired to the simulator, mosquitto and the fake notification server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from pydt_tray.app import TrayApp
from pydt_tray.core.context import load_context
from pydt_tray.core.environment import Endpoints
from pydt_tray.sandbox.simulator import PydtSimulator
from tests.helpers.mosquitto import Mosquitto, push_env

log = logging.getLogger(__name__)
WAIT_MS = 15_000


def publish_hook(simulator: PydtSimulator, broker: Mosquitto, stage: str = "prod") -> None:
    """Do what the service does after a change: publish "Hello!" to each affected user's topic."""
    endpoints = Endpoints(stage=stage)

    def hook(steam_ids: list[str], _game_id: str, _new_turn: bool) -> None:
        for steam_id in steam_ids:
            try:
                broker.publish(endpoints.topic_for(steam_id), b"Hello!")
            except Exception as error:  # broker down: the message is lost, as with QoS 0 on AWS
                log.info("publish failed (broker down?): %s", error)

    simulator.add_change_hook(hook)


class AppFactory:
    def __init__(self, qtbot, home: Path, env: dict[str, str], token: str) -> None:
        self.qtbot = qtbot
        self.home = home
        self.env = env
        self.token = token
        self.apps: list[TrayApp] = []

    def start(
        self, *, with_push: bool = True, wake_sources=None, before_start=None, home: Path | None = None
    ) -> TrayApp:
        """Start an app; ``home`` gives it its own settings and state (for several apps at once)."""
        from PySide6.QtWidgets import QApplication

        env = dict(self.env)
        if home is not None:
            env["PYDT_TRAY_HOME"] = str(home)
        if not with_push:
            env = {k: v for k, v in env.items() if not k.startswith("PYDT_IOT_")}
        ctx = load_context(env)
        app = TrayApp(QApplication.instance(), ctx, show_window=False, wake_sources=wake_sources)
        self.apps.append(app)
        if before_start is not None:
            before_start(app)
        app.start(token=self.token)
        return app

    def wait_live(self, app: TrayApp) -> None:
        self.qtbot.waitUntil(lambda: app.push.state.live, timeout=WAIT_MS)

    def wait_synced(self, app: TrayApp, count: int = 1) -> None:
        """Wait until ``count`` fetches have completed and nothing is in flight."""
        self.qtbot.waitUntil(
            lambda: (
                app.session.engine is not None
                and app.session.engine.fetch_count >= count
                and not app.session.engine.busy
            ),
            timeout=WAIT_MS,
        )

    def stop(self, app: TrayApp) -> None:
        app.quit()
        if app in self.apps:
            self.apps.remove(app)

    def close(self) -> None:
        for app in list(self.apps):
            self.stop(app)


@pytest.fixture
def app_factory(qtbot, qapp, simulator, world, mosquitto, notification_server, tmp_path) -> Iterator[AppFactory]:
    publish_hook(simulator, mosquitto)
    home = tmp_path / "home"
    env = {"PYDT_TRAY_HOME": str(home), "PYDT_API_URL": simulator.base_url, **push_env(mosquitto)}
    factory = AppFactory(qtbot, home, env, world.token)
    try:
        yield factory
    finally:
        factory.close()
