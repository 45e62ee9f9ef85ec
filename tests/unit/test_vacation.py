"""Vacation mode against the simulator over real HTTP: the client toggle and the service's silence."""

from __future__ import annotations

import requests

from pydt_tray.core.api import ApiError, PydtClient
from pydt_tray.sandbox.simulator import PydtSimulator
from tests.helpers.simulator_fixtures import ALICE, BOB, ME, World


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
    calls: list[tuple[list[str], str, bool]] = []
    simulator.add_change_hook(lambda ids, gid, new_turn: calls.append((ids, gid, new_turn)))
    pydt_client.set_vacation_mode(True)
    expected = [([ME, ALICE], world.first_turn_game, False), ([ME, ALICE, BOB], world.my_turn_game, False)]
    assert sorted(calls) == sorted(expected)  # not the game where it is Alice's turn
    pydt_client.set_vacation_mode(True)  # already away: nothing new
    pydt_client.set_vacation_mode(False)
    assert len(calls) == 2


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
