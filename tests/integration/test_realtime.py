"""Push -> coalesced reload -> desktop notification, with the real broker, simulator and D-Bus server."""

from __future__ import annotations

import time

import pytest

from pydt_tray.core.push_state import PushMode
from pydt_tray.platform.wake import ClockJumpSource
from tests.helpers.tray_menu import menu_texts
from tests.integration.app_harness import WAIT_MS

pytestmark = pytest.mark.integration


def summaries(server) -> list[str]:
    return [n.summary for n in server.notifications]


def start_live(app_factory, notification_server, **kwargs):
    """An app that is subscribed and has shown (and cleared) its start-up notification."""
    app = app_factory.start(**kwargs)
    app_factory.wait_live(app)
    app_factory.qtbot.waitUntil(lambda: len(notification_server.notifications) >= 1, timeout=WAIT_MS)
    app_factory.wait_synced(app)
    notification_server.clear()
    return app


def test_hello_leads_to_a_notification_naming_the_game(app_factory, notification_server, simulator, world, mosquitto):
    app = start_live(app_factory, notification_server)
    simulator.advance_turn(world.their_turn_game)  # Alice plays: now it's my turn -> Hello! to me
    app_factory.qtbot.waitUntil(lambda: len(notification_server.notifications) == 1, timeout=WAIT_MS)
    note = notification_server.notifications[0]
    assert note.summary == "Your turn: Alice is playing"
    assert "Alice played last" in note.body
    assert note.app_name == "pydt-tray"
    assert app.push.messages >= 1
    assert simulator.request_count("poll") >= 1, "the push path reloads through the pollUrl"
    status = app.presenter.status_text()
    assert "1 turn" not in status and "3 turns waiting · Live (AWS IoT)" in status


def test_keepalive_600_reaches_the_broker(app_factory, notification_server, mosquitto):
    app = app_factory.start()
    app_factory.wait_live(app)
    line = mosquitto.wait_for_log("k600", timeout=10)
    assert "pydt-tray-" in line
    mosquitto.wait_for_log("/gameupdate", timeout=10)


def test_first_turn_is_shown_but_never_notified(app_factory, notification_server, simulator, world):
    app = start_live(app_factory, notification_server)
    game = simulator.add_game(name="Fresh start", players=[world.me, world.alice], current=world.me, turn=1)
    simulator.update_game(game, displayName="Fresh start")  # a game-updated ping to every player
    app_factory.qtbot.waitUntil(
        lambda: app.session.snapshot() is not None and game in {g.game_id for g in app.session.snapshot().my_turns()},
        timeout=WAIT_MS,
    )
    app_factory.wait_synced(app)
    assert notification_server.notifications == []
    assert any(text.startswith("Fresh start") for text in menu_texts(app.tray))


def test_burst_of_30_messages_makes_at_most_2_fetches_and_one_notification(
    app_factory, notification_server, simulator, world, mosquitto
):
    app = start_live(app_factory, notification_server)
    before_fetches = app.session.engine.fetch_count
    before_messages = app.push.messages
    simulator.advance_turn(world.their_turn_game)  # Alice -> me: one Hello! from the service
    topic = app.ctx.endpoints.topic_for(world.me)  # the topic the app subscribed to
    for _ in range(29):
        mosquitto.publish(topic, b"Hello!")
    app_factory.qtbot.waitUntil(lambda: app.push.messages - before_messages == 30, timeout=WAIT_MS)
    app_factory.qtbot.waitUntil(lambda: not app.session.engine.busy and len(notification_server.notifications) >= 1)
    fetches = app.session.engine.fetch_count - before_fetches
    assert 1 <= fetches <= 2, fetches
    assert len(notification_server.notifications) == 1


def test_server_errors_then_success_still_notify(app_factory, notification_server, simulator, world):
    app = start_live(app_factory, notification_server)
    simulator.fail_next("poll", 500, count=1)
    simulator.fail_next("games", 503, count=1)
    simulator.advance_turn(world.their_turn_game)
    app_factory.qtbot.waitUntil(lambda: len(notification_server.notifications) == 1, timeout=WAIT_MS)
    assert notification_server.notifications[0].summary == "Your turn: Alice is playing"
    assert app.session.last_error == ""


@pytest.mark.expect_warning_logs  # the unreadable reply is logged
def test_malformed_reply_keeps_the_app_alive_and_it_recovers(app_factory, notification_server, simulator, world):
    app = start_live(app_factory, notification_server)
    simulator.malformed_next("poll", count=1)
    simulator.malformed_next("games", count=4)
    simulator.update_game(world.their_turn_game, displayName="Renamed")  # ping; the reload fails
    app_factory.qtbot.waitUntil(lambda: app.session.last_error != "", timeout=WAIT_MS)
    assert app.tray.model.status.name == "ERROR"
    simulator.advance_turn(world.their_turn_game)  # my turn: this reload works
    app_factory.qtbot.waitUntil(lambda: len(notification_server.notifications) == 1, timeout=WAIT_MS)
    assert notification_server.notifications[0].summary == "Your turn: Renamed"
    assert app.session.last_error == ""


def test_pending_turn_at_start_is_notified_once_and_not_after_restart(app_factory, notification_server, world):
    first = app_factory.start()
    app_factory.qtbot.waitUntil(lambda: len(notification_server.notifications) == 1, timeout=WAIT_MS)
    assert notification_server.notifications[0].summary == "Your turn: Mine to play"
    app_factory.stop(first)

    second = app_factory.start()
    app_factory.wait_live(second)
    app_factory.wait_synced(second)
    assert second.session.snapshot() is not None and len(second.session.snapshot().my_turns()) == 2
    assert len(notification_server.notifications) == 1


