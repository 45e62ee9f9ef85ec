"""Network lanes and Quit: a held transfer never delays the game list, and Quit returns at once."""

from __future__ import annotations

import time

import pytest

from pydt_tray.core.transfer import download_name
from pydt_tray.core.turn_player import TurnState
from tests.integration.app_harness import WAIT_MS

pytestmark = pytest.mark.integration

HELD = 60.0  # the simulator holds the request this long (or until it stops)
QUIT_BOUND = 2.0


def start_with_save_dir(app_factory, tmp_path):
    save_dir = tmp_path / "saves" / "Hotseat"

    def before(app) -> None:
        app.ctx.settings.set("save_dir_civ6", str(save_dir))
        app.ctx.settings.set("launch_game", False)

    app = app_factory.start(with_push=False, before_start=before)
    app_factory.wait_synced(app)
    return app, save_dir


def test_a_held_download_does_not_delay_the_game_list(app_factory, simulator, world, qtbot, tmp_path):
    app, _save_dir = start_with_save_dir(app_factory, tmp_path)
    simulator.set_latency("download", HELD)
    app.turn_player.play(world.my_turn_game)
    qtbot.waitUntil(lambda: simulator.request_count("download") == 1, timeout=WAIT_MS)
    assert app.turn_player.state is TurnState.DOWNLOADING

    before = app.session.engine.fetch_count
    simulator.reset_counts()
    app.session.request("test", full=True)
    qtbot.waitUntil(lambda: app.session.engine.fetch_count > before and not app.session.engine.busy, timeout=5000)
    assert simulator.request_count("games") >= 1
    assert app.turn_player.state is TurnState.DOWNLOADING  # the download is still held


def test_quit_returns_within_two_seconds_while_a_load_and_a_download_hang(
    app_factory, simulator, world, qtbot, tmp_path
):
    app, save_dir = start_with_save_dir(app_factory, tmp_path)
    simulator.set_latency("download", HELD)
    simulator.set_latency("games", HELD)
    simulator.reset_counts()
    app.turn_player.play(world.my_turn_game)
    app.session.request("test", full=True)
    qtbot.waitUntil(lambda: simulator.request_count("download") == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: app.session.engine.busy, timeout=WAIT_MS)  # the load is in flight (or queued)
    began = time.monotonic()
    app_factory.stop(app)
    took = time.monotonic() - began
    assert took < QUIT_BOUND, f"Quit took {took:.1f} s"
    assert not (save_dir / download_name("Civ6Save")).exists()  # abandoned, never half written
    assert [p.name for p in save_dir.iterdir() if p.name.startswith(".")] == []  # no temporary file left
