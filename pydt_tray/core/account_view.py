"""Several accounts' games seen as one: what the tray, the window and ``/turns`` show when more than one account
is signed in. A game two accounts share is listed once in the turn lists, as the turn of the account whose
turn it is; the window groups the games per account (:attr:`MergedSnapshot.parts`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydt_tray.core.diff import Snapshot
from pydt_tray.core.models import Game


@dataclass(frozen=True)
class AccountRow:
    """One account as the settings window lists it."""

    steam_id: str
    name: str
    status: str  # "live", "polling", "token refused: add it again", ...


@dataclass(frozen=True)
class AccountPart:
    """One account's latest snapshot, with the name shown for the account."""

    steam_id: str
    name: str
    snapshot: Snapshot


@dataclass(frozen=True)
class MergedSnapshot(Snapshot):
    """The games of every account in ``parts`` (``steam_id`` is the first account's)."""

    parts: tuple[AccountPart, ...] = field(default=())

    @classmethod
    def merge(cls, parts: list[AccountPart]) -> MergedSnapshot:
        games: dict[str, Game] = {}
        for part in parts:
            for game in part.snapshot.games:
                games.setdefault(game.game_id, game)
        return cls(steam_id=parts[0].steam_id if parts else "", games=tuple(games.values()), parts=tuple(parts))

    def my_turns(self) -> list[Game]:
        seen: dict[str, Game] = {}
        for part in self.parts:
            for game in part.snapshot.my_turns():
                seen.setdefault(game.game_id, game)
        return list(seen.values())

    def others(self) -> list[Game]:
        mine = {game.game_id for game in self.my_turns()}
        return [game for game in self.games if game.game_id not in mine]

    def owner_of(self, game_id: str) -> AccountPart | None:
        """The account whose turn ``game_id`` is; otherwise the first account that has the game."""
        having = [part for part in self.parts if game_id in part.snapshot.by_id()]
        for part in having:
            if part.snapshot.by_id()[game_id].is_your_turn(part.steam_id):
                return part
        return having[0] if having else None


def sign_out_text(accounts: int) -> str:
    """The Sign out entry's words: with several accounts it signs every one of them out, and says so."""
    return "Sign out of every account" if accounts > 1 else "Sign out"


def account_name_of(snapshot: Snapshot | None, game_id: str) -> str:
    """The account a game is shown for when several accounts are signed in ("" otherwise)."""
    if isinstance(snapshot, MergedSnapshot) and len(snapshot.parts) > 1:
        owner = snapshot.owner_of(game_id)
        return owner.name if owner is not None else ""
    return ""
