"""User settings: one declarative table (:mod:`pydt_tray.core.settings_table`) drives validation, the CLI
``config`` command and the settings window; this module keeps them in a file.

The file is ``settings.toml`` in the config folder: ``version = 1`` first, then one ``key = value`` line per
setting, grouped by section with a comment naming each setting. Secrets never go here.

A file with problems (bad syntax, invalid values, unknown keys) is never dropped silently: it is copied to
``settings.toml.bad-<timestamp>``, every problem is reported, bad keys fall back to their defaults and the
cleaned file is written back.

Several processes share the file (the running app, ``pydt-tray config set``): :meth:`Settings.save` re-reads
it under a lock and writes back only the keys this process changed, so nobody undoes another's change, and
:meth:`Settings.reload` takes in changes made by others (the app calls it when the file changes).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydt_tray.core.atomic import write_atomic
from pydt_tray.core.settings_table import (
    SECTIONS,
    SETTINGS,
    SPECS,
    SettingsError,
    SettingsSnapshot,
    format_value,
    spec_for,
    validate,
)

try:
    import fcntl
except ImportError:  # Windows: the atomic replace alone
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
Listener = Callable[[str, Any], None]


_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(text: str) -> str:
    """A TOML basic string with every character that needs it escaped."""
    out = []
    for ch in text:
        if ch in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[ch])
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return toml_string(str(value))


def render_toml(values: dict[str, Any]) -> str:
    """The settings file text for ``values`` (every key of the table, grouped by section)."""
    lines = [
        "# pydt-tray settings. `pydt-tray config` lists and checks them; bad values fall back to defaults.",
        f"version = {SETTINGS_VERSION}",
    ]
    for section in SECTIONS:
        lines += ["", f"# --- {section} ---"]
        for spec in SETTINGS:
            if spec.section == section:
                lines.append(f"# {spec.label} ({spec.allowed()}; default {_toml_value(spec.default)})")
                lines.append(f"{spec.key} = {_toml_value(values.get(spec.key, spec.default))}")
    return "\n".join(lines) + "\n"


# --- migrations --------------------------------------------------------------------------------------------


def _from_unversioned(data: dict[str, Any]) -> dict[str, Any]:
    """A file without ``version`` (hand-written) uses the version-1 keys."""
    return {**data, "version": 1}


# version N -> function turning a version-N document into a version N+1 document
Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: dict[int, Migration] = {0: _from_unversioned}


def migrate(data: dict[str, Any], migrations: dict[int, Migration] | None = None) -> tuple[dict[str, Any], int]:
    """Apply migrations until the document is at :data:`SETTINGS_VERSION`; returns (data, original version)."""
    steps = MIGRATIONS if migrations is None else migrations
    version = data.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise SettingsError(f"key 'version': must be a whole number, got {version!r}")
    if version > SETTINGS_VERSION:
        raise SettingsError(
            f"key 'version': the file was written by a newer pydt-tray (version {version}, "
            f"this one knows {SETTINGS_VERSION}); known settings are read, the rest is ignored"
        )
    original = version
    while version < SETTINGS_VERSION:
        data = steps[version](data)
        version = data["version"]
    return data, original


# --- the settings object -----------------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$|\s*\(at end of document\)$")


def _describe_toml_error(name: str, error: tomllib.TOMLDecodeError) -> str:
    text = str(error)
    match = _TOML_POSITION.search(text)
    message = text[: match.start()] if match else text
    message = message[:1].lower() + message[1:]
    if match and match.group(1):
        return f"{name} line {match.group(1)}: {message} (column {match.group(2)}); all settings use their defaults"
    return f"{name}: {message} (at the end of the file); all settings use their defaults"


def backup_name(path: Path) -> Path:
    """A free ``<name>.bad-<timestamp>`` next to ``path``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.bad-{stamp}")
    counter = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bad-{stamp}-{counter}")
        counter += 1
    return candidate


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive between processes for a read-merge-write of ``path`` (a lock on its folder, no extra file)."""
    if fcntl is None:
        yield
        return
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class Settings:
    """The current settings; thread-safe get/set, listeners notified on changes."""

    def __init__(self, path: str | Path | None = None, values: dict[str, Any] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.version = SETTINGS_VERSION
        self._values = {spec.key: spec.default for spec in SETTINGS}
        for key, value in (values or {}).items():
            self._values[key] = validate(spec_for(key), value)
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._on_disk = dict(self._values)  # the file's values as last read or written
        self._changed: set[str] = set()  # keys set here since then: the only ones a save writes

    @classmethod
    def load(cls, path: str | Path) -> tuple[Settings, list[str]]:
        """Read ``path``; returns the settings and human-readable problems (empty when all is well)."""
        settings = cls(path)
        file = settings.path
        assert file is not None
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            return settings, []
        except OSError as error:
            return settings, [
                f"{file.name}: cannot be read ({error.strerror or error}); all settings use their defaults"
            ]
        problems = settings._apply_document(file.name, raw)
        settings._on_disk = settings.values()
        if problems:
            problems.append(settings._keep_backup_and_rewrite(file))
        return settings, problems

    def _apply_document(self, name: str, raw: bytes) -> list[str]:
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            return [f"{name}: not UTF-8 text (byte {error.start}); all settings use their defaults"]
        except tomllib.TOMLDecodeError as error:
            return [_describe_toml_error(name, error)]
        except RecursionError:  # valid TOML nested thousands of levels deep: no setting looks like that
            return [f"{name}: nested too deeply to be a settings file; all settings use their defaults"]
        problems: list[str] = []
        try:
            data, _ = migrate(data)
        except SettingsError as error:
            problems.append(str(error))
        except Exception as error:  # a migration that chokes on odd content must not stop the app
            problems.append(f"{name}: could not be upgraded ({error}); all settings use their defaults")
            return problems
        for key, value in data.items():
            if key == "version":
                continue
            if key not in SPECS:
                problems.append(f"key '{key}': unknown setting, ignored")
                continue
            try:
                self._values[key] = validate(SPECS[key], value)
            except SettingsError as error:
                problems.append(f"{error}; using the default {format_value(SPECS[key], SPECS[key].default)}")
        return problems

    def _keep_backup_and_rewrite(self, file: Path) -> str:
        backup = backup_name(file)
        try:
            shutil.copy2(file, backup)
        except OSError as error:
            return f"{file.name}: could not keep a backup ({error.strerror or error}); the file was left unchanged"
        try:
            self.save(merge=False)
        except OSError as error:
            return (
                f"{file.name}: the original was kept as {backup.name}; rewriting it failed ({error.strerror or error})"
            )
        return f"{file.name}: the original was kept as {backup.name} and the file was rewritten with valid values"

    def snapshot(self) -> SettingsSnapshot:
        """Every setting, typed, as it is now; read a named setting with ``settings.snapshot().<key>``."""
        with self._lock:
            return SettingsSnapshot(**self._values)

    def get(self, key: str) -> Any:
        """The value of ``key`` when the key itself is data (the settings window, ``pydt-tray config``).

        Code that reads a setting it knows by name uses :meth:`snapshot`, which is typed.
        """
        spec_for(key)
        with self._lock:
            return self._values[key]

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    def set(self, key: str, value: Any) -> Any:
        """Validate and store ``value``; listeners hear about it when it changed. Does not save."""
        spec = spec_for(key)
        value = validate(spec, value)
        with self._lock:
            changed = self._values[key] != value
            self._values[key] = value
            self._changed.add(key)
        if changed:
            self._notify({key: value})
        return value

    def _notify(self, changes: dict[str, Any]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for key, value in changes.items():
            for listener in listeners:
                try:
                    listener(key, value)
                except Exception:
                    log.exception("A settings listener failed for %s", key)

    def reset(self, key: str) -> Any:
        """Back to the default."""
        return self.set(key, spec_for(key).default)

    def values(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._values)

    def add_listener(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def save(self, *, merge: bool = True) -> None:
        """Merge into the file: re-read it under a lock, put in the keys set here, write it atomically (0600).

        Keys another process changed meanwhile are kept (and taken in here). Raises OSError for the caller.
        """
        if self.path is None:
            raise OSError("these settings have no file")
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock, _file_lock(self.path):
            merged = self._read_file() if merge else dict(self._values)
            if merged is None:
                merged = dict(self._on_disk)
            for key in self._changed:
                merged[key] = self._values[key]
            write_atomic(self.path, render_toml(merged), mode=0o600)
            self._on_disk = merged
            self._changed.clear()
            taken_in = {key: value for key, value in merged.items() if self._values[key] != value}
            self._values.update(taken_in)
        self._notify(taken_in)

    def reload(self) -> list[str]:
        """Take in what another process changed in the file; returns the keys whose value changed here.

        Keys set here and not saved yet keep their value. An unreadable file changes nothing.
        """
        if self.path is None:
            return []
        with self._lock:
            on_disk = self._read_file()
            if on_disk is None:
                return []
            taken_in = {
                key: value
                for key, value in on_disk.items()
                if key not in self._changed and self._values[key] != value and self._on_disk.get(key) != value
            }
            self._on_disk = on_disk
            self._values.update(taken_in)
        if taken_in:
            log.info("Settings changed in %s: %s", self.path, ", ".join(sorted(taken_in)))
        self._notify(taken_in)
        return sorted(taken_in)

    def _read_file(self) -> dict[str, Any] | None:
        """Every setting as the file has it (defaults for absent keys; a bad value keeps the last good one);
        None when the file cannot be read or parsed."""
        assert self.path is not None
        values = {spec.key: spec.default for spec in SETTINGS}
        try:
            data = tomllib.loads(self.path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            return values
        except OSError as error:  # a write to the same place reports it
            log.info("%s could not be read (%s)", self.path.name, error)
            return None
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            log.warning("%s could not be read (%s); settings unchanged", self.path.name, error)
            return None
        with contextlib.suppress(SettingsError):  # a newer file: its known keys are read as they are
            data, _ = migrate(data)
        for key, value in data.items():
            if key in SPECS:
                try:
                    values[key] = validate(SPECS[key], value)
                except SettingsError as error:
                    log.warning("%s: %s; keeping %s", self.path.name, error, self._on_disk.get(key))
                    values[key] = self._on_disk.get(key, values[key])
        return values
