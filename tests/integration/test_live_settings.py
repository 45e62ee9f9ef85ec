"""Live settings: `pydt-tray config set` while the app runs takes effect, and the app's saves keep it."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers.tray_menu import menu_texts
from tests.integration.app_harness import WAIT_MS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def config_set(home: Path, key: str, value: str, extra_env: dict[str, str] | None = None) -> None:
    """Run the real command in another process, as a user would while the app runs."""
    env = {
        **os.environ,
        "PYDT_TRAY_HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        **(extra_env or {}),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pydt_tray", "config", "set", key, value],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_config_set_while_the_app_runs_takes_effect_and_is_kept(app_factory, qtbot):
    app = app_factory.start(with_push=False)
    app_factory.wait_synced(app)
    settings = app.ctx.settings
    assert settings.snapshot().auto_submit is False
    config_set(app_factory.home, "auto_submit", "true")
    qtbot.waitUntil(lambda: settings.snapshot().auto_submit is True, timeout=WAIT_MS)

    settings.set("reminder_minutes", 30)  # a change made in the app, saved the way the settings window does
    app.reactions.save_settings()
    data = tomllib.loads(settings.path.read_text())
    assert data["auto_submit"] is True and data["reminder_minutes"] == 30


def test_start_at_login_from_the_command_line_reaches_the_running_app(app_factory, qtbot, tmp_path, monkeypatch):
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    entry = xdg / "autostart" / "pydt-tray.desktop"
    app = app_factory.start(with_push=False)
    app_factory.wait_synced(app)
    config_set(app_factory.home, "start_at_login", "true", {"XDG_CONFIG_HOME": str(xdg)})
    assert entry.exists()  # written by the command itself
    qtbot.waitUntil(lambda: "✓ Start at login" in menu_texts(app.tray), timeout=WAIT_MS)
    config_set(app_factory.home, "start_at_login", "false", {"XDG_CONFIG_HOME": str(xdg)})
    assert not entry.exists()
    qtbot.waitUntil(lambda: "Start at login" in menu_texts(app.tray), timeout=WAIT_MS)
    assert app.ctx.settings.snapshot().start_at_login is False
