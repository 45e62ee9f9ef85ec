"""Moving a turn between PYDT and the save folder: download, submit, archive (docs/pydt-api.md §4.7-4.11, §7.3, §7.5).

Never lose a save: the user's file is only read while it is submitted. It is moved to the archive only
after ``finishSubmit`` succeeded, by :func:`archive_after_submit`, so a crash, a kill or an error at any
step leaves it where the game wrote it. Downloads are checked (HTTP 200, announced size, gzip integrity,
a size cap against decompression bombs) and unpacked straight into a temporary file next to the target
(:class:`SaveWriter`), which replaces the target only once all of it arrived intact.

Service errors surface as the API client's :class:`~pydt_tray.core.api_errors.PydtError` subclasses
(``ApiError.error_message`` is the service's text verbatim); problems found here raise
:class:`TransferError`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from pydt_tray.core.api import Progress, PydtClient
from pydt_tray.core.api_errors import ApiError, NetworkError
from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.limits import DecodeError, LimitExceededError, StreamDecoder
from pydt_tray.core.models import FIRST_SAVE_HINT, CivGame, Game
from pydt_tray.core.saves import ARCHIVE_DIR_NAME, SAVE_EXTENSIONS, SaveFolderError, refuse_forbidden_folder

log = logging.getLogger(__name__)

DOWNLOAD_NAME = "(PYDT) Play This One!.{ext}"  # the name the service gives the file (Content-Disposition)
MAX_SAVE_BYTES = 128 * 1024 * 1024  # the largest real saves are a few tens of MB; stops a decompression bomb
MAX_ARCHIVE_NAME = 150
GZIP_MAGIC = b"\x1f\x8b"
LAUNCH_SCHEMES = ("steam", "com.epicgames.launcher")
_EXTENSION = re.compile(r"[A-Za-z0-9_-]{1,32}")


class TransferError(PydtTrayError):
    """A download or submission problem found on this side; ``user_message`` is for the user."""


def download_name(extension: str) -> str:
    """``(PYDT) Play This One!.<ext>``; only the save extensions of the known game types are accepted."""
    if not _EXTENSION.fullmatch(extension or "") or extension.lower() not in {e.lower() for e in SAVE_EXTENSIONS}:
        raise TransferError(
            f"The PYDT service named a save file extension pydt-tray does not know ({extension!r}); "
            "it only writes the save files of the games it supports."
        )
    return DOWNLOAD_NAME.format(ext=extension)


# --- decompression -----------------------------------------------------------------------------------------


# --- download ----------------------------------------------------------------------------------------------


class SaveWriter:
    """Writes a download to an open file as it arrives: gzip data is unpacked on the way (several members
    joined, zero padding after them ignored), anything else is written as it is; never more than
    ``max_bytes`` of save."""

    def __init__(self, write: Callable[[bytes], object], max_bytes: int) -> None:
        self._write = write
        self._max_bytes = max_bytes
        self._head = b""
        self._decoder: StreamDecoder | None = None
        self._gzip = False
        self.received = 0

    @property
    def written(self) -> int:
        return self._decoder.produced if self._decoder is not None else 0

    def __call__(self, data: bytes) -> None:
        self.received += len(data)
        if self._decoder is None:
            self._head += data
            if len(self._head) < len(GZIP_MAGIC):
                return
            data, self._head = self._head, b""
            self._gzip = data.startswith(GZIP_MAGIC)
            self._decoder = StreamDecoder("gzip" if self._gzip else "identity", self._max_bytes)
        self._put(lambda decoder: decoder.feed(data))

    def finish(self) -> None:
        if self._decoder is None:
            head, self._head = self._head, b""
            self._decoder = StreamDecoder("identity", self._max_bytes)
            self._put(lambda decoder: decoder.feed(head))
        self._put(lambda decoder: decoder.finish())

    def _put(self, step: Callable[[StreamDecoder], Iterator[bytes]]) -> None:
        assert self._decoder is not None
        try:
            for piece in step(self._decoder):
                self._write(piece)
        except LimitExceededError as error:
            size = f"{error.limit // (1024 * 1024)} MB"
            if self._gzip:
                raise TransferError(f"The downloaded save unpacks to more than {size}; pydt-tray refuses it.") from None
            raise TransferError(f"The save file is larger than {size}; pydt-tray refuses it.") from None
        except DecodeError as error:
            if "ends early" in str(error):
                raise TransferError("The downloaded save is incomplete (the compressed data ends early).") from None
            raise TransferError(f"The downloaded save is damaged ({error}).") from None


def _receive(client: PydtClient, url: str, sink: SaveWriter, max_bytes: int, progress: Progress | None) -> None:
    """Stream the download into ``sink``; a client without streaming hands over the whole body at once."""
    download_into = getattr(client, "download_into", None)
    if download_into is not None:
        download_into(url, sink, max_bytes=max_bytes, progress=progress)
    else:
        sink(client.download(url, max_bytes=max_bytes, progress=progress))


def download_turn(
    client: PydtClient,
    game: Game,
    civ_game: CivGame,
    save_dir: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    max_bytes: int = MAX_SAVE_BYTES,
) -> Path:
    """Fetch the current turn's save and write it as ``save_dir/(PYDT) Play This One!.<ext>``.

    Turn 1 is refused (its save is uploaded on the website). The presigned URL is used at once. The save
    is unpacked straight into a temporary file next to the target (never held whole in memory) and renamed
    over it only when complete and checked. Raises ``PydtError`` (service, network, token) or
    :class:`TransferError`; on any error nothing is written.
    """
    if game.is_first_turn:
        raise TransferError(
            f"{game.display_name} is on its first turn: there is no save to download yet; {FIRST_SAVE_HINT}."
        )
    target = Path(save_dir) / download_name(civ_game.save_extension)
    try:
        refuse_forbidden_folder(target.parent)
    except SaveFolderError as error:
        raise TransferError(error.user_message) from None
    turn = client.get_turn(game.game_id)
    if turn.size is not None and turn.size > max_bytes:
        raise TransferError(f"The save on the server is too large ({turn.size} bytes); pydt-tray refuses it.")
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as error:
        raise TransferError(f"Could not write the save to {target} ({error.strerror or error}).") from error
    try:
        with os.fdopen(fd, "wb") as handle:
            sink = SaveWriter(handle.write, max_bytes)
            try:
                _receive(client, turn.download_url, sink, max_bytes, progress)
            except ApiError as error:
                if error.status == 403:
                    raise TransferError(
                        "The download link was refused; it may have expired (it is valid for one minute). "
                        "Please try again."
                    ) from error
                raise
            if turn.size is not None and sink.received != turn.size:
                raise TransferError(
                    f"The download was incomplete ({sink.received} of {turn.size} bytes). Please try again."
                )
            sink.finish()
            if not sink.written:
                raise TransferError("The PYDT service sent an empty save file. Please try again later.")
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o644)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise TransferError(f"Could not write the save to {target} ({error.strerror or error}).") from error
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    log.info("Downloaded turn %s of game %s (%d bytes)", game.game_turn_range_key, game.game_id, sink.written)
    return target


# --- submit ------------------------------------------------------------------------------------------------


def read_save(save_file: str | os.PathLike[str], max_bytes: int = MAX_SAVE_BYTES) -> bytes:
    """The save's bytes; :class:`TransferError` if it cannot be read, is empty or is too large."""
    path = Path(save_file)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise TransferError(f"{path.name} is larger than {max_bytes // (1024 * 1024)} MB; it cannot be a save.")
        data = path.read_bytes()
    except OSError as error:
        raise TransferError(f"Could not read the save {path} ({error.strerror or error}).") from error
    if not data:
        raise TransferError(f"{path.name} is empty; the game may still be writing it. Please try again.")
    return data


