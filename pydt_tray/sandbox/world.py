"""Static data of the simulated PYDT service: the metadata document, tokens and document builders.

The metadata follows the per-game table of docs/pydt-api.md §7.1. Everything here is plain data and pure
functions; :mod:`pydt_tray.sandbox.simulator` owns the mutable state.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import hmac
import json
import time
from typing import Any

SAVE_EXTENSIONS = {
    "CIV6": "Civ6Save",
    "CIV7": "Civ7Save",
    "CIV5": "Civ5Save",
    "BEYOND_EARTH": "CivBESave",
    "OLD_WORLD": "zip",
}
PROTON_PREFIX = "/.local/share/Steam/steamapps/compatdata/{appid}/pfx/drive_c/users/steamuser/Documents/My Games"

LEADERS = {
    "CIV6": ["LEADER_TRAJAN", "LEADER_GANDHI", "LEADER_CLEOPATRA", "LEADER_PERICLES", "LEADER_QIN", "LEADER_VICTORIA"],
    "CIV7": ["LEADER_AUGUSTUS", "LEADER_HATSHEPSUT", "LEADER_ASHOKA", "LEADER_CONFUCIUS"],
    "CIV5": ["LEADER_WASHINGTON", "LEADER_ELIZABETH", "LEADER_NAPOLEON", "LEADER_ODA_NOBUNAGA"],
    "BEYOND_EARTH": ["LEADER_SUZANNE_FIELDING", "LEADER_SAMATAR_JOMO_SHAW", "LEADER_DAOMING_SOCHUA"],
    "OLD_WORLD": ["NATION_ROME", "NATION_GREECE", "NATION_PERSIA", "NATION_EGYPT"],
}


def _locations(linux_prefix: str, proton_appid: int | None, mac_steam_override: str | None) -> dict[str, Any]:
    darwin: dict[str, Any] = {"basePath": "appData", "prefix": ""}
    if mac_steam_override:
        darwin["dataPathOverrides"] = {"steam": mac_steam_override}
    locations: dict[str, Any] = {
        "win32": {"basePath": "documents", "prefix": "/My Games"},
        "darwin": darwin,
        "linux": {"basePath": "home", "prefix": linux_prefix},
    }
    if proton_appid is not None:
        locations["linux-proton"] = {"basePath": "home", "prefix": PROTON_PREFIX.format(appid=proton_appid)}
    return locations


def _civ_game(
    game_id: str,
    display_name: str,
    *,
    extension: str,
    data_paths: dict[str, str],
    save_path: str,
    locations: dict[str, Any],
    run_urls: dict[str, str],
    await_write_finish: bool,
) -> dict[str, Any]:
    leaders = [
        {
            "leaderKey": key,
            "civKey": key.replace("LEADER_", "CIVILIZATION_"),
            "fullDisplayName": key.split("_", 1)[1].replace("_", " ").title(),
            "imageFileName": f"{key}.png",
        }
        for key in LEADERS[game_id]
    ]
    return {
        "id": game_id,
        "displayName": display_name,
        "turnTimerSupported": game_id in ("CIV6", "CIV7"),
        "assetPrefix": game_id,
        "leaders": leaders,
        "dlcs": [],
        "gameSpeeds": [{"key": "STANDARD", "displayName": "Standard"}],
        "mapSizes": [{"key": "SMALL", "displayName": "Small", "players": 6}],
        "maps": [{"file": "Continents", "displayName": "Continents"}],
        "saveLocations": locations,
        "dataPaths": data_paths,
        "savePath": save_path,
        "saveExtension": extension,
        "runUrls": run_urls,
        "awaitWriteFinish": await_write_finish,
    }


def default_metadata() -> dict[str, Any]:
    """The ``metadata`` object of ``GET /metadata``; civGames in the service's order."""
    civ6_paths = {"steam": "/Sid Meier's Civilization VI", "epic": "/Sid Meier's Civilization VI (Epic)"}
    civ_games = [
        _civ_game(
            "CIV6",
            "Civilization 6",
            extension="Civ6Save",
            data_paths=civ6_paths,
            save_path="/Saves/Hotseat/",
            locations=_locations(
                "/.local/share/aspyr-media", 289070, "/Sid Meier's Civilization VI/Sid Meier's Civilization VI"
            ),
            run_urls={
                "steam": "steam://run/289070/\\dx11",
                "epic": "com.epicgames.launcher://apps/Kinglet?action=launch&silent=true",
            },
            await_write_finish=False,
        ),
        _civ_game(
            "CIV7",
            "Civilization 7 (Beta)",
            extension="Civ7Save",
            data_paths={"steam": "/Sid Meier's Civilization VII"},
            save_path="/Saves/Hotseat/",
            locations=_locations("/My Games", 1295660, "/Civilization VII"),
            run_urls={"steam": "steam://run/1295660/\\dx12"},
            await_write_finish=False,
        ),
        _civ_game(
            "CIV5",
            "Civilization 5",
            extension="Civ5Save",
            data_paths={"steam": "/Sid Meier's Civilization 5"},
            save_path="/Saves/hotseat/",
            locations=_locations("/.local/share/Aspyr", 8930, None),
            run_urls={"steam": "steam://run/8930/\\dx11"},
            await_write_finish=True,
        ),
        _civ_game(
            "BEYOND_EARTH",
            "Civilization: Beyond Earth",
            extension="CivBESave",
            data_paths={"steam": "/Sid Meier's Civilization Beyond Earth"},
            save_path="/Saves/hotseat/",
            locations=_locations("/.local/share/aspyr-media", 65980, None),
            run_urls={"steam": "steam://run/65980/\\dx11"},
            await_write_finish=True,
        ),
        _civ_game(
            "OLD_WORLD",
            "Old World",
            extension="zip",
            data_paths={"steam": "/OldWorld", "epic": "/OldWorld"},
            save_path="/Saves/Multiplayer/",
            locations=_locations("/.local/share/pydt_unknown", None, None),
            run_urls={
                "steam": "steam://run/597180",
                "epic": "com.epicgames.launcher://apps/Nightjar?action=launch&silent=true",
            },
            await_write_finish=True,
        ),
    ]
    random_civ = {
        "leaderKey": "LEADER_RANDOM",
        "fullDisplayName": "Random Leader",
        "imageFileName": "RANDOM_RANDOM.png",
    }
    random_civilization = {
        "civKey": "CIVILIZATION_RANDOM",
        "fullDisplayName": "Random Civilization",
        "imageFileName": "RANDOM_CIV.png",
    }
    return {"civGames": civ_games, "randomCiv": random_civ, "randomCivilization": random_civilization}


