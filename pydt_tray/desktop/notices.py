"""Turn notifications: a new turn after a load, reminders for turns still waiting, "sign in again"; with the
everyday rules also the quiet-hours summary, turn-timer warnings and the update notice (all through :meth:`show`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from pydt_tray.core.account_view import MergedSnapshot
from pydt_tray.core.context import AppContext
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.policy import Gate, NameLookup, Notification, NotificationPolicy
from pydt_tray.core.sync import SyncResult
from pydt_tray.desktop.smack import smack_for  # smack talk notices, built for the app with the others
from pydt_tray.platform.notifications import Notifier

__all__ = ["GAMES_KEY", "SIGN_IN_KEY", "Notices", "notices_for", "policies_for", "policy_for", "smack_for"]

REMINDER_CHECK_MS = 60_000
SIGN_IN_KEY = "sign-in"
GAMES_KEY = "games"
UPDATE_KEY = "daily:update"
# notifications of one kind replace each other: one reminder, one timer warning, one update notice on screen
REPLACE_GROUPS = {"reminder": "reminder", "summary": "reminder", "timer": "timer", "update": "update"}
ActionsFor = Callable[[Notification], "tuple[tuple[str, str], ...]"]


def policy_for(ctx: AppContext, gate: Gate | None = None, steam_id: str | None = None) -> NotificationPolicy:
    """The notification policy, remembering notified turns in the state file (in the part of account
    ``steam_id``), following the settings; ``gate`` (quiet hours, mute, snooze, away) decides when it keeps
    silent."""
    settings = ctx.settings
    return NotificationPolicy(
        ctx.state.account(steam_id) if steam_id else ctx.state,
        enabled=lambda: settings.snapshot().notifications_enabled,
        reminder_minutes=lambda: settings.snapshot().reminder_minutes,
        gate=gate,
    )


def policies_for(ctx: AppContext, gate: Gate | None = None) -> Callable[[Snapshot], NotificationPolicy]:
    """One policy per account (each remembers its own notified turns), chosen by the snapshot's account."""
    made: dict[str, NotificationPolicy] = {}

    def policy_of(snapshot: Snapshot) -> NotificationPolicy:
        if snapshot.steam_id not in made:
            made[snapshot.steam_id] = policy_for(ctx, gate, snapshot.steam_id or None)
        return made[snapshot.steam_id]

    return policy_of


class AccountsView(Protocol):
    """What the notices need of the signed-in accounts."""

    def snapshot(self) -> Snapshot | None: ...

    def name_of(self, steam_id: str) -> str | None: ...

    def label_of(self, steam_id: str) -> str: ...


def notices_for(
    ctx: AppContext,
    notifier: Notifier,
    gate: Gate,
    accounts: AccountsView,
    save_state: Callable[[], None],
    parent: QObject,
) -> Notices:
    """The app's notices: each account's loads judged by its own policy (its own notified turns in the state
    file), named by the account while several are signed in."""
    notices = Notices(notifier, policy_for(ctx, gate=gate), accounts.snapshot, accounts.name_of, save_state, parent)
    notices.use_accounts(policies_for(ctx, gate=gate), accounts.label_of)
    return notices


class Notices(QObject):
    """Asks the policy (of the account a load is for) what to say and hands it to the notifier."""

    notified = Signal(object)  # a Notification, after it was handed to the notifier

    def __init__(
        self,
        notifier: Notifier,
        policy: NotificationPolicy,
        snapshot: Callable[[], Snapshot | None],
        names: NameLookup,
        save_state: Callable[[], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._policy_of: Callable[[Snapshot], NotificationPolicy] = lambda _snapshot: policy
        self._label_of: Callable[[str], str] = lambda _steam_id: ""
        self.notifier = notifier
        self.actions_for: ActionsFor = lambda _note: ()  # the buttons of a notification (snooze, mute)
        self.policy = policy
        self._snapshot = snapshot
        self._names = names
        self._save_state = save_state
        self.reminder_timer = QTimer(self)  # runs only while a turn waits for the user: idle means idle
        self.reminder_timer.setInterval(REMINDER_CHECK_MS)
        self.reminder_timer.timeout.connect(self.check_reminders)
        self._running = False

    def use_accounts(self, policy_of: Callable[[Snapshot], NotificationPolicy], label_of: Callable[[str], str]) -> None:
        """Several accounts: each load is judged by its account's policy, and named by ``label_of(steam_id)``
        (its name while several accounts are signed in, "" otherwise)."""
        self._policy_of, self._label_of = policy_of, label_of

    def start(self) -> None:
        self._running = True
        self._follow(self._snapshot())

    def stop(self) -> None:
        self._running = False
        self.reminder_timer.stop()

    def on_synced(self, result: SyncResult) -> None:
        if result.outcome.error is None and result.snapshot is not None:
            note = self._policy_of(result.snapshot).on_events(result.events, result.snapshot, self._names)
            if note is not None:
                self.show(self._named(note, result.snapshot))
        current = self._snapshot()
        self._follow(current if isinstance(current, MergedSnapshot) else result.snapshot)

    def _named(self, note: Notification, snapshot: Snapshot) -> Notification:
        label = self._label_of(snapshot.steam_id)
        return dataclasses.replace(note, title=f"{note.title} ({label})") if label else note

    def _follow(self, snapshot: Snapshot | None) -> None:
        """Check for reminders only while a turn waits for the user and reminders are on (a changed setting
        is followed at the next load)."""
        waiting = snapshot is not None and bool(snapshot.notifiable_turns())
        wanted = self._running and waiting and self.policy.reminders_on()
        if not wanted:
            self.reminder_timer.stop()
        elif not self.reminder_timer.isActive():
            self.reminder_timer.start()

    def check_reminders(self) -> None:
        snapshot = self._snapshot()
        if snapshot is None:
            return
        parts = [part.snapshot for part in snapshot.parts] if isinstance(snapshot, MergedSnapshot) else [snapshot]
        for part in parts:
            note = self._policy_of(part).reminder(part, self._names)
            if note is not None:
                self.show(self._named(note, part))
                self._save_state()

    def vacation_not_changed(self, reason: str) -> None:
        self.notifier.notify("pydt-tray: vacation mode not changed", reason, key=GAMES_KEY)

    def sign_in_again(self, message: str) -> None:
        self.notifier.notify("pydt-tray: sign in again", message, key=SIGN_IN_KEY)

    def show(self, note: Notification) -> None:
        """Hand ``note`` to the notifier, with its buttons (snooze, mute) where it has some."""
        self.notifier.notify(
            note.title,
            note.body,
            key=UPDATE_KEY if note.kind == "update" else GAMES_KEY,
            replace_group=REPLACE_GROUPS.get(note.kind, "reminder" if note.reminder else None),
            actions=self.actions_for(note),
        )
        self.notified.emit(note)
