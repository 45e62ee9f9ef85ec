"""What every signed-in command shares: exit codes, one-line failures, the token-to-client plumbing."""

from __future__ import annotations

import sys
from collections.abc import Callable

from pydt_tray.core.errors import EXIT_AUTH, EXIT_FAILURE, EXIT_NETWORK, EXIT_OK, EXIT_USAGE, PydtTrayError

__all__ = ["EXIT_AUTH", "EXIT_FAILURE", "EXIT_NETWORK", "EXIT_OK", "EXIT_USAGE", "Abort", "fail", "run_signed_in"]


def fail(message: str, code: int = EXIT_FAILURE) -> int:
    """Print ``pydt-tray: <message>`` on stderr and return ``code``."""
    print(f"pydt-tray: {message}", file=sys.stderr)
    return code


class Abort(Exception):
    """Leave a command with ``code`` once its message has been printed."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def run_signed_in(ctx, action: Callable[[object], int]) -> int:
    """Load the token, build a client, run ``action(client)`` and map every error to its exit code."""
    from pydt_tray.core.api import ApiError, AuthError, NetworkError

    try:
        token = ctx.token_store().load()
    except PydtTrayError as error:
        return fail(error.user_message, error.exit_code)
    if not token:
        return fail("not signed in: run `pydt-tray login` first", EXIT_AUTH)
    client = ctx.make_client(token)
    try:
        return action(client)
    except Abort as abort:
        return abort.code
    except AuthError:
        return fail("the stored token was refused: run `pydt-tray login` again", EXIT_AUTH)
    except NetworkError as error:
        return fail(f"could not reach the PYDT service: {error.user_message}", EXIT_NETWORK)
    except ApiError as error:
        return fail(error.error_message)  # the service's words, newlines and all
    except PydtTrayError as error:
        return fail(error.user_message, error.exit_code)
    finally:
        client.close()
