"""The tray icon, its tooltip and its menu, rendered from one :class:`TrayModel`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from pydt_tray.core.models import FIRST_SAVE_HINT, Game
from pydt_tray.platform.freedesktop import escape_markup
from pydt_tray.ui.icons import TrayStatus, tray_icon

log = logging.getLogger(__name__)

MAX_MENU_GAMES = 15


@dataclass(frozen=True)
class TrayModel:
    """Everything the tray shows; built by the app from the latest snapshot and connection state."""

    status: TrayStatus = TrayStatus.SIGNED_OUT
    tooltip: str = "pydt-tray"
    my_turns: tuple[Game, ...] = ()
    others: tuple[Game, ...] = ()
    signed_in: bool = False
    sign_out_text: str = "Sign out"
    connection: str = ""
    extra_actions: tuple[tuple[str, str], ...] = field(default=())
    disabled_actions: frozenset[str] = field(default=frozenset())  # extra actions shown greyed out
    status_lines: tuple[str, ...] = ()  # quiet hours, pause, vacation: shown under the header
    game_notes: dict[str, str] = field(default_factory=dict)  # game id -> "muted", countdown...
    game_menus: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # (game name, ((key, text), ...))
    smack_menus: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # games with unread smack talk


def menu_text(text: str) -> str:
    """``text`` for a menu entry, shown as it is: a single "&" would otherwise mark a shortcut and vanish."""
    return text.replace("&", "&&")


def game_label(game: Game, mine: bool, note: str = "") -> str:
    flags = " (congress turn)" if game.is_congress_turn else ""
    tail = f" · {note}" if note else ""
    if mine and game.is_first_turn:
        return f"{game.display_name} — {FIRST_SAVE_HINT}{tail}"
    if mine:
        return f"▶ {game.display_name}{flags} — round {game.round}{tail}"
    return f"{game.display_name}{flags} — round {game.round}{tail}"


class Tray(QObject):
    """Owns the QSystemTrayIcon when the desktop has a tray; works (invisibly) when it has none."""

    open_game = Signal(str)
    show_window = Signal()
    refresh_requested = Signal()
    sign_in_requested = Signal()
    sign_out_requested = Signal()
    quit_requested = Signal()
    action_requested = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = TrayModel()
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        self.icon: QSystemTrayIcon | None = None
        self.menu = QMenu()
        if self.available:
            self.icon = QSystemTrayIcon(tray_icon(TrayStatus.SIGNED_OUT), self)
            self.icon.setContextMenu(self.menu)
            self.icon.activated.connect(self._on_activated)
            self.icon.show()
        else:
            log.info("No system tray on this desktop: running without a tray icon")
        self.render(self.model)

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_window.emit()

    def render(self, model: TrayModel) -> None:
        self.model = model
        self._rebuild_menu()
        if self.icon is not None:
            self.icon.setIcon(tray_icon(model.status, len(model.my_turns)))
            self.icon.setToolTip(tooltip_text(model.tooltip))

    def _add(self, text: str, slot, enabled: bool = True) -> QAction:
        action = self.menu.addAction(menu_text(text))
        action.setEnabled(enabled)
        if slot is not None:
            action.triggered.connect(slot)
        return action

    def _rebuild_menu(self) -> None:
        model = self.model
        self.menu.clear()
        header = self._add(model.tooltip, None, enabled=False)
        header.setObjectName("tray-status")
        for line in model.status_lines:
            self._add(line, None, enabled=False)
        self.menu.addSeparator()
        if model.signed_in:
            notes = model.game_notes
            if model.my_turns:
                for game in model.my_turns[:MAX_MENU_GAMES]:
                    label = game_label(game, True, notes.get(game.game_id, ""))
                    self._add(label, lambda _=False, g=game.game_id: self.open_game.emit(g))
            else:
                self._add("No turns waiting", None, enabled=False)
            if model.others:
                others = self.menu.addMenu("Other games")
                for game in model.others[:MAX_MENU_GAMES]:
                    action = others.addAction(menu_text(game_label(game, False, notes.get(game.game_id, ""))))
                    action.triggered.connect(lambda _=False, g=game.game_id: self.open_game.emit(g))
            self._game_menus("Unread smack talk", model.smack_menus)
            self._game_menus("Snooze or mute a game", model.game_menus)
            self.menu.addSeparator()
        self._add("Show games", self.show_window.emit)
        self._add("Refresh now", self.refresh_requested.emit, enabled=model.signed_in)
        for key, text in model.extra_actions:
            enabled = key not in model.disabled_actions
            self._add(text, lambda _=False, k=key: self.action_requested.emit(k), enabled=enabled)
        if model.signed_in:
            self._add(model.sign_out_text, self.sign_out_requested.emit)
        else:
            self._add("Sign in…", self.sign_in_requested.emit)
        self.menu.addSeparator()
        self._add("Quit", self.quit_requested.emit)

    def _game_menus(self, title: str, menus: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]) -> None:
        """A submenu ``title`` holding one submenu of entries per game."""
        if not menus:
            return
        games = self.menu.addMenu(menu_text(title))
        for name, actions in menus[:MAX_MENU_GAMES]:
            per_game = games.addMenu(menu_text(name))
            for key, text in actions:
                entry = per_game.addAction(menu_text(text))
                entry.triggered.connect(lambda _=False, k=key: self.action_requested.emit(k))

    def hide(self) -> None:
        if self.icon is not None:
            self.icon.hide()


def tooltip_text(text: str) -> str:
    """The tooltip as the desktop shows it: text that Qt would take for markup (a game named "<b>…", say)
    is escaped into rich text that shows it literally; plain text stays as it is. (Not Qt's own helpers: they
    live in Qt's namespace, whose first use costs the hidden app about 1 MB, see platform/qt_light.py.)"""
    if "<" not in text:  # no tag, no comment: Qt shows it as plain text
        return text
    lines = escape_markup(text).split("\n")
    return '<p style="white-space:pre-wrap">' + "<br>".join(lines) + "</p>"
