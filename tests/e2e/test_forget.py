"""``pydt-tray forget``: the installed program against a real gnome-keyring, with a real autostart entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydt_tray.platform.autostart import XdgAutostart
from tests.e2e.cli_runner import CliRunner
from tests.e2e.test_cli import EXIT_AUTH, EXIT_OK, EXIT_USAGE, login, stored_token

pytestmark = pytest.mark.e2e


def test_forget_asks_then_removes_token_autostart_state_logs_and_cache(
    tmp_path: Path, simulator, world, secret_service
) -> None:
    cli = CliRunner(tmp_path, api_url=simulator.base_url, extra_env=dict(secret_service.env))
    assert login(cli, world.token).returncode == EXIT_OK
    assert stored_token() == world.token
    assert cli.run("config", "set", "start_at_login", "true").returncode == EXIT_OK
    entry = XdgAutostart(home=tmp_path / "user-home", environ={}, command=["pydt-tray", "--hidden"])
    entry.enable()  # what the running app writes for start_at_login
    cache = cli.home / "cache" / "metadata.json"
    cache.write_text("{}")
    (cli.home / "state" / "state.json").write_text("{}")
    assert cli.log_file.exists()

    refused = cli.run("forget")  # no terminal and no --yes: nothing happens
    assert refused.returncode == EXIT_USAGE
    assert "--yes" in refused.stderr
    assert stored_token() == world.token and entry.path.exists() and cache.exists()

    result = cli.run("forget", "--yes")
    assert result.returncode == EXIT_OK, result.stdout + result.stderr
    assert str(entry.path) in result.stdout  # listed before it went
    assert stored_token() is None
    assert not entry.path.exists()
    for folder in ("state", "logs", "cache"):
        assert not (cli.home / folder).exists(), folder
    assert cli.settings_file.exists()
    assert "start_at_login = false" in cli.settings_file.read_text()
    assert str(cli.settings_file) in result.stdout

    after = cli.run("games")
    assert after.returncode == EXIT_AUTH
    again = cli.run("forget", "--yes")  # nothing left: still fine
    assert again.returncode == EXIT_OK, again.stdout + again.stderr
