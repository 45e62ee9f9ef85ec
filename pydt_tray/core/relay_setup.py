"""Turning the relay push path on and off: PYDT's webhook pointed at a secret topic on an ntfy relay.

Both the command line and the settings window go through :class:`RelaySetup`:

- **enable** reads the current webhook (``GET /user/getCurrentWithPud``); a webhook that is not ours is
  only replaced when the caller says so, and its value is remembered. A fresh topic (192 random bits)
  is created, the relay is subscribed to, the webhook is set and read back, and one check message is
  published and must come back through the stream (it is dropped there: it is not a turn).
- **disable** restores the webhook that was there before (or clears ours) and forgets the topic. If the
  webhook was changed elsewhere since, it is left alone.

The topic, the relay's access token and the remembered webhook are secrets. They are kept in the
system keyring next to the PYDT token (same rules: a plain 0600 file only when the user allowed one
for the token), registered for redaction from the logs, and never printed: :func:`topic_hint` shows
the first four characters.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from pydt_tray.core.api import PrivateUserData
from pydt_tray.core.credentials import CredentialError, NoSecureBackendError
from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.logs import register_secret
from pydt_tray.core.models import User
from pydt_tray.core.relay_store import RelayRecord, RelayStore, relay_store
from pydt_tray.push.ntfy_config import (
    DEFAULT_KEEPALIVE_SECONDS,
    PROBE_PREFIX,
    VERIFY_TIMEOUT,
    RelayConfig,
    RelayError,
    check_server_url,
    topic_hint,
)
from pydt_tray.push.ntfy_http import fetch_cached, publish
from pydt_tray.push.ntfy_stream import RelaySubscriber

log = logging.getLogger(__name__)

TOPIC_BYTES = 24  # 192 bits of randomness


class RelaySetupError(PydtTrayError):
    """Enabling, disabling or checking the relay failed; ``str()`` is one line for the user."""


class ForeignWebhookError(RelaySetupError):
    """A webhook that is not ours is set; it is only replaced when the user says so."""

    def __init__(self, host: str) -> None:
        super().__init__(
            f"your PYDT profile already has a webhook (to {host}); pydt-tray will not replace it unless you "
            "confirm (command line: --replace). It is remembered and put back when you turn the relay off."
        )
        self.host = host


class RelayClient(Protocol):
    """What the setup needs of the PYDT client."""

    def get_current_with_pud(self) -> tuple[User, PrivateUserData]: ...

    def set_webhook_url(self, url: str) -> PrivateUserData: ...


def new_topic() -> str:
    """A fresh secret topic: 192 random bits, URL-safe, within ntfy's 64 characters."""
    return secrets.token_urlsafe(TOPIC_BYTES)


def host_of(url: str) -> str:
    """The host a webhook URL points at (for messages; never the whole URL, which may hold a secret)."""
    try:
        return urlsplit(url).hostname or "an unreadable address"
    except ValueError:
        return "an unreadable address"


@dataclass(frozen=True)
class EnableResult:
    record: RelayRecord
    replaced_host: str | None  # the host of a webhook that was replaced (and remembered)
    check_ms: float  # publish -> arrival of the check message


@dataclass(frozen=True)
class DisableResult:
    outcome: str  # "restored", "cleared", "left" (changed elsewhere since) or "off" (nothing was on)
    host: str | None = None


@dataclass(frozen=True)
class RelayStatus:
    enabled: bool
    server: str | None = None
    topic_hint: str | None = None
    other_account: bool = False
    webhook_ok: bool | None = None  # PYDT still points at our topic
    reachable: bool | None = None
    problem: str | None = None
    last_message_time: float | None = None  # unix time of the last message the relay still caches


class _Watcher:
    """Listener of the setup's own short subscription: the first connect or failure, and the check message."""

    def __init__(self, nonce: str) -> None:
        self._nonce = nonce
        self.connected = threading.Event()
        self.failed: str | None = None
        self.changed = threading.Event()
        self.probe_seen = threading.Event()

    def on_push_message(self, topic: str, payload: bytes) -> None:
        pass  # a turn during setup: the app's catch-up fetch covers it

    def on_push_connected(self, session_present: bool) -> None:
        self.connected.set()
        self.changed.set()

    def on_push_disconnected(self, reason: str) -> None:
        if not self.connected.is_set() and self.failed is None:
            self.failed = reason
            self.changed.set()

    def on_push_stopped(self) -> None:
        pass

    def probe(self, text: str) -> None:
        if text == PROBE_PREFIX + self._nonce:
            self.probe_seen.set()


