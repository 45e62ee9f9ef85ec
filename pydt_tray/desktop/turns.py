"""Building the turn player for the signed-in accounts (each turn played with its own account's token), with
Qt timers and the app's worker thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from pydt_tray.core.models import CivGame
from pydt_tray.core.settings import Settings
from pydt_tray.desktop.accounts import Accounts

if TYPE_CHECKING:
    from pydt_tray.core.turn import TurnHost
    from pydt_tray.core.turn_player import TurnPlayer

Job = Callable[[], None]


def turn_player_factory(
    session: Accounts,
    settings: Settings,
    owner: QObject,
    *,
    run_in_background: Callable[[Job], None],
    call_soon: Callable[[Job], None],
) -> Callable[[TurnHost], TurnPlayer]:
    """A factory the turn view calls with itself as the host (on first use)."""

    def call_later(seconds: float, function: Job) -> None:
        QTimer.singleShot(int(seconds * 1000), owner, function)

    def locate_save_dir(civ_game: CivGame) -> Path:
        from pydt_tray.core.saves import ensure_save_dir, save_dir_for  # when a turn is played, not at start

        return ensure_save_dir(save_dir_for(civ_game, settings))

    def make(host: TurnHost) -> TurnPlayer:
        from pydt_tray.core.turn_player import TurnPlayer  # on the first turn played, not at start

        return TurnPlayer(
            host,
            client=session.client,
            snapshot=session.snapshot,
            settings=settings.snapshot,
            run_in_background=run_in_background,
            call_soon=call_soon,
            call_later=call_later,
            request_sync=lambda reason: session.request(reason, full=True),
            on_auth_failed=session.on_auth_failed,
            client_for=session.client_for,
            auth_failed_for=session.auth_failed_for,
            locate_save_dir=locate_save_dir,
        )

    return make
