"""The game list window: rendered from the same snapshot the tray uses (no API calls of its own)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pydt_tray.core.diff import Snapshot
from pydt_tray.core.models import Game

COLUMNS = ("Game", "Type", "Round", "Whose turn", "Last turn")


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """'3 hours and 12 minutes ago'-style text, at most two units."""
    if moment is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = int((now - moment).total_seconds())
    if seconds < 60:
        return "just now"
    units = (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60))
    parts: list[str] = []
    for name, size in units:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
        if len(parts) == 2:
            break
    return " and ".join(parts) + " ago"


class GamesWindow(QWidget):
    refresh_requested = Signal()
    open_game = Signal(str)

    def __init__(self, title: str = "pydt-tray", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(720, 360)
        self.status = QLabel("Not signed in")
        self.status.setObjectName("status")
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh_requested.emit)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(refresh)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.itemActivated.connect(lambda item, _col: self.open_game.emit(item.data(0, Qt.ItemDataRole.UserRole)))
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tree)

    def render(self, snapshot: Snapshot | None, status: str, names: Callable[[str], str | None]) -> None:
        self.status.setText(status)
        self.tree.clear()
        if snapshot is None:
            return
        for game in snapshot.games:
            self.tree.addTopLevelItem(self._item(game, game.is_your_turn(snapshot.steam_id), names))
        for column in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(column)

    def _item(self, game: Game, mine: bool, names: Callable[[str], str | None]) -> QTreeWidgetItem:
        title = game.display_name + (" (congress turn)" if "CIV6_CONGRESS_TURN" in game.flags else "")
        if mine:
            whose = "You — upload the first save on the website" if game.is_first_turn else "You"
        else:
            whose = names(game.current_player_steam_id) or game.current_player_steam_id or "—"
        item = QTreeWidgetItem([title, game.game_type, str(game.round), whose, ago(game.last_activity)])
        item.setData(0, Qt.ItemDataRole.UserRole, game.game_id)
        if mine:
            font = item.font(0)
            font.setBold(True)
            for column in range(len(COLUMNS)):
                item.setFont(column, font)
        return item

    def rows(self) -> list[list[str]]:
        """The table as text (tests, screenshots)."""
        return [
            [self.tree.topLevelItem(i).text(c) for c in range(len(COLUMNS))]
            for i in range(self.tree.topLevelItemCount())
        ]

    def bring_to_front(self) -> None:
        self.show()
        self.setWindowState((self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive)
        self.raise_()
        self.activateWindow()
