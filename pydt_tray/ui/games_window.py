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
from pydt_tray.ui.game_card import GameCard

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
        self._sections: dict[str, QLabel] = {}  # the "Your turn" and "Other games" headings, kept between renders
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
        """``error``: why the last load failed; without a list yet it is shown with a Retry button.

        The list is updated in place: a card whose game did not change stays (only its time text follows the
        clock), a changed game gets a new card in its place, and only cards whose position changed move."""
        self._last = (snapshot, status, names, error)
        self.status.setText(status)
        self._spare = {card.game_id: card for card in self.cards}
        self.cards = []
        self.empty_label = None
        self.empty_button = None
        try:
            self._place(self._fill(snapshot, status, names, now or datetime.now(UTC), error))
        finally:
            self._end_render()

    def _fill(
        self, snapshot: Snapshot | None, status: str, names: NamesLookup, now: datetime, error: str
    ) -> list[QWidget]:
        """The widgets of the list, in order (cards reused where they can be)."""
        if snapshot is None:
            if status.startswith("signed out"):
                return self._empty("Sign in to see your games.", ("Sign in…", self.sign_in_requested.emit))
            if error:
                return self._empty(f"Your games could not be loaded: {error}", ("Retry", self.refresh_requested.emit))
            return self._empty("Loading your games…")
        if not snapshot.games:
            return self._empty("You have no games.")
        if isinstance(snapshot, MergedSnapshot) and len(snapshot.parts) > 1:
            widgets: list[QWidget] = []
            for part in snapshot.parts:  # several accounts: a header per account, its games under it
                account = part.steam_id
                widgets.append(self._section(f"{account}:account", part.name or part.steam_id, name="account"))
                if not part.snapshot.games:
                    widgets.append(self._section(f"{account}:none", "No games"))
                widgets += self._fill_games(part.snapshot, names, now, account)
            return widgets
        return self._fill_games(snapshot, names, now)

    def _fill_games(self, snapshot: Snapshot, names: NamesLookup, now: datetime, key: str = "") -> list[QWidget]:
        widgets: list[QWidget] = []
        mine = snapshot.my_turns()
        others = snapshot.others()
        if mine:
            widgets.append(self._section(f"{key}:mine", f"Your turn ({len(mine)})"))
            widgets += [self._add(game, True, names, now) for game in mine]
        if others:
            widgets.append(self._section(f"{key}:others", f"Other games ({len(others)})"))
            widgets += [self._add(game, False, names, now) for game in others]
        return widgets

    def _place(self, widgets: list[QWidget]) -> None:
        """Make the list show ``widgets`` in this order above the closing stretch, moving as few as possible."""
        layout = self.list_layout
        if layout.count() == 0:
            layout.addStretch(1)  # stays last: every widget goes in before it
        for index, widget in enumerate(widgets):
            item = layout.itemAt(index)
            if item is not None and item.widget() is widget:
                continue  # already in place: no layout work for it
            if layout.indexOf(widget) >= 0:
                layout.removeWidget(widget)
            layout.insertWidget(index, widget)
            if widget.isHidden() and widget in self._sections.values():
                widget.show()  # a section heading that was hidden while it had no games
        while layout.count() > len(widgets) + 1:  # what is left between the list and the stretch goes
            item = layout.takeAt(len(widgets))
            left = item.widget() if item is not None else None
            if left is None:
                continue
            if left in self._sections.values():
                left.hide()  # kept for later renders
            elif left not in self._spare.values():  # spare cards go in _end_render
                self._discard(left)

    def _add(self, game: Game, mine: bool, names: NamesLookup, now: datetime) -> GameCard:
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
        if kept is not None and kept.show_game(
            game, mine=mine, type_name=type_name, whose=whose, now=now, note=note, actions=actions, smack=smack
        ):
            self.cards.append(kept)  # the same card, its texts updated where the game changed: no new widgets
            return kept
        if kept is not None:  # other buttons or badges: a new card takes its place
            self.list_layout.removeWidget(kept)
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
        return card

    def _section(self, key: str, text: str, name: str = "section") -> QLabel:
        """The heading ``key`` (kept between renders), showing ``text``; ``name`` "account": one account's."""
        label = self._sections.get(key)
        if label is None:
            label = self._sections[key] = QLabel(text)
            label.setObjectName(name)
        elif label.text() != text:
            label.setText(text)
        return label

    def _empty(self, text: str, action: tuple[str, Callable[[], None]] | None = None) -> list[QWidget]:
        label = QLabel(text)
        label.setObjectName("loadError" if action and action[0] == "Retry" else "empty")
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label = label
        if action is None:
            return [label]
        button = QPushButton(action[0])
        button.setObjectName("emptyAction")
        button.clicked.connect(action[1])
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button)
        row.addStretch(1)
        holder = QWidget()
        holder.setLayout(row)
        self.empty_button = button
        return [label, holder]

    def _end_render(self) -> None:
        """Cards of games no longer listed (or replaced by a new card) go."""
        for card in self._spare.values():
            self.list_layout.removeWidget(card)
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
