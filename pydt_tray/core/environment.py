"""Where to connect: the PYDT API and the live-update (AWS IoT) endpoint. Defaults are production PYDT.

Each value is taken from the first source that has it:

1. environment variables (:data:`ENVIRONMENT_VARIABLES`);
2. the user's settings, when a setting differs from its built-in default;
3. an optional bundled ``pydt_tray/_build_defaults.json`` (written by a release build, never committed);
4. the built-in defaults.

The IoT key pair comes only from the environment or the build defaults, always as a pair from one source,
and never from or into the settings file.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydt_tray.core.errors import PydtTrayError
from pydt_tray.core.logs import register_secret
from pydt_tray.core.settings import Settings
from pydt_tray.core.settings_table import SPECS

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.playyourdamnturn.com"
DEFAULT_STAGE = "prod"
STAGES = ("prod", "dev")
BUILD_DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "_build_defaults.json"

ENVIRONMENT_VARIABLES: tuple[tuple[str, str], ...] = (
    ("PYDT_TRAY_HOME", "keep settings, state, logs and cache in this one folder"),
    ("PYDT_API_URL", f"PYDT API base URL (default {DEFAULT_API_URL})"),
    ("PYDT_STAGE", "prod or dev: which live-update topics to listen on (default prod)"),
    ("PYDT_IOT_ENDPOINT", "live-update (AWS IoT) host name"),
    ("PYDT_IOT_PORT", "live-update port (default 443)"),
    ("PYDT_IOT_REGION", "live-update AWS region (default us-east-1)"),
    ("PYDT_IOT_CA_FILE", "PEM file of certificate authorities to trust for live updates"),
    ("PYDT_IOT_ACCESS_KEY_ID", "access key id for live updates (with the secret below)"),
    ("PYDT_IOT_SECRET_ACCESS_KEY", "secret access key for live updates"),
    ("PYDT_RELEASE_FEED_URL", "release feed asked for the newest version (empty: no update check)"),
)


class EnvironmentConfigError(PydtTrayError, ValueError):
    """An environment variable or build default has a value that cannot be used; the message says which."""


@dataclass(frozen=True)
class Endpoints:
    """The resolved connection targets of one run."""

    api_url: str = DEFAULT_API_URL
    stage: str = DEFAULT_STAGE
    iot_endpoint: str = str(SPECS["iot_endpoint"].default)
    iot_port: int = int(SPECS["iot_port"].default)
    iot_region: str = str(SPECS["iot_region"].default)
    iot_ca_file: str | None = None
    iot_access_key_id: str | None = None
    iot_secret_access_key: str | None = field(default=None, repr=False)

    @property
    def has_push_credentials(self) -> bool:
        return bool(self.iot_access_key_id and self.iot_secret_access_key)

    def topic_for(self, steam_id: str) -> str:
        """The IoT topic on which the service announces turn changes for ``steam_id``."""
        if not steam_id or any(ch in steam_id for ch in "/+#") or not steam_id.isprintable():
            raise ValueError(f"not a usable Steam id for a topic: {steam_id!r}")
        return f"/pydt/{self.stage}/user/{steam_id}/gameupdate"


def load_build_defaults(path: Path = BUILD_DEFAULTS_FILE) -> dict[str, Any]:
    """The bundled defaults, or ``{}`` when there is no file; a broken file is logged and ignored."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        log.warning("Ignoring the bundled defaults %s: %s", path, error)
        return {}
    if not isinstance(data, dict):
        log.warning("Ignoring the bundled defaults %s: not a JSON object", path)
        return {}
    return data


def _changed(value: object, key: str) -> object:
    """The user's ``value`` of setting ``key`` if it differs from the table default, else None."""
    return None if value == SPECS[key].default else value


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _text(value: Any, where: str, *, secret: bool = False) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.isprintable():
        shown = "something else (value hidden)" if secret else repr(value)
        raise EnvironmentConfigError(f"{where}: must be text, got {shown}")
    return value.strip()


def _port(value: Any, where: str) -> int:
    try:
        port = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        port = None
    if port is None or not 1 <= port <= 65535 or (isinstance(value, float) and value != port):
        raise EnvironmentConfigError(f"{where}: must be a port number 1..65535, got {value!r}")
    return port


