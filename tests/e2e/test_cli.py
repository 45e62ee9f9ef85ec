"""End to end: the installed ``pydt-tray`` command against the PYDT simulator and a real gnome-keyring."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

import pydt_tray
from pydt_tray.core.credentials import SERVICE, USERNAME
from pydt_tray.core.settings_table import SETTINGS, SPECS
from tests.e2e.cli_runner import CliRunner, wait_until
from tests.helpers.simulator_fixtures import ME

pytestmark = pytest.mark.e2e

EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_NETWORK = 0, 2, 3, 4
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
GUI_LOAD_TIMEOUT = 20.0
GUI_STOP_TIMEOUT = 10.0


@pytest.fixture
def cli(tmp_path: Path, simulator) -> CliRunner:
    """A runner pointed at the simulator, with no keyring at all."""
    return CliRunner(tmp_path, api_url=simulator.base_url)


@pytest.fixture
def keyring_cli(tmp_path: Path, simulator, secret_service) -> CliRunner:
    """A runner pointed at the simulator and the test's gnome-keyring."""
    return CliRunner(tmp_path, api_url=simulator.base_url, extra_env=dict(secret_service.env))


def stored_token(steam_id: str = ME) -> str | None:
    """What the test's gnome-keyring holds for an account (the test process shares its bus)."""
    from keyring.backends.SecretService import Keyring

    return Keyring().get_password(SERVICE, f"{USERNAME}:{steam_id}")


def login(cli: CliRunner, token: str, *options: str) -> subprocess.CompletedProcess[str]:
    return cli.run(*options, "login", "--token-stdin", stdin=token + "\n")


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {text!r}"
    return lines[0]


def assert_no_token(cli: CliRunner, token: str, *outputs: str) -> None:
    """Neither the token nor its signature part is in any file under the home folder or in ``outputs``."""
    signature = token.rsplit(".", 1)[-1]
    assert len(signature) >= 20
    for what, needle in (("the token", token), ("its signature", signature)):
        leaked = cli.files_containing(needle)
        assert leaked == [], f"{what} is in {leaked}"
        for output in outputs:
            assert needle not in output, f"{what} is in the output: {output[-500:]!r}"


# --- version -----------------------------------------------------------------------------------------


def test_version_of_the_installed_command(cli: CliRunner) -> None:
    result = cli.run("--version")
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.strip() == f"pydt-tray {pydt_tray.__version__}"


def test_version_through_python_m(cli: CliRunner) -> None:
    result = cli.run_python_module("--version")
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.strip() == f"pydt-tray {pydt_tray.__version__}"


# --- login -------------------------------------------------------------------------------------------


def test_login_with_a_good_token_keeps_it_in_the_keyring(keyring_cli: CliRunner, world) -> None:
    result = login(keyring_cli, world.token)
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.strip() == "Signed in as Me Myself"
    assert stored_token() == world.token
    assert not list((keyring_cli.home / "config").glob("token*.plaintext"))
    games = keyring_cli.run("games", "--json")
    assert games.returncode == EXIT_OK, games.stderr
    assert json.loads(games.stdout)["user"] == "Me Myself"


def test_login_with_a_wrong_token_is_refused_and_stores_nothing(keyring_cli: CliRunner, world, simulator) -> None:
    fresh = simulator.revoke_tokens(world.me)  # world.token no longer works from here on
    assert fresh != world.token
    result = login(keyring_cli, world.token)
    assert result.returncode == EXIT_AUTH
    assert "refused" in one_line(result.stderr)
    assert result.stdout == ""
    assert stored_token() is None


def test_login_without_the_service_reports_a_network_failure(keyring_cli: CliRunner, world, simulator) -> None:
    simulator.stop()
    result = login(keyring_cli, world.token)
    assert result.returncode == EXIT_NETWORK
    line = one_line(result.stderr)
    assert "could not reach" in line.lower()
    assert line.lower().count("pydt service") == 1, f"the message says it twice: {line!r}"
    assert stored_token() is None
    assert "Sign-in failed: Could not reach the PYDT service" in keyring_cli.log_file.read_text()
    assert_no_token(keyring_cli, world.token, result.stdout, result.stderr)


def test_a_refused_sign_in_is_logged_without_the_token(keyring_cli: CliRunner, world, simulator) -> None:
    simulator.revoke_tokens(world.me)
    result = login(keyring_cli, world.token)
    assert result.returncode == EXIT_AUTH
    log_text = keyring_cli.log_file.read_text()
    assert "Sign-in failed: the PYDT service refused the token" in log_text
    assert_no_token(keyring_cli, world.token, result.stdout, result.stderr)


