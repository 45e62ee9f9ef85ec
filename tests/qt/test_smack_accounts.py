"""Smack talk with two accounts: read numbers per account, a post in a shared game announced once and named,
each account's own posts never counting, and reading a shared game reads it for both."""

from __future__ import annotations

from pydt_tray.core.account_view import AccountPart, MergedSnapshot
from pydt_tray.core.diff import Snapshot, diff_snapshots
from pydt_tray.core.models import Game, User
from pydt_tray.core.sync import FetchOutcome, SyncResult
from pydt_tray.desktop.smack import READ_ALL, SmackTalk

A, B = "1001", "1002"
USERS = {A: User(steam_id=A, display_name="Alice"), B: User(steam_id=B, display_name="Bert")}


def game(game_id: str, number: int, author: str) -> Game:
    data = {
        "gameId": game_id,
        "displayName": f"Game {game_id}",
        "discourseTopicId": 70,
        "latestDiscoursePostNumber": number,
        "latestDiscoursePostUser": author,
        "currentPlayerSteamId": A,
        "players": [{"steamId": A}, {"steamId": B}],
    }
    return Game.from_json(data)


class TwoAccounts:
    def __init__(self) -> None:
        self.section: dict = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.notes: list = []
        self.smack = SmackTalk(self.section, self.merged, self.notes.append, enabled=lambda: True)
        self.smack.label_of = {A: "Alice", B: "Bert"}.get

    def merged(self) -> MergedSnapshot:
        return MergedSnapshot.merge([AccountPart(s, USERS[s].display_name, snap) for s, snap in self.snapshots.items()])

    def load(self, steam_id: str, *games: Game) -> None:
        snapshot = Snapshot.build(steam_id, list(games))
        previous = self.snapshots.get(steam_id)
        self.snapshots[steam_id] = snapshot
        outcome = FetchOutcome(("push",), snapshot=snapshot, user=USERS[steam_id])
        self.smack.on_synced(SyncResult(outcome, snapshot, diff_snapshots(previous, snapshot)))


def test_a_post_in_a_shared_game_is_told_once_and_read_for_both(qtbot) -> None:
    two = TwoAccounts()
    two.load(A, game("shared", 3, "carl"), game("a-own", 1, "carl"))
    two.load(B, game("shared", 3, "carl"))
    assert two.notes == [] and two.smack.unread_ids() == frozenset()  # first sight is read, for each account
    assert set(two.section) == {A, B}, "read numbers are kept per account"

    two.load(A, game("shared", 4, "carl"), game("a-own", 1, "carl"))
    two.load(B, game("shared", 4, "carl"))
    assert len(two.notes) == 1 and two.notes[0].title.endswith("(Alice)")
    assert two.smack.unread_ids() == {"shared"}

    assert two.smack.handle("smack:read:shared")
    assert two.smack.unread_ids() == frozenset()
    assert two.section[A]["shared"]["read"] == 4 and two.section[B]["shared"]["read"] == 4


def test_each_accounts_own_posts_do_not_count_for_it(qtbot) -> None:
    two = TwoAccounts()
    two.load(A, game("shared", 3, "carl"))
    two.load(B, game("shared", 3, "carl"))
    two.load(B, game("shared", 4, "bert"))  # Bert wrote it: not news for Bert ...
    two.load(A, game("shared", 4, "bert"))  # ... but for Alice it is
    assert len(two.notes) == 1 and two.notes[0].title.endswith("(Alice)")
    assert two.smack.handle(READ_ALL) and two.smack.unread_ids() == frozenset()


def test_a_load_that_changes_no_mark_asks_for_no_save_or_render(qtbot) -> None:
    two = TwoAccounts()
    changes: list[None] = []
    two.smack.changed.connect(lambda: changes.append(None))
    two.load(A, game("shared", 3, "carl"))
    assert len(changes) == 1  # first sight: marks stored
    two.load(A, game("shared", 3, "carl"))
    assert len(changes) == 1  # nothing new: the state file and tray stay as they are
    two.load(A, game("shared", 4, "carl"))
    assert len(changes) == 2 and len(two.notes) == 1
