"""The tray app with the relay push path: simulator webhook -> local relay -> app -> fetch -> notification.

Real parts throughout: the PYDT simulator over HTTP, the ntfy-compatible relay over HTTP, gnome-keyring for
the relay secrets, mosquitto for the IoT path, and the notification server on a private D-Bus.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from pydt_tray.core import logs
from pydt_tray.core.api import PydtClient
from pydt_tray.core.context import load_context
from pydt_tray.core.relay_setup import RelaySetup
from pydt_tray.core.relay_store import RelayRecord, relay_store
from pydt_tray.push.ntfy_stream import CONNECTED
from tests.helpers.ntfy_relay import NtfyRelay
from tests.integration.app_harness import WAIT_MS

pytestmark = pytest.mark.integration

FOREIGN = "https://hooks.example.invalid/team/abc"


@pytest.fixture(autouse=True)
def _keyring(secret_service) -> Iterator[None]:
    """The relay secrets live in a real gnome-keyring on the test bus."""
    yield
    logs.clear_secrets()


def enable_relay(app_factory, simulator, world, relay: NtfyRelay) -> RelayRecord:
    """``relay enable`` for the test account, into the app's own secret store (before the app starts)."""
    ctx = load_context(app_factory.env)
    client = PydtClient(simulator.base_url, world.token, timeout=(2.0, 5.0), backoff=0.0)
    try:
        result = RelaySetup(client, relay_store(ctx.paths.config_dir), verify_timeout=5.0).enable(
            relay.url, keepalive_seconds=relay.keepalive
        )
    finally:
        client.close()
    return result.record


def turn_messages(relay: NtfyRelay, record: RelayRecord) -> int:
    return sum(1 for m in relay.messages(record.topic) if m["message"].startswith("{"))


def start_with_relay(app_factory, notification_server, *, with_push: bool = False):
    app = app_factory.start(with_push=with_push)
    app_factory.qtbot.waitUntil(lambda: app.push.relay.live, timeout=WAIT_MS)
    app_factory.qtbot.waitUntil(lambda: len(notification_server.notifications) >= 1, timeout=WAIT_MS)
    app_factory.wait_synced(app)
    notification_server.clear()
    return app


def wait_notifications(app_factory, server, count: int) -> None:
    app_factory.qtbot.waitUntil(lambda: len(server.notifications) >= count, timeout=WAIT_MS)


def settle(app_factory, app) -> None:
    """Wait until nothing is left in flight (a duplicate would have been shown by then)."""
    app_factory.qtbot.waitUntil(lambda: not app.session.engine.busy, timeout=WAIT_MS)


def test_a_new_turn_through_the_relay_gives_exactly_one_notification(
    app_factory, notification_server, simulator, world, ntfy_relay
) -> None:
    record = enable_relay(app_factory, simulator, world, ntfy_relay)
    app = start_with_relay(app_factory, notification_server)
    assert app.push.connection is None and app.push.relay.path.state == CONNECTED
    assert "Live (relay)" in app.tray.model.tooltip and "Live (relay)" in app.presenter.status_text()
    relaxed = int(app.ctx.settings.get("poll_interval_seconds")) * 1000
    assert relaxed <= app.backstop.timer.interval() <= 3 * relaxed  # the long one (start loads spend the budget)
    fetches = app.session.engine.fetch_count
    simulator.advance_turn(world.their_turn_game)  # Alice -> me: the webhook goes to the relay
    wait_notifications(app_factory, notification_server, 1)
    settle(app_factory, app)
    assert [n.summary for n in notification_server.notifications] == ["Your turn: Alice is playing"]
    assert app.push.relay.messages == 1 and app.session.engine.fetch_count == fetches + 1
    assert turn_messages(ntfy_relay, record) == 1


def test_both_paths_live_still_one_notification(app_factory, notification_server, simulator, world, ntfy_relay):
    enable_relay(app_factory, simulator, world, ntfy_relay)
    app = start_with_relay(app_factory, notification_server, with_push=True)
    app_factory.wait_live(app)
    app_factory.qtbot.waitUntil(lambda: "Live (AWS IoT + relay)" in app.tray.model.tooltip, timeout=WAIT_MS)
    messages = app.push.messages
    simulator.advance_turn(world.their_turn_game)  # the webhook (relay) and then the IoT ping
    app_factory.qtbot.waitUntil(lambda: app.push.messages - messages == 2, timeout=WAIT_MS)
    wait_notifications(app_factory, notification_server, 1)
    settle(app_factory, app)
    assert len(notification_server.notifications) == 1


