"""The "Real-time push" section: what it shows, what it asks for, and the confirm before replacing a webhook."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from pydt_tray.ui.relay_section import PRIVACY_NOTE, PushView, RelaySection


@pytest.fixture
def section(qtbot) -> RelaySection:
    widget = RelaySection()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def answer(monkeypatch: pytest.MonkeyPatch, button: QMessageBox.StandardButton, asked: list[str]) -> None:
    def fake_question(parent, title, text, *rest):
        asked.append(text)
        return button

    monkeypatch.setattr(QMessageBox, "question", fake_question)


def test_states_and_buttons(section: RelaySection) -> None:
    section.show_state(PushView("Checking every 90 s: live push is off", False))
    assert section.headline.text() == "Checking every 90 s: live push is off"
    assert section.relay_state.text() == "Relay: off"
    assert section.enable_button.isEnabled() and not section.disable_button.isEnabled()
    section.show_state(PushView("Live (relay)", True, "https://ntfy.sh/AbCd… · live"))
    assert section.relay_state.text() == "Relay: on (https://ntfy.sh/AbCd… · live)"
    assert section.disable_button.isEnabled() and section.enable_button.text() == "Set up again"
    assert section.note.text() == PRIVACY_NOTE and "game name" in PRIVACY_NOTE
    assert "never your PYDT token" in section.note.text()


def test_enable_asks_with_server_and_token_then_reports(qtbot, section: RelaySection) -> None:
    section.server.setText(" https://relay.example.org ")
    section.token.setText("tk_abc")
    with qtbot.waitSignal(section.enable_requested) as request:
        qtbot.mouseClick(section.enable_button, Qt.MouseButton.LeftButton)
    assert request.args == ["https://relay.example.org", "tk_abc", False]
    assert not section.enable_button.isEnabled() and not section.server.isEnabled()  # busy
    assert "checking it end to end" in shown(section)
    section.show_done("Real-time push is on.")
    assert section.enable_button.isEnabled() and section.token.text() == ""
    section.show_failed("the relay answered HTTP 503")
    assert shown(section) == "the relay answered HTTP 503" and "c62828" in section.message.styleSheet()


def test_an_empty_server_is_not_sent(qtbot, section: RelaySection) -> None:
    section.server.setText("")
    with qtbot.assertNotEmitted(section.enable_requested):
        qtbot.mouseClick(section.enable_button, Qt.MouseButton.LeftButton)
    assert "address of an ntfy server" in shown(section)


def test_replacing_a_foreign_webhook_needs_a_yes(qtbot, section: RelaySection, monkeypatch) -> None:
    asked: list[str] = []
    answer(monkeypatch, QMessageBox.StandardButton.No, asked)
    with qtbot.assertNotEmitted(section.enable_requested):
        assert section.ask_replace("discord.example.invalid") is False
    assert "discord.example.invalid" in asked[0] and "stays" in shown(section)
    answer(monkeypatch, QMessageBox.StandardButton.Yes, asked)
    with qtbot.waitSignal(section.enable_requested) as request:
        assert section.ask_replace("discord.example.invalid") is True
    assert request.args[2] is True


def test_disable(qtbot, section: RelaySection) -> None:
    section.show_state(PushView("Live (relay)", True))
    with qtbot.waitSignal(section.disable_requested):
        qtbot.mouseClick(section.disable_button, Qt.MouseButton.LeftButton)
    assert not section.disable_button.isEnabled()


def shown(section) -> str:
    """The section's message line, "" while hidden."""
    return section.message.text() if not section.message.isHidden() else ""
