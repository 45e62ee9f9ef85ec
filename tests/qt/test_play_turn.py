"""Playing a turn from the tray app against the simulator: download, watch, submit, archive, errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication

from pydt_tray.app import TrayApp
from pydt_tray.core.context import load_context
from pydt_tray.core.models import WEBSITE_URL
from pydt_tray.core.transfer import download_name
from pydt_tray.core.turn_player import TurnPlayer, TurnState
from pydt_tray.sandbox.demo_turn import DEMO_WAITING_ACTIONS
from pydt_tray.sandbox.world import synthetic_save
from pydt_tray.ui.games_window import GamesWindow
from pydt_tray.ui.play_turn import TurnView
from pydt_tray.ui.play_turn_panel import PlayTurnPanel

WAIT_MS = 15_000
EXT = "Civ6Save"
DOWNLOADED = download_name(EXT)
DLC_MESSAGE = "Your save uses DLC the game does not allow:\n\n* Rise and Fall\n* Gathering Storm"


def shown_buttons(panel: PlayTurnPanel) -> list[str]:
    """The panel's buttons the user sees, in their order on screen."""
    return [key for key, button in panel.buttons.items() if not button.isHidden()]


class UrlRecorder(QObject):
    """Stands in for the desktop's URL handler (steam://, file://)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


class Harness:
    def __init__(self, qtbot, app: TrayApp, save_dir: Path) -> None:
        self.qtbot, self.app, self.save_dir = qtbot, app, save_dir
        self.player: TurnPlayer = app.turn_player
        self.view: TurnView = app.turn_view

    def wait_state(self, state: TurnState) -> None:
        self.qtbot.waitUntil(lambda: self.player.state is state, timeout=WAIT_MS)

    def play_until_waiting(self, game_id: str) -> Path:
        self.player.play(game_id)
        self.wait_state(TurnState.WAITING)
        downloaded = self.save_dir / DOWNLOADED
        assert downloaded.is_file()
        return downloaded

    def save_game(self, name: str = "My turn 5.Civ6Save", data: bytes = b"my saved game " * 100) -> Path:
        """What the game does when the user saves; waits out the grace period first."""
        watcher = self.player.watcher
        assert watcher is not None
        self.qtbot.waitUntil(lambda: watcher.grace_over, timeout=WAIT_MS)
        path = self.save_dir / name
        path.write_bytes(data)
        return path

    def click(self, key: str) -> None:
        panel = self.view.panel
        assert panel is not None and key in shown_buttons(panel), (key, shown_buttons(panel))
        panel.buttons[key].click()


def wait_note(qtbot, server, summary: str):
    """The latest notification with ``summary`` (the app's own new-turn notifications may come and go too)."""

    def found():
        return [n for n in server.notifications if n.summary == summary]

    qtbot.waitUntil(lambda: bool(found()), timeout=WAIT_MS)
    return found()[-1]


@pytest.fixture
def harness(qtbot, qapp, simulator, world, notification_server, tmp_path, monkeypatch) -> Iterator[Harness]:
    """The real tray app (no push) with the fake notification server running before it picks its notifier."""
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    ctx = load_context({"PYDT_TRAY_HOME": str(tmp_path / "home"), "PYDT_API_URL": simulator.base_url})
    save_dir = tmp_path / "saves" / "Hotseat"
    ctx.settings.set("save_dir_civ6", str(save_dir))
    ctx.settings.set("launch_game", False)
    app = TrayApp(QApplication.instance(), ctx, show_window=False)
    app.turn_player.grace_seconds = 0.2
    app.start(token=world.token)
    qtbot.waitUntil(lambda: app.session.snapshot() is not None, timeout=WAIT_MS)
    try:
        yield Harness(qtbot, app, save_dir)
    finally:
        app.turn_player.cancel()  # what app.quit() is to do: stop watching, drop late results
        app.quit()


def test_play_detect_submit_archives_and_advances(harness, simulator, world, notification_server):
    downloaded = harness.play_until_waiting(world.my_turn_game)
    assert downloaded.read_bytes() == synthetic_save(world.my_turn_game, 5)
    panel = harness.view.panel
    assert panel is not None and panel.isVisible() and harness.app.presenter.window.isVisible()
    assert str(harness.save_dir) in panel.folder.text()
    assert shown_buttons(panel) == ["open_folder", "cancel"]

    save = harness.save_game()
    harness.wait_state(TurnState.DETECTED)
    assert "My turn 5.Civ6Save" in panel.message.text()
    assert shown_buttons(panel)[:2] == ["submit", "ignore"]
    prompt = wait_note(harness.qtbot, notification_server, "Submit this save for Mine to play?")
    assert prompt.actions[2:] == [f"submit:{world.my_turn_game}", "Submit"]

    harness.click("submit")
    harness.wait_state(TurnState.DONE)
    assert simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 6
    done = wait_note(harness.qtbot, notification_server, "Turn submitted")
    assert done.replaces_id == prompt.id  # replaces the open prompt
    archived = harness.save_dir / "pydt-archive" / f"{world.my_turn_game[:8]}_My turn 5.Civ6Save"
    assert archived.read_bytes() == b"my saved game " * 100
    assert not save.exists() and not downloaded.exists()
    assert shown_buttons(panel) == ["open_folder", "close"]
    # the list reloads after the submission: it is no longer my turn there
    harness.qtbot.waitUntil(
        lambda: all(g.game_id != world.my_turn_game for g in harness.app.session.snapshot().my_turns()), timeout=WAIT_MS
    )
    harness.click("close")
    assert harness.player.state is TurnState.IDLE and not panel.isVisible()


def test_download_progress_is_shown_in_kb(harness, simulator, world):
    simulator.set_turn_save(world.my_turn_game, os.urandom(300 * 1024))
    seen: list[str] = []
    harness.view.state_changed.connect(seen.append)
    harness.play_until_waiting(world.my_turn_game)
    assert seen[:3] == ["preparing", "downloading", "waiting"]
    assert (harness.save_dir / DOWNLOADED).stat().st_size == 300 * 1024
    assert harness.view.panel.progress.format().endswith(" KB")  # the last bar shown before watching


@pytest.mark.expect_warning_logs  # the refused submission is logged
def test_dlc_rejection_is_shown_verbatim_then_submit_again_succeeds(harness, simulator, world):
    harness.play_until_waiting(world.my_turn_game)
    save = harness.save_game()
    harness.wait_state(TurnState.DETECTED)
    simulator.reject_next_finish(world.my_turn_game, DLC_MESSAGE)
    harness.click("submit")
    harness.wait_state(TurnState.ERROR)
    panel = harness.view.panel
    assert panel.message.text() == DLC_MESSAGE
    assert save.is_file()
    assert shown_buttons(panel) == ["resubmit", "watch", "open_folder", "cancel"]
    assert simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 5
    harness.click("resubmit")
    harness.wait_state(TurnState.DONE)
    assert simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 6
    assert not save.exists()


@pytest.mark.expect_warning_logs  # the refused submission is logged
def test_watch_for_another_save_after_an_error(harness, simulator, world):
    harness.play_until_waiting(world.my_turn_game)
    harness.save_game("first.Civ6Save")
    harness.wait_state(TurnState.DETECTED)
    simulator.reject_next_finish(world.my_turn_game, "Wrong round")
    harness.click("submit")
    harness.wait_state(TurnState.ERROR)
    harness.click("watch")
    assert harness.player.state is TurnState.WAITING
    harness.save_game("second.Civ6Save")
    harness.wait_state(TurnState.DETECTED)
    assert harness.player.turn.pending.name == "second.Civ6Save"


def test_ignore_rearms_the_watcher(harness, world):
    harness.play_until_waiting(world.my_turn_game)
    harness.save_game("autosave-ish.Civ6Save")
    harness.wait_state(TurnState.DETECTED)
    harness.click("ignore")
    assert harness.player.state is TurnState.WAITING and harness.player.turn.pending is None
    harness.save_game("real.Civ6Save")
    harness.wait_state(TurnState.DETECTED)
    assert harness.player.turn.pending.name == "real.Civ6Save"


def test_auto_submit_submits_without_asking(harness, simulator, world, notification_server):
    harness.app.ctx.settings.set("auto_submit", True)
    harness.play_until_waiting(world.my_turn_game)
    states: list[str] = []
    harness.view.state_changed.connect(states.append)
    harness.save_game()
    harness.wait_state(TurnState.DONE)
    assert "detected" not in states
    assert simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 6
    assert not any(n.summary.startswith("Submit this save") for n in notification_server.notifications)


def test_submit_action_of_the_notification_submits(harness, simulator, world, notification_server):
    harness.play_until_waiting(world.my_turn_game)
    harness.save_game()
    harness.wait_state(TurnState.DETECTED)
    prompt = wait_note(harness.qtbot, notification_server, "Submit this save for Mine to play?")
    notification_server.click(prompt.id, action=f"submit:{world.my_turn_game}")
    harness.wait_state(TurnState.DONE)
    assert simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 6
    done = wait_note(harness.qtbot, notification_server, "Turn submitted")
    assert done.replaces_id == 0  # the click closed the prompt


def test_default_click_on_the_prompt_does_not_submit(harness, simulator, world, notification_server):
    harness.play_until_waiting(world.my_turn_game)
    harness.save_game()
    harness.wait_state(TurnState.DETECTED)
    prompt = wait_note(harness.qtbot, notification_server, "Submit this save for Mine to play?")
    with harness.qtbot.waitSignal(harness.app.notifier.activated, timeout=WAIT_MS) as blocker:
        notification_server.click(prompt.id)
    assert blocker.args == [f"turn:{world.my_turn_game}"]
    assert harness.player.state is TurnState.DETECTED
    assert simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 5


@pytest.mark.expect_warning_logs  # the failed download is logged
def test_folder_that_cannot_be_created_shows_a_message(harness, world, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    harness.app.ctx.settings.set("save_dir_civ6", str(blocker / "Hotseat"))
    harness.player.play(world.my_turn_game)
    harness.wait_state(TurnState.ERROR)
    text = harness.view.panel.message.text()
    assert "cannot be created or used" in text and str(blocker / "Hotseat") in text
    assert shown_buttons(harness.view.panel) == ["retry", "cancel"]


@pytest.mark.expect_warning_logs  # the failed download is logged
def test_not_your_turn_any_more_shows_the_service_message(harness, simulator, world):
    simulator.set_current_player(world.my_turn_game, world.alice)  # the app's list is now stale
    harness.player.play(world.my_turn_game)
    harness.wait_state(TurnState.ERROR)
    assert harness.view.panel.message.text() == "It's not your damn turn!"
    assert not (harness.save_dir / DOWNLOADED).exists()
    # the refused turn triggers a reload
    harness.qtbot.waitUntil(
        lambda: all(g.game_id != world.my_turn_game for g in harness.app.session.snapshot().my_turns()), timeout=WAIT_MS
    )


def test_first_turn_game_is_not_downloaded(harness, simulator, world):
    simulator.reset_counts()
    harness.player.play(world.first_turn_game)
    assert harness.player.state is TurnState.ERROR
    assert "upload the first save on the website" in harness.view.panel.message.text()
    assert simulator.request_count("getTurn") == 0


def test_cancel_while_waiting_stops_watching(harness, world):
    harness.play_until_waiting(world.my_turn_game)
    harness.click("cancel")
    assert harness.player.state is TurnState.IDLE and not harness.player.watching
    assert not harness.view.panel.isVisible()


@pytest.mark.expect_warning_logs  # the refused token is logged
def test_refused_token_goes_to_sign_in(harness, simulator, world):
    simulator.unauthorized_next("getTurn")
    harness.player.play(world.my_turn_game)
    harness.wait_state(TurnState.ERROR)
    assert not harness.app.session.signed_in and harness.app.session.auth_failed


def test_launch_and_open_folder_use_the_desktop_url_handlers(harness, world):
    launched: list[str] = []
    harness.view.open_url = lambda url: launched.append(url) or True
    recorder = UrlRecorder()
    QDesktopServices.setUrlHandler("file", recorder, "open")
    try:
        harness.app.ctx.settings.set("launch_game", True)
        harness.player.launch_delay = 0.01
        harness.play_until_waiting(world.my_turn_game)
        harness.qtbot.waitUntil(lambda: bool(launched), timeout=WAIT_MS)
        assert launched == ["steam://run/289070/\\dx11"]  # unchanged: one literal backslash
        harness.click("open_folder")
        assert recorder.urls == [QUrl.fromLocalFile(str(harness.save_dir)).toString()]
    finally:
        QDesktopServices.unsetUrlHandler("file")


def test_tray_entry_plays_my_turn_and_opens_the_page_otherwise(harness, world, monkeypatch):
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *_args, **_kwargs: opened.append(url) or True)
    page = f"{WEBSITE_URL}/game/{world.their_turn_game}"
    harness.app.tray.open_game.emit(world.their_turn_game)
    assert opened == [page]  # the web page of a game that is not my turn
    harness.app.tray.open_game.emit(world.my_turn_game)
    harness.wait_state(TurnState.WAITING)
    assert opened == [page]


def show_window(harness: Harness) -> None:
    """Build and show the window as app.py does, attaching it to the turn player."""
    harness.app.show_games()
    harness.view.attach_window(harness.app.presenter.window)


def test_window_shown_from_the_tray_gets_the_panel(harness, world):
    harness.app.tray.show_window.emit()
    assert harness.app.presenter.window.isVisible()
    assert harness.view.panel is not None and harness.view.panel.parent() is not None


def test_play_button_of_the_window_starts_the_turn(harness, world):
    show_window(harness)
    card = harness.app.presenter.window.card(world.my_turn_game)
    assert card is not None
    card.button("Play turn").click()
    harness.wait_state(TurnState.WAITING)
    assert (harness.save_dir / DOWNLOADED).is_file()


def test_game_type_names_come_from_the_metadata(harness, world):
    show_window(harness)
    harness.qtbot.waitUntil(lambda: harness.view.type_names.get("CIV6") == "Civilization 6", timeout=WAIT_MS)
    harness.qtbot.waitUntil(lambda: harness.app.presenter.window.rows()[0][1] == "Civilization 6", timeout=WAIT_MS)


def test_demo_save_button_stands_in_for_the_game(harness, simulator, world):
    harness.view.waiting_actions = dict(DEMO_WAITING_ACTIONS)  # what the demo passes to the app
    harness.play_until_waiting(world.my_turn_game)
    assert "demo_save" in shown_buttons(harness.view.panel)
    watcher = harness.player.watcher
    harness.qtbot.waitUntil(lambda: watcher.grace_over, timeout=WAIT_MS)
    harness.click("demo_save")
    harness.wait_state(TurnState.DETECTED)
    assert harness.player.turn.pending.name == "Mine to play round 2.Civ6Save"
    harness.click("submit")
    harness.wait_state(TurnState.DONE)
    assert simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 6


def test_auto_download_places_a_new_turn_without_showing_the_window(harness, simulator, world):
    harness.app.ctx.settings.set("auto_download", True)
    simulator.advance_turn(world.their_turn_game)  # Alice plays: my turn there
    harness.app.session.request("push")
    harness.wait_state(TurnState.WAITING)
    assert harness.player.turn.game.game_id in {world.my_turn_game, world.their_turn_game}
    assert (harness.save_dir / DOWNLOADED).is_file()
    assert harness.player.turn.background
    assert not any(isinstance(widget, GamesWindow) and widget.isVisible() for widget in QApplication.topLevelWidgets())
    harness.app.session.request("push")  # the same turns again: nothing new is downloaded
    harness.qtbot.waitUntil(lambda: not harness.app.session.engine.busy, timeout=WAIT_MS)
    assert harness.player.state is TurnState.WAITING
