"""The signed-in PYDT accounts: one keyring entry per Steam id, and a small index of who they are.

Each account's token is kept in the keyring under ``pydt-token:<steamId>`` (or, when the user allowed it, in a
plain 0600 file ``token-<steamId>.plaintext``). Keyrings cannot list their entries, so ``accounts.json`` in
the config folder names the accounts (Steam id and display name, never a token). A token stored by an older
single-account pydt-tray (``pydt-token``) is an account whose Steam id is not known yet: :meth:`adopt_legacy`
moves it to its own entry after the first good load tells who it belongs to.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydt_tray.core.atomic import write_atomic
from pydt_tray.core.credentials import USERNAME, TokenStore
from pydt_tray.core.errors import PydtTrayError

log = logging.getLogger(__name__)

INDEX_FILE = "accounts.json"
LEGACY_PLAINTEXT = "token.plaintext"
_STEAM_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")

StoreFactory = Callable[[str, Path, bool], TokenStore]  # (keyring user name, plain-file path, allow plain file)


class UnknownAccountError(PydtTrayError):
    """No account with that Steam id is signed in."""


@dataclass(frozen=True)
class Account:
    steam_id: str
    name: str


def valid_steam_id(steam_id: str) -> bool:
    return bool(_STEAM_ID.match(steam_id or ""))


def _default_store(username: str, plaintext: Path, allow_plaintext: bool) -> TokenStore:
    return TokenStore(username=username, plaintext_path=plaintext, allow_plaintext=allow_plaintext)


class AccountBook:
    """The accounts and their tokens. The index is written atomically; tokens go through :class:`TokenStore`."""

    def __init__(self, config_dir: Path, *, make_store: StoreFactory = _default_store) -> None:
        self.config_dir = Path(config_dir)
        self.index_path = self.config_dir / INDEX_FILE
        self._make_store = make_store
        self._lock = threading.RLock()
        self.problem = ""  # what was wrong with the index file, when something was

    # --- stores ------------------------------------------------------------------------------------------

    def store_for(self, steam_id: str, *, allow_plaintext: bool = False) -> TokenStore:
        plaintext = self.config_dir / f"token-{steam_id}.plaintext"
        return self._make_store(f"{USERNAME}:{steam_id}", plaintext, allow_plaintext or plaintext.exists())

    def legacy_store(self) -> TokenStore:
        plaintext = self.config_dir / LEGACY_PLAINTEXT
        return self._make_store(USERNAME, plaintext, plaintext.exists())

    # --- index -------------------------------------------------------------------------------------------

    def accounts(self) -> list[Account]:
        """The accounts in the order they were added (a broken index reads as empty and says so in ``problem``)."""
        with self._lock:
            return list(self._read().values())

    def get(self, steam_id: str) -> Account | None:
        return self._read().get(steam_id)

    def _read(self) -> dict[str, Account]:
        try:
            raw = self.index_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as error:
            self.problem = f"{self.index_path.name} cannot be read: {error.strerror or error}"
            return {}
        try:
            data = json.loads(raw)
            rows = data["accounts"]
            found = {}
            for row in rows:
                steam_id, name = str(row["steamId"]), str(row.get("name") or "")
                if valid_steam_id(steam_id):
                    found[steam_id] = Account(steam_id, name)
        except (ValueError, KeyError, TypeError) as error:
            self.problem = f"{self.index_path.name} is unreadable ({error}); sign in again to list the accounts"
            return {}
        return found

    def _write(self, accounts: dict[str, Account]) -> None:
        document: dict[str, Any] = {
            "version": 1,
            "accounts": [{"steamId": a.steam_id, "name": a.name} for a in accounts.values()],
        }
        self.config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(self.index_path, json.dumps(document, indent=1, ensure_ascii=False) + "\n", mode=0o600)

    # --- tokens ------------------------------------------------------------------------------------------

    def load(self, steam_id: str) -> str | None:
        """The token of ``steam_id`` (None when the keyring has none). Raises CredentialError."""
        return self.store_for(steam_id).load()

    def add(self, steam_id: str, name: str, token: str, *, allow_plaintext: bool = False) -> TokenStore:
        """Store ``token`` for ``steam_id`` (replacing the token of an account already there); returns its store.

        Raises CredentialError (nothing is added to the index then) and ValueError for a bad Steam id."""
        if not valid_steam_id(steam_id):
            raise ValueError(f"{steam_id!r} is not a Steam id")
        with self._lock:
            store = self.store_for(steam_id, allow_plaintext=allow_plaintext)
            store.save(token)
            accounts = self._read()
            accounts[steam_id] = Account(steam_id, name or (accounts[steam_id].name if steam_id in accounts else ""))
            self._write(accounts)
        return store

    def rename(self, steam_id: str, name: str) -> None:
        """Keep the display name the service last gave (no error when the account is gone)."""
        with self._lock:
            accounts = self._read()
            if steam_id in accounts and name and accounts[steam_id].name != name:
                accounts[steam_id] = Account(steam_id, name)
                try:
                    self._write(accounts)
                except OSError as error:
                    log.warning("Could not update %s: %s", self.index_path, error)

    def remove(self, steam_id: str) -> Account:
        """Forget the account and its token. Raises UnknownAccountError, CredentialError."""
        with self._lock:
            accounts = self._read()
            account = accounts.get(steam_id)
            if account is None:
                known = ", ".join(accounts) or "none"
                raise UnknownAccountError(f"no signed-in account has the Steam id {steam_id} (signed in: {known})")
            self.store_for(steam_id).delete()
            del accounts[steam_id]
            self._write(accounts)
            return account

    # --- the token of an older single-account version -----------------------------------------------------

    def legacy_token(self) -> str | None:
        """The token stored by a single-account version, if it is still there. Raises CredentialError."""
        return self.legacy_store().load()

    def adopt_legacy(self, steam_id: str, name: str, token: str) -> None:
        """The legacy token belongs to ``steam_id``: store it under its own entry, then remove the old one
        (the old entry stays when the new one could not be written: nothing is lost)."""
        legacy = self.legacy_store()
        self.add(steam_id, name, token, allow_plaintext=legacy.is_plaintext)
        legacy.delete()
        log.info("Moved the stored token to the entry of account %s", steam_id)

    def drop_legacy(self) -> None:
        self.legacy_store().delete()


class EveryToken:
    """Every stored token as one (for ``forget``): ``load`` gives the earlier version's token or the first
    account's, ``delete`` removes them all."""

    def __init__(self, book: AccountBook) -> None:
        self.book = book

    def load(self) -> str | None:
        legacy = self.book.legacy_token()
        if legacy:
            return legacy
        accounts = self.book.accounts()
        return self.book.load(accounts[0].steam_id) if accounts else None

    def delete(self) -> None:
        for account in self.book.accounts():
            self.book.remove(account.steam_id)
        self.book.drop_legacy()
