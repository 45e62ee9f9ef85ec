"""A fake PYDT service on 127.0.0.1 that behaves as docs/pydt-api.md describes (REST API, S3 pollUrl, presigned URLs).

It serves real HTTP/1.1 with keep-alive (:mod:`.server`). The API lives at ``base_url``; the "S3"
objects live under ``/s3/`` on the same server (:mod:`.storage`) and, like the real bucket, ignore
the ``Authorization`` header. Tests drive it through the methods of :class:`PydtSimulator` (add users
and games, advance turns); the user and game documents are built in :mod:`.games`. This module owns the
state and the API routes. Fault injection and request recording are test machinery: they live in
``tests/helpers`` and plug in through :meth:`PydtSimulator.intercept` and :meth:`PydtSimulator.finish_refusal`.
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from pydt_tray.sandbox import games
from pydt_tray.sandbox.routes import AUTH_ROUTES, ROUTES, S3_ROUTES
from pydt_tray.sandbox.server import COMPRESSION_THRESHOLD, Reply, SimulatorServer, encode_body, pick_encoding
from pydt_tray.sandbox.service_api import GENERIC_500, ServiceApi
from pydt_tray.sandbox.storage import FakeBucket, unzip_save
from pydt_tray.sandbox.webhooks import Notice, WebhookDelivery, WebhookSender, parses_as_url, webhook_body
from pydt_tray.sandbox.world import (
    default_metadata,
    gzip_bytes,
    make_token,
    metadata_hash,
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
    "Reply",
    "WebhookDelivery",
    "encode_body",
    "pick_encoding",
    "unzip_save",
]

log = logging.getLogger(__name__)

ChangeHook = Callable[[list[str], str, bool], None]


class PydtSimulator(ServiceApi):
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
        self._hooks: list[ChangeHook] = []
        self._puds: dict[str, dict[str, Any]] = {}
        self._metadata: dict[str, Any] = {}
        self.webhooks = WebhookSender()
        self._server: SimulatorServer | None = None
        self._thread: threading.Thread | None = None
        self.set_metadata(default_metadata())

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> PydtSimulator:
        if self._server is not None:
            return self
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
        return f"http://{host!s}:{port}"

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

    def poll_url(self, steam_id: str) -> str:
        return f"{self.base_url}/s3/{steam_id}/gameCache.json"

    def webhook_url(self, steam_id: str) -> str:
        """The user's ``pud.webhookUrl`` ("" when none is set)."""
        with self._lock:
            return str(self._puds[steam_id].get("webhookUrl") or "")

    def set_webhook_url(self, steam_id: str, url: str) -> None:
        """Set the user's webhook as the website's profile page does ("" clears it)."""
        with self._lock:
            self._puds[steam_id]["webhookUrl"] = url

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

    def post_smack_talk(self, game_id: str, author: str) -> dict[str, Any]:
        """``author`` (a forum name, or "system") posted in the game's forum topic: as the Discourse webhook does,
        the newest post number and author are set, the game is saved and every player is pinged."""
        with self._lock:
            number = int(self._games[game_id].get("latestDiscoursePostNumber") or 1) + 1  # post 1 opens the topic
        return self.update_game(game_id, latestDiscoursePostNumber=number, latestDiscoursePostUser=author)

    def complete_game(self, game_id: str) -> None:
        """The game ended: it leaves every active list (caches rewritten, no ping)."""
        with self._lock:
            game = self._games[game_id]
            game["completed"] = game["finalized"] = True
            games.touch(game)
            self._publish(game, new_turn=False)

    def uploaded(self, game_id: str) -> bytes | None:
        entry = self._bucket.upload(game_id)
        return entry[1] if entry else None

    def add_change_hook(self, hook: ChangeHook) -> None:
        """``hook(steam_ids, game_id, new_turn)`` for every IoT "Hello!" the service would send."""
        with self._lock:
            self._hooks.append(hook)

    # --- extension points for tests ------------------------------------------------------

    def intercept(self, route: str, method: str, path: str, query: str, headers: dict[str, str]) -> Reply | None:
        """Called first for every request (on a handler thread): a reply here replaces the service's."""
        return None

    def finish_refusal(self, game_id: str) -> tuple[str, int] | None:
        """Called with the lock held before a valid finishSubmit is accepted: (message, status) refuses it."""
        return None

    def webhook_sent(self, delivery: WebhookDelivery) -> None:
        """Called after every webhook POST (without the lock); the service itself keeps no record."""
        log.debug("simulator: webhook to %s answered %s", delivery.url.split("/")[2], delivery.status or delivery.error)

    # --- state helpers (call with the lock held) -------------------------------------------

    def _store_save(self, game_id: str, data: bytes) -> None:
        self._saves[game_id] = (data, gzip_bytes(data), uuid.uuid4().hex)

    def _advance(self, game: dict[str, Any], new_save: bytes) -> None:
        games.advance(game)
        self._store_save(game["gameId"], new_save)

    def _active_games(self, steam_id: str) -> list[dict[str, Any]]:
        return games.active_games(self._games.values(), self._sequence, steam_id)

    def _publish(self, game: dict[str, Any], *, new_turn: bool) -> list[Notice]:
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
            return [Notice(humans, game["gameId"], False)] if humans else []
        current = game.get("currentPlayerSteamId") or ""
        user = self._users.get(current)
        if not current or user is None or user.get("vacationMode"):
            return []  # a player on vacation gets nothing at all
        payload = webhook_body(game, user, self._metadata)
        urls = [game.get("webhookUrl"), self._puds.get(current, {}).get("webhookUrl")]
        webhooks = tuple((url, payload) for url in urls if isinstance(url, str) and parses_as_url(url))
        return [Notice([current], game["gameId"], True, webhooks)]

    def _notify(self, notices: list[Notice]) -> None:
        """Send the webhooks, then call the change hooks (the IoT ping); never with the lock held."""
        with self._lock:
            hooks = list(self._hooks)
        for notice in notices:
            for url, body in notice.webhooks:
                self.webhook_sent(self.webhooks.post(url, body))
            for hook in hooks:
                try:
                    hook(list(notice.targets), notice.game_id, notice.new_turn)
                except Exception:
                    log.exception("simulator change hook failed")
