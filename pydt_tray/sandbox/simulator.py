"""A contract-faithful fake PYDT service on 127.0.0.1 (REST API, S3 pollUrl and presigned URLs).

It serves real HTTP/1.1 with keep-alive from a :class:`ThreadingHTTPServer`. The API lives at
``base_url``; the "S3" objects live under ``/s3/`` on the same server and, like the real bucket,
ignore the ``Authorization`` header. Tests drive it through the methods of :class:`PydtSimulator`
(add users and games, advance turns, inject failures, read what clients sent).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import re
import secrets
import socket
import threading
import time
import uuid
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pydt_tray.core.models import format_date
from pydt_tray.sandbox.world import (
    LEADERS,
    SAVE_EXTENSIONS,
    default_metadata,
    gzip_bytes,
    make_token,
    metadata_hash,
    read_token,
    synthetic_save,
)

log = logging.getLogger(__name__)

ROUTES = (
    "getCurrent", "games", "poll", "steamProfiles", "metadata", "getTurn",
    "startSubmit", "finishSubmit", "download", "upload", "steamProfile", "game",
)  # fmt: skip
S3_ROUTES = frozenset({"poll", "download", "upload", "s3"})
AUTH_ROUTES = frozenset({"getCurrent", "games", "steamProfile", "getTurn", "startSubmit", "finishSubmit"})
GENERIC_500 = "There was an error processing your request."
COMPRESSION_THRESHOLD = 1024
ChangeHook = Callable[[list[str], str, bool], None]


@dataclass(frozen=True)
class RecordedRequest:
    """What the simulator saw of one request (header names in lower case)."""

    route: str
    method: str
    path: str
    query: str
    headers: dict[str, str]

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    api: bool = True
    after: Callable[[], None] | None = None


@dataclass
class _Grant:
    """A presigned URL: what it allows, on which object path, until when."""

    method: str
    path: str
    game_id: str
    turn: int
    expires: float
    data: bytes = b""
    extension: str = "Civ6Save"


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(status: int, value: Any) -> Reply:
    return Reply(status, json.dumps(value, separators=(",", ":")).encode())


def _error(status: int, message: str) -> Reply:
    return _json(status, {"errorMessage": message})


def _s3_error(status: int, code: str, message: str) -> Reply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{uuid.uuid4().hex[:16]}</RequestId></Error>"
    )
    return Reply(status, body.encode(), [("Content-Type", "application/xml")], api=False)


def _now() -> str:
    return format_date(datetime.now(UTC)) or ""


def pick_encoding(accept_encoding: str) -> str | None:
    """gzip > deflate among the encodings the client accepts (br is never available here)."""
    accepted: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        accepted[name.strip().lower()] = quality
    for encoding in ("gzip", "deflate"):
        if accepted.get(encoding, 0.0) > 0:
            return encoding
    return None


def encode_body(body: bytes, accept_encoding: str) -> tuple[bytes, str | None]:
    """Compress a body above the service's threshold as the service does."""
    if len(body) <= COMPRESSION_THRESHOLD:
        return body, None
    encoding = pick_encoding(accept_encoding)
    if encoding == "gzip":
        return gzip_bytes(body), "gzip"
    if encoding == "deflate":
        return zlib.compress(body), "deflate"
    return body, None


def unzip_save(data: bytes) -> bytes:
    """gzip or zlib data -> its content; anything else is taken as the raw save."""
    try:
        return zlib.decompress(data, wbits=47)
    except zlib.error:
        return data


