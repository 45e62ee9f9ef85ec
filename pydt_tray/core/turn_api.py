"""The local "turn API": ``GET /turns`` on 127.0.0.1 tells other programs how many turns are waiting.

A read-only HTTP server from the standard library (:mod:`pydt_tray.core.turn_api_http`, imported only once
the API is turned on), serving in a daemon thread. The body is rendered once per
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

import errno
import json
import logging
import re
import selectors
import socket
import threading
from typing import TYPE_CHECKING, Any

from pydt_tray.core.account_view import account_name_of
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.models import format_date

if TYPE_CHECKING:
    from pydt_tray.core.turn_api_http import TurnApiHttpServer

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
        self._server: TurnApiHttpServer | None = None
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
        from pydt_tray.core.turn_api_http import TurnApiHttpServer  # http.server only once the API is on

        try:
            server = TurnApiHttpServer((self._host, self._port), self)
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
    def _serve(server: TurnApiHttpServer, wake: socket.socket) -> None:
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
