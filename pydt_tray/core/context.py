"""Everything a run of pydt-tray reads at start: paths, settings, state, endpoints, the token store."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydt_tray import __version__
from pydt_tray.core.accounts import AccountBook
from pydt_tray.core.api import PydtClient
from pydt_tray.core.credentials import TokenStore
from pydt_tray.core.environment import Endpoints, resolve_endpoints
from pydt_tray.core.paths import AppPaths, app_paths
from pydt_tray.core.settings import Settings
from pydt_tray.core.state import State

PLAINTEXT_TOKEN_FILE = "token.plaintext"


@dataclass
class AppContext:
    paths: AppPaths
    settings: Settings
    state: State
    endpoints: Endpoints
    problems: list[str] = field(default_factory=list)
    environ: dict[str, str] = field(default_factory=dict)
    account: str | None = None  # the Steam id a command works for (``--account``); None: the only one

    def refresh_endpoints(self) -> Endpoints:
        """Resolve the endpoints again after a setting changed (same environment as at start)."""
        self.endpoints = resolve_endpoints(self.settings, self.environ)
        return self.endpoints

    def token_store(self, *, allow_plaintext: bool = False) -> TokenStore:
        plaintext = self.paths.config_dir / PLAINTEXT_TOKEN_FILE
        return TokenStore(plaintext_path=plaintext, allow_plaintext=allow_plaintext or plaintext.exists())

    def make_client(self, token: str | None, steam_id: str | None = None) -> PydtClient:
        """A client for ``token``; with ``steam_id`` it starts from that account's cached pollUrl and ETag."""
        known = self.state.accounts.get(steam_id) if steam_id else None
        poll_url = known.poll_url if known is not None else (None if steam_id else self.state.poll_url)
        poll_etag = known.poll_etag if known is not None else (None if steam_id else self.state.poll_etag)
        return PydtClient(
            self.endpoints.api_url,
            token,
            user_agent=f"pydt-tray/{__version__}",
            poll_url=poll_url,
            poll_etag=poll_etag,
        )

    def account_book(self) -> AccountBook:
        return AccountBook(self.paths.config_dir)


def load_context(environ: Mapping[str, str] = os.environ) -> AppContext:
    """Read settings and state (reporting, never raising, on broken files) and resolve endpoints.

    Raises ``ValueError`` for a bad environment variable and ``OSError`` for folders that cannot be
    created; the caller reports either and exits. Problems with the files are returned in ``problems``.
    """
    paths = app_paths(environ)
    paths.ensure()
    settings, settings_problems = Settings.load(paths.settings_file)
    state, state_problems = State.load(paths.state_file)
    endpoints = resolve_endpoints(settings, environ)
    problems = [*settings_problems, *state_problems]
    return AppContext(paths, settings, state, endpoints, problems, dict(environ))
