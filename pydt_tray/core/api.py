"""Client of the PYDT REST API and of its S3 objects (pollUrl, presigned download/upload URLs).

Blocking calls built on ``requests``; run them off the UI thread. Failures surface as
:class:`PydtError` subclasses whose ``str()`` is a one-line message fit for the user. The token is
sent raw in ``Authorization`` to authenticated API calls only, never to S3 URLs, and is never logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import types
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
import urllib3.exceptions

from pydt_tray import APP_NAME, __version__
from pydt_tray.core.deadline import Deadline, DeadlineAdapter
from pydt_tray.core.errors import EXIT_AUTH, EXIT_NETWORK, PydtTrayError
from pydt_tray.core.limits import (
    MAX_JSON_BYTES,
    DecodeError,
    LimitExceededError,
    StreamDecoder,
    UnsafeJsonError,
    loads_json,
    megabytes,
)
from pydt_tray.core.models import Game, Metadata, ModelError, SteamProfile, TurnDownload, User, parse_games

log = logging.getLogger(__name__)

UNREADABLE_REPLY = "The PYDT service sent a reply pydt-tray could not read."
PROFILE_TTL = 24 * 60 * 60.0  # a player seen before is looked up again only after a day
PROFILES_PER_CALL = 100
FINISH_SUBMIT_READ_TIMEOUT = 35.0
REQUEST_DEADLINE = 60.0  # a whole API call, retries included, however the server trickles
FINISH_SUBMIT_DEADLINE = 90.0
TRANSFER_DEADLINE = 600.0  # a whole save download or upload
TOO_SLOW = "The PYDT service did not answer in time. Please try again later."
UPLOAD_CHUNK = 64 * 1024
READ_CHUNK = 64 * 1024
Progress = Callable[[int, int | None], None]
_Parsed = TypeVar("_Parsed")


class PydtError(PydtTrayError):
    """Base of every client error; ``user_message`` (and ``str()``) is one line for the user."""


class AuthError(PydtError):
    """401: the token is wrong or was revoked. Never retried; ask for a new token."""

    exit_code = EXIT_AUTH

    def __init__(self, user_message: str = "") -> None:
        super().__init__(
            user_message
            or "PYDT did not accept your token. It may have been regenerated on the website; please enter it again."
        )


class ApiError(PydtError):
    """The service answered with an error, or with something unreadable.

    ``error_message`` is the service's ``errorMessage`` verbatim (newlines kept).
    """

    def __init__(self, error_message: str, status: int | None = None) -> None:
        super().__init__(" ".join(line.strip() for line in error_message.splitlines() if line.strip()))
        self.status = status
        self.error_message = error_message


class ReplyTooLargeError(ApiError):
    """A reply unpacked to more than the client accepts; nothing of it is used."""

    def __init__(self, limit: int, status: int | None = None) -> None:
        super().__init__(
            f"The PYDT service sent a reply larger than {megabytes(limit)}; pydt-tray ignored it and kept what it had.",
            status,
        )
        self.limit = limit


class NetworkError(PydtError):
    """The service could not be reached or did not answer in time."""

    exit_code = EXIT_NETWORK


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


class _NoNetrc(requests.auth.AuthBase):
    """Explicit no-op auth: stops requests from adding ~/.netrc credentials to any call."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


def _origin(url: str | None) -> tuple[str, str, int | None]:
    parts = urlsplit(url or "")
    try:
        port = parts.port
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _rebuild_auth_without_netrc(
    self: requests.Session, prepared_request: requests.PreparedRequest, response: Any
) -> None:
    """On a redirect: drop ``Authorization`` unless scheme, host and port stay the same, and never add
    ``~/.netrc`` credentials (``requests`` reads netrc here whenever ``trust_env`` is on, whatever auth the
    first request had)."""
    headers = prepared_request.headers
    if "Authorization" in headers and _origin(response.request.url) != _origin(prepared_request.url):
        del headers["Authorization"]


class NoNetrcSession(requests.Session):
    """A session that keeps proxies and CA bundles from the environment but never reads ``~/.netrc``."""

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: Any) -> None:
        _rebuild_auth_without_netrc(self, prepared_request, response)


def _without_netrc(session: requests.Session) -> requests.Session:
    """``session``, changed so a redirect never picks up ``~/.netrc`` credentials."""
    if not isinstance(session, NoNetrcSession):
        session.rebuild_auth = types.MethodType(_rebuild_auth_without_netrc, session)  # type: ignore[method-assign]
    return session


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


