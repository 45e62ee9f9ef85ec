"""The demo has no game to save a turn in: a button in the turn panel stands in for it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydt_tray.core.context import AppContext
from pydt_tray.core.transfer import download_name, sanitize_name
from pydt_tray.core.turn_player import TurnPlayer

if TYPE_CHECKING:
    from pydt_tray.gui import StartedApp

log = logging.getLogger(__name__)

DEMO_GRACE_SECONDS = 1.0


def write_demo_save(player: TurnPlayer) -> Path | None:
    """Write "the save the player made" into the turn's folder, as the game would at the end of a turn."""
    turn = player.turn
    if turn is None or turn.save_dir is None or turn.civ_game is None:
        return None
    downloaded = turn.save_dir / download_name(turn.civ_game.save_extension)
    name = sanitize_name(f"{turn.game.display_name} round {turn.game.round}.{turn.civ_game.save_extension}")
    path = turn.save_dir / name
    try:
        data = downloaded.read_bytes() if downloaded.exists() else b"demo save"
        path.write_bytes(data + b"\n(played in the demo)")
    except OSError as error:
        log.error("Could not write the demo save: %s", error)
        return None
    return path


DEMO_WAITING_ACTIONS = {"demo_save": ("Save the game (demo)", write_demo_save)}


def run_demo_gui(
    ctx: AppContext,
    *,
    hidden: bool,
    title_suffix: str,
    token: str | None,
    on_started: Callable[[StartedApp], None] | None = None,
) -> int:
    """The tray app with the demo's stand-in for the game (``token`` is the demo's, never stored);
    ``on_started(app)`` runs before the event loop (``--check`` watches the app through it)."""
    from pydt_tray.gui import run_gui
    from pydt_tray.ui.services import DEMO_AUTOSTART_REASON

    return run_gui(
        ctx,
        hidden=hidden,
        title_suffix=title_suffix,
        token=token,
        waiting_actions=DEMO_WAITING_ACTIONS,
        save_grace_seconds=DEMO_GRACE_SECONDS,
        on_started=on_started,
        login_items_off=DEMO_AUTOSTART_REASON,
    )
