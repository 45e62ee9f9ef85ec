"""Signing in from the desktop: the sign-in dialog, the token check off the GUI thread, storing it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from pydt_tray.core.api import AuthError, PydtError
from pydt_tray.core.credentials import CredentialError
from pydt_tray.core.logs import register_secret
from pydt_tray.ui.sign_in_dialog import SignInDialog

if TYPE_CHECKING:
    from pydt_tray.app import TrayApp

REFUSED = "PYDT refused this token. Copy it again from your profile page on the website."


class AccountFlow(QObject):
    """Owns the sign-in dialog; a checked token signs the app in, a sign-out forgets it."""

    def __init__(self, app: TrayApp) -> None:
        super().__init__(app)
        self.app = app
        self._dialog: SignInDialog | None = None

    @property
    def dialog(self) -> SignInDialog:
        if self._dialog is None:
            self._dialog = SignInDialog()
            self._dialog.setWindowTitle(self.app.window_title("sign in"))
            self._dialog.submitted.connect(self.check_token)
            self._dialog.sign_out_requested.connect(self._sign_out)
        return self._dialog

    def show(self) -> None:
        app = self.app
        if app.token is not None:
            self.dialog.show_signed_in(app.user_name or "your PYDT account")
        else:
            self.dialog.show_signed_out(app.last_error if app.auth_failed else "")
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()

    def close(self) -> None:
        if self._dialog is not None:
            self._dialog.close()

    def _sign_out(self) -> None:
        self.app.sign_out()
        self.dialog.show_signed_out()

    def check_token(self, token: str) -> None:
        """Check ``token`` with /user/getCurrent on the worker thread, store it, and sign in with it."""
        app = self.app
        self.dialog.set_busy(True)
        register_secret(token)

        def job() -> None:
            error: str | None = None
            name = ""
            try:
                client = app.ctx.make_client(token)
                try:
                    name = client.get_current_user().display_name
                finally:
                    client.close()
                app.token_store.save(token)
            except AuthError:
                error = REFUSED
            except (PydtError, CredentialError) as failure:
                error = failure.user_message
            app.invoker.call_soon(lambda: self._checked(token, error, name))

        app.worker.submit(job)

    def _checked(self, token: str, error: str | None, name: str) -> None:
        if error:
            self.dialog.show_error(error)
        else:
            self.app.switch_account(token, name)
            self.dialog.show_signed_in(name)
        self.app.render()
