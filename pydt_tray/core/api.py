"""Client of the PYDT REST API and of its S3 objects (pollUrl, presigned download/upload URLs).

Blocking calls built on ``requests``; run them off the UI thread. Failures surface as
:class:`~pydt_tray.core.api_errors.PydtError` subclasses whose ``str()`` is a one-line message fit for the user.
The token is sent raw in ``Authorization`` to authenticated API calls only, never to S3 URLs, and is never
logged. The HTTP layer (retries, deadlines, size caps) is :class:`~pydt_tray.core.transport.ApiTransport`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
import urllib3.exceptions

from pydt_tray.core.api_errors import UNREADABLE_REPLY, ApiError, PydtError
from pydt_tray.core.limits import MAX_JSON_BYTES, DecodeError, LimitExceededError, StreamDecoder, loads_json
from pydt_tray.core.models import Game, Metadata, ModelError, SteamProfile, TurnDownload, User, parse_games
from pydt_tray.core.transport import REQUEST_DEADLINE, TRANSFER_DEADLINE, ApiTransport

log = logging.getLogger(__name__)

PROFILE_TTL = 24 * 60 * 60.0  # a player seen before is looked up again only after a day
PROFILES_PER_CALL = 100
FINISH_SUBMIT_READ_TIMEOUT = 35.0
FINISH_SUBMIT_DEADLINE = 90.0
UPLOAD_CHUNK = 64 * 1024
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class GamesFetch:
    games: list[Game] | None
    source: str  # "poll" or "api"
    not_modified: bool = False


@dataclass(frozen=True)
class PrivateUserData:
    """The part of ``pud`` (private user data) a client uses. The webhook URL is a secret: not in ``repr``."""

    webhook_url: str = field(default="", repr=False)

    @classmethod
    def from_json(cls, data: Any) -> PrivateUserData:
        if not isinstance(data, dict):
            raise ModelError("private user data is not an object")
        url = data.get("webhookUrl")
        if url is not None and not isinstance(url, str):
            raise ModelError("webhookUrl is not a string")
        return cls(webhook_url=url or "")


@dataclass
class _CachedProfile:
    profile: SteamProfile
    expires: float


class _UploadBody:
    """A sized, iterable request body: requests sends Content-Length (S3 refuses chunked PUTs)."""

    def __init__(self, data: bytes, progress: Progress | None) -> None:
        self._data = data
        self._progress = progress

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[bytes]:
        view = memoryview(self._data)
        total = len(self._data)
        for start in range(0, total, UPLOAD_CHUNK):
            chunk = bytes(view[start : start + UPLOAD_CHUNK])
            yield chunk
            if self._progress is not None:
                self._progress(min(start + UPLOAD_CHUNK, total), total)


class PydtClient(ApiTransport):
    """One user's connection to PYDT. Thread-safe; the caches are shared by all threads."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        user_agent: str | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        retries: int = 3,
        backoff: float = 0.5,
        deadline: float = REQUEST_DEADLINE,
        transfer_deadline: float = TRANSFER_DEADLINE,
        session: requests.Session | None = None,
        poll_url: str | None = None,
        poll_etag: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_reply_bytes: int = MAX_JSON_BYTES,
    ) -> None:
        """``retries`` extra attempts for idempotent GETs, ``backoff`` * 2**n seconds apart (via ``sleep``);
        ``clock`` times the profile cache. ``deadline`` bounds a whole API call (``transfer_deadline`` a save
        download or upload), from the first byte sent to the last byte read; a JSON reply may unpack to at
        most ``max_reply_bytes``."""
        super().__init__(
            base_url,
            token,
            user_agent=user_agent,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            deadline=deadline,
            transfer_deadline=transfer_deadline,
            session=session,
            sleep=sleep,
            max_reply_bytes=max_reply_bytes,
        )
        self._clock = clock
        self._profiles_lock = threading.Lock()
        self._metadata_lock = threading.Lock()
        self._poll_url = poll_url
        self._poll_etag = poll_etag
        self._profiles: dict[str, _CachedProfile] = {}
        self._metadata: Metadata | None = None

    @property
    def poll_url(self) -> str | None:
        with self._lock:
            return self._poll_url

    @property
    def poll_etag(self) -> str | None:
        with self._lock:
            return self._poll_etag

    # --- API calls -------------------------------------------------------------------------

    def get_current_user(self) -> User:
        return self._parse(User.from_json, self._api_json("GET", "/user/getCurrent"))

    def get_current_with_pud(self) -> tuple[User, PrivateUserData]:
        """``GET /user/getCurrentWithPud``: the user and their private data (the webhook URL among it)."""
        data = self._api_json("GET", "/user/getCurrentWithPud")
        if not isinstance(data, dict):
            raise ApiError(UNREADABLE_REPLY)
        user: User = self._parse(User.from_json, data.get("user"))
        raw_pud = data.get("pud")
        pud: PrivateUserData = self._parse(PrivateUserData.from_json, raw_pud if raw_pud is not None else {})
        return user, pud

    def set_webhook_url(self, url: str) -> PrivateUserData:
        """``POST /user/setWebhookUrl``; "" clears it. Returns the private data as saved."""
        data = self._api_json("POST", "/user/setWebhookUrl", retry=False, json_body={"webhookUrl": url})
        pud: PrivateUserData = self._parse(PrivateUserData.from_json, data)
        return pud

    def get_games(self) -> list[Game]:
        """``GET /user/games``; remembers the pollUrl it names."""
        data = self._api_json("GET", "/user/games")
        if not isinstance(data, dict):
            raise ApiError(UNREADABLE_REPLY)
        games = self._parse(parse_games, data.get("data"))
        poll_url = data.get("pollUrl")
        if isinstance(poll_url, str) and poll_url:
            with self._lock:
                if poll_url != self._poll_url:
                    self._poll_url, self._poll_etag = poll_url, None
        return games

    def fetch_games(self, prefer_poll: bool = True) -> GamesFetch:
        """The cheap public pollUrl when known (ETag aware); ``/user/games`` otherwise or on any failure."""
        with self._lock:
            poll_url, etag = self._poll_url, self._poll_etag
        if prefer_poll and poll_url:
            result = self._fetch_poll(poll_url, etag)
            if result is not None:
                return result
        return GamesFetch(self.get_games(), "api", False)

    def _fetch_poll(self, poll_url: str, etag: str | None) -> GamesFetch | None:
        headers = {"If-None-Match": etag} if etag else None
        try:
            response = self._send("GET", poll_url, auth=False, retry=False, headers=headers, stream=True)
        except PydtError as exc:
            log.info("pollUrl unavailable (%s); using /user/games", exc)
            return None
        with response:
            if response.status_code == 304 and etag:
                return GamesFetch(None, "poll", True)
            if response.status_code != 200:
                log.info("pollUrl answered HTTP %s; using /user/games", response.status_code)
                return None
            try:
                games = parse_games(loads_json(self._read_body(response)))
            except PydtError as exc:
                log.info("pollUrl reply unusable (%s); using /user/games", exc)
                return None
            except (ValueError, ModelError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
                log.info("pollUrl content unreadable (%s); using /user/games", exc)
                return None
            new_etag = response.headers.get("ETag")
        with self._lock:
            if self._poll_url == poll_url:
                self._poll_etag = new_etag or None
        return GamesFetch(games, "poll", False)

    def get_steam_profiles(self, steam_ids: list[str] | tuple[str, ...] | set[str]) -> dict[str, SteamProfile]:
        """Profiles by steam id, cached a day each; on errors, whatever is cached."""
        wanted = list(dict.fromkeys(sid for sid in steam_ids if sid))
        with self._profiles_lock:
            now = self._clock()
            with self._lock:
                missing = [sid for sid in wanted if sid not in self._profiles or self._profiles[sid].expires <= now]
            for start in range(0, len(missing), PROFILES_PER_CALL):
                chunk = missing[start : start + PROFILES_PER_CALL]
                path = "/user/steamProfiles?steamIds=" + ",".join(quote(sid, safe="") for sid in chunk)
                try:
                    data = self._api_json("GET", path, auth=False)
                    if not isinstance(data, list):
                        raise ApiError(UNREADABLE_REPLY)
                    profiles = [self._parse(SteamProfile.from_json, item) for item in data]
                except PydtError as exc:
                    log.warning("Could not load %d Steam profile(s): %s", len(chunk), exc)
                    continue
                expires = self._clock() + PROFILE_TTL
                with self._lock:
                    for profile in profiles:
                        self._profiles[profile.steam_id] = _CachedProfile(profile, expires)
            with self._lock:
                return {sid: self._profiles[sid].profile for sid in wanted if sid in self._profiles}

    def get_metadata(self) -> Metadata:
        """``GET /metadata``, kept until a reply carries a different ``Metadata-Hash``."""
        with self._metadata_lock:
            with self._lock:
                if self._metadata is not None:
                    return self._metadata
            metadata = self._parse(Metadata.from_json, self._api_json("GET", "/metadata", auth=False))
            with self._lock:
                self._metadata = metadata
            return metadata

    def get_turn(self, game_id: str) -> TurnDownload:
        data = self._api_json("GET", f"/game/{quote(game_id, safe='')}/turn?compressed=yup")
        return self._parse(TurnDownload.from_json, data)

    def start_submit(self, game_id: str) -> str:
        """The presigned PUT URL for this turn's save (valid a few minutes: use it at once)."""
        data = self._api_json("POST", f"/game/{quote(game_id, safe='')}/turn/startSubmit", retry=False)
        put_url = data.get("putUrl") if isinstance(data, dict) else None
        if not isinstance(put_url, str) or not put_url:
            raise ApiError(UNREADABLE_REPLY)
        return put_url

    def finish_submit(self, game_id: str) -> Game:
        timeout = (self._timeout[0], max(self._timeout[1], FINISH_SUBMIT_READ_TIMEOUT))
        path = f"/game/{quote(game_id, safe='')}/turn/finishSubmit"
        data = self._api_json("POST", path, retry=False, timeout=timeout, deadline=FINISH_SUBMIT_DEADLINE)
        return self._parse(Game.from_json, data)

    def set_vacation_mode(self, on: bool) -> User:
        """``POST /user/setUserInformation {"vacationMode": on}``; the user as the service now has it."""
        data = self._api_json("POST", "/user/setUserInformation", retry=False, json_body={"vacationMode": on})
        if isinstance(data, dict) and data.get("steamId"):
            user: User = self._parse(User.from_json, data)
            return user
        return self.get_current_user()

    # --- S3 transfers ----------------------------------------------------------------------

    def download(self, url: str, *, max_bytes: int, progress: Progress | None = None) -> bytes:
        """Plain GET of a presigned URL (no token); HTTP 200 required, at most ``max_bytes``."""
        parts: list[bytes] = []
        self.download_into(url, parts.append, max_bytes=max_bytes, progress=progress)
        return b"".join(parts)

    def download_into(
        self, url: str, write: Callable[[bytes], object], *, max_bytes: int, progress: Progress | None = None
    ) -> int:
        """Stream a presigned URL (no token) into ``write`` piece by piece; returns the bytes received.

        HTTP 200 required; more than ``max_bytes`` (announced or received, after any ``Content-Encoding``)
        is refused as soon as it is seen. ``progress(received, total)`` counts bytes as they arrive.
        """
        response = self._send("GET", url, auth=False, retry=True, stream=True, deadline=self._transfer_deadline)
        with response:
            if response.status_code != 200:
                raise ApiError(f"The save file download failed (HTTP {response.status_code}).", response.status_code)
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if total is not None and total > max_bytes:
                raise ApiError(f"The save file is too large ({total} bytes).", response.status_code)
            try:
                decoder = StreamDecoder(response.headers.get("Content-Encoding", ""), max_bytes)
            except DecodeError as exc:
                raise ApiError(f"The save file download could not be read ({exc}).", response.status_code) from None
            received = 0
            try:
                for chunk in response.raw.stream(UPLOAD_CHUNK, decode_content=False):
                    received += len(chunk)
                    for piece in decoder.feed(chunk):
                        write(piece)
                    if progress is not None:
                        progress(received, total)
                for piece in decoder.finish():
                    write(piece)
            except LimitExceededError:
                raise ApiError(f"The save file is larger than {max_bytes} bytes.", response.status_code) from None
            except DecodeError as exc:
                raise ApiError(f"The save file download is damaged ({exc}).", response.status_code) from None
            except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
                if isinstance(exc, OSError) and not isinstance(exc, (TimeoutError, ConnectionError)):
                    raise  # the writer's own error (a full disk): the caller reports it
                raise self._read_failed(
                    response, exc, "The save file download was interrupted. Please try again."
                ) from exc
        return decoder.produced

    def upload(self, url: str, data: bytes, progress: Progress | None = None) -> None:
        """PUT to a presigned URL with exactly ``Content-Type: application/octet-stream``; 200 only."""
        headers = {"Content-Type": "application/octet-stream"}
        body = _UploadBody(data, progress)
        response = self._send(
            "PUT", url, auth=False, retry=False, headers=headers, data=body, deadline=self._transfer_deadline
        )
        with response:
            if response.status_code != 200:
                raise ApiError(f"The save file upload failed (HTTP {response.status_code}).", response.status_code)

    def _note_metadata_hash(self, digest: str | None) -> None:
        if not digest:
            return
        with self._lock:
            if self._metadata is not None and self._metadata.hash != digest:
                log.debug("Metadata hash changed; dropping the cached metadata")
                self._metadata = None
