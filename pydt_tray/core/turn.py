"""A turn in play: its states, what the player reports to its owner, and how failures are worded.

Used by :class:`pydt_tray.core.turn_player.TurnPlayer` and by the UI that renders it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydt_tray.core.api import PydtClient
from pydt_tray.core.api_errors import ApiError
from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.models import FIRST_SAVE_HINT, CivGame, Game
from pydt_tray.core.settings_table import SettingsSnapshot

FIRST_TURN_MESSAGE = "{name} has no save yet: " + FIRST_SAVE_HINT + "."
NOT_IN_LIST_MESSAGE = "That game is not in your game list (any more). Refresh and try again."
GRACE_SECONDS = 5.0  # the save watch ignores changes this soon after it was armed
STABLE_SECONDS = 2.0  # a save counts once its size and time stayed the same this long


class TurnState(enum.Enum):
    IDLE = "idle"
    PREPARING = "preparing"
    DOWNLOADING = "downloading"
    WAITING = "waiting"
    DETECTED = "detected"
    UPLOADING = "uploading"
    DONE = "done"
    ERROR = "error"


BUSY = (TurnState.PREPARING, TurnState.DOWNLOADING, TurnState.UPLOADING)


class TurnHost(Protocol):
    """What the player tells its owner; every call arrives on the owner's thread."""

    def turn_changed(self, state: TurnState) -> None:
        """A step set the state and its message (also when the state stays the same)."""

    def progress_changed(self, progress: tuple[int, int | None]) -> None:
        """Bytes done and total (None while unknown) of the transfer in flight."""

    def save_detected(self, turn: Turn) -> None:
        """A save is waiting for the user's Submit."""

    def turn_submitted(self, turn: Turn) -> None:
        """The turn of the current play was submitted (not called for a play cancelled meanwhile)."""

    def bring_to_front(self) -> None:
        """The user started playing: show where the turn is shown."""

    def launch(self, url: str) -> bool:
        """Start the game with ``url``; False when the OS refused."""


class Cancelled(Exception):
    """Raised from a progress callback to stop a transfer the user cancelled."""


@dataclass
class Turn:
    game: Game
    civ_game: CivGame | None = None
    save_dir: Path | None = None
    store: str = ""
    pending: Path | None = None  # the user's save, once detected
    failed_step: str = ""  # "download" or "submit" while in ERROR
    background: bool = False  # placed by auto_download: no window, no game launch
    archived: Path | None = None


def pick_store(civ_game: CivGame, settings: SettingsSnapshot) -> str:
    """The store to launch the game from: the user's choice when valid, else the detected one."""
    from pydt_tray.core.saves import base_dirs, detect_store  # when a turn is played, not at start

    return detect_store(civ_game, base_dirs(), choice=settings.per_game("store", civ_game.id) or "auto")


def failure_message(error: BaseException) -> str:
    """What the user reads about a failed step: the service's own words when it refused."""
    if isinstance(error, ApiError):
        return error.error_message or error.user_message  # verbatim, newlines kept
    if isinstance(error, PydtTrayError):
        return error.user_message
    return f"Something went wrong: {error}"


def game_type_names(client: PydtClient) -> dict[str, str]:
    """Game type id -> display name, from the service's metadata (raises PydtError)."""
    return {civ.id: civ.display_name for civ in client.get_metadata().civ_games}
