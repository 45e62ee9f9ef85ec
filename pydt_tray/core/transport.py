"""How the API client talks HTTP: one session without ``~/.netrc``, retries of idempotent calls, a
whole-request deadline per call (a streamed reply keeps it until closed), bodies unpacked with a size cap,
and every failure turned into a :class:`~pydt_tray.core.api_errors.PydtError`.

:class:`ApiTransport` is the base of :class:`~pydt_tray.core.api.PydtClient`, which adds the endpoints.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import types
import weakref
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from pydt_tray import APP_NAME, __version__
from pydt_tray.core.api_errors import TOO_SLOW, UNREADABLE_REPLY, ApiError, AuthError, NetworkError, ReplyTooLargeError
from pydt_tray.core.deadline import Deadline, DeadlineAdapter
from pydt_tray.core.limits import (
    MAX_JSON_BYTES,
    DecodeError,
    LimitExceededError,
    StreamDecoder,
    UnsafeJsonError,
    loads_json,
    megabytes,
)
from pydt_tray.core.models import ModelError

log = logging.getLogger(__name__)

REQUEST_DEADLINE = 60.0  # a whole API call, retries included, however the server trickles
TRANSFER_DEADLINE = 600.0  # a whole save download or upload
READ_CHUNK = 64 * 1024
_Parsed = TypeVar("_Parsed")


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


class ApiTransport:
    """Sends the client's requests. Thread-safe: ``_lock`` guards the token and the deadlines in flight."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        user_agent: str | None,
        timeout: tuple[float, float],
        retries: int,
        backoff: float,
        deadline: float,
        transfer_deadline: float,
        session: requests.Session | None,
        sleep: Callable[[float], None],
        max_reply_bytes: int = MAX_JSON_BYTES,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff = backoff
        self._sleep = sleep
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

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def abort(self) -> None:
        """Quitting: every call in flight, on any thread, fails now with a NetworkError."""
        with self._lock:
            deadlines = list(self._deadlines)
        for deadline in deadlines:
            deadline.expire()

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
        """Each API reply's ``Metadata-Hash`` header (None when absent); the client drops stale metadata."""