def test_games_without_any_keyring_says_not_signed_in(cli: CliRunner) -> None:
    result = cli.run("games", env=NO_KEYRING)
    assert result.returncode == EXIT_AUTH, result.stderr
    line = one_line(result.stderr)
    assert "not signed in" in line and "pydt-tray login" in line
    assert "No secure keyring" not in line


def test_login_with_empty_input_is_a_usage_error(keyring_cli: CliRunner) -> None:
    result = keyring_cli.run("login", "--token-stdin", stdin="")
    assert result.returncode == EXIT_USAGE
    assert "no token" in one_line(result.stderr)
    assert stored_token() is None


def test_login_without_a_terminal_or_token_stdin_is_a_usage_error(keyring_cli: CliRunner, world) -> None:
    result = keyring_cli.run("login", stdin=world.token + "\n")
    assert result.returncode == EXIT_USAGE
    assert "--token-stdin" in one_line(result.stderr)
    assert stored_token() is None


def test_login_without_a_secure_keyring_names_what_to_install(cli: CliRunner, world) -> None:
    result = cli.run("login", "--token-stdin", stdin=world.token + "\n", env=NO_KEYRING)
    assert result.returncode not in (EXIT_OK, EXIT_USAGE)
    assert "gnome-keyring" in result.stderr and "KWallet" in result.stderr
    assert "Signed in" not in result.stdout
    assert not list((cli.home / "config").glob("token*.plaintext"))
    assert_no_token(cli, world.token, result.stdout, result.stderr)


def test_login_into_a_plaintext_file_when_allowed(cli: CliRunner, world) -> None:
    result = cli.run("login", "--token-stdin", "--plaintext-file", stdin=world.token + "\n", env=NO_KEYRING)
    assert result.returncode == EXIT_OK, result.stderr
    assert "UNENCRYPTED" in result.stderr
    assert result.stdout.strip() == "Signed in as Me Myself"
    file = cli.home / "config" / f"token-{world.me}.plaintext"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert file.read_text().strip() == world.token
    games = cli.run("games", "--json", env=NO_KEYRING)  # the file is used from now on without the option
    assert games.returncode == EXIT_OK, games.stderr
    logout = cli.run("logout", env=NO_KEYRING)
    assert logout.returncode == EXIT_OK, logout.stderr
    assert not file.exists()


def test_login_with_a_locked_keyring_says_to_unlock_it(tmp_path: Path, simulator, world, locked_secret_service) -> None:
    cli = CliRunner(tmp_path, api_url=simulator.base_url, extra_env=dict(locked_secret_service.env))
    assert cli.env()["DBUS_SESSION_BUS_ADDRESS"] == locked_secret_service.bus_address
    result = login(cli, world.token)
    assert result.returncode not in (EXIT_OK, EXIT_USAGE)
    assert "unlock" in result.stderr.lower()
    assert "Signed in" not in result.stdout
    assert_no_token(cli, world.token, result.stdout, result.stderr)


# --- games -------------------------------------------------------------------------------------------


@pytest.fixture
def signed_in(keyring_cli: CliRunner, world) -> CliRunner:
    result = login(keyring_cli, world.token)
    assert result.returncode == EXIT_OK, result.stderr
    return keyring_cli


def test_games_json_marks_my_turns_and_lists_them_first(signed_in: CliRunner, world) -> None:
    result = signed_in.run("games", "--json")
    assert result.returncode == EXIT_OK, result.stderr
    data = json.loads(result.stdout)
    assert data["user"] == "Me Myself"
    turns = {game["id"]: game["yourTurn"] for game in data["games"]}
    assert turns == {world.my_turn_game: True, world.first_turn_game: True, world.their_turn_game: False}
    assert [game["yourTurn"] for game in data["games"]] == [True, True, False]
    theirs = next(game for game in data["games"] if game["id"] == world.their_turn_game)
    assert theirs["currentPlayer"] == world.alice
    assert theirs["currentPlayerName"] == "Alice"


