"""The local turn API against real HTTP requests on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import logging
import select
import socket
import threading
import time

import pytest

from pydt_tray.core import turn_api
from pydt_tray.core.diff import Snapshot
from pydt_tray.core.models import Game
from pydt_tray.core.turn_api import TurnApiError, TurnApiServer, is_loopback_host, render_turns

ME, ALICE = "76561190000000001", "76561190000000002"


def game(game_id, current=ME, turn=5, updated="2026-08-02T12:34:56.789Z", **extra):
    data = {
        "gameId": game_id,
        "displayName": f"Game {game_id}",
        "inProgress": True,
        "currentPlayerSteamId": current,
        "gameTurnRangeKey": turn,
        "updatedAt": updated,
        "players": [{"steamId": ALICE}, {"steamId": ME}],
    }
    data.update(extra)
    return Game.from_json(data)


@pytest.fixture
def server():
    srv = TurnApiServer(port=0)
    srv.start()
    yield srv
    srv.stop()


def request(port, method="GET", path="/turns", host="default"):
    """One request; ``host`` None sends no Host header. Returns (status, headers, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if host == "default":
            conn.putheader("Host", f"127.0.0.1:{port}")
        elif host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
        return response.status, response.headers, body
    finally:
        conn.close()


def test_before_the_first_update_it_is_not_ready(server):
    status, headers, body = request(server.port)
    assert status == 200
    assert json.loads(body) == {"ready": False, "count": 0, "games": []}
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["Cache-Control"] == "no-store"
    assert not any(name.lower().startswith("access-control-") for name in headers)


def test_after_an_update_it_lists_my_turns_in_your_turn_order(server):
    older = game("older", updated="2026-08-01T10:00:00.000Z")
    newer = game("newer", updated="2026-08-02T12:34:56.789Z")
    congress = game("congress", updated="2026-07-01T00:00:00.000Z", flags=["CIV6_CONGRESS_TURN"])
    first_turn = game("first", turn=1, updated="2026-07-15T00:00:00.000Z")
    theirs = game("theirs", current=ALICE, updated="2026-08-03T00:00:00.000Z")
    snapshot = Snapshot.build(ME, [older, theirs, first_turn, newer, congress])

    server.update(snapshot, has_unread_smack=True)
    status, _headers, body = request(server.port)

    assert status == 200
    data = json.loads(body)
    assert list(data) == ["ready", "count", "hasUnreadSmack", "games"]
    assert data["ready"] is True
    assert data["hasUnreadSmack"] is True
    assert [g["id"] for g in data["games"]] == ["congress", "newer", "older", "first"]
    assert [g["id"] for g in data["games"]] == [g.game_id for g in snapshot.my_turns()]
    assert data["count"] == 4
    assert data["games"][0] == {
        "id": "congress",
        "name": "Game congress",
        "gameType": "CIV6",
        "flags": ["CIV6_CONGRESS_TURN"],
        "updatedAt": "2026-07-01T00:00:00.000Z",
    }
    assert data["games"][1]["flags"] == []
    assert data["games"][1]["updatedAt"] == "2026-08-02T12:34:56.789Z"


def test_no_turns_and_going_back_to_not_ready(server):
    server.update(Snapshot.build(ME, [game("theirs", current=ALICE)]))
    assert json.loads(request(server.port)[2]) == {"ready": True, "count": 0, "hasUnreadSmack": False, "games": []}
    server.update(None)
    assert json.loads(request(server.port)[2]) == {"ready": False, "count": 0, "games": []}


def test_names_are_utf8():
    body = render_turns(Snapshot.build(ME, [game("g", displayName="Érika's Civ ⚔")]))
    assert json.loads(body.decode("utf-8"))["games"][0]["name"] == "Érika's Civ ⚔"


@pytest.mark.parametrize("path", ["/", "/turns/", "/turns?x=1", "/Turns", "/turns#a", "/other", "//turns"])
def test_other_paths_are_not_found(server, path):
    status, headers, body = request(server.port, path=path)
    assert status == 404
    assert json.loads(body) == {"error": "Not found"}
    assert headers["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"])
def test_other_methods_are_not_found(server, method):
    status, _headers, body = request(server.port, method=method)
    assert status == 404
    assert json.loads(body) == {"error": "Not found"}


def test_head_gets_no_body(server):
    status, _headers, body = request(server.port, method="HEAD")
    assert status == 404
    assert body == b""


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:47821", "LOCALHOST", "127.0.0.1", "127.0.0.1:9", "[::1]", "[::1]:47821", None]
)
def test_loopback_host_headers_are_served(server, host):
    status, _headers, _body = request(server.port, host=host)
    assert status == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:47821", "localhost.evil.example", "127.0.0.2", "::1", "", "localhost:x"]
)
def test_other_host_headers_are_refused(server, host):
    server.update(Snapshot.build(ME, [game("secret")]))
    status, headers, body = request(server.port, host=host)
    assert status == 403
    assert "error" in json.loads(body)
    assert b"secret" not in body
    assert headers["Content-Type"] == "application/json; charset=utf-8"


