"""The sign-in dialog: token entry, busy and error states, signed-in view, no token leaks."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLineEdit

from pydt_tray.core.models import WEBSITE_URL
from pydt_tray.ui.sign_in_dialog import SignInDialog

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdGVhbUlkIjoiNzY1NjExOTgwMDAwMDAwMDEifQ.c2lnbmF0dXJl"


@pytest.fixture
def dialog(qtbot):
    widget = SignInDialog()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_token_field_is_masked_and_can_be_shown(qtbot, dialog):
    assert dialog.token_edit.echoMode() == QLineEdit.EchoMode.Password
    qtbot.mouseClick(dialog.show_toggle, Qt.MouseButton.LeftButton)
    assert dialog.token_edit.echoMode() == QLineEdit.EchoMode.Normal
    qtbot.mouseClick(dialog.show_toggle, Qt.MouseButton.LeftButton)
    assert dialog.token_edit.echoMode() == QLineEdit.EchoMode.Password


def test_explains_where_the_token_is(dialog):
    texts = " ".join(label.text() for label in dialog.signed_out_page.findChildren(type(dialog.busy_label)))
    assert "Your Profile" in texts and "Client Token" in texts


def test_sign_in_disabled_while_empty(qtbot, dialog):
    assert not dialog.sign_in_button.isEnabled()
    qtbot.keyClicks(dialog.token_edit, "   ")
    assert not dialog.sign_in_button.isEnabled()
    with qtbot.assertNotEmitted(dialog.submitted):
        qtbot.keyClick(dialog.token_edit, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.token_edit, "x")
    assert dialog.sign_in_button.isEnabled()


def test_submitted_carries_the_stripped_token(qtbot, dialog):
    dialog.token_edit.setFocus()
    qtbot.keyClicks(dialog.token_edit, f"  {TOKEN} ")
    with qtbot.waitSignal(dialog.submitted, timeout=2000) as blocker:
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [TOKEN]


def test_enter_submits(qtbot, dialog):
    dialog.token_edit.setFocus()
    qtbot.keyClicks(dialog.token_edit, TOKEN)
    with qtbot.waitSignal(dialog.submitted, timeout=2000) as blocker:
        qtbot.keyClick(dialog.token_edit, Qt.Key.Key_Return)
    assert blocker.args == [TOKEN]


def test_busy_disables_inputs(qtbot, dialog):
    qtbot.keyClicks(dialog.token_edit, TOKEN)
    dialog.set_busy(True)
    assert not dialog.token_edit.isEnabled()
    assert not dialog.show_toggle.isEnabled()
    assert not dialog.sign_in_button.isEnabled()
    assert dialog.busy_label.isVisible() and dialog.busy_label.text() == "Checking…"
    with qtbot.assertNotEmitted(dialog.submitted):
        dialog.sign_in_button.click()
    dialog.set_busy(False)
    assert dialog.token_edit.isEnabled() and dialog.sign_in_button.isEnabled()
    assert not dialog.busy_label.isVisible()


def test_error_is_shown_and_the_user_can_retry(qtbot, dialog):
    qtbot.keyClicks(dialog.token_edit, TOKEN)
    dialog.set_busy(True)
    dialog.show_error("This token was refused by PYDT.")
    assert dialog.error_label.isVisible()
    assert dialog.error_label.text() == "This token was refused by PYDT."
    assert dialog.token_edit.isEnabled() and dialog.sign_in_button.isEnabled()
    assert not dialog.busy_label.isVisible()
    dialog.set_busy(True)  # a new attempt clears the old message
    assert not dialog.error_label.isVisible()


def test_signed_in_view_and_sign_out(qtbot, dialog):
    qtbot.keyClicks(dialog.token_edit, TOKEN)
    dialog.set_busy(True)
    dialog.show_signed_in("Hammurabi <b>the Great</b>")
    assert "Hammurabi <b>the Great</b>" in dialog.signed_in_label.text()
    assert dialog.signed_in_label.textFormat() == Qt.TextFormat.PlainText
    assert dialog.signed_in_label.isVisible()
    assert not dialog.token_edit.isVisible()
    assert dialog.token_edit.text() == ""  # the token does not linger in the widget
    with qtbot.waitSignal(dialog.sign_out_requested, timeout=2000):
        qtbot.mouseClick(dialog.sign_out_button, Qt.MouseButton.LeftButton)


def test_signed_out_with_a_reason(qtbot, dialog):
    dialog.show_signed_in("Ramesses")
    dialog.show_signed_out("The token no longer works: it was probably regenerated.")
    assert dialog.token_edit.isVisible() and dialog.token_edit.text() == ""
    assert not dialog.sign_out_button.isVisible()
    assert dialog.error_label.text() == "The token no longer works: it was probably regenerated."
    dialog.show_signed_out()
    assert not dialog.error_label.isVisible()


def test_token_never_leaks(qtbot, dialog, caplog):
    with caplog.at_level(logging.DEBUG):
        qtbot.keyClicks(dialog.token_edit, TOKEN)
        with qtbot.waitSignal(dialog.submitted, timeout=2000):
            dialog.sign_in_button.click()
        dialog.set_busy(True)
        dialog.show_error("refused")
    assert TOKEN not in caplog.text
    assert TOKEN not in dialog.windowTitle()
    assert TOKEN not in dialog.token_edit.placeholderText()
    assert TOKEN not in dialog.token_edit.toolTip()
    assert dialog.token_edit.displayText() != TOKEN


def test_website_button_opens_pydt(qtbot, dialog, monkeypatch):
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    qtbot.mouseClick(dialog.website_button, Qt.MouseButton.LeftButton)
    assert [url.toString() for url in opened] == [WEBSITE_URL]
