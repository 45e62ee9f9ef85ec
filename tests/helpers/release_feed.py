"""A release feed on 127.0.0.1 for the update-check tests: a real HTTP server serving what the test sets."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Feed:
    """A release feed on 127.0.0.1 serving whatever body the test sets."""

    def __init__(self) -> None:
        self.body = b"{}"
        self.status = 200
        self.requests: list[dict[str, str]] = []
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feed.requests.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(feed.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(feed.body)))
                self.end_headers()
                self.wfile.write(feed.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/pypi/pydt-tray/json"

    def serve_version(self, version: str) -> None:
        url = f"https://example.invalid/pydt-tray/{version}/"
        self.body = json.dumps({"info": {"name": "pydt-tray", "version": version, "release_url": url}}).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def feed() -> Iterator[Feed]:
    """A running release feed, closed after the test."""
    server = Feed()
    yield server
    server.close()
