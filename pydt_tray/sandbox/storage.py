"""The simulator's "S3" bucket: pollUrl objects with ETags, presigned download/upload URLs, uploaded saves.

Like the real bucket it ignores the ``Authorization`` header, answers errors in S3's XML shape and
refuses chunked uploads. It shares the simulator's lock so that game state and objects change together.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from pydt_tray.sandbox.server import Reply

BAD_SIGNATURE = "The request signature we calculated does not match."


@dataclass
class _Grant:
    """A presigned URL: what it allows, on which object path, until when."""

    method: str
    path: str
    game_id: str
    turn: int
    expires: float
    data: bytes = b""
    extension: str = "Civ6Save"


def s3_error(status: int, code: str, message: str) -> Reply:
    """An error reply in S3's XML shape."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{uuid.uuid4().hex[:16]}</RequestId></Error>"
    )
    return Reply(status, body.encode(), [("Content-Type", "application/xml")], api=False)


def etag(body: bytes) -> str:
    """The quoted MD5 ETag S3 gives a single-part object."""
    return '"' + hashlib.md5(body).hexdigest() + '"'


def unzip_save(data: bytes) -> bytes:
    """gzip or zlib data -> its content; anything else is taken as the raw save."""
    try:
        return zlib.decompress(data, wbits=47)
    except zlib.error:
        return data


class FakeBucket:
    """The objects and presigned grants; every method may be called with or without the shared lock held."""

    def __init__(self, lock: threading.RLock, clock: Callable[[], float]) -> None:
        self._lock = lock
        self._clock = clock
        self._poll: dict[str, tuple[bytes, str]] = {}  # steam id -> (body, etag)
        self._grants: dict[str, _Grant] = {}
        self._uploads: dict[str, tuple[int, bytes]] = {}  # game -> (turn key, body as uploaded)

    def put_poll(self, steam_id: str, body: bytes) -> None:
        """Write the user's pollUrl object (the games cache)."""
        with self._lock:
            self._poll[steam_id] = (body, etag(body))

    def presign(
        self,
        method: str,
        path: str,
        game_id: str,
        turn: int,
        ttl: float,
        data: bytes = b"",
        extension: str = "Civ6Save",
    ) -> str:
        """Grant ``method`` on ``path`` for ``ttl`` seconds; returns the path with its signed query."""
        with self._lock:
            now = self._clock()
            for key in [k for k, g in self._grants.items() if g.expires < now - 600]:
                del self._grants[key]
            signature = secrets.token_hex(20)
            self._grants[signature] = _Grant(method, path, game_id, turn, now + ttl, data, extension)
        query = f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires={int(ttl)}&X-Amz-Signature={signature}"
        return f"{path}?{query}"

    def upload(self, game_id: str) -> tuple[int, bytes] | None:
        """The last save uploaded for the game: (turn key it was granted for, body as uploaded)."""
        with self._lock:
            return self._uploads.get(game_id)

    def serve(
        self, route: str, params: dict[str, str], query: str, headers: dict[str, str], body: bytes, chunked: bool
    ) -> Reply:
        """Answer a ``poll``, ``download``, ``upload`` or other ``s3`` request."""
        if route == "poll":
            return self._serve_poll(params["steam_id"], headers)
        if route == "s3":
            return s3_error(403, "AccessDenied", "Access Denied")
        signature = parse_qs(query).get("X-Amz-Signature", [""])[0]
        method = "PUT" if route == "upload" else "GET"
        with self._lock:
            grant = self._grants.get(signature)
            if grant is None or grant.method != method or grant.path != params["path"]:
                return s3_error(403, "SignatureDoesNotMatch", BAD_SIGNATURE)
            if self._clock() > grant.expires:
                return s3_error(403, "AccessDenied", "Request has expired")
            if method == "GET":
                headers_out = [
                    ("Content-Type", "application/octet-stream"),
                    ("Content-Disposition", f"attachment; filename=(PYDT) Play This One!.{grant.extension}"),
                ]
                return Reply(200, grant.data, headers_out, api=False)
            if chunked:
                return s3_error(
                    501, "NotImplemented", "A header you provided implies functionality that is not implemented"
                )
            if headers.get("content-type") != "application/octet-stream":
                return s3_error(403, "SignatureDoesNotMatch", BAD_SIGNATURE)
            self._uploads[grant.game_id] = (grant.turn, body)
        return Reply(200, b"", [("ETag", etag(body))], api=False)

    def _serve_poll(self, steam_id: str, headers: dict[str, str]) -> Reply:
        with self._lock:
            entry = self._poll.get(steam_id)
        if entry is None:
            return s3_error(403, "AccessDenied", "Access Denied")
        data, tag = entry
        wanted = [value.strip() for value in headers.get("if-none-match", "").split(",")]
        if tag in wanted or "*" in wanted or f"W/{tag}" in wanted:
            return Reply(304, b"", [("ETag", tag)], api=False)
        return Reply(200, data, [("ETag", tag), ("Cache-Control", "no-cache")], api=False)
