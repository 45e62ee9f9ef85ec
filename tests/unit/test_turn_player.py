"""The turn player's steps without Qt: a hand-operated background queue, a fake clock, the real simulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pydt_tray.core.api import PydtClient
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.models import CivGame
from pydt_tray.core.saves import ARCHIVE_DIR_NAME, ensure_save_dir
from pydt_tray.core.settings import Settings
from pydt_tray.core.transfer import download_name
from pydt_tray.core.turn_player import Turn, TurnPlayer, TurnState
from pydt_tray.sandbox.world import synthetic_save
from tests.helpers.simulator import InstrumentedSimulator
from tests.helpers.simulator_fixtures import FakeClock, World

DOWNLOADED = download_name("Civ6Save")


def settings_with(**values: Any) -> Settings:
    """The real settings, with the switches a test turns on."""
    defaults: dict[str, Any] = {"auto_download": False, "launch_game": False, "auto_submit": False}
    return Settings(values={**defaults, "archive_count": 3, **values})


class Host:
    """Records what the player reports."""

    def __init__(self) -> None:
        self.states: list[TurnState] = []
        self.progress: list[tuple[int, int | None]] = []
        self.detected: list[Path | None] = []
        self.submitted: list[str] = []
        self.fronted = 0
        self.launched: list[str] = []

    def turn_changed(self, state: TurnState) -> None:
        self.states.append(state)

    def progress_changed(self, progress: tuple[int, int | None]) -> None:
        self.progress.append(progress)

    def save_detected(self, turn: Turn) -> None:
        self.detected.append(turn.pending)

    def turn_submitted(self, turn: Turn) -> None:
        self.submitted.append(turn.game.game_id)

    def bring_to_front(self) -> None:
        self.fronted += 1

    def launch(self, url: str) -> bool:
        self.launched.append(url)
        return True


class Harness:
    def __init__(self, simulator: InstrumentedSimulator, world: World, save_dir: Path, settings: Settings) -> None:
        self.simulator, self.world, self.save_dir, self.settings = simulator, world, save_dir, settings
        self.client: PydtClient | None = PydtClient(simulator.base_url, world.token, timeout=(2.0, 5.0), backoff=0.0)
        self.snapshot = Snapshot.build(world.me, self.client.get_games())
        self.clock = FakeClock()
        self.jobs: list[Callable[[], None]] = []
        self.soon: list[Callable[[], None]] = []
        self.later: list[tuple[float, Callable[[], None]]] = []
        self.syncs: list[str] = []
        self.auth_failures = 0
        self.host = Host()
        self.player = TurnPlayer(
            self.host,
            client=lambda: self.client,
            snapshot=lambda: self.snapshot,
            settings=settings.snapshot,
            run_in_background=self.jobs.append,
            call_soon=self.soon.append,
            call_later=lambda seconds, function: self.later.append((self.clock() + seconds, function)),
            request_sync=self.syncs.append,
            on_auth_failed=self.auth_failed,
            clock=self.clock,
            locate_save_dir=self.locate,
        )
        self.located: list[str] = []

    def locate(self, civ_game: CivGame) -> Path:
        self.located.append(civ_game.id)
        return ensure_save_dir(self.save_dir)

    def auth_failed(self) -> None:
        self.auth_failures += 1

    def run_jobs(self) -> None:
        """Run the background jobs, then hand their results back, until both queues are empty."""
        while self.jobs or self.soon:
            while self.jobs:
                self.jobs.pop(0)()
            while self.soon:
                self.soon.pop(0)()

    def tick(self, seconds: float) -> None:
        """Move the clock and run the timers that are due (the polls re-arm themselves)."""
        self.clock.advance(seconds)
        due = [entry for entry in self.later if entry[0] <= self.clock()]
        self.later = [entry for entry in self.later if entry[0] > self.clock()]
        for _, function in due:
            function()
        self.run_jobs()

    def play_until_waiting(self, game_id: str | None = None) -> Path:
        self.player.play(game_id or self.world.my_turn_game)
        self.run_jobs()
        assert self.player.state is TurnState.WAITING, self.player.message
        return self.save_dir / DOWNLOADED

    def save_game(self, name: str = "My turn.Civ6Save", data: bytes = b"saved " * 50) -> Path:
        """Past the grace period, write the user's save and poll until it is reported."""
        self.tick(self.player.grace_seconds)
        path = self.save_dir / name
        path.write_bytes(data)
        for _ in range(3):
            self.tick(self.player.poll_interval)
        return path


