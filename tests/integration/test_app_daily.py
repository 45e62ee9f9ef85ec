"""The running app's everyday controls: pause from the tray, "I'm away", snooze and mute from the window, the
tray and a notification's buttons, the timer countdown, and the update entry (simulator, D-Bus, local feed)."""

from __future__ import annotations

import pytest

from pydt_tray.core.policy import Notification
from tests.helpers.release_feed import Feed
from tests.helpers.tray_menu import click, menu_texts
from tests.integration.app_harness import WAIT_MS

pytestmark = pytest.mark.integration


def collect(app) -> list[Notification]:
    shown: list[Notification] = []
    app.notified.connect(shown.append)
    return shown


def test_pause_from_the_tray_holds_a_new_turn_and_resume_brings_it_back(app_factory, simulator, world, qtbot):
    app = app_factory.start(with_push=False)
    app_factory.wait_synced(app)
    shown = collect(app)
    texts = menu_texts(app.tray)
    assert "Pause notifications for 1 hour" in texts
    assert "Pause notifications until tomorrow morning" in texts
    assert click(app.tray, "Pause notifications for 1 hour")
    assert app.rules.quiet.is_quiet()
    assert any(line.startswith("Notifications paused until") for line in menu_texts(app.tray))
    assert "Resume notifications" in menu_texts(app.tray)

    simulator.advance_turn(world.their_turn_game)  # Alice played: my turn
    app.session.request("test")
    app_factory.wait_synced(app, 2)
    assert shown == []  # held
    assert click(app.tray, "Resume notifications")
    app.notices.check_reminders()
    assert [note.kind for note in shown] == ["summary"]
    assert shown[0].title.startswith("2 turns waiting: ")


def test_away_toggle_confirms_and_switches_vacation_mode(app_factory, simulator, world, qtbot):
    app = app_factory.start(with_push=False)
    app_factory.wait_synced(app)
    asked: list[str] = []
    app.daily.confirm = lambda question: asked.append(question) or True
    assert click(app.tray, "I'm away")
    qtbot.waitUntil(lambda: app.rules.away, timeout=WAIT_MS)
    assert "vacation mode" in asked[0] and "no turn notifications" in asked[0]
    assert simulator.recorded("setUserInformation")
    assert "✓ I'm away (vacation mode)" in menu_texts(app.tray)
    assert "You are away" in app.tray.model.tooltip
    assert click(app.tray, "✓ I'm away")
    qtbot.waitUntil(lambda: not app.rules.away, timeout=WAIT_MS)


def test_mute_from_the_window_marks_the_game_and_silences_it(app_factory, simulator, world, qtbot):
    app = app_factory.start(with_push=False)
    app_factory.wait_synced(app)
    shown = collect(app)
    app.show_games()
    card = app.presenter.window.card(world.their_turn_game)
    assert card is not None and card.silence_menu is not None
    next(a for a in card.silence_menu.actions() if a.text() == "Mute this game").trigger()
    assert app.rules.games.is_muted(world.their_turn_game)
    assert app.presenter.window.card(world.their_turn_game).note == "muted"
    assert "muted" in str(app.ctx.state.to_json()["games"])  # saved in the state file
    simulator.advance_turn(world.their_turn_game)
    app.session.request("test")
    app_factory.wait_synced(app, 2)
    assert shown == []
    assert world.their_turn_game in {g.game_id for g in app.session.snapshot().my_turns()}  # still listed


def test_snooze_from_the_tray_menu(app_factory, world, qtbot):
    app = app_factory.start(with_push=False)
    app_factory.wait_synced(app)
    assert "Snooze or mute a game" in menu_texts(app.tray)
    assert click(app.tray, "Snooze until its next turn")  # the first game's entry
    snoozed = [g for g in app.session.snapshot().games if app.rules.games.snoozed_until(g) == "turn"]
    assert len(snoozed) == 1
    assert any("snoozed until its next turn" in text for text in menu_texts(app.tray))


def test_notification_buttons_snooze_or_mute_the_game(app_factory, simulator, world, notification_server, qtbot):
    app = app_factory.start(with_push=False)
    app_factory.wait_synced(app)
    first = notification_server.wait_for(1)[-1]
    assert first.summary == "Your turn: Mine to play"
    assert f"daily:mute:{world.my_turn_game}" in first.actions
    assert f"daily:snooze-1h:{world.my_turn_game}" in first.actions
    notification_server.click(first.id, f"daily:mute:{world.my_turn_game}")
    qtbot.waitUntil(lambda: app.rules.games.is_muted(world.my_turn_game), timeout=WAIT_MS)


def test_countdown_in_the_tray_and_a_timer_warning(app_factory, simulator, world, qtbot):
    from datetime import UTC, datetime, timedelta

    from pydt_tray.core.models import format_date

    started = datetime.now(UTC) - timedelta(minutes=50)
    simulator.update_game(world.my_turn_game, turnTimerMinutes=60, lastTurnEndDate=format_date(started))
    app = app_factory.start(with_push=False)
    shown = collect(app)
    app_factory.wait_synced(app)
    assert any("Timer expires in" in text for text in menu_texts(app.tray))
    qtbot.waitUntil(lambda: any(note.kind == "timer" for note in shown), timeout=WAIT_MS)


def test_update_entry_and_one_notice(app_factory, feed: Feed, qtbot):
    feed.serve_version("99.0")
    app_factory.env["PYDT_RELEASE_FEED_URL"] = feed.url
    app = app_factory.start(with_push=False)
    shown = collect(app)
    qtbot.waitUntil(lambda: any(note.kind == "update" for note in shown), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "Update available: pydt-tray 99.0…" in menu_texts(app.tray), timeout=WAIT_MS)
    assert len(feed.requests) == 1


def test_no_feed_request_against_a_test_service(app_factory, feed: Feed):
    app = app_factory.start(with_push=False)
    app_factory.wait_synced(app)
    assert app.rules.updates.url == ""  # PYDT_API_URL points at the simulator: no default feed
    assert feed.requests == []
