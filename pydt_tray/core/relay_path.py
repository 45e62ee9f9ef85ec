"""The relay as one push path of the running app: the signed-in account's subscriber, and turning it on or off.

Qt-free and thread-safe. The listener gets the relay's events (the same calls as from the IoT link, on the
subscriber's thread). :meth:`RelayPushPath.enable` and :meth:`RelayPushPath.disable` block on HTTP: run them
off the UI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from pydt_tray.core.credentials import CredentialError, NoSecureBackendError
from pydt_tray.core.relay_setup import VERIFY_TIMEOUT, DisableResult, EnableResult, RelayClient, RelaySetup
from pydt_tray.core.relay_store import RelayRecord, RelayStore
from pydt_tray.push.config import PushListener
from pydt_tray.push.ntfy_config import DEFAULT_KEEPALIVE_SECONDS, RelayConfig
from pydt_tray.push.ntfy_stream import STOPPED, RelaySubscriber

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
    """Runs the relay subscriber of the signed-in account, if the relay is on for it."""

    def __init__(
        self,
        store: RelayStore,
        listener: PushListener,
        *,
        subscriber_factory: SubscriberFactory = RelaySubscriber,
        verify_timeout: float = VERIFY_TIMEOUT,
    ) -> None:
        self._store = store
        self._listener = listener
        self._factory = subscriber_factory
        self._verify_timeout = verify_timeout
        self._lock = threading.Lock()
        self._subscriber: Subscriber | None = None
        self._record: RelayRecord | None = None
        self.problem = ""  # why the relay could not be read or started ("" when fine)

    @property
    def record(self) -> RelayRecord | None:
        """The record of the running subscriber (None while off)."""
        return self._record

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
        """Start streaming when the relay is on for ``steam_id``; True if it runs now."""
        if self._subscriber is not None:
            return True
        try:
            record = self._store.load()
        except NoSecureBackendError:
            log.info("No secure keyring: the relay cannot have been set up here")
            return False
        except CredentialError as error:
            self.problem = f"relay settings unreadable: {error.user_message}"
            log.error("The relay settings could not be read: %s", error.user_message)
            return False
        self.problem = ""
        if record is None:
            return False
        if record.steam_id != steam_id:
            log.info("The relay is on for another PYDT account; not used for this one")
            return False
        return self._start(record)

    def _start(self, record: RelayRecord) -> bool:
        try:
            subscriber = self._factory(record.config(), self._listener)
        except ValueError as error:  # RelayConfigError: a record this version cannot use
            self.problem = f"relay off: {error}"
            log.error("The relay subscriber was not started: %s", error)
            return False
        with self._lock:
            if self._subscriber is not None:
                return True
            self._subscriber, self._record = subscriber, record
        subscriber.start()
        return True

    def stop(self, timeout: float = 5.0) -> bool:
        with self._lock:
            subscriber, self._subscriber, self._record = self._subscriber, None, None
        if subscriber is None:
            return True
        stopped = subscriber.stop(timeout)
        if not stopped:
            log.warning("The relay subscriber did not stop within %.0f s", timeout)
        return stopped

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
        """Turn the relay on (see :meth:`RelaySetup.enable`) and stream the new topic."""
        setup = RelaySetup(client, self._store, verify_timeout=self._verify_timeout)
        result = setup.enable(server, token=token, replace=replace, keepalive_seconds=keepalive_seconds)
        self.stop()
        self._start(result.record)
        return result

    def disable(self, client: RelayClient) -> DisableResult:
        """Stop streaming and turn the relay off; on failure the subscriber runs again and the error is raised."""
        record = self._record
        self.stop()
        try:
            return RelaySetup(client, self._store, verify_timeout=self._verify_timeout).disable()
        except Exception:
            if record is not None:
                self._start(record)
            raise
