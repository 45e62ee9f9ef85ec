"""The demo's ``--check`` options, shared by ``pydt-tray demo`` and ``python -m pydt_tray.sandbox.demo`` (kept
apart from the demo itself so the command line loads without the demo's extra packages)."""

from __future__ import annotations

import argparse

CHECK_TIMEOUT = 60.0


def add_check_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="non-interactive: start, wait for the first turn notification, exit (0 = it came)",
    )
    parser.add_argument(
        "--timeout", type=float, default=CHECK_TIMEOUT, help=f"seconds --check waits (default {CHECK_TIMEOUT:g})"
    )
