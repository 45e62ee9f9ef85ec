"""``pydt-tray login``, ``accounts`` and ``logout``: the signed-in accounts, one keyring entry each."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from typing import Any

from pydt_tray.cli_common import EXIT_AUTH, EXIT_NETWORK, EXIT_OK, EXIT_USAGE, fail

log = logging.getLogger("pydt_tray")


def add_account_commands(commands: Any) -> None:
    login = commands.add_parser(
        "login", help="add a PYDT account: check its token and keep it in the system keyring (replaces its old one)"
    )
    login.add_argument("--token-stdin", action="store_true", help="read the token from standard input")
    login.add_argument(
        "--plaintext-file",
        action="store_true",
        help="if no secure keyring exists, store the token in a file readable only by you (not encrypted)",
    )
    logout = commands.add_parser("logout", help="remove an account and its token (the only one, or STEAM_ID)")
    logout.add_argument("steam_id", nargs="?", metavar="STEAM_ID", help="the account to remove")
    logout.add_argument("--all", action="store_true", help="remove every account")
    accounts = commands.add_parser("accounts", help="list the signed-in accounts (never their tokens)")
    accounts.add_argument("--json", action="store_true", help="print JSON instead of a table")


def read_token(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().strip()
    if not sys.stdin.isatty():
        raise ValueError("no terminal to ask for the token: use --token-stdin")
    return getpass.getpass("PYDT client token (from your profile page on the website): ").strip()


def migrate_legacy(ctx: Any, *, quiet: bool = True) -> None:
    """A token kept by a single-account version moves to its account's own entry (needs one call to the
    service to learn whose it is). Nothing is lost when that fails: the old entry stays for next time.

    Not ``quiet``: a keyring that is locked or does not answer raises (CredentialError, KeyringTimeoutError)."""
    from pydt_tray.cli_common import load_token_waiting
    from pydt_tray.core.api_errors import AuthError
    from pydt_tray.core.credentials import NoSecureBackendError
    from pydt_tray.core.errors import PydtTrayError

    book = ctx.account_book()
    try:
        token = load_token_waiting(book.legacy_token)
    except NoSecureBackendError:
        return
    except PydtTrayError:
        if not quiet:
            raise
        return
    if not token:
        return
    client = ctx.make_client(token)
    try:
        user = client.get_current_user()
        book.adopt_legacy(user.steam_id, user.display_name, token)
    except AuthError:
        log.warning("The token kept by an earlier version was refused: it is removed")
        book.drop_legacy()
    except PydtTrayError as error:
        log.warning("The token kept by an earlier version could not be moved yet: %s", error.user_message)
    finally:
        client.close()


def cmd_login(ctx: Any, args: argparse.Namespace) -> int:
    from pydt_tray.core.api_errors import AuthError, NetworkError
    from pydt_tray.core.errors import PydtTrayError
    from pydt_tray.core.logs import register_secret

    try:
        token = read_token(args.token_stdin)
    except (ValueError, EOFError, KeyboardInterrupt) as error:
        return fail(str(error) or "no token given", EXIT_USAGE)
    if not token:
        return fail("no token given", EXIT_USAGE)
    register_secret(token)
    client = ctx.make_client(token)
    try:
        user = client.get_current_user()
    except AuthError:
        log.warning("Sign-in failed: the PYDT service refused the token")  # never the token itself
        return fail("the PYDT service refused this token (copy it again from your profile page)", EXIT_AUTH)
    except NetworkError as error:
        log.warning("Sign-in failed: %s", error.user_message)
        return fail(error.user_message, EXIT_NETWORK)  # it already says what could not be reached
    except PydtTrayError as error:
        log.warning("Sign-in failed: %s", error.user_message)
        return fail(error.user_message, error.exit_code)
    finally:
        client.close()
    book = ctx.account_book()
    known = book.get(user.steam_id) is not None
    try:
        store = book.add(user.steam_id, user.display_name, token, allow_plaintext=args.plaintext_file)
    except PydtTrayError as error:
        log.warning("Sign-in checked, but the token could not be stored: %s", error)
        return fail(error.user_message, error.exit_code)
    except OSError as error:
        return fail(f"the token is stored, but the list of accounts could not be written: {error}")
    migrate_legacy(ctx)
    log.info("Signed in as %s (%s)", user.display_name, user.steam_id)
    if store.is_plaintext:
        print(
            "warning: no secure keyring was found; the token is stored UNENCRYPTED in a file only you can read",
            file=sys.stderr,
        )
    again = " (its token was replaced)" if known else ""
    print(f"Signed in as {user.display_name}{again}")
    return EXIT_OK


def cmd_accounts(ctx: Any, args: argparse.Namespace) -> int:
    migrate_legacy(ctx)
    book = ctx.account_book()
    accounts = book.accounts()
    if book.problem:
        print(f"pydt-tray: {book.problem}", file=sys.stderr)
    rows = []
    for account in accounts:
        known = ctx.state.accounts.get(account.steam_id)
        rows.append({"steamId": account.steam_id, "name": account.name, "push": (known.push if known else "") or "-"})
    if args.json:
        print(json.dumps({"accounts": rows}, indent=2))
        return EXIT_OK
    if not rows:
        print("No account is signed in: run `pydt-tray login`.")
        return EXIT_OK
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        print(f"{row['name']:<{width}}  {row['steamId']}  {row['push']}")
    return EXIT_OK


def cmd_logout(ctx: Any, args: argparse.Namespace) -> int:
    from pydt_tray.core.accounts import UnknownAccountError
    from pydt_tray.core.errors import PydtTrayError
    from pydt_tray.relay_cli import disable_before_sign_out

    migrate_legacy(ctx)
    book = ctx.account_book()
    accounts = book.accounts()
    if args.all and args.steam_id:
        return fail("give a Steam id or --all, not both", EXIT_USAGE)
    if args.all:
        chosen = [account.steam_id for account in accounts]
    elif args.steam_id:
        chosen = [args.steam_id]
    elif len(accounts) > 1:
        listed = ", ".join(f"{a.steam_id} ({a.name})" for a in accounts)
        return fail(f"several accounts are signed in: name one (`pydt-tray logout STEAM_ID`) or use --all: {listed}")
    else:
        chosen = [account.steam_id for account in accounts]
    if not chosen:
        try:
            book.drop_legacy()
        except PydtTrayError as error:
            return fail(error.user_message, error.exit_code)
        print("No account was signed in")
        return EXIT_OK
    for steam_id in chosen:
        if book.get(steam_id) is not None:
            ctx.account = steam_id
            disable_before_sign_out(ctx, steam_id)  # the relay needs the token that is about to go
        try:
            account = book.remove(steam_id)
        except UnknownAccountError as error:
            return fail(str(error), EXIT_USAGE)
        except PydtTrayError as error:
            return fail(error.user_message, error.exit_code)
        ctx.state.forget_account(steam_id)
        print(f"Signed out {account.name or steam_id} ({steam_id}): its token was removed")
    try:
        ctx.state.save()
    except OSError as error:
        log.warning("Could not save the state file: %s", error)
    return EXIT_OK