def test_games_table_marks_my_turns(signed_in: CliRunner) -> None:
    result = signed_in.run("games")
    assert result.returncode == EXIT_OK, result.stderr
    lines = {line[2:].split("  [")[0]: line for line in result.stdout.splitlines()}
    assert set(lines) == {"Mine to play", "Brand new", "Alice is playing"}
    assert lines["Mine to play"].startswith("* ") and "YOUR TURN" in lines["Mine to play"]
    assert lines["Brand new"].startswith("* ") and "first save" in lines["Brand new"]
    assert lines["Alice is playing"].startswith("  ") and lines["Alice is playing"].endswith("Alice")
    assert result.stdout.splitlines()[-1] == lines["Alice is playing"]


def test_games_when_not_signed_in_hints_at_login(keyring_cli: CliRunner, world) -> None:
    result = keyring_cli.run("games")
    assert result.returncode == EXIT_AUTH
    assert "pydt-tray login" in one_line(result.stderr)
    assert result.stdout == ""


def test_games_after_logout_needs_a_new_login(signed_in: CliRunner) -> None:
    result = signed_in.run("logout")
    assert result.returncode == EXIT_OK, result.stderr
    assert stored_token() is None
    games = signed_in.run("games", "--json")
    assert games.returncode == EXIT_AUTH
    assert "pydt-tray login" in games.stderr


# --- config ------------------------------------------------------------------------------------------


def test_config_list_shows_every_setting(cli: CliRunner) -> None:
    result = cli.run("config", "list")
    assert result.returncode == EXIT_OK, result.stderr
    shown = {key: value.strip() for key, _, value in (line.partition(" ") for line in result.stdout.splitlines())}
    assert list(shown) == [spec.key for spec in SETTINGS]
    assert shown["reminder_minutes"] == str(SPECS["reminder_minutes"].default)
    assert shown["start_hidden"] == "false"
    assert shown["iot_ca_file"] == ""


def test_config_set_and_get_round_trip_through_the_file(cli: CliRunner) -> None:
    path = cli.run("config", "path")
    assert path.returncode == EXIT_OK, path.stderr
    assert Path(path.stdout.strip()) == cli.settings_file
    result = cli.run("config", "set", "iot_keepalive_seconds", "45")
    assert result.returncode == EXIT_OK, result.stderr
    assert "iot_keepalive_seconds = 45" in cli.settings_file.read_text().splitlines()
    assert cli.run("config", "set", "start_hidden", "yes").returncode == EXIT_OK
    assert cli.run("config", "get", "iot_keepalive_seconds").stdout.strip() == "45"
    assert cli.run("config", "get", "start_hidden").stdout.strip() == "true"


def test_config_set_of_an_unknown_key_is_a_usage_error(cli: CliRunner) -> None:
    result = cli.run("config", "set", "no_such_setting", "1")
    assert result.returncode == EXIT_USAGE
    assert "no_such_setting" in one_line(result.stderr)
    assert not cli.settings_file.exists()


def test_config_set_out_of_range_names_the_range_and_keeps_the_file(cli: CliRunner) -> None:
    assert cli.run("config", "set", "reminder_minutes", "30").returncode == EXIT_OK
    before = cli.settings_file.read_bytes()
    result = cli.run("config", "set", "iot_keepalive_seconds", "5")
    assert result.returncode == EXIT_USAGE
    message = one_line(result.stderr)
    assert "iot_keepalive_seconds" in message and "30..1200" in message
    assert cli.settings_file.read_bytes() == before


def test_a_corrupt_settings_file_is_kept_aside_and_defaults_are_used(cli: CliRunner) -> None:
    cli.settings_file.parent.mkdir(parents=True)
    broken = b"version = 1\nreminder_minutes = = 30\n"
    cli.settings_file.write_bytes(broken)
    result = cli.run("config", "get", "reminder_minutes")
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.strip() == str(SPECS["reminder_minutes"].default)
    assert "settings.toml line 2" in result.stderr
    backups = list(cli.settings_file.parent.glob("settings.toml.bad-*"))
    assert len(backups) == 1
    assert backups[0].name in result.stderr
    assert backups[0].read_bytes() == broken


def test_a_bad_environment_variable_is_a_usage_error(cli: CliRunner) -> None:
    result = cli.run("config", "list", env={"PYDT_STAGE": "banana"})
    assert result.returncode == EXIT_USAGE
    message = one_line(result.stderr)
    assert "PYDT_STAGE" in message and "banana" in message and "prod" in message
    assert result.stdout == ""


# --- the token never leaks ---------------------------------------------------------------------------


