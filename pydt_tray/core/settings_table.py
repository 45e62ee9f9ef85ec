"""The settings table: one row per setting (type, default, section, label, help, limits), the typed
snapshot generated from it, and the checks, parsing and formatting of single values. The file it is kept
in, and who reads and writes it, is :mod:`pydt_tray.core.settings`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args, get_origin, get_type_hints

from pydt_tray.core.errors import EXIT_USAGE, PydtTrayError
from pydt_tray.core.poll_schedule import (
    DOWN_INTERVAL_SECONDS,
    FAST_INTERVAL_SECONDS,
    FAST_WINDOW_SECONDS,
    LIVE_MIN_INTERVAL_SECONDS,
)

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
    _spec("notify_smack_talk", "bool", True, "Notifications", "Tell me about new smack talk",
          "Notify when someone else posts in a game's forum topic (smack talk). Quiet hours, pauses and muted "
          "games apply; reminders never repeat it."),
    _spec("quiet_hours", "str", "", "Notifications", "Quiet hours",
          "No pop-ups or reminders during these hours (local time), e.g. 22:00-07:30, optionally only on some "
          "days: 22:00-07:30 sun-thu. When they end, one notification sums up what is waiting. Empty = off.",
          check=_check_quiet_hours),
    _spec("timer_warnings", "str", "75%, 1h", "Notifications", "Turn timer warnings",
          "In games with a turn timer, warn while it is your turn: at a share of the timer (75%) and/or a time "
          "before it runs out (1h, 30m). Comma-separated; empty = no warnings.", check=_check_timer_warnings),
    _spec("timer_final_warning_in_quiet_hours", "bool", True, "Notifications", "Last timer warning even when quiet",
          "Give the last turn timer warning even during quiet hours or a pause."),
    _spec("poll_interval_seconds", "int", 600, "Connection", "Check for turns every (seconds)",
          "How often the game list is fetched while live updates are connected, as a safety net "
          f"(never more often than every {LIVE_MIN_INTERVAL_SECONDS:g} seconds then). "
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
    notify_smack_talk: bool
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
