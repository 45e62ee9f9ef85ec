"""``pydt-tray forget [--yes]``: remove the token, the start-at-login entry, state, logs and cache."""

from __future__ import annotations

import argparse
import sys

from pydt_tray.cli_common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, fail


def add_forget_command(commands: argparse._SubParsersAction) -> None:
    forget = commands.add_parser(
        "forget",
        help="remove everything pydt-tray keeps about you on this computer (token, start at login, state, logs)",
    )
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation (for scripts)")


def confirmed(lines: list[str], assume_yes: bool) -> bool | None:
    """True to go ahead, False when the user said no, None when there is nobody to ask."""
    print("pydt-tray forget removes:")
    for line in lines:
        print(f"  - {line}")
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        return None
    try:
        answer = input("Type yes to remove all of this: ")
    except (EOFError, KeyboardInterrupt):
        return False
    return answer.strip().lower() in {"yes", "y"}


def cmd_forget(ctx, args) -> int:
    from pydt_tray.core.forget import forgetter_for
    from pydt_tray.core.logs import teardown_logging
    from pydt_tray.platform.autostart import pick_autostart

    forgetter = forgetter_for(ctx, pick_autostart())
    answer = confirmed(forgetter.describe(), args.yes)
    if answer is None:
        return fail("no terminal to confirm: run `pydt-tray forget --yes` to remove without asking", EXIT_USAGE)
    if not answer:
        print("Nothing was removed.")
        return EXIT_FAILURE
    outcomes = forgetter.forget_account()
    teardown_logging()  # the log file is about to go
    outcomes += forgetter.forget_files()
    for outcome in outcomes:
        print(("done: " if outcome.ok else "FAILED: ") + outcome.message)
    print(f"Your settings are kept in {ctx.paths.settings_file}; delete it too if you like.")
    if all(outcome.ok for outcome in outcomes):
        return EXIT_OK
    return fail("some things could not be removed (see above); quit pydt-tray and run `pydt-tray forget` again")
