"""The settings window's "Forget me on this computer…": confirm, forget, say what was done, quit."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from pydt_tray.core.forget import Forgetter, Outcome

log = logging.getLogger(__name__)


def confirm_text(forgetter: Forgetter) -> str:
    items = "\n".join(f"• {line}" for line in forgetter.describe())
    return f"pydt-tray will remove:\n\n{items}\n\nand then quit. Your settings file is kept."


def report_text(outcomes: list[Outcome]) -> str:
    lines = [("Done: " if o.ok else "Failed: ") + o.message for o in outcomes]
    lines.append("pydt-tray now quits and deletes its state, logs and cache.")
    return "\n".join(lines)


def forget_and_quit(
    forgetter: Forgetter,
    *,
    confirm: Callable[[str], bool],
    report: Callable[[str], None],
    quit_app: Callable[[], None],
    stop_logging: Callable[[], None],
) -> list[Outcome] | None:
    """Ask; on yes remove token and start at login, report, quit the app (which saves its state one last
    time), stop logging, then delete state, logs and cache. None when the user said no."""
    if not confirm(confirm_text(forgetter)):
        return None
    outcomes = forgetter.forget_account()
    report(report_text(outcomes))
    quit_app()
    stop_logging()
    files = forgetter.forget_files()
    for outcome in files:
        if not outcome.ok:
            print(f"pydt-tray: {outcome.message}")
    return outcomes + files


def dialogs(parent: QWidget | None) -> tuple[Callable[[str], bool], Callable[[str], None]]:
    """Confirmation and report as message boxes over ``parent``."""

    def confirm(text: str) -> bool:
        answer = QMessageBox.question(
            parent,
            "Forget me on this computer",
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def report(text: str) -> None:
        QMessageBox.information(parent, "Forget me on this computer", text)

    return confirm, report


def forget_from_settings(parent: QWidget | None, forgetter: Forgetter, quit_app: Callable[[], None]) -> None:
    from pydt_tray.core.logs import teardown_logging

    confirm, report = dialogs(parent)
    forget_and_quit(forgetter, confirm=confirm, report=report, quit_app=quit_app, stop_logging=teardown_logging)
