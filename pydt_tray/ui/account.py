"""Signing in from the desktop: the sign-in dialog, the token check off the GUI thread, storing it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject

from pydt_tray.core.api_errors import AuthError
from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.logs import register_secret

if TYPE_CHECKING:
    from pydt_tray.core.account_view import AccountRow
    from pydt_tray.ui.accounts_section import AccountsSection
    from pydt_tray.ui.settings_window import SettingsWindow
    from pydt_tray.ui.sign_in_dialog import SignInDialog

log = logging.getLogger(__name__)

REFUSED = "PYDT refused this token. Copy it again from your profile page on the website."
UNEXPECTED = "The token could not be checked because of an unexpected problem; the log has the details."

Job = Callable[[], None]


class AccountSession(Protocol):
    """The part of the session the sign-in flow uses."""

    @property
    def signed_in(self) -> bool: ...

    @property
    def user_name(self) -> str: ...

    def refusal(self) -> str: ...

    def verify_and_store(self, token: str) -> str: ...

    def switch_account(self, token: str, name: str) -> None: ...

    def sign_out(self) -> None: ...

    def remove(self, steam_id: str) -> None: ...

    def account_rows(self) -> list[AccountRow]: ...


class AccountFlow(QObject):
    """Owns the sign-in dialog; a checked token signs the app in, a sign-out forgets it."""

    def __init__(
        self,
        session: AccountSession,
        *,
        title: str,
        run_in_background: Callable[[Job], None],
        call_soon: Callable[[Job], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.title = title
        self._run_in_background = run_in_background
        self._call_soon = call_soon
        self._dialog: SignInDialog | None = None
        self.section: AccountsSection | None = None  # the settings window's Accounts tab, once built
        changed = getattr(session, "changed", None)  # the accounts' signal: sign-in, sign-out, a refused token
        if changed is not None:
            changed.connect(self.refresh)

    @property
    def dialog(self) -> SignInDialog:
        if self._dialog is None:
            from pydt_tray.ui.sign_in_dialog import SignInDialog  # only when first shown

            self._dialog = SignInDialog()
            self._dialog.setWindowTitle(self.title)
            self._dialog.submitted.connect(self.check_token)
            self._dialog.sign_out_requested.connect(self._sign_out)
        return self._dialog

    def show(self) -> None:
        if self.session.signed_in:
            self.dialog.show_signed_in(self.session.user_name or "your PYDT account", len(self.session.account_rows()))
        else:
            self.dialog.show_signed_out(self.session.refusal())
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()

    def show_add(self) -> None:
        """Token entry for one more account."""
        self.dialog.show_add()
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()

    def attach(self, window: SettingsWindow) -> None:
        """Add the Accounts tab to a freshly built settings window."""
        from pydt_tray.ui.accounts_section import TAB_TITLE, AccountsSection

        section = AccountsSection(window)
        section.add_requested.connect(self.show_add)
        section.remove_requested.connect(self.remove)
        window.tabs.addTab(section, TAB_TITLE)
        self.section = section
        self.refresh()

    def refresh(self) -> None:
        if self.section is not None:
            self.section.show_accounts(self.session.account_rows())

    def remove(self, steam_id: str) -> None:
        """The settings window's Remove: that account signs out, the others stay."""
        try:
            self.session.remove(steam_id)
        except PydtTrayError as error:
            log.error("The account could not be removed: %s", error.user_message)
        self.refresh()

    def close(self) -> None:
        if self._dialog is not None:
            self._dialog.close()

    def _sign_out(self) -> None:
        self.session.sign_out()
        self.dialog.show_signed_out()
        self.refresh()

    def check_token(self, token: str) -> None:
        """Check ``token`` with /user/getCurrent on the worker thread, store it, and sign in with it."""
        self.dialog.set_busy(True)
        register_secret(token)
        verify = self.session.verify_and_store

        def job() -> None:
            error: str | None = None
            name = ""
            try:
                name = verify(token)
            except AuthError:
                error = REFUSED
            except PydtTrayError as failure:
                error = failure.user_message
            except Exception:  # the dialog must leave "Checking…" whatever happened
                log.exception("Checking the token failed unexpectedly")
                error = UNEXPECTED
            self._call_soon(lambda: self._checked(token, error, name))

        self._run_in_background(job)

    def _checked(self, token: str, error: str | None, name: str) -> None:
        if error:
            log.warning("Sign-in failed: %s", error)  # the token itself is never logged
            self.dialog.show_error(error)
        else:
            self.session.switch_account(token, name)
            self.dialog.show_signed_in(self.session.user_name or name, len(self.session.account_rows()))
            self.refresh()
