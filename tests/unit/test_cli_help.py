"""`pydt-tray --help` lists every environment variable the app reads, from the one table in core/environment."""

from __future__ import annotations

from pydt_tray.cli import build_parser
from pydt_tray.core.environment import ENVIRONMENT_VARIABLES


def test_help_lists_the_environment_variables() -> None:
    text = build_parser().format_help()
    assert "environment variables:" in text
    for name, meaning in ENVIRONMENT_VARIABLES:
        line = next((line for line in text.splitlines() if line.strip().startswith(name + " ")), "")
        assert meaning in line, name
