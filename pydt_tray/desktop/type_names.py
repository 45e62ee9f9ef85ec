"""The display names of the game types ("Civilization 6"), loaded once per signed-in client."""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydt_tray.core.api import PydtClient
from pydt_tray.core.api_errors import PydtError
from pydt_tray.core.turn import game_type_names

log = logging.getLogger(__name__)

Job = Callable[[], None]


class TypeNamesLoader:
    """``load()`` after each sync: fetches the metadata off the GUI thread unless this client already did."""

    def __init__(
        self,
        client: Callable[[], PydtClient | None],
        deliver: Callable[[dict[str, str]], None],
        *,
        run_in_background: Callable[[Job], None],
        call_soon: Callable[[Job], None],
    ) -> None:
        self._client = client
        self._deliver = deliver
        self._run_in_background = run_in_background
        self._call_soon = call_soon
        self._loaded_by: PydtClient | None = None

    def load(self) -> None:
        client = self._client()
        if client is None or client is self._loaded_by:
            return
        self._loaded_by = client

        def job() -> None:
            try:
                names = game_type_names(client)
            except PydtError as error:
                log.info("Game metadata not loaded yet: %s", error.user_message)
                self._call_soon(self._forget)
                return
            except Exception:  # a bug must not stop later tries
                log.exception("Loading the game metadata failed unexpectedly")
                self._call_soon(self._forget)
                return
            self._call_soon(lambda: self._deliver(names))

        self._run_in_background(job)

    def _forget(self) -> None:
        self._loaded_by = None
