"""A local relay that speaks ntfy's publish API and JSON stream, for tests (real HTTP on 127.0.0.1).

What it implements, as ntfy documents it:

- ``POST``/``PUT /<topic>``: the body becomes a ``message`` event; the reply is that event as JSON.
- ``GET /<topic>[,<topic>...]/json``: a newline-delimited JSON stream (chunked) that starts with an
  ``open`` event, sends a ``keepalive`` event every ``keepalive`` seconds and a ``message`` event for
  every publish to one of the topics. ``since=<message id>`` first replays the cached messages published
  after that one (``since=all``: every cached message; ``since=<unix time>``: those at or after it);
  ``poll=1`` returns the cached messages and ends the reply.
- ``Authorization: Bearer <token>`` for protected topics (401 without a token, 403 with a wrong one).
- Errors are JSON bodies ``{"code", "http", "error"}``.

And what tests need on top: queued 429/5xx answers, dropping every open stream, "half-open" streams
(the TCP connection stays up but nothing, keepalives included, is sent any more), raw lines written
into open streams, a restart on the same port that keeps the message cache, and a log of requests.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import ssl
import string
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

ID_ALPHABET = string.ascii_letters + string.digits
MAX_BODY = 64 * 1024
ERRORS = {
    400: (40001, "invalid request"),
    401: (40101, "unauthorized"),
    403: (40301, "forbidden"),
    404: (40401, "page not found"),
    413: (41301, "message too large"),
    429: (42901, "limit reached: too many requests"),
    500: (50001, "internal server error"),
    502: (50201, "bad gateway"),
    503: (50301, "service unavailable"),
}


def new_message_id() -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(12))


@dataclass(frozen=True)
class SeenRequest:
    """One request the relay answered (headers with lower-case names)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int

    @property
    def topics(self) -> list[str]:
        first = self.path.strip("/").split("/")[0]
        return [unquote(t) for t in first.split(",") if t]


@dataclass
class _Stream:
    """One open subscription: what it listens to and the lines waiting to be written to it."""

    topics: frozenset[str]
    connection: socket.socket
    pending: deque[bytes] = field(default_factory=deque)
    half_open: bool = False
    closed: bool = False