class RelaySetup:
    """Enable, disable and check the relay for the account of ``client``. Blocking: run it off the UI thread.

    Each account has its own record; ``steam_id`` names the account when it is known beforehand (with several
    records and none named, disable and status ask the service whose token the client has)."""

    def __init__(
        self,
        client: RelayClient,
        store: RelayStore,
        *,
        verify_timeout: float = VERIFY_TIMEOUT,
        topic_factory: Callable[[], str] = new_topic,
        steam_id: str | None = None,
    ) -> None:
        self._steam_id = steam_id
        self._client = client
        self._store = store
        self._verify_timeout = verify_timeout
        self._topic_factory = topic_factory

    def load(self) -> RelayRecord | None:
        return self._own_record()

    def _own_record(self) -> RelayRecord | None:
        """The record of this account: named, the only one, or (several) the one of the client's user."""
        if self._steam_id is not None:
            return self._store.load(self._steam_id)
        records = self._store.load_all()
        if len(records) <= 1:
            return records[0] if records else None
        user, _pud = self._client.get_current_with_pud()
        return next((record for record in records if record.steam_id == user.steam_id), None)

    # --- enable ------------------------------------------------------------------------------------

    def enable(
        self,
        server: str,
        *,
        token: str | None = None,
        replace: bool = False,
        keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS,
    ) -> EnableResult:
        """Point PYDT's webhook at a new topic on ``server`` and prove the path works end to end.

        Raises :class:`RelayConfigError` for a server that is not acceptable, :class:`ForeignWebhookError`
        when another webhook is set and ``replace`` is False, :class:`RelaySetupError` when the relay or
        the check fails (the webhook is then put back), and the client's ``PydtError`` for API failures.
        """
        server = check_server_url(server)
        if token is not None:
            token = token.strip() or None
            register_secret(token)
        user, pud = self._client.get_current_with_pud()
        existing = self._store.load(user.steam_id)
        mine = existing is not None
        current = pud.webhook_url
        register_secret(current)
        replaced_host: str | None = None
        if mine and existing is not None and current == existing.webhook_url:
            previous = existing.previous_webhook
        elif current:
            if not replace:
                raise ForeignWebhookError(host_of(current))
            previous, replaced_host = current, host_of(current)
        else:
            previous = ""
        record = RelayRecord(
            steam_id=user.steam_id,
            server=server,
            topic=self._topic_factory(),
            token=token,
            previous_webhook=previous,
            keepalive_seconds=keepalive_seconds,
        )
        record.register_secrets()
        config = record.config(min_reconnect_seconds=0.2, max_reconnect_seconds=1.0)
        nonce = secrets.token_hex(8)
        watcher = _Watcher(nonce)
        subscriber = RelaySubscriber(config, watcher, probe=watcher.probe)
        subscriber.start()
        try:
            self._wait_connected(watcher)
            self._store.save(record)  # the old webhook is safe before PYDT's changes
            try:
                check_ms = self._switch_and_check(record, config, watcher, nonce)
            except Exception:
                self._roll_back(record, current)
                raise
        finally:
            subscriber.stop()
        log.info("Relay push enabled on %s (%s)", server, record.hint)
        return EnableResult(record, replaced_host, check_ms)

    def _wait_connected(self, watcher: _Watcher) -> None:
        if not watcher.changed.wait(self._verify_timeout):
            raise RelaySetupError(f"the relay did not answer within {self._verify_timeout:g} s; nothing was changed")
        if watcher.failed is not None:
            raise RelaySetupError(f"could not subscribe to the relay: {watcher.failed}; nothing was changed")

    def _switch_and_check(self, record: RelayRecord, config: RelayConfig, watcher: _Watcher, nonce: str) -> float:
        self._client.set_webhook_url(record.webhook_url)
        _, saved = self._client.get_current_with_pud()
        if saved.webhook_url != record.webhook_url:
            raise RelaySetupError("PYDT did not keep the new webhook (read back a different value)")
        started = time.monotonic()
        try:
            publish(config, PROBE_PREFIX + nonce)
        except RelayError as error:
            raise RelaySetupError(f"could not publish the check message: {error}") from error
        if not watcher.probe_seen.wait(self._verify_timeout):
            raise RelaySetupError(
                f"the check message did not come back through the relay within {self._verify_timeout:g} s"
            )
        return (time.monotonic() - started) * 1000

    def _roll_back(self, record: RelayRecord, original: str) -> None:
        """Put the webhook back as it was; forget the record only once that worked."""
        try:
            self._client.set_webhook_url(original)
        except Exception as error:
            log.error("Could not put the previous webhook back after a failed relay setup: %s", error)
            return  # the record stays, so that `relay disable` can restore it later
        self._store.delete()

    # --- disable -----------------------------------------------------------------------------------

    def disable(self) -> DisableResult:
        """Restore the previous webhook (or clear ours) and forget the topic.

        Raises :class:`RelaySetupError` when the relay was set up for another account, and the
        client's ``PydtError`` for API failures (nothing is forgotten then).
        """
        record = self._own_record()
        if record is None:
            return DisableResult("off")
        user, pud = self._client.get_current_with_pud()
        if user.steam_id != record.steam_id:
            raise RelaySetupError(
                "the relay was turned on for another PYDT account; sign in as that account to turn it off"
            )
        if pud.webhook_url != record.webhook_url:
            log.info("The PYDT webhook was changed elsewhere; it is left as it is")
            self._store.delete(record.steam_id)
            return DisableResult("left", host_of(pud.webhook_url) if pud.webhook_url else None)
        self._client.set_webhook_url(record.previous_webhook)
        _, saved = self._client.get_current_with_pud()
        if saved.webhook_url != record.previous_webhook:
            raise RelaySetupError("PYDT did not keep the restored webhook; the relay settings are kept")
        self._store.delete(record.steam_id)
        if record.previous_webhook:
            log.info("Relay push disabled; the previous webhook is back")
            return DisableResult("restored", host_of(record.previous_webhook))
        log.info("Relay push disabled; the webhook is cleared")
        return DisableResult("cleared")

    # --- status ------------------------------------------------------------------------------------

    def status(self, *, check_pydt: bool = True, check_relay: bool = True) -> RelayStatus:
        """Whether the relay is on, and (optionally) whether PYDT and the relay still agree with it."""
        record = self._own_record()
        if record is None:
            return RelayStatus(False)
        webhook_ok: bool | None = None
        other_account = False
        if check_pydt:
            user, pud = self._client.get_current_with_pud()
            other_account = user.steam_id != record.steam_id
            webhook_ok = not other_account and pud.webhook_url == record.webhook_url
        reachable: bool | None = None
        problem: str | None = None
        last: float | None = None
        if check_relay:
            try:
                cached = fetch_cached(record.config())
                reachable = True
                times = [
                    float(m["time"])
                    for m in cached
                    if isinstance(m.get("time"), int | float) and not str(m.get("message", "")).startswith(PROBE_PREFIX)
                ]
                last = max(times) if times else None
            except RelayError as error:
                reachable, problem = False, str(error)
        return RelayStatus(
            True, record.server, topic_hint(record.topic), other_account, webhook_ok, reachable, problem, last
        )


