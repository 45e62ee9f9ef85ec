"""A contract-faithful fake PYDT service on 127.0.0.1 (REST API, S3 pollUrl and presigned URLs).

It serves real HTTP/1.1 with keep-alive (:mod:`.server`). The API lives at ``base_url``; the "S3"
objects live under ``/s3/`` on the same server (:mod:`.storage`) and, like the real bucket, ignore
the ``Authorization`` header. Tests drive it through the methods of :class:`PydtSimulator` (add users
and games, advance turns, inject failures per route (:mod:`.traffic`), read what clients sent); the
user and game documents are built in :mod:`.games`. This module owns the state and the API routes.
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydt_tray.sandbox import games
from pydt_tray.sandbox.server import COMPRESSION_THRESHOLD, Reply, SimulatorServer, encode_body, pick_encoding
from pydt_tray.sandbox.storage import FakeBucket, s3_error, unzip_save
from pydt_tray.sandbox.traffic import AUTH_ROUTES, ROUTES, S3_ROUTES, RecordedRequest, Traffic, route_of
from pydt_tray.sandbox.world import (
    SAVE_EXTENSIONS,
    default_metadata,
    gzip_bytes,
    make_token,
    metadata_hash,
    read_token,
    synthetic_save,
)

__all__ = [
    "AUTH_ROUTES",
    "COMPRESSION_THRESHOLD",
    "GENERIC_500",
    "ROUTES",
    "S3_ROUTES",
    "ChangeHook",
    "PydtSimulator",
    "RecordedRequest",
    "Reply",
    "WebhookDelivery",
    "encode_body",
    "pick_encoding",
    "unzip_save",
]

log = logging.getLogger(__name__)

GENERIC_500 = "There was an error processing your request."
WEBHOOK_TIMEOUT = 5.0
ChangeHook = Callable[[list[str], str, bool], None]
BODY_ROUTES = frozenset({"setWebhookUrl"})


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook POST the service made: where, what, and how it went (``error`` when it failed)."""

    url: str
    body: dict[str, Any]
    status: int | None
    error: str | None
    sent_at: float


@dataclass(frozen=True)
class _Notice:
    """What is due after a change: webhook POSTs (new turns only), then one IoT ping per target."""

    targets: list[str]
    game_id: str
    new_turn: bool
    webhooks: tuple[tuple[str, dict[str, Any]], ...] = ()


def _parses_as_url(value: object) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme and parts.netloc)


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(status: int, value: Any) -> Reply:
    return Reply(status, json.dumps(value, separators=(",", ":")).encode())


