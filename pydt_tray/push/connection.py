"""The IoT push connection: MQTT over SigV4-signed WebSocket + TLS, one topic at QoS 0.

A message on the topic only means "reload the game list"; the payload carries nothing. Every
listener call arrives on a CRT thread and must return quickly. Nothing here logs the secret, and
awscrt trace logging stays off (it would print the key id and the signature).
"""

from __future__ import annotations

import logging
import threading

from pydt_tray.push.config import (
    CLIENT_ID_PREFIX,
    PushConfig,
    PushConfigError,
    PushListener,
    make_client_id,
    new_install_id,
)
from pydt_tray.push.link import STOPPED, Link
from pydt_tray.push.reconnect import ReconnectPolicy
from pydt_tray.push.relay import ListenerRelay

__all__ = [
    "CLIENT_ID_PREFIX",
    "PushConfig",
    "PushConfigError",
    "PushConnection",
    "PushListener",
    "make_client_id",
    "new_install_id",
]

log = logging.getLogger(__name__)


def _build_link(config: PushConfig, relay: ListenerRelay) -> Link:
    if config.protocol == "mqtt311":
        from pydt_tray.push.mqtt311_link import Mqtt311Link

        return Mqtt311Link(config, relay)
    from pydt_tray.push.mqtt5_link import Mqtt5Link

    return Mqtt5Link(config, relay)


class PushConnection:
    """Keeps one subscription alive; reconnects on its own until :meth:`stop`.

    ``start`` may be called again after ``stop`` has returned; each run gets a fresh client, and
    nothing from an earlier run reaches the listener after its ``on_push_stopped``.
    """

    def __init__(self, config: PushConfig, listener: PushListener) -> None:
        self.config = config
        self._listener = listener
        self._lock = threading.Lock()
        self._link: Link | None = None

    @property
    def state(self) -> str:
        """``stopped``, ``connecting``, ``connected`` or ``backoff``."""
        link = self._link
        return STOPPED if link is None else link.state

    @property
    def reconnect_policy(self) -> ReconnectPolicy | None:
        """The running link's reconnect policy (its counters: attempts, longest wait), None when stopped."""
        link = self._link
        return None if link is None else link.policy

    def start(self) -> None:
        """Begin connecting in the background; does nothing if already running.

        Raises :class:`PushConfigError` when the client cannot even be built (e.g. an unreadable CA file).
        """
        with self._lock:
            if self._link is not None:
                return
            try:
                link = _build_link(self.config, ListenerRelay(self._listener))
            except Exception as error:  # awscrt raises plain exceptions for bad TLS files and the like
                raise PushConfigError(f"cannot set up the push connection: {error}") from error
            self._link = link
        log.info(
            "push: connecting to %s:%d as %s (%s)",
            self.config.endpoint,
            self.config.port,
            self.config.client_id,
            self.config.protocol,
        )
        link.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop and wait until the client has stopped. True when it did so within ``timeout`` seconds.

        Either way, ``on_push_stopped`` has been delivered when this returns and nothing follows it.
        """
        with self._lock:
            link, self._link = self._link, None
        if link is None:
            return True
        stopped = link.stop(timeout)
        log.info("push: stopped" if stopped else "push: stop timed out")
        return stopped

    def reconnect_now(self) -> None:
        """Drop the current connection (or skip the backoff wait) and connect again at once; the next wait
        after a loss starts over at the floor (a network change or a wake makes old failures meaningless)."""
        link = self._link
        if link is not None:
            log.info("push: reconnecting now")
            link.reconnect_now()
