"""The Accounts tab of the settings window: every signed-in account with a Remove button, and Add account."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from pydt_tray.core.account_view import AccountRow

TAB_TITLE = "Accounts"


class AccountsSection(QWidget):
    """Shows the rows it is given; asks for a removal or a new account through its signals."""

    remove_requested = Signal(str)  # a steam id
    add_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows_layout = QVBoxLayout()
        self.add_button = QPushButton("Add account…")
        self.add_button.setObjectName("add_account")
        self.add_button.clicked.connect(self.add_requested.emit)
        self.remove_buttons: dict[str, QPushButton] = {}
        self.row_texts: list[str] = []
        self.empty = QLabel("No account is signed in.")
        layout = QVBoxLayout(self)
        intro = QLabel("Every account listed here is watched at the same time, over one push connection.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addLayout(self.rows_layout)
        layout.addWidget(self.empty)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.add_button)
        layout.addStretch(1)
        layout.addLayout(bottom)

    def show_accounts(self, rows: list[AccountRow]) -> None:
        while self.rows_layout.count():
            item = self.rows_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self.remove_buttons = {}
        self.row_texts = []
        for row in rows:
            holder = QWidget()
            line = QHBoxLayout(holder)
            line.setContentsMargins(0, 0, 0, 0)
            label = QLabel(f"{row.name or 'unnamed'} · Steam id {row.steam_id or 'not known yet'} · {row.status}")
            label.setTextFormat(Qt.TextFormat.PlainText)
            self.row_texts.append(label.text())
            line.addWidget(label, 1)
            if row.steam_id:
                button = QPushButton("Remove")
                button.setObjectName(f"remove_{row.steam_id}")
                button.clicked.connect(lambda _=False, steam_id=row.steam_id: self.remove_requested.emit(steam_id))
                line.addWidget(button)
                self.remove_buttons[row.steam_id] = button
            self.rows_layout.addWidget(holder)
        self.empty.setVisible(not rows)
