"""Smack talk: which games have forum posts the user has not read, and when to say so.

PYDT never sends the posts themselves: each game carries ``discourseTopicId``, ``latestDiscoursePostNumber`` and
``latestDiscoursePostUser``, and the client keeps, per game, the number of the last post the user read. A game
has unread smack talk when its newest post is above that number and was written by someone else: posts by the
user (forum name or display name) and by ``system`` (the service's own posts) never count.

The numbers live in the state file's ``smack`` section, one map per account (its Steam id):
``{"<steamId>": {"<gameId>": {"read": 7, "notified": 9}}}``. ``notified`` is the newest post already announced,
so a reload never repeats a notification. A game seen for the first time starts as read (no flood of old posts
after installing or signing in); a game that left the list is forgotten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, Protocol

from pydt_tray.core.models import Game, User
from pydt_tray.core.policy import Gate, Notification

SYSTEM_USER = "system"
FORUM_TOPIC_URL = "https://discourse.playyourdamnturn.com/t/{topic}"


def own_names(user: User | None) -> frozenset[str]:
    """The names the user posts under (forum name and display name), case-folded; none without a user."""
    if user is None:
        return frozenset()
    return frozenset(name.casefold() for name in (user.forum_username, user.display_name) if name)


def counts(game: Game, me: Iterable[str]) -> bool:
    """Whether the game's newest post is one the user may want to read: not theirs, not the service's."""
    author = game.latest_discourse_post_user.casefold()
    return bool(game.latest_discourse_post_number) and author != SYSTEM_USER and author not in set(me)


def unread(game: Game, me: Iterable[str], last_read: int | None) -> bool:
    """Whether ``game`` has smack talk to read; ``last_read`` None (never seen) counts as read."""
    number = game.latest_discourse_post_number
    if last_read is None or number is None:
        return False
    return number > last_read and counts(game, me)


def topic_url(game: Game) -> str | None:
    """The game's forum topic, or None when it has none."""
    topic = game.discourse_topic_id
    return FORUM_TOPIC_URL.format(topic=topic) if topic else None


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class SmackReads:
    """The read and notified post numbers of one account's games, kept in ``section[steam_id]``."""

    def __init__(self, section: MutableMapping[str, Any], steam_id: str) -> None:
        self._section = section
        self.steam_id = steam_id

    def _games(self) -> dict[str, Any]:
        games = self._section.get(self.steam_id)
        if not isinstance(games, dict):
            games = {}
            self._section[self.steam_id] = games
        return games

    def _entry(self, game_id: str) -> dict[str, Any] | None:
        games = self._section.get(self.steam_id)
        entry = games.get(game_id) if isinstance(games, dict) else None
        return entry if isinstance(entry, dict) and _number(entry.get("read")) is not None else None

    def last_read(self, game_id: str) -> int | None:
        """The last post read in the game; None for a game never seen."""
        entry = self._entry(game_id)
        return None if entry is None else entry["read"]

    def is_unread(self, game: Game, me: Iterable[str]) -> bool:
        return unread(game, me, self.last_read(game.game_id))

    def unread_games(self, games: Iterable[Game], me: Iterable[str]) -> list[Game]:
        names = frozenset(me)
        return [game for game in games if self.is_unread(game, names)]

    def observe(self, games: Iterable[Game], me: Iterable[str]) -> list[Game]:
        """Take in a fresh game list: games seen for the first time start as read, games gone are forgotten.

        Returns the games whose newest post is by someone else and above what was already notified or read
        (each such post is returned once: it is marked as notified here).
        """
        names = frozenset(me)
        listed = list(games)
        stored = self._games()
        fresh: list[Game] = []
        for game in listed:
            number = game.latest_discourse_post_number or 0
            entry = self._entry(game.game_id)
            if entry is None:
                stored[game.game_id] = {"read": number, "notified": number}
                continue
            notified = max(_number(entry.get("notified")) or 0, entry["read"])
            if number > notified:
                entry["notified"] = number
                if counts(game, names):
                    fresh.append(game)
        for game_id in set(stored) - {game.game_id for game in listed}:
            del stored[game_id]
        return fresh

    def mark_read(self, game: Game) -> bool:
        """The user read the game's newest post; False when there was nothing unread to mark."""
        number = game.latest_discourse_post_number or 0
        entry = self._entry(game.game_id)
        if entry is not None and entry["read"] >= number:
            return False
        notified = _number(entry.get("notified")) if entry is not None else None
        self._games()[game.game_id] = {"read": number, "notified": max(number, notified or 0)}
        return True


def compose_smack(games: list[Game]) -> Notification:
    """One notification about new posts in ``games`` (at least one), naming who wrote them."""
    ids = tuple(game.game_id for game in games)
    if len(games) == 1:
        game = games[0]
        author = game.latest_discourse_post_user or "someone"
        return Notification(f"New smack talk in {game.display_name}", f"{author} wrote a new post", ids, kind="smack")
    body = ", ".join(f"{game.display_name} (by {game.latest_discourse_post_user or 'someone'})" for game in games)
    return Notification(f"New smack talk in {len(games)} games", body, ids, kind="smack")


class SmackGate(Protocol):
    """The parts of :class:`pydt_tray.core.policy.Gate` smack talk listens to."""

    def is_quiet(self) -> bool: ...

    def silenced(self, game: Game) -> bool: ...


def smack_notification(
    fresh: list[Game], *, enabled: Callable[[], bool], gate: Gate | SmackGate | None = None
) -> Notification | None:
    """What to show for newly posted smack talk: nothing when notifications (or smack talk notifications) are
    off, for muted or snoozed games, or during quiet hours and pauses (the unread mark stays; nothing is held
    back for later, and reminders never repeat smack talk)."""
    if not fresh or not enabled():
        return None
    if gate is not None:
        fresh = [game for game in fresh if not gate.silenced(game)]
        if not fresh or gate.is_quiet():
            return None
    return compose_smack(fresh)
