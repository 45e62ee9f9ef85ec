"""The relay push path: PYDT's webhook posts to a secret ntfy topic, and this streams that topic.

``GET <server>/<topic>/json`` is a newline-delimited JSON stream of ``open``, ``keepalive`` and
``message`` events. A ``message`` is treated like the IoT "Hello!": only a hint to reload from the API.
The stream is declared dead when nothing (keepalives included) arrives for twice the server's
keepalive interval; every reconnect resumes with ``since=<last message id>`` so nothing published in
between is lost, and message ids already seen are dropped so nothing arrives twice. The listener gets
the same calls as from the IoT link (:class:`pydt_tray.push.config.PushListener`), from this module's
own thread; its ``on_push_connected`` is the cue for a catch-up fetch.

The topic is a secret (anyone who knows it can post to it): it is never logged and never handed to the
listener, which sees the placeholder :data:`RELAY_TOPIC_LABEL` instead.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import logging
import random
import re
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from pydt_tray import APP_NAME, __version__
from pydt_tray.push.backoff import Backoff
from pydt_tray.push.config import PushListener
from pydt_tray.push.relay import ListenerRelay

log = logging.getLogger(__name__)

STOPPED = "stopped"
CONNECTING = "connecting"
CONNECTED = "connected"
BACKOFF = "backoff"

DEFAULT_SERVER = "https://ntfy.sh"
DEFAULT_KEEPALIVE_SECONDS = 45.0  # ntfy's default keepalive-interval
MAX_LINE_BYTES = 32 * 1024
MAX_MESSAGE_BYTES = 4096  # ntfy's own message limit; anything longer is cut before the listener sees it
MAX_ERROR_BYTES = 2048
SEEN_IDS_KEPT = 512
RELAY_TOPIC_LABEL = "relay"
PROBE_PREFIX = "pydt-tray relay check "
TOPIC_PATTERN = re.compile(r"[-_A-Za-z0-9]{1,64}")

ProbeCallback = Callable[[str], None]


class RelayConfigError(ValueError):
    """The relay settings cannot work; the message says which one and why."""


class RelayError(Exception):
    """Talking to the relay failed; ``str()`` is one line for the user (never the topic)."""


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and for loopback IP addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_server_url(url: str) -> str:
    """The relay's base URL without a trailing slash; :class:`RelayConfigError` when it is not acceptable.

    Only ``https://`` is accepted, except plain ``http://`` to this machine (loopback), because the
    topic travels in the URL and must not cross a network in the clear.
    """
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise RelayConfigError(f"{text!r} is not a valid relay URL ({error})") from None
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if scheme not in ("https", "http") or not host:
        raise RelayConfigError(f"{text!r} is not a relay URL: it must start with https:// and name a host")
    if parts.username is not None or parts.password is not None:
        raise RelayConfigError("the relay URL must not contain a user name or password (use an access token)")
    if parts.query or parts.fragment:
        raise RelayConfigError("the relay URL must not have a query (?...) or fragment (#...)")
    if scheme == "http" and not is_loopback_host(host):
        raise RelayConfigError(
            f"plain http:// is only allowed for a relay on this machine, not for {host}: use https://{host}"
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def topic_hint(topic: str) -> str:
    """How a topic may be shown: its first four characters only."""
    return f"…/{topic[:4]}…"


@dataclass(frozen=True, kw_only=True)
class RelayConfig:
    """Where the topic lives and how to stream it. Neither the topic nor the token appears in ``repr``."""

    server: str
    topic: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS
    connect_timeout: float = 10.0
    min_reconnect_seconds: float = 1.0
    max_reconnect_seconds: float = 120.0
    max_line_bytes: int = MAX_LINE_BYTES
    max_message_bytes: int = MAX_MESSAGE_BYTES
    ca_file: str | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        try:
            if check_server_url(self.server) != self.server:
                problems.append("the server URL is not in its checked form (use check_server_url)")
        except RelayConfigError as error:
            problems.append(str(error))
        if not TOPIC_PATTERN.fullmatch(self.topic or ""):
            problems.append("the topic must be 1 to 64 letters, digits, '-' or '_'")
        if self.token is not None and (not self.token or not self.token.isascii() or not self.token.isprintable()):
            problems.append("the access token must be one line of printable ASCII")
        if not self.keepalive_seconds > 0 or not self.connect_timeout > 0:
            problems.append("the keepalive and connect timeout must be positive")
        if not 0 < self.min_reconnect_seconds <= self.max_reconnect_seconds:
            problems.append("reconnect delays must satisfy 0 < min <= max")
        if self.max_line_bytes < 256 or self.max_message_bytes < 1:
            problems.append("the line and message limits are too small")
        if problems:
            raise RelayConfigError("invalid relay settings: " + "; ".join(problems))

    @property
    def dead_after_seconds(self) -> float:
        """Silence (keepalives included) after which the stream counts as dead."""
        return 2 * self.keepalive_seconds

    @property
    def webhook_url(self) -> str:
        """The URL PYDT posts to: the topic on the server."""
        return f"{self.server}/{self.topic}"

    @property
    def hint(self) -> str:
        return f"{self.server}/{self.topic[:4]}…"


def _connection(config: RelayConfig, timeout: float) -> http.client.HTTPConnection:
    parts = urlsplit(config.server)
    host = parts.hostname or ""
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=config.ca_file)
        return http.client.HTTPSConnection(host, parts.port, timeout=timeout, context=context)
    return http.client.HTTPConnection(host, parts.port, timeout=timeout)


def _headers(config: RelayConfig) -> dict[str, str]:
    headers = {"User-Agent": f"{APP_NAME}/{__version__}"}
    if config.token:
        headers["Authorization"] = f"Bearer {config.token}"
    return headers


def _base_path(config: RelayConfig) -> str:
    return urlsplit(config.server).path + "/" + quote(config.topic, safe="")


def _error_detail(response: http.client.HTTPResponse) -> str:
    """The relay's short error text (ntfy sends ``{"error": ...}``), or nothing."""
    with contextlib.suppress(Exception):
        body = json.loads(response.read(MAX_ERROR_BYTES))
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, str):
            return ": " + error[:200]
    return ""


