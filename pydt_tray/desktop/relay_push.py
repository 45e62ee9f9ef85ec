"""The relay push path inside the Qt app: its events as UI-thread signals, enable/disable on the worker.

Narrow dependencies: the relay store, a ``submit`` that runs a job off the UI thread, a ``call_soon`` that
brings a callable back to it, and a ``make_client`` for the signed-in account's PYDT client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from pydt_tray.core.api import PydtClient
from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.relay_path import OFF, RelayPushPath, SubscriberFactory
from pydt_tray.core.relay_store import RelayStore
from pydt_tray.push.ntfy_config import CONNECTED, RelayConfigError
from pydt_tray.ui.bridge import PushBridge

log = logging.getLogger(__name__)

Job = Callable[[], None]


@dataclass(frozen=True)
class RelayOutcome:
    """How an enable or disable went, in words for the user; ``foreign_host`` asks for a confirmation."""

    ok: bool
    text: str
    foreign_host: str | None = None


class RelayPush(QObject):
    """Owns the relay subscriber of the signed-in accounts and runs the relay setup off the UI thread."""

    message = Signal(str)  # a turn hint arrived (treat like the IoT "Hello!"); its topic's label (owner_of)
    connected = Signal()  # (re)connected: time for a catch-up fetch
    disconnected = Signal(str)
    enable_finished = Signal(object)  # RelayOutcome
    disable_finished = Signal(object)  # RelayOutcome

    def __init__(
        self,
        store: RelayStore,
        *,
        submit: Callable[[Job], None],
        call_soon: Callable[[Job], None],
        subscriber_factory: SubscriberFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._submit = submit
        self._call_soon = call_soon
        self.bridge = PushBridge(self)
        self.path = RelayPushPath(store, self.bridge, subscriber_factory=subscriber_factory)
        self.messages = 0
        self.last_reason = ""
        self.bridge.message.connect(self._on_message)
        self.bridge.connected.connect(self._on_connected)
        self.bridge.disconnected.connect(self._on_disconnected)

    # --- state ----------------------------------------------------------------------------------------

    @property
    def on(self) -> bool:
        """The subscriber runs (the relay is on for this account)."""
        return self.path.running

    @property
    def live(self) -> bool:
        return self.path.state == CONNECTED

    @property
    def detail(self) -> str:
        """Server, topic hint and stream state, for the settings window (never the topic)."""
        record = self.path.record
        if record is None:
            return self.path.problem
        state = self.path.state
        words = {CONNECTED: "live", OFF: "off"}.get(state, "connecting" if state == "connecting" else "down")
        if words == "down" and self.last_reason:
            words += f": {self.last_reason}"
        return f"{record.hint} · {words}"

    # --- life cycle (UI thread) -----------------------------------------------------------------------

    def start_for(self, steam_id: str) -> bool:
        started = self.path.start_for(steam_id)
        if started:
            log.info("Relay push on for this account")
        return started

    def stop(self, timeout: float = 5.0) -> None:
        self.path.stop(timeout)

    def remove(self, steam_id: str) -> None:
        """One account left: its topic leaves the stream."""
        self.path.remove(steam_id)

    def owner_of(self, label: str) -> str | None:
        return self.path.owner_of(label)

    def reconnect_now(self) -> None:
        self.path.reconnect_now()

    # --- enable / disable (the HTTP work runs on the worker) ------------------------------------------

    def enable(self, make_client: Callable[[], PydtClient], server: str, token: str, replace: bool) -> None:
        def work(client: PydtClient) -> RelayOutcome:
            result = self.path.enable(client, server, token=token or None, replace=replace)
            text = f"Real-time push through the relay is on ({result.record.hint}), checked end to end."
            if result.replaced_host:
                text += f" Your webhook to {result.replaced_host} is remembered and comes back when you turn it off."
            return RelayOutcome(True, text)

        self._run(make_client, work, self.enable_finished)

    def disable(
        self,
        make_client: Callable[[], PydtClient],
        after: Callable[[RelayOutcome], None] | None = None,
        *,
        signing_out: bool = False,
    ) -> None:
        """Turn the relay off (previous webhook back); ``after`` runs on the UI thread with the outcome. When the
        account is ``signing_out`` its topic leaves the stream even if the webhook cannot go back."""

        def work(client: PydtClient) -> RelayOutcome:
            outcome = self.path.disable(client, signing_out=signing_out)
            texts = {
                "restored": f"The relay is off; your webhook to {outcome.host} is back.",
                "cleared": "The relay is off; the webhook in your PYDT profile is cleared.",
                "left": "The relay is off; your PYDT webhook had been changed elsewhere and is left as it is.",
                "off": "The relay is off.",
            }
            return RelayOutcome(True, texts[outcome.outcome])

        self._run(make_client, work, self.disable_finished, after)

    def _run(
        self,
        make_client: Callable[[], PydtClient],
        work: Callable[[PydtClient], RelayOutcome],
        signal: Any,
        after: Callable[[RelayOutcome], None] | None = None,
    ) -> None:
        def job() -> None:
            from pydt_tray.core.relay_setup import ForeignWebhookError, RelaySetupError  # the relay's setup: now

            try:
                client = make_client()
            except Exception as error:
                outcome = RelayOutcome(False, f"not signed in ({error})")
            else:
                try:
                    outcome = work(client)
                except ForeignWebhookError as error:
                    outcome = RelayOutcome(False, str(error), error.host)
                except (RelaySetupError, RelayConfigError) as error:
                    outcome = RelayOutcome(False, str(error))
                except PydtTrayError as error:  # the service, the keyring, ...: its message for the user
                    outcome = RelayOutcome(False, error.user_message)
                except Exception:
                    log.exception("The relay setup failed")
                    outcome = RelayOutcome(False, "The relay setup failed unexpectedly; the details are in the log.")
                finally:
                    client.close()

            def report() -> None:
                signal.emit(outcome)
                if after is not None:
                    after(outcome)

            self._call_soon(report)

        self._submit(job)

    # --- subscriber events (queued to the UI thread by the bridge) -------------------------------------

    def _on_message(self, label: str) -> None:
        if self.path.running:
            self.messages += 1
            self.message.emit(label)

    def _on_connected(self, _session_present: bool) -> None:
        if self.path.running:
            self.last_reason = ""
            self.connected.emit()

    def _on_disconnected(self, reason: str) -> None:
        if self.path.running:
            self.last_reason = reason
            self.disconnected.emit(reason)
