"""Every signed-in account at once: one :class:`Session` per account, each with its own backstop poll.

:class:`Accounts` starts a session for each account the :class:`AccountBook` lists (and for a token an earlier
single-account version stored), adds an account from the sign-in dialog (a token of an account already there
replaces its token), removes one or all, and shows the rest of the app the same face one session did: the
signals of every session, one snapshot of every account's games (:class:`MergedSnapshot` once there are
several), and the errors of each, named. A refused token signs out that account alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from pydt_tray.core.account_view import AccountPart, AccountRow, MergedSnapshot
from pydt_tray.core.api import PydtClient
from pydt_tray.core.context import AppContext
from pydt_tray.core.credentials import CredentialError
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.poll_schedule import PollSchedule
from pydt_tray.core.sync import SyncEngine, SyncResult
from pydt_tray.desktop.push_supervisor import Backstop
from pydt_tray.desktop.session import Job, Session

log = logging.getLogger(__name__)


class Backstops:
    """The backstop polls of every account, driven as one by the push supervisor and the settings."""

    def __init__(self, schedule: PollSchedule, sessions: Callable[[], list[Session]], parent: QObject) -> None:
        self.schedule = schedule
        self._sessions = sessions
        self._idle = QTimer(parent)  # what ``timer`` shows before any account is signed in

    def _all(self) -> list[Backstop]:
        return [s.backstop for s in self._sessions() if s.signed_in and isinstance(s.backstop, Backstop)]

    @property
    def timer(self) -> QTimer:
        every = self._all()
        return every[0].timer if every else self._idle

    @property
    def poll_while_push_down(self) -> float:
        return self.schedule.down_interval

    @poll_while_push_down.setter
    def poll_while_push_down(self, seconds: float) -> None:
        self.schedule.down_interval = seconds

    def arm(self, seconds: float | None = None) -> None:
        for backstop in self._all():
            backstop.arm(seconds)

    def arm_sooner(self) -> None:
        for backstop in self._all():
            backstop.arm_sooner()

    def usual_seconds(self) -> int:
        return round(self.schedule.next_delay())

    def stop(self) -> None:
        for backstop in self._all():
            backstop.stop()


class Accounts(QObject):
    """The sessions of every account, seen as one by the presenters (the ``SessionView`` they expect)."""

    changed = Signal()
    synced = Signal(object)  # a SyncResult of any account (its ``snapshot.steam_id`` says which)
    user_known = Signal(str)  # an account's steam id, after each good load of it
    left = Signal(str)  # an account's session ended (signed out, token refused): its steam id
    ended = Signal()  # no account is signed in any more
    token_refused = Signal(str)  # a 401 for one account; the message names it when there are several
    signing_out = Signal(str)  # the token of an account being signed out, before it is forgotten

    def __init__(
        self,
        ctx: AppContext,
        schedule: PollSchedule,
        *,
        run_in_background: Callable[[Job], None],
        call_soon: Callable[[Job], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.book = ctx.account_book()
        self._threads = {"run_in_background": run_in_background, "call_soon": call_soon}
        self.sessions: list[Session] = []
        self.backstop = Backstops(schedule, lambda: self.sessions, self)
        self._verified: dict[str, str] = {}  # token -> steam id, from the check to the sign-in
        self._answered: set[Session] = set()  # sessions whose first load has answered (well or not)
        self._known: list[str] = []  # accounts known since the last hand-over to the push connection
        self._start_error = ""
        self._closed = False
        self.relay_accounts: Callable[[], list[str]] = lambda: []  # the accounts the relay stream is for
        self.live: Callable[[str], bool] = lambda _steam_id: False  # whether push carries an account now

    # ----- the sessions ---------------------------------------------------------------------------------

    def _session(self, steam_id: str | None) -> Session:
        backstop = Backstop(self.backstop.schedule, self)
        session = Session(self.ctx, backstop, book=self.book, steam_id=steam_id, **self._threads, parent=self)
        backstop.due.connect(lambda: session.request("timer"))
        session.changed.connect(self.changed)
        session.synced.connect(lambda result: self._on_synced(session, result))
        session.user_known.connect(lambda steam_id: self._on_user_known(session, steam_id))
        session.ended.connect(lambda: self._on_ended(session))
        session.token_refused.connect(self.token_refused)
        session.signing_out.connect(lambda token: self._signing_out(session, token))
        self.sessions.append(session)
        return session

    def _signing_out(self, session: Session, token: str) -> None:
        """Only the relay's account takes the relay down with it."""
        if len(self.sessions) == 1 or session.steam_id in self.relay_accounts():
            self.signing_out.emit(token)

    def _on_synced(self, session: Session, result: SyncResult) -> None:
        self._answered.add(session)
        self.synced.emit(result)  # notifications mark their turns first, then the state is saved
        session.remember_poll_state(result)
        self._hand_over()

    def _on_user_known(self, session: Session, steam_id: str) -> None:
        self._answered.add(session)
        self._relabel()
        if steam_id not in self._known:
            self._known.append(steam_id)
        self._hand_over()

    def _hand_over(self) -> None:
        """Tell the push connection the known accounts once every account's first load has answered: at start
        it connects once with every topic, not once per account."""
        if any(s.signed_in and s not in self._answered for s in self.sessions):
            return
        known, self._known = self._known, []
        for steam_id in known:
            self.user_known.emit(steam_id)

    def _on_ended(self, session: Session) -> None:
        self._answered.discard(session)
        if session.steam_id is not None:
            self.left.emit(session.steam_id)
        if not self.signed_in:
            self.ended.emit()
        self._hand_over()

    def _relabel(self) -> None:
        several = len(self.sessions) > 1
        for session in self.sessions:
            session.label = (session.user_name or session.steam_id or "account") if several else ""

    def session_for(self, steam_id: str | None) -> Session | None:
        return next((s for s in self.sessions if steam_id is not None and s.steam_id == steam_id), None)

    def session_of_game(self, game_id: str) -> Session | None:
        """The session whose turn ``game_id`` is, else the first that has the game."""
        having = [s for s in self.sessions if (snap := s.snapshot()) is not None and game_id in snap.by_id()]
        for session in having:
            snapshot = session.snapshot()
            if snapshot is not None and snapshot.by_id()[game_id].is_your_turn(snapshot.steam_id):
                return session
        return having[0] if having else None

    @property
    def primary(self) -> Session | None:
        """The first signed-in account (the one the relay and vacation settings speak for)."""
        return next((s for s in self.sessions if s.signed_in), self.sessions[0] if self.sessions else None)

    # ----- life cycle -----------------------------------------------------------------------------------

    def resume(self, token: str | None) -> bool:
        """Start a session for every stored account, or for ``token`` alone (not stored); False when none."""
        if token:
            self._session(None).sign_in(token)
            return True
        self._start_error = ""
        for account in self.book.accounts():
            try:
                stored = self.book.load(account.steam_id)
            except CredentialError as error:
                self._start_error = error.user_message
                log.error("%s", error.user_message)
                break  # a locked keyring stays locked for the next account too
            if stored:
                session = self._session(account.steam_id)
                session.user_name = account.name
                session.sign_in(stored)
        if self.book.problem:
            log.error("%s", self.book.problem)
        try:
            legacy = self.book.legacy_token() if not self._start_error else None
        except CredentialError as error:
            self._start_error, legacy = error.user_message, None
        if legacy:
            session = self._session(None)
            session.legacy = True
            session.sign_in(legacy)
        self._relabel()
        return self.signed_in

    def verify_and_store(self, token: str) -> str:
        """Off the GUI thread: check ``token`` with the service and store it as its account's; returns the
        user's name. Raises AuthError for a refused token, PydtError or CredentialError for the rest."""
        client = self.ctx.make_client(token)
        try:
            user = client.get_current_user()
        finally:
            client.close()
        self.book.add(user.steam_id, user.display_name, token)
        self._verified[token] = user.steam_id
        return user.display_name

    def switch_account(self, token: str, name: str) -> None:
        """A checked and stored token: a new account joins, or an account already there takes its new token."""
        steam_id = self._verified.pop(token, None)
        session = self.session_for(steam_id)
        if session is None and steam_id is None:  # a token not checked here: it takes a signed-out session's place
            session = next((s for s in self.sessions if not s.signed_in), None)
        if session is None:
            session = self._session(steam_id)
        session.steam_id = steam_id or session.steam_id
        session.replace_token(token, name)
        self._relabel()
        self.changed.emit()

    def remove(self, steam_id: str) -> None:
        """Sign one account out (the settings window's Remove)."""
        session = self.session_for(steam_id)
        if session is not None:
            session.sign_out()
            self.sessions.remove(session)
            session.deleteLater()
        else:
            self.book.remove(steam_id)  # listed, but not running (its token could not be read)
        self._relabel()
        self.changed.emit()

    def sign_out(self) -> None:
        """Sign every account out."""
        for session in list(self.sessions):
            session.sign_out()
            session.deleteLater()
        self.sessions = []
        self.ended.emit()
        self.changed.emit()

    def close(self) -> None:
        self._closed = True
        for session in self.sessions:
            session.close()

    # ----- one face for the presenters -------------------------------------------------------------------

    @property
    def signed_in(self) -> bool:
        return any(s.signed_in for s in self.sessions)

    @property
    def auth_failed(self) -> bool:
        return not self.signed_in and any(s.auth_failed for s in self.sessions)

    @property
    def last_error(self) -> str:
        errors = [f"{s.label}: {s.last_error}" if s.label else s.last_error for s in self.sessions if s.last_error]
        return "; ".join(errors) or self._start_error

    @property
    def user_name(self) -> str:
        return ", ".join(s.user_name for s in self.sessions if s.signed_in and s.user_name)

    @property
    def token(self) -> str | None:
        primary = self.primary
        return primary.token if primary is not None else None

    @property
    def engine(self) -> SyncEngine | None:
        primary = self.primary
        return primary.engine if primary is not None else None

    def refusal(self) -> str:
        return next((s.refusal() for s in self.sessions if s.refusal()), "")

    def client(self) -> PydtClient | None:
        primary = self.primary
        return primary.client() if primary is not None else None

    def client_for(self, game_id: str) -> PydtClient | None:
        """The client of the account whose turn ``game_id`` is: its token downloads and submits."""
        session = self.session_of_game(game_id)
        return session.client() if session is not None else None

    def auth_failed_for(self, game_id: str) -> None:
        session = self.session_of_game(game_id) or self.primary
        if session is not None:
            session.on_auth_failed()

    def on_auth_failed(self) -> None:
        primary = self.primary
        if primary is not None:
            primary.on_auth_failed()

    def snapshot(self) -> Snapshot | None:
        loaded = [s for s in self.sessions if s.signed_in and s.snapshot() is not None]
        if len(self.sessions) <= 1 or not loaded:
            return loaded[0].snapshot() if loaded else None
        parts = []
        for session in loaded:
            snapshot = session.snapshot()
            assert snapshot is not None
            parts.append(AccountPart(snapshot.steam_id, session.label or session.user_name, snapshot))
        return MergedSnapshot.merge(parts)

    def account_rows(self) -> list[AccountRow]:
        """What the settings window lists: every account, signed in or not."""
        rows = []
        for session in self.sessions:
            if session.auth_failed:
                status = "token refused: add it again"
            elif not session.signed_in:
                status = "signed out"
            else:
                status = "live" if session.steam_id and self.live(session.steam_id) else "polling"
            rows.append(AccountRow(session.steam_id or "", session.user_name, status))
        running = {row.steam_id for row in rows}
        for account in self.book.accounts():  # listed, but its token could not be read at start
            if account.steam_id not in running:
                rows.append(AccountRow(account.steam_id, account.name, "not running (keyring)"))
        return rows

    def label_of(self, steam_id: str) -> str:
        """The name an account's notifications carry ("" while only one account is signed in)."""
        session = self.session_for(steam_id)
        return session.label if session is not None else ""

    def name_of(self, steam_id: str) -> str | None:
        for session in self.sessions:
            name = session.name_of(steam_id)
            if name:
                return name
        return None

    def request(self, reason: str, *, full: bool = False) -> None:
        for session in self.sessions:
            session.request(reason, full=full)

    def request_for(self, steam_id: str, reason: str) -> None:
        """A push on one account's topic: only that account loads."""
        session = self.session_for(steam_id)
        if session is not None:
            session.request(reason)
        else:
            self.request(reason)