def describe_status(status: int, detail: str = "") -> str:
    if status == 401:
        return f"the relay wants an access token for this topic (HTTP 401{detail})"
    if status == 403:
        return f"the relay refused the access token for this topic (HTTP 403{detail})"
    if status == 429:
        return f"the relay says too many requests; trying again later (HTTP 429{detail})"
    return f"the relay answered HTTP {status}{detail}"


def publish(config: RelayConfig, text: str, *, timeout: float = 10.0) -> str:
    """Publish ``text`` to the topic; returns the message id. Raises :class:`RelayError`."""
    conn = _connection(config, timeout)
    try:
        headers = {**_headers(config), "Content-Type": "text/plain; charset=utf-8"}
        conn.request("POST", _base_path(config), body=text.encode(), headers=headers)
        response = conn.getresponse()
        if response.status != 200:
            raise RelayError(describe_status(response.status, _error_detail(response)))
        body = json.loads(response.read(MAX_LINE_BYTES))
    except (OSError, http.client.HTTPException) as error:
        raise RelayError(f"could not reach the relay at {config.server} ({type(error).__name__})") from error
    except ValueError as error:
        raise RelayError("the relay's answer to a publish was not JSON") from error
    finally:
        conn.close()
    message_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(message_id, str) or not message_id:
        raise RelayError("the relay's answer to a publish had no message id")
    return message_id


def fetch_cached(config: RelayConfig, *, since: str = "all", timeout: float = 10.0) -> list[dict[str, Any]]:
    """The messages the relay still caches for the topic (``poll=1``). Raises :class:`RelayError`."""
    conn = _connection(config, timeout)
    try:
        conn.request("GET", f"{_base_path(config)}/json?poll=1&since={quote(since, safe='')}", headers=_headers(config))
        response = conn.getresponse()
        if response.status != 200:
            raise RelayError(describe_status(response.status, _error_detail(response)))
        events: list[dict[str, Any]] = []
        while line := response.readline(config.max_line_bytes + 1):
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict) and event.get("event") == "message":
                    events.append(event)
        return events
    except (OSError, http.client.HTTPException) as error:
        raise RelayError(f"could not reach the relay at {config.server} ({type(error).__name__})") from error
    finally:
        conn.close()


