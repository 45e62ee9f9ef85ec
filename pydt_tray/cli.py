"""Command line: ``pydt-tray`` runs the tray app; sub-commands sign in, list games and edit settings."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from collections.abc import Sequence

from pydt_tray import __version__
from pydt_tray.cli_common import EXIT_AUTH, EXIT_FAILURE, EXIT_NETWORK, EXIT_OK, EXIT_USAGE, fail, run_signed_in
from pydt_tray.forget_cli import add_forget_command, cmd_forget
from pydt_tray.sandbox.demo_options import add_check_options

log = logging.getLogger("pydt_tray")


def build_parser() -> argparse.ArgumentParser:
    from pydt_tray.core.environment import ENVIRONMENT_VARIABLES

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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("run", help="start the tray app (the default)")

    login = commands.add_parser("login", help="check a PYDT token and keep it in the system keyring")
    login.add_argument("--token-stdin", action="store_true", help="read the token from standard input")
    login.add_argument(
        "--plaintext-file",
        action="store_true",
        help="if no secure keyring exists, store the token in a file readable only by you (not encrypted)",
    )
    commands.add_parser("logout", help="forget the stored token")

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
    args = build_parser().parse_args(argv)
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

    command = args.command or "run"
    if command == "run":
        from pydt_tray.gui import run_gui

        install_excepthook()
        return run_gui(ctx, hidden=args.hidden or ctx.settings.snapshot().start_hidden)
    handler = (
        getattr(args, "turn_command", None)
        or getattr(args, "relay_command", None)
        or {
            "login": cmd_login,
            "logout": cmd_logout,
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


def read_token(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().strip()
    if not sys.stdin.isatty():
        raise ValueError("no terminal to ask for the token: use --token-stdin")
    return getpass.getpass("PYDT client token (from your profile page on the website): ").strip()


def cmd_login(ctx, args) -> int:
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
    try:
        store = ctx.token_store(allow_plaintext=args.plaintext_file)
        store.save(token)
    except PydtTrayError as error:
        log.warning("Sign-in checked, but the token could not be stored: %s", error)
        return fail(error.user_message, error.exit_code)
    log.info("Signed in as %s", user.display_name)
    if store.is_plaintext:
        print(
            "warning: no secure keyring was found; the token is stored UNENCRYPTED in a file only you can read",
            file=sys.stderr,
        )
    print(f"Signed in as {user.display_name}")
    return EXIT_OK


def cmd_logout(ctx, args) -> int:
    from pydt_tray.core.errors import PydtTrayError
    from pydt_tray.relay_cli import disable_before_sign_out

    disable_before_sign_out(ctx)  # the relay needs the token that is about to go

    try:
        ctx.token_store().delete()
    except PydtTrayError as error:
        return fail(error.user_message, error.exit_code)
    print("Signed out: the token was removed")
    return EXIT_OK


def cmd_games(ctx, args) -> int:
    return run_signed_in(ctx, lambda client: _print_games(client, as_json=args.json, state=ctx.state))


def _print_games(client, *, as_json: bool, state=None) -> int:
    from pydt_tray.core.diff import Snapshot
    from pydt_tray.core.models import FIRST_SAVE_HINT, format_date
    from pydt_tray.core.smack import SmackReads, own_names
    from pydt_tray.daily_cli import game_json_fields

    user = client.get_current_user()
    snapshot = Snapshot.build(user.steam_id, client.get_games())
    names = {sid: p.persona_name for sid, p in client.get_steam_profiles(_player_ids(snapshot)).items()}
    if as_json:
        reads, me = SmackReads(state.smack if state is not None else {}, user.steam_id), own_names(user)
        rows = [
            {
                "id": game.game_id,
                "name": game.display_name,
                "gameType": game.game_type,
                "round": game.round,
                "turn": game.game_turn_range_key,
                "yourTurn": game.is_your_turn(user.steam_id),
                "currentPlayer": game.current_player_steam_id,
                "currentPlayerName": names.get(game.current_player_steam_id),
                "flags": list(game.flags),
                "updatedAt": format_date(game.updated_at),
                "unreadSmack": reads.is_unread(game, me),
                **game_json_fields(game, state),
            }
            for game in snapshot.games
        ]
        print(json.dumps({"user": user.display_name, "games": rows}, indent=2))
        return EXIT_OK
    if not snapshot.games:
        print("You have no games.")
        return EXIT_OK
    for game in snapshot.games:
        mine = game.is_your_turn(user.steam_id)
        marker = "*" if mine else " "
        whose = "YOUR TURN" if mine else names.get(game.current_player_steam_id, game.current_player_steam_id or "-")
        if mine and game.is_first_turn:
            whose += f" ({FIRST_SAVE_HINT})"
        print(f"{marker} {game.display_name}  [{game.game_type}, round {game.round}]  {whose}")
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
