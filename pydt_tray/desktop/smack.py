"""Smack talk in the running app: after each load, announce new posts by others, keep the unread marks, and
carry out "Open smack talk", "Mark read" and "Mark all smack talk read".

:class:`SmackTalk` gets narrow dependencies: the state section holding the read numbers, the latest snapshot,
``notify`` (show a policy Notification), the settings switches, the quiet/mute gate, ``open_url`` (opens the
forum topic; ``QDesktopServices.openUrl`` in the app) and ``on_unread`` (told whether anything is unread, for the
turn API). It emits ``changed`` when there is something to save and show.

With several accounts signed in, each account has its own read numbers (the state section is keyed by Steam
id) and its own names (its own posts never count); a game two accounts share is marked read for both, and a
post in it is announced once, naming the account while several are signed in.

Action keys start with ``smack:``: ``smack:open:<id>``, ``smack:read:<id>`` and ``smack:read-all``.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Callable, MutableMapping
from typing import Any, Protocol

from PySide6.QtCore import QObject, QUrl, Signal, SignalInstance
from PySide6.QtGui import QDesktopServices

from pydt_tray.core.account_view import MergedSnapshot
from pydt_tray.core.context import AppContext
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.models import Game
from pydt_tray.core.policy import Notification
from pydt_tray.core.smack import SmackGate, SmackReads, own_names, smack_notification, topic_url
from pydt_tray.core.sync import SyncResult
from pydt_tray.desktop.session import save_state

log = logging.getLogger(__name__)

PREFIX = "smack:"
READ_ALL = PREFIX + "read-all"


def open_in_desktop(url: str) -> bool:
    return QDesktopServices.openUrl(QUrl(url))


class SessionView(Protocol):
    synced: SignalInstance  # a SyncResult after each load

    def snapshot(self) -> Snapshot | None: ...


class UnreadSink(Protocol):
    def set_unread_smack(self, unread: bool) -> None: ...


def smack_for(
    ctx: AppContext,
    session: SessionView,
    notify: Callable[[Notification], None],
    gate: SmackGate,
    turn_api: UnreadSink,
    parent: QObject,
) -> SmackTalk:
    """Smack talk for the running app: read numbers in the state file (saved after each change), notifications
    while ``notifications_enabled`` and ``notify_smack_talk`` are on, ``hasUnreadSmack`` in the turn API."""
    settings = ctx.settings

    def enabled() -> bool:
        current = settings.snapshot()
        return current.notifications_enabled and current.notify_smack_talk

    unread = turn_api.set_unread_smack
    smack = SmackTalk(
        ctx.state.smack, session.snapshot, notify, enabled=enabled, gate=gate, on_unread=unread, parent=parent
    )
    smack.label_of = getattr(session, "label_of", smack.label_of)  # several accounts: the account's name
    session.synced.connect(smack.on_synced)
    smack.changed.connect(lambda: save_state(ctx))
    return smack


class SmackTalk(QObject):
    """Unread smack talk of the signed-in account, its notifications and its actions."""

    changed = Signal()

    def __init__(
        self,
        section: MutableMapping[str, Any],
        snapshot: Callable[[], Snapshot | None],
        notify: Callable[[Notification], None],
        *,
        enabled: Callable[[], bool],
        gate: SmackGate | None = None,
        open_url: Callable[[str], object] = open_in_desktop,
        on_unread: Callable[[bool], None] = lambda _unread: None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._section = section
        self._snapshot = snapshot
        self._notify = notify
        self._enabled = enabled
        self._gate = gate
        self.open_url = open_url  # replaceable: tests record the address
        self._on_unread = on_unread
        self._me: dict[str, frozenset[str]] = {}  # steam id -> the account's own names
        self._announced: set[tuple[str, object]] = set()  # (game id, post number) told already (a shared game)
        self.label_of: Callable[[str], str] = lambda _steam_id: ""
        self._shown_unread: bool | None = None  # what the tray and turn API were last told

    def _views(self) -> list[tuple[SmackReads, Snapshot, frozenset[str]]]:
        """Each account's read numbers, its games and its own names."""
        snapshot = self._snapshot()
        if snapshot is None:
            return []
        parts = [part.snapshot for part in snapshot.parts] if isinstance(snapshot, MergedSnapshot) else [snapshot]
        return [(SmackReads(self._section, p.steam_id), p, self._me.get(p.steam_id, frozenset())) for p in parts]

    def on_synced(self, result: SyncResult) -> None:
        """After each load: remember first-seen games as read, forget gone ones, announce new posts by others."""
        snapshot = result.snapshot
        if result.outcome.error is not None or snapshot is None:
            return
        if result.outcome.user is not None:
            self._me[snapshot.steam_id] = own_names(result.outcome.user)
        me = self._me.get(snapshot.steam_id, frozenset())
        marks_before = copy.deepcopy(self._section.get(snapshot.steam_id))
        fresh = SmackReads(self._section, snapshot.steam_id).observe(snapshot.games, me)
        fresh = [game for game in fresh if self._first_time(game)]
        note = smack_notification(fresh, enabled=self._enabled, gate=self._gate)
        if note is not None:
            log.info("New smack talk in %d game(s)", len(note.game_ids))
            label = self.label_of(snapshot.steam_id)
            self._notify(dataclasses.replace(note, title=f"{note.title} ({label})") if label else note)
        unread = self.has_unread()
        if marks_before != self._section.get(snapshot.steam_id) or unread != self._shown_unread:
            self._changed(unread)  # most loads change no mark: no save, no second render

    def _first_time(self, game: Game) -> bool:
        """A post in a game two accounts share is announced for the first account that sees it."""
        key = (game.game_id, game.latest_discourse_post_number)
        if key in self._announced:
            return False
        self._announced.add(key)
        return True

    def _changed(self, unread: bool | None = None) -> None:
        self._shown_unread = self.has_unread() if unread is None else unread
        self._on_unread(self._shown_unread)
        self.changed.emit()

    # --- queries ----------------------------------------------------------------------------------------

    def unread_games(self) -> list[Game]:
        found: dict[str, Game] = {}
        for reads, snapshot, me in self._views():
            for game in reads.unread_games(snapshot.games, me):
                found.setdefault(game.game_id, game)
        return list(found.values())

    def unread_ids(self) -> frozenset[str]:
        return frozenset(game.game_id for game in self.unread_games())

    def has_unread(self) -> bool:
        return bool(self.unread_games())

    def game_actions(self, game: Game) -> tuple[tuple[str, str], ...]:
        """(key, text) of the smack talk entries of a game with unread posts; none otherwise."""
        if not any(reads.is_unread(game, me) for reads, snapshot, me in self._views() if game in snapshot.games):
            return ()
        actions = [(f"{PREFIX}open:{game.game_id}", "Open smack talk")] if topic_url(game) else []
        return (*actions, (f"{PREFIX}read:{game.game_id}", "Mark read"))

    def tray_actions(self) -> tuple[tuple[str, str], ...]:
        return ((READ_ALL, "Mark all smack talk read"),) if self.has_unread() else ()

    # --- actions ----------------------------------------------------------------------------------------

    def or_else(self, fallback: Callable[[str], None]) -> Callable[[str], None]:
        """A handler of action keys: ours are carried out here, any other goes to ``fallback``."""

        def dispatch(key: str) -> None:
            if not self.handle(key):
                fallback(key)

        return dispatch

    def handle(self, key: str) -> bool:
        """Carry out an action key; False when it is not one of ours."""
        if not key.startswith(PREFIX):
            return False
        views = self._views()
        if not views:
            return True
        if key == READ_ALL:
            for reads, snapshot, me in views:
                for game in reads.unread_games(snapshot.games, me):
                    reads.mark_read(game)
            self._changed()
            return True
        what, _, game_id = key[len(PREFIX) :].partition(":")
        having = [(reads, found) for reads, snapshot, _me in views if (found := snapshot.by_id().get(game_id))]
        if not having or what not in ("open", "read"):
            return what in ("open", "read")
        url = topic_url(having[0][1])
        if what == "open" and url is not None:
            log.info("Opening the smack talk of %s", game_id)
            self.open_url(url)
        for reads, target in having:  # a game two accounts share is read for both
            reads.mark_read(target)
        self._changed()
        return True
