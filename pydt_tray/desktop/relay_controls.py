"""The relay's place in the running app: the settings window's "Real-time push" section, and turning the relay
off (previous webhook back) when the account signs out.

The HTTP work runs on the worker through :class:`pydt_tray.desktop.relay_push.RelayPush`; this part only routes
the section's requests there and the outcomes back, and tells the push supervisor when the relay started or
stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, SignalInstance

from pydt_tray.core.api import PydtClient
from pydt_tray.desktop.notices import SIGN_IN_KEY
from pydt_tray.desktop.push_supervisor import PushSupervisor
from pydt_tray.desktop.relay_push import RelayOutcome, RelayPush
from pydt_tray.platform.notifications import Notifier

if TYPE_CHECKING:  # both only once the settings window is opened: a hidden app does not load them
    from pydt_tray.ui.relay_section import RelaySection
    from pydt_tray.ui.settings_window import SettingsWindow

log = logging.getLogger(__name__)

TAB_TITLE = "Real-time push"
NOT_SIGNED_IN = "Sign in first: the relay is set up for your PYDT account."


class SessionLike(Protocol):
    """What the controls need of the session: its token, and the signal before a sign-out forgets it."""

    @property
    def token(self) -> str | None: ...

    @property
    def signing_out(self) -> SignalInstance: ...


class RelayControls(QObject):
    """Routes the relay section's Enable/Disable to the relay, and turns the relay off at sign-out."""

    def __init__(
        self,
        supervisor: PushSupervisor,
        session: SessionLike,
        make_client: Callable[[str], PydtClient],
        push_text: Callable[[], str],
        notifier: Notifier,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent if parent is not None else supervisor)
        if supervisor.relay is None:
            raise ValueError("the push supervisor runs no relay path")
        self.relay: RelayPush = supervisor.relay
        self.supervisor = supervisor
        self._session = session
        self._make_client = make_client
        self._push_text = push_text
        self._notifier = notifier
        self.section: RelaySection | None = None
        self.relay.enable_finished.connect(self._on_enabled)
        self.relay.disable_finished.connect(self._on_disabled)
        supervisor.state_changed.connect(lambda _state: self.refresh())
        session.signing_out.connect(self.on_signing_out)

    def attach(self, window: SettingsWindow) -> None:
        """Add the section to a freshly built settings window."""
        from pydt_tray.ui.relay_section import RelaySection

        section = RelaySection(window)
        section.enable_requested.connect(self.enable)
        section.disable_requested.connect(self.disable)
        window.tabs.addTab(section, TAB_TITLE)
        self.section = section
        self.refresh()

    def refresh(self) -> None:
        if self.section is not None:
            from pydt_tray.ui.relay_section import PushView

            self.section.show_state(PushView(self._push_text(), self.relay.on, self.relay.detail))

    # --- the section's requests -----------------------------------------------------------------------

    def enable(self, server: str, access_token: str, replace: bool) -> None:
        token = self._session.token
        if token is None:
            self._on_enabled(RelayOutcome(False, NOT_SIGNED_IN))
            return
        self.relay.enable(lambda: self._make_client(token), server, access_token, replace)

    def disable(self) -> None:
        token = self._session.token
        if token is None:
            self._on_disabled(RelayOutcome(False, NOT_SIGNED_IN))
            return
        self.relay.disable(lambda: self._make_client(token))

    def _on_enabled(self, outcome: RelayOutcome) -> None:
        if outcome.ok:
            self.supervisor.relay_started()
        if self.section is not None:
            if outcome.ok:
                self.section.show_done(outcome.text)
            elif outcome.foreign_host:
                self.section.ask_replace(outcome.foreign_host)
            else:
                self.section.show_failed(outcome.text)
        self.refresh()

    def _on_disabled(self, outcome: RelayOutcome) -> None:
        if outcome.ok:
            self.supervisor.relay_stopped()
        if self.section is not None:
            (self.section.show_done if outcome.ok else self.section.show_failed)(outcome.text)
        self.refresh()

    # --- sign-out -------------------------------------------------------------------------------------

    def on_signing_out(self, token: str) -> None:
        """The account is signing out: its topic leaves the stream and the previous webhook is put back (needs
        the token; the other accounts' topics stay)."""
        self.relay.disable(lambda: self._make_client(token), after=self._signed_out, signing_out=True)

    def _signed_out(self, outcome: RelayOutcome) -> None:
        if outcome.ok:
            log.info("Signed out: %s", outcome.text)
            return
        log.error("The relay could not be turned off at sign-out: %s", outcome.text)
        self._notifier.notify(
            "pydt-tray: the relay is still on",
            f"{outcome.text} Sign in again and turn it off in Settings → {TAB_TITLE}.",
            key=SIGN_IN_KEY,
        )
