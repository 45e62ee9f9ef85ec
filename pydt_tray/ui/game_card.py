"""One game of the game list as a card: title and badges, a detail line (type, round, whose turn, the
last-turn or turn-timer text) and its buttons; and the wording of those times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMenu, QPushButton, QSizePolicy, QVBoxLayout

from pydt_tray.core.models import CONGRESS_TURN_FLAG, FIRST_SAVE_HINT, Game


def span(seconds: float) -> str:
    """'3 hours and 12 minutes'-style text, at most two units, at least one minute."""
    seconds = max(60, int(seconds))
    units = (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60))
    parts: list[str] = []
    for name, size in units:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
        if len(parts) == 2:
            break
    return " and ".join(parts)


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """'3 hours and 12 minutes ago'-style text; 'just now' under a minute, 'never' without a date."""
    if moment is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    return span(seconds) + " ago"


def timer_deadline(game: Game) -> datetime | None:
    """When the game's turn timer runs out: (last turn end or last update) + turnTimerMinutes."""
    start = game.last_activity
    if not game.turn_timer_minutes or start is None:
        return None
    return start + timedelta(minutes=game.turn_timer_minutes)


def time_text(game: Game, now: datetime | None = None) -> str:
    """'timer expires in …' / 'timer expires soon' when the game has a turn timer, else 'last turn … ago'."""
    now = now or datetime.now(UTC)
    deadline = timer_deadline(game)
    if deadline is not None:
        left = (deadline - now).total_seconds()
        return f"timer expires in {span(left)}" if left > 0 else "timer expires soon"
    if game.last_activity is None:
        return "no turn played yet"
    return f"last turn {ago(game.last_activity, now)}"


def card_time(game: Game, now: datetime) -> str:
    return time_text(game, now) if not game.is_first_turn else "no save uploaded yet"


def badges_of(game: Game, mine: bool) -> list[tuple[str, str]]:
    """(object name, text) of each badge: congress turn, other flags raw, the first-turn hint."""
    badges: list[tuple[str, str]] = []
    for flag in game.flags:
        if flag == CONGRESS_TURN_FLAG:
            badges.append(("badge-congress", "congress turn"))
        else:
            badges.append(("badge-flag", flag))
    if mine and game.is_first_turn:
        badges.append(("badge-first", FIRST_SAVE_HINT))
    return badges


