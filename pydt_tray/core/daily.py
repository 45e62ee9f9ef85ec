"""The everyday rules of one run, put together from the settings and the state file (Qt-free).

:class:`DailyRules` owns the quiet hours and pause (:class:`~pydt_tray.core.quiet.Quiet`), mute and snooze per
game (:class:`~pydt_tray.core.quiet.GamePrefs`), the user's vacation flag, the turn-timer warnings and the update
check, and says in words what the tray and the window show about them. The app passes :attr:`silence` to the
notification policy as its gate, calls :meth:`timer_warning` after each fetch and on a timer, and runs the
update check (:attr:`updates`) off the UI thread when :meth:`UpdateCheck.due` says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from pydt_tray.core.diff import Snapshot
from pydt_tray.core.models import Game
from pydt_tray.core.policy import Notification
from pydt_tray.core.quiet import GamePrefs, LocalTime, Quiet, Silence, hours_from_setting, local_time
from pydt_tray.core.settings_table import SettingsSnapshot
from pydt_tray.core.state import State
from pydt_tray.core.timers import TimerWarnings, countdown_text, warnings_from_setting
from pydt_tray.core.updates import UpdateCheck

PAUSE_HOUR = 3600.0
TIMER_TICK_SECONDS = 60.0

VACATION_ON_QUESTION = (
    "Turn on vacation mode on PYDT?\n\n"
    "While it is on, PYDT sends you no turn notifications at all (no push, e-mail or webhook), other players "
    "see you as away, and your games' vacation rules apply: a game may skip your turns at once, after its "
    "turn timer, or pause its timer for you. pydt-tray stops its reminders and timer warnings.\n\n"
    "Turn it off here or on the website when you are back."
)
VACATION_OFF_QUESTION = "Turn off vacation mode on PYDT? Turn notifications and reminders start again."


class SettingsSource(Protocol):
    def snapshot(self) -> SettingsSnapshot: ...


class DailyRules:
    """Quiet hours, pause, mute/snooze, vacation, timer warnings and update notice for the app."""

    def __init__(
        self,
        settings: SettingsSource,
        state: State,
        *,
        feed_url: str = "",
        inhibited: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.time,
        local: LocalTime = local_time,
    ) -> None:
        self._clock = clock
        self._local = local
        self._state = state
        self.away = False  # the user's PYDT vacation mode, as last seen
        self.quiet = Quiet(
            state.quiet, hours=lambda: hours_from_setting(settings.snapshot().quiet_hours), clock=clock, local=local
        )
        self.games = GamePrefs(state.games, clock=clock, local=local)
        self.silence = Silence(self.quiet, self.games, away=lambda: self.away, inhibited=inhibited)
        self.timers = TimerWarnings(
            state.timer_warned,
            points=lambda: warnings_from_setting(settings.snapshot().timer_warnings),
            final_in_quiet=lambda: settings.snapshot().timer_final_warning_in_quiet_hours,
            enabled=lambda: settings.snapshot().notifications_enabled,
            clock=clock,
            local=local,
        )
        self.updates = UpdateCheck(state.updates, url=feed_url, enabled=lambda: settings.snapshot().check_updates)

    def adopt_from_disk(self) -> bool:
        """Take mutes and snoozes another process (the command line) wrote into the state file."""
        return self._state.adopt_from_disk()

    # --- decisions ---------------------------------------------------------------------------------------

    def timer_warning(self, snapshot: Snapshot | None) -> Notification | None:
        return self.timers.check(snapshot, self.silence)

    def seconds_to_next_check(self, snapshot: Snapshot | None) -> float:
        """How long the app may wait before the next :meth:`timer_warning` (at most a minute)."""
        due = self.timers.next_due(snapshot)
        if due is None:
            return TIMER_TICK_SECONDS
        return max(0.0, min(TIMER_TICK_SECONDS, due - self._clock()))

    # --- words -------------------------------------------------------------------------------------------

    def status_lines(self) -> list[str]:
        """What the tray says about the silence (empty when pydt-tray speaks normally)."""
        lines: list[str] = []
        if self.away:
            lines.append("You are away (vacation mode): no turn notifications or reminders")
        quiet = self.quiet.status()
        if quiet:
            lines.append(quiet)
        return lines

    def game_note(self, game: Game, steam_id: str, *, countdown: bool = True) -> str:
        """The marks of a game in the window and the tray: muted, snoozed, the timer's countdown."""
        parts: list[str] = []
        if self.games.is_muted(game.game_id):
            parts.append("muted")
        snoozed = self.games.snoozed_until(game)
        if snoozed == "turn":
            parts.append("snoozed until its next turn")
        elif isinstance(snoozed, float):
            parts.append("snoozed until " + self._local(snoozed).strftime("%a %H:%M"))
        if countdown and game.is_your_turn(steam_id):
            text = countdown_text(game, self._clock())
            if text:
                parts.append(text)
        return " · ".join(parts)
