"""PydtClient against the real simulator over HTTP."""

from __future__ import annotations

import gzip
import logging
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from pydt_tray import __version__
from pydt_tray.core.api import PydtClient
from pydt_tray.core.api_errors import UNREADABLE_REPLY, ApiError, AuthError, NetworkError
from pydt_tray.sandbox.simulator import PydtSimulator
from tests.helpers.simulator import InstrumentedSimulator
from tests.helpers.simulator_fixtures import ALICE, BOB, ME, FakeClock, World, seeded_world


class RecordingSession(requests.Session):
    """A real session that also remembers the timeout and reply headers of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[Any] = []
        self.reply_headers: list[dict[str, str]] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.timeouts.append(kwargs.get("timeout"))
        response = super().request(method, url, *args, **kwargs)
        self.reply_headers.append(dict(response.headers))
        return response


@pytest.fixture
def session() -> Iterator[RecordingSession]:
    recording = RecordingSession()
    try:
        yield recording
    finally:
        recording.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(simulator: PydtSimulator, world: World, session: RecordingSession, sleeps: list[float]) -> PydtClient:
    """A client with the default backoff, whose sleeps are recorded instead of slept."""
    return PydtClient(simulator.base_url, world.token, timeout=(2.0, 5.0), session=session, sleep=sleeps.append)


# --- headers and auth ----------------------------------------------------------------------


def test_sends_raw_token_user_agent_and_decodable_encodings(
    client: PydtClient, simulator: PydtSimulator, world: World
) -> None:
    user = client.get_current_user()
    assert (user.steam_id, user.display_name, user.forum_username) == (ME, "Me Myself", "me_on_forum")
    [seen] = simulator.recorded("getCurrent")
    assert seen.authorization == world.token
    assert seen.headers["user-agent"] == f"pydt-tray/{__version__}"
    assert seen.headers["accept-encoding"] == "gzip, deflate"


def test_bearer_token_is_refused_without_retry(simulator: PydtSimulator, world: World, sleeps: list[float]) -> None:
    client = PydtClient(simulator.base_url, "Bearer " + world.token, sleep=sleeps.append)
    try:
        with pytest.raises(AuthError) as raised:
            client.get_games()
    finally:
        client.close()
    assert "token" in str(raised.value)
    assert simulator.request_count("games") == 1 and sleeps == []


def test_401_is_an_auth_error_and_never_retried(client: PydtClient, simulator: PydtSimulator) -> None:
    simulator.unauthorized_next("getCurrent", count=5)
    with pytest.raises(AuthError):
        client.get_current_user()
    assert simulator.request_count("getCurrent") == 1


def test_revoked_token_then_new_token(client: PydtClient, simulator: PydtSimulator) -> None:
    fresh = simulator.revoke_tokens(ME)
    with pytest.raises(AuthError):
        client.get_games()
    client.token = fresh
    assert len(client.get_games()) == 3


def test_no_token_raises_before_any_request(simulator: PydtSimulator) -> None:
    client = PydtClient(simulator.base_url, None)
    try:
        with pytest.raises(AuthError):
            client.get_current_user()
    finally:
        client.close()
    assert simulator.request_count("getCurrent") == 0


# --- retries and failures ------------------------------------------------------------------


def test_5xx_is_retried_with_exponential_backoff(
    client: PydtClient, simulator: PydtSimulator, sleeps: list[float]
) -> None:
    simulator.fail_next("games", 503, count=2)
    assert len(client.get_games()) == 3
    assert simulator.request_count("games") == 3
    assert sleeps == [0.5, 1.0]


def test_5xx_forever_gives_api_error_after_all_attempts(
    client: PydtClient, simulator: PydtSimulator, sleeps: list[float]
) -> None:
    simulator.fail_next("getCurrent", 500, count=10)
    with pytest.raises(ApiError) as raised:
        client.get_current_user()
    assert raised.value.status == 500
    assert raised.value.error_message == "There was an error processing your request."
    assert simulator.request_count("getCurrent") == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_4xx_is_not_retried(client: PydtClient, simulator: PydtSimulator, sleeps: list[float]) -> None:
    simulator.fail_next("getCurrent", 404)
    with pytest.raises(ApiError) as raised:
        client.get_current_user()
    assert (raised.value.status, raised.value.error_message) == (404, "Not Found")
    assert simulator.request_count("getCurrent") == 1 and sleeps == []


@pytest.mark.parametrize("route", ["startSubmit", "finishSubmit"])
def test_post_is_never_retried(
    client: PydtClient, simulator: PydtSimulator, world: World, sleeps: list[float], route: str
) -> None:
    simulator.fail_next(route, 502, count=3)
    call = client.start_submit if route == "startSubmit" else client.finish_submit
    with pytest.raises(ApiError) as raised:
        call(world.my_turn_game)
    assert raised.value.status == 502
    assert simulator.request_count(route) == 1 and sleeps == []


def test_slow_reply_times_out_as_network_error(simulator: PydtSimulator, world: World) -> None:
    client = PydtClient(simulator.base_url, world.token, timeout=(2.0, 0.2), backoff=0.0)
    simulator.set_latency("getCurrent", 1.0)
    try:
        with pytest.raises(NetworkError) as raised:
            client.get_current_user()
    finally:
        client.close()
    assert "in time" in str(raised.value)
    assert simulator.request_count("getCurrent") == 1


def test_unreachable_service_is_retried_then_network_error(sleeps: list[float]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = PydtClient(f"http://127.0.0.1:{port}", "token", retries=2, sleep=sleeps.append)
    try:
        with pytest.raises(NetworkError):
            client.get_games()
    finally:
        client.close()
    assert sleeps == [0.5, 1.0]


def test_malformed_json_is_an_api_error(client: PydtClient, simulator: PydtSimulator) -> None:
    simulator.malformed_next("games")
    with pytest.raises(ApiError) as raised:
        client.get_games()
    assert str(raised.value) == UNREADABLE_REPLY
    assert simulator.request_count("games") == 1


def test_wrong_shape_is_an_api_error(client: PydtClient, simulator: PydtSimulator, world: World) -> None:
    simulator.update_game(world.my_turn_game, round="many")
    with pytest.raises(ApiError) as raised:
        client.get_games()
    assert str(raised.value) == UNREADABLE_REPLY


def test_non_json_error_body_gets_a_fallback_message(client: PydtClient, simulator: PydtSimulator) -> None:
    client_for_s3 = PydtClient(simulator.base_url + "/s3/x", "t", backoff=0.0)
    try:
        with pytest.raises(ApiError) as raised:
            client_for_s3.get_current_user()  # an S3 path answers XML, not {"errorMessage"}
    finally:
        client_for_s3.close()
    assert raised.value.status == 403 and "HTTP 403" in raised.value.error_message


# --- game lists and the pollUrl ------------------------------------------------------------


def test_poll_403_falls_back_to_user_games(simulator: PydtSimulator, world: World) -> None:
    client = PydtClient(simulator.base_url, world.token, poll_url=simulator.poll_url(ME), backoff=0.0)
    try:
        fetch = client.fetch_games()
    finally:
        client.close()
    assert fetch.source == "api" and not fetch.not_modified
    assert fetch.games is not None and len(fetch.games) == 3
    assert simulator.request_count("poll") == 1 and simulator.request_count("games") == 1


def test_poll_with_etag_and_304(client: PydtClient, simulator: PydtSimulator, world: World) -> None:
    assert client.fetch_games().source == "api"  # no pollUrl known yet
    assert client.poll_url == simulator.poll_url(ME)
    simulator.advance_turn(world.their_turn_game)
    fetch = client.fetch_games()
    assert fetch.source == "poll" and fetch.games is not None
    theirs = next(g for g in fetch.games if g.game_id == world.their_turn_game)
    assert theirs.current_player_steam_id == ME and theirs.game_turn_range_key == 4
    etag = client.poll_etag
    assert etag
    unchanged = client.fetch_games()
    assert (unchanged.source, unchanged.not_modified, unchanged.games) == ("poll", True, None)
    assert simulator.recorded("poll")[-1].headers["if-none-match"] == etag
    simulator.advance_turn(world.my_turn_game)
    changed = client.fetch_games()
    assert changed.source == "poll" and not changed.not_modified and client.poll_etag != etag
    assert simulator.request_count("games") == 1
    assert client.fetch_games(prefer_poll=False).source == "api"


@pytest.mark.parametrize("fault", ["fail", "malformed"])
def test_poll_failures_fall_back_to_user_games(
    client: PydtClient, simulator: PydtSimulator, world: World, fault: str
) -> None:
    client.get_games()
    simulator.advance_turn(world.their_turn_game)
    if fault == "fail":
        simulator.fail_next("poll", 500)
    else:
        simulator.malformed_next("poll")
    fetch = client.fetch_games()
    assert fetch.source == "api" and fetch.games is not None and len(fetch.games) == 3
    assert simulator.request_count("poll") == 1  # no retry on the poll: the fallback is the retry


def test_token_never_goes_to_poll_or_s3(client: PydtClient, simulator: PydtSimulator, world: World) -> None:
    client.get_games()
    simulator.advance_turn(world.their_turn_game)
    client.fetch_games()
    turn = client.get_turn(world.my_turn_game)
    client.download(turn.download_url, max_bytes=1 << 20)
    client.upload(client.start_submit(world.my_turn_game), b"save")
    client.get_steam_profiles([ME])
    client.get_metadata()
    for route in ("poll", "download", "upload", "steamProfiles", "metadata"):
        seen = simulator.recorded(route)
        assert seen, route
        assert all(r.authorization is None for r in seen), route
    assert all(r.authorization == world.token for r in simulator.recorded("getTurn"))


# --- profiles and metadata -----------------------------------------------------------------


def test_steam_profiles_are_cached_per_id_for_a_day(simulator: PydtSimulator, world: World) -> None:
    clock = FakeClock()
    client = PydtClient(simulator.base_url, world.token, clock=clock, backoff=0.0)
    try:
        first = client.get_steam_profiles([ME, ALICE, "", ME])
        assert {sid: p.persona_name for sid, p in first.items()} == {ME: "Me Myself", ALICE: "Alice"}
        assert client.get_steam_profiles([ALICE, ME]) == first
        assert simulator.request_count("steamProfiles") == 1
        client.get_steam_profiles([ME, BOB])
        assert simulator.recorded("steamProfiles")[-1].query == f"steamIds={BOB}"
        clock.advance(3601)
        client.get_steam_profiles([ALICE])
        assert simulator.request_count("steamProfiles") == 2, "an hour later: still cached"
        clock.advance(23 * 3600)
        client.get_steam_profiles([ALICE])
        assert simulator.recorded("steamProfiles")[-1].query == f"steamIds={ALICE}"
        assert simulator.request_count("steamProfiles") == 3
    finally:
        client.close()


def test_unknown_profile_ids_return_what_is_cached(
    client: PydtClient, simulator: PydtSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    client.get_steam_profiles([ME])
    with caplog.at_level(logging.WARNING, logger="pydt_tray.core.api"):
        profiles = client.get_steam_profiles([ME, "76561199999999999"])
    assert list(profiles) == [ME]
    assert "Steam profile" in caplog.text


def test_concurrent_profile_loads_share_one_request(client: PydtClient, simulator: PydtSimulator) -> None:
    simulator.set_latency("steamProfiles", 0.2)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(len(client.get_steam_profiles([ME])))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == [1, 1, 1, 1]
    assert simulator.request_count("steamProfiles") == 1


def test_metadata_cached_until_a_reply_carries_a_new_hash(client: PydtClient, simulator: PydtSimulator) -> None:
    metadata = client.get_metadata()
    assert [g.id for g in metadata.civ_games] == ["CIV6", "CIV7", "CIV5", "BEYOND_EARTH", "OLD_WORLD"]
    assert metadata.hash == simulator.metadata_hash
    assert client.get_metadata() is metadata
    client.get_current_user()  # same hash: cache kept
    assert client.get_metadata() is metadata
    assert simulator.request_count("metadata") == 1
    new_hash = simulator.set_metadata({"civGames": []})
    client.get_current_user()  # this reply carries the new hash
    fresh = client.get_metadata()
    assert fresh.hash == new_hash and fresh.civ_games == ()
    assert simulator.request_count("metadata") == 2


def test_big_replies_arrive_gzip_and_are_decoded(client: PydtClient, session: RecordingSession) -> None:
    metadata = client.get_metadata()
    assert session.reply_headers[-1]["Content-Encoding"] == "gzip"
    civ6 = metadata.civ_game("CIV6")
    assert civ6 is not None and civ6.save_extension == "Civ6Save"


# --- turns ---------------------------------------------------------------------------------


def test_turn_round_trip(client: PydtClient, simulator: PydtSimulator, world: World, session: RecordingSession) -> None:
    simulator.set_turn_save(world.my_turn_game, b"TURN" * 50_000)
    turn = client.get_turn(world.my_turn_game)
    assert simulator.recorded("getTurn")[0].query == "compressed=yup"
    seen: list[tuple[int, int | None]] = []
    data = client.download(
        turn.download_url, max_bytes=1 << 20, progress=lambda done, total: seen.append((done, total))
    )
    assert gzip.decompress(data) == b"TURN" * 50_000
    assert seen[-1] == (turn.size, turn.size)
    upload = os.urandom(200_000)
    put_url = client.start_submit(world.my_turn_game)
    sent: list[tuple[int, int | None]] = []
    client.upload(put_url, upload, progress=lambda *args: sent.append(args))
    assert sent[-1] == (len(upload), len(upload)) and len(sent) > 1
    [put] = simulator.recorded("upload")
    assert put.headers["content-type"] == "application/octet-stream"
    assert put.headers["content-length"] == str(len(upload))
    assert simulator.uploaded(world.my_turn_game) == upload
    game = client.finish_submit(world.my_turn_game)
    assert (game.current_player_steam_id, game.game_turn_range_key) == (ALICE, 6)
    assert session.timeouts[-1][1] >= 30


def test_turn_error_messages_are_verbatim(client: PydtClient, simulator: PydtSimulator, world: World) -> None:
    with pytest.raises(ApiError) as not_mine:
        client.get_turn(world.their_turn_game)
    assert (not_mine.value.status, not_mine.value.error_message) == (400, "It's not your damn turn!")
    with pytest.raises(ApiError) as first:
        client.get_turn(world.first_turn_game)
    assert (first.value.status, str(first.value)) == (404, "Save file not found")
    with pytest.raises(ApiError) as start:
        client.start_submit(world.their_turn_game)
    assert start.value.error_message == "It's not your turn!"
    client.upload(client.start_submit(world.my_turn_game), b"save")
    dlc = (
        "DLC mismatch!  Please ensure that you have the correct DLC enabled (or disabled)!\nIn save but not enabled: X"
    )
    simulator.reject_next_finish(world.my_turn_game, dlc)
    with pytest.raises(ApiError) as rejected:
        client.finish_submit(world.my_turn_game)
    assert rejected.value.error_message == dlc
    assert "\n" not in str(rejected.value) and "In save but not enabled: X" in str(rejected.value)
    assert client.finish_submit(world.my_turn_game).current_player_steam_id == ALICE


def test_download_requires_200_and_caps_the_size(client: PydtClient, simulator: PydtSimulator, world: World) -> None:
    turn = client.get_turn(world.my_turn_game)
    with pytest.raises(ApiError):
        client.download(turn.download_url, max_bytes=10)
    simulator.fail_next("download", 403, count=1)
    with pytest.raises(ApiError) as forbidden:
        client.download(turn.download_url, max_bytes=1 << 20)
    assert forbidden.value.status == 403


def test_expired_presigned_urls_fail_cleanly() -> None:
    clock = FakeClock()
    with InstrumentedSimulator(clock=clock) as sim:
        world = seeded_world(sim)
        client = PydtClient(sim.base_url, world.token, backoff=0.0)
        try:
            turn = client.get_turn(world.my_turn_game)
            put_url = client.start_submit(world.my_turn_game)
            clock.advance(301)
            with pytest.raises(ApiError) as download:
                client.download(turn.download_url, max_bytes=1 << 20)
            with pytest.raises(ApiError) as upload:
                client.upload(put_url, b"save")
        finally:
            client.close()
    assert download.value.status == 403 and upload.value.status == 403
    assert sim.uploaded(world.my_turn_game) is None


def test_logs_never_hold_the_token_or_presigned_queries(
    client: PydtClient, simulator: PydtSimulator, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="pydt_tray"):
        turn = client.get_turn(world.my_turn_game)
        client.download(turn.download_url, max_bytes=1 << 20)
        client.upload(client.start_submit(world.my_turn_game), b"save")
        client.finish_submit(world.my_turn_game)
    text = caplog.text
    assert "/turn/finishSubmit -> 200" in text
    assert world.token not in text and "X-Amz-Signature" not in text
