"""Two accounts signed in at once in the real app: one push connection over the real mosquitto broker, a
session per account, notifications over the real D-Bus notification server, turns submitted with the
owner's token, a refused token ending one account only, and the state kept per account across a restart."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from pydt_tray.app import TrayApp
from pydt_tray.core.accounts import AccountBook
from pydt_tray.core.context import load_context
from pydt_tray.core.credentials import TokenStore
from pydt_tray.core.environment import Endpoints
from pydt_tray.core.transfer import download_name
from pydt_tray.core.turn_player import TurnState
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.mosquitto import free_port, push_env
from tests.helpers.tray_menu import menu_texts
from tests.integration.app_harness import publish_hook

WAIT_MS = 15_000
SECOND = "76561190000000009"


class TwoAccounts:
    """The world's "me" plus a second account of the same person, both in the test keyring."""

    def __init__(self, qtbot, simulator, world, mosquitto, home: Path, *, with_push: bool = True) -> None:
        self.qtbot, self.simulator, self.world, self.mosquitto, self.home = qtbot, simulator, world, mosquitto, home
        self.second_token = simulator.add_user(SECOND, "Second Me")
        self.shared = simulator.add_game(name="Shared", players=[world.me, SECOND], current=world.me, turn=4)
        self.second_own = simulator.add_game(name="Second alone", players=[SECOND, world.alice], current=SECOND, turn=3)
        self.keyring = MemoryKeyring()
        self.env = {"PYDT_TRAY_HOME": str(home), "PYDT_API_URL": simulator.base_url}
        if with_push:
            self.env.update(push_env(mosquitto))
        self.book().add(world.me, "Me Myself", world.token)
        self.book().add(SECOND, "Second Me", self.second_token)
        self.apps: list[TrayApp] = []

    def book(self) -> AccountBook:
        def store(username, plaintext, allow):
            return TokenStore(backend=self.keyring, username=username, plaintext_path=plaintext, allow_plaintext=allow)

        return AccountBook(Path(self.home) / "config", make_store=store)

    def start(self, save_dir: Path | None = None) -> TrayApp:
        ctx = load_context(self.env)
        ctx.account_book = self.book  # type: ignore[method-assign]
        if save_dir is not None:
            ctx.settings.set("save_dir_civ6", str(save_dir))
            ctx.settings.set("launch_game", False)
        app = TrayApp(QApplication.instance(), ctx, show_window=False)
        self.apps.append(app)
        app.start()
        return app

    def session(self, app: TrayApp, steam_id: str):
        found = app.session.session_for(steam_id)
        assert found is not None, f"no session for {steam_id}"
        return found

    def fetches(self, app: TrayApp, steam_id: str) -> int:
        engine = self.session(app, steam_id).engine
        return engine.fetch_count if engine is not None else -1

    def wait_idle(self, app: TrayApp, steam_id: str, count: int) -> None:
        def done() -> bool:
            engine = self.session(app, steam_id).engine
            return engine is not None and engine.fetch_count >= count and not engine.busy

        self.qtbot.waitUntil(done, timeout=WAIT_MS)

    def wait_started(self, app: TrayApp) -> None:
        self.wait_idle(app, self.world.me, 1)
        self.wait_idle(app, SECOND, 1)
        self.qtbot.waitUntil(lambda: app.push.state.live and len(app.push.steam_ids) == 2, timeout=WAIT_MS)
        topics = [Endpoints(stage="prod").topic_for(steam_id) for steam_id in (self.world.me, SECOND)]
        self.qtbot.waitUntil(lambda: app.push.connection is not None, timeout=WAIT_MS)
        for topic in topics:
            self.mosquitto.wait_for_log(f"{topic} (QoS 0)")

    def close(self) -> None:
        for app in self.apps:
            app.quit()


@pytest.fixture
def two(qtbot, qapp, simulator, world, mosquitto, notification_server, tmp_path) -> Iterator[TwoAccounts]:
    publish_hook(simulator, mosquitto)
    accounts = TwoAccounts(qtbot, simulator, world, mosquitto, tmp_path / "home")
    try:
        yield accounts
    finally:
        accounts.close()


def turn_notes(server, game_name: str) -> list[str]:
    return [n.summary for n in server.notifications if n.summary.startswith(f"Your turn: {game_name}")]


def test_one_connection_carries_both_topics_and_a_push_loads_only_its_account(two, world, mosquitto) -> None:
    mark = mosquitto.log_mark()
    app = two.start()
    two.wait_started(app)
    client_id = app.push.connection.config.client_id
    assert mosquitto.log_text()[mark:].count(f"as {client_id} (") == 1, "one connection for both accounts"
    assert app.push.connection.config.topics == tuple(Endpoints(stage="prod").topic_for(s) for s in (world.me, SECOND))

    me_before, second_before = two.fetches(app, world.me), two.fetches(app, SECOND)
    mosquitto.publish(Endpoints(stage="prod").topic_for(SECOND), b"Hello!")
    two.wait_idle(app, SECOND, second_before + 1)
    mosquitto.publish(Endpoints(stage="prod").topic_for(world.me), b"Hello!")
    two.wait_idle(app, world.me, me_before + 1)
    assert two.fetches(app, world.me) == me_before + 1, "the push on the second topic did not load the first account"
    assert two.fetches(app, SECOND) == second_before + 1, "the push on the first topic did not load the second"


