"""The settings window's "Forget me on this computer…": the button, the confirmation, the order of the steps."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from pydt_tray.core.credentials import TokenStore
from pydt_tray.core.forget import Forgetter
from pydt_tray.core.paths import app_paths
from pydt_tray.core.settings import Settings
from pydt_tray.platform.autostart import XdgAutostart
from pydt_tray.ui.forget_dialog import dialogs, forget_and_quit
from pydt_tray.ui.settings_window import SettingsWindow

# The token sits in the opted-in plain file here, and the token store warns about that each time (by design).
PLAINTEXT_WARNS = pytest.mark.expect_warning_logs


def make_forgetter(tmp_path: Path) -> tuple[Forgetter, TokenStore, XdgAutostart]:
    paths = app_paths({"PYDT_TRAY_HOME": str(tmp_path / "home")}).ensure()
    paths.state_file.write_text("{}")
    (paths.log_dir / "pydt-tray.log").write_text("x\n")
    store = TokenStore(plaintext_path=paths.config_dir / "token.plaintext", allow_plaintext=True)
    store.save("tok-9")
    autostart = XdgAutostart(config_dir=tmp_path / "xdg", command=["pydt-tray", "--hidden"])
    autostart.enable()
    return Forgetter(paths=paths, token_store=store, autostart=autostart), store, autostart


def test_the_settings_window_has_the_button_and_it_asks_the_app(qtbot, tmp_path: Path) -> None:
    window = SettingsWindow(Settings(tmp_path / "settings.toml"))
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.forget_requested, timeout=2000):
        window.forget_button.click()
    assert window.forget_button.text() == "Forget me on this computer…"


@PLAINTEXT_WARNS
def test_saying_no_removes_nothing(tmp_path: Path) -> None:
    forgetter, store, autostart = make_forgetter(tmp_path)
    calls: list[str] = []
    result = forget_and_quit(
        forgetter,
        confirm=lambda text: calls.append("confirm") or False,
        report=lambda text: calls.append("report"),
        quit_app=lambda: calls.append("quit"),
        stop_logging=lambda: calls.append("stop logging"),
    )
    assert result is None and calls == ["confirm"]
    assert store.load() == "tok-9" and autostart.path.exists() and forgetter.paths.state_file.exists()


@PLAINTEXT_WARNS
def test_yes_forgets_reports_then_quits_before_the_files_go(tmp_path: Path) -> None:
    forgetter, store, autostart = make_forgetter(tmp_path)
    calls: list[str] = []
    texts: dict[str, str] = {}

    def quit_app() -> None:  # the app saves its state as it quits: the files step must come after
        calls.append("quit")
        forgetter.paths.state_file.write_text('{"saved": "on quit"}')

    def confirm(text: str) -> bool:
        texts["confirm"] = text
        calls.append("confirm")
        return True

    def report(text: str) -> None:
        texts["report"] = text
        calls.append("report")

    outcomes = forget_and_quit(
        forgetter, confirm=confirm, report=report, quit_app=quit_app, stop_logging=lambda: calls.append("stop")
    )
    assert calls == ["confirm", "report", "quit", "stop"]
    assert outcomes is not None and all(o.ok for o in outcomes)
    assert str(autostart.path) in texts["confirm"] and "settings file is kept" in texts["confirm"]
    assert "token was removed" in texts["report"]
    assert store.load() is None and not autostart.path.exists()
    assert not forgetter.paths.state_dir.exists() and not forgetter.paths.log_dir.exists()


def test_the_confirmation_box_defaults_to_no(qtbot) -> None:
    confirm, _report = dialogs(None)
    seen: list[str] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer)
            return
        seen.append(box.defaultButton().text())
        box.defaultButton().click()

    QTimer.singleShot(20, answer)
    assert confirm("remove everything?") is False  # Enter on the box means No
    assert seen and seen[0].replace("&", "") == "No"
