"""The running app's desktop services: turn API, start at login, live settings, the sign-in dialog."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from pydt_tray.core.push_state import PushMode
from tests.helpers.mosquitto import free_port
from tests.helpers.tray_menu import click, menu_texts
from tests.integration.app_harness import WAIT_MS

pytestmark = pytest.mark.integration


def get_turns(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/turns", timeout=5) as reply:
        return json.loads(reply.read())


def test_turn_api_follows_the_settings_and_the_games(app_factory, world):
    port = free_port()
    app = app_factory.start()
    app_factory.wait_synced(app)
    assert app.turn_api.server is None, "off by default"
    app.ctx.settings.set("turn_api_port", port)
    app.ctx.settings.set("turn_api_enabled", True)
    body = get_turns(port)
    assert body["ready"] is True and body["count"] == 2
    assert {g["id"] for g in body["games"]} == {world.my_turn_game, world.first_turn_game}

    moved = free_port()
    app.ctx.settings.set("turn_api_port", moved)
    assert get_turns(moved)["count"] == 2
    with pytest.raises(urllib.error.URLError):
        get_turns(port)
    app.ctx.settings.set("turn_api_enabled", False)
    with pytest.raises(urllib.error.URLError):
        get_turns(moved)


@pytest.mark.expect_warning_logs  # the busy port is logged as an error
def test_turn_api_port_in_use_is_reported_and_the_app_runs_on(app_factory):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = app_factory.start()
        app_factory.wait_synced(app)
        app.ctx.settings.set("turn_api_port", port)
        app.ctx.settings.set("turn_api_enabled", True)
        assert str(port) in app.turn_api.problem
        assert app.turn_api.problem in app.tray.model.tooltip
        assert app.session.snapshot() is not None


def test_start_at_login_from_the_tray_writes_and_removes_the_entry(app_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    entry = tmp_path / "xdg" / "autostart" / "pydt-tray.desktop"
    app = app_factory.start()
    assert "Start at login" in menu_texts(app.tray)
    assert click(app.tray, "Start at login")
    assert entry.exists() and "--hidden" in entry.read_text()
    assert "✓ Start at login" in menu_texts(app.tray)
    assert click(app.tray, "✓ Start at login")
    assert not entry.exists()
    assert app.ctx.settings.get("start_at_login") is False


def test_keepalive_change_reconnects_with_the_new_value(app_factory, mosquitto):
    app = app_factory.start()
    app_factory.wait_live(app)
    mark = mosquitto.log_mark()
    app.ctx.settings.set("iot_keepalive_seconds", 300)
    mosquitto.wait_for_log("k300", since=mark, timeout=10)
    app_factory.wait_live(app)


def test_sign_in_dialog_checks_the_token_and_signs_in(app_factory, simulator, world, qtbot, secret_service, caplog):
    app = app_factory.start()
    app_factory.wait_synced(app)
    app.session.sign_out()
    assert app.session.token is None
    dialog = app.account.dialog
    app.account.show()
    dialog.submitted.emit("not-a-real-token")
    qtbot.waitUntil(lambda: "refused" in dialog_text(dialog), timeout=WAIT_MS)
    assert app.session.token is None
    failures = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Sign-in failed")]
    assert failures and all("not-a-real-token" not in message for message in failures)  # logged, token left out
    fresh = simulator.token(world.me)
    dialog.submitted.emit(fresh)
    qtbot.waitUntil(lambda: app.session.token == fresh and app.session.snapshot() is not None, timeout=WAIT_MS)
    assert "Me Myself" in dialog_text(dialog)


def dialog_text(dialog) -> str:
    from PySide6.QtWidgets import QLabel

    return " ".join(label.text() for label in dialog.findChildren(QLabel) if label.isVisibleTo(dialog))


def test_push_that_cannot_start_says_why_and_the_app_polls(app_factory, tmp_path, caplog):
    missing = tmp_path / "no-such-ca.pem"
    app_factory.env["PYDT_IOT_CA_FILE"] = str(missing)
    app = app_factory.start()
    app_factory.wait_synced(app)
    assert app.push.connection is None and app.push.state.mode is PushMode.FAILED
    assert str(missing) in app.push.state.reason
    assert f"live push off: {app.push.state.reason}" in app.tray.model.tooltip
    assert app.ctx.settings.get("poll_interval_seconds") > app.backstop.poll_while_push_down
    assert app.backstop.timer.isActive() and app.backstop.timer.interval() == app.backstop.poll_while_push_down * 1000
    assert any("Push connection not started" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
