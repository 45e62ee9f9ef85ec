"""Smack talk end to end: a forum post pings every player, the app fetches once, notifies once, marks the game
unread in the tray and the turn API, and remembers what was read across restarts. Real broker, simulator,
D-Bus notification server and HTTP; the forum page is opened through a recording stand-in, never a browser."""

from __future__ import annotations

import json
import urllib.request

import pytest

from pydt_tray.ui.icons import TrayStatus
from tests.helpers.mosquitto import free_port
from tests.helpers.tray_menu import menu_texts
from tests.integration.app_harness import WAIT_MS
from tests.integration.test_realtime import start_live

pytestmark = pytest.mark.integration


def smack_notes(server) -> list:
    return [n for n in server.notifications if n.summary.startswith("New smack talk")]


def post_and_wait(app_factory, app, simulator, game_id: str, author: str) -> int:
    """Post, then wait for the fetch the ping causes; returns how many fetches it took."""
    before = app.session.engine.fetch_count
    simulator.post_smack_talk(game_id, author)
    app_factory.wait_synced(app, before + 1)
    return app.session.engine.fetch_count - before


def test_a_post_by_another_player_makes_one_fetch_and_one_notification(
    app_factory, notification_server, simulator, world
):
    app = start_live(app_factory, notification_server)
    fetches = post_and_wait(app_factory, app, simulator, world.their_turn_game, "alice")
    app_factory.qtbot.waitUntil(lambda: len(notification_server.notifications) == 1, timeout=WAIT_MS)
    assert fetches == 1
    note = notification_server.notifications[0]
    assert note.summary == "New smack talk in Alice is playing"
    assert "alice" in note.body
    smack = app.presenter.smack
    assert smack.unread_ids() == {world.their_turn_game}
    texts = menu_texts(app.tray)
    assert "Unread smack talk" in texts and "Mark all smack talk read" in texts
    assert any(text.strip().startswith("Alice is playing") and "new smack talk" in text for text in texts)
    # a reload without a new post says nothing again
    app.session.request("user refresh", full=True)
    app_factory.wait_synced(app, app.session.engine.fetch_count + 1)
    assert len(notification_server.notifications) == 1


def test_own_and_system_posts_neither_notify_nor_mark(app_factory, notification_server, simulator, world):
    app = start_live(app_factory, notification_server)
    assert post_and_wait(app_factory, app, simulator, world.their_turn_game, "me_on_forum") == 1
    assert post_and_wait(app_factory, app, simulator, world.their_turn_game, "system") == 1
    assert post_and_wait(app_factory, app, simulator, world.my_turn_game, "Me Myself") == 1
    assert smack_notes(notification_server) == []
    assert app.presenter.smack.unread_ids() == frozenset()


def test_turn_api_reports_unread_smack_truthfully(app_factory, notification_server, simulator, world):
    app = start_live(app_factory, notification_server)
    port = free_port()
    app.ctx.settings.set("turn_api_port", port)
    app.ctx.settings.set("turn_api_enabled", True)

    def has_unread() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/turns", timeout=5) as reply:
            return json.loads(reply.read())["hasUnreadSmack"]

    app_factory.qtbot.waitUntil(lambda: app.turn_api.server is not None, timeout=WAIT_MS)
    assert has_unread() is False
    post_and_wait(app_factory, app, simulator, world.their_turn_game, "alice")
    app_factory.qtbot.waitUntil(has_unread, timeout=WAIT_MS)
    app.presenter.smack.handle(f"smack:read:{world.their_turn_game}")
    assert has_unread() is False


def test_first_sight_is_read_and_read_state_survives_restarts(app_factory, notification_server, simulator, world):
    simulator.post_smack_talk(world.their_turn_game, "alice")  # before the app ever saw the game
    first = start_live(app_factory, notification_server)
    assert first.presenter.smack.unread_ids() == frozenset()
    post_and_wait(app_factory, first, simulator, world.their_turn_game, "bob")
    app_factory.qtbot.waitUntil(lambda: len(smack_notes(notification_server)) == 1, timeout=WAIT_MS)
    app_factory.stop(first)

    second = app_factory.start()
    app_factory.wait_synced(second)
    smack = second.presenter.smack
    assert smack.unread_ids() == {world.their_turn_game}, "still unread after a restart"
    assert len(smack_notes(notification_server)) == 1, "and not announced again"
    assert second.tray.model.status is TrayStatus.YOUR_TURN  # turns waiting outrank smack talk
    opened: list[str] = []
    smack.open_url = opened.append
    second.tray.action_requested.emit(f"smack:open:{world.their_turn_game}")
    topic = simulator.game(world.their_turn_game)["discourseTopicId"]
    assert opened == [f"https://discourse.playyourdamnturn.com/t/{topic}"]
    assert smack.unread_ids() == frozenset()
    app_factory.stop(second)

    third = app_factory.start()
    app_factory.wait_synced(third)
    assert third.presenter.smack.unread_ids() == frozenset(), "read stays read"