def test_host_check_helper():
    assert is_loopback_host("localhost.")
    assert not is_loopback_host("localhost:1:2")
    assert not is_loopback_host("[::1")


def test_requests_are_logged_at_debug_only(server, caplog, capfd):
    with caplog.at_level(logging.DEBUG, logger="pydt_tray.core.turn_api"):
        request(server.port)
    assert any("GET /turns" in record.getMessage() for record in caplog.records)
    assert all(record.levelno == logging.DEBUG for record in caplog.records)
    assert capfd.readouterr().err == ""


def test_binds_loopback_only(server):
    # the listening socket itself: no probing of other interfaces needed
    assert server._server.socket.getsockname()[0] == "127.0.0.1"
    with pytest.raises(ValueError):
        TurnApiServer(port=0, host="0.0.0.0")


def test_port_in_use_raises_with_the_port_number():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        srv = TurnApiServer(port=port)
        with pytest.raises(TurnApiError) as info:
            srv.start()
        assert str(port) in info.value.user_message
        assert "already in use" in info.value.user_message
        assert not srv.running


def test_stop_frees_the_port_and_it_can_start_again():
    first = TurnApiServer(port=0)
    first.start()
    port = first.port
    assert request(port)[0] == 200
    first.stop()
    assert not first.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()

    again = TurnApiServer(port=port)
    again.start()
    try:
        assert again.port == port
        assert request(port)[0] == 200
    finally:
        again.stop()
    first.stop()  # a second stop is harmless


def test_update_from_many_threads_while_serving(server):
    snapshots = [Snapshot.build(ME, [game(f"g{i}") for i in range(n)]) for n in range(1, 6)]
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            for snapshot in snapshots:
                server.update(snapshot)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(20):
            data = json.loads(request(server.port)[2])
            assert data["count"] == len(data["games"]) >= 1
    finally:
        stop.set()
        thread.join()


def test_refuses_a_non_loopback_bind_address():
    with pytest.raises(ValueError):
        TurnApiServer(port=0, host="0.0.0.0")


def test_a_malformed_request_gets_a_json_error_and_nothing_on_stderr(server, capfd):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"GET /turns HTTP/1.x\r\n\r\n")
        reply = b""
        while chunk := raw.recv(4096):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 400")
    assert "error" in json.loads(body)
    assert capfd.readouterr().err == ""


def test_the_server_header_is_plain(server):
    assert request(server.port)[1]["Server"] == "pydt-tray"


def test_two_host_headers_are_refused(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"GET /turns HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n")
        reply = b""
        while chunk := raw.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.0 403")


def closed_by_server(sock: socket.socket, within: float, trickle: bytes = b"") -> float | None:
    """Seconds until the server closes ``sock`` (sending ``trickle`` a byte every 0.1 s meanwhile), or None."""
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < within:
        readable, _, _ = select.select([sock], [], [], 0.1)
        if readable:
            try:
                if sock.recv(4096) == b"":
                    return time.monotonic() - started
            except OSError:
                return time.monotonic() - started
        if trickle:
            try:
                sock.send(trickle[sent % len(trickle) : sent % len(trickle) + 1])
                sent += 1
            except OSError:
                return time.monotonic() - started
    return None


def test_a_trickling_client_is_cut_off_at_the_whole_request_deadline(monkeypatch):
    monkeypatch.setattr(turn_api, "REQUEST_DEADLINE_SECONDS", 1.0, raising=False)
    srv = TurnApiServer(port=0)
    srv.start()
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
            sock.sendall(b"GET /turns HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            closed_after = closed_by_server(sock, within=4.0, trickle=b"abcdefgh")  # a byte per 0.1 s
        assert closed_after is not None and closed_after < 2.5, closed_after
        assert request(srv.port)[0] == 200, "the server still answers others"
    finally:
        srv.stop()


def test_concurrent_connections_are_capped(monkeypatch):
    monkeypatch.setattr(turn_api, "MAX_CONNECTIONS", 3, raising=False)
    monkeypatch.setattr(turn_api, "REQUEST_DEADLINE_SECONDS", 1.5, raising=False)
    srv = TurnApiServer(port=0)
    srv.start()
    sockets = []
    try:
        for _ in range(3):  # silent clients hold the three slots (the listen queue is accepted in order)
            sockets.append(socket.create_connection(("127.0.0.1", srv.port), timeout=5))
        extra = [socket.create_connection(("127.0.0.1", srv.port), timeout=5) for _ in range(5)]
        sockets += extra
        for sock in extra:
            closed = closed_by_server(sock, within=1.0)
            assert closed is not None and closed < 1.0, "a connection over the cap is closed at once"
        for sock in sockets[:3]:
            assert closed_by_server(sock, within=3.0) is not None, "the silent ones end at the deadline"
        assert request(srv.port)[0] == 200, "slots are free again"
    finally:
        for sock in sockets:
            sock.close()
        srv.stop()
