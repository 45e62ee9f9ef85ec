"""Command line: ``pydt-tray`` runs the tray app; sub-commands sign in, list games and edit settings."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from pydt_tray import __version__
from pydt_tray.core.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

log = logging.getLogger("pydt_tray")

RUN_OPTIONS = ("--hidden", "--debug")


def fail(message: str, code: int = EXIT_FAILURE) -> int:
    """Print ``pydt-tray: <message>`` on stderr and return ``code``."""
    from pydt_tray.cli_common import fail as report  # the commands' module stays out of the running app

    return report(message, code)


def plain_run(argv: Sequence[str]) -> argparse.Namespace | None:
    """``pydt-tray [--hidden] [--debug] [run]`` read without building every command's parser: the commands'
    modules would stay imported in the running tray app for nothing. None for anything else."""
    options, command = (list(argv[:-1]), "run") if argv and argv[-1] == "run" else (list(argv), None)
    if any(option not in RUN_OPTIONS for option in options):
        return None
    return argparse.Namespace(debug="--debug" in options, hidden="--hidden" in options, account=None, command=command)


def build_parser() -> argparse.ArgumentParser:
    from pydt_tray.core.environment import ENVIRONMENT_VARIABLES
    from pydt_tray.forget_cli import add_forget_command
    from pydt_tray.sandbox.demo_options import add_check_options

    width = max(len(name) for name, _meaning in ENVIRONMENT_VARIABLES)
    parser = argparse.ArgumentParser(
        prog="pydt-tray",
        description="System-tray client for Play Your Damn Turn. Without a command it starts the tray app.",
        epilog="environment variables:\n"
        + "\n".join(f"  {name:<{width}}  {meaning}" for name, meaning in ENVIRONMENT_VARIABLES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pydt-tray {__version__}")
    parser.add_argument("--debug", action="store_true", help="also log to the console, in detail")
    parser.add_argument("--hidden", action="store_true", help="start in the tray without opening the window")
    parser.add_argument("--account", metavar="STEAM_ID", help="with several accounts: the one a command works for")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("run", help="start the tray app (the default)")

    from pydt_tray.accounts_cli import add_account_commands

    add_account_commands(commands)

    games = commands.add_parser("games", help="list your games once, your turns first")
    games.add_argument("--json", action="store_true", help="print JSON instead of a table")

    config = commands.add_parser("config", help="show or change settings")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    config_commands.add_parser("list", help="every setting with its value")
    get = config_commands.add_parser("get", help="one setting's value")
    get.add_argument("key")
    set_ = config_commands.add_parser("set", help="change a setting (validated)")
    set_.add_argument("key")
    set_.add_argument("value")
    config_commands.add_parser("path", help="where the settings file is")

    from pydt_tray.turn_cli import add_turn_commands

    add_turn_commands(commands)

    add_forget_command(commands)

    from pydt_tray.daily_cli import add_daily_commands

    add_daily_commands(commands)

    from pydt_tray.relay_cli import add_relay_commands

    add_relay_commands(commands)

    demo = commands.add_parser("demo", help="try pydt-tray with simulated games: no account or game needed")
    demo.add_argument("--seed", type=int, default=None, help="make the opponents' timing repeatable")
    add_check_options(demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = plain_run(arguments) or build_parser().parse_args(arguments)
    if args.command == "demo":  # its own temporary home, logging and token: nothing of the user's is touched
        try:
            from pydt_tray.sandbox.demo import run_demo
            from pydt_tray.sandbox.demo_broker import DemoBrokerError

            return run_demo(
                hidden=args.hidden, seed=args.seed, debug=args.debug, check=args.check, check_timeout=args.timeout
            )
        except ImportError as error:
            return fail(f"the demo needs its extra packages: pip install 'pydt-tray[demo]' ({error.name} missing)")
        except DemoBrokerError as error:
            return fail(f"the demo could not start its local push server: {error}")

    from pydt_tray.core.context import load_context
    from pydt_tray.core.logs import install_excepthook, setup_logging

    try:
        ctx = load_context()
    except ValueError as error:  # a bad environment variable
        return fail(str(error), EXIT_USAGE)
    except OSError as error:
        where = error.filename or "its folders"
        return fail(f"cannot use {where}: {error.strerror or error}", EXIT_FAILURE)
    setup_logging(ctx.paths.log_dir, debug=args.debug)
    for problem in ctx.problems:
        log.warning("%s", problem)
        if not args.debug:  # with --debug the console handler already shows it
            print(f"pydt-tray: {problem}", file=sys.stderr)

    ctx.account = args.account
    command = args.command or "run"
    if command == "run":
        from pydt_tray.gui import run_gui

        install_excepthook()
        return run_gui(ctx, hidden=args.hidden or ctx.settings.snapshot().start_hidden)
    from pydt_tray.accounts_cli import cmd_accounts, cmd_login, cmd_logout
    from pydt_tray.forget_cli import cmd_forget

    handler = (
        getattr(args, "turn_command", None)
        or getattr(args, "relay_command", None)
        or {
            "login": cmd_login,
            "logout": cmd_logout,
            "accounts": cmd_accounts,
            "games": cmd_games,
            "config": cmd_config,
            "forget": cmd_forget,
        }[command]
    )
    try:
        return handler(ctx, args)
    except Exception:  # a bug: one line for the user, the details in the log
        log.exception("unexpected error in `pydt-tray %s`", command)
        return fail(f"unexpected error (details in {ctx.paths.log_dir})")


def cmd_games(ctx, args) -> int:
    """The games of every account (or of ``--account``); with several accounts each game names its account."""
    from pydt_tray.cli_common import run_signed_in

    ids = [ctx.account]  # one account: the command's own choice (the only one, or an earlier version's token)
    if ctx.account is None and len(accounts := ctx.account_book().accounts()) > 1:
        ids = [account.steam_id for account in accounts]
    users: list[str] = []
    rows: list[dict] = []
    lines: list[tuple[str, str]] = []
    for steam_id in ids:
        ctx.account = steam_id
        code = run_signed_in(ctx, lambda client: _collect_games(client, ctx.state, users, rows, lines))
        if code != EXIT_OK:
            return code
    if args.json:
        print(json.dumps({"user": users[0], "users": users, "games": rows}, indent=2))
    elif not lines:
        print("You have no games.")
    else:
        several = len(users) > 1
        for user, line in lines:
            print(f"{line}  ({user})" if several else line)
    return EXIT_OK


def _collect_games(client, state, users: list, rows: list, lines: list) -> int:
    from pydt_tray.core.diff import Snapshot
    from pydt_tray.core.models import FIRST_SAVE_HINT, format_date
    from pydt_tray.core.smack import SmackReads, own_names
    from pydt_tray.daily_cli import game_json_fields

    user = client.get_current_user()
    users.append(user.display_name)
    snapshot = Snapshot.build(user.steam_id, client.get_games())
    names = {sid: p.persona_name for sid, p in client.get_steam_profiles(_player_ids(snapshot)).items()}
    reads, me = SmackReads(state.smack if state is not None else {}, user.steam_id), own_names(user)
    for game in snapshot.games:
        mine = game.is_your_turn(user.steam_id)
        rows.append(
            {
                "id": game.game_id,
                "name": game.display_name,
                "account": {"steamId": user.steam_id, "name": user.display_name},
                "gameType": game.game_type,
                "round": game.round,
                "turn": game.game_turn_range_key,
                "yourTurn": mine,
                "currentPlayer": game.current_player_steam_id,
                "currentPlayerName": names.get(game.current_player_steam_id),
                "flags": list(game.flags),
                "updatedAt": format_date(game.updated_at),
                "unreadSmack": reads.is_unread(game, me),
                **game_json_fields(game, state),
            }
        )
        marker = "*" if mine else " "
        whose = "YOUR TURN" if mine else names.get(game.current_player_steam_id, game.current_player_steam_id or "-")
        if mine and game.is_first_turn:
            whose += f" ({FIRST_SAVE_HINT})"
        line = f"{marker} {game.display_name}  [{game.game_type}, round {game.round}]  {whose}"
        lines.append((user.display_name, line))
    return EXIT_OK


def _player_ids(snapshot) -> list[str]:
    return sorted({p.steam_id for game in snapshot.games for p in game.players if p.steam_id})


def cmd_config(ctx, args) -> int:
    from pydt_tray.core.settings_table import SETTINGS, SPECS, SettingsError, parse_value

    settings = ctx.settings
    if args.config_command == "path":
        print(settings.path)
        return EXIT_OK
    if args.config_command == "list":
        width = max(len(row.key) for row in SETTINGS)
        for row in SETTINGS:
            print(f"{row.key:<{width}}  {_show(settings.get(row.key))}")
        return EXIT_OK
    spec = SPECS.get(args.key)
    if spec is None:
        return fail(f"unknown setting {args.key!r}; `pydt-tray config list` shows them all", EXIT_USAGE)
    if args.config_command == "get":
        print(_show(settings.get(spec.key)))
        return EXIT_OK
    try:
        settings.set(spec.key, parse_value(spec, args.value))
        settings.save()
    except SettingsError as error:
        return fail(error.user_message, error.exit_code)
    except OSError as error:
        return fail(f"could not write {settings.path}: {error}")
    print(f"{spec.key} = {_show(settings.get(spec.key))}")
    if spec.key == "start_at_login":
        return _apply_start_at_login(settings.snapshot().start_at_login)
    return EXIT_OK


def _apply_start_at_login(wanted: bool) -> int:
    """Write (or remove) the login entry now, whether or not the app runs."""
    from pydt_tray.platform.autostart import AutostartError, apply_autostart, pick_autostart

    try:
        apply_autostart(pick_autostart(), wanted)
    except AutostartError as error:
        return fail(f"the setting was saved, but the login entry could not be changed: {error.user_message}")
    return EXIT_OK


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
