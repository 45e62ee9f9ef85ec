"""What the simulated service sends after a change: the webhook POSTs of a new turn, then the IoT pings.

On a new turn the real service posts a small JSON document to the game's webhook and then to the current
player's ``pud.webhookUrl`` (each only if it parses as a URL; 5 s timeout; the answer is ignored and every
error swallowed), before its IoT ping to the same player. A player on vacation gets nothing at all.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydt_tray.sandbox import games

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 5.0


@dataclass(frozen=True)
class Notice:
    """What is due after a change: the webhook POSTs (new turns only), then one IoT ping per target."""

    targets: list[str]
    game_id: str
    new_turn: bool
    webhooks: tuple[tuple[str, dict[str, Any]], ...] = field(default=())


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook POST: where, what, and how it went (``error`` when it failed before an answer)."""

    url: str
    body: dict[str, Any]
    status: int | None
    error: str | None


def parses_as_url(value: object) -> bool:
    """The service's test before posting: a value with a scheme and a host."""
    if not isinstance(value, str) or not value:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme and parts.netloc)


def webhook_body(game: dict[str, Any], user: dict[str, Any], metadata: dict[str, Any]) -> dict[str, Any]:
    """The JSON posted for ``user``'s new turn in ``game`` (civilization and leader from the metadata)."""
    steam_id = user.get("steamId", "")
    player = next((p for p in games.players(game) if p.get("steamId") == steam_id), {})
    civ_games: list[dict[str, Any]] = metadata.get("civGames", [])
    civ_game: dict[str, Any] = next((c for c in civ_games if c.get("id") == game.get("gameType", "CIV6")), {})
    leaders: list[dict[str, Any]] = civ_game.get("leaders", [])
    leader: dict[str, Any] = next((item for item in leaders if item.get("leaderKey") == player.get("civType")), {})
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


class WebhookSender:
    """POSTs webhooks straight to their host (no proxy), as the service does."""

    def __init__(self, timeout: float = WEBHOOK_TIMEOUT) -> None:
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def post(self, url: str, body: dict[str, Any]) -> WebhookDelivery:
        """One POST: JSON, ``timeout`` seconds, the answer ignored, every error swallowed."""
        data = json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
        status: int | None = None
        error: str | None = None
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                response.read()
        except urllib.error.HTTPError as failure:
            status = failure.code
            failure.close()
        except Exception as failure:
            error = f"{type(failure).__name__}: {failure}"
            log.debug("simulator: webhook POST failed (%s)", error)
        return WebhookDelivery(url, body, status, error)
