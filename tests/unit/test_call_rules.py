"""How often pydt-tray calls the service: a day on a fake clock with the real engine, fetcher and client."""

from pydt_tray.core.api import PROFILE_TTL, PydtClient
from pydt_tray.core.poll_schedule import PollSchedule
from tests.helpers.service_day import DAY, DayPlan, official_day, run_day
from tests.helpers.simulator_fixtures import FakeClock


def test_backstop_is_600_s_or_more_while_push_is_live_and_90_s_in_a_long_outage():
    clock = FakeClock()
    schedule = PollSchedule(live_interval=lambda: 300, clock=clock)
    schedule.path_live("iot")
    assert schedule.next_delay() == 600
    assert schedule.path_lost("iot")
    clock.advance(600)
    assert schedule.next_delay() == 90


def test_a_day_with_push_live_costs_fewer_calls_than_the_official_client(simulator, world):
    run, counts = run_day(simulator, world, DayPlan(turns=20, smack_posts=5, reconnects=2))
    try:
        assert counts["/user/games"] == 1, "only at start"
        assert simulator.request_count("getCurrent") == 1
        assert simulator.request_count("steamProfiles") == 1, "every player was seen at the first load"
        assert simulator.request_count("metadata") == 1
        official = official_day()
        assert counts["/user/games"] + counts["other API"] < official["/user/games"] + official["other API"]
        # the outage polls (a load when push drops, then every 15 s) spend the live backstop's budget
        assert counts["pollUrl"] <= official["pollUrl"]
        assert run.pushes == 25 and run.loads_for("push") == 25, "every push is loaded"
        assert run.loads_for("connected") == 3, "the first connect and both reconnects catch up"
        timer_loads = [r for r in run.results if r.outcome.reasons == ("timer",)]
        assert len(timer_loads) <= DAY / 600
    finally:
        run.close()


def test_while_push_is_down_the_poll_url_is_read_every_90_s_with_its_etag(simulator, world):
    run, counts = run_day(simulator, world, DayPlan(turns=0, smack_posts=0, reconnects=1, outage_seconds=900))
    try:
        outage_loads = [r for r in run.results if r.outcome.reasons == ("timer",) and r.outcome.source == "poll"]
        assert len(outage_loads) >= 900 // 90 - 1
        assert counts["/user/games"] == 1
        polls = simulator.recorded("poll")
        assert all(request.headers.get("if-none-match") for request in polls[1:])
        assert sum(result.outcome.not_modified for result in run.results) >= len(polls) - 2
    finally:
        run.close()


def test_a_failing_poll_url_falls_back_to_user_games(simulator, world):
    simulator.fail_next("poll", status=403, count=1000)
    run, counts = run_day(simulator, world, DayPlan(turns=2, smack_posts=0, reconnects=0))
    try:
        assert counts["/user/games"] >= 3, "start + each failed pollUrl read"
        assert all(result.outcome.error is None for result in run.results)
    finally:
        run.close()


def test_steam_profiles_only_for_players_not_seen_or_after_a_day(simulator, world):
    clock = FakeClock()
    client = PydtClient(simulator.base_url, world.token, timeout=(2.0, 5.0), backoff=0.0, clock=clock)
    try:
        simulator.reset_counts()
        assert set(client.get_steam_profiles([world.me, world.alice])) == {world.me, world.alice}
        clock.advance(PROFILE_TTL - 60)
        client.get_steam_profiles([world.me, world.alice])
        assert simulator.request_count("steamProfiles") == 1
        clock.advance(120)
        client.get_steam_profiles([world.alice])
        assert simulator.request_count("steamProfiles") == 2
        assert PROFILE_TTL >= 24 * 3600
    finally:
        client.close()
