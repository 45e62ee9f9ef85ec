"""The errors of the PYDT API client: one base, :class:`PydtError`, and what went wrong.

``user_message`` (and ``str()``) is one line fit for the user; the command line exits with ``exit_code``.
"""

from __future__ import annotations

from pydt_tray.core.errors import EXIT_AUTH, EXIT_NETWORK, PydtTrayError
from pydt_tray.core.limits import megabytes

UNREADABLE_REPLY = "The PYDT service sent a reply pydt-tray could not read."
TOO_SLOW = "The PYDT service did not answer in time. Please try again later."


class PydtError(PydtTrayError):
    """Base of every client error; ``user_message`` (and ``str()``) is one line for the user."""


class AuthError(PydtError):
    """401: the token is wrong or was revoked. Never retried; ask for a new token."""

    exit_code = EXIT_AUTH

    def __init__(self, user_message: str = "") -> None:
        super().__init__(
            user_message
            or "PYDT did not accept your token. It may have been regenerated on the website; please enter it again."
        )


class ApiError(PydtError):
    """The service answered with an error, or with something unreadable.

    ``error_message`` is the service's ``errorMessage`` verbatim (newlines kept).
    """

    def __init__(self, error_message: str, status: int | None = None) -> None:
        super().__init__(" ".join(line.strip() for line in error_message.splitlines() if line.strip()))
        self.status = status
        self.error_message = error_message


class ReplyTooLargeError(ApiError):
    """A reply unpacked to more than the client accepts; nothing of it is used."""

    def __init__(self, limit: int, status: int | None = None) -> None:
        super().__init__(
            f"The PYDT service sent a reply larger than {megabytes(limit)}; pydt-tray ignored it and kept what it had.",
            status,
        )
        self.limit = limit


class NetworkError(PydtError):
    """The service could not be reached or did not answer in time."""

    exit_code = EXIT_NETWORK
