"""The settings window: editors from the table, live apply + save, errors, external changes, defaults."""

from __future__ import annotations

import logging
import threading

import pytest
import shiboken6
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTabWidget,
)

from pydt_tray.core.settings import Settings
from pydt_tray.core.settings_table import SECTIONS, SETTINGS, SPECS
from pydt_tray.ui.settings_window import SettingsWindow

EDITOR_TYPES = {"bool": QCheckBox, "int": QSpinBox, "choice": QComboBox, "str": QLineEdit, "path": QLineEdit}


def shown(label: QLabel) -> str:
    """What ``label`` shows the user ('' while it is hidden)."""
    return label.text() if not label.isHidden() else ""


@pytest.fixture
def settings(tmp_path):
    return Settings(tmp_path / "settings.toml")


@pytest.fixture
def window(qtbot, settings):
    widget = SettingsWindow(settings)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def click_checkbox(qtbot, box: QCheckBox) -> None:
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))


def reloaded(settings: Settings) -> Settings:
    assert settings.path is not None and settings.path.is_file()
    fresh, problems = Settings.load(settings.path)
    assert problems == []
    return fresh


def retype(qtbot, editor, text: str) -> None:
    """Replace the editor's text the way a user does: select all, type, press Enter."""
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)


def test_one_tab_per_section_in_table_order(window):
    tabs = window.findChild(QTabWidget)
    assert [tabs.tabText(i) for i in range(tabs.count())] == list(SECTIONS)


@pytest.mark.parametrize("spec", SETTINGS, ids=lambda spec: spec.key)
def test_every_setting_has_an_editor_of_its_kind(window, spec):
    window.tabs.setCurrentIndex(SECTIONS.index(spec.section))
    editor = window.editors[spec.key]
    assert isinstance(editor, EDITOR_TYPES[spec.kind])
    assert editor.toolTip() == spec.help
    help_label = window.findChild(QLabel, f"{spec.key}_help")
    assert help_label is not None and help_label.text() == spec.help and help_label.isVisible()
    if spec.kind == "int":
        assert (editor.minimum(), editor.maximum(), editor.value()) == (spec.minimum, spec.maximum, spec.default)
    elif spec.kind == "choice":
        assert [editor.itemText(i) for i in range(editor.count())] == list(spec.choices)
        assert editor.currentText() == spec.default
    elif spec.kind == "bool":
        assert editor.text() == spec.label and editor.isChecked() is spec.default
    else:
        assert editor.text() == spec.default
    if spec.kind == "path":
        assert window.findChild(QPushButton, f"{spec.key}_browse").text() == "Browse…"
        assert window.findChild(QPushButton, f"{spec.key}_clear") is not None


def test_editors_start_from_the_current_values(qtbot, tmp_path):
    settings = Settings(tmp_path / "s.toml", {"reminder_minutes": 15, "mqtt_protocol": "mqtt311", "iot_region": "x"})
    widget = SettingsWindow(settings)
    qtbot.addWidget(widget)
    assert widget.editors["reminder_minutes"].value() == 15
    assert widget.editors["mqtt_protocol"].currentText() == "mqtt311"
    assert widget.editors["iot_region"].text() == "x"


def test_checkbox_applies_and_saves(qtbot, window, settings):
    click_checkbox(qtbot, window.editors["notifications_enabled"])
    assert settings.get("notifications_enabled") is False
    assert reloaded(settings).get("notifications_enabled") is False


def test_typed_number_applies_and_saves(qtbot, window, settings):
    window.tabs.setCurrentIndex(SECTIONS.index("Connection"))
    retype(qtbot, window.editors["poll_interval_seconds"], "900")
    assert settings.get("poll_interval_seconds") == 900
    assert reloaded(settings).get("poll_interval_seconds") == 900
    assert shown(window.error_labels["poll_interval_seconds"]) == ""


def test_spinbox_arrow_step_applies(qtbot, window, settings):
    qtbot.keyClick(window.editors["reminder_minutes"], Qt.Key.Key_Up)
    assert settings.get("reminder_minutes") == 121
    assert reloaded(settings).get("reminder_minutes") == 121


def test_combobox_applies_and_saves(window, settings):
    window.editors["mqtt_protocol"].setCurrentText("mqtt311")
    assert settings.get("mqtt_protocol") == "mqtt311"
    assert reloaded(settings).get("mqtt_protocol") == "mqtt311"


def test_line_edit_applies_stripped_text_on_enter(qtbot, window, settings):
    window.tabs.setCurrentIndex(SECTIONS.index("Connection"))
    editor = window.editors["iot_region"]
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, " eu-west-1 ")
    assert settings.get("iot_region") == "us-east-1"  # nothing applied while typing
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert settings.get("iot_region") == "eu-west-1"
    assert reloaded(settings).get("iot_region") == "eu-west-1"


def test_out_of_range_number_shows_the_error_and_changes_nothing(qtbot, window, settings):
    window.tabs.setCurrentIndex(SECTIONS.index("Connection"))
    spin = window.editors["poll_interval_seconds"]
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "5")
    error = shown(window.error_labels["poll_interval_seconds"])
    assert "60..3600" in error and "got 5" in error
    assert window.findChild(QLabel, "poll_interval_seconds_error").isVisible()
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert settings.get("poll_interval_seconds") == 600
    assert spin.value() == 600
    assert not settings.path.exists()
    retype(qtbot, spin, "120")
    assert shown(window.error_labels["poll_interval_seconds"]) == ""
    assert settings.get("poll_interval_seconds") == 120


@pytest.mark.parametrize("text", ["   ", "bad\x01host"])
def test_invalid_text_shows_the_error_and_changes_nothing(qtbot, window, settings, text):
    window.tabs.setCurrentIndex(SECTIONS.index("Connection"))
    editor = window.editors["iot_endpoint"]
    editor.setText(text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert "key 'iot_endpoint': must be non-empty text" in shown(window.error_labels["iot_endpoint"])
    assert settings.get("iot_endpoint") == SPECS["iot_endpoint"].default
    assert not settings.path.exists()
    retype(qtbot, editor, "localhost")
    assert shown(window.error_labels["iot_endpoint"]) == ""
    assert reloaded(settings).get("iot_endpoint") == "localhost"


def test_external_change_updates_the_editor_without_saving(window, settings):
    settings.set("reminder_minutes", 30)
    settings.set("auto_submit", True)
    settings.set("store_civ6", "epic")
    settings.set("save_dir_civ5", "/games/civ5")
    assert window.editors["reminder_minutes"].value() == 30
    assert window.editors["auto_submit"].isChecked()
    assert window.editors["store_civ6"].currentText() == "epic"
    assert window.editors["save_dir_civ5"].text() == "/games/civ5"
    assert not settings.path.exists()  # the window did not write the change back


def test_change_from_another_thread_reaches_the_editor(qtbot, window, settings):
    worker = threading.Thread(target=settings.set, args=("archive_count", 7))
    worker.start()
    worker.join(5)
    qtbot.waitUntil(lambda: window.editors["archive_count"].value() == 7, timeout=5000)
    assert not settings.path.exists()


def test_listener_goes_away_with_the_window(qtbot, settings, caplog):
    widget = SettingsWindow(settings)
    shiboken6.delete(widget)
    del widget
    with caplog.at_level(logging.ERROR):
        settings.set("reminder_minutes", 10)
        settings.set("reminder_minutes", 11)
    assert caplog.records == []
    assert settings.get("reminder_minutes") == 11


def test_browse_and_clear_a_folder(qtbot, window, settings, monkeypatch, tmp_path):
    folder = tmp_path / "saves"
    folder.mkdir()
    asked = []

    def fake_dialog(parent, caption, start):
        asked.append((caption, start))
        return str(folder)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", fake_dialog)
    window.tabs.setCurrentIndex(SECTIONS.index("Games"))
    qtbot.mouseClick(window.findChild(QPushButton, "save_dir_civ6_browse"), Qt.MouseButton.LeftButton)
    assert asked == [(SPECS["save_dir_civ6"].label, "")]
    assert window.editors["save_dir_civ6"].text() == str(folder)
    assert reloaded(settings).get("save_dir_civ6") == str(folder)
    qtbot.mouseClick(window.findChild(QPushButton, "save_dir_civ6_clear"), Qt.MouseButton.LeftButton)
    assert window.editors["save_dir_civ6"].text() == ""
    assert reloaded(settings).get("save_dir_civ6") == ""


def test_browse_cancelled_changes_nothing(qtbot, window, settings, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: "")
    window.tabs.setCurrentIndex(SECTIONS.index("Games"))
    qtbot.mouseClick(window.findChild(QPushButton, "save_dir_civ7_browse"), Qt.MouseButton.LeftButton)
    assert settings.get("save_dir_civ7") == ""
    assert not settings.path.exists()


def test_certificate_file_is_picked_as_a_file(qtbot, window, settings, monkeypatch, tmp_path):
    pem = tmp_path / "ca.pem"
    pem.write_text("x")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(pem), "Certificates"))
    window.tabs.setCurrentIndex(SECTIONS.index("Connection"))
    qtbot.mouseClick(window.findChild(QPushButton, "iot_ca_file_browse"), Qt.MouseButton.LeftButton)
    assert reloaded(settings).get("iot_ca_file") == str(pem)


