"""A yes/no question to the user, as a modal message box."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def ask_user(question: str, parent: QWidget | None = None) -> bool:
    """Ask ``question``; True for yes (no is the default button)."""
    answer = QMessageBox.question(
        parent,
        "pydt-tray",
        question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes
