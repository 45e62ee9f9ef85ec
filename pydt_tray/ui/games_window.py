"""The game list window: rendered from the same snapshot the tray uses (no API calls of its own).

Your turns come first, then the other games, each as a card with its name, game type, round, whose turn
it is, the last-turn or turn-timer text, badges and buttons. A play-turn panel (owned by the turn player)
sits above the list while a turn is in play.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from pydt_tray.core.account_view import MergedSnapshot
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.models import Game
from pydt_tray.ui.game_card import GameCard, card_time

CLOCK_REFRESH_MS = 30_000
NamesLookup = Callable[[str], "str | None"]
GameNote = Callable[[Game], str]  # "muted", "snoozed until …": shown on the card
GameActions = Callable[[Game], "tuple[tuple[str, str], ...]"]  # (action key, text) for the card's menu

STYLE = """
#gameList { background: palette(base); }
QFrame#card { border: 1px solid palette(mid); border-radius: 8px; background: palette(window); }
QFrame#card[mine="true"] { border: 1px solid #2f7d4a; border-left: 5px solid #2f7d4a; background: #eef7f0; }
QLabel#cardTitle { font-size: 12pt; font-weight: 600; }
QLabel#cardDetail { color: #505050; }
QLabel#section { font-weight: 600; color: #404040; padding: 6px 2px 0 2px; }
QLabel#account { font-weight: 700; font-size: 13pt; color: #202020; padding: 10px 2px 0 2px; }
QLabel#empty { color: #606060; padding: 24px; }
QLabel#loadError { color: #8a1f11; padding: 24px 24px 8px 24px; }
QLabel#notice { background: #fff4d6; color: #4a3a00; border: 1px solid #e0c060; border-radius: 5px; padding: 6px; }
QLabel.badge { border-radius: 6px; padding: 1px 7px; font-size: 8pt; font-weight: 600; }
QLabel#badge-congress { background: #f3d36b; color: #4a3a00; }
QLabel#badge-first { background: #d9e6f7; color: #1d3f6e; }
QLabel#badge-flag { background: #e3e3e3; color: #333333; }
QPushButton#play { background: #2f7d4a; color: white; border: none; border-radius: 5px; padding: 5px 14px;
                   font-weight: 600; }
QPushButton#play:hover { background: #276a3e; }
QPushButton#page { padding: 5px 10px; }
QLabel#smackNote { color: #7a4b00; font-weight: 600; }
"""


class GamesWindow(QWidget):
    """The list of games; ``play_requested(game_id)`` and ``open_game(game_id)`` come from the cards."""

    refresh_requested = Signal()  # Refresh, or Retry after a failed load
    sign_in_requested = Signal()
    open_game = Signal(str)
    play_requested = Signal(str)
    action_requested = Signal(str)  # a key from ``game_actions`` (snooze, mute...) or ``game_smack``

    def __init__(self, title: str = "pydt-tray", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(760, 560)
        self.setStyleSheet(STYLE)
        self.type_names: dict[str, str] = {}
        self.cards: list[GameCard] = []
        self._spare: dict[str, GameCard] = {}  # cards of the previous render, by game id, while rendering
        self.game_note: GameNote | None = None
        self.game_actions: GameActions | None = None
        self.game_smack: GameActions | None = None  # "Open smack talk", "Mark read" of a game with unread posts
        self._last: tuple[Snapshot | None, str, NamesLookup, str] | None = None

        self.status = QLabel("Not signed in")
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # may quote the service's error text
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh_requested.emit)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.refresh_button)
        self.notice = QLabel()  # something the user asked for that did not work (e.g. no web browser)
        self.notice.setObjectName("notice")
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.empty_label: QLabel | None = None  # what is shown while there is no list
        self.empty_button: QPushButton | None = None  # Retry or Sign in, while there is no list to show

        self.panel_slot = QVBoxLayout()  # the play-turn panel goes here
        self.list_widget = QWidget()
        self.list_widget.setObjectName("gameList")
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.setContentsMargins(8, 4, 8, 8)
        self.list_layout.setSpacing(8)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.list_widget)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.notice)
        layout.addLayout(self.panel_slot)
        layout.addWidget(scroll, 1)

        self.clock = QTimer(self)  # keeps "… ago" and the countdowns current while the window is open
        self.clock.setInterval(CLOCK_REFRESH_MS)
        self.clock.timeout.connect(self._refresh_clock)

    # ----- content ----------------------------------------------------------------------------------

    def set_panel(self, panel: QWidget) -> None:
        """Place the play-turn panel above the list (once)."""
        if self.panel_slot.indexOf(panel) < 0:
            self.panel_slot.addWidget(panel)

    def set_type_names(self, names: Mapping[str, str]) -> None:
        """Game type id -> display name (from the cached metadata); re-renders when it changes."""
        if dict(names) != self.type_names:
            self.type_names = dict(names)
            self._rerender()

    def show_notice(self, text: str) -> None:
        """A one-off message above the list ("" hides it); stays until replaced or the window is hidden."""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def update_view(
        self,
        snapshot: Snapshot | None,
        status: str,
        names: NamesLookup,
        *,
        now: datetime | None = None,
        error: str = "",
    ) -> None:
        """``error``: why the last load failed; without a list yet it is shown with a Retry button."""
        self._last = (snapshot, status, names, error)
        self.status.setText(status)
        self._clear()
        try:
            self._fill(snapshot, status, names, now or datetime.now(UTC), error)
        finally:
            self._end_render()

    def _fill(self, snapshot: Snapshot | None, status: str, names: NamesLookup, now: datetime, error: str) -> None:
        if snapshot is None:
            if status.startswith("signed out"):
                self._empty("Sign in to see your games.", ("Sign in…", self.sign_in_requested.emit))
            elif error:
                self._empty(f"Your games could not be loaded: {error}", ("Retry", self.refresh_requested.emit))
            else:
                self._empty("Loading your games…")
            return
        if not snapshot.games:
            self._empty("You have no games.")
            return
        if isinstance(snapshot, MergedSnapshot) and len(snapshot.parts) > 1:
            for part in snapshot.parts:  # several accounts: a header per account, its games under it
                self._section(part.name or part.steam_id, name="account")
                if not part.snapshot.games:
                    self._section("No games", name="section")
                self._fill_games(part.snapshot, names, now)
        else:
            self._fill_games(snapshot, names, now)
        self.list_layout.addStretch(1)

    def _fill_games(self, snapshot: Snapshot, names: NamesLookup, now: datetime) -> None:
        mine = snapshot.my_turns()
        others = snapshot.others()
        if mine:
            self._section(f"Your turn ({len(mine)})")
            for game in mine:
                self._add(game, True, names, now)
        if others:
            self._section(f"Other games ({len(others)})")
            for game in others:
                self._add(game, False, names, now)

    def _add(self, game: Game, mine: bool, names: NamesLookup, now: datetime) -> None:
        if mine:
            whose = "your turn"
        else:
            player = game.current_player_steam_id
            whose = f"{names(player) or player}'s turn" if player else "nobody's turn"
        type_name = self.type_names.get(game.game_type, game.game_type)
        note = self.game_note(game) if self.game_note is not None else ""
        actions = self.game_actions(game) if self.game_actions is not None else ()
        smack = self.game_smack(game) if self.game_smack is not None else ()
        kept = self._spare.pop(game.game_id, None)
        if kept is not None and kept.signature == (game, mine, type_name, whose, note, actions, smack):
            kept.set_time(card_time(game, now))  # unchanged game: the same card, no new widgets
            self.cards.append(kept)
            self.list_layout.addWidget(kept)
            return
        if kept is not None:
            self._discard(kept)
        card = GameCard(
            game,
            mine=mine,
            type_name=type_name,
            whose=whose,
            now=now,
            on_play=self.play_requested.emit,
            on_page=self.open_game.emit,
            note=note,
            actions=actions,
            on_action=self.action_requested.emit,
            smack=smack,
        )
        self.cards.append(card)
        self.list_layout.addWidget(card)

    def _section(self, text: str, name: str = "section") -> None:
        label = QLabel(text)
        label.setObjectName(name)  # "account": the header of one account's games
        self.list_layout.addWidget(label)

    def _empty(self, text: str, action: tuple[str, Callable[[], None]] | None = None) -> None:
        label = QLabel(text)
        label.setObjectName("loadError" if action and action[0] == "Retry" else "empty")
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.list_layout.addWidget(label)
        self.empty_label = label
        if action is not None:
            button = QPushButton(action[0])
            button.setObjectName("emptyAction")
            button.clicked.connect(action[1])
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(button)
            row.addStretch(1)
            holder = QWidget()
            holder.setLayout(row)
            self.list_layout.addWidget(holder)
            self.empty_button = button
        self.list_layout.addStretch(1)

    def _clear(self) -> None:
        """Empty the list; the game cards wait in ``_spare`` to be reused by the render that follows."""
        self._spare = {card.game_id: card for card in self.cards}
        self.cards = []
        self.empty_label = None
        self.empty_button = None
        while self.list_layout.count():
            item = self.list_layout.takeAt(0)
            if item is None:
                break
            widget = item.widget()
            if widget is not None and widget not in self._spare.values():
                self._discard(widget)

    def _end_render(self) -> None:
        """Cards of games no longer listed go."""
        for card in self._spare.values():
            self._discard(card)
        self._spare = {}

    @staticmethod
    def _discard(widget: QWidget) -> None:
        widget.hide()
        widget.deleteLater()

    def _rerender(self) -> None:
        if self._last is not None:
            snapshot, status, names, error = self._last
            self.update_view(snapshot, status, names, error=error)

    def _refresh_clock(self) -> None:
        if self.isVisible():
            self._rerender()

    # ----- queries (tests, screenshots) -------------------------------------------------------------

    def rows(self) -> list[list[str]]:
        """Each card as text: name, type, round, whose turn, time text, badges."""
        return [card.row() for card in self.cards]

    def headers(self) -> list[str]:
        """The account headers shown (several accounts), top to bottom."""
        items = (self.list_layout.itemAt(index) for index in range(self.list_layout.count()))
        widgets = [item.widget() for item in items if item is not None]
        return [w.text() for w in widgets if isinstance(w, QLabel) and w.objectName() == "account"]

    def card(self, game_id: str) -> GameCard | None:
        return next((card for card in self.cards if card.game_id == game_id), None)

    # ----- window -----------------------------------------------------------------------------------

    def showEvent(self, event) -> None:
        self.clock.start()
        self._rerender()
        super().showEvent(event)

    def hideEvent(self, event) -> None:
        self.clock.stop()
        self.show_notice("")
        super().hideEvent(event)

    def bring_to_front(self) -> None:
        self.show()
        self.setWindowState((self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive)
        self.raise_()
        self.activateWindow()