def answer(monkeypatch, button, asked):
    def fake_question(parent, title, text, *rest):
        asked.append(text)
        return button

    monkeypatch.setattr(QMessageBox, "question", fake_question)


def test_restore_defaults_of_a_section(qtbot, window, settings, monkeypatch):
    settings.set("poll_interval_seconds", 900)
    settings.set("mqtt_protocol", "mqtt311")
    settings.set("iot_region", "eu-west-1")
    settings.set("reminder_minutes", 5)  # another section: stays
    asked: list[str] = []
    answer(monkeypatch, QMessageBox.StandardButton.Yes, asked)
    window.tabs.setCurrentIndex(SECTIONS.index("Connection"))
    qtbot.mouseClick(window.findChild(QPushButton, "restore_Connection"), Qt.MouseButton.LeftButton)
    assert asked and "Connection" in asked[0]
    for key in ("poll_interval_seconds", "mqtt_protocol", "iot_region"):
        assert settings.get(key) == SPECS[key].default
    assert window.editors["poll_interval_seconds"].value() == 600
    assert window.editors["mqtt_protocol"].currentText() == "mqtt5"
    assert window.editors["iot_region"].text() == "us-east-1"
    fresh = reloaded(settings)
    assert fresh.get("poll_interval_seconds") == 600
    assert fresh.get("reminder_minutes") == 5


def test_restore_defaults_declined_changes_nothing(qtbot, window, settings, monkeypatch):
    settings.set("poll_interval_seconds", 900)
    asked: list[str] = []
    answer(monkeypatch, QMessageBox.StandardButton.No, asked)
    assert window.restore_defaults("Connection") is False
    assert asked
    assert settings.get("poll_interval_seconds") == 900
    assert window.editors["poll_interval_seconds"].value() == 900
    assert not settings.path.exists()


def test_save_failure_is_shown_and_the_value_kept(qtbot, window, settings):
    settings.path.mkdir()  # the file's place is taken by a folder: writing it fails
    qtbot.keyClick(window.editors["reminder_minutes"], Qt.Key.Key_Down)
    assert settings.get("reminder_minutes") == 119
    message = shown(window.save_error)
    assert "could not be written" in message and str(settings.path) in message
    assert "until pydt-tray quits" in message
    assert window.save_error.isVisible()
    settings.path.rmdir()
    qtbot.keyClick(window.editors["reminder_minutes"], Qt.Key.Key_Down)
    assert shown(window.save_error) == ""
    assert reloaded(settings).get("reminder_minutes") == 118


def test_save_failure_from_save_itself(qtbot, window, settings, monkeypatch):
    def refuse() -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(settings, "save", refuse)
    click_checkbox(qtbot, window.editors["notifications_enabled"])
    assert "Permission denied" in shown(window.save_error)
    assert settings.get("notifications_enabled") is False


def test_quiet_hours_are_checked_as_typed_and_applied_when_valid(qtbot, window, settings):
    window.tabs.setCurrentIndex(SECTIONS.index("Notifications"))
    editor = window.editors["quiet_hours"]
    editor.setText("22:00-25:00")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert "key 'quiet_hours': hours go from 00 to 23" in shown(window.error_labels["quiet_hours"])
    assert settings.get("quiet_hours") == ""
    retype(qtbot, editor, "22:00-07:30 sun-thu")
    assert shown(window.error_labels["quiet_hours"]) == ""
    assert reloaded(settings).get("quiet_hours") == "22:00-07:30 sun-thu"