class PydtSimulator:
    """The fake service. Thread-safe; every public method may be called while it serves."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        download_ttl: float = 60.0,
        upload_ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._address = (host, port)
        self.download_ttl = download_ttl
        self.upload_ttl = upload_ttl
        self._clock = clock
        self._lock = threading.RLock()
        self._secret = secrets.token_bytes(32)
        self._users: dict[str, dict[str, Any]] = {}
        self._nonces: dict[str, int] = {}
        self._games: dict[str, dict[str, Any]] = {}
        self._sequence: dict[str, int] = {}
        self._saves: dict[str, tuple[bytes, bytes, str]] = {}  # game -> (raw, gzip, version)
        self._uploads: dict[str, tuple[int, bytes]] = {}  # game -> (turn key, body as uploaded)
        self._poll: dict[str, tuple[bytes, str]] = {}  # steam id -> (body, etag)
        self._grants: dict[str, _Grant] = {}
        self._faults: dict[str, deque[tuple[str, int]]] = {}
        self._rejections: dict[str, deque[tuple[str, int]]] = {}
        self._latency: dict[str, float] = {}
        self._counts: Counter[str] = Counter()
        self._recorded: dict[str, list[RecordedRequest]] = {}
        self._hooks: list[ChangeHook] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.set_metadata(default_metadata())

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> PydtSimulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="pydt-simulator", daemon=True
        )
        self._thread.start()
        log.debug("PYDT simulator listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> PydtSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def metadata_hash(self) -> str:
        return self._metadata_hash

    def set_metadata(self, metadata: dict[str, Any]) -> str:
        """Replace the metadata document; every later API reply carries the new hash."""
        digest = metadata_hash(metadata)
        body = json.dumps({"metadata": metadata, "hash": digest}, separators=(",", ":")).encode()
        with self._lock:
            self._metadata_hash, self._metadata_body = digest, body
        return digest

    # --- users -----------------------------------------------------------------------------

    def add_user(self, steam_id: str, display_name: str, forum_username: str = "") -> str:
        """Register a user and return a valid token for it."""
        now = _now()
        user = {
            "steamId": steam_id,
            "displayName": display_name,
            "avatarSmall": f"https://avatars.example.invalid/{steam_id}.jpg",
            "avatarMedium": f"https://avatars.example.invalid/{steam_id}_medium.jpg",
            "avatarFull": f"https://avatars.example.invalid/{steam_id}_full.jpg",
            "steamProfileUrl": f"https://steamcommunity.com/profiles/{steam_id}/",
            "vacationMode": False,
            "createdAt": now,
            "updatedAt": now,
            "version": 1,
        }
        if forum_username:
            user["forumUsername"] = forum_username
        with self._lock:
            self._users[steam_id] = user
            self._nonces.setdefault(steam_id, 0)
            return make_token(self._secret, steam_id, self._nonces[steam_id])

    def token(self, steam_id: str) -> str:
        with self._lock:
            return make_token(self._secret, steam_id, self._nonces[steam_id])

    def revoke_tokens(self, steam_id: str) -> str:
        """Bump the user's nonce: every earlier token now gets 401. Returns a fresh token."""
        with self._lock:
            self._nonces[steam_id] = self._nonces.get(steam_id, 0) + 1
            return make_token(self._secret, steam_id, self._nonces[steam_id])

    def poll_url(self, steam_id: str) -> str:
        return f"{self.base_url}/s3/{steam_id}/gameCache.json"

    # --- games -----------------------------------------------------------------------------

    def add_game(
        self,
        *,
        name: str,
        players: list[str],
        current: str | None = None,
        game_type: str | None = "CIV6",
        turn: int = 2,
        round: int = 1,
        in_progress: bool = True,
        flags: Iterable[str] = (),
        game_id: str | None = None,
        save: bytes | None = None,
    ) -> str:
        """Create a game; ``players`` are steam ids in civ order, "" for an AI slot."""
        humans = [sid for sid in players if sid]
        game_id = game_id or str(uuid.uuid4())
        leaders = LEADERS.get(game_type or "CIV6", LEADERS["CIV6"])
        now = _now()
        game: dict[str, Any] = {
            "gameId": game_id,
            "displayName": name,
            "createdBySteamId": humans[0] if humans else "",
            "inProgress": in_progress,
            "currentPlayerSteamId": current if current is not None else (humans[0] if humans else ""),
            "round": round,
            "gameTurnRangeKey": turn,
            "version": 1,
            "createdAt": now,
            "updatedAt": now,
            "flags": list(flags),
            "players": [
                {"steamId": sid, "civType": leaders[i % len(leaders)]}
                if sid
                else {"civType": leaders[i % len(leaders)]}
                for i, sid in enumerate(players)
            ],
            "slots": len(players),
            "humans": len(humans),
            "dlc": [],
            "gameSpeed": "STANDARD",
            "mapFile": "Continents",
            "mapSize": "SMALL",
            "discourseTopicId": 10000 + len(self._games),
        }
        if game_type is not None:
            game["gameType"] = game_type
        if turn > 1:
            game["lastTurnEndDate"] = now
        with self._lock:
            unknown = [sid for sid in humans if sid not in self._users]
            if unknown:
                raise ValueError(f"unknown players: {unknown}")
            self._games[game_id] = game
            self._sequence[game_id] = len(self._sequence)
            if save is not None or turn > 1:
                self._store_save(game_id, save if save is not None else synthetic_save(game_id, turn))
        return game_id

    def game(self, game_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._games[game_id])

    def set_current_player(self, game_id: str, steam_id: str) -> None:
        with self._lock:
            game = self._games[game_id]
            game["currentPlayerSteamId"] = steam_id
            self._touch(game)

    def set_turn_save(self, game_id: str, data: bytes | None) -> None:
        """The save stored for the game's current turn (None: no save, getTurn gives 404)."""
        with self._lock:
            if data is None:
                self._saves.pop(game_id, None)
            else:
                self._store_save(game_id, data)

    def advance_turn(self, game_id: str) -> dict[str, Any]:
        """Another player finished their turn: the next human plays; hooks fire for them."""
        with self._lock:
            game = self._games[game_id]
            self._advance(game, synthetic_save(game_id, int(game.get("gameTurnRangeKey", 1)) + 1))
            notices = self._publish(game, new_turn=True)
            result = copy.deepcopy(game)
        self._notify(notices)
        return result

    def update_game(self, game_id: str, **fields: Any) -> dict[str, Any]:
        """A "game updated" event (edit, smack talk post...): every human player is pinged."""
        with self._lock:
            game = self._games[game_id]
            game.update(fields)
            self._touch(game)
            notices = self._publish(game, new_turn=False)
            result = copy.deepcopy(game)
        self._notify(notices)
        return result

    def complete_game(self, game_id: str) -> None:
        """The game ended: it leaves every active list (caches rewritten, no ping)."""
        with self._lock:
            game = self._games[game_id]
            game["completed"] = game["finalized"] = True
            self._touch(game)
            self._publish(game, new_turn=False)

    def remove_game(self, game_id: str) -> None:
        """The game disappears (deleted or left); like the service, the pollUrl is not rewritten."""
        with self._lock:
            self._games.pop(game_id, None)
            self._saves.pop(game_id, None)
            self._uploads.pop(game_id, None)

    def uploaded(self, game_id: str) -> bytes | None:
        with self._lock:
            entry = self._uploads.get(game_id)
            return entry[1] if entry else None

    def add_change_hook(self, hook: ChangeHook) -> None:
        """``hook(steam_ids, game_id, new_turn)`` for every IoT "Hello!" the service would send."""
        with self._lock:
            self._hooks.append(hook)

    # --- fault injection and inspection ----------------------------------------------------

    def fail_next(self, route: str, status: int = 500, count: int = 1) -> None:
        self._queue_fault(route, "fail", status, count)

    def malformed_next(self, route: str, count: int = 1) -> None:
        self._queue_fault(route, "malformed", 200, count)

    def unauthorized_next(self, route: str, count: int = 1) -> None:
        self._queue_fault(route, "unauthorized", 401, count)

    def reject_next_finish(self, game_id: str, message: str, status: int = 400) -> None:
        with self._lock:
            self._rejections.setdefault(game_id, deque()).append((message, status))

    def set_latency(self, route: str, seconds: float) -> None:
        self._check_route(route)
        with self._lock:
            self._latency[route] = seconds

    def request_count(self, route: str) -> int:
        with self._lock:
            return self._counts[route]

    def recorded(self, route: str) -> list[RecordedRequest]:
        with self._lock:
            return list(self._recorded.get(route, ()))

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()
            self._recorded.clear()

    def _check_route(self, route: str) -> None:
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; known: {', '.join(ROUTES)}")

    def _queue_fault(self, route: str, kind: str, status: int, count: int) -> None:
        self._check_route(route)
        with self._lock:
            self._faults.setdefault(route, deque()).extend([(kind, status)] * count)

    # --- state helpers (call with the lock held) -------------------------------------------

    def _store_save(self, game_id: str, data: bytes) -> None:
        self._saves[game_id] = (data, gzip_bytes(data), uuid.uuid4().hex)

    def _touch(self, game: dict[str, Any]) -> None:
        game["version"] = int(game.get("version", 0)) + 1
        game["updatedAt"] = _now()

    def _advance(self, game: dict[str, Any], new_save: bytes) -> None:
        players = _players(game)
        humans = [i for i, p in enumerate(players) if p.get("steamId") and not p.get("hasSurrendered")]
        current = game.get("currentPlayerSteamId")
        index = next((i for i, p in enumerate(players) if p.get("steamId") == current), -1)
        later = [i for i in humans if i > index]
        if later:
            game["currentPlayerSteamId"] = players[later[0]]["steamId"]
        elif humans:
            game["currentPlayerSteamId"] = players[humans[0]]["steamId"]
            game["round"] = int(game.get("round", 1)) + 1
        game["gameTurnRangeKey"] = int(game.get("gameTurnRangeKey", 1)) + 1
        self._touch(game)
        game["lastTurnEndDate"] = game["updatedAt"]
        self._store_save(game["gameId"], new_save)

    def _active_games(self, steam_id: str) -> list[dict[str, Any]]:
        """The user's active games, newest first, with the service's defaults applied."""
        mine = [
            g
            for g in self._games.values()
            if not g.get("completed")
            and any(p.get("steamId") == steam_id and not p.get("hasSurrendered") for p in _players(g))
        ]
        mine.sort(key=lambda g: (g.get("createdAt", ""), self._sequence.get(g["gameId"], 0)), reverse=True)
        return [{"gameType": "CIV6", "turnTimerVacationHandling": "SKIP_AFTER_TIMER", **g} for g in mine]

    def _publish(self, game: dict[str, Any], *, new_turn: bool) -> list[tuple[list[str], str, bool]]:
        """Rewrite the pollUrl objects of every player (in-progress games only); return the pings due."""
        if not game.get("inProgress"):
            return []
        humans = [p["steamId"] for p in _players(game) if p.get("steamId") and not p.get("hasSurrendered")]
        for steam_id in dict.fromkeys(p["steamId"] for p in _players(game) if p.get("steamId")):
            if steam_id in self._users:
                body = json.dumps(self._active_games(steam_id), separators=(",", ":")).encode()
                self._poll[steam_id] = (body, '"' + hashlib.md5(body).hexdigest() + '"')
        if game.get("completed"):
            return []
        targets = [game["currentPlayerSteamId"]] if new_turn else humans
        return [(targets, game["gameId"], new_turn)] if targets else []

    def _notify(self, notices: list[tuple[list[str], str, bool]]) -> None:
        """Call the change hooks; never with the lock held."""
        with self._lock:
            hooks = list(self._hooks)
        for steam_ids, game_id, new_turn in notices:
            for hook in hooks:
                try:
                    hook(list(steam_ids), game_id, new_turn)
                except Exception:
                    log.exception("simulator change hook failed")

    def _grant(self, method: str, path: str, game_id: str, turn: int, ttl: float, data: bytes = b"") -> str:
        now = self._clock()
        for key in [k for k, g in self._grants.items() if g.expires < now - 600]:
            del self._grants[key]
        signature = secrets.token_hex(20)
        self._grants[signature] = _Grant(method, path, game_id, turn, now + ttl, data)
        query = f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires={int(ttl)}&X-Amz-Signature={signature}"
        return f"{self.base_url}{path}?{query}"

    # --- request handling (called by the HTTP handler threads) -----------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes, chunked: bool) -> Reply:
        split = urlsplit(target)
        route, params = _route(method, split.path)
        with self._lock:
            self._counts[route] += 1
            self._recorded.setdefault(route, []).append(
                RecordedRequest(route, method, split.path, split.query, headers)
            )
            latency = self._latency.get(route, 0.0)
        if latency > 0:
            self._stopping.wait(latency)
        with self._lock:
            faults = self._faults.get(route)
            fault = faults.popleft() if faults else None
        reply = (
            self._fault_reply(route, fault)
            if fault
            else self._dispatch(route, params, split.query, headers, body, chunked)
        )
        if route not in S3_ROUTES:
            reply.api = True
            reply.headers.append(("Metadata-Hash", self._metadata_hash))
        return reply

    def _fault_reply(self, route: str, fault: tuple[str, int]) -> Reply:
        kind, status = fault
        if kind == "malformed":
            reply = Reply(200, b'{"data": [{"gameId": "broken", ')
            reply.api = route not in S3_ROUTES
            return reply
        if route in S3_ROUTES:
            if kind == "unauthorized":
                return _s3_error(403, "AccessDenied", "Access Denied")
            return _s3_error(status, "InternalError", "We encountered an internal error. Please try again.")
        if kind == "unauthorized":
            return _error(401, "Unauthorized")
        return _error(status, GENERIC_500 if status >= 500 else "Not Found" if status == 404 else "Bad Request")

    def _dispatch(
        self, route: str, params: dict[str, str], query: str, headers: dict[str, str], body: bytes, chunked: bool
    ) -> Reply:
        try:
            if route in S3_ROUTES:
                return self._s3(route, params, query, headers, body, chunked)
            if route == "unknown":
                return _error(404, "Not Found")
            if body.strip():
                json.loads(body)
            user = None
            if route in AUTH_ROUTES:
                user = self._authenticate(headers.get("authorization", ""))
                if user is None:
                    return _error(401, "Unauthorized")
            return getattr(self, f"_api_{route}")(user, params, parse_qs(query, keep_blank_values=True))
        except _HttpError as exc:
            return _error(exc.status, exc.message)
        except Exception:
            log.debug("simulator: request failed", exc_info=True)
            return _error(500, GENERIC_500)

    def _authenticate(self, header: str) -> str | None:
        parsed = read_token(self._secret, header)
        if parsed is None:
            return None
        steam_id, nonce = parsed
        with self._lock:
            if steam_id not in self._users or self._nonces.get(steam_id, -1) != nonce:
                return None
        return steam_id

    def _game_for(self, game_id: str) -> dict[str, Any]:
        game = self._games.get(game_id)
        if game is None:
            raise _HttpError(404, "Not Found")
        return game

    def _profile(self, steam_id: str) -> dict[str, Any]:
        user = self._users[steam_id]
        return {
            "steamid": steam_id,
            "personaname": user["displayName"],
            "profileurl": user["steamProfileUrl"],
            "avatar": user["avatarSmall"],
            "avatarmedium": user["avatarMedium"],
            "avatarfull": user["avatarFull"],
        }

    # --- API routes ------------------------------------------------------------------------

    def _api_getCurrent(self, user: str, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        with self._lock:
            active = [g["gameId"] for g in self._active_games(user)]
            return _json(200, {**self._users[user], "activeGameIds": active, "inactiveGameIds": []})

    def _api_games(self, user: str, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        with self._lock:
            return _json(200, {"data": self._active_games(user), "pollUrl": self.poll_url(user)})

    def _api_steamProfile(self, user: str, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        with self._lock:
            return _json(200, self._profile(user))

    def _api_steamProfiles(self, user: None, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        if "steamIds" not in query:
            raise _HttpError(400, "'steamIds' is required")
        ids = ",".join(query["steamIds"]).split(",")
        with self._lock:
            if any(sid not in self._users for sid in ids):
                raise _HttpError(500, GENERIC_500)
            return _json(200, [self._profile(sid) for sid in ids])

    def _api_metadata(self, user: None, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        with self._lock:
            return Reply(200, self._metadata_body)

    def _api_game(self, user: None, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        with self._lock:
            return _json(200, self._game_for(params["game_id"]))

    def _api_getTurn(self, user: str, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        game_id = params["game_id"]
        with self._lock:
            game = self._game_for(game_id)
            if game.get("currentPlayerSteamId") != user:
                raise _HttpError(400, "It's not your damn turn!")
            save = self._saves.get(game_id)
            if save is None:
                raise _HttpError(404, "Save file not found")
            raw, gz, version = save
            compressed = bool(query.get("compressed", [""])[0])
            turn = int(game.get("gameTurnRangeKey", 1))
            path = f"/s3/{game_id}/{turn:06d}.CivXSave" + (".gz" if compressed else "")
            data = gz if compressed else raw
            url = self._grant("GET", path, game_id, turn, self.download_ttl, data)
            self._grants[url.rsplit("=", 1)[1]].extension = SAVE_EXTENSIONS.get(
                game.get("gameType", "CIV6"), "Civ6Save"
            )
            return _json(200, {"downloadUrl": url, "version": version, "size": len(data)})

    def _api_startSubmit(self, user: str, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        game_id = params["game_id"]
        with self._lock:
            game = self._game_for(game_id)
            if game.get("currentPlayerSteamId") != user:
                raise _HttpError(400, "It's not your turn!")
            turn = int(game.get("gameTurnRangeKey", 1)) + 1
            url = self._grant("PUT", f"/s3/{game_id}/{turn:06d}.CivXSave", game_id, turn, self.upload_ttl)
            return _json(200, {"putUrl": url})

    def _api_finishSubmit(self, user: str, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        game_id = params["game_id"]
        with self._lock:
            game = self._game_for(game_id)
            if game.get("currentPlayerSteamId") != user:
                raise _HttpError(400, "It's not your turn!")
            next_turn = int(game.get("gameTurnRangeKey", 1)) + 1
            upload = self._uploads.get(game_id)
            if upload is None or upload[0] != next_turn:
                raise _HttpError(400, "The uploaded save file could not be found.  Please submit it again.")
            save = unzip_save(upload[1])
            if not save:
                raise _HttpError(
                    400,
                    "Could not parse uploaded file!  If you continue to have trouble please post on the PYDT forums.",
                )
            rejections = self._rejections.get(game_id)
            if rejections:
                message, status = rejections.popleft()
                raise _HttpError(status, message)
            self._advance(game, save)
            notices = self._publish(game, new_turn=True)
            reply = _json(200, {"gameType": "CIV6", **game})
        reply.after = lambda: self._notify(notices)
        return reply

    # --- S3 routes -------------------------------------------------------------------------

    def _s3(
        self, route: str, params: dict[str, str], query: str, headers: dict[str, str], body: bytes, chunked: bool
    ) -> Reply:
        if route == "poll":
            with self._lock:
                entry = self._poll.get(params["steam_id"])
            if entry is None:
                return _s3_error(403, "AccessDenied", "Access Denied")
            data, etag = entry
            wanted = [tag.strip() for tag in headers.get("if-none-match", "").split(",")]
            if etag in wanted or "*" in wanted or f"W/{etag}" in wanted:
                return Reply(304, b"", [("ETag", etag)], api=False)
            return Reply(200, data, [("ETag", etag), ("Cache-Control", "no-cache")], api=False)
        if route == "s3":
            return _s3_error(403, "AccessDenied", "Access Denied")
        signature = parse_qs(query).get("X-Amz-Signature", [""])[0]
        method = "PUT" if route == "upload" else "GET"
        with self._lock:
            grant = self._grants.get(signature)
            if grant is None or grant.method != method or grant.path != params["path"]:
                return _s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
            if self._clock() > grant.expires:
                return _s3_error(403, "AccessDenied", "Request has expired")
            if method == "GET":
                headers_out = [
                    ("Content-Type", "application/octet-stream"),
                    ("Content-Disposition", f"attachment; filename=(PYDT) Play This One!.{grant.extension}"),
                ]
                return Reply(200, grant.data, headers_out, api=False)
            if chunked:
                return _s3_error(
                    501, "NotImplemented", "A header you provided implies functionality that is not implemented"
                )
            if headers.get("content-type") != "application/octet-stream":
                return _s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
            self._uploads[grant.game_id] = (grant.turn, body)
        return Reply(200, b"", [("ETag", '"' + hashlib.md5(body).hexdigest() + '"')], api=False)


def _players(game: dict[str, Any]) -> list[dict[str, Any]]:
    """The game's player objects, tolerating a broken ``players`` field set by a test."""
    players = game.get("players")
    return [p for p in players if isinstance(p, dict)] if isinstance(players, list) else []


def _route(method: str, path: str) -> tuple[str, dict[str, str]]:
    parts = [unquote(p) for p in path.split("/") if p]
    if parts[:1] == ["s3"]:
        if len(parts) == 3 and parts[2] == "gameCache.json" and method == "GET":
            return "poll", {"steam_id": parts[1]}
        if len(parts) == 3 and method in ("GET", "PUT"):
            return ("upload" if method == "PUT" else "download"), {"path": path}
        return "s3", {}
    if method == "GET":
        if parts in (["user", "getCurrent"], ["user", "games"], ["user", "steamProfile"], ["user", "steamProfiles"]):
            return parts[1], {}
        if parts == ["metadata"]:
            return "metadata", {}
        if len(parts) == 2 and parts[0] == "game":
            return "game", {"game_id": parts[1]}
        if len(parts) == 3 and parts[0] == "game" and parts[2] == "turn":
            return "getTurn", {"game_id": parts[1]}
    is_submit = len(parts) == 4 and parts[0] == "game" and parts[2] == "turn"
    if method == "POST" and is_submit and parts[3] in ("startSubmit", "finishSubmit"):
        return parts[3], {"game_id": parts[1]}
    return "unknown", {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], simulator: PydtSimulator) -> None:
        self.simulator = simulator
        self.connections: dict[socket.socket, threading.Thread] = {}
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("simulator: connection error from %s", client_address, exc_info=True)

    def close_connections(self) -> None:
        """Wake the handler threads of idle keep-alive connections and wait for them to finish."""
        with self.connections_lock:
            connections = dict(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread in connections.values():
            thread.join(timeout=2)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pydt-simulator"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 60
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections[self.connection] = threading.current_thread()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.pop(self.connection, None)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _read_body(self) -> tuple[bytes, bool]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = bytearray()
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(chunks), True
                chunks += self.rfile.read(size)
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return (self.rfile.read(length) if length > 0 else b""), False

    def _serve(self) -> None:
        try:
            body, chunked = self._read_body()
        except ValueError:
            self.close_connection = True
            hash_header = [("Metadata-Hash", self.server.simulator.metadata_hash)]
            self._send(Reply(400, b'{"errorMessage":"Bad Request"}', hash_header))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.simulator.handle(self.command, self.path, headers, body, chunked)
        try:
            self._send(reply, headers.get("accept-encoding", ""))
        finally:
            if reply.after is not None:
                reply.after()

    def _send(self, reply: Reply, accept_encoding: str = "") -> None:
        body, encoding = encode_body(reply.body, accept_encoding) if reply.api else (reply.body, None)
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        if reply.status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and reply.status != 304:
            self.wfile.write(body)
