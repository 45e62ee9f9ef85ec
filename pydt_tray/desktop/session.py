"""One signed-in account: its token, its sync engine, its backstop poll and what the last load said.

:class:`Session` signs in with the account's token, runs the :class:`SyncEngine`, takes each result in
(names, errors with growing retry delays, a refused token) and tells the rest of the app through signals.
:mod:`pydt_tray.desktop.accounts` owns one session per account.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from pydt_tray.core.accounts import AccountBook
from pydt_tray.core.api import PydtClient
from pydt_tray.core.api_errors import AuthError
from pydt_tray.core.context import AppContext
from pydt_tray.core.credentials import CredentialError
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.logs import register_secret
from pydt_tray.core.sync import GameFetcher, SyncEngine, SyncResult

log = logging.getLogger(__name__)

RETRY_AFTER_ERROR_SECONDS = (15, 30, 60, 120, 300)
TOKEN_REFUSED = "The token no longer works: sign in again with the one from your PYDT profile page."
TOKEN_REFUSED_OF = "The token of {name} no longer works: that account was signed out (the others go on). Add it "
TOKEN_REFUSED_OF += "again with the token from its PYDT profile page."

Job = Callable[[], None]


class Scheduler(Protocol):
    """The backstop poll: ``arm()`` at the usual interval, ``arm(seconds)`` sooner, ``stop()``."""

    def arm(self, seconds: int | None = None) -> None: ...

    def loaded(self, reasons: tuple[str, ...]) -> None: ...  # a good load ended: arm at the usual interval

    def retry_delay(self, backoff: float) -> float: ...  # the back-off, capped while no push path is live

    def stop(self) -> None: ...


def save_state(ctx: AppContext) -> None:
    ctx.state.adopt_from_disk()  # a mute or snooze written by the command line is kept, not overwritten
    try:
        ctx.state.save()
    except OSError as error:
        log.error("Could not save the state file (%s); notified turns may be shown again after a restart", error)


class Session(QObject):
    """One account. ``signed_in`` while a token is in use; ``steam_id`` is None only for a token an earlier
    single-account version stored, until its first good load tells whose it is."""

    changed = Signal()  # something the presenters show changed (sign-in, sign-out, an error)
    synced = Signal(object)  # a SyncResult the session took in (not sent for a refused token)
    user_known = Signal(str)  # the signed-in user's steam id, after each good load
    ended = Signal()  # the session was dropped: sign-out, a refused token, a new token
    token_refused = Signal(str)  # after a 401; the message asks the user to sign in again
    signing_out = Signal(str)  # the token of an account being signed out, before it is forgotten

    def __init__(
        self,
        ctx: AppContext,
        backstop: Scheduler,
        *,
        book: AccountBook,
        steam_id: str | None = None,
        run_in_background: Callable[[Job], None],
        call_soon: Callable[[Job], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.backstop = backstop
        self._run_in_background = run_in_background
        self._call_soon = call_soon
        self.book = book
        self.steam_id = steam_id
        self.legacy = False  # the token an earlier single-account version stored: moved at the first good load
        self.label = ""  # the account's name in notifications and menus when several accounts are signed in
        self.token: str | None = None
        self.engine: SyncEngine | None = None
        self.fetcher: GameFetcher | None = None
        self.names: dict[str, str] = {}
        self.user_name = ""
        self.last_error = ""
        self.auth_failed = False
        self._error_streak = 0
        self._closed = False

    @property
    def signed_in(self) -> bool:
        return self.token is not None

    def snapshot(self) -> Snapshot | None:
        return self.engine.snapshot if self.engine is not None else None

    def client(self) -> PydtClient | None:
        return self.fetcher.client if self.fetcher is not None else None

    def name_of(self, steam_id: str) -> str | None:
        return self.names.get(steam_id)

    def refusal(self) -> str:
        """What the sign-in dialog says after a refused token ("" otherwise)."""
        return self.last_error if self.auth_failed else ""

    # ----- life cycle ---------------------------------------------------------------------------------

    def sign_in(self, token: str) -> None:
        register_secret(token)
        self.token = token
        self.auth_failed = False
        self.last_error = ""
        self.fetcher = GameFetcher(self.ctx.make_client(token, self.steam_id))
        self.engine = SyncEngine(
            self.fetcher.fetch,
            run_in_background=self._run_in_background,
            call_soon=self._call_soon,
            on_result=self._on_result,
            call_later=lambda seconds, function: QTimer.singleShot(int(seconds * 1000) + 1, self, function),
        )
        self.request("start", full=True)
        self.changed.emit()

    def replace_token(self, token: str, name: str) -> None:
        """A checked and stored new token of this account replaces the one in use."""
        self._drop()
        self.user_name = name or self.user_name
        self.sign_in(token)

    def sign_out(self) -> None:
        if self.token is not None:
            self.signing_out.emit(self.token)
        try:
            if self.steam_id is None:
                if self.legacy:
                    self.book.drop_legacy()
            elif self.book.get(self.steam_id) is not None:
                self.book.remove(self.steam_id)
        except CredentialError as error:
            log.error("%s", error.user_message)
        except OSError as error:
            log.error("Could not update the list of accounts: %s", error)
        if self.steam_id is not None:
            self.ctx.state.forget_account(self.steam_id)
        self._drop()
        self.last_error = ""
        self.changed.emit()

    def close(self) -> None:
        """Quitting: no more fetches or results; calls in flight (loads, transfers) end now."""
        self._closed = True
        if self.engine is not None:
            self.engine.stop()
        if self.fetcher is not None:
            self.fetcher.client.abort()

    def _drop(self) -> None:
        if self.engine is not None:
            self.engine.stop()
        self.engine = None
        self.fetcher = None
        self.token = None
        self.backstop.stop()
        self.ended.emit()

    # ----- sync ---------------------------------------------------------------------------------------

    def request(self, reason: str, *, full: bool = False) -> None:
        if self.engine is not None and not self._closed:
            self.engine.request(reason, full=full)

    def on_auth_failed(self) -> None:
        if self.token is None:
            return  # said once: a late refusal of the same token (a transfer in flight) changes nothing
        who = self.steam_id or "the account"
        log.error("The PYDT token was refused (401) for %s: it was probably regenerated on the website", who)
        self._drop()
        self.auth_failed = True
        self.last_error = TOKEN_REFUSED_OF.format(name=self.user_name or self.steam_id) if self.label else TOKEN_REFUSED
        self.token_refused.emit(self.last_error)
        self.changed.emit()

    def _on_result(self, result: SyncResult) -> None:
        outcome = result.outcome
        if outcome.names:
            self.names.update(outcome.names)
        if isinstance(outcome.error, AuthError):
            self.on_auth_failed()
            return
        if outcome.error is not None:
            self.last_error = outcome.error.user_message
            self._error_streak += 1
            backoff = RETRY_AFTER_ERROR_SECONDS[min(self._error_streak, len(RETRY_AFTER_ERROR_SECONDS)) - 1]
            delay = round(self.backstop.retry_delay(backoff))
            log.warning("Could not load games (%s); next try in %d s", self.last_error, delay)
            self.backstop.arm(delay)
        else:
            self.last_error = ""
            self._error_streak = 0
            self.backstop.loaded(outcome.reasons)
            if outcome.user is not None:
                self.user_name = outcome.user.display_name
                self._identify(outcome.user.steam_id)
                self.user_known.emit(outcome.user.steam_id)
        self.synced.emit(result)

    def _identify(self, steam_id: str) -> None:
        """After a good load: a token of an earlier version moves to its account's entry; the name is kept."""
        try:
            if self.legacy and self.token is not None:
                self.book.adopt_legacy(steam_id, self.user_name, self.token)
                self.legacy = False
            else:
                self.book.rename(steam_id, self.user_name)
        except (CredentialError, OSError, ValueError) as error:
            log.warning("The stored token could not be moved to its account's entry yet: %s", error)
            return
        self.steam_id = steam_id

    def remember_poll_state(self, result: SyncResult) -> None:
        """After a good load (and after its notifications were marked): save the pollUrl, its ETag and
        the notified turns."""
        if self.fetcher is None or result.outcome.error is not None:
            return
        client = self.fetcher.client
        if self.steam_id is None:
            return
        account = self.ctx.state.account(self.steam_id)
        account.poll_url = client.poll_url
        account.poll_etag = client.poll_etag
        save_state(self.ctx)
