"""The everyday controls in the GUI: pause, "I'm away", per-game snooze and mute, timer warnings, update notice.

:class:`DailyController` drives :class:`pydt_tray.core.daily.DailyRules` from the Qt side. It gets narrow
dependencies only: ``notify`` (show a policy Notification), ``run_in_background``/``call_soon`` (the app's
worker thread and main-thread hand-off), ``session`` (the signed-in PYDT client, or None, and the latest
games) and ``confirm`` (ask the user a yes/no question); it emits ``changed`` when there is something to save
and show.
:func:`rules_for` builds the rules of a run from its context.

Action keys (tray entries, window buttons and notification buttons all use them) start with ``daily:``:
``daily:pause-1h``, ``daily:pause-morning``, ``daily:resume``, ``daily:away``, ``daily:update``, and per game
``daily:snooze-1h:<id>``, ``daily:snooze-tomorrow:<id>``, ``daily:snooze-turn:<id>``, ``daily:unsnooze:<id>``,
``daily:mute:<id>``, ``daily:unmute:<id>``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from pydt_tray.core.api import PydtClient
from pydt_tray.core.api_errors import PydtError
from pydt_tray.core.context import AppContext
from pydt_tray.core.daily import PAUSE_HOUR, VACATION_OFF_QUESTION, VACATION_ON_QUESTION, DailyRules
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.models import Game, User
from pydt_tray.core.policy import Notification
from pydt_tray.core.sync import SyncResult
from pydt_tray.core.updates import feed_url
from pydt_tray.platform.dnd import InhibitionWatch
from pydt_tray.ui.confirm import ask_user

log = logging.getLogger(__name__)

PREFIX = "daily:"
UPDATE_RECHECK_MS = 60 * 60 * 1000  # how often "is a check due?" is asked; the check itself is daily
SETTING_KEYS = frozenset(
    {"quiet_hours", "timer_warnings", "timer_final_warning_in_quiet_hours", "notifications_enabled"}
)
SNOOZES = (("1h", "Snooze for 1 hour"), ("tomorrow", "Snooze until tomorrow"), ("turn", "Snooze until its next turn"))


def _open_in_browser(url: str) -> object:
    import webbrowser  # only when a link is opened: a resident app does not keep it loaded

    return webbrowser.open(url)


class SessionView(Protocol):
    def client(self) -> PydtClient | None: ...

    def snapshot(self) -> Snapshot | None: ...


def rules_for(ctx: AppContext) -> DailyRules:
    """The everyday rules of a run: its settings and state file, its release feed, the desktop's do-not-disturb."""
    feed = feed_url(ctx.environ, ctx.endpoints.api_url)
    return DailyRules(ctx.settings, ctx.state, feed_url=feed, inhibited=InhibitionWatch())