@pytest.fixture
def harness(simulator: InstrumentedSimulator, world: World, tmp_path: Path) -> Harness:
    return Harness(simulator, world, tmp_path / "Hotseat", settings_with())


def test_play_downloads_then_watches(harness: Harness, world: World) -> None:
    harness.player.play(world.my_turn_game)
    assert harness.player.state is TurnState.PREPARING and harness.jobs, "the network step waits for the worker"
    harness.run_jobs()
    assert harness.host.states == [TurnState.PREPARING, TurnState.DOWNLOADING, TurnState.WAITING]
    assert (harness.save_dir / DOWNLOADED).read_bytes() == synthetic_save(world.my_turn_game, 5)
    assert harness.located == ["CIV6"] and harness.host.fronted == 1
    assert harness.player.watching and harness.host.progress[-1][0] == harness.host.progress[-1][1]


def test_a_save_during_the_grace_period_is_not_the_users(harness: Harness) -> None:
    harness.play_until_waiting()
    (harness.save_dir / "early.Civ6Save").write_bytes(b"written while the game was loading")
    harness.tick(harness.player.poll_interval)
    harness.tick(harness.player.poll_interval)
    assert harness.player.state is TurnState.WAITING
    path = harness.save_game()
    assert harness.player.state is TurnState.DETECTED and harness.host.detected == [path]


def test_submit_advances_the_game_and_archives_the_save(harness: Harness, world: World) -> None:
    harness.play_until_waiting()
    save = harness.save_game()
    harness.player.submit()
    assert harness.player.state is TurnState.UPLOADING
    harness.run_jobs()
    assert harness.player.state is TurnState.DONE
    assert harness.simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 6
    assert harness.syncs == ["turn submitted"] and harness.host.submitted == [world.my_turn_game]
    archived = harness.player.turn.archived if harness.player.turn else None
    assert archived is not None and archived.parent.name == ARCHIVE_DIR_NAME and not save.exists()


def test_cancel_before_the_upload_stops_it(harness: Harness, world: World) -> None:
    harness.play_until_waiting()
    save = harness.save_game()
    harness.player.submit()
    harness.player.cancel()
    harness.run_jobs()
    assert harness.player.state is TurnState.IDLE and harness.syncs == [] and save.exists()
    assert harness.simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 5


def test_cancel_drops_a_download_in_flight(harness: Harness, world: World) -> None:
    harness.player.play(world.my_turn_game)
    harness.player.cancel()
    harness.run_jobs()
    assert harness.player.state is TurnState.IDLE and harness.player.turn is None
    assert not (harness.save_dir / DOWNLOADED).exists(), "the progress callback stopped the transfer"


def test_a_submission_cancelled_late_is_still_reported_to_the_list(harness: Harness, world: World) -> None:
    harness.play_until_waiting()
    harness.save_game()
    harness.player.submit()
    harness.jobs.pop(0)()  # the upload finishes on the worker...
    harness.player.cancel()  # ...while Cancel is pressed, before the result is handed back
    harness.run_jobs()
    assert harness.player.state is TurnState.IDLE and harness.host.submitted == []
    assert harness.syncs == ["turn submitted"]
    assert harness.simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 6


