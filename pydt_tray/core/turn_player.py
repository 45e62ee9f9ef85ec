"""Playing one turn: download the save, watch for the user's save, submit it (docs/pydt-api.md §7.3-7.5, §8.5).

The player owns no threads and no timers, like :class:`pydt_tray.core.sync.SyncEngine`: the caller gives it
``run_in_background`` (network and disk steps), ``call_soon`` (hand results back to the owner's thread) and
``call_later`` (the save-folder polls and the delayed game launch). Every step bumps a run number, so a
result that arrives after :meth:`TurnPlayer.cancel` (or after a newer step started) is dropped. A submission
that completed is always archived and reported, even if Cancel was pressed while it was in flight.

What happens is reported to a :class:`TurnHost` (the UI): it renders the state and words the notifications.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydt_tray.core.api import PydtClient
from pydt_tray.core.api_errors import ApiError, AuthError
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.models import CivGame
from pydt_tray.core.settings_table import SettingsSnapshot
from pydt_tray.core.turn import (
    BUSY,
    FIRST_TURN_MESSAGE,
    GRACE_SECONDS,
    NOT_IN_LIST_MESSAGE,
    STABLE_SECONDS,
    Cancelled,
    Turn,
    TurnHost,
    TurnState,
    failure_message,
    game_type_names,
    pick_store,
)

if TYPE_CHECKING:  # the transfer and the save watch are imported when a turn is played: an idle app stays light
    from pydt_tray.core.save_watch import SaveWatcher

__all__ = ["Turn", "TurnHost", "TurnPlayer", "TurnState", "game_type_names"]

log = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.25
LAUNCH_DELAY_SECONDS = 0.5
PROGRESS_EVERY = 0.1  # seconds between progress reports handed to the owner's thread

Job = Callable[[], None]


class TurnPlayer:
    """One turn in play at a time. Call every method on the owner's thread."""

    def __init__(
        self,
        host: TurnHost,
        *,
        client: Callable[[], PydtClient | None],
        snapshot: Callable[[], Snapshot | None],
        settings: Callable[[], SettingsSnapshot],
        run_in_background: Callable[[Job], None],
        call_soon: Callable[[Job], None],
        call_later: Callable[[float, Job], None],
        request_sync: Callable[[str], None],
        on_auth_failed: Callable[[], None],
        locate_save_dir: Callable[[CivGame], Path],
        clock: Callable[[], float] = time.monotonic,
        client_for: Callable[[str], PydtClient | None] | None = None,
        auth_failed_for: Callable[[str], None] | None = None,
    ) -> None:
        """``client_for(game_id)`` and ``auth_failed_for(game_id)``, when given, pick the account whose turn the
        game is (several accounts signed in): its token downloads and submits, and a 401 signs out that one."""
        self.host = host
        self._snapshot = snapshot
        self.settings = settings
        self._run_in_background = run_in_background
        self._call_soon = call_soon
        self._call_later = call_later
        self._request_sync = request_sync
        self._client_for = client_for or (lambda _game_id: client())
        self._auth_failed_for = auth_failed_for or (lambda _game_id: on_auth_failed())
        self._clock = clock
        self._locate = locate_save_dir
        self.grace_seconds = GRACE_SECONDS
        self.stable_seconds = STABLE_SECONDS
        self.poll_interval = POLL_INTERVAL_SECONDS
        self.launch_delay = LAUNCH_DELAY_SECONDS
        self.state = TurnState.IDLE
        self.message = ""
        self.turn: Turn | None = None
        self.progress: tuple[int, int | None] | None = None
        self.watcher: SaveWatcher | None = None
        self._run = 0
        self._watch_run = 0
        self._auto_downloaded: set[tuple[str, int]] = set()  # (gameId, version) already placed in the background

    @property
    def watching(self) -> bool:
        return self.watcher is not None and self.watcher.armed

    # ----- decisions -----------------------------------------------------------------------------------

    def is_playable(self, game_id: str) -> bool:
        """Whether ``game_id`` is a turn of ours that has a save to download."""
        snapshot = self._snapshot()
        game = snapshot.by_id().get(game_id) if snapshot else None
        if snapshot is None or game is None:
            return False
        return any(mine.game_id == game_id for mine in snapshot.my_turns()) and not game.is_first_turn

    def on_synced(self) -> None:
        """After a load: with ``auto_download`` on and no turn in play, place the first new turn's save."""
        snapshot = self._snapshot()
        if snapshot is None or not self.settings().auto_download:
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

    def on_submit_action(self, game_id: str) -> None:
        """The notification's Submit: submits the detected save of ``game_id``, if that one is waiting."""
        if self.turn is None or self.turn.game.game_id != game_id or self.turn.pending is None:
            log.info("Ignoring a Submit click for %s: no save of that game is waiting", game_id)
            return
        if self.state in (TurnState.DETECTED, TurnState.ERROR):
            self.submit()

    # ----- steps ---------------------------------------------------------------------------------------

    def play(self, game_id: str, *, background: bool = False) -> None:
        """Download the turn of ``game_id`` into its save folder, then watch for the user's save.

        ``background`` (auto_download) does the same without showing the window or starting the game.
        """
        if not background:
            self.host.bring_to_front()
        if self.state in BUSY:
            log.info("A turn is already being transferred; finish or cancel it first")
            return
        snapshot = self._snapshot()
        game = snapshot.by_id().get(game_id) if snapshot else None
        client = self._client_for(game_id)
        self._stop_watching()
        if game is None or client is None:
            self.turn = None
            self._set(TurnState.ERROR, NOT_IN_LIST_MESSAGE)
            return
        from pydt_tray.core.transfer import TransferError, download_turn

        self.turn = Turn(game, background=background)
        if game.is_first_turn:
            self._fail_step("download", FIRST_TURN_MESSAGE.format(name=game.display_name))
            return
        run = self._next_run()
        self.progress = None
        self._set(TurnState.PREPARING, "Finding the save folder…")
        progress = self._progress_cb(run)

        def job() -> None:
            try:
                civ_game = client.get_metadata().civ_game(game.game_type)
                if civ_game is None:
                    raise TransferError(f"The PYDT service does not describe the game type {game.game_type}.")
                store = pick_store(civ_game, self.settings())
                save_dir = self._locate(civ_game)
                self._post(run, lambda: self._downloading(civ_game, store, save_dir))
                path = download_turn(client, game, civ_game, save_dir, progress=progress)
            except Exception as error:  # every failure is shown to the user
                self._post(run, functools.partial(self._failed, "download", error))
                return
            self._post(run, lambda: self._downloaded(path))

        self._run_in_background(job)

    def _downloading(self, civ_game: CivGame, store: str, save_dir: Path) -> None:
        assert self.turn is not None
        self.turn.civ_game, self.turn.store, self.turn.save_dir = civ_game, store, save_dir
        self.progress = (0, None)
        self._set(TurnState.DOWNLOADING, "Downloading the save…")

    def _downloaded(self, path: Path) -> None:
        turn = self.turn
        assert turn is not None and turn.civ_game is not None and turn.save_dir is not None
        log.info("Turn of %s placed in %s", turn.game.display_name, path)
        if self.settings().launch_game and not turn.background:
            from pydt_tray.core.transfer import launch_url

            url = launch_url(turn.civ_game, turn.store)
            if url:
                run = self._run
                self._call_later(self.launch_delay, lambda: self._launch(run, url))
        self._watch(f"Your turn is in the save folder as “{path.name}”. Load it, play, and save your game.")

    def _launch(self, run: int, url: str) -> None:
        if run == self._run and not self.host.launch(url):
            log.warning("Could not start the game with %s", url)

    def _watch(self, message: str) -> None:
        turn = self.turn
        assert turn is not None and turn.civ_game is not None and turn.save_dir is not None
        self._stop_watching()
        turn.pending = None
        self.progress = None
        from pydt_tray.core.save_watch import SaveWatcher

        self.watcher = SaveWatcher(
            turn.save_dir,
            turn.civ_game.save_extension,
            await_write_finish=turn.civ_game.await_write_finish,
            grace_seconds=self.grace_seconds,
            stable_seconds=self.stable_seconds,
            clock=self._clock,
        )
        self.watcher.arm()
        watch_run = self._watch_run
        self._call_later(self.poll_interval, lambda: self._poll(watch_run))
        self._set(TurnState.WAITING, message)

    def _poll(self, watch_run: int) -> None:
        if watch_run != self._watch_run or self.watcher is None:
            return
        found = self.watcher.poll()
        if found is None:
            self._call_later(self.poll_interval, lambda: self._poll(watch_run))
            return
        turn = self.turn
        assert turn is not None
        turn.pending = found
        if self.settings().auto_submit:
            log.info("Submitting %s at once (automatic submission is on)", found.name)
            self.submit()
            return
        self._set(TurnState.DETECTED, f"New save found: {found.name}")
        self.host.save_detected(turn)
        self.host.bring_to_front()

    def submit(self) -> None:
        """Upload the detected save and end the turn."""
        turn = self.turn
        client = self._client_for(turn.game.game_id) if turn is not None else None
        if turn is None or turn.pending is None or turn.save_dir is None or self.state in BUSY:
            return
        if client is None:
            self._fail_step("submit", "You are signed out: sign in again, then submit.")
            return
        from pydt_tray.core.transfer import TransferError, archive_after_submit, submit_turn

        run = self._next_run()
        game_id, save, folder = turn.game.game_id, turn.pending, turn.save_dir
        count = self.settings().archive_count
        extension = turn.civ_game.save_extension if turn.civ_game else None
        self.progress = (0, None)
        self._set(TurnState.UPLOADING, f"Uploading {save.name}…")
        progress = self._progress_cb(run)

        def job() -> None:
            try:
                submit_turn(client, game_id, save, progress=progress)
            except Exception as error:
                self._post(run, functools.partial(self._failed, "submit", error))
                return
            archived, problem = None, ""
            try:
                archived = archive_after_submit(game_id, save, folder, count, extension=extension)
            except TransferError as error:
                problem = error.user_message
            self._call_soon(lambda: self._submitted(run, game_id, archived, problem))

        self._run_in_background(job)

    def _submitted(self, run: int, game_id: str, archived: Path | None, problem: str) -> None:
        self._request_sync("turn submitted")
        if problem:
            log.warning("%s", problem)
        if run != self._run or self.turn is None:
            log.info("The turn of %s was submitted although it was cancelled late", game_id)
            return
        self.turn.archived = archived
        self.progress = None
        self._set(TurnState.DONE, f"Your save was moved to {archived}." if archived else problem)
        self.host.turn_submitted(self.turn)

    def _failed(self, step: str, error: BaseException) -> None:
        if isinstance(error, Cancelled):
            return
        message = failure_message(error)
        if isinstance(error, AuthError):
            self._fail_step(step, message)
            self._auth_failed_for(self.turn.game.game_id if self.turn else "")  # that account's session ends
            return
        if isinstance(error, ApiError) and error.status in (400, 404):
            self._request_sync("turn refused")  # the list was probably stale
        elif not isinstance(error, PydtTrayError):
            log.error("Unexpected failure while playing a turn", exc_info=error)
        log.warning("Turn %s failed: %s", step, message)
        self._fail_step(step, message)

    def _fail_step(self, step: str, message: str) -> None:
        if self.turn is not None:
            self.turn.failed_step = step
        self.progress = None
        self._set(TurnState.ERROR, message)

    def retry(self) -> None:
        if self.turn is not None:
            self.play(self.turn.game.game_id)

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
        self._watch_run += 1
        if self.watcher is not None:
            self.watcher.disarm()
            self.watcher = None

    # ----- plumbing ------------------------------------------------------------------------------------

    def _next_run(self) -> int:
        self._run += 1
        return self._run

    def _post(self, run: int, function: Job) -> None:
        """Run ``function`` on the owner's thread unless the step was cancelled or replaced meanwhile."""
        self._call_soon(lambda: function() if run == self._run else None)

    def _progress_cb(self, run: int) -> Callable[[int, int | None], None]:
        last = [float("-inf")]

        def progress(done: int, total: int | None) -> None:
            if run != self._run:
                raise Cancelled()
            now = self._clock()
            if now - last[0] >= PROGRESS_EVERY or (total is not None and done >= total):
                last[0] = now
                self._post(run, lambda: self._on_progress(done, total))

        return progress

    def _on_progress(self, done: int, total: int | None) -> None:
        if self.state in (TurnState.DOWNLOADING, TurnState.UPLOADING):
            self.progress = (done, total)
            self.host.progress_changed(self.progress)

    def _set(self, state: TurnState, message: str) -> None:
        self.state, self.message = state, message
        self.host.turn_changed(state)
