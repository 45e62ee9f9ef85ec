from __future__ import annotations

import json
import re
import stat

import pytest

from pydt_tray.core.state import STATE_VERSION, State


def backups(folder):
    return [path for path in sorted(folder.iterdir()) if ".bad-" in path.name]


def test_fresh_state_has_an_install_id_that_is_kept(tmp_path):
    path = tmp_path / "state.json"
    state, problems = State.load(path)
    assert problems == [] and not path.exists()
    assert re.fullmatch(r"[0-9a-f]{32}", state.install_id)
    state.save()
    again, _ = State.load(path)
    assert again.install_id == state.install_id
    assert State().install_id != state.install_id


def test_round_trip_of_every_field(tmp_path):
    path = tmp_path / "state.json"
    state = State(path)
    state.mark_notified("g1:12")
    state.mark_notified("g2:3")
    state.reminded_at["g1:12"] = 1_700_000_000.5
    state.poll_url = "https://cache.example/user/abc.json"
    state.poll_etag = '"etag-1"'
    state.extra["smack_read"] = {"g1": 4}
    state.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["version"] == STATE_VERSION

    loaded, problems = State.load(path)
    assert problems == []
    assert loaded.to_json() == state.to_json()
    assert loaded.was_notified("g1:12") and not loaded.was_notified("g1:13")
    assert loaded.reminded_at == {"g1:12": 1_700_000_000.5}


def test_prune_drops_turns_that_are_no_longer_pending():
    state = State(notified_turns={"g1:1", "g2:5", "g3:9"}, reminded_at={"g1:1": 1.0, "g3:9": 2.0})
    state.prune({"g2:5", "g3:9", "g4:1"})
    assert state.notified_turns == {"g2:5", "g3:9"}
    assert state.reminded_at == {"g3:9": 2.0}


DEEP_EXTRA = '{"version": 1, "extra": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
SAVE_BREAKING_EXTRA = '{"version": 1, "extra": {"x": ' + "[" * 990 + "]" * 990 + "}}"


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", '{"version": 99}', '{"version": "x"}', "\udcff", '{"version": 1e400}', DEEP_EXTRA,
     SAVE_BREAKING_EXTRA],
    ids=["broken", "list", "newer", "bad-version", "bad-utf8", "1e400", "deep", "deep-enough-to-break-saving"],
)  # fmt: skip
def test_an_unreadable_file_is_backed_up_and_a_fresh_state_used(tmp_path, content):
    path = tmp_path / "state.json"
    raw = content.encode("utf-8", "surrogateescape")
    path.write_bytes(raw)
    state, problems = State.load(path)
    assert len(problems) == 1
    assert problems[0].startswith("state.json: unreadable")
    [backup] = backups(tmp_path)
    assert backup.name in problems[0] and backup.read_bytes() == raw
    assert state.notified_turns == set() and re.fullmatch(r"[0-9a-f]{32}", state.install_id)
    state.save()
    assert State.load(path)[1] == []


def test_bad_fields_are_reset_one_by_one_and_the_rest_is_kept(tmp_path):
    path = tmp_path / "state.json"
    document = {
        "version": 1,
        "install_id": "0123456789abcdef0123456789abcdef",
        "notified_turns": "g1:1",
        "reminded_at": {"g1:1": "yesterday"},
        "poll_url": "https://cache.example/x.json",
        "poll_etag": 5,
        "someday": [1],
    }
    path.write_text(json.dumps(document))
    state, problems = State.load(path)
    assert len(problems) == 1
    for name in ("notified_turns", "reminded_at", "poll_etag"):
        assert name in problems[0]
    assert "install_id" not in problems[0]
    assert state.install_id == document["install_id"]
    assert state.poll_url == document["poll_url"] and state.poll_etag is None
    assert state.notified_turns == set() and state.reminded_at == {}
    assert state.extra == {"someday": [1]}  # unknown keys are carried along
    assert len(backups(tmp_path)) == 1


def test_malformed_install_id_is_replaced(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 1, "install_id": "../../etc", "notified_turns": ["g:1"]}))
    state, problems = State.load(path)
    assert "install_id" in problems[0]
    assert re.fullmatch(r"[0-9a-f]{32}", state.install_id)
    assert state.was_notified("g:1")


def test_saving_unchanged_state_writes_nothing_until_something_changes_or_another_writer_came(tmp_path):
    path = tmp_path / "state.json"
    state, _ = State.load(path)
    state.save()
    first = path.stat()
    state.save()  # same content, file untouched since: no write (no new inode, no fsync)
    assert path.stat().st_ino == first.st_ino and path.stat().st_mtime_ns == first.st_mtime_ns
    state.games["g1"] = {"muted": True}
    state.save()
    second = path.stat()
    assert second.st_ino != first.st_ino
    assert json.loads(path.read_text())["games"] == {"g1": {"muted": True}}
    path.write_text(path.read_text().replace('"muted": true', '"muted": false'))  # the command line wrote
    state.adopt_from_disk(keys=())  # noticed, nothing taken
    state.save()
    assert json.loads(path.read_text())["games"] == {"g1": {"muted": True}}  # ours is written back in full
