"""Moving a turn between PYDT and the save folder: download, submit, archive (docs/pydt-api.md §4.7-4.11, §7.3, §7.5).

Never lose a save: the user's file is only read while it is submitted. It is moved to the archive only
after ``finishSubmit`` succeeded, by :func:`archive_after_submit`, so a crash, a kill or an error at any
step leaves it where the game wrote it. Downloads are checked (HTTP 200, announced size, gzip integrity,
a size cap against decompression bombs) before anything is written, and written atomically.

Service errors surface as the API client's :class:`~pydt_tray.core.api.PydtError` subclasses
(``ApiError.error_message`` is the service's text verbatim); problems found here raise
:class:`TransferError`.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import re
import shutil
import zlib
from pathlib import Path
from urllib.parse import urlsplit

from pydt_tray.core.api import ApiError, NetworkError, Progress, PydtClient
from pydt_tray.core.atomic import write_atomic
from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.models import FIRST_SAVE_HINT, CivGame, Game
from pydt_tray.core.saves import ARCHIVE_DIR_NAME

log = logging.getLogger(__name__)

DOWNLOAD_NAME = "(PYDT) Play This One!.{ext}"  # the name the service gives the file (Content-Disposition)
MAX_SAVE_BYTES = 512 * 1024 * 1024  # no real save comes close; stops a decompression bomb
DECOMPRESS_CHUNK = 1024 * 1024
INPUT_CHUNK = 64 * 1024
MAX_ARCHIVE_NAME = 150
GZIP_MAGIC = b"\x1f\x8b"
LAUNCH_SCHEMES = ("steam", "com.epicgames.launcher")
_EXTENSION = re.compile(r"[A-Za-z0-9_-]{1,32}")


class TransferError(PydtTrayError):
    """A download or submission problem found on this side; ``user_message`` is for the user."""


def download_name(extension: str) -> str:
    """``(PYDT) Play This One!.<ext>``; refuses an extension that is not a plain word."""
    if not _EXTENSION.fullmatch(extension or ""):
        raise TransferError(f"The PYDT service named an unusable save file extension ({extension!r}).")
    return DOWNLOAD_NAME.format(ext=extension)


# --- decompression -----------------------------------------------------------------------------------------


def gunzip_or_raw(data: bytes, max_bytes: int = MAX_SAVE_BYTES) -> bytes:
    """gzip data -> its content (at most ``max_bytes``); data without the gzip magic -> unchanged.

    A truncated or corrupt gzip stream is an error, never taken as a raw save.
    """
    if not data.startswith(GZIP_MAGIC):
        if len(data) > max_bytes:
            raise TransferError(f"The save file is larger than {max_bytes // (1024 * 1024)} MB; pydt-tray refuses it.")
        return bytes(data)
    out = bytearray()
    view = memoryview(data)
    start = 0
    while start < len(view):  # one pass per gzip member
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            while not decompressor.eof:
                tail = decompressor.unconsumed_tail
                if not tail and start < len(view):
                    tail = bytes(view[start : start + INPUT_CHUNK])
                    start += len(tail)
                chunk = decompressor.decompress(tail, DECOMPRESS_CHUNK)
                if chunk:
                    out += chunk
                    if len(out) > max_bytes:
                        raise TransferError(
                            f"The downloaded save unpacks to more than {max_bytes // (1024 * 1024)} MB; "
                            "pydt-tray refuses it."
                        )
                elif not tail:
                    raise TransferError("The downloaded save is incomplete (the compressed data ends early).")
        except zlib.error as error:
            raise TransferError(f"The downloaded save is damaged ({error}).") from error
        rest = decompressor.unused_data + bytes(view[start:])
        if rest and not rest.startswith(GZIP_MAGIC):
            if rest.strip(b"\0"):
                raise TransferError("The downloaded save is damaged (unexpected data after the compressed part).")
            break
        view, start = memoryview(rest), 0
    return bytes(out)


# --- download ----------------------------------------------------------------------------------------------


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

    Turn 1 is refused (its save is uploaded on the website). The presigned URL is used at once.
    Raises ``PydtError`` (service, network, token) or :class:`TransferError`; on any error nothing is written.
    """
    if game.is_first_turn:
        raise TransferError(
            f"{game.display_name} is on its first turn: there is no save to download yet; {FIRST_SAVE_HINT}."
        )
    target = Path(save_dir) / download_name(civ_game.save_extension)
    turn = client.get_turn(game.game_id)
    if turn.size is not None and turn.size > max_bytes:
        raise TransferError(f"The save on the server is too large ({turn.size} bytes); pydt-tray refuses it.")
    try:
        data = client.download(turn.download_url, max_bytes=max_bytes, progress=progress)
    except ApiError as error:
        if error.status == 403:
            raise TransferError(
                "The download link was refused; it may have expired (it is valid for one minute). Please try again."
            ) from error
        raise
    if turn.size is not None and len(data) != turn.size:
        raise TransferError(f"The download was incomplete ({len(data)} of {turn.size} bytes). Please try again.")
    save = gunzip_or_raw(data, max_bytes)
    if not save:
        raise TransferError("The PYDT service sent an empty save file. Please try again later.")
    try:
        write_atomic(target, save, mode=0o644)
    except OSError as error:
        raise TransferError(f"Could not write the save to {target} ({error.strerror or error}).") from error
    log.info("Downloaded turn %s of game %s (%d bytes)", game.game_turn_range_key, game.game_id, len(save))
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
    """The URL that starts the game from ``store`` (steam://, Epic launcher); None if there is none."""
    url = civ_game.run_urls.get(store)
    if not url:
        return None
    scheme = urlsplit(url).scheme.lower()
    if scheme not in LAUNCH_SCHEMES:
        log.warning("Ignoring a launch link with an unexpected scheme %r for %s", scheme, civ_game.id)
        return None
    return url
