"""The play-turn panel shown above the game list: what the turn player is doing and what you can do next.

It holds no logic: :class:`PanelView` says what to show, and a click on a button emits ``action(key)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

BUTTONS: dict[str, str] = {
    "submit": "Submit",
    "ignore": "Ignore",
    "resubmit": "Submit again",
    "watch": "Watch for another save",
    "retry": "Try again",
    "open_folder": "Open folder",
    "close": "Close",
    "cancel": "Cancel",
}
PRIMARY = {"submit", "resubmit", "retry"}

STYLE = """
QFrame#playPanel { border: 1px solid #2f7d4a; border-radius: 8px; background: #f4faf5; }
QFrame#playPanel[tone="error"] { border-color: #b3261e; background: #fdf1f0; }
QFrame#playPanel[tone="done"] { border-color: #2f7d4a; background: #e7f5ea; }
QLabel#panelTitle { font-size: 12pt; font-weight: 600; }
QLabel#panelFolder { color: #505050; }
QPushButton[primary="true"] { background: #2f7d4a; color: white; border: none; border-radius: 5px;
                              padding: 5px 14px; font-weight: 600; }
"""


def kb_text(done: int, total: int | None) -> str:
    """'120 KB / 480 KB' (or just '120 KB' when the size is unknown)."""
    text = f"{done // 1024:,} KB"
    return text + (f" / {total // 1024:,} KB" if total else "")


@dataclass(frozen=True)
class PanelView:
    """Everything the panel shows; ``progress`` is (done, total) bytes or None for no bar."""

    title: str
    message: str
    tone: str = "normal"  # normal, error or done
    progress: tuple[int, int | None] | None = None
    folder: str = ""
    buttons: tuple[str, ...] = field(default=())


class PlayTurnPanel(QFrame):
    action = Signal(str)

    def __init__(self, extra_buttons: Mapping[str, str] | None = None) -> None:
        """``extra_buttons`` (key -> label) come before the usual ones, e.g. the demo's stand-in for the game."""
        super().__init__()
        self.setObjectName("playPanel")
        self.setStyleSheet(STYLE)
        self.title = QLabel()
        self.title.setObjectName("panelTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.message = QLabel()
        self.message.setObjectName("panelMessage")
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # the service's error text, newlines and all
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.folder = QLabel()
        self.folder.setObjectName("panelFolder")
        self.folder.setTextFormat(Qt.TextFormat.PlainText)
        self.folder.setWordWrap(True)
        self.folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for key, text in {**(extra_buttons or {}), **BUTTONS}.items():
            button = QPushButton(text)
            button.setObjectName(f"panel-{key}")
            button.setProperty("primary", "true" if key in PRIMARY else "false")
            button.clicked.connect(lambda _=False, k=key: self.action.emit(k))
            if key == "cancel":
                row.addStretch(1)
            row.addWidget(button)
            self.buttons[key] = button
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addWidget(self.folder)
        layout.addLayout(row)
        self.view: PanelView | None = None
        self.hide()

    def show_view(self, view: PanelView | None) -> None:
        """Show ``view``; None hides the panel."""
        self.view = view
        if view is None:
            self.hide()
            return
        self.setProperty("tone", view.tone)
        self.style().unpolish(self)
        self.style().polish(self)
        self.title.setText(view.title)
        self.message.setText(view.message)
        self.message.setVisible(bool(view.message))
        self.progress.setVisible(view.progress is not None)
        if view.progress is not None:
            done, total = view.progress
            if total:
                self.progress.setRange(0, total)
                self.progress.setValue(min(done, total))
            else:
                self.progress.setRange(0, 0)  # busy indicator until the size is known
            self.progress.setFormat(kb_text(done, total))
        self.folder.setText(f"Save folder: {view.folder}" if view.folder else "")
        self.folder.setVisible(bool(view.folder))
        for key, button in self.buttons.items():
            button.setVisible(key in view.buttons)
        self.show()
