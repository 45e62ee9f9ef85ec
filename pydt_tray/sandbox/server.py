"""The HTTP/1.1 side of the simulator: a keep-alive threading server, its handler and the reply encoding.

The server knows nothing of PYDT: every request goes to a :class:`Service` (the simulator), which
answers with a :class:`Reply`; this module reads bodies (plain or chunked), compresses API replies
like the live service and closes idle keep-alive connections on shutdown.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from pydt_tray.sandbox.world import gzip_bytes

log = logging.getLogger(__name__)

COMPRESSION_THRESHOLD = 1024


@dataclass
class Reply:
    """One HTTP reply; ``api`` replies may be compressed, ``after`` runs once the reply is sent."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    api: bool = True
    after: Callable[[], None] | None = None


class Service(Protocol):
    """What the server asks of the service behind it."""

    @property
    def metadata_hash(self) -> str: ...

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes, chunked: bool) -> Reply: ...


def pick_encoding(accept_encoding: str) -> str | None:
    """gzip > deflate among the encodings the client accepts (br is never available here)."""
    accepted: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        accepted[name.strip().lower()] = quality
    for encoding in ("gzip", "deflate"):
        if accepted.get(encoding, 0.0) > 0:
            return encoding
    return None


def encode_body(body: bytes, accept_encoding: str) -> tuple[bytes, str | None]:
    """Compress a body above the service's threshold as the service does."""
    if len(body) <= COMPRESSION_THRESHOLD:
        return body, None
    encoding = pick_encoding(accept_encoding)
    if encoding == "gzip":
        return gzip_bytes(body), "gzip"
    if encoding == "deflate":
        return zlib.compress(body), "deflate"
    return body, None


class SimulatorServer(ThreadingHTTPServer):
    """A threading HTTP server that tracks its connections so that :meth:`close_connections` can end them."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], service: Service) -> None:
        self.service = service
        self.connections: dict[socket.socket, threading.Thread] = {}
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("simulator: connection error from %s", client_address, exc_info=True)

    def close_connections(self) -> None:
        """Wake the handler threads of idle keep-alive connections and wait for them to finish."""
        with self.connections_lock:
            connections = dict(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread in connections.values():
            thread.join(timeout=2)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pydt-simulator"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 60
    server: SimulatorServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections[self.connection] = threading.current_thread()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.pop(self.connection, None)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _read_body(self) -> tuple[bytes, bool]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = bytearray()
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(chunks), True
                chunks += self.rfile.read(size)
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return (self.rfile.read(length) if length > 0 else b""), False

    def _serve(self) -> None:
        try:
            body, chunked = self._read_body()
        except ValueError:
            self.close_connection = True
            hash_header = [("Metadata-Hash", self.server.service.metadata_hash)]
            self._send(Reply(400, b'{"errorMessage":"Bad Request"}', hash_header))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.service.handle(self.command, self.path, headers, body, chunked)
        try:
            self._send(reply, headers.get("accept-encoding", ""))
        finally:
            if reply.after is not None:
                reply.after()

    def _send(self, reply: Reply, accept_encoding: str = "") -> None:
        body, encoding = encode_body(reply.body, accept_encoding) if reply.api else (reply.body, None)
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        if reply.status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and reply.status != 304:
            self.wfile.write(body)
