"""Vacation mode against the simulator over real HTTP: the client toggle and the service's silence."""

from __future__ import annotations

import threading

import requests

from pydt_tray.core.api import PydtClient
from pydt_tray.core.api_errors import ApiError
from pydt_tray.sandbox.simulator import PydtSimulator
from tests.helpers.simulator_fixtures import ALICE, BOB, ME, World


class Hooks:
    """Records the simulator's change hooks (they run after the HTTP reply is sent: wait for them)."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str, bool]] = []
        self._cond = threading.Condition()

    def __call__(self, ids: list[str], game_id: str, new_turn: bool) -> None:
        with self._cond:
            self.calls.append((ids, game_id, new_turn))
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[list[str], str, bool]]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.calls) >= count, timeout), self.calls
            return list(self.calls)


def test_vacation_round_trip(simulator: PydtSimulator, world: World, pydt_client: PydtClient) -> None:
    assert pydt_client.get_current_user().vacation_mode is False
    user = pydt_client.set_vacation_mode(True)
    assert user.vacation_mode is True and user.steam_id == ME
    assert pydt_client.get_current_user().vacation_mode is True
    sent = simulator.recorded("setUserInformation")
    assert len(sent) == 1 and sent[0].method == "POST" and sent[0].authorization == world.token
    assert pydt_client.set_vacation_mode(False).vacation_mode is False
    assert pydt_client.get_current_user().vacation_mode is False


def test_no_turn_push_for_a_player_on_vacation(simulator: PydtSimulator, world: World) -> None:
    calls: list[tuple[list[str], str, bool]] = []
    simulator.add_change_hook(lambda ids, gid, new_turn: calls.append((ids, gid, new_turn)))
    simulator.set_vacation(ALICE, True)
    simulator.advance_turn(world.my_turn_game)  # my turn ends, Alice (away) is next: nothing is sent
    assert calls == []
    assert simulator.game(world.my_turn_game)["currentPlayerSteamId"] == ALICE
    simulator.advance_turn(world.my_turn_game)  # Bob is next and not away
    assert calls == [([BOB], world.my_turn_game, True)]
    simulator.update_game(world.my_turn_game, latestDiscoursePostNumber=3)  # game updates still ping everyone
    assert calls[-1] == ([ME, ALICE, BOB], world.my_turn_game, False)


def test_going_on_vacation_is_a_game_update_where_it_is_my_turn(
    simulator: PydtSimulator, world: World, pydt_client: PydtClient
) -> None:
    hooks = Hooks()
    simulator.add_change_hook(hooks)
    pydt_client.set_vacation_mode(True)
    expected = [([ME, ALICE], world.first_turn_game, False), ([ME, ALICE, BOB], world.my_turn_game, False)]
    assert sorted(hooks.wait_for(2)) == sorted(expected)  # not the game where it is Alice's turn
    pydt_client.set_vacation_mode(True)  # already away: nothing new
    pydt_client.set_vacation_mode(False)
    simulator.update_game(world.their_turn_game, latestDiscoursePostNumber=2)  # a marker that comes after
    assert hooks.wait_for(3)[2:] == [([ALICE, ME, BOB], world.their_turn_game, False)]


def test_set_user_information_needs_a_token_and_an_object(simulator: PydtSimulator, world: World) -> None:
    url = simulator.base_url + "/user/setUserInformation"
    assert requests.post(url, json={"vacationMode": True}, timeout=5).status_code == 401
    reply = requests.post(url, json=[1], headers={"Authorization": world.token}, timeout=5)
    assert reply.status_code == 400
    simulator.reset_counts()
    simulator.fail_next("setUserInformation", 500)
    client = PydtClient(simulator.base_url, world.token, timeout=(2.0, 5.0), backoff=0.0)
    try:
        try:
            client.set_vacation_mode(True)
        except ApiError as error:
            assert error.status == 500
        else:
            raise AssertionError("a failed toggle must raise")
        assert simulator.request_count("setUserInformation") == 1  # a POST is never retried
        assert client.get_current_user().vacation_mode is False
    finally:
        client.close()