class GameCard(QFrame):
    """One game: title and badges, a detail line, and its buttons."""

    def __init__(
        self,
        game: Game,
        *,
        mine: bool,
        type_name: str,
        whose: str,
        now: datetime,
        on_play: Callable[[str], None],
        on_page: Callable[[str], None],
        note: str = "",
        actions: tuple[tuple[str, str], ...] = (),
        on_action: Callable[[str], None] | None = None,
        smack: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """``smack``: (key, text) of the smack talk entries ("Open smack talk", "Mark read") when the game has
        unread posts; the card then shows who wrote the newest one."""
        super().__init__()
        self.setObjectName("card")
        self.setProperty("mine", "true" if mine else "false")
        self.game_id = game.game_id
        self.game = game
        self.mine = mine
        self.menu_actions = actions
        self.title = game.display_name
        self.type_name = type_name
        self.round_text = f"Round {game.round}"
        self.whose = whose
        # a card with the same signature is reused as it is
        self.signature: tuple[object, ...] = (game, mine, type_name, whose, note, actions, smack)
        self.time = card_time(game, now)
        self.badges = [text for _, text in badges_of(game, mine)]
        self.note = note
        self.silence_menu: QMenu | None = None  # the snooze/mute choices, when the card has them
        self.unread_smack = bool(smack)

        title = self.title_label = QLabel(game.display_name)
        title.setObjectName("cardTitle")
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setWordWrap(True)  # a long name wraps instead of widening the window
        head = QHBoxLayout()
        head.setSpacing(6)
        head.addWidget(title)
        for name, text in badges_of(game, mine):
            badge = QLabel(text)
            badge.setTextFormat(Qt.TextFormat.PlainText)  # flags come from the service: never rich text
            badge.setObjectName(name)
            badge.setProperty("class", "badge")
            head.addWidget(badge)
        head.addStretch(1)

        self.detail = QLabel(" · ".join(part for part in (type_name, self.round_text, whose, self.time, note) if part))
        self.detail.setObjectName("cardDetail")
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setWordWrap(True)
        column = QVBoxLayout(self)  # buttons go under the text, so a narrow window never scrolls sideways
        column.setContentsMargins(12, 9, 10, 9)
        column.setSpacing(3)
        column.addLayout(head)
        column.addWidget(self.detail)

        self.buttons: list[QPushButton] = []  # the buttons shown, in order
        self.smack = smack
        self.smack_buttons: list[QPushButton] = []
        if smack and on_action is not None:
            author = game.latest_discourse_post_user or "someone"
            self.smack_label = QLabel(f"New smack talk by {author}")
            self.smack_label.setObjectName("smackNote")
            self.smack_label.setTextFormat(Qt.TextFormat.PlainText)  # the author's name comes from the service
            self.smack_label.setWordWrap(True)
            line = QHBoxLayout()
            line.addWidget(self.smack_label, 1)
            for key, text in smack:
                button = self._button(line, text, "smack", lambda _=False, k=key: on_action(k))
                self.smack_buttons.append(button)
            column.addLayout(line)
        self._on_play = on_play
        self._play: QPushButton | None = None  # made when the card first shows a turn of ours, then kept
        self._row = row = QHBoxLayout()
        row.addStretch(1)
        column.addLayout(row)
        self._page = self._button(row, "Open game page", "page", lambda: on_page(self.game_id))
        if actions and on_action is not None:
            silence = QPushButton("Snooze/mute")
            silence.setObjectName("silence")
            self.silence_menu = QMenu(silence)
            for key, text in actions:
                entry = self.silence_menu.addAction(text)
                entry.triggered.connect(lambda _=False, k=key: on_action(k))
            silence.setMenu(self.silence_menu)
            row.addWidget(silence)
            self.buttons.append(silence)
        self._show_play(mine and not game.is_first_turn)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

    def _button(self, row: QHBoxLayout, text: str, name: str, slot: Callable[..., None]) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(slot)
        row.addWidget(button)
        self.buttons.append(button)
        return button

    def _show_play(self, wanted: bool) -> None:
        play = self._play
        if wanted and play is None:
            play = self._play = QPushButton("Play turn")
            play.setObjectName("play")
            play.setCursor(Qt.CursorShape.PointingHandCursor)
            play.clicked.connect(lambda: self._on_play(self.game_id))
            self._row.insertWidget(self._row.indexOf(self._page), play)
        if play is None:
            return
        play.setVisible(wanted)
        if wanted and play not in self.buttons:
            self.buttons.insert(self.buttons.index(self._page), play)
        elif not wanted and play in self.buttons:
            self.buttons.remove(play)

    def show_game(
        self,
        game: Game,
        *,
        mine: bool,
        type_name: str,
        whose: str,
        now: datetime,
        note: str = "",
        actions: tuple[tuple[str, str], ...] = (),
        smack: tuple[tuple[str, str], ...] = (),
    ) -> bool:
        """Show ``game`` (the same game id) in this card, changing only what differs; False when its badges,
        menu entries or smack talk line differ (the caller builds a new card then)."""
        signature = (game, mine, type_name, whose, note, actions, smack)
        if signature == self.signature:
            self.set_time(card_time(game, now))
            return True
        if (
            actions != self.menu_actions
            or smack != self.smack
            or badges_of(game, mine) != badges_of(self.game, self.mine)
            or (smack and game.latest_discourse_post_user != self.game.latest_discourse_post_user)
        ):
            return False  # other badges, menu entries or smack talk line: built anew
        self.signature, self.game = signature, game
        self.title, self.type_name, self.whose, self.note = game.display_name, type_name, whose, note
        self.round_text = f"Round {game.round}"
        if self.title_label.text() != game.display_name:
            self.title_label.setText(game.display_name)
        if mine != self.mine:
            self.mine = mine
            self.setProperty("mine", "true" if mine else "false")
            self.style().unpolish(self)  # the style sheet styles a card of ours apart
            self.style().polish(self)
        self._show_play(mine and not game.is_first_turn)
        self.time = ""  # the detail line is written again below
        self.set_time(card_time(game, now))
        return True

    def set_time(self, text: str) -> None:
        """Only the time text changed (the clock moved on)."""
        if text != self.time:
            self.time = text
            parts = (self.type_name, self.round_text, self.whose, self.time, self.note)
            self.detail.setText(" · ".join(part for part in parts if part))

    def button(self, text: str) -> QPushButton | None:
        return next((button for button in self.buttons if button.text() == text), None)

    def row(self) -> list[str]:
        return [self.title, self.type_name, self.round_text, self.whose, self.time, ", ".join(self.badges)] + (
            [self.note] if self.note else []
        )