class DailyController(QObject):
    """Pause, away, per-game silence, timer warnings and the update notice for the running app."""

    away_failed = Signal(str)  # the vacation switch did not go through: the reason, for the user
    changed = Signal()  # something to save in the state file and to show changed

    def __init__(
        self,
        rules: DailyRules,
        session: SessionView,
        notify: Callable[[Notification], None],
        threads: Mapping[str, Callable[[Callable[[], None]], None]],
        *,
        confirm: Callable[[str], bool] = ask_user,
        open_url: Callable[[str], object] | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``threads`` holds ``run_in_background`` and ``call_soon``, as the app hands them to every part."""
        super().__init__(parent)
        self.rules = rules
        self._notify = notify
        self._run_in_background = threads["run_in_background"]
        self._call_soon = threads["call_soon"]
        self._client = session.client
        self._snapshot = session.snapshot
        self.confirm = confirm  # replaceable: tests answer for the user
        self._open_url = open_url or _open_in_browser
        self.away_busy = False
        self._seen_away: bool | None = None  # the vacation mode of the last fetched user
        self._update_busy = False
        self._stopped = False
        self.timer = QTimer(self)  # the next turn-timer warning (at most a minute away)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.tick)
        self.update_timer = QTimer(self)
        self.update_timer.setInterval(UPDATE_RECHECK_MS)
        self.update_timer.timeout.connect(self.check_updates)

    # --- life cycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        self._stopped = False
        self.update_timer.start()
        self.check_updates()
        self._arm()

    def stop(self) -> None:
        self._stopped = True
        self.timer.stop()
        self.update_timer.stop()

    # --- from the app --------------------------------------------------------------------------------

    def on_user(self, user: User | None) -> None:
        """The user as fetched: a change of its vacation mode (switched on the website) is taken over.

        Only a change counts, so a user object fetched before the switch here does not undo it.
        """
        if user is None or user.vacation_mode == self._seen_away:
            return
        self._seen_away = user.vacation_mode
        if not self.away_busy and user.vacation_mode != self.rules.away:
            self.rules.away = user.vacation_mode
            log.info("Vacation mode is %s", "on" if user.vacation_mode else "off")
            self.changed.emit()

    def on_synced(self, result: SyncResult | None = None) -> None:
        """After each fetch: the user's vacation mode, a timer warning that became due, re-arm for the next."""
        if result is not None:
            self.on_user(result.outcome.user)
        self.tick()

    def or_else(self, fallback: Callable[[str], None]) -> Callable[[str], None]:
        """A handler of action keys: ours are carried out here, any other goes to ``fallback``."""

        def dispatch(key: str) -> None:
            if not self.handle(key):
                fallback(key)

        return dispatch

    def tick(self) -> None:
        if self._stopped:
            return
        if self.rules.adopt_from_disk():
            log.info("Mute or snooze changed from the command line")
            self.changed.emit()
        note = self.rules.timer_warning(self._snapshot())
        if note is not None:
            self._notify(note)
            self.changed.emit()
        self._arm()

    def _arm(self) -> None:
        if self._stopped:
            return
        seconds = self.rules.seconds_to_next_check(self._snapshot())
        self.timer.start(int(seconds * 1000) + 1)

    def on_setting_changed(self, key: str, _value: object) -> None:
        """A settings listener: quiet hours and timer warnings apply at once, an enabled check runs now."""
        if key in SETTING_KEYS:
            self.tick()
            self.changed.emit()
        elif key == "check_updates":
            self.check_updates()
            self.changed.emit()

    # --- menus and buttons ---------------------------------------------------------------------------

    def tray_actions(self) -> tuple[tuple[str, str], ...]:
        """Tray menu entries as (key, text)."""
        actions: list[tuple[str, str]] = []
        release = self.rules.updates.available()
        if release is not None:
            actions.append((PREFIX + "update", f"Update available: pydt-tray {release.version}…"))
        if self.rules.quiet.is_quiet():
            actions.append((PREFIX + "resume", "Resume notifications"))
        else:
            actions.append((PREFIX + "pause-1h", "Pause notifications for 1 hour"))
            actions.append((PREFIX + "pause-morning", "Pause notifications until tomorrow morning"))
        actions.append((PREFIX + "away", ("✓ " if self.rules.away else "") + "I'm away (vacation mode)"))
        return tuple(actions)

    def status_lines(self) -> list[str]:
        return self.rules.status_lines()

    def game_note(self, game: Game, steam_id: str, *, countdown: bool = True) -> str:
        return self.rules.game_note(game, steam_id, countdown=countdown)

    def game_actions(self, game: Game) -> tuple[tuple[str, str], ...]:
        """Per-game entries as (key, text): snooze choices or unsnooze, mute or unmute."""
        gid = game.game_id
        prefs = self.rules.games
        actions: list[tuple[str, str]] = []
        if prefs.snoozed_until(game) is not None:
            actions.append((f"{PREFIX}unsnooze:{gid}", "End the snooze"))
        else:
            actions += [(f"{PREFIX}snooze-{choice}:{gid}", text) for choice, text in SNOOZES]
        if prefs.is_muted(gid):
            actions.append((f"{PREFIX}unmute:{gid}", "Unmute this game"))
        else:
            actions.append((f"{PREFIX}mute:{gid}", "Mute this game"))
        return tuple(actions)

    @staticmethod
    def notification_actions(note: Notification) -> tuple[tuple[str, str], ...]:
        """Buttons for a notification about one game's turn (desktops without buttons ignore them)."""
        if note.kind not in ("turn", "reminder", "timer") or len(note.game_ids) != 1:
            return ()
        gid = note.game_ids[0]
        return ((f"{PREFIX}snooze-1h:{gid}", "Snooze 1 h"), (f"{PREFIX}mute:{gid}", "Mute this game"))

    def handle(self, key: str) -> bool:
        """Carry out an action key; False when it is not one of ours."""
        if not key.startswith(PREFIX):
            return False
        what, _, game_id = key[len(PREFIX) :].partition(":")
        quiet = self.rules.quiet
        if what == "pause-1h":
            quiet.pause_for(PAUSE_HOUR)
        elif what == "pause-morning":
            quiet.pause_until_morning()
        elif what == "resume":
            quiet.resume()
        elif what == "away":
            self.set_away(not self.rules.away)
            return True
        elif what == "update":
            release = self.rules.updates.available()
            if release is not None and release.url:
                self._open_url(release.url)
            return True
        elif not (game_id and self._game_action(what, game_id)):
            return False
        self.changed.emit()
        return True

    def _game_action(self, what: str, game_id: str) -> bool:
        prefs = self.rules.games
        if what == "mute":
            prefs.mute(game_id)
        elif what == "unmute":
            prefs.unmute(game_id)
        elif what == "unsnooze":
            prefs.unsnooze(game_id)
        elif what.startswith("snooze-"):
            game = self._game(game_id)
            try:
                described = prefs.snooze(game_id, what[len("snooze-") :], game)
            except ValueError as error:
                log.info("Snooze of %s not done: %s", game_id, error)
                return True
            log.info("Snoozed %s %s", game_id, described)
        else:
            return False
        return True

    def _game(self, game_id: str) -> Game | None:
        snapshot = self._snapshot()
        return snapshot.by_id().get(game_id) if snapshot is not None else None

    # --- vacation ------------------------------------------------------------------------------------

    def set_away(self, on: bool) -> None:
        """Ask, then switch PYDT's vacation mode off the UI thread; the tray follows the service's answer."""
        client = self._client()
        if client is None or self.away_busy:
            return
        if not self.confirm(VACATION_ON_QUESTION if on else VACATION_OFF_QUESTION):
            return
        self.away_busy = True

        def job() -> None:
            try:
                user = client.set_vacation_mode(on)
            except PydtError as error:
                message = error.user_message
                self._call_soon(lambda: self._away_done(None, message))
                return
            except Exception:  # a bug must not leave the switch busy for good
                log.exception("Switching vacation mode failed unexpectedly")
                self._call_soon(lambda: self._away_done(None, "an unexpected error (details in the log)"))
                return
            self._call_soon(lambda: self._away_done(user, ""))

        self._run_in_background(job)

    def _away_done(self, user: User | None, error: str) -> None:
        self.away_busy = False
        if user is None:
            log.error("Vacation mode not switched: %s", error)
            self.away_failed.emit(error)
        else:
            self.rules.away = user.vacation_mode
            log.info("Vacation mode switched %s", "on" if user.vacation_mode else "off")
        self.changed.emit()

    # --- updates -------------------------------------------------------------------------------------

    def check_updates(self) -> None:
        updates = self.rules.updates
        if self._stopped or self._update_busy or not updates.due():
            return
        self._update_busy = True

        def job() -> None:
            try:
                updates.check()
            except Exception:  # a bug in the check must not end in a silent dead thread
                log.exception("The update check failed")
            try:
                self._call_soon(self._update_done)
            except RuntimeError:  # the app is gone (it quit while the feed was asked)
                log.debug("Update check finished after the app quit")

        threading.Thread(target=job, name="pydt-update-check", daemon=True).start()  # never delays a fetch

    def _update_done(self) -> None:
        self._update_busy = False
        if self._stopped:
            return
        note = self.rules.updates.notification()
        if note is not None:
            self._notify(note)
        self.changed.emit()
