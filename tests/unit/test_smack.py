"""Smack talk: what counts as unread, first sight, pruning and when a post is announced."""

from __future__ import annotations

import json

from pydt_tray.core.models import Game, User
from pydt_tray.core.quiet import GamePrefs, Quiet, Silence
from pydt_tray.core.smack import SmackReads, compose_smack, own_names, smack_notification, topic_url, unread
from pydt_tray.core.state import State

ME = own_names(User(steam_id="1", display_name="Alice", forum_username="alice_f"))


def game(game_id="g1", number=None, author="", topic=77, name="Game One") -> Game:
    data = {"gameId": game_id, "displayName": name, "discourseTopicId": topic}
    if number is not None:
        data["latestDiscoursePostNumber"] = number
        data["latestDiscoursePostUser"] = author
    return Game.from_json(data)


def test_unread_needs_a_newer_post_by_someone_else():
    assert unread(game(number=5, author="bob"), ME, 4)
    assert not unread(game(number=5, author="bob"), ME, 5)
    assert not unread(game(number=5, author="alice_f"), ME, 4)  # forum name
    assert not unread(game(number=5, author="ALICE"), ME, 4)  # display name, any case
    assert not unread(game(number=5, author="system"), ME, 4)
    assert not unread(game(number=5, author="bob"), ME, None)  # never seen: read
    assert not unread(game(), ME, 0)  # no topic posts at all


def test_own_names_uses_the_forum_name_and_the_display_name():
    assert own_names(User(steam_id="1", display_name="Alice")) == {"alice"}
    assert own_names(None) == frozenset()


def test_first_sight_is_read_and_a_later_post_by_others_is_new_once():
    reads = SmackReads({}, "1")
    assert reads.observe([game(number=9, author="bob")], ME) == []
    assert reads.last_read("g1") == 9
    assert not reads.is_unread(game(number=9, author="bob"), ME)
    later = game(number=10, author="bob")
    assert reads.observe([later], ME) == [later]
    assert reads.observe([later], ME) == []  # a reload does not repeat it
    assert reads.is_unread(later, ME)


def test_a_game_first_seen_without_posts_notifies_its_first_post():
    reads = SmackReads({}, "1")
    reads.observe([game()], ME)
    first = game(number=1, author="bob")
    assert reads.observe([first], ME) == [first]


def test_own_and_system_posts_never_notify_nor_count():
    reads = SmackReads({}, "1")
    reads.observe([game(number=3, author="bob")], ME)
    assert reads.observe([game(number=4, author="alice_f")], ME) == []
    assert reads.observe([game(number=5, author="system")], ME) == []
    assert reads.unread_games([game(number=5, author="system")], ME) == []


def test_mark_read_clears_the_mark_and_a_stale_list_does_not_renotify():
    reads = SmackReads({}, "1")
    reads.observe([game(number=3, author="bob")], ME)
    reads.observe([game(number=4, author="bob")], ME)
    assert reads.mark_read(game(number=4, author="bob"))
    assert not reads.mark_read(game(number=4, author="bob"))
    assert not reads.is_unread(game(number=4, author="bob"), ME)
    assert reads.observe([game(number=3, author="bob")], ME) == []  # an older copy of the list


def test_games_that_left_the_list_are_pruned_per_account():
    section: dict = {}
    reads = SmackReads(section, "1")
    reads.observe([game("g1", 3, "bob"), game("g2", 4, "bob")], ME)
    SmackReads(section, "2").observe([game("g1", 3, "bob")], ME)
    reads.observe([game("g2", 4, "bob")], ME)
    assert set(section["1"]) == {"g2"}
    assert set(section["2"]) == {"g1"}  # another account's numbers are its own


def test_read_numbers_survive_a_restart(tmp_path):
    path = tmp_path / "state.json"
    state = State(path)
    reads = SmackReads(state.smack, "1")
    reads.observe([game(number=3, author="bob")], ME)
    reads.observe([game(number=6, author="bob")], ME)
    state.save()
    assert json.loads(path.read_text())["smack"] == {"1": {"g1": {"read": 3, "notified": 6}}}
    loaded, problems = State.load(path)
    assert problems == []
    again = SmackReads(loaded.smack, "1")
    assert again.is_unread(game(number=6, author="bob"), ME)
    assert again.observe([game(number=6, author="bob")], ME) == []  # already announced before the restart


def test_a_broken_section_entry_is_treated_as_never_seen():
    reads = SmackReads({"1": {"g1": {"read": "x"}}, "2": []}, "1")
    assert reads.last_read("g1") is None
    assert reads.observe([game(number=2, author="bob")], ME) == []
    assert reads.last_read("g1") == 2
    assert SmackReads({"2": []}, "2").observe([game(number=1, author="bob")], ME) == []


def test_words_of_the_notification_name_the_author():
    one = compose_smack([game(number=2, author="bob")])
    assert (one.title, one.body, one.kind) == ("New smack talk in Game One", "bob wrote a new post", "smack")
    two = compose_smack([game("g1", 2, "bob"), game("g2", 3, "carol", name="Two")])
    assert two.title == "New smack talk in 2 games"
    assert two.body == "Game One (by bob), Two (by carol)"
    assert two.game_ids == ("g1", "g2")


def test_topic_url():
    assert topic_url(game(topic=123)) == "https://discourse.playyourdamnturn.com/t/123"
    assert topic_url(game(topic=None)) is None


def test_the_gate_silences_muted_games_and_quiet_hours():
    state = State()
    prefs = GamePrefs(state.games)
    quiet = Quiet(state.quiet, hours=lambda: None)
    gate = Silence(quiet, prefs)
    posts = [game("g1", 2, "bob"), game("g2", 3, "carol", name="Two")]
    assert smack_notification(posts, enabled=lambda: False, gate=gate) is None
    prefs.mute("g1")
    note = smack_notification(posts, enabled=lambda: True, gate=gate)
    assert note is not None and note.game_ids == ("g2",)
    quiet.pause_for(3600)
    assert smack_notification(posts, enabled=lambda: True, gate=gate) is None
    assert smack_notification([], enabled=lambda: True) is None