def _error(status: int, message: str) -> Reply:
    return _json(status, {"errorMessage": message})


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
        self._bucket = FakeBucket(self._lock, clock)
        self._traffic = Traffic()
        self._rejections: dict[str, deque[tuple[str, int]]] = {}
        self._hooks: list[ChangeHook] = []
        self._puds: dict[str, dict[str, Any]] = {}
        self._webhook_log: list[WebhookDelivery] = []
        self._webhook_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.webhook_timeout = WEBHOOK_TIMEOUT
        self._metadata: dict[str, Any] = {}
        self._stopping = threading.Event()
        self._server: SimulatorServer | None = None
        self._thread: threading.Thread | None = None
        self.set_metadata(default_metadata())

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> PydtSimulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = SimulatorServer(self._address, self)
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
            self._metadata = copy.deepcopy(metadata)
        return digest

    # --- users -----------------------------------------------------------------------------

    def add_user(self, steam_id: str, display_name: str, forum_username: str = "") -> str:
        """Register a user and return a valid token for it."""
        user = games.new_user(steam_id, display_name, forum_username)
        with self._lock:
            self._users[steam_id] = user
            self._puds.setdefault(steam_id, {"steamId": steam_id, "newTurnEmails": False, "webPushSubscriptions": []})
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

    def webhook_url(self, steam_id: str) -> str:
        """The user's ``pud.webhookUrl`` ("" when none is set)."""
        with self._lock:
            return str(self._puds[steam_id].get("webhookUrl") or "")

    def set_webhook_url(self, steam_id: str, url: str) -> None:
        """Set the user's webhook as the website's profile page would ("" clears it)."""
        with self._lock:
            self._puds[steam_id]["webhookUrl"] = url

    def set_vacation(self, steam_id: str, on: bool = True) -> None:
        """Vacation mode: a new turn for this user sends nothing at all (no webhook, no ping)."""
        with self._lock:
            self._users[steam_id]["vacationMode"] = on

    def webhook_deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return list(self._webhook_log)

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
        game = games.new_game(
            game_id=game_id,
            name=name,
            players=players,
            current=current,
            game_type=game_type,
            turn=turn,
            round=round,
            in_progress=in_progress,
            flags=flags,
            topic_id=10000 + len(self._games),
        )
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
            games.touch(game)

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
            games.touch(game)
            notices = self._publish(game, new_turn=False)
            result = copy.deepcopy(game)
        self._notify(notices)
        return result

    def complete_game(self, game_id: str) -> None:
        """The game ended: it leaves every active list (caches rewritten, no ping)."""
        with self._lock:
            game = self._games[game_id]
            game["completed"] = game["finalized"] = True
            games.touch(game)
            self._publish(game, new_turn=False)

    def remove_game(self, game_id: str) -> None:
        """The game disappears (deleted or left); like the service, the pollUrl is not rewritten."""
        with self._lock:
            self._games.pop(game_id, None)
            self._saves.pop(game_id, None)
            self._bucket.forget(game_id)

    def uploaded(self, game_id: str) -> bytes | None:
        entry = self._bucket.upload(game_id)
        return entry[1] if entry else None

    def add_change_hook(self, hook: ChangeHook) -> None:
        """``hook(steam_ids, game_id, new_turn)`` for every IoT "Hello!" the service would send."""
        with self._lock:
            self._hooks.append(hook)

    # --- fault injection and inspection ----------------------------------------------------

    def fail_next(self, route: str, status: int = 500, count: int = 1) -> None:
        self._traffic.queue_fault(route, "fail", status, count)

    def malformed_next(self, route: str, count: int = 1) -> None:
        self._traffic.queue_fault(route, "malformed", 200, count)

    def unauthorized_next(self, route: str, count: int = 1) -> None:
        self._traffic.queue_fault(route, "unauthorized", 401, count)

    def reject_next_finish(self, game_id: str, message: str, status: int = 400) -> None:
        with self._lock:
            self._rejections.setdefault(game_id, deque()).append((message, status))

    def set_latency(self, route: str, seconds: float) -> None:
        self._traffic.set_latency(route, seconds)

    def request_count(self, route: str) -> int:
        return self._traffic.count(route)

    def recorded(self, route: str) -> list[RecordedRequest]:
        return self._traffic.recorded(route)

    def reset_counts(self) -> None:
        self._traffic.reset()

    # --- state helpers (call with the lock held) -------------------------------------------

    def _store_save(self, game_id: str, data: bytes) -> None:
        self._saves[game_id] = (data, gzip_bytes(data), uuid.uuid4().hex)

    def _advance(self, game: dict[str, Any], new_save: bytes) -> None:
        games.advance(game)
        self._store_save(game["gameId"], new_save)

    def _active_games(self, steam_id: str) -> list[dict[str, Any]]:
        return games.active_games(self._games.values(), self._sequence, steam_id)

    def _publish(self, game: dict[str, Any], *, new_turn: bool) -> list[_Notice]:
        """Rewrite the pollUrl objects of every player (in-progress games only); return what is due to send."""
        if not game.get("inProgress"):
            return []
        humans = games.playing_humans(game)
        for steam_id in dict.fromkeys(p["steamId"] for p in games.players(game) if p.get("steamId")):
            if steam_id in self._users:
                body = json.dumps(self._active_games(steam_id), separators=(",", ":")).encode()
                self._bucket.put_poll(steam_id, body)
        if game.get("completed"):
            return []
        if not new_turn:
            return [_Notice(humans, game["gameId"], False)] if humans else []
        current = game.get("currentPlayerSteamId") or ""
        user = self._users.get(current)
        if not current or (user is not None and user.get("vacationMode")):
            return []  # a player on vacation gets nothing at all
        hooks = [game.get("webhookUrl"), self._puds.get(current, {}).get("webhookUrl")]
        body = self._webhook_body(game, current)
        webhooks = tuple((url, body) for url in hooks if isinstance(url, str) and _parses_as_url(url))
        return [_Notice([current], game["gameId"], True, webhooks)]

    def _webhook_body(self, game: dict[str, Any], steam_id: str) -> dict[str, Any]:
        """The JSON the service posts to the game's and the player's webhooks on a new turn."""
        user = self._users.get(steam_id, {})
        player = next((p for p in games.players(game) if p.get("steamId") == steam_id), {})
        civ_game = next(
            (c for c in self._metadata.get("civGames", []) if c.get("id") == game.get("gameType", "CIV6")), {}
        )
        leaders = civ_game.get("leaders", [])
        leader = next((item for item in leaders if item.get("leaderKey") == player.get("civType")), {})
        civ_key = str(leader.get("civKey") or "")
        civ_name = civ_key.split("_", 1)[-1].replace("_", " ").title() if civ_key else ""
        game_name, user_name, round_ = game.get("displayName", ""), user.get("displayName", ""), game.get("round", 1)
        return {
            "gameName": game_name,
            "userName": user_name,
            "round": round_,
            "civName": civ_name,
            "leaderName": leader.get("fullDisplayName", ""),
            "value1": game_name,
            "value2": user_name,
            "value3": round_,
            "content": f"It's {user_name}'s turn in {game_name} (Round {round_})",
            "steamId": steam_id,
        }

    def _post_webhook(self, url: str, body: dict[str, Any]) -> None:
        """POST one webhook: JSON, 5 s timeout, the answer ignored, every error swallowed."""
        data = json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
        status: int | None = None
        error: str | None = None
        try:
            with self._webhook_opener.open(request, timeout=self.webhook_timeout) as response:
                status = response.status
                response.read()
        except urllib.error.HTTPError as failure:
            status = failure.code
            failure.close()
        except Exception as failure:
            error = f"{type(failure).__name__}: {failure}"
            log.debug("simulator: webhook POST failed (%s)", error)
        with self._lock:
            self._webhook_log.append(WebhookDelivery(url, body, status, error, time.monotonic()))

    def _notify(self, notices: list[_Notice]) -> None:
        """Send the webhooks, then call the change hooks (the IoT ping); never with the lock held."""
        with self._lock:
            hooks = list(self._hooks)
        for notice in notices:
            for url, body in notice.webhooks:
                self._post_webhook(url, body)
            for hook in hooks:
                try:
                    hook(list(notice.targets), notice.game_id, notice.new_turn)
                except Exception:
                    log.exception("simulator change hook failed")

    # --- request handling (called by the HTTP handler threads) -----------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes, chunked: bool) -> Reply:
        split = urlsplit(target)
        route, params = route_of(method, split.path)
        latency = self._traffic.arrived(RecordedRequest(route, method, split.path, split.query, headers))
        if latency > 0:
            self._stopping.wait(latency)
        fault = self._traffic.take_fault(route)
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
                return s3_error(403, "AccessDenied", "Access Denied")
            return s3_error(status, "InternalError", "We encountered an internal error. Please try again.")
        if kind == "unauthorized":
            return _error(401, "Unauthorized")
        return _error(status, GENERIC_500 if status >= 500 else "Not Found" if status == 404 else "Bad Request")

    def _dispatch(
        self, route: str, params: dict[str, str], query: str, headers: dict[str, str], body: bytes, chunked: bool
    ) -> Reply:
        try:
            if route in S3_ROUTES:
                return self._bucket.serve(route, params, query, headers, body, chunked)
            if route == "unknown":
                return _error(404, "Not Found")
            payload = json.loads(body) if body.strip() else None
            user = None
            if route in AUTH_ROUTES:
                user = self._authenticate(headers.get("authorization", ""))
                if user is None:
                    return _error(401, "Unauthorized")
            handler = getattr(self, f"_api_{route}")
            if route in BODY_ROUTES:
                reply: Reply = handler(user, payload)
            else:
                reply = handler(user, params, parse_qs(query, keep_blank_values=True))
            return reply
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

    # --- API routes ------------------------------------------------------------------------

    def _api_getCurrent(self, user: str, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        with self._lock:
            active = [g["gameId"] for g in self._active_games(user)]
            return _json(200, {**self._users[user], "activeGameIds": active, "inactiveGameIds": []})

    def _api_getCurrentWithPud(self, user: str, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        with self._lock:
            active = [g["gameId"] for g in self._active_games(user)]
            current = {**self._users[user], "activeGameIds": active, "inactiveGameIds": []}
            return _json(200, {"user": current, "pud": copy.deepcopy(self._puds[user])})

    def _api_setWebhookUrl(self, user: str, payload: Any) -> Reply:
        url = payload.get("webhookUrl") if isinstance(payload, dict) else None
        if not isinstance(url, str):
            raise _HttpError(400, "Bad Request")
        with self._lock:
            self._puds[user]["webhookUrl"] = url
            return _json(200, copy.deepcopy(self._puds[user]))

    def _api_games(self, user: str, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        with self._lock:
            return _json(200, {"data": self._active_games(user), "pollUrl": self.poll_url(user)})

    def _api_steamProfile(self, user: str, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        with self._lock:
            return _json(200, games.steam_profile(self._users[user]))

    def _api_steamProfiles(self, user: None, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        if "steamIds" not in query:
            raise _HttpError(400, "'steamIds' is required")
        ids = ",".join(query["steamIds"]).split(",")
        with self._lock:
            if any(sid not in self._users for sid in ids):
                raise _HttpError(500, GENERIC_500)
            return _json(200, [games.steam_profile(self._users[sid]) for sid in ids])

    def _api_metadata(self, user: None, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        with self._lock:
            return Reply(200, self._metadata_body)

    def _api_game(self, user: None, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        with self._lock:
            return _json(200, self._game_for(params["game_id"]))

    def _players_turn(self, game_id: str, user: str, refusal: str) -> dict[str, Any]:
        """The game, which must be ``user``'s turn (else 400 ``refusal``); call with the lock held."""
        game = self._game_for(game_id)
        if game.get("currentPlayerSteamId") != user:
            raise _HttpError(400, refusal)
        return game

    def _api_getTurn(self, user: str, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        game_id = params["game_id"]
        with self._lock:
            game = self._players_turn(game_id, user, "It's not your damn turn!")
            save = self._saves.get(game_id)
            if save is None:
                raise _HttpError(404, "Save file not found")
            raw, gz, version = save
            compressed = bool(query.get("compressed", [""])[0])
            turn = int(game.get("gameTurnRangeKey", 1))
            path = f"/s3/{game_id}/{turn:06d}.CivXSave" + (".gz" if compressed else "")
            data = gz if compressed else raw
            extension = SAVE_EXTENSIONS.get(game.get("gameType", "CIV6"), "Civ6Save")
            url = self.base_url + self._bucket.presign("GET", path, game_id, turn, self.download_ttl, data, extension)
            return _json(200, {"downloadUrl": url, "version": version, "size": len(data)})

    def _api_startSubmit(self, user: str, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        game_id = params["game_id"]
        with self._lock:
            game = self._players_turn(game_id, user, "It's not your turn!")
            turn = int(game.get("gameTurnRangeKey", 1)) + 1
            path = f"/s3/{game_id}/{turn:06d}.CivXSave"
            url = self.base_url + self._bucket.presign("PUT", path, game_id, turn, self.upload_ttl)
            return _json(200, {"putUrl": url})

    def _api_finishSubmit(self, user: str, params: dict[str, str], query: dict[str, list[str]]) -> Reply:
        game_id = params["game_id"]
        with self._lock:
            game = self._players_turn(game_id, user, "It's not your turn!")
            next_turn = int(game.get("gameTurnRangeKey", 1)) + 1
            upload = self._bucket.upload(game_id)
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
