"""The simulator's user and game documents, shaped as the PYDT service sends them, and how a turn moves on.

Plain functions on JSON-like dicts; :class:`pydt_tray.sandbox.simulator.PydtSimulator` owns the
documents and the lock that guards them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydt_tray.core.models import format_date
from pydt_tray.sandbox.world import LEADERS

Document = dict[str, Any]


def now() -> str:
    """The current time as the service writes dates."""
    return format_date(datetime.now(UTC)) or ""


def new_user(steam_id: str, display_name: str, forum_username: str = "") -> Document:
    """A user document with placeholder avatars and profile link."""
    created = now()
    user: Document = {
        "steamId": steam_id,
        "displayName": display_name,
        "avatarSmall": f"https://avatars.example.invalid/{steam_id}.jpg",
        "avatarMedium": f"https://avatars.example.invalid/{steam_id}_medium.jpg",
        "avatarFull": f"https://avatars.example.invalid/{steam_id}_full.jpg",
        "steamProfileUrl": f"https://steamcommunity.com/profiles/{steam_id}/",
        "vacationMode": False,
        "createdAt": created,
        "updatedAt": created,
        "version": 1,
    }
    if forum_username:
        user["forumUsername"] = forum_username
    return user


def steam_profile(user: Document) -> Document:
    """The Steam profile the service returns for a user."""
    return {
        "steamid": user["steamId"],
        "personaname": user["displayName"],
        "profileurl": user["steamProfileUrl"],
        "avatar": user["avatarSmall"],
        "avatarmedium": user["avatarMedium"],
        "avatarfull": user["avatarFull"],
    }


def new_game(
    *,
    game_id: str,
    name: str,
    players: list[str],
    current: str | None,
    game_type: str | None,
    turn: int,
    round: int,
    in_progress: bool,
    flags: Iterable[str],
    topic_id: int,
) -> Document:
    """A game document; ``players`` are steam ids in civ order, "" for an AI slot."""
    humans = [sid for sid in players if sid]
    leaders = LEADERS.get(game_type or "CIV6", LEADERS["CIV6"])
    created = now()
    game: Document = {
        "gameId": game_id,
        "displayName": name,
        "createdBySteamId": humans[0] if humans else "",
        "inProgress": in_progress,
        "currentPlayerSteamId": current if current is not None else (humans[0] if humans else ""),
        "round": round,
        "gameTurnRangeKey": turn,
        "version": 1,
        "createdAt": created,
        "updatedAt": created,
        "flags": list(flags),
        "players": [
            {"steamId": sid, "civType": leaders[i % len(leaders)]} if sid else {"civType": leaders[i % len(leaders)]}
            for i, sid in enumerate(players)
        ],
        "slots": len(players),
        "humans": len(humans),
        "dlc": [],
        "gameSpeed": "STANDARD",
        "mapFile": "Continents",
        "mapSize": "SMALL",
        "discourseTopicId": topic_id,
    }
    if game_type is not None:
        game["gameType"] = game_type
    if turn > 1:
        game["lastTurnEndDate"] = created
    return game


def players(game: Document) -> list[Document]:
    """The game's player objects, tolerating a broken ``players`` field set by a test."""
    found = game.get("players")
    return [p for p in found if isinstance(p, dict)] if isinstance(found, list) else []


def playing_humans(game: Document) -> list[str]:
    """Steam ids of the human players who have not surrendered, in civ order."""
    return [p["steamId"] for p in players(game) if p.get("steamId") and not p.get("hasSurrendered")]


def touch(game: Document) -> None:
    """Bump the game's version and update time, as every service write does."""
    game["version"] = int(game.get("version", 0)) + 1
    game["updatedAt"] = now()


def advance(game: Document) -> None:
    """The current player's turn ends: the next playing human is up (a new round after the last)."""
    slots = players(game)
    humans = [i for i, p in enumerate(slots) if p.get("steamId") and not p.get("hasSurrendered")]
    current = game.get("currentPlayerSteamId")
    index = next((i for i, p in enumerate(slots) if p.get("steamId") == current), -1)
    later = [i for i in humans if i > index]
    if later:
        game["currentPlayerSteamId"] = slots[later[0]]["steamId"]
    elif humans:
        game["currentPlayerSteamId"] = slots[humans[0]]["steamId"]
        game["round"] = int(game.get("round", 1)) + 1
    game["gameTurnRangeKey"] = int(game.get("gameTurnRangeKey", 1)) + 1
    touch(game)
    game["lastTurnEndDate"] = game["updatedAt"]


def active_games(games: Iterable[Document], order: Mapping[str, int], steam_id: str) -> list[Document]:
    """The user's active games, newest first (``order``: creation sequence), with the service's defaults."""
    mine = [
        g
        for g in games
        if not g.get("completed")
        and any(p.get("steamId") == steam_id and not p.get("hasSurrendered") for p in players(g))
    ]
    mine.sort(key=lambda g: (g.get("createdAt", ""), order.get(g["gameId"], 0)), reverse=True)
    return [{"gameType": "CIV6", "turnTimerVacationHandling": "SKIP_AFTER_TIMER", **g} for g in mine]
