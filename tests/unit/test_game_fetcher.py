"""GameFetcher against the real simulator: which source it uses and when."""

from pydt_tray.core.api import PydtClient
from pydt_tray.core.api_errors import AuthError
from pydt_tray.core.sync import USER_REFRESH_SECONDS, GameFetcher
from tests.helpers.simulator_fixtures import FakeClock


def make(simulator, world, clock):
    client = PydtClient(simulator.base_url, world.token, timeout=(2.0, 5.0), backoff=0.0, clock=clock)
    return client, GameFetcher(client, clock=clock)


def test_first_fetch_is_full_then_poll_url(simulator, world):
    clock = FakeClock()
    client, fetcher = make(simulator, world, clock)
    try:
        first = fetcher.fetch(("start",), False)
        assert first.error is None and first.source == "api"
        assert first.user.steam_id == world.me
        assert {g.game_id for g in first.snapshot.my_turns()} == {world.my_turn_game, world.first_turn_game}
        assert first.names[world.alice] == "Alice"

        simulator.advance_turn(world.their_turn_game)  # Alice -> me: the service rewrites my poll copy
        second = fetcher.fetch(("push",), False)
        assert second.source == "poll"
        assert world.their_turn_game in {g.game_id for g in second.snapshot.my_turns()}
        assert simulator.request_count("getCurrent") == 1

        clock.advance(25 * 3600)
        assert fetcher.fetch(("timer",), False).source == "poll", "no periodic /user/games"
        assert simulator.request_count("games") == 1
        assert fetcher.fetch(("user",), True).source == "api", "an explicit Refresh asks /user/games"
        assert simulator.request_count("games") == 2
    finally:
        client.close()


def test_the_user_is_read_again_every_six_hours_for_a_vacation_switched_on_the_website(simulator, world):
    clock = FakeClock()
    client, fetcher = make(simulator, world, clock)
    try:
        assert fetcher.fetch(("start",), False).user.vacation_mode is False
        simulator.set_vacation(world.me, True)
        assert fetcher.fetch(("push",), True).user.vacation_mode is False  # a forced load keeps the user
        clock.advance(USER_REFRESH_SECONDS - 60)
        assert fetcher.fetch(("timer",), False).user.vacation_mode is False
        clock.advance(61)
        assert fetcher.fetch(("timer",), False).user.vacation_mode is True
        assert simulator.request_count("getCurrent") == 2
    finally:
        client.close()


def test_poll_url_not_modified_gives_no_snapshot(simulator, world):
    client, fetcher = make(simulator, world, FakeClock())
    try:
        fetcher.fetch(("start",), False)
        simulator.advance_turn(world.their_turn_game)
        assert fetcher.fetch(("push",), False).snapshot is not None
        again = fetcher.fetch(("push",), False)
        assert again.not_modified and again.snapshot is None and again.error is None
    finally:
        client.close()


def test_errors_are_returned_not_raised(simulator, world):
    client, fetcher = make(simulator, world, FakeClock())
    try:
        simulator.unauthorized_next("getCurrent")
        outcome = fetcher.fetch(("start",), False)
        assert isinstance(outcome.error, AuthError) and outcome.snapshot is None
    finally:
        client.close()
