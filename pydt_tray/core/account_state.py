"""What the state file keeps for one account: its cached pollUrl with the ETag, the turns already notified
and when each was last reminded about (the ``NotifiedTurns`` of :mod:`pydt_tray.core.policy`)."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from typing import Any


class TurnMarks:
    """The turns already notified and when each was last reminded about, behind the owner's ``_lock``."""

    notified_turns: set[str]
    reminded_at: dict[str, float]
    _lock: threading.RLock

    def mark_notified(self, key: str) -> None:
        with self._lock:
            self.notified_turns.add(key)

    def was_notified(self, key: str) -> bool:
        with self._lock:
            return key in self.notified_turns

    def notified_keys(self) -> set[str]:
        with self._lock:
            return set(self.notified_turns)

    def prune(self, keep_keys: set[str]) -> None:
        """Forget notified/reminded turns that are not pending any more."""
        with self._lock:
            self.notified_turns &= keep_keys
            self.reminded_at = {key: when for key, when in self.reminded_at.items() if key in keep_keys}


class AccountState(TurnMarks):
    """One account's part of ``state.json``. Mutators are thread-safe."""

    def __init__(
        self,
        *,
        notified_turns: Iterable[str] = (),
        reminded_at: dict[str, float] | None = None,
        poll_url: str | None = None,
        poll_etag: str | None = None,
        push: str = "",
    ) -> None:
        self.notified_turns: set[str] = set(notified_turns)
        self.reminded_at: dict[str, float] = dict(reminded_at or {})
        self.poll_url = poll_url
        self.poll_etag = poll_etag
        self.push = push  # "live" or "polling": what the running app last saw, for `pydt-tray accounts`
        self._lock = threading.RLock()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "notified_turns": sorted(self.notified_turns),
                "reminded_at": dict(sorted(self.reminded_at.items())),
                "poll_url": self.poll_url,
                "poll_etag": self.poll_etag,
                "push": self.push,
            }

    @classmethod
    def from_json(cls, data: Any) -> tuple[AccountState, list[str]]:
        """An account's section; what is malformed is reset and named in the problems."""
        problems: list[str] = []
        if not isinstance(data, dict):
            return cls(), ["is not an object, it was reset"]
        notified, reminded, texts = read_marks(data, problems)
        push = data.get("push", "")
        state = cls(
            notified_turns=notified,
            reminded_at=reminded,
            poll_url=texts["poll_url"],
            poll_etag=texts["poll_etag"],
            push=push if isinstance(push, str) else "",
        )
        return state, problems


def read_marks(data: dict[str, Any], problems: list[str]) -> tuple[list[str], dict[str, float], dict[str, str | None]]:
    """The notified turns, reminder times, pollUrl and ETag of a state section; what is malformed is reset and
    named in ``problems``."""
    notified = data.get("notified_turns", [])
    if not (isinstance(notified, list) and all(isinstance(item, str) for item in notified)):
        problems.append("notified_turns is not a list of turn keys, it was reset")
        notified = []
    reminded = data.get("reminded_at", {})
    if not (isinstance(reminded, dict) and all(_is_time(value) for value in reminded.values())):
        problems.append("reminded_at is not a map of times, it was reset")
        reminded = {}
    texts: dict[str, str | None] = {}
    for key in ("poll_url", "poll_etag"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(f"{key} is not text, it was reset")
            value = None
        texts[key] = value
    return notified, reminded, texts


def _is_time(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