class ClosableRelayClient(RelayClient, Protocol):
    def close(self) -> None: ...


def relay_webhook_restorer(
    config_dir: Path, make_client: Callable[[str], ClosableRelayClient]
) -> Callable[[str | None], str] | None:
    """For forgetting the account: how to turn the relay off (previous webhook back), or None when it is off.

    The function takes the PYDT token (None when it could not be read) and returns a sentence for the user;
    it raises when the webhook could not be put back, and the relay settings are then kept so that
    ``pydt-tray relay disable`` can still do it after signing in again.
    """
    store = relay_store(config_dir)
    try:
        if store.load() is None:
            return None
    except NoSecureBackendError:
        return None  # no keyring at all: the relay cannot have been set up
    except CredentialError as error:
        failure = error

        def cannot_read(_token: str | None) -> str:
            raise RelaySetupError(f"the relay settings could not be read: {failure.user_message}")

        return cannot_read

    def restore(token: str | None) -> str:
        if token is None:
            raise RelaySetupError("without the PYDT token the webhook cannot be put back; do it on the website")
        client = make_client(token)
        try:
            result = RelaySetup(client, store).disable()
        finally:
            client.close()
        return {
            "restored": f"your previous webhook (to {result.host}) is back on your PYDT profile",
            "cleared": "the relay's webhook was removed from your PYDT profile",
            "left": "your PYDT webhook had been changed elsewhere and was left as it is",
        }.get(result.outcome, "the relay was not on")

    return restore
