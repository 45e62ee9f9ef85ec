"""A yes/no question to the user, as a modal message box."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget


def ask_user(question: str, parent: QWidget | None = None) -> bool:
    """Ask ``question``; True for yes (no is the default button)."""
    from PySide6.QtWidgets import QMessageBox  # when asked: the message box's bindings stay out of a hidden app

    answer = QMessageBox.question(
        parent,
        "pydt-tray",
        question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes
