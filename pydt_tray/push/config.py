"""What the push connection needs to know, and what it tells its listener."""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydt_tray.core.errors import PydtTrayError

CLIENT_ID_PREFIX = "pydt-tray-"
MAX_CLIENT_ID_LENGTH = 128
PROTOCOLS = ("mqtt5", "mqtt311")
MIN_KEEPALIVE_SECONDS = 5
MAX_KEEPALIVE_SECONDS = 65535
MAX_PING_TIMEOUT_MS = 30_000
MACHINE_PART_LENGTH = 8
MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))

_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]")


class PushConfigError(PydtTrayError, ValueError):
    """The push settings cannot work; the message says which one and why."""


@dataclass(frozen=True, kw_only=True)
class PushConfig:
    """Where and how to connect. The secret never appears in ``repr``."""

    endpoint: str
    port: int
    region: str
    ca_file: str | None
    access_key_id: str
    secret_access_key: str = field(repr=False)
    keepalive_seconds: int = 600
    client_id: str
    topic: str
    extra_topics: tuple[str, ...] = ()  # the topics of the other signed-in accounts, on the same connection
    protocol: str = "mqtt5"
    min_reconnect_seconds: float = 1.0  # the first wait after a loss (jittered down to half of it)
    max_reconnect_seconds: float = 30.0  # no wait is ever longer
    stable_connection_seconds: float = 2.0  # a shorter connection is a "quick kick": the waits keep growing

    def __post_init__(self) -> None:
        problems = list(_problems(self))
        if problems:
            raise PushConfigError("invalid push settings: " + "; ".join(problems))

    @property
    def topics(self) -> tuple[str, ...]:
        """Every topic subscribed to, each once, ``topic`` first."""
        return tuple(dict.fromkeys((self.topic, *self.extra_topics)))

    @property
    def ping_timeout_ms(self) -> int:
        """How long to wait for a PINGRESP: 30 s, or less when the keepalive is shorter (it must stay >= 1 s above)."""
        return min(MAX_PING_TIMEOUT_MS, (self.keepalive_seconds - 1) * 1000)


def _problems(config: PushConfig) -> list[str]:
    found = []
    if not config.endpoint or any(ch.isspace() for ch in config.endpoint):
        found.append(f"endpoint {config.endpoint!r} is not a host name")
    if not isinstance(config.port, int) or not 0 < config.port < 65536:
        found.append(f"port {config.port!r} is not between 1 and 65535")
    if not config.region:
        found.append("region is empty")
    if config.ca_file is not None and not config.ca_file:
        found.append("ca_file is empty (use None for the system trust store)")
    if not config.access_key_id or not config.secret_access_key:
        found.append("the access key id and secret must both be set")
    if not isinstance(config.keepalive_seconds, int) or not (
        MIN_KEEPALIVE_SECONDS <= config.keepalive_seconds <= MAX_KEEPALIVE_SECONDS
    ):
        found.append(f"keepalive {config.keepalive_seconds!r} s is not between 5 and 65535")
    if not config.client_id or len(config.client_id) > MAX_CLIENT_ID_LENGTH:
        found.append(f"client id must have 1 to {MAX_CLIENT_ID_LENGTH} characters")
    for topic in config.topics:
        if not topic or any(ch in topic for ch in "#+\0"):
            found.append(f"topic {topic!r} must be a plain topic name (no wildcards)")
    if config.protocol not in PROTOCOLS:
        found.append(f"protocol {config.protocol!r} is not one of {', '.join(PROTOCOLS)}")
    if not 0 < config.min_reconnect_seconds <= config.max_reconnect_seconds:
        found.append("reconnect delays must satisfy 0 < min <= max")
    if not config.stable_connection_seconds >= 0:
        found.append("stable_connection_seconds must not be negative")
    return found


def new_install_id() -> str:
    """A fresh random id for this installation (store it; feed it to :func:`make_client_id`)."""
    return secrets.token_hex(16)


def _windows_machine_guid() -> str:
    if sys.platform != "win32":
        return ""
    try:
        import winreg

        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography") as key:
            value, _ = winreg.QueryValueEx(key, "MachineGuid")
        return str(value)
    except OSError:
        return ""


def machine_part(id_files: Sequence[Path] = MACHINE_ID_FILES) -> str:
    """A short, stable tag of this computer (never of the home folder, which may be synced between machines).

    The OS machine id where there is one (``/etc/machine-id``, Windows' MachineGuid), else the host name and
    hardware address; only a hash of it is used.
    """
    raw = ""
    for path in id_files:
        try:
            raw = path.read_text(encoding="ascii", errors="replace").strip()
        except OSError:
            continue
        if raw:
            break
    if not raw:
        raw = _windows_machine_guid()
    if not raw:
        import uuid  # the last resort only: uuid loads a C library for the hardware address

        raw = f"{socket.gethostname()}/{uuid.getnode():012x}"
    return hashlib.sha256(("pydt-tray machine\0" + raw).encode()).hexdigest()[:MACHINE_PART_LENGTH]


def make_client_id(install_id: str, machine: str | None = None) -> str:
    """The MQTT client id of this installation on this computer: a fixed prefix, the install id and a
    per-machine part (so one home folder synced between two computers does not make them kick each other
    off the broker); MQTT-safe and <= 128 chars. ``machine`` defaults to :func:`machine_part`."""
    cleaned = _UNSAFE_ID_CHARS.sub("", install_id or "")
    if not cleaned:
        raise PushConfigError(f"install id {install_id!r} has no usable characters")
    tag = _UNSAFE_ID_CHARS.sub("", machine if machine is not None else machine_part()) or "0"
    tag = tag[:MACHINE_PART_LENGTH]
    room = MAX_CLIENT_ID_LENGTH - len(CLIENT_ID_PREFIX) - len(tag) - 1
    return f"{CLIENT_ID_PREFIX}{cleaned[:room]}-{tag}"


class PushListener(Protocol):
    """Receives what the connection sees. Every method runs on a CRT thread: be quick, never block."""

    def on_push_message(self, topic: str, payload: bytes) -> None:
        """A message arrived on the subscribed topic."""

    def on_push_connected(self, session_present: bool) -> None:
        """Connected (again) and the subscription is in place."""

    def on_push_disconnected(self, reason: str) -> None:
        """A connection dropped or a connection attempt failed; retries continue on their own."""

    def on_push_stopped(self) -> None:
        """Stopped for good; nothing else is delivered after this."""
