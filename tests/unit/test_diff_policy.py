from pydt_tray.core.diff import EventKind, Snapshot, diff_snapshots, turn_key
from pydt_tray.core.models import Game
from pydt_tray.core.policy import NotificationPolicy

ME, ALICE, BOB = "76561190000000001", "76561190000000002", "76561190000000003"


def game(game_id, current, turn=5, **extra):
    data = {
        "gameId": game_id,
        "displayName": f"Game {game_id}",
        "inProgress": True,
        "currentPlayerSteamId": current,
        "gameTurnRangeKey": turn,
        "round": turn // 2,
        "players": [{"steamId": ALICE}, {"steamId": ME}, {"steamId": BOB}],
    }
    data.update(extra)
    return Game.from_json(data)


def snap(*games):
    return Snapshot.build(ME, list(games))


class MemoryStore:
    def __init__(self):
        self.notified = set()
        self.reminded_at = {}

    def was_notified(self, key):
        return key in self.notified

    def mark_notified(self, key):
        self.notified.add(key)

    def notified_keys(self):
        return set(self.notified)

    def prune(self, keep_keys):
        self.notified &= keep_keys
        self.reminded_at = {k: v for k, v in self.reminded_at.items() if k in keep_keys}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def policy(store, clock, enabled=True, minutes=0):
    return NotificationPolicy(store, enabled=lambda: enabled, reminder_minutes=lambda: minutes, clock=clock)


def kinds(events):
    return sorted((e.kind.value, e.game.game_id) for e in events)


def test_first_snapshot_reports_every_pending_turn_of_mine():
    events = diff_snapshots(None, snap(game("a", ME), game("b", ALICE), game("c", ME, turn=1)))
    assert kinds(events) == [("turn-mine", "a"), ("turn-mine", "c")]


def test_turn_arrives_and_leaves():
    before = snap(game("a", ALICE, turn=5))
    after = snap(game("a", ME, turn=6))
    assert kinds(diff_snapshots(before, after)) == [("turn-mine", "a")]
    later = snap(game("a", BOB, turn=7))
    assert kinds(diff_snapshots(after, later)) == [("turn-left", "a")]


def test_new_turn_in_same_game_is_a_new_event():
    assert kinds(diff_snapshots(snap(game("a", ME, turn=6)), snap(game("a", ME, turn=8)))) == [
        ("turn-left", "a"),
        ("turn-mine", "a"),
    ]


def test_games_added_removed_finished():
    before = snap(game("a", ALICE), game("b", ALICE))
    after = snap(game("a", ALICE, completed=True), game("c", BOB))
    assert kinds(diff_snapshots(before, after)) == [
        ("game-added", "c"),
        ("game-finished", "a"),
        ("game-removed", "b"),
    ]


def test_unchanged_snapshot_gives_no_events():
    s = snap(game("a", ME), game("b", ALICE))
    assert diff_snapshots(s, snap(game("a", ME), game("b", ALICE))) == []


def test_one_notification_per_turn_and_grouping():
    store, clock = MemoryStore(), Clock()
    p = policy(store, clock)
    new = snap(game("a", ME), game("b", ME, turn=9), game("c", ME, turn=1))
    note = p.on_events(diff_snapshots(None, new), new, lambda _id: None)
    assert note.title == "2 turns are waiting for you"
    assert "Game a" in note.body and "Game b" in note.body and "Game c" not in note.body
    assert set(note.game_ids) == {"a", "b"}
    # the same events again (a restart with the persisted store): nothing
    assert p.on_events(diff_snapshots(None, new), new, lambda _id: None) is None


def test_single_notification_names_game_round_and_previous_player():
    store = MemoryStore()
    p = policy(store, Clock())
    new = snap(game("a", ME, turn=10))
    note = p.on_events(diff_snapshots(None, new), new, {ALICE: "Alice"}.get)
    assert note.title == "Your turn: Game a"
    assert note.body == "Round 5 · Alice played last"


def test_turn_one_never_notified():
    store = MemoryStore()
    new = snap(game("a", ME, turn=1))
    assert policy(store, Clock()).on_events(diff_snapshots(None, new), new, lambda _id: None) is None
    assert store.notified == set()


def test_disabled_marks_but_shows_nothing():
    store = MemoryStore()
    new = snap(game("a", ME))
    assert policy(store, Clock(), enabled=False).on_events(diff_snapshots(None, new), new, lambda _id: None) is None
    assert store.notified == {turn_key(new.games[0])}


def test_keys_of_turns_no_longer_pending_are_pruned():
    store = MemoryStore()
    p = policy(store, Clock())
    first = snap(game("a", ME, turn=6))
    p.on_events(diff_snapshots(None, first), first, lambda _id: None)
    second = snap(game("a", BOB, turn=7))
    p.on_events(diff_snapshots(first, second), second, lambda _id: None)
    assert store.notified == set()


def test_a_stale_list_showing_an_earlier_turn_does_not_make_the_turn_notify_again():
    store = MemoryStore()
    p = policy(store, Clock())
    before = snap(game("a", ALICE, turn=6), game("b", BOB, turn=3))
    mine = snap(game("a", ME, turn=7), game("b", BOB, turn=3))
    assert p.on_events(diff_snapshots(before, mine), mine, lambda _id: None) is not None
    stale = before  # a cached pollUrl answers with the list of before the turn
    assert p.on_events(diff_snapshots(mine, stale), stale, lambda _id: None) is None
    assert p.on_events(diff_snapshots(stale, mine), mine, lambda _id: None) is None
    assert store.notified == {"a:7"}
    moved_on = snap(game("a", BOB, turn=8), game("b", BOB, turn=3))  # the turn was played: the key goes
    p.on_events(diff_snapshots(mine, moved_on), moved_on, lambda _id: None)
    assert store.notified == set()


def test_a_stale_list_showing_a_played_turn_as_pending_announces_nothing():
    store = MemoryStore()
    p = policy(store, Clock())
    mine = snap(game("a", ME, turn=7))
    assert p.on_events(diff_snapshots(None, mine), mine, lambda _id: None) is not None
    played = snap(game("a", BOB, turn=8))
    p.on_events(diff_snapshots(mine, played), played, lambda _id: None)
    stale = mine  # a cached pollUrl still has the turn as the user's
    assert kinds(diff_snapshots(played, stale)) == []
    assert p.on_events(diff_snapshots(played, stale), stale, lambda _id: None) is None
    assert p.on_events(diff_snapshots(stale, played), played, lambda _id: None) is None


def test_reminders_follow_the_interval():
    store, clock = MemoryStore(), Clock()
    p = policy(store, clock, minutes=60)
    s = snap(game("a", ME))
    assert p.on_events(diff_snapshots(None, s), s, lambda _id: None) is not None
    clock.now += 59 * 60
    assert p.reminder(s, lambda _id: None) is None
    clock.now += 61
    note = p.reminder(s, lambda _id: None)
    assert note.reminder and note.title == "Still your turn: Game a"
    assert p.reminder(s, lambda _id: None) is None
    off = policy(store, clock, minutes=0)
    clock.now += 7200
    assert off.reminder(s, lambda _id: None) is None


def test_event_kind_values_are_stable():
    assert {k.value for k in EventKind} == {"turn-mine", "turn-left", "game-added", "game-removed", "game-finished"}
