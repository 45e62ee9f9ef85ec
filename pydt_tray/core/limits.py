"""Bounds on what the service (or a file on disk) can make pydt-tray unpack and parse.

:class:`StreamDecoder` unpacks ``gzip`` / ``deflate`` (or passes plain bytes) piece by piece as they arrive,
counting what it produces, and stops as soon as the total passes its limit: a small compressed reply can never
grow into gigabytes in memory. :func:`loads_json` parses JSON and turns the valid-but-hostile cases
(``1e400``, ``NaN``, nesting deeper than any real document) into :class:`UnsafeJsonError`, a ``ValueError``.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

MAX_JSON_BYTES = 16 * 1024 * 1024  # far above any real PYDT reply (a big game list is a few hundred KB)
MAX_JSON_DEPTH = 64  # a PYDT document is at most about 6 levels deep
GZIP_MAGIC = b"\x1f\x8b"
OUTPUT_PIECE = 1024 * 1024  # unpack at most this much per step, whatever one compressed piece expands to
IDENTITY = ("", "identity")
GZIP = ("gzip", "x-gzip")
DEFLATE = ("deflate",)


class LimitExceededError(Exception):
    """More bytes than allowed came (or would come) out of a stream."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


class DecodeError(ValueError):
    """Compressed data that is damaged, incomplete or in an encoding pydt-tray did not ask for."""


class UnsafeJsonError(ValueError):
    """Text that is not JSON pydt-tray can safely use; the message says why."""


def megabytes(limit: int) -> str:
    """``16 MB``: a limit as people read it."""
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} bytes"


class StreamDecoder:
    """Decode one HTTP ``Content-Encoding`` (or a gzip file) incrementally, never producing more than ``limit``.

    ``feed`` yields the decoded bytes of a new piece (at most ``OUTPUT_PIECE`` at a time, so a consumer that
    writes them out never holds more); ``finish`` yields any rest and checks that the stream is complete.
    Several gzip members in a row are joined (as gzip itself does); zero bytes after the last member are
    ignored (some storage pads files); anything else after it is an error.
    """

    def __init__(self, encoding: str, limit: int) -> None:
        name = encoding.strip().lower()
        if name in IDENTITY:
            self._kind = "identity"
        elif name in GZIP:
            self._kind = "gzip"
        elif name in DEFLATE:
            self._kind = "deflate"
        else:
            raise DecodeError(f"unsupported content encoding {encoding!r}")
        self.limit = limit
        self.produced = 0
        self._decompressor: Any = None
        self._between = b""  # after a finished gzip member: the start of what follows
        self._padding = False
        self._deflate_started = False
        self._deflate_head = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data:
            return
        if self._kind == "identity":
            yield self._count(bytes(data))
        elif self._kind == "deflate":
            yield from self._feed_deflate(bytes(data))
        else:
            yield from self._feed_gzip(bytes(data))

    def finish(self) -> Iterator[bytes]:
        if self._kind == "identity":
            return
        if self._kind == "deflate":
            if not self._deflate_started and self._deflate_head:
                yield from self._start_deflate(self._deflate_head)
            elif not self._deflate_started:
                return
            if self._decompressor is None or not self._decompressor.eof:
                raise DecodeError("the compressed data ends early")
            return
        if self._decompressor is not None:
            raise DecodeError("the compressed data ends early")
        if self._between.strip(b"\0") and not self._padding:
            raise DecodeError("unexpected data after the compressed part")

    # --- internals ---------------------------------------------------------------------------------------

    def _count(self, out: bytes) -> bytes:
        self.produced += len(out)
        if self.produced > self.limit:
            raise LimitExceededError(self.limit)
        return out

    def _drain(self, data: bytes) -> Iterator[bytes]:
        """Push ``data`` through the current decompressor, a bounded piece at a time, stopping one byte past
        the limit."""
        decompressor = self._decompressor
        while True:
            room = min(OUTPUT_PIECE, self.limit - self.produced + 1)
            try:
                out = decompressor.decompress(data, room)
            except zlib.error as error:
                raise DecodeError(f"damaged compressed data ({error})") from error
            if out:
                yield self._count(out)
            data = decompressor.unconsumed_tail
            if decompressor.eof or (not data and len(out) < room):
                break

    def _feed_gzip(self, data: bytes) -> Iterator[bytes]:
        while data:
            if self._padding:
                if data.strip(b"\0"):
                    raise DecodeError("unexpected data after the compressed part")
                break
            if self._decompressor is None:
                data, self._between = self._between + data, b""
                if len(data) < len(GZIP_MAGIC) and GZIP_MAGIC.startswith(data):
                    self._between = data  # maybe the start of another member: wait for more
                    break
                if not data.startswith(GZIP_MAGIC):
                    if data.strip(b"\0"):
                        raise DecodeError("unexpected data after the compressed part")
                    self._padding = True
                    break
                self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            yield from self._drain(data)
            if not self._decompressor.eof:
                break
            data = self._decompressor.unused_data
            self._decompressor = None

    def _feed_deflate(self, data: bytes) -> Iterator[bytes]:
        if self._deflate_started:
            if self._decompressor.eof:
                if data.strip(b"\0"):
                    raise DecodeError("unexpected data after the compressed part")
                return
            yield from self._drain(data)
            return
        self._deflate_head += data
        if len(self._deflate_head) < 2:
            return
        head, self._deflate_head = self._deflate_head, b""
        yield from self._start_deflate(head)

    def _start_deflate(self, head: bytes) -> Iterator[bytes]:
        """HTTP "deflate" is meant to be zlib-wrapped, but some servers send raw deflate: tell by the header."""
        self._deflate_started = True
        wrapped = len(head) >= 2 and (head[0] & 0x0F) == 8 and ((head[0] << 8) | head[1]) % 31 == 0
        self._decompressor = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        yield from self._drain(head)


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise UnsafeJsonError(f"the number {text[:40]} is too large")
    return value


def _no_constant(name: str) -> Any:
    raise UnsafeJsonError(f"{name} is not a JSON number")


def _check_depth(value: Any, max_depth: int) -> None:
    """Walk the parsed document without recursion; too deep is an error (later code may recurse)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            raise UnsafeJsonError(f"the document is nested more than {max_depth} levels deep")
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def loads_json(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that raises :class:`UnsafeJsonError` (a ``ValueError``) for anything it cannot use:
    broken JSON, bad UTF-8, infinite or NaN numbers, integers too long to convert, or nesting deeper than
    ``max_depth``."""
    try:
        value = json.loads(data, parse_float=_finite_float, parse_constant=_no_constant)
    except UnsafeJsonError:
        raise
    except RecursionError:
        raise UnsafeJsonError(f"the document is nested more than {max_depth} levels deep") from None
    except (ValueError, OverflowError) as error:  # JSONDecodeError, UnicodeDecodeError, int digit limit
        raise UnsafeJsonError(str(error)) from None
    _check_depth(value, max_depth)
    return value
