"""The tray app's own start is read without the full parser, and reads exactly as the full parser would."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pydt_tray.cli import build_parser, plain_run

RUN_FIELDS = ("command", "hidden", "debug", "account")


@pytest.mark.parametrize(
    "argv",
    [[], ["run"], ["--hidden"], ["--debug"], ["--hidden", "run"], ["--debug", "--hidden", "run"], ["--hidden"] * 2],
)
def test_a_plain_start_reads_as_the_full_parser_reads_it(argv: list[str]) -> None:
    quick = plain_run(argv)
    assert quick is not None
    full = build_parser().parse_args(argv)
    assert {name: getattr(quick, name) for name in RUN_FIELDS} == {name: getattr(full, name) for name in RUN_FIELDS}


@pytest.mark.parametrize(
    "argv",
    [["games"], ["run", "--hidden"], ["--account", "1", "run"], ["--help"], ["--version"], ["run", "run"], ["-x"]],
)
def test_anything_else_goes_to_the_full_parser(argv: list[str]) -> None:
    assert plain_run(argv) is None


def test_reading_a_plain_start_imports_no_command_module() -> None:
    code = (
        "import sys; from pydt_tray.cli import plain_run; plain_run(['--hidden']); "
        "print(sorted(m for m in sys.modules if m.endswith('_cli') or m.endswith('cli_common') or 'sandbox' in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
