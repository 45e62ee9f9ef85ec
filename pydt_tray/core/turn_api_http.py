"""The HTTP side of the local turn API (:mod:`pydt_tray.core.turn_api`): the standard library's threading server,
at most :data:`~pydt_tray.core.turn_api.MAX_CONNECTIONS` connections at a time, each cut off after
:data:`~pydt_tray.core.turn_api.REQUEST_DEADLINE_SECONDS`, and a handler that answers ``GET /turns`` only for a
loopback ``Host``. Kept apart so that an app with the API turned off never imports ``http.server``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from pydt_tray.core import turn_api as api  # its limits are read at use (tests lower them)
from pydt_tray.core.turn_api import FORBIDDEN_BODY, NOT_FOUND_BODY, PATH, is_loopback_host

if TYPE_CHECKING:
    from pydt_tray.core.turn_api import TurnApiServer

log = logging.getLogger("pydt_tray.core.turn_api")


class TurnApiHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = os.name != "nt"  # POSIX: rebind despite TIME_WAIT; Windows: would allow port theft

    def __init__(self, address: tuple[str, int], body_source: TurnApiServer) -> None:
        self.body_source = body_source
        self.slots = threading.BoundedSemaphore(api.MAX_CONNECTIONS)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve in a thread of its own, unless ``MAX_CONNECTIONS`` are already being served."""
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
    server: TurnApiHttpServer
    timeout = 5  # a client that connects and says nothing does not hold a thread for long

    def setup(self) -> None:
        super().setup()
        # A per-read timeout does not stop a client sending one byte a second: cut the whole exchange off.
        self._deadline = threading.Timer(api.REQUEST_DEADLINE_SECONDS, self._expire)
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
