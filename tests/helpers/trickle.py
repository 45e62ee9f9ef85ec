"""A loopback HTTP server that answers a byte at a time, or reads an upload a crumb at a time, forever."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class TrickleServer:
    """``mode``: "headers" (the status line trickles), "body" (headers at once, then the body trickles),
    "slow-reader" (reads the request body 1 KB per tick and never answers)."""

    def __init__(self, mode: str, tick: float = 0.1) -> None:
        self.mode = mode
        self.tick = tick
        self.connections = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, name="trickle-accept", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TrickleServer:
        self._accept.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._accept.join(5)
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._handle, args=(conn,), name="trickle-conn", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.5)
            try:
                head = b""
                while b"\r\n\r\n" not in head and not self._stop.is_set():
                    try:
                        chunk = conn.recv(4096)
                    except TimeoutError:
                        continue
                    if not chunk:
                        return
                    head += chunk
                if self.mode == "slow-reader":
                    while not self._stop.wait(self.tick):
                        try:
                            if not conn.recv(1024):
                                return
                        except TimeoutError:
                            continue
                    return
                if self.mode == "headers":
                    payload = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 100_000
                else:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
                    payload = b" " * 100_000
                for index in range(len(payload)):
                    if self._stop.wait(self.tick):
                        return
                    conn.sendall(payload[index : index + 1])
            except OSError:
                return


@contextmanager
def trickle_server(mode: str, tick: float = 0.1) -> Iterator[TrickleServer]:
    server = TrickleServer(mode, tick).start()
    try:
        yield server
    finally:
        server.stop()
