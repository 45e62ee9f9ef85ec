"""The one family of errors pydt-tray reports to the user, and the exit codes the command line maps them to.

Every module's error class derives from :class:`PydtTrayError`, so a caller that only wants to show the
problem catches the base and reads ``user_message``; the command line exits with ``exit_code``.
"""

from __future__ import annotations

from typing import ClassVar

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NETWORK = 4


class PydtTrayError(Exception):
    """A problem with a one-line ``user_message`` fit for the user; ``detail`` is extra text for the log.

    ``str()`` is the message followed by the detail in parentheses, when there is one.
    """

    exit_code: ClassVar[int] = EXIT_FAILURE

    def __init__(self, user_message: str, detail: str = "") -> None:
        super().__init__(f"{user_message} ({detail})" if detail else user_message)
        self.user_message = user_message
        self.detail = detail
