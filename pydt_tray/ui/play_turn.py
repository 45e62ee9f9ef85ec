"""Playing a turn from the tray: download the save, watch for the user's save, submit it (contract §7.3-7.5, §8.5).

:class:`TurnPlayer` runs every network and disk step on the app's background worker and gets the results
back on the GUI thread through the app's invoker; the save folder is polled by a QTimer. Each step bumps a
run number, so a result that arrives after Cancel (or after a newer step started) is dropped. A submission
that completed is always archived and reported, even if Cancel was pressed while it was in flight.
"""

from __future__ import annotations

import enum
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QProcess, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices

from pydt_tray.core.api import ApiError, AuthError, PydtError
from pydt_tray.core.models import CivGame, Game
from pydt_tray.core.save_watch import GRACE_SECONDS, STABLE_SECONDS, SaveWatcher
from pydt_tray.core.saves import SaveFolderError, base_dirs, detect_store, ensure_save_dir, save_dir_for, setting_key
from pydt_tray.core.transfer import (
    TransferError,
    archive_after_submit,
    download_name,
    download_turn,
    launch_url,
    sanitize_name,
    submit_turn,
)
from pydt_tray.ui.play_turn_panel import PanelView, PlayTurnPanel

if TYPE_CHECKING:
    from pydt_tray.app import TrayApp
    from pydt_tray.ui.games_window import GamesWindow

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = 250
LAUNCH_DELAY_MS = 500
PROGRESS_EVERY = 0.1  # seconds between progress updates sent to the GUI thread
SUBMIT_ACTION = "submit:"
CONGRESS_FLAG = "CIV6_CONGRESS_TURN"


def open_external(url: str) -> bool:
    """Hand ``url`` to the OS unchanged: QUrl would percent-encode the backslash of ``steam://run/<id>/\\dx11``."""
    try:
        if sys.platform == "win32":
            os.startfile(url)  # type: ignore[attr-defined]
            return True
        return bool(QProcess.startDetached("open" if sys.platform == "darwin" else "xdg-open", [url])[0])
    except OSError as error:
        log.warning("Could not open %s: %s", url, error)
        return False


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


class _Cancelled(Exception):
    """Raised from a progress callback to stop a transfer the user cancelled."""


@dataclass
class _Turn:
    game: Game
    civ_game: CivGame | None = None
    save_dir: Path | None = None
    store: str = ""
    pending: Path | None = None  # the user's save, once detected
    failed_step: str = ""  # "download" or "submit" while in ERROR
    background: bool = False  # placed by auto_download: no window, no game launch
    archived: Path | None = None


