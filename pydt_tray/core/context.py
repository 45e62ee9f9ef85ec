"""Everything a run of pydt-tray reads at start: paths, settings, state, endpoints, the token store."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydt_tray import __version__
from pydt_tray.core.api import PydtClient
from pydt_tray.core.credentials import TokenStore
from pydt_tray.core.environment import Endpoints, resolve_endpoints
from pydt_tray.core.paths import AppPaths, app_paths
from pydt_tray.core.settings import Settings
from pydt_tray.core.state import State

log = logging.getLogger(__name__)

PLAINTEXT_TOKEN_FILE = "token.plaintext"


@dataclass
class AppContext:
    paths: AppPaths
    settings: Settings
    state: State
    endpoints: Endpoints
    problems: list[str] = field(default_factory=list)

    def token_store(self, *, allow_plaintext: bool = False) -> TokenStore:
        plaintext = self.paths.config_dir / PLAINTEXT_TOKEN_FILE
        return TokenStore(plaintext_path=plaintext, allow_plaintext=allow_plaintext or plaintext.exists())

    def make_client(self, token: str | None) -> PydtClient:
        return PydtClient(
            self.endpoints.api_url,
            token,
            user_agent=f"pydt-tray/{__version__}",
            poll_url=self.state.poll_url,
            poll_etag=self.state.poll_etag,
        )


def load_context(environ: Mapping[str, str] = os.environ) -> AppContext:
    """Read settings and state (reporting, never raising, on broken files) and resolve endpoints.

    Raises ``ValueError`` only for a bad environment variable, which the caller reports and exits on.
    """
    paths = app_paths(environ)
    paths.ensure()
    settings, settings_problems = Settings.load(paths.config_dir / "settings.toml")
    state, state_problems = State.load(paths.state_dir / "state.json")
    endpoints = resolve_endpoints(settings, environ)
    problems = [*settings_problems, *state_problems]
    for problem in problems:
        log.warning("%s", problem)
    return AppContext(paths, settings, state, endpoints, problems)
