"""What the games window says when something fails: a failed load with Retry, no web browser, signed out."""

from __future__ import annotations

import logging
import os

import pytest

from tests.integration.app_harness import WAIT_MS

pytestmark = pytest.mark.integration


def test_a_failed_first_load_shows_the_error_and_retry_loads_the_games(app_factory, simulator, qtbot, tmp_path, caplog):
    simulator.malformed_next("getCurrent")
    app = app_factory.start(with_push=False)
    app.show_games()
    window = app.presenter.window
    qtbot.waitUntil(lambda: window.empty_button is not None and window.empty_button.text() == "Retry", timeout=WAIT_MS)
    label = window.empty_label
    assert label is not None and label.objectName() == "loadError"
    assert app.session.last_error and app.session.last_error in label.text()
    assert "Loading your games" not in label.text()
    assert window.status.text().startswith("games not loaded")
    qtbot.waitUntil(lambda: label.isVisible() and window.empty_button.isVisible(), timeout=WAIT_MS)
    shot = os.environ.get("PYDT_SCREENSHOT_DIR")
    if shot:  # for looking at it: PYDT_SCREENSHOT_DIR=/some/folder pytest this test
        window.grab().save(os.path.join(shot, "window-load-error.png"))
    window.empty_button.click()
    qtbot.waitUntil(lambda: len(window.rows()) > 0, timeout=WAIT_MS)
    assert window.empty_button is None
    assert any("Could not load games" in record.getMessage() for record in caplog.records)


def test_open_game_page_without_a_browser_says_so_in_the_window(app_factory, world, qtbot, monkeypatch, caplog):
    opened: list[str] = []

    def no_browser(url: str, *args: object, **kwargs: object) -> bool:
        opened.append(url)
        return False  # what webbrowser.open answers when no browser can be started

    monkeypatch.setattr("webbrowser.open", no_browser)
    app = app_factory.start(with_push=False)
    app_factory.wait_synced(app)
    with caplog.at_level(logging.WARNING):
        app.presenter.open_game_page(world.their_turn_game)
    window = app.presenter.window
    assert window.isVisible() and window.notice.isVisible()
    assert "No web browser could be opened" in window.notice.text()
    assert opened and opened[0] in window.notice.text()
    assert any("No web browser" in record.getMessage() for record in caplog.records)


def test_the_signed_out_window_offers_sign_in(app_factory, qtbot, caplog):
    app = app_factory.start(with_push=False)
    app_factory.wait_synced(app)
    app.session.sign_out()
    app.show_games()
    window = app.presenter.window
    assert window.empty_button is not None and window.empty_button.text() == "Sign in…"
    window.empty_button.click()
    qtbot.waitUntil(lambda: app.account.dialog.isVisible(), timeout=WAIT_MS)
