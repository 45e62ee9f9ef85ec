"""Where the relay's secrets are kept: one entry next to the PYDT token in the system keyring.

The entry holds the server, the topic, the relay's access token and the webhook that was there before.
The same rules as for the token apply (:class:`pydt_tray.core.credentials.TokenStore`): a trusted keyring,
or a 0600 plain file only when the user chose one for the token. Everything secret is registered for
redaction from the logs as soon as it is read or written.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydt_tray.core.credentials import TokenStore
from pydt_tray.core.logs import register_secret
from pydt_tray.push.ntfy_config import DEFAULT_KEEPALIVE_SECONDS, RelayConfig, RelayConfigError, check_server_url

log = logging.getLogger(__name__)

RELAY_KEY = "relay-push"  # the keyring user name next to the PYDT token's
PLAINTEXT_RELAY_FILE = "relay.plaintext"


@dataclass(frozen=True, kw_only=True)
class RelayRecord:
    """What is stored while the relay is on. Only ``server`` and ``steam_id`` are shown in ``repr``."""

    steam_id: str
    server: str
    topic: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    previous_webhook: str = field(default="", repr=False)
    keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS

    @property
    def webhook_url(self) -> str:
        return f"{self.server}/{self.topic}"

    @property
    def hint(self) -> str:
        return f"{self.server}/{self.topic[:4]}…"

    def config(self, **changes: Any) -> RelayConfig:
        """The subscriber settings for this record (``changes`` override timing values)."""
        values: dict[str, Any] = {"keepalive_seconds": self.keepalive_seconds, **changes}
        return RelayConfig(server=self.server, topic=self.topic, token=self.token, **values)

    def register_secrets(self) -> None:
        for value in (self.topic, self.token, self.previous_webhook):
            register_secret(value)

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": 1,
                "steamId": self.steam_id,
                "server": self.server,
                "topic": self.topic,
                "token": self.token,
                "previousWebhook": self.previous_webhook,
                "keepalive": self.keepalive_seconds,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> RelayRecord:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != 1:
            raise ValueError("not a relay record")
        token = data.get("token")
        keepalive = data.get("keepalive", DEFAULT_KEEPALIVE_SECONDS)
        if not isinstance(keepalive, int | float) or isinstance(keepalive, bool) or keepalive <= 0:
            raise ValueError("bad keepalive")
        record = cls(
            steam_id=str(data["steamId"]),
            server=check_server_url(str(data["server"])),
            topic=str(data["topic"]),
            token=str(token) if token else None,
            previous_webhook=str(data.get("previousWebhook") or ""),
            keepalive_seconds=float(keepalive),
        )
        record.config()  # validates the topic and token
        return record


class RelayStore:
    """The relay records in the secret store (one entry next to the PYDT tokens): one record per account the
    relay is on for. One record is kept as the single-record document earlier versions wrote; several as
    ``{"version": 2, "records": [...]}``."""

    def __init__(self, store: TokenStore) -> None:
        self._store = store

    @property
    def backend_name(self) -> str:
        return self._store.backend_name

    def load_all(self) -> list[RelayRecord]:
        """Every stored record (an unreadable entry is reported in the log and counts as none).

        Raises :class:`pydt_tray.core.credentials.CredentialError` when the store itself fails.
        """
        text = self._store.load()
        if not text:
            return []
        register_secret(text)
        try:
            data = json.loads(text)
            documents = data["records"] if isinstance(data, dict) and data.get("version") == 2 else [data]
            records = [RelayRecord.from_json(json.dumps(document)) for document in documents]
        except (ValueError, KeyError, TypeError, RelayConfigError):
            log.warning("The stored relay settings are unreadable; the relay counts as off")
            return []
        for record in records:
            record.register_secrets()
        return records

    def load(self, steam_id: str | None = None) -> RelayRecord | None:
        """The record of ``steam_id`` (None: the first one), or None."""
        records = self.load_all()
        if steam_id is None:
            return records[0] if records else None
        return next((record for record in records if record.steam_id == steam_id), None)

    def save(self, record: RelayRecord) -> None:
        """Store ``record``, replacing the one of the same account."""
        record.register_secrets()
        others = [kept for kept in self.load_all() if kept.steam_id != record.steam_id]
        self._write([*others, record])

    def delete(self, steam_id: str | None = None) -> None:
        """Forget the record of ``steam_id`` (None: every record)."""
        kept = [] if steam_id is None else [r for r in self.load_all() if r.steam_id != steam_id]
        if kept:
            self._write(kept)
        else:
            self._store.delete()

    def _write(self, records: list[RelayRecord]) -> None:
        if len(records) == 1:
            self._store.save(records[0].to_json())
            return
        documents = [json.loads(record.to_json()) for record in records]
        self._store.save(json.dumps({"version": 2, "records": documents}, separators=(",", ":")))


def relay_store(config_dir: Path) -> RelayStore:
    """The relay store of an installation: the keyring, or a 0600 plain file when the token uses one."""
    plaintext = config_dir / PLAINTEXT_RELAY_FILE
    allowed = plaintext.exists() or any(config_dir.glob("token*.plaintext"))  # a token kept in a plain file
    return RelayStore(TokenStore(plaintext_path=plaintext, allow_plaintext=allowed, username=RELAY_KEY))