def metadata_hash(metadata: dict[str, Any]) -> str:
    """md5 hex of the metadata JSON, as the service computes its ``Metadata-Hash``."""
    return hashlib.md5(json.dumps(metadata, separators=(",", ":")).encode()).hexdigest()


# --- tokens (HS256 JWT, standard library only) ---------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret: bytes, steam_id: str, nonce: int | None, issued_at: int | None = None) -> str:
    """A JWT ``{steamId, nonce, iat}`` signed with HMAC-SHA256."""
    header = {"alg": "HS256", "typ": "JWT"}
    payload: dict[str, Any] = {"steamId": steam_id}
    if nonce is not None:
        payload["nonce"] = nonce
    payload["iat"] = int(time.time()) if issued_at is None else issued_at
    signing_input = _b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
    signing_input += _b64url(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def read_token(secret: bytes, token: str) -> tuple[str, int] | None:
    """(steamId, nonce) of a correctly signed token, nonce -1 when absent; None when invalid.

    A legacy payload that is a bare steamId string is accepted, as the service does.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        expected = hmac.new(secret, signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64url(parts[2])):
            return None
        payload = json.loads(_unb64url(parts[1]))
    except (UnicodeEncodeError, ValueError, binascii.Error):
        return None
    if isinstance(payload, str):
        return payload, -1
    if not isinstance(payload, dict) or not isinstance(payload.get("steamId"), str):
        return None
    nonce = payload.get("nonce")
    return payload["steamId"], nonce if isinstance(nonce, int) and not isinstance(nonce, bool) else -1


# --- saves ---------------------------------------------------------------------------------


def synthetic_save(game_id: str, turn: int, size: int = 6000) -> bytes:
    """Deterministic stand-in bytes for a save the service would hold for ``turn``."""
    line = f"PYDTSIM save game={game_id} turn={turn}\n".encode()
    return (line * (size // len(line) + 1))[:size]


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)
