"""The "Real-time push" part of the settings window: which push paths are live, and the relay on/off flow.

The widget only shows and asks. Turning the relay on or off is done by whoever listens to
:attr:`RelaySection.enable_requested` / :attr:`RelaySection.disable_requested` (off the UI thread), who
reports back with :meth:`RelaySection.show_done`, :meth:`RelaySection.show_failed` or
:meth:`RelaySection.ask_replace` (a webhook that is not ours is set: confirm before replacing it).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pydt_tray.push.ntfy_config import DEFAULT_SERVER

ERROR_STYLE = "color: #c62828;"
PRIVACY_NOTE = (
    "Turning the relay on points the webhook in your PYDT profile at a new secret topic on this server. "
    "Whoever runs the server can see each turn message PYDT posts (game name, your name, the round, your "
    "civilization and leader) and when it arrives, but never your PYDT token or your saves. A message only "
    "makes pydt-tray check PYDT again, so a forged one does no harm. The topic stays in your system keyring "
    "and is never shown; run your own ntfy server if you would rather trust no one."
)


@dataclass(frozen=True)
class PushView:
    """What the section shows: the live line, and the relay's state."""

    headline: str  # e.g. "Live (relay)" or "Checking every 90 s: live push is off"
    relay_on: bool
    relay_detail: str = ""  # e.g. "https://ntfy.sh/AbCd… · live"


class RelaySection(QWidget):
    """Shows the push paths and runs the relay's Enable/Disable flow (with the privacy note)."""

    enable_requested = Signal(str, str, bool)  # server, access token ("" for none), replace a foreign webhook
    disable_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, default_server: str = DEFAULT_SERVER) -> None:
        super().__init__(parent)
        self.headline = QLabel()
        self.headline.setObjectName("push_headline")
        font = self.headline.font()
        font.setBold(True)
        self.headline.setFont(font)
        self.relay_state = QLabel()
        self.relay_state.setObjectName("relay_state")
        self.relay_state.setWordWrap(True)
        self.server = QLineEdit(default_server)
        self.server.setObjectName("relay_server")
        self.server.setToolTip("An ntfy server: https://, or http:// for one on this computer")
        self.token = QLineEdit()
        self.token.setObjectName("relay_token")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("only for a server that needs one")
        self.enable_button = QPushButton("Turn on real-time push")
        self.enable_button.setObjectName("relay_enable")
        self.enable_button.clicked.connect(self._enable_clicked)
        self.disable_button = QPushButton("Turn off")
        self.disable_button.setObjectName("relay_disable")
        self.disable_button.clicked.connect(self._disable_clicked)
        self.note = QLabel(PRIVACY_NOTE)
        self.note.setObjectName("relay_privacy_note")
        self.note.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("relay_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        form = QFormLayout()
        form.addRow("Relay server:", self.server)
        form.addRow("Access token:", self.token)
        buttons = QHBoxLayout()
        buttons.addWidget(self.enable_button)
        buttons.addWidget(self.disable_button)
        buttons.addStretch(1)
        column = QVBoxLayout(self)
        column.addWidget(self.headline)
        column.addWidget(self.relay_state)
        column.addLayout(form)
        column.addLayout(buttons)
        column.addWidget(self.message)
        column.addWidget(self.note)
        column.addStretch(1)
        self._busy = False
        self._relay_on = False
        self.show_state(PushView("", False))

    # --- what the owner calls -------------------------------------------------------------------------

    def show_state(self, view: PushView) -> None:
        self.headline.setText(view.headline)
        self.headline.setVisible(bool(view.headline))
        self._relay_on = view.relay_on
        if view.relay_on:
            self.relay_state.setText("Relay: on" + (f" ({view.relay_detail})" if view.relay_detail else ""))
        else:
            self.relay_state.setText("Relay: off" + (f" ({view.relay_detail})" if view.relay_detail else ""))
        self._update_buttons()

    def show_busy(self, text: str) -> None:
        self._busy = True
        self._say(text, error=False)
        self._update_buttons()

    def show_done(self, text: str) -> None:
        self._busy = False
        self.token.clear()
        self._say(text, error=False)
        self._update_buttons()

    def show_failed(self, text: str) -> None:
        self._busy = False
        self._say(text, error=True)
        self._update_buttons()

    def ask_replace(self, host: str) -> bool:
        """A webhook to ``host`` is set: ask before replacing it; on yes, ask for the enable again with replace."""
        self._busy = False
        self._update_buttons()
        answer = QMessageBox.question(
            self,
            "Replace your PYDT webhook?",
            f"Your PYDT profile already sends each turn to a webhook at {host}.\n\n"
            "Replace it with the relay? pydt-tray remembers it and puts it back when you turn the relay off, "
            "sign out or remove the account.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            self._say(f"Nothing was changed: your webhook at {host} stays.", error=False)
            return False
        self._request_enable(replace=True)
        return True

    # --- user actions ---------------------------------------------------------------------------------

    def _enable_clicked(self) -> None:
        self._request_enable(replace=False)

    def _request_enable(self, *, replace: bool) -> None:
        server = self.server.text().strip()
        if not server:
            self.show_failed("Enter the address of an ntfy server, for example https://ntfy.sh.")
            return
        self.show_busy("Setting up the relay and checking it end to end…")
        self.enable_requested.emit(server, self.token.text().strip(), replace)

    def _disable_clicked(self) -> None:
        self.show_busy("Turning the relay off and putting your previous webhook back…")
        self.disable_requested.emit()

    # --- helpers --------------------------------------------------------------------------------------

    def _say(self, text: str, *, error: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else "")
        self.message.setVisible(bool(text))

    def _update_buttons(self) -> None:
        self.enable_button.setEnabled(not self._busy)
        self.enable_button.setText("Set up again" if self._relay_on else "Turn on real-time push")
        self.disable_button.setEnabled(not self._busy and self._relay_on)
        self.server.setEnabled(not self._busy)
        self.token.setEnabled(not self._busy)
