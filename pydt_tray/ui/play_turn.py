"""The turn player's face: renders :class:`pydt_tray.core.turn_player.TurnPlayer` states in the panel of the
games window, words its notifications and forwards clicks. The rules of playing a turn live in the core."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from pydt_tray.platform.notifications import Notifier

if TYPE_CHECKING:
    from pydt_tray.core.turn_player import Turn, TurnHost, TurnPlayer, TurnState
    from pydt_tray.ui.games_window import GamesWindow
    from pydt_tray.ui.play_turn_panel import PanelView, PlayTurnPanel

log = logging.getLogger(__name__)

SUBMIT_ACTION = "submit:"
ExtraAction = tuple[str, Callable[["TurnPlayer"], object]]  # (button label, what a click does)


def open_external(url: str) -> bool:
    """Hand ``url`` to the OS unchanged: QUrl would percent-encode the backslash of ``steam://run/<id>/\\dx11``."""
    from PySide6.QtCore import QProcess

    try:
        if sys.platform == "win32":
            os.startfile(url)  # type: ignore[attr-defined]
            return True
        return bool(QProcess.startDetached("open" if sys.platform == "darwin" else "xdg-open", [url])[0])
    except OSError as error:
        log.warning("Could not open %s: %s", url, error)
        return False


def open_folder(path: Path) -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class TurnView(QObject):
    """Shows the turn in play; ``show_window()`` builds (once) and raises the games window.

    ``waiting_actions`` adds buttons while the player waits for the save (the demo's stand-in for the game).
    The player (and the core's turn code) is made on first use: a Play click, a tray entry, a Submit action.
    """

    state_changed = Signal(str)  # a TurnState value, after each step

    def __init__(
        self,
        make_player: Callable[[TurnHost], TurnPlayer],
        notifier: Notifier,
        show_window: Callable[[], None],
        *,
        waiting_actions: Mapping[str, ExtraAction] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.notifier = notifier
        self._show_window = show_window
        self.waiting_actions = dict(waiting_actions or {})
        self.open_url: Callable[[str], bool] = open_external  # starts the game (tests replace it)
        self.type_names: dict[str, str] = {}
        self.panel: PlayTurnPanel | None = None
        self._window: GamesWindow | None = None
        self._make_player = make_player
        self._player: TurnPlayer | None = None
        notifier.activated.connect(self.on_notification)

    @property
    def player(self) -> TurnPlayer:
        if self._player is None:
            self._player = self._make_player(self)
        return self._player

    def on_synced(self) -> None:
        """After each load: a turn in play checks it is still ours (nothing to do before the first turn)."""
        if self._player is not None:
            self._player.on_synced()

    def cancel(self) -> None:
        """At Quit: stop watching, drop late results."""
        if self._player is not None:
            self._player.cancel()

    def open_game(self, game_id: str, otherwise: Callable[[str], None]) -> None:
        """A tray entry: play the turn when it is a playable turn of ours, else ``otherwise(game_id)``."""
        if self.player.is_playable(game_id):
            self.player.play(game_id)
        else:
            otherwise(game_id)

    def attach_window(self, window: GamesWindow) -> None:
        """Put the panel into the games window and listen to its Play buttons (idempotent)."""
        if self._window is window:
            return
        self._window = window
        from pydt_tray.ui.play_turn_panel import PlayTurnPanel  # only with the window: a hidden app stays light

        self.panel = PlayTurnPanel({key: label for key, (label, _) in self.waiting_actions.items()})
        self.panel.action.connect(self._on_panel_action)
        window.set_panel(self.panel)
        window.play_requested.connect(lambda game_id: self.player.play(game_id))
        window.set_type_names(self.type_names)
        self.panel.show_view(self.view())

    def set_type_names(self, names: dict[str, str]) -> None:
        self.type_names = names
        if self._window is not None:
            self._window.set_type_names(names)

    def on_notification(self, key: str) -> None:
        """A notification action: ``submit:<game id>`` submits the detected save of that game."""
        if key.startswith(SUBMIT_ACTION):
            self.player.on_submit_action(key[len(SUBMIT_ACTION) :])

    # ----- TurnHost -----------------------------------------------------------------------------------

    def turn_changed(self, state: TurnState) -> None:
        self._render()
        self.state_changed.emit(state.value)

    def progress_changed(self, progress: tuple[int, int | None]) -> None:
        self._render()

    def save_detected(self, turn: Turn) -> None:
        assert turn.pending is not None
        self.notifier.notify(
            f"Submit this save for {turn.game.display_name}?",
            turn.pending.name,
            key=f"turn:{turn.game.game_id}",
            replace_group="play-turn",
            actions=[(SUBMIT_ACTION + turn.game.game_id, "Submit")],
        )

    def turn_submitted(self, turn: Turn) -> None:
        self.notifier.notify(
            "Turn submitted", turn.game.display_name, key=f"turn:{turn.game.game_id}", replace_group="play-turn"
        )

    def bring_to_front(self) -> None:
        self._show_window()

    def launch(self, url: str) -> bool:
        return self.open_url(url)

    # ----- clicks and rendering -----------------------------------------------------------------------

    def _on_panel_action(self, key: str) -> None:
        player = self.player
        if key in self.waiting_actions:
            self.waiting_actions[key][1](player)
            return
        actions: dict[str, Callable[[], None]] = {
            "submit": player.submit,
            "resubmit": player.submit,
            "ignore": player.ignore,
            "watch": player.ignore,
            "retry": player.retry,
            "open_folder": self._open_folder,
            "close": player.cancel,
            "cancel": player.cancel,
        }
        actions[key]()

    def _open_folder(self) -> None:
        turn = self.player.turn
        if turn is not None and turn.save_dir is not None:
            open_folder(turn.save_dir)

    def _render(self) -> None:
        if self.panel is not None:
            self.panel.show_view(self.view())

    def view(self) -> PanelView | None:
        from pydt_tray.core.turn_player import TurnState
        from pydt_tray.ui.play_turn_panel import PanelView

        player = self._player
        if player is None or player.state is TurnState.IDLE:
            return None
        turn, state = player.turn, player.state
        if turn is None:
            return PanelView("Cannot play this turn", player.message, tone="error", buttons=("close",))
        game = turn.game
        title = f"Playing {game.display_name}" + (" — congress turn" if game.is_congress_turn else "")
        title += f" · Round {game.round}"
        folder = str(turn.save_dir) if turn.save_dir else ""
        buttons: tuple[str, ...] = {
            TurnState.PREPARING: ("cancel",),
            TurnState.DOWNLOADING: ("cancel",),
            TurnState.WAITING: (*self.waiting_actions, "open_folder", "cancel"),
            TurnState.DETECTED: ("submit", "ignore", "open_folder", "cancel"),
            TurnState.UPLOADING: ("cancel",),
            TurnState.DONE: ("open_folder", "close"),
        }.get(state, ())
        tone = "normal"
        if state is TurnState.DONE:
            title, tone = f"Turn submitted: {game.display_name}", "done"
        elif state is TurnState.ERROR:
            tone = "error"
            if turn.failed_step == "submit" and turn.pending is not None:
                buttons = ("resubmit", "watch", "open_folder", "cancel")
            else:
                buttons = ("retry", "cancel") if not game.is_first_turn else ("close",)
        return PanelView(title, player.message, tone, player.progress, folder, buttons)