def submit_turn(
    client: PydtClient,
    game_id: str,
    save_file: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    upload_attempts: int = 2,
) -> Game:
    """Upload the save and end the turn: gzip, startSubmit, PUT, finishSubmit. Returns the updated game.

    A failed PUT is retried (up to ``upload_attempts`` in all) with a fresh URL from startSubmit. The file
    is never moved or changed here. Raises ``PydtError`` (``ApiError.error_message`` is the service's
    text, verbatim) or :class:`TransferError`.
    """
    import gzip  # only when a turn is submitted

    body = gzip.compress(read_save(save_file), compresslevel=6)
    for attempt in range(1, max(1, upload_attempts) + 1):
        put_url = client.start_submit(game_id)
        try:
            client.upload(put_url, body, progress)
            break
        except (NetworkError, ApiError) as error:
            status = getattr(error, "status", None)
            retryable = isinstance(error, NetworkError) or status in (403, 500, 502, 503, 504)
            if attempt >= upload_attempts or not retryable:
                raise
            log.info("Upload attempt %d failed (%s); retrying with a new upload link", attempt, error)
    game = client.finish_submit(game_id)
    log.info("Submitted game %s; now turn %s", game_id, game.game_turn_range_key)
    return game


# --- archive -----------------------------------------------------------------------------------------------


