"""Whole-request deadlines: a server that trickles (or reads an upload a crumb at a time) cannot hold a call."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from pydt_tray.core.api import PydtClient
from pydt_tray.core.api_errors import TOO_SLOW, NetworkError
from pydt_tray.sandbox.simulator import PydtSimulator
from tests.helpers.simulator_fixtures import World
from tests.helpers.trickle import trickle_server

DEADLINE = 1.0
BOUND = 6.0  # far below what per-read timeouts would allow (forever) and above the deadline plus slack


def outcome_within(call: Callable[[], object], bound: float = BOUND) -> tuple[BaseException | object | None, float]:
    """Run ``call`` in a thread; (its exception or result, seconds); fails if it is still running at ``bound``."""
    box: list[BaseException | object] = []

    def run() -> None:
        try:
            box.append(call())
        except BaseException as error:
            box.append(error)

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(bound)
    took = time.monotonic() - started
    if thread.is_alive():
        pytest.fail(f"the call was still running after {bound} s (the deadline did not end it)")
    return box[0], took


def client_for(url: str) -> PydtClient:
    # per-read timeouts far above the deadline: only the whole-request deadline can end these calls
    return PydtClient(url, "token", timeout=(5.0, 30.0), deadline=DEADLINE, transfer_deadline=DEADLINE, retries=0)


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_an_api_call_ends_at_its_deadline_however_the_server_trickles(mode: str) -> None:
    with trickle_server(mode) as server:
        client = client_for(server.url)
        try:
            result, took = outcome_within(client.get_current_user)
        finally:
            client.close()
    assert isinstance(result, NetworkError) and str(result) == TOO_SLOW
    assert DEADLINE * 0.9 <= took < BOUND


def test_a_download_ends_at_its_deadline() -> None:
    with trickle_server("body") as server:
        client = client_for(server.url)
        try:
            result, _took = outcome_within(lambda: client.download(server.url + "/save", max_bytes=10**6))
        finally:
            client.close()
    assert isinstance(result, NetworkError)


def test_an_upload_ends_at_its_deadline_when_the_server_reads_slowly() -> None:
    with trickle_server("slow-reader", tick=0.05) as server:
        client = client_for(server.url)
        try:
            result, _took = outcome_within(lambda: client.upload(server.url + "/put", b"x" * (32 * 1024 * 1024)))
        finally:
            client.close()
    assert isinstance(result, NetworkError) and str(result) == TOO_SLOW


def test_abort_ends_a_call_in_flight_at_once() -> None:
    with trickle_server("body") as server:
        client = PydtClient(server.url, "token", deadline=300.0, retries=0)
        try:
            threading.Timer(0.3, client.abort).start()
            result, took = outcome_within(client.get_current_user)
        finally:
            client.close()
    assert isinstance(result, NetworkError)
    assert took < BOUND


def test_calls_after_a_deadline_work_and_a_quick_call_keeps_no_timer(simulator: PydtSimulator, world: World) -> None:
    client = PydtClient(simulator.base_url, world.token, deadline=DEADLINE, retries=0)
    try:
        simulator.set_latency("getCurrent", 3.0)
        with pytest.raises(NetworkError):
            client.get_current_user()
        simulator.set_latency("getCurrent", 0.0)
        assert client.get_current_user().steam_id
        assert client.get_games() is not None
        assert not client._deadlines  # every finished call let go of its deadline
    finally:
        client.close()
