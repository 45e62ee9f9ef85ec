"""What every signed-in command shares: exit codes, one-line failures, the token-to-client plumbing."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

from pydt_tray.core.errors import EXIT_AUTH, EXIT_FAILURE, EXIT_NETWORK, EXIT_OK, EXIT_USAGE, PydtTrayError

__all__ = [
    "EXIT_AUTH",
    "EXIT_FAILURE",
    "EXIT_NETWORK",
    "EXIT_OK",
    "EXIT_USAGE",
    "Abort",
    "KeyringTimeoutError",
    "chosen_account",
    "fail",
    "load_token_waiting",
    "run_for_game",
    "run_signed_in",
]

log = logging.getLogger("pydt_tray")

KEYRING_NOTICE_SECONDS = 1.0  # after this, say that the keyring is probably showing its password prompt
KEYRING_GIVE_UP_SECONDS = 120.0  # then stop waiting for it


def fail(message: str, code: int = EXIT_FAILURE) -> int:
    """Print ``pydt-tray: <message>`` on stderr and return ``code``."""
    print(f"pydt-tray: {message}", file=sys.stderr)
    return code


class Abort(Exception):
    """Leave a command with ``code`` once its message has been printed."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class KeyringTimeoutError(PydtTrayError):
    """The system keyring did not answer (its password prompt stayed open) within the time allowed."""


def load_token_waiting(
    load: Callable[[], Any],
    *,
    notice_after: float | None = None,
    give_up_after: float | None = None,
    say: Callable[[str], None] | None = None,
) -> Any:
    """``load()`` (reading the token), telling the user after ``notice_after`` seconds that the keyring is
    probably asking for its password, and raising :class:`KeyringTimeoutError` after ``give_up_after``.

    The keyring call runs on a daemon thread: one that never returns cannot keep the program alive.
    """
    notice_after = KEYRING_NOTICE_SECONDS if notice_after is None else notice_after
    give_up_after = KEYRING_GIVE_UP_SECONDS if give_up_after is None else give_up_after
    say = say or (lambda text: print(f"pydt-tray: {text}", file=sys.stderr, flush=True))
    done = threading.Event()
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["value"] = load()
        except BaseException as error:  # handed to the waiting thread
            result["error"] = error
        finally:
            done.set()

    threading.Thread(target=work, name="keyring-read", daemon=True).start()
    if not done.wait(notice_after):
        say("the system keyring is asking for its password (look for its window) ...")
        if not done.wait(max(0.0, give_up_after - notice_after)):
            log.warning("the system keyring did not answer within %.0f s", give_up_after)
            raise KeyringTimeoutError(
                f"the system keyring did not answer within {give_up_after:.0f} seconds: unlock it "
                "(or answer its password prompt) and try again"
            )
    if "error" in result:
        raise result["error"]
    return result.get("value")


class AccountChoiceError(PydtTrayError):
    """Several accounts are signed in and the command needs to know which one."""

    exit_code = EXIT_USAGE


def chosen_account(ctx) -> str | None:
    """The Steam id a command works for: ``--account``, or the only account (None when there is none).

    Raises AccountChoiceError when several accounts are signed in and none was named, or an unknown one was."""
    from pydt_tray.accounts_cli import migrate_legacy

    migrate_legacy(ctx, quiet=False)
    accounts = ctx.account_book().accounts()
    ids = [account.steam_id for account in accounts]
    if ctx.account is not None:
        if ctx.account not in ids:
            raise AccountChoiceError(f"no signed-in account has the Steam id {ctx.account} (`pydt-tray accounts`)")
        return str(ctx.account)
    if len(ids) > 1:
        listed = ", ".join(f"{a.steam_id} ({a.name})" for a in accounts)
        raise AccountChoiceError(f"several accounts are signed in: choose one with --account STEAM_ID: {listed}")
    return ids[0] if ids else None


def run_for_game(ctx, game_id: str, action: Callable[[object], int]) -> int:
    """:func:`run_signed_in` with the account ``game_id`` belongs to: with several accounts and no
    ``--account``, the one whose turn it is (else the first that has the game)."""
    if ctx.account is None and len(accounts := ctx.account_book().accounts()) > 1:
        having: list[tuple[bool, str]] = []
        for account in accounts:

            def probe(client, steam_id: str = account.steam_id) -> int:
                game = next((g for g in client.get_games() if g.game_id == game_id), None)
                if game is not None:
                    having.append((game.is_your_turn(steam_id), steam_id))
                return EXIT_OK

            ctx.account = account.steam_id
            code = run_signed_in(ctx, probe)
            if code != EXIT_OK:
                return code
        mine = [steam_id for its_turn, steam_id in having if its_turn] or [steam_id for _, steam_id in having]
        ctx.account = mine[0] if mine else None
        if ctx.account is None:
            return fail(f"no game {game_id!r} among the active games of your accounts (`pydt-tray games`)")
    return run_signed_in(ctx, action)


def run_signed_in(ctx, action: Callable[[object], int]) -> int:
    """Load the token, build a client, run ``action(client)`` and map every error to its exit code."""
    from pydt_tray.core.api_errors import ApiError, AuthError, NetworkError
    from pydt_tray.core.credentials import NoSecureBackendError

    try:
        steam_id = chosen_account(ctx)
        book = ctx.account_book()
        # no account yet: a token an earlier version stored that could not be moved (service unreachable)
        token = load_token_waiting(lambda: book.load(steam_id) if steam_id else book.legacy_token())
    except NoSecureBackendError:  # no keyring at all: nothing can have been stored there
        return fail("not signed in (no system keyring holds a token): run `pydt-tray login` first", EXIT_AUTH)
    except PydtTrayError as error:
        return fail(error.user_message, error.exit_code)
    if not token:
        return fail("not signed in: run `pydt-tray login` first", EXIT_AUTH)
    client = ctx.make_client(token, steam_id)
    try:
        return action(client)
    except Abort as abort:
        return abort.code
    except AuthError:
        return fail("the stored token was refused: run `pydt-tray login` again", EXIT_AUTH)
    except NetworkError as error:
        return fail(error.user_message, EXIT_NETWORK)  # it already says what could not be reached
    except ApiError as error:
        return fail(error.error_message)  # the service's words, newlines and all
    except PydtTrayError as error:
        return fail(error.user_message, error.exit_code)
    finally:
        client.close()