def test_broker_restart_during_a_new_turn_resubscribes_and_catches_up(
    app_factory, notification_server, simulator, world, mosquitto
):
    app = start_live(app_factory, notification_server)
    mosquitto.stop()
    app_factory.qtbot.waitUntil(lambda: app.push.state.mode is PushMode.RECONNECTING, timeout=WAIT_MS)
    simulator.advance_turn(world.their_turn_game)  # the Hello! for this is lost: the broker is down
    mark = mosquitto.log_mark()
    mosquitto.start()
    app_factory.wait_live(app)
    mosquitto.wait_for_log("SUBSCRIBE", since=mark, timeout=10)
    app_factory.qtbot.waitUntil(lambda: len(notification_server.notifications) == 1, timeout=WAIT_MS)
    assert notification_server.notifications[0].summary == "Your turn: Alice is playing"


def test_while_push_is_down_a_new_turn_is_found_by_polling_within_seconds(
    app_factory, notification_server, simulator, world, mosquitto
):
    """The broker stays away: the loss polls at once, then every 15 s; no reconnect is needed to see the turn."""
    app = start_live(app_factory, notification_server)
    polls = simulator.request_count("poll")
    mosquitto.stop()
    app_factory.qtbot.waitUntil(lambda: app.push.state.mode is PushMode.RECONNECTING, timeout=WAIT_MS)
    app_factory.qtbot.waitUntil(lambda: simulator.request_count("poll") > polls, timeout=3_000)  # at once
    assert "reconnecting…" in app.tray.model.tooltip and app.tray.model.status.name == "YOUR_TURN"
    app_factory.wait_synced(app)
    simulator.advance_turn(world.their_turn_game)  # its Hello! is lost: the broker is down
    became_mine = time.monotonic()
    app_factory.qtbot.waitUntil(lambda: len(notification_server.notifications) == 1, timeout=20_000)
    assert time.monotonic() - became_mine <= 15.0 + 2.0
    assert notification_server.notifications[0].summary == "Your turn: Alice is playing"
    assert app.push.state.mode is PushMode.RECONNECTING  # found by polling, not by a reconnect


def test_resume_forces_a_reconnect_and_a_fetch(app_factory, notification_server, mosquitto):
    clock = {"wall": 1_000_000.0, "mono": 500.0}
    source = ClockJumpSource(interval_ms=3_600_000, wall=lambda: clock["wall"], mono=lambda: clock["mono"])
    app = start_live(app_factory, notification_server, wake_sources=[source])
    connects_before = mosquitto.log_text().count("k600")
    fetches_before = app.session.engine.fetch_count
    clock["wall"] += 900  # the machine slept 15 minutes: wall time moved, monotonic time did not
    clock["mono"] += 1
    assert source.check_now()
    app_factory.qtbot.waitUntil(lambda: mosquitto.log_text().count("k600") > connects_before, timeout=WAIT_MS)
    app_factory.wait_live(app)
    app_factory.qtbot.waitUntil(lambda: app.session.engine.fetch_count > fetches_before, timeout=WAIT_MS)


def test_without_iot_credentials_polling_finds_the_turn(app_factory, notification_server, simulator, world):
    def fast_polling(app):
        app.backstop.poll_while_push_down = 1

    app = app_factory.start(with_push=False, before_start=fast_polling)
    app_factory.qtbot.waitUntil(lambda: len(notification_server.notifications) == 1, timeout=WAIT_MS)
    notification_server.clear()
    assert app.push.connection is None and app.push.state.mode is PushMode.OFF
    assert "Checking every 1 s: live push is off (turn it on in Settings → Real-time push)" in app.tray.model.tooltip
    assert app.tray.model.status.name == "YOUR_TURN"
    simulator.advance_turn(world.their_turn_game)
    app_factory.qtbot.waitUntil(lambda: len(notification_server.notifications) == 1, timeout=WAIT_MS)
    assert notification_server.notifications[0].summary == "Your turn: Alice is playing"


def test_clicking_the_notification_opens_the_game_list(app_factory, notification_server):
    app = app_factory.start()
    app_factory.qtbot.waitUntil(lambda: len(notification_server.notifications) == 1, timeout=WAIT_MS)
    assert not app.presenter.window.isVisible()
    notification_server.click(notification_server.notifications[0].id)
    app_factory.qtbot.waitUntil(app.presenter.window.isVisible, timeout=WAIT_MS)
    assert any(row[0] == "Mine to play" for row in app.presenter.window.rows())


@pytest.mark.expect_warning_logs  # the refused token is logged
def test_token_revoked_leads_back_to_sign_in(app_factory, notification_server, simulator, world):
    app = start_live(app_factory, notification_server)
    simulator.revoke_tokens(world.me)
    app.session.request("user refresh", full=True)
    app_factory.qtbot.waitUntil(lambda: app.session.auth_failed, timeout=WAIT_MS)
    assert app.session.token is None and app.push.connection is None
    assert "Sign in…" in menu_texts(app.tray)
    app_factory.qtbot.waitUntil(lambda: len(notification_server.notifications) == 1, timeout=WAIT_MS)
    assert "sign in again" in notification_server.notifications[0].summary
