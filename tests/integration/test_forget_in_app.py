"""The settings window's "Forget me on this computer…" in the running app, with a real gnome-keyring."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from tests.helpers.tray_menu import click

pytestmark = pytest.mark.integration


def test_forget_from_settings_removes_everything_and_quits(app_factory, tmp_path, monkeypatch, secret_service, world):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    entry = tmp_path / "xdg" / "autostart" / "pydt-tray.desktop"
    app = app_factory.start()
    store = app.ctx.token_store()
    store.save(world.token)
    assert click(app.tray, "Start at login") and entry.exists()
    app_factory.wait_synced(app)
    assert app.ctx.paths.state_file.exists()

    asked: list[str] = []
    told: list[str] = []
    yes = QMessageBox.StandardButton.Yes
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a: asked.append(text) or yes)
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text, *a: told.append(text))
    app.reactions.show_settings()
    assert app.reactions.settings_window is not None
    app.reactions.settings_window.forget_button.click()

    assert len(asked) == 1 and str(entry) in asked[0]
    assert len(told) == 1 and "token was removed" in told[0]
    assert app._quitting, "the app quits after forgetting"
    assert store.load() is None
    assert not entry.exists()
    assert app.ctx.settings.get("start_at_login") is False
    for folder in (app.ctx.paths.state_dir, app.ctx.paths.log_dir, app.ctx.paths.cache_dir):
        assert not folder.exists(), folder
    assert app.ctx.paths.settings_file.exists()