def sanitize_name(name: str, limit: int = MAX_ARCHIVE_NAME) -> str:
    """A file name that stays inside its folder: no separators, no "..", no control characters, bounded."""
    cleaned = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]', "_", name)
    cleaned = cleaned.strip(" .")
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    if not cleaned:
        cleaned = "save"
    if len(cleaned) > limit:
        stem, dot, suffix = cleaned.rpartition(".")
        if dot and 0 < len(suffix) <= 32:
            cleaned = stem[: limit - len(suffix) - 1].rstrip(" .") + "." + suffix
        else:
            cleaned = cleaned[:limit].rstrip(" .")
    return cleaned or "save"


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    counter = 2
    while target.exists() or target.is_symlink():
        target = folder / (f"{stem} ({counter}).{suffix}" if dot else f"{stem} ({counter})")
        counter += 1
    return target


def prune_archive(archive: Path, keep: int, protect: Path | None = None) -> list[Path]:
    """Delete the oldest plain files (by ctime) until at most ``keep`` remain; returns what was deleted.

    ``protect`` (the newest archived save) is deleted only when ``keep`` is 0.
    """
    try:
        entries = [entry for entry in os.scandir(archive) if entry.is_file(follow_symlinks=False)]
    except OSError as error:
        log.warning("Could not list the save archive %s: %s", archive, error)
        return []

    def age(entry: os.DirEntry[str]) -> tuple[int, int, int, str]:
        stat = entry.stat(follow_symlinks=False)
        newest = 1 if protect is not None and entry.name == protect.name else 0
        return (newest, stat.st_ctime_ns, stat.st_mtime_ns, entry.name)

    try:
        ordered = sorted(entries, key=age)
    except OSError as error:
        log.warning("Could not read the save archive %s: %s", archive, error)
        return []
    deleted: list[Path] = []
    for entry in ordered[: max(0, len(ordered) - max(0, keep))]:
        try:
            os.unlink(entry.path)
            deleted.append(Path(entry.path))
        except OSError as error:
            log.warning("Could not delete the archived save %s: %s", entry.path, error)
    return deleted


def archive_after_submit(
    game_id: str,
    save_file: str | os.PathLike[str],
    save_dir: str | os.PathLike[str],
    archive_count: int,
    *,
    extension: str | None = None,
) -> Path:
    """After a successful finishSubmit only: move the save to ``save_dir/pydt-archive/<id8>_<name>``,
    prune the archive to ``archive_count`` files and delete the downloaded turn file.

    The file is moved, never overwriting an archived save. Returns the archived path.
    Raises :class:`TransferError` if the move fails (the save then stays where it was).
    """
    source = Path(save_file)
    folder = Path(save_dir)
    archive = folder / ARCHIVE_DIR_NAME
    name = sanitize_name(f"{sanitize_name(game_id[:8], 8)}_{source.name}")
    try:
        archive.mkdir(parents=True, exist_ok=True)
        target = _free_name(archive, name)
        shutil.move(os.fspath(source), os.fspath(target))
    except OSError as error:
        raise TransferError(
            f"The turn was submitted, but {source.name} could not be moved to the archive "
            f"({error.strerror or error}); it was left where it is."
        ) from error
    prune_archive(archive, archive_count, protect=target)
    ext = extension if extension is not None else source.suffix.lstrip(".")
    if ext:
        downloaded = DOWNLOAD_NAME.format(ext=ext).lower()
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                if entry.name.lower() == downloaded and entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
    return target


def launch_url(civ_game: CivGame, store: str) -> str | None:
    """The URL that starts the game from ``store`` (``steam://``, the Epic launcher); None if there is none.

    Anything else (a file, a web page, another program's scheme, text with spaces or control characters)
    is ignored: the metadata is not trusted to choose what the OS opens.
    """
    url = civ_game.run_urls.get(store)
    if not url:
        return None
    scheme = urlsplit(url).scheme.lower()
    plain = url.isprintable() and not any(ch.isspace() for ch in url)
    if scheme not in LAUNCH_SCHEMES or not url.lower().startswith(f"{scheme}://") or not plain:
        log.warning("Ignoring a launch link with an unexpected scheme %r or form for %s", scheme, civ_game.id)
        return None
    return url
