"""Hostile but well-formed HTTP replies: oversized, compression bombs, unparseable-yet-valid JSON, netrc on
redirects. Served by a real HTTP server on loopback whose replies each test scripts."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pydt_tray.core.api import PydtClient
from pydt_tray.core.api_errors import UNREADABLE_REPLY, ApiError, ReplyTooLargeError
from pydt_tray.core.limits import MAX_JSON_BYTES, UnsafeJsonError, loads_json
from pydt_tray.core.sync import GameFetcher, SyncEngine

ME = "76561190000000001"
USER = {"steamId": ME, "displayName": "Me"}
GAME = {"gameId": "g-1", "displayName": "First game", "inProgress": True, "currentPlayerSteamId": ME, "players": []}


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False


class ScriptedServer:
    """Answers each path with the reply set for it; records the headers of every request."""

    def __init__(self) -> None:
        self.replies: dict[str, Reply] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                reply = server.replies.get(self.path.split("?")[0], Reply(404, b'{"errorMessage": "no"}'))
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for start in range(0, len(reply.body), 65536):
                        piece = reply.body[start : start + 65536]
                        try:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        except OSError:
                            return  # the client gave up reading: fine
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    try:
                        self.wfile.write(reply.body)
                    except OSError:
                        return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def json(self, path: str, value: object, **kwargs: object) -> None:
        self.replies[path] = Reply(body=json.dumps(value).encode(), **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    try:
        yield scripted
    finally:
        scripted.close()


@pytest.fixture
def client(server: ScriptedServer) -> Iterator[PydtClient]:
    made = PydtClient(server.url, "token-abcdef123456", timeout=(2.0, 5.0), retries=0, sleep=lambda _: None)
    try:
        yield made
    finally:
        made.close()


def padded_games(total: int) -> bytes:
    """A valid ``/user/games`` reply of ``total`` bytes: the JSON, then whitespace (JSON allows it)."""
    text = json.dumps({"data": [GAME]}).encode()
    return text + b" " * (total - len(text))


def gzip_of(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9)


# --- size caps -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["plain", "plain-chunked", "gzip", "gzip-chunked", "deflate"])
def test_a_json_reply_over_the_cap_is_refused_while_streaming(server, client, how, caplog) -> None:
    body = padded_games(MAX_JSON_BYTES + 1024)
    headers: dict[str, str] = {}
    if how.startswith("gzip"):
        body, headers = gzip_of(body), {"Content-Encoding": "gzip"}
        assert len(body) < 100_000  # small on the wire
    elif how == "deflate":
        body, headers = zlib.compress(body, 9), {"Content-Encoding": "deflate"}
    server.replies["/user/games"] = Reply(body=body, headers=headers, chunked=how.endswith("chunked"))
    with pytest.raises(ReplyTooLargeError) as raised:
        client.get_games()
    assert "larger than 16 MB" in str(raised.value)
    assert "more than 16 MB; ignored" in caplog.text or "passed 16 MB once unpacked" in caplog.text


def test_a_reply_just_under_the_cap_is_read(server, client) -> None:
    server.replies["/user/games"] = Reply(
        body=gzip_of(padded_games(MAX_JSON_BYTES - 10)), headers={"Content-Encoding": "gzip"}
    )
    assert [game.game_id for game in client.get_games()] == ["g-1"]


def test_an_oversized_poll_reply_falls_back_to_the_api(server, client, caplog) -> None:
    server.json("/user/games", {"data": [GAME], "pollUrl": server.url + "/poll/me.json"})
    client.get_games()
    server.replies["/poll/me.json"] = Reply(
        body=gzip_of(b"[" + b" " * (MAX_JSON_BYTES + 10) + b"]"), headers={"Content-Encoding": "gzip"}
    )
    fetched = client.fetch_games()
    assert fetched.source == "api" and [game.game_id for game in fetched.games or []] == ["g-1"]
    assert "passed 16 MB once unpacked" in caplog.text


def test_the_sync_engine_keeps_its_last_good_snapshot_after_an_oversized_reply(server, client, caplog) -> None:
    server.json("/user/getCurrent", USER)
    server.json("/user/games", {"data": [GAME]})
    server.json("/user/steamProfiles", [])
    results = []
    engine = SyncEngine(
        GameFetcher(client).fetch, run_in_background=lambda job: job(), call_soon=lambda job: job(),
        on_result=results.append,
    )  # fmt: skip
    engine.request("start")
    good = engine.snapshot
    assert good is not None and [game.game_id for game in good.games] == ["g-1"]
    server.replies["/user/games"] = Reply(
        body=gzip_of(padded_games(MAX_JSON_BYTES + 1)), headers={"Content-Encoding": "gzip"}
    )
    engine.request("push", full=True)
    assert isinstance(results[-1].outcome.error, ReplyTooLargeError)
    assert engine.snapshot is good
    assert "passed 16 MB once unpacked" in caplog.text


# --- valid JSON that used to crash parsing -----------------------------------------------------------------


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"data": [{**GAME, "round": 1}]}).replace('"round": 1', '"round": 1e400').encode(),
        json.dumps({"data": [{**GAME, "version": 1}]}).replace('"version": 1', '"version": NaN').encode(),
        b'{"data": ' + DEEP + b"}",
    ],
    ids=["1e400", "NaN", "deep"],
)
def test_hostile_json_is_an_unreadable_reply(server, client, body) -> None:
    server.replies["/user/games"] = Reply(body=body)
    with pytest.raises(ApiError) as raised:
        client.get_games()
    assert str(raised.value) == UNREADABLE_REPLY


@pytest.mark.parametrize(
    "body",
    [json.dumps([GAME]).replace('"displayName"', '"round": 1e400, "displayName"').encode(), DEEP],
    ids=["1e400", "deep"],
)
def test_hostile_json_from_the_poll_url_falls_back_to_the_api(server, client, body) -> None:
    server.json("/user/games", {"data": [GAME], "pollUrl": server.url + "/poll/me.json"})
    client.get_games()
    server.replies["/poll/me.json"] = Reply(body=body)
    fetched = client.fetch_games()
    assert fetched.source == "api" and [game.game_id for game in fetched.games or []] == ["g-1"]


def test_loads_json_limits() -> None:
    assert loads_json(b'{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    assert loads_json("[" * 64 + "]" * 64) is not None
    for bad in ("1e400", "-1e400", "NaN", "Infinity", "[" * 65 + "]" * 65, DEEP, b"\xff\xfe{", "{"):
        with pytest.raises(UnsafeJsonError):
            loads_json(bad)


# --- netrc -------------------------------------------------------------------------------------------------


def test_netrc_is_never_read_not_even_on_a_redirect(server, client, tmp_path, monkeypatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\nmachine localhost login x password y\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".netrc").write_text(netrc.read_text())
    (tmp_path / ".netrc").chmod(0o600)
    server.json("/moved/profiles", [])
    server.replies["/user/steamProfiles"] = Reply(302, headers={"Location": server.url + "/moved/profiles"})
    assert client.get_steam_profiles([ME]) == {}
    paths = [path for path, _ in server.seen]
    assert paths[-1] == "/moved/profiles" and len(paths) == 2
    assert all("authorization" not in headers for _, headers in server.seen)