def test_auto_submit_skips_the_question(simulator: InstrumentedSimulator, world: World, tmp_path: Path) -> None:
    harness = Harness(simulator, world, tmp_path / "Hotseat", settings_with(auto_submit=True))
    harness.play_until_waiting()
    harness.save_game()
    assert harness.player.state is TurnState.DONE and harness.host.detected == []


def test_ignore_watches_for_another_save(harness: Harness) -> None:
    harness.play_until_waiting()
    harness.save_game("autosave.Civ6Save")
    harness.player.ignore()
    assert harness.player.state is TurnState.WAITING and harness.player.turn is not None
    assert harness.player.turn.pending is None
    second = harness.save_game("real.Civ6Save")
    assert harness.player.state is TurnState.DETECTED and harness.host.detected[-1] == second


def test_first_turn_has_nothing_to_download(harness: Harness, world: World) -> None:
    harness.player.play(world.first_turn_game)
    assert harness.player.state is TurnState.ERROR and harness.jobs == []
    assert "upload the first save on the website" in harness.player.message
    assert not harness.player.is_playable(world.first_turn_game)


def test_a_stale_list_shows_the_service_words_and_reloads(
    harness: Harness, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    harness.simulator.set_current_player(world.my_turn_game, world.alice)
    harness.player.play(world.my_turn_game)
    harness.run_jobs()
    assert harness.player.state is TurnState.ERROR and harness.player.message == "It's not your damn turn!"
    assert harness.syncs == ["turn refused"]
    assert harness.player.turn is not None and harness.player.turn.failed_step == "download"
    assert [r.getMessage() for r in caplog.records] == ["Turn download failed: It's not your damn turn!"]


def test_a_game_missing_from_the_list(harness: Harness) -> None:
    harness.player.play("no-such-game")
    assert harness.player.state is TurnState.ERROR and harness.player.turn is None
    assert not harness.player.is_playable("no-such-game")


def test_signed_out_cannot_submit(harness: Harness) -> None:
    harness.play_until_waiting()
    harness.save_game()
    harness.client = None
    harness.player.submit()
    assert harness.player.state is TurnState.ERROR and "sign in again" in harness.player.message


def test_a_refused_token_ends_the_session(harness: Harness, world: World) -> None:
    harness.simulator.revoke_tokens(world.me)
    harness.player.play(world.my_turn_game)
    harness.run_jobs()
    assert harness.player.state is TurnState.ERROR and harness.auth_failures == 1


def test_the_game_starts_after_the_download_unless_cancelled(
    simulator: InstrumentedSimulator, world: World, tmp_path: Path
) -> None:
    harness = Harness(simulator, world, tmp_path / "Hotseat", settings_with(launch_game=True))
    harness.play_until_waiting()
    harness.tick(harness.player.launch_delay)
    assert harness.host.launched == ["steam://run/289070/\\dx11"]
    harness.player.cancel()
    harness.play_until_waiting()
    harness.player.cancel()
    harness.tick(harness.player.launch_delay)
    assert len(harness.host.launched) == 1


def test_auto_download_places_each_new_turn_once_in_the_background(
    simulator: InstrumentedSimulator, world: World, tmp_path: Path
) -> None:
    harness = Harness(simulator, world, tmp_path / "Hotseat", settings_with(auto_download=True))
    harness.player.on_synced()
    harness.run_jobs()
    assert harness.player.state is TurnState.WAITING and harness.host.fronted == 0
    assert harness.player.turn is not None and harness.player.turn.background
    harness.player.cancel()
    harness.player.on_synced()
    assert harness.player.state is TurnState.IDLE, "the same turn is not placed twice"


def test_the_submit_action_only_submits_the_waiting_save(harness: Harness, world: World) -> None:
    harness.play_until_waiting()
    harness.save_game()
    harness.player.on_submit_action(world.their_turn_game)
    assert harness.player.state is TurnState.DETECTED
    harness.player.on_submit_action(world.my_turn_game)
    assert harness.player.state is TurnState.UPLOADING
