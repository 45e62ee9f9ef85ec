"""The README's reference tables stay in step with the code."""

from pathlib import Path

from pydt_tray.core.environment import ENVIRONMENT_VARIABLES
from pydt_tray.core.settings_table import SETTINGS

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_every_setting_is_documented():
    missing = [spec.key for spec in SETTINGS if f"`{spec.key}`" not in README]
    assert missing == []


def test_every_environment_variable_is_documented():
    missing = [name for name, _meaning in ENVIRONMENT_VARIABLES if f"`{name}`" not in README]
    assert missing == []


def test_quick_start_has_exactly_two_commands():
    quick = README.split("## Quick start", 1)[1].split("### ", 1)[0]
    assert quick.count("```sh") == 2
    assert "bash scripts/test.sh" in quick
    assert (Path(__file__).parents[2] / ".ci" / "run").read_text().count("scripts/test.sh") == 1


ROOT = Path(__file__).parents[2]


def quick_start_commands() -> list[str]:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.split("```", 1)[0].strip() for block in quick.split("```sh\n")[1:]]


def test_the_first_command_is_the_demo_script_and_ci_runs_it_with_debians_python():
    assert quick_start_commands() == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    assert (ROOT / "scripts" / "demo.sh").is_file()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "PYTHON=/usr/bin/python3 bash scripts/demo.sh --check" in ci


def test_requirements_and_install_cover_every_system():
    requirements = README.split("## Requirements", 1)[1].split("\n## ", 1)[0]
    for fact in ("**Linux**", "**Windows** 10", "**macOS** 12", "AppIndicator", "notification server"):
        assert fact in requirements, fact
    install = README.split("## Install", 1)[1].split("\n## ", 1)[0]
    for way in (".deb", "pipx install", "windows-x64-setup.exe", ".dmg", "pydt-tray forget"):
        assert way in install, way


def test_every_command_is_in_the_command_table():
    from pydt_tray.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    table = README.split("## Command line", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in commands if name != "run" and f"`pydt-tray {name}" not in table]
    assert missing == []
