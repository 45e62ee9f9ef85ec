"""The simulated service's HTTP side: which route a request is, who sent it, and each API route's reply.

A mixin of :class:`pydt_tray.sandbox.simulator.PydtSimulator`, which owns the state these methods read
under its lock.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydt_tray.sandbox import games
from pydt_tray.sandbox.routes import AUTH_ROUTES, S3_ROUTES, route_of
from pydt_tray.sandbox.server import Reply
from pydt_tray.sandbox.storage import FakeBucket, unzip_save
from pydt_tray.sandbox.webhooks import Notice
from pydt_tray.sandbox.world import SAVE_EXTENSIONS, read_token

log = logging.getLogger(__name__)

GENERIC_500 = "There was an error processing your request."
# routes whose handler takes the JSON body instead of the query
BODY_ROUTES = frozenset({"setWebhookUrl", "setUserInformation"})


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(status: int, value: Any) -> Reply:
    return Reply(status, json.dumps(value, separators=(",", ":")).encode())


def error_reply(status: int, message: str) -> Reply:
    return _json(status, {"errorMessage": message})


class ServiceApi:
    """The API routes; the attributes below are the simulator's state."""

    _lock: threading.RLock
    _secret: bytes
    _users: dict[str, dict[str, Any]]
    _puds: dict[str, dict[str, Any]]
    _nonces: dict[str, int]
    _games: dict[str, dict[str, Any]]
    _saves: dict[str, tuple[bytes, bytes, str]]
    _bucket: FakeBucket
    _metadata_hash: str
    _metadata_body: bytes
    download_ttl: float
    upload_ttl: float

    @property
    def base_url(self) -> str:
        raise NotImplementedError

    def poll_url(self, steam_id: str) -> str:
        raise NotImplementedError

    def intercept(self, route: str, method: str, path: str, query: str, headers: dict[str, str]) -> Reply | None:
        raise NotImplementedError

    def finish_refusal(self, game_id: str) -> tuple[str, int] | None:
        raise NotImplementedError

    def _active_games(self, steam_id: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _advance(self, game: dict[str, Any], new_save: bytes) -> None:
        raise NotImplementedError

    def _publish(self, game: dict[str, Any], *, new_turn: bool) -> list[Notice]:
        raise NotImplementedError

    def _notify(self, notices: list[Notice]) -> None:
        raise NotImplementedError

    # --- request handling (called by the HTTP handler threads) -----------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes, chunked: bool) -> Reply:
        split = urlsplit(target)
        route, params = route_of(method, split.path)
        reply = self.intercept(route, method, split.path, split.query, headers)
        if reply is None:
            reply = self._dispatch(route, params, split.query, headers, body, chunked)
        if route not in S3_ROUTES:
            reply.api = True
            reply.headers.append(("Metadata-Hash", self._metadata_hash))
        return reply

    def _dispatch(
        self, route: str, params: dict[str, str], query: str, headers: dict[str, str], body: bytes, chunked: bool
    ) -> Reply:
        try:
            if route in S3_ROUTES:
                return self._bucket.serve(route, params, query, headers, body, chunked)
            if route == "unknown":
                return error_reply(404, "Not Found")
            payload = json.loads(body) if body.strip() else None
            user = None
            if route in AUTH_ROUTES:
                user = self._authenticate(headers.get("authorization", ""))
                if user is None:
                    return error_reply(401, "Unauthorized")
            handler = getattr(self, f"_api_{route}")
            reply: Reply
            if route in BODY_ROUTES:
                reply = handler(user, payload)
            else:
                reply = handler(user, params, parse_qs(query, keep_blank_values=True))
            return reply
        except _HttpError as exc:
            return error_reply(exc.status, exc.message)
        except Exception:
            log.debug("simulator: request failed", exc_info=True)
            return error_reply(500, GENERIC_500)

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

    def _api_setUserInformation(self, user: str, payload: Any) -> Reply:
        """Vacation mode, time zone and comments; going on vacation is a "game updated" where it is their turn."""
        if not isinstance(payload, dict):
            raise _HttpError(400, "Bad Request")
        notices: list[Notice] = []
        with self._lock:
            profile = self._users[user]
            was_away = bool(profile.get("vacationMode"))
            if "vacationMode" in payload:
                profile["vacationMode"] = bool(payload["vacationMode"])
            for key in ("timezone", "comments"):
                if isinstance(payload.get(key), str):
                    profile[key] = payload[key]
            profile["version"] = int(profile.get("version", 0)) + 1
            profile["updatedAt"] = games.now()
            if profile.get("vacationMode") and not was_away:
                for game in self._games.values():
                    if game.get("inProgress") and game.get("currentPlayerSteamId") == user:
                        notices += self._publish(game, new_turn=False)
            active = [g["gameId"] for g in self._active_games(user)]
            reply = _json(200, {**profile, "activeGameIds": active, "inactiveGameIds": []})
        reply.after = lambda: self._notify(notices)
        return reply

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
            refusal = self.finish_refusal(game_id)
            if refusal is not None:
                raise _HttpError(refusal[1], refusal[0])
            self._advance(game, save)
            notices = self._publish(game, new_turn=True)
            reply = _json(200, {"gameType": "CIV6", **game})
        reply.after = lambda: self._notify(notices)
        return reply
