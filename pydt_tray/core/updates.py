"""The update notice: once a day (and at start) ask a release feed for the newest version.

Never downloads or installs anything. The feed URL is a build-time value (``release_feed_url`` in the bundled
build defaults; an empty value turns the check off); a source install asks the package index's JSON for
``pydt-tray``. ``PYDT_RELEASE_FEED_URL`` overrides both (empty: off). A run pointed at a PYDT service other than
production (the simulator, the demo) does not check unless a feed is given explicitly.

A feed reply is either the package index's JSON (``{"info": {"version", "release_url"|"project_url"}}``) or a
plain ``{"version": ..., "url": ...}``. Offline, an HTTP error or an unreadable reply is logged (at INFO) and
otherwise silent. Each newer version is announced once (``state.updates["notified"]``).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import requests

from pydt_tray import APP_NAME, __version__
from pydt_tray.core.environment import DEFAULT_API_URL, load_build_defaults
from pydt_tray.core.policy import Notification

log = logging.getLogger(__name__)

PACKAGE_INDEX_FEED = "https://pypi.org/pypi/pydt-tray/json"
FEED_VARIABLE = "PYDT_RELEASE_FEED_URL"
CHECK_INTERVAL = 24 * 3600.0
FEED_TIMEOUT = (5.0, 10.0)
MAX_FEED_BYTES = 4 * 1024 * 1024

Fetch = Callable[[str], bytes]


def feed_url(environ: Mapping[str, str], api_url: str = DEFAULT_API_URL, build: Mapping[str, Any] | None = None) -> str:
    """The release feed to ask, or "" when the check is off."""
    if FEED_VARIABLE in environ:
        return environ[FEED_VARIABLE].strip()
    built = load_build_defaults() if build is None else build
    if "release_feed_url" in built:
        value = built["release_feed_url"]
        return value.strip() if isinstance(value, str) else ""
    if api_url.rstrip("/") != DEFAULT_API_URL:
        return ""
    return PACKAGE_INDEX_FEED


@dataclass(frozen=True)
class Release:
    version: str
    url: str


def parse_feed(data: Any) -> Release:
    """The newest release named by a feed reply; ValueError when the reply does not name one."""
    if not isinstance(data, dict):
        raise ValueError("the feed reply is not a JSON object")
    nested = data.get("info")
    info: dict[str, Any] = nested if isinstance(nested, dict) else data
    version = info.get("version")
    if not isinstance(version, str) or version_key(version) is None:
        raise ValueError(f"the feed names no usable version ({version!r})")
    url = ""
    for key in ("url", "release_url", "project_url", "package_url"):
        value = info.get(key)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            url = value
            break
    return Release(version.strip(), url)


_VERSION = re.compile(r"v?(\d+(?:\.\d+)*)(?:[.-]?(a|b|rc|dev)\.?(\d*))?(?:\+.*)?", re.IGNORECASE)
_PRE = {"dev": 0, "a": 1, "b": 2, "rc": 3}


def version_key(text: str) -> tuple[tuple[int, ...], int, int] | None:
    """A sortable key of a version (``1.2``, ``1.2.0rc1``, ``v2.0``); None for anything else."""
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        return None
    numbers = tuple(int(part) for part in match.group(1).split("."))
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers = numbers[:-1]
    if match.group(2):
        return numbers, _PRE[match.group(2).lower()], int(match.group(3) or 0)
    return numbers, 9, 0


def is_newer(candidate: str, current: str) -> bool:
    new, old = version_key(candidate), version_key(current)
    return new is not None and old is not None and new > old


def http_fetch(url: str) -> bytes:
    """GET ``url`` (no cookies, no netrc), at most :data:`MAX_FEED_BYTES`; raises OSError or requests errors."""
    headers = {"User-Agent": f"{APP_NAME}/{__version__}", "Accept": "application/json"}
    with requests.Session() as session:
        session.trust_env = False
        with session.get(url, headers=headers, timeout=FEED_TIMEOUT, stream=True) as reply:
            reply.raise_for_status()
            data = reply.raw.read(MAX_FEED_BYTES + 1, decode_content=True)
    if len(data) > MAX_FEED_BYTES:
        raise ValueError("the feed reply is too large")
    return bytes(data)


class UpdateCheck:
    """Asks the feed when due and remembers the answer. State: ``state.updates``.

    :meth:`check` blocks (run it off the UI thread); :meth:`due`, :meth:`available` and :meth:`notification`
    are cheap.
    """

    def __init__(
        self,
        store: MutableMapping[str, Any],
        *,
        url: str,
        enabled: Callable[[], bool],
        current_version: str = __version__,
        fetch: Fetch = http_fetch,
        clock: Callable[[], float] = time.time,
        interval: float = CHECK_INTERVAL,
    ) -> None:
        self._store = store
        self.url = url
        self._enabled = enabled
        self.current_version = current_version
        self._fetch = fetch
        self._clock = clock
        self._interval = interval
        self._started = False

    def due(self) -> bool:
        """At start (once per run), then once per interval; never when off or without a feed."""
        if not self.url or not self._enabled():
            return False
        if not self._started:
            return True
        last = self._store.get("checked_at")
        if isinstance(last, bool) or not isinstance(last, (int, float)):
            return True
        return self._clock() - last >= self._interval

    def check(self) -> Release | None:
        """Ask the feed now; the newer release, or None (also when offline or the reply is bad)."""
        self._started = True
        self._store["checked_at"] = self._clock()
        try:
            release = parse_feed(json.loads(self._fetch(self.url)))
        except (OSError, ValueError, requests.RequestException) as error:
            log.info("Update check against %s failed: %s", self.url, error)
            return None
        log.info("Update check: newest version %s, this is %s", release.version, self.current_version)
        self._store["latest"] = {"version": release.version, "url": release.url}
        return release if is_newer(release.version, self.current_version) else None

    def available(self) -> Release | None:
        """The newer release known from the last successful check, or None."""
        latest = self._store.get("latest")
        if not isinstance(latest, dict) or not self._enabled():
            return None
        version, url = latest.get("version"), latest.get("url")
        if not isinstance(version, str) or not is_newer(version, self.current_version):
            return None
        return Release(version, url if isinstance(url, str) else "")

    def notification(self) -> Notification | None:
        """The notice of a newer version, once per version."""
        release = self.available()
        if release is None or self._store.get("notified") == release.version:
            return None
        self._store["notified"] = release.version
        body = f"You have {self.current_version}. Nothing is downloaded: get it from the release page."
        if release.url:
            body += f" {release.url}"
        return Notification(f"{APP_NAME} {release.version} is available", body, (), False, "update", release.url)
