"""The sign-in dialog: paste the PYDT client token, or see who is signed in and sign out.

The dialog only collects the token and shows results; the app checks the token off the UI thread and
calls :meth:`SignInDialog.set_busy`, :meth:`show_error`, :meth:`show_signed_in` or :meth:`show_signed_out`.
The token is never logged and never shown anywhere but in the (masked by default) input field.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from pydt_tray.core.account_view import sign_out_text
from pydt_tray.core.models import WEBSITE_URL

ERROR_STYLE = "color: #c62828;"
HOW_TO_FIND = (
    "pydt-tray signs in with your personal PYDT token.\n"
    "To get it, sign in on the Play Your Damn Turn website, open \u201cYour Profile\u201d and copy the text "
    "in the \u201cClient Token\u201d section. Paste it below."
)


class SignInDialog(QDialog):
    """Token entry while signed out; the signed-in accounts, Sign out and Add account otherwise."""

    submitted = Signal(str)  # the pasted token, stripped
    sign_out_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to PYDT")
        self.setMinimumWidth(460)
        self._busy = False

        # signed-out page
        intro = QLabel(HOW_TO_FIND)
        intro.setWordWrap(True)
        self.website_button = QPushButton("Open playyourdamnturn.com")
        self.website_button.setObjectName("website")
        self.website_button.setToolTip(WEBSITE_URL)
        self.website_button.setAutoDefault(False)
        self.website_button.clicked.connect(self.open_website)
        self.token_edit = QLineEdit()
        self.token_edit.setObjectName("token")
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("Paste your client token here")
        self.token_edit.setInputMethodHints(
            Qt.InputMethodHint.ImhSensitiveData | Qt.InputMethodHint.ImhNoPredictiveText
        )
        self.token_edit.textChanged.connect(self._update_buttons)
        self.show_toggle = QCheckBox("Show")
        self.show_toggle.setObjectName("show_token")
        self.show_toggle.toggled.connect(self._on_show_toggled)
        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.setObjectName("sign_in")
        self.sign_in_button.setDefault(True)
        self.sign_in_button.clicked.connect(self._submit)
        self.busy_label = QLabel("Checking…")
        self.busy_label.setObjectName("busy")
        self.busy_label.hide()
        self.error_label = QLabel()
        self.error_label.setObjectName("error")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()

        token_row = QHBoxLayout()
        token_row.addWidget(self.token_edit, 1)
        token_row.addWidget(self.show_toggle)
        action_row = QHBoxLayout()
        action_row.addWidget(self.website_button)
        action_row.addStretch(1)
        action_row.addWidget(self.busy_label)
        action_row.addWidget(self.sign_in_button)
        self.signed_out_page = QWidget()
        column = QVBoxLayout(self.signed_out_page)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(intro)
        column.addLayout(token_row)
        column.addWidget(self.error_label)
        column.addStretch(1)
        column.addLayout(action_row)

        # signed-in page
        self.signed_in_label = QLabel()
        self.signed_in_label.setObjectName("signed_in_as")
        self.signed_in_label.setTextFormat(Qt.TextFormat.PlainText)
        self.signed_in_label.setWordWrap(True)
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.setObjectName("sign_out")
        self.sign_out_button.setAutoDefault(False)
        self.sign_out_button.clicked.connect(self.sign_out_requested.emit)
        self.add_button = QPushButton("Add account…")
        self.add_button.setObjectName("add_account")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self.show_add)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addWidget(self.sign_out_button)
        row.addWidget(self.add_button)
        row.addStretch(1)
        row.addWidget(close)
        self.signed_in_page = QWidget()
        column = QVBoxLayout(self.signed_in_page)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.signed_in_label)
        column.addStretch(1)
        column.addLayout(row)

        self.pages = QStackedWidget()
        self.pages.addWidget(self.signed_out_page)
        self.pages.addWidget(self.signed_in_page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        self._update_buttons()

    # --- states the app puts the dialog in -----------------------------------------------------------------

    def set_busy(self, busy: bool) -> None:
        """While the token is being checked: inputs disabled, 'Checking…' shown."""
        self._busy = busy
        self.token_edit.setEnabled(not busy)
        self.show_toggle.setEnabled(not busy)
        self.busy_label.setVisible(busy)
        if busy:
            self._show_error("")
        self._update_buttons()

    def show_error(self, text: str) -> None:
        """The token was not accepted (or could not be checked): say why, let the user try again."""
        self.set_busy(False)
        self.pages.setCurrentWidget(self.signed_out_page)
        self._show_error(text)
        self.token_edit.selectAll()
        self.token_edit.setFocus()

    def show_signed_in(self, display_name: str, accounts: int = 1) -> None:
        """Who is signed in (``accounts`` of them), and a Sign out button; the token field is cleared and hidden."""
        self.set_busy(False)
        self.token_edit.clear()
        self.show_toggle.setChecked(False)
        self._show_error("")
        self.signed_in_label.setText(f"Signed in to PYDT as {display_name}.")
        self.sign_out_button.setText(sign_out_text(accounts))
        self.pages.setCurrentWidget(self.signed_in_page)
        self.setWindowTitle("PYDT account")

    def show_add(self) -> None:
        """Token entry for one more account (the accounts already signed in stay)."""
        self.show_signed_out()
        self.setWindowTitle("Add a PYDT account")

    def show_signed_out(self, reason: str = "") -> None:
        """Back to token entry; ``reason`` (e.g. why the old token stopped working) is shown above the field."""
        self.set_busy(False)
        self.token_edit.clear()
        self._show_error(reason)
        self.pages.setCurrentWidget(self.signed_out_page)
        self.setWindowTitle("Sign in to PYDT")
        self.token_edit.setFocus()

    def open_website(self) -> None:
        QDesktopServices.openUrl(QUrl(WEBSITE_URL))

    # --- internals -----------------------------------------------------------------------------------------

    def _submit(self) -> None:
        token = self.token_edit.text().strip()
        if token and not self._busy:
            self.submitted.emit(token)

    def _update_buttons(self, *_: object) -> None:
        self.sign_in_button.setEnabled(not self._busy and bool(self.token_edit.text().strip()))

    def _on_show_toggled(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.token_edit.setEchoMode(mode)

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))
