"""The state of the push side as a value: which push paths run, which of them are live, and why not.

The app holds one :class:`PushState`; the presenters word it (``pydt_tray/desktop/presenter.py``). Each
push path (the IoT connection today, a relay later) has its own :class:`PathState`; the app is live when
any path is live, and polls faster while none is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace


class PushPath(enum.Enum):
    IOT = "iot"
    RELAY = "relay"


class PathMode(enum.Enum):
    CONNECTING = "connecting"  # started, never connected yet
    LIVE = "live"  # connected and subscribed
    RECONNECTING = "reconnecting"  # was connecting or live, lost it, retrying on its own
    FAILED = "failed"  # could not start (a bad setting, a missing file): ``reason`` says why


class PushMode(enum.Enum):
    """The overall mode, from the paths: the best one wins."""

    OFF = "off"  # no push path configured: polling only
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    FAILED = "failed"


@dataclass(frozen=True)
class PathState:
    path: PushPath
    mode: PathMode
    reason: str = ""


@dataclass(frozen=True)
class PushState:
    paths: tuple[PathState, ...] = ()

    @property
    def live_paths(self) -> tuple[PushPath, ...]:
        return tuple(p.path for p in self.paths if p.mode is PathMode.LIVE)

    @property
    def live(self) -> bool:
        return bool(self.live_paths)

    @property
    def mode(self) -> PushMode:
        modes = {p.mode for p in self.paths}
        for mode in (PathMode.LIVE, PathMode.RECONNECTING, PathMode.CONNECTING, PathMode.FAILED):
            if mode in modes:
                return PushMode(mode.value)
        return PushMode.OFF

    @property
    def reason(self) -> str:
        """Why no path is live: the first failed path's reason ("" when live or simply off)."""
        if self.live:
            return ""
        return next((p.reason for p in self.paths if p.reason), "")

    def path(self, path: PushPath) -> PathState | None:
        return next((p for p in self.paths if p.path is path), None)

    def with_path(self, path: PushPath, mode: PathMode, reason: str = "") -> PushState:
        """This state with ``path`` set to ``mode`` (added when it was not running)."""
        new = PathState(path, mode, reason)
        if self.path(path) is None:
            return replace(self, paths=(*self.paths, new))
        return replace(self, paths=tuple(new if p.path is path else p for p in self.paths))

    def without(self, path: PushPath) -> PushState:
        return replace(self, paths=tuple(p for p in self.paths if p.path is not path))


OFF = PushState()
