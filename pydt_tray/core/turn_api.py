"""The local "turn API": ``GET /turns`` on 127.0.0.1 tells other programs how many turns are waiting.

A read-only HTTP server from the standard library, serving in a daemon thread. The body is rendered once per
:meth:`TurnApiServer.update` and handed out as-is, so a request never touches the game models. The server
knows nothing but the games: no token, no user data beyond names and ids.

At most :data:`MAX_CONNECTIONS` connections are served at a time (more are closed at once), and each one
has :data:`REQUEST_DEADLINE_SECONDS` in all to be answered: a client that trickles its request a byte at a
time is cut off then, so no client can hold the server's threads.

Browsers can reach 127.0.0.1 from any web page; a page that rebinds its own DNS name to 127.0.0.1 would
then read this API as same-origin. Such a request carries the attacker's name in ``Host``, so every
request whose Host is not a loopback name is refused.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import selectors
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydt_tray.core.account_view import account_name_of
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.models import format_date

log = logging.getLogger(__name__)

DEFAULT_PORT = 47821
MAX_CONNECTIONS = 8  # the API is polled by a few local tools; more at once is a misbehaving client
REQUEST_DEADLINE_SECONDS = 5.0  # from accepting a connection to the end of the answer
PATH = "/turns"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
_HOST_RE = re.compile(r"^(?P<name>\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>\d{1,5}))?$")

NOT_READY_BODY = b'{"ready":false,"count":0,"games":[]}'
NOT_FOUND_BODY = b'{"error":"Not found"}'
FORBIDDEN_BODY = b'{"error":"Forbidden: the Host header must name this computer (localhost)"}'


class TurnApiError(PydtTrayError):
    """The server could not start; ``user_message`` says why and what to do."""


def render_turns(snapshot: Snapshot | None, has_unread_smack: bool = False) -> bytes:
    """The JSON body of ``GET /turns`` for ``snapshot`` (``None``: nothing loaded yet). With several accounts
    signed in each game names its ``account``."""
    if snapshot is None:
        return NOT_READY_BODY
    games = [
        {
            "id": game.game_id,
            "name": game.display_name,
            "gameType": game.game_type,
            "flags": list(game.flags),
            "updatedAt": format_date(game.updated_at),
            **({"account": account} if (account := account_name_of(snapshot, game.game_id)) else {}),
        }
        for game in snapshot.my_turns()
    ]
    body: dict[str, Any] = {
        "ready": True,
        "count": len(games),
        "hasUnreadSmack": bool(has_unread_smack),
        "games": games,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def is_loopback_host(value: str | None) -> bool:
    """Is a Host header value ``localhost``, ``127.0.0.1`` or ``[::1]``, with or without a port?"""
    if value is None:
        return True  # HTTP/1.0 without Host: no browser sends that, so no rebinding either
    match = _HOST_RE.match(value.strip())
    if match is None:
        return False
    name = match.group("name").lower()
    if name.endswith(".") and not name.startswith("["):
        name = name[:-1]
    return name in LOOPBACK_HOSTS


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = os.name != "nt"  # POSIX: rebind despite TIME_WAIT; Windows: would allow port theft

    def __init__(self, address: tuple[str, int], body_source: TurnApiServer) -> None:
        self.body_source = body_source
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve in a thread of its own, unless :data:`MAX_CONNECTIONS` are already being served."""
        if not self.slots.acquire(blocking=False):
            log.debug("turn API: too many connections; closed the one from %s", client_address)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A broken connection is the client's business: log it quietly instead of printing to stderr."""
        log.debug("turn API: error while answering %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 5  # a client that connects and says nothing does not hold a thread for long

    def setup(self) -> None:
        super().setup()
        # A per-read timeout does not stop a client sending one byte a second: cut the whole exchange off.
        self._deadline = threading.Timer(REQUEST_DEADLINE_SECONDS, self._expire)
        self._deadline.daemon = True
        self._deadline.start()

    def _expire(self) -> None:
        log.debug("turn API: %s did not finish its request in time; disconnected", self.client_address)
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        self._deadline.cancel()
        with contextlib.suppress(OSError):  # the deadline closed the socket under the writer
            super().finish()

    def version_string(self) -> str:
        return "pydt-tray"

    def do_GET(self) -> None:
        if not self._host_allowed():
            return
        if self._raw_target() != PATH:
            self._reply(404, NOT_FOUND_BODY)
            return
        self._reply(200, self.server.body_source.body)

    def _any_other_method(self) -> None:
        if self._host_allowed():
            self._reply(404, NOT_FOUND_BODY)

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _any_other_method

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors raised by the request parser, as JSON; an unknown method is just "Not found"."""
        if code == 501:
            self._reply(404, NOT_FOUND_BODY)
            return
        self.close_connection = True
        self.request_version = "HTTP/1.0"  # unparsable request lines default to 0.9, which has no status line
        text = message or self.responses.get(code, ("Error",))[0]
        self._reply(code, json.dumps({"error": text}).encode("utf-8"))

    def _raw_target(self) -> str:
        """The request target exactly as sent (``self.path`` folds a leading ``//`` into ``/``)."""
        words = self.requestline.split()
        return words[1] if len(words) >= 2 else ""

    def _host_allowed(self) -> bool:
        hosts: list[str] = self.headers.get_all("Host") or []
        host = hosts[0] if hosts else None
        if len(hosts) <= 1 and is_loopback_host(host):  # none (HTTP/1.0) or exactly one
            return True
        log.debug("turn API: refused a request for Host %r", host)
        self._reply(403, FORBIDDEN_BODY)
        return False

    def _reply(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("turn API: %s - %s", self.address_string(), format % args)


class TurnApiServer:
    """``GET /turns`` on a loopback port, answered from the last :meth:`update`."""

    def __init__(self, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> None:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the turn API listens on 127.0.0.1 only, not {host!r}")
        if not 0 <= int(port) <= 65535:
            raise TurnApiError(f"{port} is not a valid port number (1024-65535)")
        self._host = "127.0.0.1"
        self._port = int(port)
        self._body = NOT_READY_BODY
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None

    @property
    def port(self) -> int:
        """The port listened on (the real one after :meth:`start`, even when 0 was asked for)."""
        if self._server is not None:
            return int(self._server.server_address[1])
        return self._port

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def body(self) -> bytes:
        with self._lock:
            return self._body

    def update(self, snapshot: Snapshot | None, has_unread_smack: bool = False) -> None:
        """Serve ``snapshot`` from now on; safe to call from any thread."""
        body = render_turns(snapshot, has_unread_smack)
        with self._lock:
            self._body = body

    def start(self) -> None:
        """Listen and serve in a daemon thread; raises :class:`TurnApiError` if the port cannot be opened."""
        if self._server is not None:
            return
        try:
            server = _Server((self._host, self._port), self)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
                raise TurnApiError(
                    f"The local turn API could not start: port {self._port} is already in use by another "
                    "program. Choose another port in the settings.",
                    str(exc),
                ) from exc
            raise TurnApiError(
                f"The local turn API could not start on {self._host}:{self._port}: {exc.strerror or exc}.",
                str(exc),
            ) from exc
        self._server = server
        self._wake = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, args=(server, self._wake[0]), name="turn-api", daemon=True)
        self._thread.start()
        log.info("turn API listening on http://%s:%d%s", self._host, self.port, PATH)

    @staticmethod
    def _serve(server: _Server, wake: socket.socket) -> None:
        """Accept connections until ``wake`` becomes readable; sleeps in select, no polling while idle."""
        with selectors.DefaultSelector() as selector:
            selector.register(server, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while True:
                ready = selector.select()
                if any(key.fileobj is wake for key, _events in ready):
                    return
                server.handle_request()  # the listening socket is readable: accepts without blocking

    def stop(self) -> None:
        """Stop serving, close the socket and wait for the thread; safe to call more than once."""
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        wake, self._wake = self._wake, None
        if server is None:
            return
        if wake is not None:
            wake[1].send(b"x")
        if thread is not None:
            thread.join(timeout=5)
        server.server_close()
        if wake is not None:
            wake[0].close()
            wake[1].close()
        log.info("turn API stopped")