class NtfyRelay:
    """The relay. Thread-safe; tests call its methods while clients stream from it."""

    def __init__(
        self,
        *,
        keepalive: float = 45.0,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        """``tls``: (certificate, key) PEM files to serve HTTPS instead of HTTP."""
        self.keepalive = keepalive
        self._tls = tls
        self._address = (host, port)
        self._cond = threading.Condition()
        self._messages: list[dict[str, Any]] = []
        self._streams: list[_Stream] = []
        self._tokens: dict[str, set[str]] = {}  # protected topic -> tokens allowed
        self._all_token: str | None = None  # every topic needs this token (a private server)
        self._faults: deque[tuple[str, int]] = deque()  # (kind "subscribe"|"publish"|"any", status)
        self._half_open_next = 0
        self._requests: list[SeenRequest] = []
        self._server: _RelayServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> NtfyRelay:
        if self._server is not None:
            return self
        self._server = _RelayServer((self._address[0], self.port), self)
        if self._tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self._tls[0]), str(self._tls[1]))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="ntfy-relay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every connection (the message cache is kept for :meth:`start`)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        self.drop_streams()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def restart(self, downtime: float = 0.0, publish_while_down: list[tuple[str, str]] | None = None) -> None:
        """Stop, optionally store messages while down (as a relay with a persistent cache would), start again."""
        self.stop()
        for topic, text in publish_while_down or []:
            self.publish(topic, text)
        if downtime:
            time.sleep(downtime)
        self.start()

    def __enter__(self) -> NtfyRelay:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{self._address[0]}:{self.port}"

    # --- arranging -----------------------------------------------------------------------------

    def protect(self, topic: str, token: str) -> None:
        """From now on ``topic`` needs ``Authorization: Bearer <token>`` to publish or subscribe."""
        with self._cond:
            self._tokens.setdefault(topic, set()).add(token)

    def protect_all(self, token: str) -> None:
        """From now on every topic needs ``Authorization: Bearer <token>`` (a server that denies anonymous use)."""
        with self._cond:
            self._all_token = token

    def fail_next(self, status: int, count: int = 1, kind: str = "any") -> None:
        """Answer the next ``count`` requests of ``kind`` (subscribe, publish or any) with ``status``."""
        with self._cond:
            self._faults.extend([(kind, status)] * count)

    def drop_streams(self) -> int:
        """Cut every open stream (the client sees the connection end); returns how many."""
        with self._cond:
            streams, self._streams = list(self._streams), []
            for stream in streams:
                stream.closed = True
            self._cond.notify_all()
        for stream in streams:
            with contextlib.suppress(OSError):
                stream.connection.shutdown(socket.SHUT_RDWR)
        return len(streams)

    def go_half_open(self) -> int:
        """Every open stream goes silent: the connection stays up but nothing more is written to it."""
        with self._cond:
            for stream in self._streams:
                stream.half_open = True
            return len(self._streams)

    def half_open_next(self, count: int = 1) -> None:
        """The next ``count`` streams send their ``open`` event and then go silent."""
        with self._cond:
            self._half_open_next += count

    def write_raw(self, line: bytes) -> int:
        """Write ``line`` (a newline is added) to every live stream; returns how many streams got it."""
        with self._cond:
            live = [s for s in self._streams if not s.half_open]
            for stream in live:
                stream.pending.append(line + b"\n")
            self._cond.notify_all()
            return len(live)

    def publish(self, topic: str, text: str, **extra: Any) -> dict[str, Any]:
        """Store a message as a publish would and send it to every stream of ``topic``."""
        event = {"id": new_message_id(), "time": int(time.time()), "event": "message", "topic": topic}
        event.update(extra)
        event["message"] = text
        line = json.dumps(event, separators=(",", ":")).encode() + b"\n"
        with self._cond:
            self._messages.append(event)
            for stream in self._streams:
                if topic in stream.topics and not stream.half_open:
                    stream.pending.append(line)
            self._cond.notify_all()
        return event

    # --- observing -----------------------------------------------------------------------------

    def messages(self, topic: str | None = None) -> list[dict[str, Any]]:
        with self._cond:
            return [dict(m) for m in self._messages if topic is None or m["topic"] == topic]

    def requests(self, method: str | None = None) -> list[SeenRequest]:
        with self._cond:
            return [r for r in self._requests if method is None or r.method == method]

    def open_streams(self) -> int:
        with self._cond:
            return sum(1 for s in self._streams if not s.closed)

    def wait_for_streams(self, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` streams are open and not half-open."""
        with self._cond:
            ok = self._cond.wait_for(lambda: sum(1 for s in self._streams if not s.half_open) >= count, timeout)
        if not ok:
            raise AssertionError(f"{count} live stream(s) not open within {timeout}s")

    def wait_for_subscribes(self, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` subscribe requests have arrived in total."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self._subscribes()) >= count, timeout)
        if not ok:
            raise AssertionError(f"{count} subscribe request(s) not seen within {timeout}s")

    def _subscribes(self) -> list[SeenRequest]:
        return [r for r in self._requests if r.method == "GET" and r.path.rstrip("/").endswith("/json")]

    def subscribes(self) -> list[SeenRequest]:
        with self._cond:
            return self._subscribes()

    # --- serving (handler threads) ---------------------------------------------------------------

    def _note(self, handler: _Handler, status: int, query: dict[str, list[str]]) -> None:
        headers = {name.lower(): value for name, value in handler.headers.items()}
        with self._cond:
            self._requests.append(SeenRequest(handler.command, urlsplit(handler.path).path, query, headers, status))
            self._cond.notify_all()

    def _take_fault(self, kind: str) -> int | None:
        with self._cond:
            if self._faults and self._faults[0][0] in (kind, "any"):
                return self._faults.popleft()[1]
        return None

    def _auth_status(self, topics: list[str], authorization: str) -> int | None:
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
        with self._cond:
            for topic in topics:
                allowed = self._tokens.get(topic)
                if self._all_token is not None:
                    allowed = (allowed or set()) | {self._all_token}
                if allowed is None:
                    continue
                if not token:
                    return 401
                if token not in allowed:
                    return 403
        return None

    def _replay(self, topics: frozenset[str], since: str | None) -> list[dict[str, Any]]:
        with self._cond:
            cached = [m for m in self._messages if m["topic"] in topics]
        if since is None:
            return []
        if since == "all":
            return cached
        if since.isdigit():
            return [m for m in cached if m["time"] >= int(since)]
        for index, message in enumerate(cached):
            if message["id"] == since:
                return cached[index + 1 :]
        return cached  # an unknown id: everything cached, as nothing can be skipped safely

    def _open_stream(self, topics: frozenset[str], connection: socket.socket) -> _Stream:
        stream = _Stream(topics, connection)
        with self._cond:
            if self._half_open_next > 0:
                self._half_open_next -= 1
                stream.half_open = True
            self._streams.append(stream)
            self._cond.notify_all()
        return stream

    def _close_stream(self, stream: _Stream) -> None:
        with self._cond:
            stream.closed = True
            if stream in self._streams:
                self._streams.remove(stream)
            self._cond.notify_all()

    def _next_lines(self, stream: _Stream, timeout: float) -> list[bytes] | None:
        """Lines to write (a keepalive after ``timeout`` seconds of silence); None once the stream is closed."""
        with self._cond:
            self._cond.wait_for(lambda: stream.closed or bool(stream.pending), timeout)
            if stream.closed:
                return None
            if stream.half_open:
                stream.pending.clear()
                return []
            if stream.pending:
                lines = list(stream.pending)
                stream.pending.clear()
                return lines
        keepalive = {"id": new_message_id(), "time": int(time.time()), "event": "keepalive"}
        keepalive["topic"] = ",".join(sorted(stream.topics))
        return [json.dumps(keepalive, separators=(",", ":")).encode() + b"\n"]


class _RelayServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], relay: NtfyRelay) -> None:
        self.relay = relay
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client went away mid-reply: nothing to report

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ntfy-test-relay"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 60
    server: _RelayServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            with contextlib.suppress(OSError):
                super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def relay(self) -> NtfyRelay:
        return self.server.relay

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        parts = [p for p in split.path.split("/") if p]
        if len(parts) != 2 or parts[1] != "json":
            self._error(404, query)
            return
        topics = frozenset(unquote(t) for t in parts[0].split(",") if t)
        status = self.relay._take_fault("subscribe") or self.relay._auth_status(
            sorted(topics), self.headers.get("Authorization", "")
        )
        if status:
            self._error(status, query)
            return
        since = query.get("since", [None])[0]
        poll = query.get("poll", [""])[0] in ("1", "yes", "true")
        self.relay._note(self, 200, query)
        replay = self.relay._replay(topics, "all" if poll and since is None else since)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        lines = [json.dumps(m, separators=(",", ":")).encode() + b"\n" for m in replay]
        if poll:
            self._chunk(b"".join(lines))
            self._chunk(b"")
            return
        stream = self.relay._open_stream(topics, self.connection)
        try:
            opening = {"id": new_message_id(), "time": int(time.time()), "event": "open"}
            opening["topic"] = ",".join(sorted(topics))
            head = json.dumps(opening, separators=(",", ":")).encode() + b"\n"
            self._chunk(head if stream.half_open else head + b"".join(lines))
            while True:
                batch = self.relay._next_lines(stream, self.relay.keepalive)
                if batch is None:
                    break
                if batch:
                    self._chunk(b"".join(batch))
        except OSError:
            pass
        finally:
            self.relay._close_stream(stream)
            self.close_connection = True

    def do_POST(self) -> None:
        self._publish()

    def do_PUT(self) -> None:
        self._publish()

    def _publish(self) -> None:
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self._error(413, query)
            return
        body = self.rfile.read(length) if length > 0 else b""
        parts = [p for p in split.path.split("/") if p]
        if len(parts) != 1:
            self._error(404, query)
            return
        topic = unquote(parts[0])
        status = self.relay._take_fault("publish") or self.relay._auth_status(
            [topic], self.headers.get("Authorization", "")
        )
        if status:
            self._error(status, query)
            return
        self.relay._note(self, 200, query)
        extra: dict[str, Any] = {}
        title = self.headers.get("Title") or self.headers.get("X-Title")
        if title:
            extra["title"] = title
        event = self.relay.publish(topic, body.decode("utf-8", errors="replace"), **extra)
        self._json(200, event)

    def _error(self, status: int, query: dict[str, list[str]]) -> None:
        self.relay._note(self, status, query)
        code, text = ERRORS.get(status, (status * 100 + 1, "error"))
        self._json(status, {"code": code, "http": status, "error": text})

    def _json(self, status: int, value: Any) -> None:
        body = json.dumps(value, separators=(",", ":")).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


@pytest.fixture
def ntfy_relay() -> Iterator[NtfyRelay]:
    """A running relay on a random 127.0.0.1 port with a 1 s keepalive, stopped after the test."""
    with NtfyRelay(keepalive=1.0) as relay:
        yield relay
