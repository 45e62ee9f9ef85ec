"""Wire models of the PYDT service, parsed once at the boundary.

Every parser ignores unknown fields and tolerates missing optional ones; a reply whose shape is
wrong raises :class:`ModelError` (the API client turns it into an ``ApiError``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_GAME_TYPE = "CIV6"
DEFAULT_VACATION_HANDLING = "SKIP_AFTER_TIMER"
WEBSITE_URL = "https://playyourdamnturn.com"
CONGRESS_TURN_FLAG = "CIV6_CONGRESS_TURN"  # the game flag PYDT sets on a Civilization VI World Congress turn
FIRST_SAVE_HINT = "upload the first save on the website"  # what to do on turn 1 (never downloaded here)


class ModelError(ValueError):
    """A reply did not have the shape docs/pydt-api.md §5 describes."""


def parse_date(value: Any) -> datetime | None:
    """ISO-8601 string (or epoch milliseconds) -> aware UTC datetime; anything else -> None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value / 1000.0, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_date(value: datetime | None) -> str | None:
    """Aware datetime -> ISO string with milliseconds and a Z, as the service writes them."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _require_mapping(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ModelError(f"{what}: expected an object, got {type(data).__name__}")
    return data


def _str(data: dict[str, Any], key: str, default: str = "") -> str:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    raise ModelError(f"field {key!r}: expected a string, got {type(value).__name__}")


def _int(data: dict[str, Any], key: str, default: int | None = None) -> int | None:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        raise ModelError(f"field {key!r}: expected a number, got a boolean")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise ModelError(f"field {key!r}: expected a number, got {value!r}")


def _bool(data: dict[str, Any], key: str) -> bool:
    return bool(data.get(key) or False)


def _str_list(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ModelError(f"field {key!r}: expected a list")
    return tuple(str(item) for item in value if item is not None)


@dataclass(frozen=True)
class Player:
    steam_id: str
    civ_type: str = ""
    has_surrendered: bool = False
    is_dead: bool = False
    substitution_requested: bool = False

    @property
    def is_human(self) -> bool:
        return bool(self.steam_id) and not self.has_surrendered

    @classmethod
    def from_json(cls, data: Any) -> Player:
        data = _require_mapping(data, "player")
        return cls(
            steam_id=_str(data, "steamId"),
            civ_type=_str(data, "civType"),
            has_surrendered=_bool(data, "hasSurrendered"),
            is_dead=_bool(data, "isDead"),
            substitution_requested=_bool(data, "substitutionRequested"),
        )


@dataclass(frozen=True)
class Game:
    game_id: str
    display_name: str
    game_type: str = DEFAULT_GAME_TYPE
    current_player_steam_id: str = ""
    created_by_steam_id: str = ""
    in_progress: bool = False
    completed: bool = False
    round: int = 1
    game_turn_range_key: int = 1
    version: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_turn_end_date: datetime | None = None
    turn_timer_minutes: int | None = None
    turn_timer_vacation_handling: str = DEFAULT_VACATION_HANDLING
    flags: tuple[str, ...] = ()
    players: tuple[Player, ...] = ()
    slots: int = 0
    humans: int = 0
    discourse_topic_id: int | None = None
    latest_discourse_post_number: int | None = None
    latest_discourse_post_user: str = ""
    description: str = ""
    dlc: tuple[str, ...] = field(default=())

    @classmethod
    def from_json(cls, data: Any) -> Game:
        data = _require_mapping(data, "game")
        game_id = _str(data, "gameId")
        if not game_id:
            raise ModelError("game without a gameId")
        players_raw = data.get("players") or []
        if not isinstance(players_raw, list):
            raise ModelError("field 'players': expected a list")
        return cls(
            game_id=game_id,
            display_name=_str(data, "displayName") or game_id,
            game_type=_str(data, "gameType") or DEFAULT_GAME_TYPE,
            current_player_steam_id=_str(data, "currentPlayerSteamId"),
            created_by_steam_id=_str(data, "createdBySteamId"),
            in_progress=_bool(data, "inProgress"),
            completed=_bool(data, "completed") or _bool(data, "finalized"),
            round=_int(data, "round", 1) or 1,
            game_turn_range_key=_int(data, "gameTurnRangeKey", 1) or 1,
            version=_int(data, "version", 0) or 0,
            created_at=parse_date(data.get("createdAt")),
            updated_at=parse_date(data.get("updatedAt")),
            last_turn_end_date=parse_date(data.get("lastTurnEndDate")),
            turn_timer_minutes=_int(data, "turnTimerMinutes"),
            turn_timer_vacation_handling=_str(data, "turnTimerVacationHandling") or DEFAULT_VACATION_HANDLING,
            flags=_str_list(data, "flags"),
            players=tuple(Player.from_json(p) for p in players_raw),
            slots=_int(data, "slots", 0) or 0,
            humans=_int(data, "humans", 0) or 0,
            discourse_topic_id=_int(data, "discourseTopicId"),
            latest_discourse_post_number=_int(data, "latestDiscoursePostNumber"),
            latest_discourse_post_user=_str(data, "latestDiscoursePostUser"),
            description=_str(data, "description"),
            dlc=_str_list(data, "dlc"),
        )

    def is_your_turn(self, steam_id: str) -> bool:
        """``inProgress`` and ``currentPlayerSteamId == me`` (docs/pydt-api.md §5.1)."""
        return bool(steam_id) and self.in_progress and self.current_player_steam_id == steam_id

    @property
    def is_first_turn(self) -> bool:
        """Turn 1: the initial save is uploaded on the website, never downloaded or notified."""
        return self.game_turn_range_key <= 1

    @property
    def is_congress_turn(self) -> bool:
        return CONGRESS_TURN_FLAG in self.flags

    @property
    def last_activity(self) -> datetime | None:
        return self.last_turn_end_date or self.updated_at

    @property
    def web_url(self) -> str:
        return f"{WEBSITE_URL}/game/{self.game_id}"

    def previous_player(self) -> Player | None:
        """The human who played just before the current player, when it can be told."""
        humans = [p for p in self.players if p.is_human]
        for index, player in enumerate(humans):
            if player.steam_id == self.current_player_steam_id and len(humans) > 1:
                return humans[index - 1]
        return None


def parse_games(data: Any) -> list[Game]:
    if not isinstance(data, list):
        raise ModelError(f"game list: expected an array, got {type(data).__name__}")
    return [Game.from_json(item) for item in data]


def sort_games(games: list[Game], steam_id: str) -> list[Game]:
    """Your turns first (more flags first, then most recently updated), then the rest by recency."""
    epoch = datetime.min.replace(tzinfo=UTC)

    def key(game: Game) -> tuple[int, int, float]:
        mine = game.is_your_turn(steam_id)
        updated = (game.updated_at or epoch).timestamp() if game.updated_at else float("-inf")
        return (0 if mine else 1, -len(game.flags) if mine else 0, -updated)

    return sorted(games, key=key)


@dataclass(frozen=True)
class User:
    steam_id: str
    display_name: str
    forum_username: str = ""
    vacation_mode: bool = False

    @classmethod
    def from_json(cls, data: Any) -> User:
        data = _require_mapping(data, "user")
        steam_id = _str(data, "steamId")
        if not steam_id:
            raise ModelError("user without a steamId")
        return cls(
            steam_id=steam_id,
            display_name=_str(data, "displayName") or steam_id,
            forum_username=_str(data, "forumUsername"),
            vacation_mode=_bool(data, "vacationMode"),
        )


@dataclass(frozen=True)
class SteamProfile:
    steam_id: str
    persona_name: str
    profile_url: str = ""
    avatar_medium: str = ""

    @classmethod
    def from_json(cls, data: Any) -> SteamProfile:
        data = _require_mapping(data, "steam profile")
        steam_id = _str(data, "steamid")
        if not steam_id:
            raise ModelError("steam profile without a steamid")
        return cls(
            steam_id=steam_id,
            persona_name=_str(data, "personaname") or steam_id,
            profile_url=_str(data, "profileurl"),
            avatar_medium=_str(data, "avatarmedium"),
        )


@dataclass(frozen=True)
class SaveLocation:
    base_path: str
    prefix: str
    data_path_overrides: dict[str, str]


@dataclass(frozen=True)
class CivGame:
    """The part of a ``/metadata`` CivGame that a turn client needs."""

    id: str
    display_name: str
    save_extension: str
    save_path: str
    data_paths: dict[str, str]
    save_locations: dict[str, SaveLocation]
    run_urls: dict[str, str]
    await_write_finish: bool = False

    @classmethod
    def from_json(cls, data: Any) -> CivGame:
        data = _require_mapping(data, "civGame")
        locations: dict[str, SaveLocation] = {}
        raw_locations = data.get("saveLocations") or {}
        if not isinstance(raw_locations, dict):
            raise ModelError("field 'saveLocations': expected an object")
        for platform_key, loc in raw_locations.items():
            loc = _require_mapping(loc, f"saveLocations.{platform_key}")
            overrides = loc.get("dataPathOverrides") or {}
            if not isinstance(overrides, dict):
                raise ModelError("field 'dataPathOverrides': expected an object")
            locations[str(platform_key)] = SaveLocation(
                base_path=_str(loc, "basePath"),
                prefix=_str(loc, "prefix"),
                data_path_overrides={str(k): str(v) for k, v in overrides.items()},
            )

        def str_map(key: str) -> dict[str, str]:
            value = data.get(key) or {}
            if not isinstance(value, dict):
                raise ModelError(f"field {key!r}: expected an object")
            return {str(k): str(v) for k, v in value.items()}

        game_id = _str(data, "id")
        if not game_id:
            raise ModelError("civGame without an id")
        return cls(
            id=game_id,
            display_name=_str(data, "displayName") or game_id,
            save_extension=_str(data, "saveExtension"),
            save_path=_str(data, "savePath"),
            data_paths=str_map("dataPaths"),
            save_locations=locations,
            run_urls=str_map("runUrls"),
            await_write_finish=_bool(data, "awaitWriteFinish"),
        )


@dataclass(frozen=True)
class Metadata:
    civ_games: tuple[CivGame, ...]
    hash: str

    @classmethod
    def from_json(cls, data: Any) -> Metadata:
        data = _require_mapping(data, "metadata reply")
        inner = _require_mapping(data.get("metadata"), "metadata")
        games = inner.get("civGames")
        if not isinstance(games, list):
            raise ModelError("field 'civGames': expected a list")
        return cls(civ_games=tuple(CivGame.from_json(g) for g in games), hash=_str(data, "hash"))

    def civ_game(self, game_type: str) -> CivGame | None:
        for civ_game in self.civ_games:
            if civ_game.id == game_type:
                return civ_game
        return None


@dataclass(frozen=True)
class TurnDownload:
    download_url: str
    version: str
    size: int | None

    @classmethod
    def from_json(cls, data: Any) -> TurnDownload:
        data = _require_mapping(data, "turn reply")
        url = _str(data, "downloadUrl")
        if not url:
            raise ModelError("turn reply without a downloadUrl")
        return cls(download_url=url, version=_str(data, "version"), size=_int(data, "size"))