class PydtClient:
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
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff = backoff
        self._sleep = sleep
        self._clock = clock
        self._owns_session = session is None
        self._session = _without_netrc(session or NoNetrcSession())
        self._max_reply_bytes = max_reply_bytes
        self._deadline = deadline
        self._transfer_deadline = transfer_deadline
        self._deadlines: set[Deadline] = set()
        self._stream_deadlines: weakref.WeakKeyDictionary[requests.Response, Deadline] = weakref.WeakKeyDictionary()
        for prefix in ("http://", "https://"):
            self._session.mount(prefix, DeadlineAdapter())
        self._headers = {"User-Agent": user_agent or f"{APP_NAME}/{__version__}", "Accept-Encoding": "gzip, deflate"}
        self._lock = threading.Lock()
        self._profiles_lock = threading.Lock()
        self._metadata_lock = threading.Lock()
        self._poll_url = poll_url
        self._poll_etag = poll_etag
        self._profiles: dict[str, _CachedProfile] = {}
        self._metadata: Metadata | None = None

    # --- properties ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def token(self) -> str | None:
        with self._lock:
            return self._token

    @token.setter
    def token(self, value: str | None) -> None:
        with self._lock:
            self._token = value

    @property
    def poll_url(self) -> str | None:
        with self._lock:
            return self._poll_url

    @property
    def poll_etag(self) -> str | None:
        with self._lock:
            return self._poll_etag

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def abort(self) -> None:
        """Quitting: every call in flight, on any thread, fails now with a NetworkError."""
        with self._lock:
            deadlines = list(self._deadlines)
        for deadline in deadlines:
            deadline.expire()

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

    # --- plumbing --------------------------------------------------------------------------

    def _api_json(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        retry: bool | None = None,
        timeout: tuple[float, float] | None = None,
        deadline: float | None = None,
        json_body: Any = None,
    ) -> Any:
        """Call the API; return the parsed JSON body of a 2xx reply or raise a PydtError."""
        retry = method == "GET" if retry is None else retry
        url = self._base_url + path
        sent: dict[str, Any] = {}
        if json_body is not None:
            sent = {"data": json.dumps(json_body).encode(), "headers": {"Content-Type": "application/json"}}
        response = self._send(
            method, url, auth=auth, retry=retry, timeout=timeout, api=True, deadline=deadline, stream=True, **sent
        )
        with response:
            status = response.status_code
            if status == 401:
                raise AuthError()
            try:
                content = self._read_body(response)
            except ApiError:
                if 200 <= status < 300:
                    raise
                content = b""  # an unreadable error body: the status alone says enough
            try:
                body = loads_json(content) if content else None
            except UnsafeJsonError as exc:
                log.info("Unreadable PYDT reply (HTTP %s): %s", status, exc)
                body = None
                if 200 <= status < 300:
                    raise ApiError(UNREADABLE_REPLY, status) from None
            if not 200 <= status < 300:
                message = body.get("errorMessage") if isinstance(body, dict) else None
                if not isinstance(message, str) or not message:
                    message = f"The PYDT service answered with an error (HTTP {status})."
                raise ApiError(message, status)
            return body

    def _read_body(self, response: requests.Response) -> bytes:
        """The whole body of a streamed reply, unpacked as its ``Content-Encoding`` says, counting as it goes:
        :class:`ReplyTooLargeError` as soon as it passes the limit, whatever the compression."""
        limit = self._max_reply_bytes
        status = response.status_code
        try:
            decoder = StreamDecoder(response.headers.get("Content-Encoding", ""), limit)
        except DecodeError as exc:
            log.info("Unreadable PYDT reply: %s", exc)
            raise ApiError(UNREADABLE_REPLY, status) from None
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > limit:
            log.warning("A PYDT reply announced %s bytes, more than %s; ignored", length, megabytes(limit))
            raise ReplyTooLargeError(limit, status)
        parts: list[bytes] = []
        try:
            for chunk in response.raw.stream(READ_CHUNK, decode_content=False):
                parts.extend(decoder.feed(chunk))
            parts.extend(decoder.finish())
        except LimitExceededError:
            log.warning("A PYDT reply passed %s once unpacked; ignored", megabytes(limit))
            raise ReplyTooLargeError(limit, status) from None
        except DecodeError as exc:
            if self._cut_short(response):
                raise NetworkError(TOO_SLOW) from exc
            log.info("Unreadable PYDT reply: %s", exc)
            raise ApiError(UNREADABLE_REPLY, status) from None
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            message = "The connection to the PYDT service failed. Please try again."
            raise self._read_failed(response, exc, message) from exc
        if self._cut_short(response):  # the deadline shut the socket: what arrived is not the whole reply
            raise NetworkError(TOO_SLOW)
        return b"".join(parts)

    def _cut_short(self, response: requests.Response) -> bool:
        watch = self._stream_deadlines.get(response)
        return watch is not None and watch.expired

    def _read_failed(self, response: requests.Response, exc: BaseException, message: str) -> NetworkError:
        """The error for a body that stopped arriving: too slow when its deadline cut it (or it timed out)."""
        too_slow = isinstance(exc, urllib3.exceptions.ReadTimeoutError) or self._cut_short(response)
        if too_slow:
            log.debug("reading a reply ended by its deadline or a read timeout (%s)", type(exc).__name__)
        return NetworkError(TOO_SLOW if too_slow else message)

    @staticmethod
    def _parse(parser: Callable[[Any], _Parsed], data: Any) -> _Parsed:
        try:
            return parser(data)
        except (ModelError, TypeError, ValueError, AttributeError, KeyError, OverflowError, RecursionError) as exc:
            log.info("Unreadable PYDT reply: %s", exc)
            raise ApiError(UNREADABLE_REPLY) from exc

    def _send(
        self,
        method: str,
        url: str,
        *,
        auth: bool,
        retry: bool,
        headers: dict[str, str] | None = None,
        data: Any = None,
        timeout: tuple[float, float] | None = None,
        stream: bool = False,
        api: bool = False,
        deadline: float | None = None,
    ) -> requests.Response:
        """One request with retries (idempotent calls only: 5xx and connection errors), all within one deadline.

        A streamed response keeps its deadline until it is closed."""
        all_headers = dict(self._headers)
        if headers:
            all_headers.update(headers)
        if auth:
            token = self.token
            if not token:
                raise AuthError("No PYDT token is set. Please enter your token.")
            if not token.isascii() or not token.isprintable():
                raise AuthError("This is not a PYDT token: it contains characters a token never has.")
            all_headers["Authorization"] = token
        attempts = 1 + (self._retries if retry else 0)
        safe_path = urlsplit(url).path
        watch = self._start_deadline(self._deadline if deadline is None else deadline)
        kept = False
        try:
            for attempt in range(attempts):
                if attempt:
                    self._sleep(min(self._backoff * 2 ** (attempt - 1), watch.remaining()))
                response = self._attempt(watch, method, url, safe_path, all_headers, data, timeout, stream, api)
                if response is None:  # a connection error worth another attempt
                    continue
                if response.status_code >= 500 and attempt + 1 < attempts and watch.remaining() > 0:
                    response.close()
                    continue
                if stream:
                    self._keep_until_closed(watch, response)
                    kept = True
                return response
        finally:
            if not kept:
                self._end_deadline(watch)
        raise NetworkError("Could not reach the PYDT service. Check your internet connection.")

    def _start_deadline(self, seconds: float) -> Deadline:
        watch = Deadline(seconds)
        with self._lock:
            self._deadlines.add(watch)
        return watch.start()

    def _end_deadline(self, watch: Deadline) -> None:
        watch.cancel()
        with self._lock:
            self._deadlines.discard(watch)

    def _keep_until_closed(self, watch: Deadline, response: requests.Response) -> None:
        self._stream_deadlines[response] = watch
        close = response.close

        def close_and_end() -> None:
            self._end_deadline(watch)
            close()

        response.close = close_and_end  # type: ignore[method-assign]

    def _attempt(
        self,
        watch: Deadline,
        method: str,
        url: str,
        safe_path: str,
        headers: dict[str, str],
        data: Any,
        timeout: tuple[float, float] | None,
        stream: bool,
        api: bool,
    ) -> requests.Response | None:
        """One try: the response, None after a connection error worth retrying, or a PydtError."""
        if watch.expired or watch.remaining() <= 0:
            raise NetworkError(TOO_SLOW)
        started = time.monotonic()
        try:
            try:
                with watch.watching():
                    response = self._session.request(
                        method,
                        url,
                        headers=headers,
                        data=data,
                        timeout=timeout or self._timeout,
                        stream=stream,
                        auth=_NoNetrc(),
                    )
            except requests.RequestException as exc:
                if watch.expired:
                    log.debug("%s %s -> deadline of %.0f s passed", method, safe_path, watch.seconds)
                    raise NetworkError(TOO_SLOW) from exc
                raise
        except requests.ConnectTimeout as exc:
            log.debug("%s %s -> connect timeout (%s)", method, safe_path, type(exc).__name__)
            return None
        except requests.Timeout as exc:
            raise NetworkError(TOO_SLOW) from exc
        except requests.exceptions.ContentDecodingError as exc:
            raise ApiError(UNREADABLE_REPLY) from exc
        except requests.ConnectionError as exc:
            log.debug("%s %s -> connection error (%s)", method, safe_path, type(exc).__name__)
            return None
        except requests.RequestException as exc:
            raise NetworkError("The connection to the PYDT service failed. Please try again.") from exc
        if watch.expired:  # the socket was cut short: whatever arrived is not the whole reply
            response.close()
            raise NetworkError(TOO_SLOW)
        elapsed = (time.monotonic() - started) * 1000
        log.debug("%s %s -> %s in %.0f ms", method, safe_path, response.status_code, elapsed)
        if api:
            self._note_metadata_hash(response.headers.get("Metadata-Hash"))
        return response

    def _note_metadata_hash(self, digest: str | None) -> None:
        if not digest:
            return
        with self._lock:
            if self._metadata is not None and self._metadata.hash != digest:
                log.debug("Metadata hash changed; dropping the cached metadata")
                self._metadata = None