def _api_url(value: str, where: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError as error:
        raise EnvironmentConfigError(f"{where}: must be an http:// or https:// URL, got {value!r} ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise EnvironmentConfigError(f"{where}: must be an http:// or https:// URL, got {value!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
        raise EnvironmentConfigError(
            f"{where}: plain http:// would send your token unencrypted; use https://, "
            f"or http:// only to this computer (localhost, 127.0.0.1, ::1), got {value!r}"
        )
    return value.rstrip("/")


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` (and its subdomains) and loopback IP addresses, which never leave this machine."""
    name = host.strip().rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _first(*candidates: tuple[Any, str]) -> tuple[Any, str]:
    for value, where in candidates:
        if value is not None and value != "":
            return value, where
    return None, ""


def resolve_endpoints(
    settings: Settings | None = None,
    environ: Mapping[str, str] = os.environ,
    defaults_file: Path = BUILD_DEFAULTS_FILE,
) -> Endpoints:
    """Combine environment, settings, build defaults and built-ins.

    Raises :class:`EnvironmentConfigError` naming the variable (or file key) with a bad value.
    """
    built = load_build_defaults(defaults_file)
    bd = f"{defaults_file.name} key"

    current = settings.snapshot() if settings is not None else None

    def pick(name: str, key: str, user_value: object = None) -> tuple[Any, str]:
        return _first(
            (_env(environ, name), name),
            (_changed(user_value, key) if user_value is not None else None, f"setting '{key}'"),
            (built.get(key), f"{bd} '{key}'"),
        )

    api_value, where = pick("PYDT_API_URL", "api_url")
    api_url = _api_url(_text(api_value, where) or "", where) if api_value is not None else DEFAULT_API_URL

    stage_value, where = pick("PYDT_STAGE", "stage")
    stage = DEFAULT_STAGE
    if stage_value is not None:
        stage = (_text(stage_value, where) or "").lower()
        if stage not in STAGES:
            raise EnvironmentConfigError(f"{where}: must be one of {', '.join(STAGES)}, got {stage_value!r}")

    endpoint_value, where = pick("PYDT_IOT_ENDPOINT", "iot_endpoint", current and current.iot_endpoint)
    port_value, port_where = pick("PYDT_IOT_PORT", "iot_port", current and current.iot_port)
    region_value, region_where = pick("PYDT_IOT_REGION", "iot_region", current and current.iot_region)
    ca_value, ca_where = pick("PYDT_IOT_CA_FILE", "iot_ca_file", current and current.iot_ca_file)
    defaults = Endpoints()

    key_id, secret = _credentials(environ, built, bd)
    register_secret(secret)
    return Endpoints(
        api_url=api_url,
        stage=stage,
        iot_endpoint=_text(endpoint_value, where) or defaults.iot_endpoint,
        iot_port=_port(port_value, port_where) if port_value is not None else defaults.iot_port,
        iot_region=_text(region_value, region_where) or defaults.iot_region,
        iot_ca_file=_text(ca_value, ca_where),
        iot_access_key_id=key_id,
        iot_secret_access_key=secret,
    )


def _credentials(environ: Mapping[str, str], built: dict[str, Any], bd: str) -> tuple[str | None, str | None]:
    """The IoT key pair from the environment, else from the build defaults; half a pair is an error."""
    sources = (
        (
            _env(environ, "PYDT_IOT_ACCESS_KEY_ID"),
            _env(environ, "PYDT_IOT_SECRET_ACCESS_KEY"),
            ("PYDT_IOT_ACCESS_KEY_ID", "PYDT_IOT_SECRET_ACCESS_KEY"),
        ),
        (
            built.get("iot_access_key_id"),
            built.get("iot_secret_access_key"),
            (f"{bd} 'iot_access_key_id'", f"{bd} 'iot_secret_access_key'"),
        ),
    )
    for key_id, secret, (id_name, secret_name) in sources:
        if not key_id and not secret:
            continue
        if not key_id or not secret:
            present, missing = (id_name, secret_name) if key_id else (secret_name, id_name)
            raise EnvironmentConfigError(f"{present} is set but {missing} is not; live updates need both")
        return _text(key_id, id_name), _text(secret, secret_name, secret=True)
    return None, None
