"""Command-line switches for everyday use: ``mute``/``unmute``/``snooze GAME_ID DURATION`` and ``vacation on|off``.

Mute and snooze are kept per game in the state file (a running tray app picks them up within a minute); the
vacation switch is the PYDT profile's vacation mode. Exit codes as in :mod:`pydt_tray.cli_common`.
"""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime
from typing import Any

from pydt_tray.cli_common import EXIT_OK, EXIT_USAGE, Abort, fail, run_for_game, run_signed_in
from pydt_tray.core.models import Game, format_date
from pydt_tray.core.quiet import GamePrefs
from pydt_tray.core.state import State
from pydt_tray.core.timers import expires_at

log = logging.getLogger(__name__)

GAME_ID_HELP = "the game's id (see `games --json`)"


def add_daily_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``mute``, ``unmute``, ``snooze`` and ``vacation`` (each sets ``turn_command`` to its handler)."""
    mute = subparsers.add_parser("mute", help="no turn notifications for a game (it still shows, marked muted)")
    mute.add_argument("game_id", metavar="GAME_ID", help=GAME_ID_HELP)
    mute.set_defaults(turn_command=cmd_mute)

    unmute = subparsers.add_parser("unmute", help="notify about a muted or snoozed game again")
    unmute.add_argument("game_id", metavar="GAME_ID", help=GAME_ID_HELP)
    unmute.set_defaults(turn_command=cmd_unmute)

    snooze = subparsers.add_parser("snooze", help="keep a game silent for a while")
    snooze.add_argument("game_id", metavar="GAME_ID", help=GAME_ID_HELP)
    snooze.add_argument(
        "duration", metavar="DURATION", help="30m, 1h, 2d, 'tomorrow' (08:00) or 'turn' (until its next turn)"
    )
    snooze.set_defaults(turn_command=cmd_snooze)

    vacation = subparsers.add_parser(
        "vacation", help="PYDT vacation mode: no turn notifications from PYDT at all while it is on"
    )
    vacation.add_argument("switch", choices=("on", "off", "status"), help="switch it on or off, or show it")
    vacation.set_defaults(turn_command=cmd_vacation)


def _save(state: State) -> int | None:
    try:
        state.save()
    except OSError as error:
        return fail(f"could not write {state.path}: {error.strerror or error}")
    return None


def _game_id(text: str) -> str:
    game_id = text.strip()
    if not game_id or not game_id.isprintable() or "/" in game_id:
        raise Abort(fail(f"{text!r} is not a game id (`pydt-tray games --json` lists them)", EXIT_USAGE))
    return game_id


def cmd_mute(ctx: Any, args: argparse.Namespace) -> int:
    try:
        game_id = _game_id(args.game_id)
    except Abort as abort:
        return abort.code
    GamePrefs(ctx.state.games).mute(game_id)
    failed = _save(ctx.state)
    if failed is not None:
        return failed
    print(f"Muted {game_id}: no notifications for it until `pydt-tray unmute {game_id}`")
    return EXIT_OK


def cmd_unmute(ctx: Any, args: argparse.Namespace) -> int:
    try:
        game_id = _game_id(args.game_id)
    except Abort as abort:
        return abort.code
    GamePrefs(ctx.state.games).unmute(game_id)
    failed = _save(ctx.state)
    if failed is not None:
        return failed
    print(f"{game_id} notifies again")
    return EXIT_OK


def cmd_snooze(ctx: Any, args: argparse.Namespace) -> int:
    from pydt_tray.core.quiet import parse_snooze

    try:
        game_id = _game_id(args.game_id)
        kind, _seconds = parse_snooze(args.duration)
    except Abort as abort:
        return abort.code
    except ValueError as error:
        return fail(str(error), EXIT_USAGE)
    prefs = GamePrefs(ctx.state.games)
    if kind != "turn":
        described = prefs.snooze(game_id, args.duration)
    else:  # "until its next turn" needs the game's current turn from the service

        def find(client: Any) -> int:
            game = next((g for g in client.get_games() if g.game_id == game_id), None)
            if game is None:
                raise Abort(fail(f"no game {game_id!r} among your active games (`pydt-tray games --json` lists them)"))
            found.append(game)
            return EXIT_OK

        found: list[Game] = []
        code = run_for_game(ctx, game_id, find)
        if code != EXIT_OK:
            return code
        described = prefs.snooze(game_id, args.duration, found[0])
    failed = _save(ctx.state)
    if failed is not None:
        return failed
    print(f"Snoozed {game_id} {described}")
    return EXIT_OK


def cmd_vacation(ctx: Any, args: argparse.Namespace) -> int:
    def action(client: Any) -> int:
        on = args.switch == "on"
        user = client.get_current_user() if args.switch == "status" else client.set_vacation_mode(on)
        if user.vacation_mode:
            print("Vacation mode is ON: PYDT sends you no turn notifications and pydt-tray gives no reminders")
        else:
            print("Vacation mode is off")
        return EXIT_OK

    return run_signed_in(ctx, action)


def game_json_fields(game: Game, state: State | None) -> dict[str, Any]:
    """The everyday fields of a game in ``games --json``: timer expiry, muted, snoozed until."""
    fields: dict[str, Any] = {"timerExpiresAt": format_date(expires_at(game))}
    if state is not None:
        prefs = GamePrefs(state.games)
        snoozed = prefs.snoozed_until(game)
        fields["muted"] = prefs.is_muted(game.game_id)
        if isinstance(snoozed, float):
            fields["snoozedUntil"] = format_date(datetime.fromtimestamp(snoozed, tz=UTC))
        else:
            fields["snoozedUntil"] = snoozed  # "turn" (until its next turn) or None
    return fields