class TurnPlayer(QObject):
    """One turn in play at a time; its state is shown in a panel of the games window."""

    state_changed = Signal(str)  # a TurnState value
    submitted = Signal(str)  # game id, after a successful finishSubmit

    def __init__(self, app: TrayApp) -> None:
        super().__init__(app)
        self.app = app
        self.grace_seconds = GRACE_SECONDS
        self.stable_seconds = STABLE_SECONDS
        self.launch_delay_ms = LAUNCH_DELAY_MS
        self.open_url: Callable[[str], bool] = open_external  # starts the game (tests replace it)
        self.demo_saves = False  # the demo has no game: a button stands in for saving in it
        self.state = TurnState.IDLE
        self.message = ""
        self.turn: _Turn | None = None
        self.progress: tuple[int, int | None] | None = None
        self.watcher: SaveWatcher | None = None
        self.type_names: dict[str, str] = {}
        self.panel: PlayTurnPanel | None = None
        self._window: GamesWindow | None = None
        self._run = 0
        self._metadata_client: object | None = None
        self._auto_downloaded: set[tuple[str, int]] = set()  # (gameId, version) already placed in the background
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(POLL_INTERVAL_MS)
        self.poll_timer.timeout.connect(self._poll)

    # ----- wiring ------------------------------------------------------------------------------------

    def attach_window(self, window: GamesWindow) -> None:
        """Put the panel into the games window and listen to its Play buttons (idempotent)."""
        if self._window is window:
            return
        self._window = window
        self.panel = PlayTurnPanel()
        self.panel.action.connect(self._on_panel_action)
        window.set_panel(self.panel)
        window.play_requested.connect(self.play)
        window.set_type_names(self.type_names)
        self.panel.show_view(self._view())

    def _show_window(self) -> None:
        window = self.app.window  # built on first use; app.py attaches it to us
        self.attach_window(window)
        window.bring_to_front()

    def on_notification(self, key: str) -> None:
        """A notification action: ``submit:<game id>`` submits the detected save of that game."""
        if not key.startswith(SUBMIT_ACTION):
            return
        game_id = key[len(SUBMIT_ACTION) :]
        if self.turn is None or self.turn.game.game_id != game_id or self.turn.pending is None:
            log.info("Ignoring a Submit click for %s: no save of that game is waiting", game_id)
            return
        if self.state in (TurnState.DETECTED, TurnState.ERROR):
            self.submit()

    def open_game(self, game_id: str) -> None:
        """Tray entry: play the turn when it is a playable turn of ours, else open the game's web page."""
        snapshot = self.app.snapshot()
        game = snapshot.by_id().get(game_id) if snapshot else None
        if game is not None and game.is_your_turn(snapshot.steam_id) and not game.is_first_turn:
            self.play(game_id)
        else:
            self.app.open_game_page(game_id)

    def on_synced(self, _result: object = None) -> None:
        """After a load: place a new turn in the background (auto_download), and fetch the metadata once
        per session, for game type names and save folders."""
        self._auto_download()
        fetcher = self.app.fetcher
        if fetcher is None or fetcher.client is self._metadata_client:
            return
        client = self._metadata_client = fetcher.client

        def job() -> None:
            try:
                names = {civ.id: civ.display_name for civ in client.get_metadata().civ_games}
            except PydtError as error:
                log.info("Game metadata not loaded yet: %s", error.user_message)
                self.app.invoker.call_soon(lambda: setattr(self, "_metadata_client", None))
                return
            self.app.invoker.call_soon(lambda: self._set_type_names(names))

        self.app.worker.submit(job)

    def _auto_download(self) -> None:
        """With ``auto_download`` on and no turn in play, put the first new turn's save in its folder."""
        snapshot = self.app.snapshot()
        if snapshot is None or not self.app.ctx.settings.get("auto_download"):
            return
        if self.state not in (TurnState.IDLE, TurnState.DONE):
            return
        for game in snapshot.notifiable_turns():
            key = (game.game_id, game.version)
            if key not in self._auto_downloaded:
                self._auto_downloaded.add(key)
                log.info("Downloading the turn of %s in the background", game.display_name)
                self.play(game.game_id, background=True)
                return

    def _set_type_names(self, names: dict[str, str]) -> None:
        self.type_names = names
        if self._window is not None:
            self._window.set_type_names(names)

    # ----- steps -------------------------------------------------------------------------------------

    def play(self, game_id: str, *, background: bool = False) -> None:
        """Download the turn of ``game_id`` into its save folder, then watch for the user's save.

        ``background`` (auto_download) does the same without showing the window or starting the game.
        """
        if not background:
            self._show_window()
        if self.state in BUSY:
            log.info("A turn is already being transferred; finish or cancel it first")
            return
        snapshot = self.app.snapshot()
        game = snapshot.by_id().get(game_id) if snapshot else None
        fetcher = self.app.fetcher
        self._stop_watching()
        if game is None or fetcher is None:
            self.turn = None
            self._set(TurnState.ERROR, "That game is not in your game list (any more). Refresh and try again.")
            return
        self.turn = _Turn(game, background=background)
        if game.is_first_turn:
            self._fail_step("download", f"{game.display_name} has no save yet: upload the first save on the website.")
            return
        client, settings, run = fetcher.client, self.app.ctx.settings, self._next_run()
        self.progress = None
        self._set(TurnState.PREPARING, "Finding the save folder…")

        def job() -> None:
            try:
                civ_game = client.get_metadata().civ_game(game.game_type)
                if civ_game is None:
                    raise TransferError(f"The PYDT service does not describe the game type {game.game_type}.")
                store = _store(civ_game, settings)
                save_dir = ensure_save_dir(save_dir_for(civ_game, settings))
                self._post(run, lambda: self._downloading(civ_game, store, save_dir))
                path = download_turn(client, game, civ_game, save_dir, progress=self._progress_cb(run))
            except Exception as error:  # every failure is shown in the panel
                self._post(run, lambda failure=error: self._failed("download", failure))
                return
            self._post(run, lambda: self._downloaded(path))

        self.app.worker.submit(job)

    def _downloading(self, civ_game: CivGame, store: str, save_dir: Path) -> None:
        assert self.turn is not None
        self.turn.civ_game, self.turn.store, self.turn.save_dir = civ_game, store, save_dir
        self.progress = (0, None)
        self._set(TurnState.DOWNLOADING, "Downloading the save…")

    def _downloaded(self, path: Path) -> None:
        turn = self.turn
        assert turn is not None and turn.civ_game is not None and turn.save_dir is not None
        log.info("Turn of %s placed in %s", turn.game.display_name, path)
        if self.app.ctx.settings.get("launch_game") and not turn.background:
            url = launch_url(turn.civ_game, turn.store)
            if url:
                run = self._run
                QTimer.singleShot(self.launch_delay_ms, self, lambda: self._launch(run, url))
        self._watch(f"Your turn is in the save folder as “{path.name}”. Load it, play, and save your game.")

    def _launch(self, run: int, url: str) -> None:
        if run == self._run and not self.open_url(url):
            log.warning("Could not start the game with %s", url)

    def _watch(self, message: str) -> None:
        turn = self.turn
        assert turn is not None and turn.civ_game is not None and turn.save_dir is not None
        turn.pending = None
        self.progress = None
        self.watcher = SaveWatcher(
            turn.save_dir,
            turn.civ_game.save_extension,
            await_write_finish=turn.civ_game.await_write_finish,
            grace_seconds=self.grace_seconds,
            stable_seconds=self.stable_seconds,
        )
        self.watcher.arm()
        self.poll_timer.start()
        self._set(TurnState.WAITING, message)

    def _poll(self) -> None:
        found = self.watcher.poll() if self.watcher is not None else None
        if found is None:
            return
        self.poll_timer.stop()
        turn = self.turn
        assert turn is not None
        turn.pending = found
        if self.app.ctx.settings.get("auto_submit"):
            log.info("Submitting %s at once (automatic submission is on)", found.name)
            self.submit()
            return
        self._set(TurnState.DETECTED, f"New save found: {found.name}")
        self.app.notifier.notify(
            f"Submit this save for {turn.game.display_name}?",
            found.name,
            key=f"turn:{turn.game.game_id}",
            replace_group="play-turn",
            actions=[(SUBMIT_ACTION + turn.game.game_id, "Submit")],
        )
        self._show_window()

    def submit(self) -> None:
        """Upload the detected save and end the turn."""
        turn, fetcher = self.turn, self.app.fetcher
        if turn is None or turn.pending is None or turn.save_dir is None or self.state in BUSY:
            return
        if fetcher is None:
            self._fail_step("submit", "You are signed out: sign in again, then submit.")
            return
        client, run = fetcher.client, self._next_run()
        game_id, save, folder = turn.game.game_id, turn.pending, turn.save_dir
        count = int(self.app.ctx.settings.get("archive_count"))
        extension = turn.civ_game.save_extension if turn.civ_game else None
        self.progress = (0, None)
        self._set(TurnState.UPLOADING, f"Uploading {save.name}…")

        def job() -> None:
            try:
                submit_turn(client, game_id, save, progress=self._progress_cb(run))
            except Exception as error:
                self._post(run, lambda failure=error: self._failed("submit", failure))
                return
            archived, problem = None, ""
            try:
                archived = archive_after_submit(game_id, save, folder, count, extension=extension)
            except TransferError as error:
                problem = error.user_message
            self.app.invoker.call_soon(lambda: self._submitted(run, game_id, archived, problem))

        self.app.worker.submit(job)

    def _submitted(self, run: int, game_id: str, archived: Path | None, problem: str) -> None:
        self.app.request("turn submitted", full=True)
        self.submitted.emit(game_id)
        if problem:
            log.warning("%s", problem)
        if run != self._run or self.turn is None:
            log.info("The turn of %s was submitted although it was cancelled late", game_id)
            return
        self.turn.archived = archived
        self.progress = None
        where = f"Your save was moved to {archived}." if archived else problem
        self._set(TurnState.DONE, where)
        self.app.notifier.notify(
            "Turn submitted", self.turn.game.display_name, key=f"turn:{game_id}", replace_group="play-turn"
        )

    def _failed(self, step: str, error: BaseException) -> None:
        if isinstance(error, _Cancelled):
            return
        if isinstance(error, AuthError):
            self._fail_step(step, error.user_message)
            self.app.on_auth_failed()  # drops the session and asks for a new token
            return
        if isinstance(error, ApiError):
            message = error.error_message or error.user_message  # verbatim, newlines kept
            if error.status in (400, 404):
                self.app.request("turn refused", full=True)  # the list was probably stale
        elif isinstance(error, (PydtError, TransferError, SaveFolderError)):
            message = error.user_message
        else:
            log.error("Unexpected failure while playing a turn", exc_info=error)
            message = f"Something went wrong: {error}"
        log.warning("Turn %s failed: %s", step, message)
        self._fail_step(step, message)

    def _fail_step(self, step: str, message: str) -> None:
        if self.turn is not None:
            self.turn.failed_step = step
        self.progress = None
        self._set(TurnState.ERROR, message)

    def ignore(self) -> None:
        """Not this save: watch for another one (after the grace period)."""
        if self.turn is not None and self.turn.save_dir is not None and self.turn.civ_game is not None:
            self._watch("Watching for another save.")

    def cancel(self) -> None:
        """Stop whatever is going on; a downloaded turn and any save stay in the folder."""
        self._next_run()
        self._stop_watching()
        self.turn, self.progress = None, None
        self._set(TurnState.IDLE, "")

    def _stop_watching(self) -> None:
        self.poll_timer.stop()
        if self.watcher is not None:
            self.watcher.disarm()
            self.watcher = None

    def write_demo_save(self) -> Path | None:
        """Demo only: write the "save the player made", as the game would at the end of a turn."""
        turn = self.turn
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

    def open_folder(self) -> None:
        if self.turn is not None and self.turn.save_dir is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.turn.save_dir)))

    def _on_panel_action(self, key: str) -> None:
        actions: dict[str, Callable[[], None]] = {
            "submit": self.submit,
            "resubmit": self.submit,
            "ignore": self.ignore,
            "watch": self.ignore,
            "retry": lambda: self.play(self.turn.game.game_id) if self.turn else None,
            "open_folder": self.open_folder,
            "demo_save": self.write_demo_save,
            "close": self.cancel,
            "cancel": self.cancel,
        }
        actions[key]()

    # ----- plumbing ----------------------------------------------------------------------------------

    def _next_run(self) -> int:
        self._run += 1
        return self._run

    def _post(self, run: int, function: Callable[[], None]) -> None:
        """Run ``function`` on the GUI thread unless the step was cancelled or replaced meanwhile."""
        self.app.invoker.call_soon(lambda: function() if run == self._run else None)

    def _progress_cb(self, run: int) -> Callable[[int, int | None], None]:
        import time

        last = [0.0]

        def progress(done: int, total: int | None) -> None:
            if run != self._run:
                raise _Cancelled()
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY or (total is not None and done >= total):
                last[0] = now
                self._post(run, lambda: self._on_progress(done, total))

        return progress

    def _on_progress(self, done: int, total: int | None) -> None:
        if self.state in (TurnState.DOWNLOADING, TurnState.UPLOADING):
            self.progress = (done, total)
            self._render()

    def _set(self, state: TurnState, message: str) -> None:
        self.state, self.message = state, message
        self._render()
        self.state_changed.emit(state.value)

    def _render(self) -> None:
        if self.panel is not None:
            self.panel.show_view(self._view())

    def _view(self) -> PanelView | None:
        turn, state = self.turn, self.state
        if state is TurnState.IDLE:
            return None
        if turn is None:
            return PanelView("Cannot play this turn", self.message, tone="error", buttons=("close",))
        game = turn.game
        title = f"Playing {game.display_name}" + (" — congress turn" if CONGRESS_FLAG in game.flags else "")
        title += f" · Round {game.round}"
        folder = str(turn.save_dir) if turn.save_dir else ""
        buttons: tuple[str, ...] = {
            TurnState.PREPARING: ("cancel",),
            TurnState.DOWNLOADING: ("cancel",),
            TurnState.WAITING: ("demo_save", "open_folder", "cancel") if self.demo_saves else ("open_folder", "cancel"),
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
        return PanelView(title, self.message, tone, self.progress, folder, buttons)


def _store(civ_game: CivGame, settings: Any) -> str:
    """The store to launch the game from: the user's choice when valid, else the detected one."""
    try:
        choice = settings.get(setting_key("store", civ_game))
    except (KeyError, ValueError):
        choice = "auto"
    return detect_store(civ_game, base_dirs(), choice=choice if isinstance(choice, str) else "auto")


def install_play_turn(app: TrayApp) -> TurnPlayer:
    """Create the turn player and connect it: notification actions, tray game entries, loads, the window."""
    player = TurnPlayer(app)
    app.notifier.activated.connect(player.on_notification)
    try:
        app.tray.open_game.disconnect(app.open_game_page)
    except (RuntimeError, TypeError):
        log.debug("The tray's game entries were not connected to the web page")
    app.tray.open_game.connect(player.open_game)
    app.synced.connect(player.on_synced)
    return player
