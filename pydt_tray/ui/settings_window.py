"""The settings window, rendered entirely from the settings table (:data:`SETTINGS`).

One tab per section, one editor per setting chosen by its kind. Changes apply at once: the value is checked
against the table, stored with :meth:`Settings.set` and written to the file. Changes made elsewhere reach the
editors through a settings listener (marshalled to the UI thread, without echoing back).
"""

from __future__ import annotations

import weakref
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from pydt_tray.core.settings import Settings
from pydt_tray.core.settings_table import SECTIONS, SETTINGS, SettingsError, SettingSpec, parse_value, validate

ERROR_STYLE = "color: #c62828;"


def _make_listener(window: SettingsWindow, settings: Settings):
    """A settings listener that holds the window weakly and unregisters itself once the window is gone."""
    ref = weakref.ref(window)

    def listener(key: str, value: Any) -> None:
        target = ref()
        if target is None or not shiboken6.isValid(target):
            settings.remove_listener(listener)
            return
        target.changed_elsewhere.emit(key, value)

    return listener


class SettingsWindow(QWidget):
    """Edits :class:`Settings` live; every accepted change is saved straight away."""

    changed_elsewhere = Signal(str, object)  # internal: a listener call, delivered on the UI thread
    forget_requested = Signal()  # "Forget me on this computer…" (the app confirms and does it)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("pydt-tray settings")
        self.resize(660, 620)
        self.editors: dict[str, QWidget] = {}  # the main editor of each key: QCheckBox, QSpinBox, QComboBox, QLineEdit
        self.error_labels: dict[str, QLabel] = {}  # the problem shown next to each editor, hidden when none
        self._updating = False

        self.tabs = QTabWidget()
        for section in SECTIONS:
            self.tabs.addTab(self._section_page(section), section)
        self.save_error = QLabel()
        self.save_error.setObjectName("save_error")
        self.save_error.setWordWrap(True)
        self.save_error.setStyleSheet(ERROR_STYLE)
        self.save_error.hide()
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        bottom = QHBoxLayout()
        self.forget_button = QPushButton("Forget me on this computer…")
        self.forget_button.clicked.connect(self.forget_requested.emit)
        bottom.addWidget(self.forget_button)
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.save_error)
        layout.addLayout(bottom)

        for key, value in settings.values().items():
            self._show_value(key, value)
        self.changed_elsewhere.connect(self._show_value)
        self._listener = _make_listener(self, settings)
        settings.add_listener(self._listener)

    # --- building ------------------------------------------------------------------------------------------

    def _section_page(self, section: str) -> QWidget:
        page = QWidget()
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setVerticalSpacing(2)
        for spec in SETTINGS:
            if spec.section == section:
                label = QLabel("" if spec.kind == "bool" else spec.label + ":")
                label.setToolTip(spec.help)
                form.addRow(label, self._field(spec))
                notes = QWidget()
                notes_column = QVBoxLayout(notes)
                notes_column.setContentsMargins(0, 0, 0, 10)
                notes_column.setSpacing(2)
                notes_column.addWidget(self._help_label(spec))
                notes_column.addWidget(self._error_label(spec))
                notes_column.addStretch(1)
                form.addRow("", notes)
        restore = QPushButton("Restore defaults")
        restore.setObjectName(f"restore_{section}")
        restore.setToolTip(f"Put every setting on the {section} tab back to its default value.")
        restore.clicked.connect(lambda: self.restore_defaults(section))
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(restore)
        column = QVBoxLayout(page)
        column.addLayout(form)
        column.addStretch(1)
        column.addLayout(row)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(page)
        return scroll

    def _field(self, spec: SettingSpec) -> QWidget:
        """The editor of ``spec``; a path gets Browse… and Clear buttons next to it."""
        editor = self._editor_for(spec)
        editor.setObjectName(spec.key)
        editor.setToolTip(spec.help)
        self.editors[spec.key] = editor
        if spec.kind != "path":
            return editor
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(editor, 1)
        browse = QPushButton("Browse…")
        browse.setObjectName(f"{spec.key}_browse")
        browse.clicked.connect(lambda: self._browse(spec))
        clear = QPushButton("Clear")
        clear.setObjectName(f"{spec.key}_clear")
        clear.setToolTip("Empty: found automatically")
        clear.clicked.connect(lambda: self._set_text_and_apply(spec, ""))
        row.addWidget(browse)
        row.addWidget(clear)
        return box

    def _help_label(self, spec: SettingSpec) -> QLabel:
        """The help text in small grey type under the editor."""
        label = QLabel(spec.help)
        label.setObjectName(f"{spec.key}_help")
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        label.setToolTip(spec.help)
        font = label.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        label.setFont(font)
        palette = label.palette()
        text, back = palette.color(QPalette.ColorRole.WindowText), palette.color(QPalette.ColorRole.Window)
        grey = QColor.fromRgbF(
            0.6 * text.redF() + 0.4 * back.redF(),
            0.6 * text.greenF() + 0.4 * back.greenF(),
            0.6 * text.blueF() + 0.4 * back.blueF(),
        )
        palette.setColor(QPalette.ColorRole.WindowText, grey)
        label.setPalette(palette)
        return label

    def _error_label(self, spec: SettingSpec) -> QLabel:
        """Where a refused value is explained (hidden while there is nothing to say)."""
        label = QLabel()
        label.setObjectName(f"{spec.key}_error")
        label.setWordWrap(True)
        label.setStyleSheet(ERROR_STYLE)
        label.hide()
        self.error_labels[spec.key] = label
        return label

    def _editor_for(self, spec: SettingSpec) -> QWidget:
        if spec.kind == "bool":
            check = QCheckBox(spec.label)
            check.toggled.connect(lambda on: self._apply(spec, on))
            return check
        if spec.kind == "int":
            spin = QSpinBox()
            spin.setRange(spec.minimum if spec.minimum is not None else -(2**31), spec.maximum or 2**31 - 1)
            spin.setKeyboardTracking(False)  # valueChanged on Enter, focus loss or arrows, not per keystroke
            spin.setMinimumWidth(120)
            spin.valueChanged.connect(lambda number: self._apply(spec, number))
            spin.lineEdit().textEdited.connect(lambda _text: self._check_spin_text(spec, spin))
            return spin
        if spec.kind == "choice":
            combo = QComboBox()
            combo.addItems(list(spec.choices))
            combo.currentTextChanged.connect(lambda text: self._apply(spec, text))
            return combo
        line = QLineEdit()
        line.setClearButtonEnabled(spec.kind == "str")
        if spec.kind == "path":
            line.setPlaceholderText("automatic")
        line.textEdited.connect(lambda text: self._check_text(spec, text))
        line.editingFinished.connect(lambda: self._apply_text(spec, line.text()))
        return line

    # --- applying ------------------------------------------------------------------------------------------

    def _apply(self, spec: SettingSpec, value: Any) -> bool:
        """Validate, store and save ``value``; shows the problem next to the editor instead when it is invalid."""
        if self._updating:
            return False
        try:
            value = validate(spec, value)
        except SettingsError as error:
            self._show_error(spec.key, str(error))
            return False
        self._show_error(spec.key, "")
        if value == self.settings.get(spec.key):
            return True
        self.settings.set(spec.key, value)
        self._save()
        return True

    def _apply_text(self, spec: SettingSpec, text: str) -> bool:
        try:
            value = parse_value(spec, text)
        except SettingsError as error:
            self._show_error(spec.key, str(error))
            return False
        return self._apply(spec, value)

    def _check_text(self, spec: SettingSpec, text: str) -> None:
        """While typing: show or clear the problem, apply nothing yet."""
        try:
            parse_value(spec, text)
        except SettingsError as error:
            self._show_error(spec.key, str(error))
        else:
            self._show_error(spec.key, "")

    def _check_spin_text(self, spec: SettingSpec, spin: QSpinBox) -> None:
        """A spin box silently refuses values outside its range; say why while the text is out of range."""
        text = spin.cleanText()
        try:
            parse_value(spec, text)
        except SettingsError as error:
            self._show_error(spec.key, f"{error}; the value stays {spin.value()}")
        else:
            self._show_error(spec.key, "")

    def _set_text_and_apply(self, spec: SettingSpec, text: str) -> None:
        line = self.editors[spec.key]
        assert isinstance(line, QLineEdit)
        line.setText(text)
        self._apply_text(spec, text)

    def _browse(self, spec: SettingSpec) -> None:
        current = str(self.settings.get(spec.key))
        if spec.key.endswith("_file"):
            chosen, _ = QFileDialog.getOpenFileName(
                self, spec.label, current, "Certificates (*.pem *.crt *.cer);;All files (*)"
            )
        else:
            chosen = QFileDialog.getExistingDirectory(self, spec.label, current)
        if chosen:
            self._set_text_and_apply(spec, chosen)

    def _save(self) -> None:
        try:
            self.settings.save()
        except OSError as error:
            where = f" ({self.settings.path})" if self.settings.path else ""
            self.save_error.setText(
                f"The settings file{where} could not be written: {error.strerror or error}. "
                "Your change is in effect until pydt-tray quits."
            )
            self.save_error.show()
        else:
            self.save_error.clear()
            self.save_error.hide()

    def _show_error(self, key: str, text: str) -> None:
        label = self.error_labels[key]
        label.setText(text)
        label.setVisible(bool(text))

    # --- following the settings ----------------------------------------------------------------------------

    def _show_value(self, key: str, value: Any) -> None:
        """Put ``value`` into the editor of ``key`` without applying it again."""
        editor = self.editors.get(key)
        if editor is None:
            return
        self._updating = True
        try:
            if isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, QSpinBox):
                editor.setValue(int(value))
            elif isinstance(editor, QComboBox):
                editor.setCurrentText(str(value))
            elif isinstance(editor, QLineEdit) and editor.text() != str(value):
                editor.setText(str(value))
        finally:
            self._updating = False
        self._show_error(key, "")

    def restore_defaults(self, section: str) -> bool:
        """Ask, then put every setting of ``section`` back to its default and save; True if done."""
        answer = QMessageBox.question(
            self,
            "Restore defaults",
            f"Put every setting on the {section} tab back to its default value?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        for spec in SETTINGS:
            if spec.section == section:
                self.settings.set(spec.key, spec.default)
                self._show_value(spec.key, spec.default)
        self._save()
        return True
