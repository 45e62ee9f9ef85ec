"""Two accounts with the relay on for both: one stream carries both topics, and a webhook for one account loads
that account only. Real parts: the simulator's webhooks, the ntfy-compatible relay, gnome-keyring for the
relay records, the notification server on a private D-Bus."""

from __future__ import annotations

import pytest

from pydt_tray.core import logs
from pydt_tray.core.api import PydtClient
from pydt_tray.core.context import load_context
from pydt_tray.core.relay_setup import RelaySetup
from pydt_tray.core.relay_store import relay_store
from tests.integration.app_harness import publish_hook
from tests.integration.test_accounts_app import SECOND, WAIT_MS, TwoAccounts

pytestmark = pytest.mark.integration


@pytest.fixture
def relay_two(qtbot, qapp, simulator, world, mosquitto, notification_server, secret_service, tmp_path):
    publish_hook(simulator, mosquitto)
    accounts = TwoAccounts(qtbot, simulator, world, mosquitto, tmp_path / "home", with_push=False)
    try:
        yield accounts
    finally:
        accounts.close()
        logs.clear_secrets()


def enable_for(two: TwoAccounts, simulator, token: str, relay) -> None:
    store = relay_store(load_context(two.env).paths.config_dir)
    client = PydtClient(simulator.base_url, token, timeout=(2.0, 5.0), backoff=0.0)
    try:
        RelaySetup(client, store, verify_timeout=5.0).enable(relay.url, keepalive_seconds=relay.keepalive)
    finally:
        client.close()


def test_one_relay_stream_for_both_accounts_and_a_webhook_loads_its_account_only(
    relay_two: TwoAccounts, simulator, world, ntfy_relay, notification_server
) -> None:
    two = relay_two
    enable_for(two, simulator, world.token, ntfy_relay)
    enable_for(two, simulator, two.second_token, ntfy_relay)
    store = relay_store(load_context(two.env).paths.config_dir)
    records = {record.steam_id: record for record in store.load_all()}
    assert set(records) == {world.me, SECOND}, "each account keeps its own relay record"

    app = two.start()
    two.wait_idle(app, world.me, 1)
    two.wait_idle(app, SECOND, 1)
    both = sorted(records)
    two.qtbot.waitUntil(lambda: app.push.relay.live and sorted(app.push.relay_accounts) == both, timeout=WAIT_MS)
    two.qtbot.waitUntil(lambda: ntfy_relay.open_streams() == 1, timeout=WAIT_MS)  # one stream carries both topics
    path = ntfy_relay.subscribes()[-1].path
    assert records[world.me].topic in path and records[SECOND].topic in path
    two.qtbot.waitUntil(lambda: len(notification_server.notifications) >= 2, timeout=WAIT_MS)
    notification_server.clear()

    me_before, second_before = two.fetches(app, world.me), two.fetches(app, SECOND)
    simulator.advance_turn(two.shared)  # the shared game passes to the second account: its webhook only
    server = notification_server
    two.qtbot.waitUntil(lambda: any("(Second Me)" in n.summary for n in server.notifications), timeout=WAIT_MS)
    two.wait_idle(app, SECOND, second_before + 1)
    assert two.fetches(app, world.me) == me_before, "the relay message for the second account loaded only it"
    assert [n.summary for n in notification_server.notifications] == ["Your turn: Shared (Second Me)"]