def test_the_token_never_leaks_from_debug_commands(keyring_cli: CliRunner, world) -> None:
    result = login(keyring_cli, world.token, "--debug")
    assert result.returncode == EXIT_OK, result.stderr
    games = keyring_cli.run("--debug", "games")
    assert games.returncode == EXIT_OK, games.stderr
    assert "GET /user/games -> 200" in games.stderr  # the console log was on
    assert keyring_cli.log_file.is_file()
    assert_no_token(keyring_cli, world.token, result.stdout, result.stderr, games.stdout, games.stderr)


def test_the_token_never_leaks_from_the_debug_tray_app(signed_in: CliRunner, world) -> None:
    process = signed_in.start("--hidden", "--debug")
    try:

        def games_loaded() -> bool:
            if process.poll() is not None:
                pytest.fail(f"pydt-tray exited early with {process.returncode}: {_gui_output(signed_in)}")
            return signed_in.log_file.is_file() and "/user/games -> 200" in signed_in.log_file.read_text()

        wait_until(games_loaded, GUI_LOAD_TIMEOUT, "the games to be loaded (in the log file)")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=GUI_STOP_TIMEOUT) == EXIT_OK
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log_text = signed_in.log_file.read_text()
    assert "Quitting" in log_text and "pydt-tray stopped" in log_text
    assert_no_token(signed_in, world.token, _gui_output(signed_in))


def test_the_tray_app_exits_at_once_while_a_load_hangs(signed_in: CliRunner, simulator) -> None:
    simulator.set_latency("games", 60.0)  # the service takes a minute to answer the game list
    process = signed_in.start("--hidden")
    try:

        def load_in_flight() -> bool:
            if process.poll() is not None:
                pytest.fail(f"pydt-tray exited early with {process.returncode}: {_gui_output(signed_in)}")
            return simulator.request_count("games") >= 1

        wait_until(load_in_flight, GUI_LOAD_TIMEOUT, "the game list to be requested")
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=GUI_STOP_TIMEOUT) == EXIT_OK
        took = time.monotonic() - began
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert took < 4.0, f"the app took {took:.1f} s to exit"  # Quit's 2 s plus the interpreter's own exit
    assert "pydt-tray stopped" in signed_in.log_file.read_text()


def _gui_output(cli: CliRunner) -> str:
    return "".join((cli.root / name).read_text(errors="replace") for name in ("gui.stdout", "gui.stderr"))


# --- bad input at the edges ---------------------------------------------------------------------------------


def test_an_unusable_home_folder_is_reported_without_a_traceback(cli: CliRunner, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    result = cli.run("config", "list", env={"PYDT_TRAY_HOME": str(not_a_folder)})
    assert result.returncode != EXIT_OK
    assert "Traceback" not in result.stderr
    assert str(not_a_folder) in one_line(result.stderr)


def test_a_token_that_cannot_be_sent_is_refused_with_a_message(keyring_cli: CliRunner) -> None:
    result = keyring_cli.run("login", "--token-stdin", stdin="\u20acuro-token\n")
    assert result.returncode in (EXIT_USAGE, EXIT_AUTH)
    assert one_line(result.stderr).startswith("pydt-tray: ")
    assert stored_token() is None


def test_settings_problems_are_printed_once(cli: CliRunner) -> None:
    cli.settings_file.parent.mkdir(parents=True)
    cli.settings_file.write_bytes(b"version = 1\nreminder_minutes = = 30\n")
    result = cli.run("config", "get", "reminder_minutes")
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stderr.count("settings.toml line 2") == 1


def test_a_malformed_api_url_names_the_variable(cli: CliRunner) -> None:
    result = cli.run("config", "list", env={"PYDT_API_URL": "http://[::1"})
    assert result.returncode == EXIT_USAGE
    assert "PYDT_API_URL" in one_line(result.stderr)


def test_config_set_start_at_login_writes_and_removes_the_entry_at_once(cli: CliRunner, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    entry = xdg / "autostart" / "pydt-tray.desktop"
    on = cli.run("config", "set", "start_at_login", "true", env={"XDG_CONFIG_HOME": str(xdg)})
    assert on.returncode == EXIT_OK, on.stderr
    assert entry.exists() and "--hidden" in entry.read_text()
    off = cli.run("config", "set", "start_at_login", "false", env={"XDG_CONFIG_HOME": str(xdg)})
    assert off.returncode == EXIT_OK, off.stderr
    assert not entry.exists()
