"""The sync engine: turns triggers into game-list fetches, and fetches into snapshots and events.

Triggers (a push message, a (re)connect, the backstop timer, the user's Refresh, a wake from sleep)
all call :meth:`SyncEngine.request` on the owner's thread. The first trigger fetches at once (leading
edge, no debounce delay); triggers that arrive while a fetch is in flight coalesce into exactly one
follow-up fetch. No fetch starts sooner than ``follow_up_gap`` seconds after the start of the
previous one: a trigger inside that window (or during a fetch) waits for the window's end, with all
the others that arrive meanwhile. A burst of pushes (the service pings every player on a forum post
or an edit) so costs two fetches, not one per message, while a lone push is fetched at once.

A token bucket bounds the sustained rate: ``burst`` fetches may start back to back (within the gap
rule), then one per ``refill_seconds``; a fetch with no token left waits for the next one, taking every
trigger that arrives meanwhile along. A steady storm of pushes so costs ``burst`` fetches and then one
every ``refill_seconds``, and a lone push after a quiet spell is still fetched at once. The bound is on
fetches that bring nothing new: a fetch whose game list changed (a turn moved on) gives its token back,
so turns that follow each other quickly are each fetched as soon as their push arrives.

The engine owns no threads. The caller gives it ``run_in_background`` (run a callable off the owner's
thread) and ``call_soon`` (hand a callable back to the owner's thread); the Qt app passes a worker
thread and a queued signal, the tests pass plain functions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pydt_tray.core.api import PydtClient
from pydt_tray.core.api_errors import AuthError, PydtError
from pydt_tray.core.diff import GameEvent, Snapshot, diff_snapshots
from pydt_tray.core.models import User

log = logging.getLogger(__name__)

USER_REFRESH_SECONDS = 6 * 3600.0
FETCH_BURST = 3
FETCH_REFILL_SECONDS = 5.0


@dataclass(frozen=True)
class FetchOutcome:
    reasons: tuple[str, ...]
    user: User | None = None
    snapshot: Snapshot | None = None
    not_modified: bool = False
    error: PydtError | None = None
    source: str = ""
    names: dict[str, str] = field(default_factory=dict)


class GameFetcher:
    """Loads the user and their games: the cheap pollUrl when it can, ``/user/games`` when it must.

    ``/user/games`` is called only when asked for (start, sign-in, the user's Refresh), while no pollUrl is
    known, or when the pollUrl fails (the client falls back); every other load reads the pollUrl with its ETag.
    The user is read at the first load and again every ``USER_REFRESH_SECONDS`` (vacation mode may be
    switched on the website), without forcing ``/user/games``.
    """

    def __init__(self, client: PydtClient, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.user: User | None = None
        self._clock = clock
        self._user_read_at = 0.0

    def fetch(self, reasons: tuple[str, ...], force_full: bool) -> FetchOutcome:
        try:
            now = self._clock()
            if self.user is None or now - self._user_read_at >= USER_REFRESH_SECONDS:
                self.user = self.client.get_current_user()  # now and then: vacation mode may change on the website
                self._user_read_at = now
            result = self.client.fetch_games(prefer_poll=not (force_full or not self.client.poll_url))
            snapshot = None if result.games is None else Snapshot.build(self.user.steam_id, result.games)
            names = self._names(snapshot)
            return FetchOutcome(
                reasons,
                user=self.user,
                snapshot=snapshot,
                not_modified=result.not_modified,
                source=result.source,
                names=names,
            )
        except PydtError as error:
            return FetchOutcome(reasons, user=self.user, error=error)

    def _names(self, snapshot: Snapshot | None) -> dict[str, str]:
        """Persona names of every player (cached by the client for a day; failures leave ids unnamed)."""
        if snapshot is None:
            return {}
        ids = {p.steam_id for game in snapshot.games for p in game.players if p.steam_id}
        if not ids:
            return {}
        profiles = self.client.get_steam_profiles(sorted(ids))
        return {steam_id: profile.persona_name for steam_id, profile in profiles.items()}


@dataclass
class SyncResult:
    outcome: FetchOutcome
    snapshot: Snapshot | None
    events: list[GameEvent] = field(default_factory=list)


class SyncEngine:
    def __init__(
        self,
        fetch: Callable[[tuple[str, ...], bool], FetchOutcome],
        *,
        run_in_background: Callable[[Callable[[], None]], None],
        call_soon: Callable[[Callable[[], None]], None],
        on_result: Callable[[SyncResult], None],
        call_later: Callable[[float, Callable[[], None]], None] | None = None,
        follow_up_gap: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        burst: int = FETCH_BURST,
        refill_seconds: float = FETCH_REFILL_SECONDS,
    ) -> None:
        """Without ``call_later`` nothing can be deferred: no gap and no rate bound (tests of the basics)."""
        self._fetch = fetch
        self._call_later = call_later
        self._follow_up_gap = follow_up_gap if call_later is not None else 0.0
        self._clock = clock
        self._last_start = float("-inf")
        self._burst = max(1, burst)
        self._refill_seconds = refill_seconds if call_later is not None else 0.0
        self._tokens = float(self._burst)
        self._tokens_at: float | None = None
        self._run_in_background = run_in_background
        self._call_soon = call_soon
        self._on_result = on_result
        self._in_flight = False
        self._pending: list[str] = []
        self._pending_full = False
        self._stopped = False
        self.snapshot: Snapshot | None = None
        self.fetch_count = 0

    @property
    def busy(self) -> bool:
        return self._in_flight

    def request(self, reason: str, *, full: bool = False) -> None:
        """Ask for a fresh game list. Call on the owner's thread only."""
        if self._stopped:
            return
        if self._in_flight:
            self._pending.append(reason)
            self._pending_full = self._pending_full or full
            return
        wait = self._wait()
        if wait > 0 and self._call_later is not None:
            self._pending.append(reason)
            self._pending_full = full
            self._in_flight = True  # busy until the window ends: later triggers join this fetch
            self._call_later(wait, self._start_follow_up)
            return
        self._start((reason,), full)

    def stop(self) -> None:
        """No new fetches after this; a fetch in flight finishes but delivers nothing."""
        self._stopped = True
        self._pending.clear()

    def _refill(self, now: float) -> None:
        if self._refill_seconds <= 0:
            self._tokens = float(self._burst)
            return
        if self._tokens_at is not None:
            self._tokens = min(float(self._burst), self._tokens + (now - self._tokens_at) / self._refill_seconds)
        self._tokens_at = now

    def _wait(self) -> float:
        """Seconds until a fetch may start: the gap after the previous start, and a token in the bucket."""
        now = self._clock()
        self._refill(now)
        token_wait = 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) * self._refill_seconds
        return max(self._last_start + self._follow_up_gap - now, token_wait)

    def _start(self, reasons: tuple[str, ...], full: bool) -> None:
        self._in_flight = True
        self._last_start = self._clock()
        self._refill(self._last_start)
        self._tokens -= 1.0
        self.fetch_count += 1
        log.debug("fetch #%d for %s%s", self.fetch_count, ", ".join(reasons), " (full)" if full else "")

        def job() -> None:
            try:
                outcome = self._fetch(reasons, full)
            except Exception as error:  # a bug in a fetcher must not wedge the engine
                log.exception("game fetch failed unexpectedly")
                outcome = FetchOutcome(reasons, error=PydtError(f"Unexpected error: {error}"))
            self._call_soon(lambda: self._finish(outcome))

        self._run_in_background(job)

    def _finish(self, outcome: FetchOutcome) -> None:
        self._in_flight = False
        if self._stopped:
            return
        events: list[GameEvent] = []
        if outcome.snapshot is not None:
            events = diff_snapshots(self.snapshot, outcome.snapshot)
            self.snapshot = outcome.snapshot
        if events:  # the push was worth its fetch: only fetches that found nothing new use up the bucket
            self._tokens = min(float(self._burst), self._tokens + 1.0)
        try:
            self._on_result(SyncResult(outcome, self.snapshot, events))
        finally:
            if self._pending and not isinstance(outcome.error, AuthError):
                wait = self._wait()
                if wait > 0 and self._call_later is not None:
                    self._in_flight = True  # still busy: later triggers keep joining the follow-up
                    self._call_later(wait, self._start_follow_up)
                else:
                    self._start_follow_up()
            else:
                self._pending.clear()
                self._pending_full = False

    def _start_follow_up(self) -> None:
        if self._stopped or not self._pending:
            self._in_flight = False
            return
        reasons = tuple(self._pending)
        full = self._pending_full
        self._pending.clear()
        self._pending_full = False
        self._start(reasons, full)
