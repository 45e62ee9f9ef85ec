"""User settings: one declarative table drives validation, the CLI ``config`` command and the settings window.

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
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from pydt_tray.core.atomic import write_atomic
from pydt_tray.core.errors import EXIT_USAGE, PydtTrayError
from pydt_tray.core.poll_schedule import DOWN_INTERVAL_SECONDS, FAST_INTERVAL_SECONDS, FAST_WINDOW_SECONDS

try:
    import fcntl
except ImportError:  # Windows: the atomic replace alone
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
Listener = Callable[[str, Any], None]
# the fetch interval in a long push outage, whatever the setting says
POLL_WHILE_PUSH_DOWN_SECONDS = int(DOWN_INTERVAL_SECONDS)


class SettingsError(PydtTrayError, ValueError):
    """A value a setting does not accept; the message names the key and what is allowed."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True, kw_only=True)
class SettingSpec:
    """One row of the settings table."""

    key: str
    kind: str
    default: Any
    label: str
    help: str
    section: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    required: bool = False  # str only: must not be empty
    check: Callable[[str], object] | None = None  # str only: raises ValueError (the reason) for a bad text

    def allowed(self) -> str:
        """What the setting accepts, in words (used in error messages and the CLI)."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "int":
            return f"a whole number {self.minimum}..{self.maximum}"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "path":
            return "a folder or file path (empty = automatic)"
        return "non-empty text" if self.required else "text"


def _spec(key: str, kind: str, default: Any, section: str, label: str, help: str, **extra: Any) -> SettingSpec:
    return SettingSpec(key=key, kind=kind, default=default, section=section, label=label, help=help, **extra)


def _check_quiet_hours(text: str) -> object:
    from pydt_tray.core.quiet import parse_quiet_hours

    return parse_quiet_hours(text)


def _check_timer_warnings(text: str) -> object:
    from pydt_tray.core.timers import parse_timer_warnings

    return parse_timer_warnings(text)


# fmt: off
SETTINGS: tuple[SettingSpec, ...] = (
    _spec("notifications_enabled", "bool", True, "Notifications", "Show notifications",
          "Pop up a desktop notification when it becomes your turn."),
    _spec("reminder_minutes", "int", 120, "Notifications", "Remind me every (minutes)",
          "While a turn stays waiting for you, notify again after this many minutes. 0 turns reminders off.",
          minimum=0, maximum=1440),
    _spec("quiet_hours", "str", "", "Notifications", "Quiet hours",
          "No pop-ups or reminders during these hours (local time), e.g. 22:00-07:30, optionally only on some "
          "days: 22:00-07:30 sun-thu. When they end, one notification sums up what is waiting. Empty = off.",
          check=_check_quiet_hours),
    _spec("timer_warnings", "str", "75%, 1h", "Notifications", "Turn timer warnings",
          "In games with a turn timer, warn while it is your turn: at a share of the timer (75%) and/or a time "
          "before it runs out (1h, 30m). Comma-separated; empty = no warnings.", check=_check_timer_warnings),
    _spec("timer_final_warning_in_quiet_hours", "bool", True, "Notifications", "Last timer warning even when quiet",
          "Give the last turn timer warning even during quiet hours or a pause."),
    _spec("poll_interval_seconds", "int", 300, "Connection", "Check for turns every (seconds)",
          "How often the game list is fetched while live updates are connected, as a safety net. "
          f"While live updates are down, the list is checked every {FAST_INTERVAL_SECONDS:g} seconds for "
          f"{FAST_WINDOW_SECONDS / 60:g} minutes, then every {POLL_WHILE_PUSH_DOWN_SECONDS} seconds.",
          minimum=60, maximum=3600),
    _spec("iot_keepalive_seconds", "int", 600, "Connection", "Live update keep-alive (seconds)",
          "How often the live-update connection pings the server when nothing else is sent.",
          minimum=30, maximum=1200),
    _spec("mqtt_protocol", "choice", "mqtt5", "Connection", "Live update protocol",
          "MQTT version spoken to the live-update server. Try mqtt311 if a server or proxy rejects MQTT 5.",
          choices=("mqtt5", "mqtt311")),
    _spec("iot_endpoint", "str", "a21s639tnrshxf-ats.iot.us-east-1.amazonaws.com", "Connection",
          "Live update server", "Host name of the AWS IoT endpoint that announces new turns.", required=True),
    _spec("iot_port", "int", 443, "Connection", "Live update port",
          "TCP port of the live-update server (secure websockets).", minimum=1, maximum=65535),
    _spec("iot_region", "str", "us-east-1", "Connection", "Live update region",
          "AWS region the live-update server belongs to (part of the request signature).", required=True),
    _spec("iot_ca_file", "path", "", "Connection", "Trusted certificates file",
          "A PEM file of certificate authorities to trust for the live-update server. Empty uses the system's."),
    _spec("start_hidden", "bool", False, "Startup", "Start in the tray",
          "Start with only the tray icon, without opening the games window."),
    _spec("start_at_login", "bool", False, "Startup", "Start when I log in",
          "Start pydt-tray automatically when you log in to your computer."),
    _spec("launch_game", "bool", True, "Turns", "Start the game after downloading",
          "After a turn is downloaded, start the game so you can play it right away."),
    _spec("auto_download", "bool", False, "Turns", "Download turns automatically",
          "Download the save as soon as it is your turn, without waiting for a click."),
    _spec("auto_submit", "bool", False, "Turns", "Submit turns automatically",
          "Upload your save as soon as the game writes it at the end of your turn."),
    _spec("archive_count", "int", 100, "Turns", "Saves to keep in the archive",
          "How many submitted saves are kept as a backup. 0 keeps none.", minimum=0, maximum=10000),
    _spec("save_dir_civ6", "path", "", "Games", "Civilization VI save folder",
          "Where Civilization VI keeps hotseat saves. Empty finds it automatically."),
    _spec("save_dir_civ7", "path", "", "Games", "Civilization VII save folder",
          "Where Civilization VII keeps hotseat saves. Empty finds it automatically."),
    _spec("save_dir_civ5", "path", "", "Games", "Civilization V save folder",
          "Where Civilization V keeps hotseat saves. Empty finds it automatically."),
    _spec("save_dir_beyond_earth", "path", "", "Games", "Beyond Earth save folder",
          "Where Civilization: Beyond Earth keeps hotseat saves. Empty finds it automatically."),
    _spec("save_dir_old_world", "path", "", "Games", "Old World save folder",
          "Where Old World keeps play-by-cloud saves. Empty finds it automatically."),
    _spec("store_civ6", "choice", "auto", "Games", "Civilization VI store",
          "Which store's copy of Civilization VI to start: auto, steam or epic.", choices=("auto", "steam", "epic")),
    _spec("store_old_world", "choice", "auto", "Games", "Old World store",
          "Which store's copy of Old World to start: auto, steam or epic.", choices=("auto", "steam", "epic")),
    _spec("check_updates", "bool", True, "Startup", "Tell me about new versions",
          "Once a day, ask the release feed for the newest version and say when there is a newer one. "
          "Nothing is ever downloaded or installed."),
    _spec("turn_api_enabled", "bool", False, "Turn API", "Local turn API",
          "Answer 'is it my turn?' questions from other programs on this computer (127.0.0.1 only)."),
    _spec("turn_api_port", "int", 47821, "Turn API", "Local turn API port",
          "TCP port of the local turn API.", minimum=1024, maximum=65535),
)
# fmt: on
SPECS: dict[str, SettingSpec] = {spec.key: spec for spec in SETTINGS}
SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(spec.section for spec in SETTINGS))

Store = Literal["auto", "steam", "epic"]
_KIND_TYPES: dict[str, type] = {"bool": bool, "int": int, "str": str, "path": str}


@dataclass(frozen=True)
class SettingsSnapshot:
    """Every setting at one moment, typed. Field names, order and types are checked against :data:`SETTINGS`.

    Path settings are text; an empty one means "find it automatically".
    """

    notifications_enabled: bool
    reminder_minutes: int
    quiet_hours: str
    timer_warnings: str
    timer_final_warning_in_quiet_hours: bool
    poll_interval_seconds: int
    iot_keepalive_seconds: int
    mqtt_protocol: Literal["mqtt5", "mqtt311"]
    iot_endpoint: str
    iot_port: int
    iot_region: str
    iot_ca_file: str
    start_hidden: bool
    start_at_login: bool
    launch_game: bool
    auto_download: bool
    auto_submit: bool
    archive_count: int
    save_dir_civ6: str
    save_dir_civ7: str
    save_dir_civ5: str
    save_dir_beyond_earth: str
    save_dir_old_world: str
    store_civ6: Store
    store_old_world: Store
    check_updates: bool
    turn_api_enabled: bool
    turn_api_port: int

    def per_game(self, prefix: str, game_id: str) -> str | None:
        """The text of ``<prefix>_<game id>`` (``save_dir_civ6``, ``store_old_world``...); None for a game
        without such a setting."""
        value = getattr(self, game_setting_key(prefix, game_id), None)
        return value if isinstance(value, str) else None


def game_setting_key(prefix: str, game_id: str) -> str:
    """``save_dir_civ6``, ``store_old_world``...: the name of a per-game setting."""
    return f"{prefix}_{game_id.lower()}"


def _snapshot_mismatches() -> list[str]:
    """Where :class:`SettingsSnapshot` and the table disagree (empty when they match)."""
    hints = get_type_hints(SettingsSnapshot)
    names = [field.name for field in fields(SettingsSnapshot)]
    if names != list(SPECS):
        return [f"fields {names} differ from the table keys {list(SPECS)}"]
    problems = []
    for name in names:
        spec, hint = SPECS[name], hints[name]
        if spec.kind == "choice":
            if get_origin(hint) is not Literal or get_args(hint) != spec.choices:
                problems.append(f"{name}: {hint} does not list the choices {spec.choices}")
        elif hint is not _KIND_TYPES[spec.kind]:
            problems.append(f"{name}: {hint} is not the type of kind {spec.kind!r}")
    return problems


if _snapshot_mismatches():  # pragma: no cover - a programming error caught by every test run
    raise RuntimeError("SettingsSnapshot is out of step with SETTINGS: " + "; ".join(_snapshot_mismatches()))

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def spec_for(key: str) -> SettingSpec:
    """The row of ``key``; :class:`SettingsError` listing the known keys if there is none."""
    try:
        return SPECS[key]
    except KeyError:
        raise SettingsError(f"unknown setting '{key}'; known settings: {', '.join(SPECS)}") from None


def _fail(spec: SettingSpec, value: Any) -> SettingsError:
    return SettingsError(f"key '{spec.key}': must be {spec.allowed()}, got {value!r}")


def validate(spec: SettingSpec, value: Any) -> Any:
    """``value`` if ``spec`` accepts it (typed, no conversion), else :class:`SettingsError`."""
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise _fail(spec, value)
    elif spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(spec, value)
        if (spec.minimum is not None and value < spec.minimum) or (spec.maximum is not None and value > spec.maximum):
            raise _fail(spec, value)
    elif spec.kind == "choice":
        if value not in spec.choices:
            raise _fail(spec, value)
    else:  # str, path
        if not isinstance(value, str) or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise _fail(spec, value)
        if spec.required and not value.strip():
            raise _fail(spec, value)
        if spec.check is not None:
            try:
                spec.check(value)
            except ValueError as error:
                raise SettingsError(f"key '{spec.key}': {error}, got {value!r}") from None
    return value


def parse_value(spec: SettingSpec, text: str) -> Any:
    """Turn command-line text into a validated value of the setting's type."""
    stripped = text.strip()
    if spec.kind == "bool":
        lowered = stripped.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise SettingsError(f"key '{spec.key}': must be true/false (or yes/no, on/off, 1/0), got {text!r}")
    if spec.kind == "int":
        try:
            number = int(stripped, 10)
        except ValueError:
            raise _fail(spec, text) from None
        return validate(spec, number)
    if spec.kind == "choice":
        for choice in spec.choices:
            if stripped.lower() == choice.lower():
                return choice
        raise _fail(spec, text)
    return validate(spec, stripped)


def format_value(spec: SettingSpec, value: Any) -> str:
    """A value as a user would type it (``true``, ``300``, ``mqtt5``, a path)."""
    if spec.kind == "bool":
        return "true" if value else "false"
    return str(value)


# --- TOML writing (scalars only) ---------------------------------------------------------------------------

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
