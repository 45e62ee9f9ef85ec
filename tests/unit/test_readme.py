"""The README's reference tables stay in step with the code."""

from pathlib import Path

from pydt_tray.core.environment import ENVIRONMENT_VARIABLES
from pydt_tray.core.settings import SETTINGS

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