class _StreamEnded(Exception):
    """Why one stream ended (the text goes to the listener and the log)."""


class RelaySubscriber:
    """Keeps the topic's stream open on its own thread; reconnects until :meth:`stop`.

    ``probe`` receives the text of messages that start with :data:`PROBE_PREFIX` (the end-to-end check
    of the setup); those never reach the listener. :meth:`start` may be called again after :meth:`stop`.
    """

    def __init__(
        self,
        config: RelayConfig,
        listener: PushListener,
        *,
        probe: ProbeCallback | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._listener = listener
        self._probe = probe
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._gate: ListenerRelay | None = None
        self._conn: http.client.HTTPConnection | None = None
        self._restart = False
        self._state = STOPPED
        self._last_id: str | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.last_event_at: float | None = None  # time.monotonic() of the last line of any kind
        self.last_message_time: float | None = None  # the relay's unix time of the last turn message
        self.messages_delivered = 0
        self.connects = 0

    @property
    def state(self) -> str:
        """``stopped``, ``connecting``, ``connected`` or ``backoff``."""
        return self._state

    @property
    def last_message_id(self) -> str | None:
        return self._last_id

    # --- control (any thread) ----------------------------------------------------------------------

    def start(self) -> None:
        """Begin streaming in the background; does nothing if already running."""
        with self._lock:
            if self._thread is not None:
                return
            self._stopping.clear()
            self._wake.clear()
            self._restart = False
            self._state = CONNECTING
            gate = ListenerRelay(self._listener)
            self._gate = gate
            thread = threading.Thread(target=self._run, args=(gate,), name="pydt-relay", daemon=True)
            self._thread = thread
        log.info("relay: connecting to %s", self.config.server)
        thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop and wait for the thread. True when it ended within ``timeout`` seconds.

        Either way ``on_push_stopped`` has been delivered when this returns and nothing follows it.
        """
        with self._lock:
            thread, gate = self._thread, self._gate
            self._thread = None
            self._stopping.set()
            self._wake.set()
            self._cut_locked()
        if thread is None:
            return True
        thread.join(timeout)
        done = not thread.is_alive()
        if gate is not None:
            gate.stopped()
        log.info("relay: stopped" if done else "relay: stop timed out")
        return done

    def reconnect_now(self) -> None:
        """Drop the current stream (or skip the backoff wait) and connect again at once."""
        with self._lock:
            if self._thread is None:
                return
            self._restart = True
            self._wake.set()
            self._cut_locked()
        log.info("relay: reconnecting now")

    def _cut_locked(self) -> None:
        conn = self._conn
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    # --- the stream thread -------------------------------------------------------------------------

    def _run(self, gate: ListenerRelay) -> None:
        backoff = Backoff(self.config.min_reconnect_seconds, self.config.max_reconnect_seconds, self._rng)
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    self._stream_once(gate, backoff)
                    reason = "the relay ended the stream"
                except _StreamEnded as ended:
                    reason = str(ended)
                if self._stopping.is_set():
                    break
                with self._lock:
                    restart, self._restart = self._restart, False
                    self._state = CONNECTING if restart else BACKOFF
                log.info("relay: disconnected (%s)", reason)
                gate.disconnected(reason)
                if restart:
                    continue
                delay = backoff.next_delay()
                log.debug("relay: next attempt in %.1f s", delay)
                self._wake.wait(delay)
        except Exception:  # a bug: the listener must still hear that we stopped
            log.exception("relay: the stream thread failed")
        finally:
            self._state = STOPPED
            gate.stopped()

    def _stream_once(self, gate: ListenerRelay, backoff: Backoff) -> None:
        config = self.config
        path = f"{_base_path(config)}/json"
        if self._last_id:
            path += "?since=" + quote(self._last_id, safe="")
        conn = _connection(config, config.connect_timeout)
        with self._lock:
            if self._stopping.is_set():
                return
            self._state = CONNECTING
            self._conn = conn
        opened = False
        try:
            try:
                conn.connect()
            except TimeoutError:
                raise _StreamEnded(f"could not connect to the relay within {config.connect_timeout:g} s") from None
            with self._lock:  # a stop or restart while connecting found no socket to cut: honour it now
                if self._stopping.is_set() or self._restart:
                    raise _StreamEnded("reconnecting")
            assert conn.sock is not None
            conn.sock.settimeout(config.dead_after_seconds)
            conn.request("GET", path, headers={**_headers(config), "Accept": "application/x-ndjson"})
            response = conn.getresponse()
            if response.status != 200:
                raise _StreamEnded(describe_status(response.status, _error_detail(response)))
            opened = True
            self._read_events(response, gate, backoff)
        except TimeoutError:
            if opened:
                raise _StreamEnded(
                    f"no event from the relay for {config.dead_after_seconds:g} s: the stream is dead"
                ) from None
            raise _StreamEnded("the relay did not answer in time") from None
        except ssl.SSLError as error:
            raise _StreamEnded(f"the TLS connection to the relay failed ({error.reason or 'error'})") from None
        except (OSError, http.client.HTTPException) as error:
            if self._stopping.is_set() or self._restart:
                raise _StreamEnded("reconnecting") from None
            raise _StreamEnded(f"the connection to the relay failed ({type(error).__name__})") from None
        finally:
            with self._lock:
                self._conn = None
            conn.close()

    def _read_events(self, response: http.client.HTTPResponse, gate: ListenerRelay, backoff: Backoff) -> None:
        limit = self.config.max_line_bytes
        while not self._stopping.is_set():
            line = response.readline(limit + 1)
            if not line:
                if self._restart:
                    raise _StreamEnded("reconnecting")
                raise _StreamEnded("the relay closed the stream")
            self.last_event_at = time.monotonic()
            if len(line) > limit and not line.endswith(b"\n"):
                log.warning("relay: skipped a line longer than %d bytes", limit)
                while line and not line.endswith(b"\n"):
                    line = response.readline(limit)
                continue
            self._handle_line(line, gate, backoff)

    def _handle_line(self, line: bytes, gate: ListenerRelay, backoff: Backoff) -> None:
        text = line.strip()
        if not text:
            return
        try:
            event = json.loads(text)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            log.warning("relay: skipped a line that is not a JSON object (%d bytes)", len(line))
            return
        kind = event.get("event")
        if kind == "open":
            with self._lock:
                if self._stopping.is_set():
                    return
                self._state = CONNECTED
            self.connects += 1
            backoff.reset()
            log.info("relay: connected (resuming: %s)", "yes" if self._last_id else "no")
            gate.connected(False)
        elif kind == "message":
            self._handle_message(event, gate)
        elif kind != "keepalive":
            log.debug("relay: ignored a %r event", str(kind)[:32])

    def _handle_message(self, event: dict[str, Any], gate: ListenerRelay) -> None:
        message_id = event.get("id")
        if not isinstance(message_id, str) or not message_id or len(message_id) > 64:
            log.info("relay: skipped a message without a usable id")
            return
        if event.get("topic") != self.config.topic:
            log.debug("relay: skipped a message for another topic")
            return
        if message_id in self._seen:
            log.debug("relay: message %s seen before; dropped", message_id)
            return
        self._seen[message_id] = None
        while len(self._seen) > SEEN_IDS_KEPT:
            self._seen.popitem(last=False)
        self._last_id = message_id
        sent = event.get("time")
        if isinstance(sent, int | float) and not isinstance(sent, bool):
            self.last_message_time = float(sent)
        body = event.get("message")
        text = body if isinstance(body, str) else ""
        payload = text.encode("utf-8", errors="replace")
        if len(payload) > self.config.max_message_bytes:
            log.info("relay: message %s is %d bytes; only its start is kept", message_id, len(payload))
            payload = payload[: self.config.max_message_bytes]
        if text.startswith(PROBE_PREFIX):
            log.info("relay: the end-to-end check message arrived (not a turn)")
            if self._probe is not None:
                try:
                    self._probe(text)
                except Exception:
                    log.exception("relay: the probe callback failed")
            return
        self.messages_delivered += 1
        log.info("relay: message %s", message_id)
        gate.message(RELAY_TOPIC_LABEL, payload)