def test_tray_menu_and_turn_api_name_the_account(two, world) -> None:
    app = two.start()
    two.wait_started(app)
    texts = menu_texts(app.tray)
    assert any(t.startswith("▶ Second alone") and "Second Me" in t for t in texts), texts
    assert any(t.startswith("▶ Shared") and "Me Myself" in t for t in texts), texts
    assert "Sign out of every account" in texts and "Sign out" not in texts, "the entry signs out both accounts"
    port = free_port()
    app.ctx.settings.set("turn_api_port", port)
    app.ctx.settings.set("turn_api_enabled", True)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/turns", timeout=5) as reply:
        body = json.loads(reply.read())
    accounts = {game["name"]: game["account"] for game in body["games"]}
    assert accounts["Second alone"] == "Second Me" and accounts["Shared"] == "Me Myself"
    assert accounts["Mine to play"] == "Me Myself" and body["count"] == len(accounts) == 4


def test_a_turn_passing_to_the_other_account_notifies_it_once_and_restart_keeps_it(
    two, world, simulator, notification_server
) -> None:
    app = two.start()
    two.wait_started(app)
    notification_server.wait_for(2)  # first sight: the turns waiting at start are told, once per account
    summaries = sorted(n.summary for n in notification_server.notifications)
    assert summaries == ["2 turns are waiting for you (Me Myself)", "Your turn: Second alone (Second Me)"]
    mine = next(n for n in notification_server.notifications if "(Me Myself)" in n.summary)
    assert "Shared" in mine.body and "Mine to play" in mine.body
    notification_server.clear()

    second_before = two.fetches(app, SECOND)
    simulator.advance_turn(two.shared)  # "me" played: the service pings both players' topics
    two.qtbot.waitUntil(lambda: turn_notes(notification_server, "Shared") != [], timeout=WAIT_MS)
    two.wait_idle(app, SECOND, second_before + 1)
    two.wait_idle(app, world.me, 2)
    app.session.request("user refresh", full=True)  # one more load of each must not repeat it
    two.wait_idle(app, SECOND, two.fetches(app, SECOND))
    two.wait_idle(app, world.me, two.fetches(app, world.me))
    assert turn_notes(notification_server, "Shared") == ["Your turn: Shared (Second Me)"]

    app.quit()
    two.apps.remove(app)
    state = json.loads((two.home / "state" / "state.json").read_text()) if (two.home / "state").exists() else None
    state = state or json.loads(next(two.home.rglob("state.json")).read_text())
    assert set(state["accounts"]) == {world.me, SECOND}
    assert any(key.startswith(two.shared) for key in state["accounts"][SECOND]["notified_turns"])
    notification_server.clear()
    again = two.start()
    two.wait_started(again)
    two.wait_idle(again, SECOND, 1)
    two.wait_idle(again, world.me, 1)
    assert turn_notes(notification_server, "Shared") == [] and turn_notes(notification_server, "Second alone") == []


@pytest.mark.expect_warning_logs  # the refused token is logged
def test_a_refused_token_ends_that_account_alone(two, world, simulator, mosquitto, notification_server) -> None:
    app = two.start()
    two.wait_started(app)
    refused: list[str] = []
    app.session.token_refused.connect(refused.append)
    simulator.revoke_tokens(SECOND)
    mosquitto.publish(Endpoints(stage="prod").topic_for(SECOND), b"Hello!")
    two.qtbot.waitUntil(lambda: not two.session(app, SECOND).signed_in, timeout=WAIT_MS)
    assert len(refused) == 1 and "Second Me" in refused[0]

    def signed() -> list:
        return [n for n in notification_server.notifications if n.summary == "pydt-tray: sign in again"]

    two.qtbot.waitUntil(lambda: len(signed()) >= 1, timeout=WAIT_MS)
    assert len(signed()) == 1 and "Second Me" in signed()[0].body
    assert two.session(app, world.me).signed_in and app.session.signed_in
    two.qtbot.waitUntil(lambda: app.push.steam_ids == [world.me] and app.push.state.live, timeout=WAIT_MS)
    before = two.fetches(app, world.me)
    mosquitto.publish(Endpoints(stage="prod").topic_for(world.me), b"Hello!")
    two.wait_idle(app, world.me, before + 1)  # the other account is still live over push
    assert len(refused) == 1 and len(signed()) == 1, "said once"


def test_a_turn_is_submitted_with_the_token_of_its_account(two, world, simulator, tmp_path) -> None:
    save_dir = tmp_path / "saves"
    app = two.start(save_dir=save_dir)
    two.wait_started(app)
    app.turn_player.grace_seconds = 0.2
    app.turn_player.play(two.second_own)  # the second account's own game
    two.qtbot.waitUntil(lambda: app.turn_player.state is TurnState.WAITING, timeout=WAIT_MS)
    assert (save_dir / download_name("Civ6Save")).is_file()
    watcher = app.turn_player.watcher
    two.qtbot.waitUntil(lambda: watcher is not None and watcher.grace_over, timeout=WAIT_MS)
    (save_dir / "Second turn.Civ6Save").write_bytes(b"saved by the second account " * 50)
    two.qtbot.waitUntil(lambda: app.turn_player.state is TurnState.DETECTED, timeout=WAIT_MS)
    app.turn_player.submit()
    two.qtbot.waitUntil(lambda: app.turn_player.state is TurnState.DONE, timeout=WAIT_MS)
    downloads = simulator.recorded("getTurn")
    starts = simulator.recorded("startSubmit")
    assert downloads and all(r.authorization == two.second_token for r in downloads)
    assert starts and all(r.authorization == two.second_token for r in starts)
