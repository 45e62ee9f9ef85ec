"""Several accounts: one keyring entry per Steam id, the index, the earlier version's token, per-account state."""

from __future__ import annotations

import json

import pytest

from pydt_tray.core import logs
from pydt_tray.core.accounts import AccountBook, UnknownAccountError
from pydt_tray.core.credentials import SERVICE, USERNAME, TokenStore
from pydt_tray.core.state import State
from tests.helpers.memory_keyring import MemoryKeyring


@pytest.fixture(autouse=True)
def _forget_secrets():
    yield
    logs.clear_secrets()


@pytest.fixture
def keyring_backend() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def book(tmp_path, keyring_backend) -> AccountBook:
    def make_store(username, plaintext, allow):
        return TokenStore(backend=keyring_backend, username=username, plaintext_path=plaintext, allow_plaintext=allow)

    return AccountBook(tmp_path, make_store=make_store)


def test_each_account_has_its_own_entry_and_the_index_never_holds_a_token(book, keyring_backend, tmp_path):
    book.add("111", "Alice", "token-alice")
    book.add("222", "Bob", "token-bob")
    assert keyring_backend.entries == {
        (SERVICE, f"{USERNAME}:111"): "token-alice",
        (SERVICE, f"{USERNAME}:222"): "token-bob",
    }
    assert [(a.steam_id, a.name) for a in book.accounts()] == [("111", "Alice"), ("222", "Bob")]
    index = (tmp_path / "accounts.json").read_text()
    assert "token-" not in index
    assert book.load("222") == "token-bob"


def test_adding_an_account_again_replaces_its_token_only(book, keyring_backend):
    book.add("111", "Alice", "old-token")
    book.add("222", "Bob", "token-bob")
    book.add("111", "Alice B.", "new-token")
    assert book.load("111") == "new-token" and book.load("222") == "token-bob"
    assert [(a.steam_id, a.name) for a in book.accounts()] == [("111", "Alice B."), ("222", "Bob")]


def test_removing_one_account_keeps_the_others(book, keyring_backend):
    book.add("111", "Alice", "token-alice")
    book.add("222", "Bob", "token-bob")
    assert book.remove("111").name == "Alice"
    assert [a.steam_id for a in book.accounts()] == ["222"]
    assert (SERVICE, f"{USERNAME}:111") not in keyring_backend.entries
    with pytest.raises(UnknownAccountError, match=r"333.*signed in: 222"):
        book.remove("333")


def test_the_earlier_versions_token_moves_to_its_accounts_entry(book, keyring_backend):
    keyring_backend.entries[(SERVICE, USERNAME)] = "legacy-token"
    assert book.accounts() == [] and book.legacy_token() == "legacy-token"
    book.adopt_legacy("111", "Alice", "legacy-token")
    assert keyring_backend.entries == {(SERVICE, f"{USERNAME}:111"): "legacy-token"}
    assert book.legacy_token() is None and [a.steam_id for a in book.accounts()] == ["111"]


def test_a_broken_index_is_reported_and_not_overwritten_by_reading(book, tmp_path):
    (tmp_path / "accounts.json").write_text("{broken")
    assert book.accounts() == []
    assert "accounts.json is unreadable" in book.problem
    assert (tmp_path / "accounts.json").read_text() == "{broken"


def test_a_bad_steam_id_is_refused(book):
    with pytest.raises(ValueError):
        book.add("../x", "Eve", "token")


def test_single_account_state_is_taken_over_by_the_first_account(tmp_path):
    path = tmp_path / "state.json"
    old = {
        "version": 1,
        "install_id": "ab" * 16,
        "notified_turns": ["g1:5"],
        "reminded_at": {"g1:5": 1_700_000_000.0},
        "poll_url": "https://cache.example/u.json",
        "poll_etag": '"e1"',
        "games": {"g1": {"muted": True}},
    }
    path.write_text(json.dumps(old))
    state, problems = State.load(path)
    assert problems == []
    alice = state.account("111")
    assert alice.was_notified("g1:5") and alice.poll_url == "https://cache.example/u.json"
    assert alice.poll_etag == '"e1"' and alice.reminded_at == {"g1:5": 1_700_000_000.0}
    bob = state.account("222")
    assert not bob.was_notified("g1:5") and bob.poll_url is None
    bob.mark_notified("g2:1")
    bob.poll_url = "https://cache.example/b.json"
    state.save()
    again, problems = State.load(path)
    assert problems == []
    assert again.account("111").was_notified("g1:5") and not again.account("111").was_notified("g2:1")
    assert again.account("222").was_notified("g2:1") and again.account("222").poll_url.endswith("b.json")
    assert again.games == {"g1": {"muted": True}} and again.install_id == "ab" * 16


def test_pruning_one_account_keeps_the_others_turns(tmp_path):
    state = State(tmp_path / "state.json")
    state.account("111").mark_notified("shared:7")
    state.account("222").mark_notified("shared:8")
    state.account("111").prune(set())
    assert state.account("222").was_notified("shared:8") and not state.account("111").was_notified("shared:7")


def test_a_malformed_account_section_is_reset_with_a_message_and_a_backup(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 2, "install_id": "cd" * 16, "accounts": {"111": {"notified_turns": 5}}}))
    state, problems = State.load(path)
    assert len(problems) == 1 and "accounts.111: notified_turns" in problems[0] and "kept as" in problems[0]
    assert state.install_id == "cd" * 16 and state.account("111").notified_keys() == set()
    assert any(".bad-" in p.name for p in tmp_path.iterdir())
