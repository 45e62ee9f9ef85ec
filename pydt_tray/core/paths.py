"""Where pydt-tray keeps its files.

By default the platform's per-user folders (via platformdirs) for the app ``pydt-tray``.
If ``PYDT_TRAY_HOME`` is set (and not empty), everything lives under that one folder instead::

    $PYDT_TRAY_HOME/config/   settings.toml
    $PYDT_TRAY_HOME/state/    state.json
    $PYDT_TRAY_HOME/logs/     pydt-tray.log (+ rotated copies)
    $PYDT_TRAY_HOME/cache/    downloaded data that may be thrown away

That makes a portable install, a second profile or a hermetic test run a single variable away.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from pydt_tray import APP_NAME

HOME_VARIABLE = "PYDT_TRAY_HOME"
SETTINGS_FILE_NAME = "settings.toml"
STATE_FILE_NAME = "state.json"
LOG_FILE_NAME = "pydt-tray.log"


@dataclass(frozen=True)
class AppPaths:
    """The four per-user folders of the app."""

    config_dir: Path
    state_dir: Path
    log_dir: Path
    cache_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / SETTINGS_FILE_NAME

    @property
    def state_file(self) -> Path:
        return self.state_dir / STATE_FILE_NAME

    def all(self) -> tuple[Path, ...]:
        return (self.config_dir, self.state_dir, self.log_dir, self.cache_dir)

    def ensure(self) -> AppPaths:
        """Create the folders that do not exist yet (owner-only, 0700); raises OSError."""
        for folder in self.all():
            if not folder.is_dir():
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self


def app_paths(environ: Mapping[str, str] = os.environ) -> AppPaths:
    """The folders for this run: ``PYDT_TRAY_HOME`` if set, else the platform defaults."""
    home = environ.get(HOME_VARIABLE, "").strip()
    if home:
        root = Path(home).expanduser().absolute()
        return AppPaths(
            config_dir=root / "config",
            state_dir=root / "state",
            log_dir=root / "logs",
            cache_dir=root / "cache",
        )
    return AppPaths(
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        state_dir=Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )
