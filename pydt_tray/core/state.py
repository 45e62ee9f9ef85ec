"""Runtime state that is not a user setting: ``state.json`` in the state folder.

Holds the install id, which turns were already notified (``"<gameId>:<turnKey>"``), when each turn was last
reminded about, the cached poll URL with its ETag, and the everyday switches: per-game mute and snooze
(``games``), the notification pause and what quiet hours held back (``quiet``), the turn-timer warnings already
given (``timer_warned``), the last update check (``updates``) and the smack talk read per account (``smack``).
Written atomically; a broken file is kept as ``state.json.bad-<timestamp>`` and a fresh state is used.

Since version 2 the poll URL, its ETag and the notified and reminded turns are kept per account
(``accounts``: Steam id -> :class:`AccountState`). What a single-account version kept at the top level stays
there until the first account asks for its state (:meth:`State.account`), which takes it over: nothing is lost.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydt_tray.core.account_state import AccountState, TurnMarks, read_marks
from pydt_tray.core.atomic import write_atomic
from pydt_tray.core.limits import loads_json
from pydt_tray.core.settings import backup_name

STATE_VERSION = 2
_INSTALL_ID = re.compile(r"^[0-9a-f]{16,64}$")
# version N -> function turning a version-N document into version N+1
STATE_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: lambda data: {**data, "version": 2, "accounts": {}},  # the single account's data is claimed at first use
}
_KNOWN = {"version", "install_id", "notified_turns", "reminded_at", "poll_url", "poll_etag", "extra", "accounts"}
# the everyday sections: JSON objects owned by core.quiet, core.timers and core.updates
_SECTIONS = ("games", "quiet", "timer_warned", "updates", "smack")
_KNOWN |= set(_SECTIONS)


def new_install_id() -> str:
    return secrets.token_hex(16)


class State(TurnMarks):
    """The app's memory between runs. Mutators are thread-safe; call :meth:`save` to persist."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        install_id: str | None = None,
        notified_turns: Iterable[str] = (),
        reminded_at: dict[str, float] | None = None,
        poll_url: str | None = None,
        poll_etag: str | None = None,
        extra: dict[str, Any] | None = None,
        games: dict[str, Any] | None = None,
        quiet: dict[str, Any] | None = None,
        timer_warned: dict[str, Any] | None = None,
        updates: dict[str, Any] | None = None,
        accounts: dict[str, AccountState] | None = None,
        smack: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.version = STATE_VERSION
        self.install_id = install_id or new_install_id()
        self.notified_turns: set[str] = set(notified_turns)
        self.reminded_at: dict[str, float] = dict(reminded_at or {})
        self.poll_url = poll_url
        self.poll_etag = poll_etag
        self.extra: dict[str, Any] = dict(extra or {})
        self.games: dict[str, Any] = dict(games or {})  # gameId -> {"muted": bool, "snooze_until": t, ...}
        self.quiet: dict[str, Any] = dict(quiet or {})
        self.timer_warned: dict[str, Any] = dict(timer_warned or {})  # turn key -> [warning labels]
        self.updates: dict[str, Any] = dict(updates or {})
        self.accounts: dict[str, AccountState] = dict(accounts or {})
        self.smack: dict[str, Any] = dict(smack or {})  # steamId -> gameId -> {"read": n, "notified": n}
        self._lock = threading.RLock()
        self._disk_stamp: tuple[int, int, int] | None = None
        self._saved_text: str | None = None  # what this object last wrote (see save)

    # --- accounts --------------------------------------------------------------------------------------

    def account(self, steam_id: str) -> AccountState:
        """The state of account ``steam_id`` (made when missing). The first account made takes over what a
        single-account version kept at the top level."""
        with self._lock:
            found = self.accounts.get(steam_id)
            if found is None:
                found = AccountState()
                if not self.accounts:
                    found = AccountState(
                        notified_turns=self.notified_turns,
                        reminded_at=self.reminded_at,
                        poll_url=self.poll_url,
                        poll_etag=self.poll_etag,
                    )
                    self.notified_turns, self.reminded_at, self.poll_url, self.poll_etag = set(), {}, None, None
                self.accounts[steam_id] = found
            return found

    def forget_account(self, steam_id: str) -> None:
        """An account was signed out: its turns, poll cache and smack talk read numbers go."""
        with self._lock:
            self.accounts.pop(steam_id, None)
            self.smack.pop(steam_id, None)

    # --- file ------------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "version": STATE_VERSION,
                "install_id": self.install_id,
                "notified_turns": sorted(self.notified_turns),
                "reminded_at": dict(sorted(self.reminded_at.items())),
                "poll_url": self.poll_url,
                "poll_etag": self.poll_etag,
                "extra": dict(self.extra),
                "games": dict(sorted(self.games.items())),
                "quiet": dict(self.quiet),
                "timer_warned": dict(sorted(self.timer_warned.items())),
                "updates": dict(self.updates),
                "accounts": {key: value.to_json() for key, value in sorted(self.accounts.items())},
                "smack": dict(sorted(self.smack.items())),
            }

    def save(self) -> None:
        """Write the file atomically (0600); raises OSError for the caller to report. Nothing is written when
        the file on disk is still the one this object wrote with the same content (most loads change nothing)."""
        if self.path is None:
            raise OSError("this state has no file")
        text = json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n"
        if text == self._saved_text and self._disk_stamp is not None and _stamp(self.path) == self._disk_stamp:
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(self.path, text, mode=0o600)
        self._disk_stamp = _stamp(self.path)
        self._saved_text = text

    def adopt_from_disk(self, keys: Iterable[str] = ("games",)) -> bool:
        """Take the sections ``keys`` from the file when another process (the command line) rewrote it.

        True when something was taken; a missing, unchanged or unreadable file changes nothing.
        """
        if self.path is None:
            return False
        stamp = _stamp(self.path)
        if stamp is None or stamp == self._disk_stamp:
            return False
        self._disk_stamp, self._saved_text = stamp, None  # another writer: the next save writes in any case
        try:
            data = json.loads(self.path.read_bytes().decode("utf-8"))
        except (OSError, ValueError):
            return False
        if not isinstance(data, dict):
            return False
        taken = False
        with self._lock:
            for key in keys:
                value = data.get(key)
                if key in _SECTIONS and isinstance(value, dict) and value != getattr(self, key):
                    getattr(self, key).clear()
                    getattr(self, key).update(value)
                    taken = True
        return taken

    @classmethod
    def load(cls, path: str | Path) -> tuple[State, list[str]]:
        """Read ``path``; a missing file gives a fresh state, a broken one a fresh state plus a problem."""
        file = Path(path)
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            return cls(file), []
        except OSError as error:
            return cls(file), [f"{file.name}: cannot be read ({error.strerror or error}); starting with a fresh state"]
        try:
            data = loads_json(raw)
            if not isinstance(data, dict):
                raise ValueError("the top level is not an object")
            data = _migrate(data)
        except (ValueError, KeyError) as error:
            detail = f"{file.name}: unreadable ({error}); starting with a fresh state"
            return cls(file), [_with_backup(file, detail)]
        state, problems = _from_document(file, data)
        state._disk_stamp = _stamp(file)
        if problems:
            problems = [_with_backup(file, f"{file.name}: " + "; ".join(problems))]
        return state, problems


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    version = data.get("version", STATE_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"bad version {version!r}")
    if version > STATE_VERSION:
        raise ValueError(f"written by a newer pydt-tray (version {version})")
    while version < STATE_VERSION:
        data = STATE_MIGRATIONS[version](data)
        version = data["version"]
    return data


