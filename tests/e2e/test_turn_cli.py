"""The ``download`` and ``submit`` commands in a child process, against the simulator and a real keyring."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pydt_tray.core.credentials import TokenStore
from pydt_tray.sandbox.simulator import PydtSimulator
from pydt_tray.sandbox.world import synthetic_save
from tests.helpers.simulator_fixtures import World

pytestmark = pytest.mark.e2e

PLAY_THIS = "(PYDT) Play This One!.Civ6Save"
DLC_MESSAGE = (
    "DLC mismatch!  Please ensure that you have the correct DLC enabled (or disabled)!\n"
    "Enabled but not in save: Nubia Civilization Pack\n"
    "In save but not enabled: Persia and Macedon Civilization & Scenario Pack"
)


def child_env(home: Path, api_url: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PYDT_"))}
    env.update(extra)
    env.update({"HOME": str(home), "PYDT_TRAY_HOME": str(home / "pydt-tray"), "PYDT_API_URL": api_url})
    return env


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def env(secret_service, simulator: PydtSimulator, world: World, home: Path) -> dict[str, str]:
    """A signed-in user: the token is in the test keyring, the API is the simulator."""
    TokenStore().save(world.token)
    return child_env(home, simulator.base_url, secret_service.env)


@pytest.fixture
def save_dir(home: Path) -> Path:
    """Civilization VI's default Linux save folder below the test HOME."""
    return home / ".local/share/aspyr-media/Sid Meier's Civilization VI/Saves/Hotseat"


def run(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pydt_tray", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.02)


def test_download_writes_the_turn_into_the_save_folder(env: dict[str, str], world: World, save_dir: Path) -> None:
    result = run(env, "download", world.my_turn_game)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(save_dir / PLAY_THIS)
    assert (save_dir / PLAY_THIS).read_bytes() == synthetic_save(world.my_turn_game, 5)
    assert (save_dir / "pydt-archive").is_dir()


def test_download_to_another_folder(env: dict[str, str], world: World, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    result = run(env, "download", world.my_turn_game, "--to", str(target))
    assert result.returncode == 0, result.stderr
    assert (target / PLAY_THIS).read_bytes() == synthetic_save(world.my_turn_game, 5)


def test_download_refusals(env: dict[str, str], world: World, save_dir: Path) -> None:
    first = run(env, "download", world.first_turn_game)
    assert first.returncode == 1 and "website" in first.stderr
    theirs = run(env, "download", world.their_turn_game)
    assert theirs.returncode == 1 and "It's not your damn turn!" in theirs.stderr
    unknown = run(env, "download", "no-such-game")
    assert unknown.returncode == 1 and "no-such-game" in unknown.stderr
    assert not (save_dir / PLAY_THIS).exists()


def test_submit_from_the_save_folder_advances_and_archives(
    env: dict[str, str], world: World, simulator: PydtSimulator, save_dir: Path
) -> None:
    assert run(env, "download", world.my_turn_game).returncode == 0
    save = save_dir / "My turn.Civ6Save"
    save.write_bytes(synthetic_save("me", 6))
    result = run(env, "submit", world.my_turn_game, str(save))
    assert result.returncode == 0, result.stderr
    assert "turn 6, round 2" in result.stdout
    game = simulator.game(world.my_turn_game)
    assert game["gameTurnRangeKey"] == 6 and game["currentPlayerSteamId"] == world.alice
    archived = save_dir / "pydt-archive" / f"{world.my_turn_game[:8]}_My turn.Civ6Save"
    assert archived.read_bytes() == synthetic_save("me", 6)
    assert not save.exists() and not (save_dir / PLAY_THIS).exists()


def test_submit_from_elsewhere_leaves_the_file(
    env: dict[str, str], world: World, simulator: PydtSimulator, tmp_path: Path
) -> None:
    save = tmp_path / "desk" / "turn.Civ6Save"
    save.parent.mkdir()
    save.write_bytes(b"a save kept on the desktop")
    result = run(env, "submit", world.my_turn_game, str(save))
    assert result.returncode == 0, result.stderr
    assert simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 6
    assert save.read_bytes() == b"a save kept on the desktop"


def test_submit_errors_and_exit_codes(
    env: dict[str, str], world: World, simulator: PydtSimulator, save_dir: Path, tmp_path: Path
) -> None:
    save_dir.mkdir(parents=True)
    save = save_dir / "turn.Civ6Save"
    save.write_bytes(b"my save")

    not_mine = run(env, "submit", world.their_turn_game, str(save))
    assert not_mine.returncode == 1
    assert "It's not your turn!" in not_mine.stderr

    simulator.reject_next_finish(world.my_turn_game, DLC_MESSAGE)
    rejected = run(env, "submit", world.my_turn_game, str(save))
    assert rejected.returncode == 1
    assert DLC_MESSAGE in rejected.stderr  # verbatim, line breaks included
    assert save.read_bytes() == b"my save"
    assert simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 5

    missing = run(env, "submit", world.my_turn_game, str(tmp_path / "nope.Civ6Save"))
    assert missing.returncode == 2

    simulator.revoke_tokens(world.me)
    refused = run(env, "submit", world.my_turn_game, str(save))
    assert refused.returncode == 3 and "login" in refused.stderr
    assert run(env, "download", world.my_turn_game).returncode == 3
    assert save.read_bytes() == b"my save"


def test_network_failure_and_missing_token(secret_service, world: World, home: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    env = child_env(home, dead_url, secret_service.env)
    save = tmp_path / "turn.Civ6Save"
    save.write_bytes(b"my save")

    signed_out = run(env, "download", world.my_turn_game)
    assert signed_out.returncode == 3 and "not signed in" in signed_out.stderr

    TokenStore().save(world.token)
    offline = run(env, "submit", world.my_turn_game, str(save))
    assert offline.returncode == 4 and "could not reach" in offline.stderr.lower()
    assert save.read_bytes() == b"my save"


def test_a_kill_during_the_upload_leaves_the_save_intact(
    env: dict[str, str], world: World, simulator: PydtSimulator, save_dir: Path
) -> None:
    save_dir.mkdir(parents=True)
    save = save_dir / "turn.Civ6Save"
    content = synthetic_save("me", 6, 200_000)
    save.write_bytes(content)
    before = save.stat()
    simulator.set_latency("upload", 60)
    child = subprocess.Popen(
        [sys.executable, "-m", "pydt_tray", "submit", world.my_turn_game, str(save)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: simulator.request_count("upload") >= 1 or child.poll() is not None)
        assert child.poll() is None, "the submit ended before its upload was answered"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert save.read_bytes() == content
    after = save.stat()
    assert (after.st_mtime_ns, after.st_size, after.st_ino) == (before.st_mtime_ns, before.st_size, before.st_ino)
    assert simulator.request_count("finishSubmit") == 0
    assert simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 5
    assert sorted(p.name for p in save_dir.iterdir()) == ["turn.Civ6Save"]  # nothing archived, nothing left over

    simulator.set_latency("upload", 0)  # run again: the turn goes through
    again = run(env, "submit", world.my_turn_game, str(save))
    assert again.returncode == 0, again.stderr
    assert simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 6
