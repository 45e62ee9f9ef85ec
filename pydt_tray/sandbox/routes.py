"""The simulator's routes: which request is which (the names the test helpers arrange faults on)."""

from __future__ import annotations

from urllib.parse import unquote

ROUTES = (
    "getCurrent", "games", "poll", "steamProfiles", "metadata", "getTurn",
    "startSubmit", "finishSubmit", "download", "upload", "steamProfile", "game", "setUserInformation",
    "getCurrentWithPud", "setWebhookUrl",
)  # fmt: skip
S3_ROUTES = frozenset({"poll", "download", "upload", "s3"})
AUTH_ROUTES = frozenset({
    "getCurrent", "games", "steamProfile", "getTurn", "startSubmit", "finishSubmit", "setUserInformation",
    "getCurrentWithPud", "setWebhookUrl",
})  # fmt: skip


def route_of(method: str, path: str) -> tuple[str, dict[str, str]]:
    """The route name and path parameters of a request; "s3" or "unknown" for anything else."""
    parts = [unquote(p) for p in path.split("/") if p]
    if parts[:1] == ["s3"]:
        if len(parts) == 3 and parts[2] == "gameCache.json" and method == "GET":
            return "poll", {"steam_id": parts[1]}
        if len(parts) == 3 and method in ("GET", "PUT"):
            return ("upload" if method == "PUT" else "download"), {"path": path}
        return "s3", {}
    if method == "GET":
        user_routes = ("getCurrent", "games", "steamProfile", "steamProfiles", "getCurrentWithPud")
        if len(parts) == 2 and parts[0] == "user" and parts[1] in user_routes:
            return parts[1], {}
        if parts == ["metadata"]:
            return "metadata", {}
        if len(parts) == 2 and parts[0] == "game":
            return "game", {"game_id": parts[1]}
        if len(parts) == 3 and parts[0] == "game" and parts[2] == "turn":
            return "getTurn", {"game_id": parts[1]}
    if method == "POST" and parts == ["user", "setUserInformation"]:
        return "setUserInformation", {}
    if method == "POST" and parts == ["user", "setWebhookUrl"]:
        return "setWebhookUrl", {}
    is_submit = len(parts) == 4 and parts[0] == "game" and parts[2] == "turn"
    if method == "POST" and is_submit and parts[3] in ("startSubmit", "finishSubmit"):
        return parts[3], {"game_id": parts[1]}
    return "unknown", {}