def _from_document(file: Path, data: dict[str, Any]) -> tuple[State, list[str]]:
    problems: list[str] = []
    install_id = data.get("install_id")
    if not (isinstance(install_id, str) and _INSTALL_ID.match(install_id)):
        problems.append("install_id is missing or malformed, a new one was made")
        install_id = None
    notified, reminded, texts = read_marks(data, problems)
    extra = data.get("extra", {})
    if not isinstance(extra, dict):
        problems.append("extra is not an object, it was reset")
        extra = {}
    extra = {**{key: value for key, value in data.items() if key not in _KNOWN}, **extra}
    sections: dict[str, dict[str, Any]] = {}
    for key in _SECTIONS:
        value = data.get(key, {})
        if not isinstance(value, dict):
            problems.append(f"{key} is not an object, it was reset")
            value = {}
        sections[key] = value
    accounts: dict[str, AccountState] = {}
    raw_accounts = data.get("accounts", {})
    if not isinstance(raw_accounts, dict):
        problems.append("accounts is not an object, it was reset")
        raw_accounts = {}
    for steam_id, section in raw_accounts.items():
        accounts[steam_id], account_problems = AccountState.from_json(section)
        problems.extend(f"accounts.{steam_id}: {problem}" for problem in account_problems)
    state = State(
        file,
        install_id=install_id,
        notified_turns=notified,
        reminded_at=reminded,
        extra=extra,
        poll_url=texts["poll_url"],
        poll_etag=texts["poll_etag"],
        games=sections["games"],
        quiet=sections["quiet"],
        timer_warned=sections["timer_warned"],
        updates=sections["updates"],
        accounts=accounts,
        smack=sections["smack"],
    )
    return state, problems


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino


def _with_backup(file: Path, detail: str) -> str:
    backup = backup_name(file)
    try:
        shutil.copy2(file, backup)
    except OSError as error:
        return f"{detail} (no backup could be kept: {error.strerror or error})"
    return f"{detail}; the old file was kept as {backup.name}"
