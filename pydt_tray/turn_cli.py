"""Command-line turns without the tray: ``download GAME_ID [--to DIR]`` and ``submit GAME_ID SAVE_FILE``.

Exit codes: 0 done, 1 failed, 2 usage, 3 token refused or missing, 4 service unreachable.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from pydt_tray.cli_common import EXIT_OK, EXIT_USAGE, Abort, fail, run_for_game

log = logging.getLogger(__name__)


def add_turn_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``download`` and ``submit`` to a sub-command set (each sets ``turn_command`` to its handler)."""
    download = subparsers.add_parser("download", help="download the save of a game where it is your turn")
    download.add_argument("game_id", metavar="GAME_ID", help="the game's id (see `games --json`)")
    download.add_argument(
        "--to", metavar="DIR", help="write the save into this folder instead of the game's save folder"
    )
    download.set_defaults(turn_command=cmd_download)

    submit = subparsers.add_parser("submit", help="upload your save and end your turn")
    submit.add_argument("game_id", metavar="GAME_ID", help="the game's id (see `games --json`)")
    submit.add_argument("save_file", metavar="SAVE_FILE", help="the save you made at the end of your turn")
    submit.set_defaults(turn_command=cmd_submit)


def _find_game(client, game_id: str):
    """The game and its metadata entry, or an :class:`Abort` after explaining what is wrong."""
    game = next((g for g in client.get_games() if g.game_id == game_id), None)
    if game is None:
        raise Abort(fail(f"no game {game_id!r} among your active games (`pydt-tray games --json` lists them)"))
    civ_game = client.get_metadata().civ_game(game.game_type)
    if civ_game is None:
        raise Abort(fail(f"{game.display_name} is a {game.game_type} game, which this version does not know"))
    return game, civ_game


def _progress(label: str) -> Callable[[int, int | None], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int | None) -> None:
        total_text = f" / {total // 1024} K" if total else ""
        print(f"\r{label} {done // 1024} K{total_text}", end="", file=sys.stderr, flush=True)

    return show


def cmd_download(ctx, args) -> int:
    from pydt_tray.core.saves import ensure_save_dir, save_dir_for
    from pydt_tray.core.transfer import download_turn

    def action(client) -> int:
        game, civ_game = _find_game(client, args.game_id)
        folder = Path(args.to).expanduser() if args.to else save_dir_for(civ_game, ctx.settings)
        ensure_save_dir(folder)
        progress = _progress("Downloading")
        path = download_turn(client, game, civ_game, folder, progress=progress)
        if progress is not None:
            print(file=sys.stderr)
        print(path)
        return EXIT_OK

    return run_for_game(ctx, args.game_id, action)


def _in_folder(path: Path, folder: Path) -> bool:
    """True when ``path`` is a file directly in ``folder`` (where the game writes its saves)."""
    try:
        return path.resolve().parent == folder.resolve()
    except OSError:
        return False


def cmd_submit(ctx, args) -> int:
    from pydt_tray.core.saves import SaveFolderError, save_dir_for
    from pydt_tray.core.transfer import TransferError, archive_after_submit, submit_turn

    save_file = Path(args.save_file).expanduser()
    if not save_file.is_file():
        return fail(f"{save_file} is not a file", EXIT_USAGE)

    def action(client) -> int:
        game, civ_game = _find_game(client, args.game_id)
        try:
            folder: Path | None = save_dir_for(civ_game, ctx.settings)
        except SaveFolderError:
            folder = None
        progress = _progress("Uploading")
        updated = submit_turn(client, game.game_id, save_file, progress=progress)
        if progress is not None:
            print(file=sys.stderr)
        turn, round_ = updated.game_turn_range_key, updated.round
        print(f"Turn submitted: {updated.display_name} is now on turn {turn}, round {round_}")
        if folder is not None and _in_folder(save_file, folder):
            try:
                archived = archive_after_submit(
                    game.game_id,
                    save_file,
                    folder,
                    ctx.settings.snapshot().archive_count,
                    extension=civ_game.save_extension,
                )
                print(f"Archived the save as {archived}")
            except TransferError as error:
                print(f"pydt-tray: warning: {error.user_message}", file=sys.stderr)
        return EXIT_OK

    return run_for_game(ctx, args.game_id, action)