def test_relay_restart_and_a_half_open_stream_lose_nothing_and_duplicate_nothing(
    app_factory, notification_server, simulator, world, ntfy_relay
) -> None:
    game = simulator.add_game(name="Duel", players=[world.alice, world.me], current=world.alice, turn=2)
    enable_relay(app_factory, simulator, world, ntfy_relay)
    app = start_with_relay(app_factory, notification_server)
    expected = 0

    def my_turn_then_back() -> None:
        nonlocal expected
        expected += 1
        wait_notifications(app_factory, notification_server, expected)
        settle(app_factory, app)
        simulator.advance_turn(game)  # me -> Alice (no notification for that)

    simulator.advance_turn(game)  # 1: a plain turn
    my_turn_then_back()

    ntfy_relay.stop()  # 2: the relay is down while the turn is posted (PYDT's POST fails and is dropped)
    app_factory.qtbot.waitUntil(lambda: "live push reconnecting…" in app.tray.model.tooltip, timeout=WAIT_MS)
    simulator.advance_turn(game)
    ntfy_relay.start()  # back: the reconnect asks for a catch-up fetch, which finds the turn
    app_factory.qtbot.waitUntil(lambda: app.push.relay.live, timeout=WAIT_MS)
    my_turn_then_back()

    ntfy_relay.go_half_open()  # 3: the stream goes silent; the turn is stored by the relay meanwhile
    simulator.advance_turn(game)
    app_factory.qtbot.waitUntil(lambda: not app.push.relay.live, timeout=WAIT_MS)  # 2 x 1 s of silence: dead
    app_factory.qtbot.waitUntil(lambda: app.push.relay.live, timeout=WAIT_MS)
    my_turn_then_back()
    resumed = ntfy_relay.subscribes()[-1]
    assert resumed.query.get("since"), "the reconnect resumes after the last message id"

    ntfy_relay.restart(downtime=0.2)  # 4: a restart between turns, then two more turns
    app_factory.qtbot.waitUntil(lambda: app.push.relay.live, timeout=WAIT_MS)
    for _ in range(2):
        simulator.advance_turn(game)
        my_turn_then_back()

    summaries = [n.summary for n in notification_server.notifications]
    assert summaries == ["Your turn: Duel"] * 5, summaries


def test_wake_reconnects_the_relay_at_once(app_factory, notification_server, simulator, world, ntfy_relay):
    enable_relay(app_factory, simulator, world, ntfy_relay)
    app = start_with_relay(app_factory, notification_server)
    subscribes = len(ntfy_relay.subscribes())
    app.push.on_wake("test resume")
    ntfy_relay.wait_for_subscribes(subscribes + 1, timeout=5)
    app_factory.qtbot.waitUntil(lambda: app.push.relay.live, timeout=WAIT_MS)


def test_settings_window_turns_the_relay_on_and_off_with_a_confirm_for_a_foreign_webhook(
    app_factory, notification_server, simulator, world, ntfy_relay, monkeypatch
) -> None:
    simulator.set_webhook_url(world.me, FOREIGN)
    app = app_factory.start(with_push=False)
    app_factory.wait_synced(app)
    app.reactions.show_settings()
    section = app.relay.section
    tabs = app.reactions.settings_window.tabs
    assert section is not None and tabs.tabText(tabs.count() - 1) == "Real-time push"
    assert "live push is off" in section.headline.text() and section.relay_state.text() == "Relay: off"
    asked: list[str] = []

    def yes(parent, title, text, *rest):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", yes)
    section.server.setText(ntfy_relay.url)
    app_factory.qtbot.mouseClick(section.enable_button, Qt.MouseButton.LeftButton)
    app_factory.qtbot.waitUntil(lambda: app.push.relay.live, timeout=WAIT_MS)
    assert "hooks.example.invalid" in asked[0]
    assert simulator.webhook_url(world.me).startswith(ntfy_relay.url + "/")
    app_factory.qtbot.waitUntil(lambda: section.headline.text() == "Live (relay)", timeout=WAIT_MS)
    assert "checked end to end" in shown(section)
    notification_server.clear()
    simulator.advance_turn(world.their_turn_game)
    wait_notifications(app_factory, notification_server, 1)
    app_factory.qtbot.mouseClick(section.disable_button, Qt.MouseButton.LeftButton)
    app_factory.qtbot.waitUntil(lambda: simulator.webhook_url(world.me) == FOREIGN, timeout=WAIT_MS)
    app_factory.qtbot.waitUntil(lambda: "is back" in shown(section), timeout=WAIT_MS)
    assert not app.push.relay.on and "live push is off" in section.headline.text()


def test_sign_out_restores_the_previous_webhook(app_factory, notification_server, simulator, world, ntfy_relay):
    simulator.set_webhook_url(world.me, FOREIGN)
    ctx = load_context(app_factory.env)
    client = PydtClient(simulator.base_url, world.token, timeout=(2.0, 5.0), backoff=0.0)
    try:
        RelaySetup(client, relay_store(ctx.paths.config_dir), verify_timeout=5.0).enable(
            ntfy_relay.url, replace=True, keepalive_seconds=ntfy_relay.keepalive
        )
    finally:
        client.close()
    app = start_with_relay(app_factory, notification_server)
    app.session.sign_out()
    assert not app.push.relay.on
    app_factory.qtbot.waitUntil(lambda: simulator.webhook_url(world.me) == FOREIGN, timeout=WAIT_MS)
    app_factory.qtbot.waitUntil(lambda: relay_store(ctx.paths.config_dir).load() is None, timeout=WAIT_MS)


def test_a_failed_sign_out_disable_keeps_the_record_and_says_so(
    app_factory, notification_server, simulator, world, ntfy_relay, caplog
) -> None:
    record = enable_relay(app_factory, simulator, world, ntfy_relay)
    app = start_with_relay(app_factory, notification_server)
    simulator.fail_next("getCurrentWithPud", 500, count=4)  # every attempt fails
    app.session.sign_out()
    app_factory.qtbot.waitUntil(
        lambda: any(n.summary == "pydt-tray: the relay is still on" for n in notification_server.notifications),
        timeout=WAIT_MS,
    )
    ctx = load_context(app_factory.env)
    assert relay_store(ctx.paths.config_dir).load() == record  # kept, so it can be turned off later
    assert not app.push.relay.on  # and nothing streams while signed out
    assert simulator.webhook_url(world.me) == record.webhook_url
    assert "The relay could not be turned off at sign-out" in caplog.text


def shown(section) -> str:
    """The section's message line, "" while hidden."""
    return section.message.text() if not section.message.isHidden() else ""
