"""The relay as one push path of the running app: one subscriber for the signed-in accounts, turning it on or off.

Qt-free and thread-safe. The listener gets the relay's events (the same calls as from the IoT link, on the
subscriber's thread). :meth:`RelayPushPath.enable` and :meth:`RelayPushPath.disable` block on HTTP: run them
off the UI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from pydt_tray.core.credentials import CredentialError, NoSecureBackendError
from pydt_tray.core.relay_store import RelayRecord, RelayStore
from pydt_tray.push.config import PushListener
from pydt_tray.push.ntfy_config import (
    DEFAULT_KEEPALIVE_SECONDS,
    RELAY_TOPIC_LABEL,
    STOPPED,
    VERIFY_TIMEOUT,
    RelayConfig,
)

if TYPE_CHECKING:  # the setup and the stream are imported when the relay is used: an app without it stays light
    from pydt_tray.core.relay_setup import DisableResult, EnableResult, RelayClient

log = logging.getLogger(__name__)

OFF = "off"


class Subscriber(Protocol):
    """What the path needs of a subscriber (:class:`RelaySubscriber`)."""

    @property
    def state(self) -> str: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> bool: ...

    def reconnect_now(self) -> None: ...


SubscriberFactory = Callable[[RelayConfig, PushListener], Subscriber]


class RelayPushPath:
    """Runs one relay subscriber for every signed-in account the relay is on for: their topics on one stream
    (when they share the relay server and access token; a record on another server is not streamed)."""

    def __init__(
        self,
        store: RelayStore,
        listener: PushListener,
        *,
        subscriber_factory: SubscriberFactory | None = None,
        verify_timeout: float = VERIFY_TIMEOUT,
    ) -> None:
        self._store = store
        self._listener = listener
        self._factory = subscriber_factory
        self._verify_timeout = verify_timeout
        self._lock = threading.Lock()
        self._subscriber: Subscriber | None = None
        self._records: dict[str, RelayRecord] = {}  # steam id -> record, in the order they were started
        self._streamed: list[str] = []  # the steam ids of the running stream's topics, in its order
        self.problem = ""  # why the relay could not be read or started ("" when fine)

    @property
    def record(self) -> RelayRecord | None:
        """The record of the first streamed account (None while off)."""
        return self._records.get(self._streamed[0]) if self._streamed else None

    @property
    def accounts(self) -> list[str]:
        """The accounts whose topics the running stream carries."""
        return list(self._streamed)

    def owner_of(self, label: str) -> str | None:
        """The account a message with ``label`` (``relay``, ``relay#1``, ...) came for."""
        number = label.rpartition("#")[2]
        index = 0 if label == RELAY_TOPIC_LABEL else int(number) if number.isdigit() else -1
        streamed = self._streamed
        return streamed[index] if 0 <= index < len(streamed) else None

    @property
    def running(self) -> bool:
        return self._subscriber is not None

    @property
    def state(self) -> str:
        """``off``, or the subscriber's ``connecting``, ``connected``, ``backoff``."""
        subscriber = self._subscriber
        if subscriber is None:
            return OFF
        state = subscriber.state
        return OFF if state == STOPPED else state

    def start_for(self, steam_id: str) -> bool:
        """Stream ``steam_id``'s topic too when the relay is on for it; True if it is streamed now."""
        if steam_id in self._streamed and self._subscriber is not None:
            return True
        try:
            record = self._store.load(steam_id)
        except NoSecureBackendError:
            log.info("No secure keyring: the relay cannot have been set up here")
            return False
        except CredentialError as error:
            self.problem = f"relay settings unreadable: {error.user_message}"
            log.error("The relay settings could not be read: %s", error.user_message)
            return False
        self.problem = ""
        if record is None:
            log.info("The relay is not on for this PYDT account")
            return False
        return self._start(record)

    def _make_subscriber(self, config: RelayConfig) -> Subscriber:
        """A subscriber from the factory given, or the stream's own (imported only now)."""
        if self._factory is not None:
            return self._factory(config, self._listener)
        from pydt_tray.push.ntfy_stream import RelaySubscriber

        return RelaySubscriber(config, self._listener)

    def _start(self, record: RelayRecord) -> bool:
        with self._lock:
            self._records[record.steam_id] = record
        return self._restart() and record.steam_id in self._streamed

    def _restart(self) -> bool:
        """(Re)start the one subscriber with the topics of every record that shares the first one's server."""
        with self._lock:
            records = list(self._records.values())
            old, self._subscriber, self._streamed = self._subscriber, None, []
        if old is not None:
            old.stop(5.0)
        if not records:
            return False
        first = records[0]
        together = [r for r in records if (r.server, r.token) == (first.server, first.token)]
        for left_out in records:
            if left_out not in together:
                log.warning("The relay of another account uses another server or access token; it is not streamed")
        try:
            config = first.config(extra_topics=tuple(r.topic for r in together[1:]))
            subscriber = self._make_subscriber(config)
        except ValueError as error:  # RelayConfigError: a record this version cannot use
            self.problem = f"relay off: {error}"
            log.error("The relay subscriber was not started: %s", error)
            return False
        with self._lock:
            if self._subscriber is not None:  # started meanwhile by another thread
                subscriber = self._subscriber
            else:
                self._subscriber, self._streamed = subscriber, [r.steam_id for r in together]
                subscriber.start()
        return True

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop streaming for every account."""
        with self._lock:
            subscriber, self._subscriber, self._streamed = self._subscriber, None, []
            self._records = {}
        if subscriber is None:
            return True
        stopped = subscriber.stop(timeout)
        if not stopped:
            log.warning("The relay subscriber did not stop within %.0f s", timeout)
        return stopped

    def remove(self, steam_id: str) -> None:
        """One account left: the stream goes on with the others' topics (or stops)."""
        with self._lock:
            if self._records.pop(steam_id, None) is None:
                return
        self._restart()

    def reconnect_now(self) -> None:
        subscriber = self._subscriber
        if subscriber is not None:
            subscriber.reconnect_now()

    def enable(
        self,
        client: RelayClient,
        server: str,
        *,
        token: str | None = None,
        replace: bool = False,
        keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS,
    ) -> EnableResult:
        """Turn the relay on for the client's account (see :meth:`RelaySetup.enable`) and stream its topic."""
        from pydt_tray.core.relay_setup import RelaySetup

        setup = RelaySetup(client, self._store, verify_timeout=self._verify_timeout)
        result = setup.enable(server, token=token, replace=replace, keepalive_seconds=keepalive_seconds)
        self._start(result.record)
        return result

    def disable(self, client: RelayClient, steam_id: str | None = None, *, signing_out: bool = False) -> DisableResult:
        """Stop streaming the account's topic and turn the relay off for it; on failure the error is raised and
        (unless the account is ``signing_out``) its topic is streamed again."""
        from pydt_tray.core.relay_setup import RelaySetup

        setup = RelaySetup(client, self._store, verify_timeout=self._verify_timeout, steam_id=steam_id)
        record = self._records.get(steam_id) if steam_id else None
        if record is None:
            record = setup.load()
        if record is not None:
            self.remove(record.steam_id)
        try:
            return setup.disable()
        except Exception:
            if record is not None and not signing_out:
                self._start(record)
            raise
