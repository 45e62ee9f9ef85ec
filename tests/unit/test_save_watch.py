"""The save watcher: grace period, what it ignores, settling and the slow-writer wait."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from pydt_tray.core.save_watch import SaveWatcher
from tests.helpers.simulator_fixtures import FakeClock

PLAY_THIS = "(PYDT) Play This One!.Civ6Save"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "Hotseat"
    path.mkdir()
    (path / "existing.Civ6Save").write_bytes(b"an old save")
    (path / PLAY_THIS).write_bytes(b"the downloaded turn")
    return path


def settled(watcher: SaveWatcher) -> Path | None:
    """Two polls: the first sees a change, the second reports it if it did not move."""
    first = watcher.poll()
    return first if first is not None else watcher.poll()


def test_nothing_is_reported_before_arming_or_during_the_grace_period(folder: Path, clock: FakeClock) -> None:
    watcher = SaveWatcher(folder, "Civ6Save", clock=clock)
    (folder / "early.Civ6Save").write_bytes(b"before arming")
    assert watcher.poll() is None and not watcher.armed
    watcher.arm()
    (folder / "autosave.Civ6Save").write_bytes(b"written during the grace period")
    assert settled(watcher) is None
    clock.advance(4.9)
    assert settled(watcher) is None
    clock.advance(0.2)
    assert settled(watcher) is None  # what appeared during the grace period is not the user's save
    (folder / "mine.Civ6Save").write_bytes(b"the user's save")
    assert watcher.poll() is None
    assert watcher.poll() == folder / "mine.Civ6Save"
    assert not watcher.armed and watcher.poll() is None  # reported once, then disarmed


def test_a_changed_existing_file_counts(folder: Path, clock: FakeClock) -> None:
    watcher = SaveWatcher(folder, "Civ6Save", clock=clock, grace_seconds=0)
    watcher.arm()
    assert settled(watcher) is None
    os.utime(folder / "existing.Civ6Save", ns=(10**18, 10**18))
    assert settled(watcher) == folder / "existing.Civ6Save"


def test_ignores_the_download_subfolders_and_other_files(folder: Path, clock: FakeClock) -> None:
    watcher = SaveWatcher(folder, "Civ6Save", clock=clock, grace_seconds=0)
    watcher.arm()
    (folder / PLAY_THIS).write_bytes(b"the game re-saved over the download")
    (folder / "(pydt) play this one!.CIV6SAVE").write_bytes(b"same name, other case")
    (folder / "auto").mkdir()
    (folder / "auto" / "AutoSave_0042.Civ6Save").write_bytes(b"autosave in a subfolder")
    (folder / "pydt-archive").mkdir()
    (folder / "pydt-archive" / "12345678_x.Civ6Save").write_bytes(b"archived")
    (folder / "folder.Civ6Save").mkdir()
    (folder / "notes.txt").write_bytes(b"other extension")
    (folder / "mine.Civ6Save.tmp").write_bytes(b"a temporary file")
    (folder / "Civ6Save").write_bytes(b"no extension at all")
    for _ in range(3):
        assert watcher.poll() is None
    (folder / "MINE.CIV6SAVE").write_bytes(b"the extension is matched in any case")
    assert settled(watcher) == folder / "MINE.CIV6SAVE"


def test_custom_ignore_names_and_empty_files(folder: Path, clock: FakeClock) -> None:
    watcher = SaveWatcher(folder, ".zip", ignore_names=["skip.zip"], clock=clock, grace_seconds=0)
    watcher.arm()
    (folder / "skip.zip").write_bytes(b"ignored by name")
    (folder / "empty.zip").touch()
    assert settled(watcher) is None and watcher.poll() is None  # an empty file is still being created
    (folder / "empty.zip").write_bytes(b"now written")
    assert settled(watcher) == folder / "empty.zip"


def test_a_file_still_being_written_waits_for_the_next_poll(folder: Path, clock: FakeClock) -> None:
    watcher = SaveWatcher(folder, "Civ6Save", clock=clock, grace_seconds=0)
    watcher.arm()
    save = folder / "mine.Civ6Save"
    save.write_bytes(b"part")
    assert watcher.poll() is None
    with save.open("ab") as handle:
        handle.write(b" and the rest")
    assert watcher.poll() is None  # it changed since the last poll
    assert watcher.poll() == save


def test_slow_writers_must_stay_stable_for_the_whole_window(folder: Path, clock: FakeClock) -> None:
    watcher = SaveWatcher(folder, "Civ5Save", clock=clock, await_write_finish=True, stable_seconds=2.0)
    watcher.arm()
    clock.advance(5.0)
    save = folder / "slow.Civ5Save"
    save.write_bytes(b"x" * 100)
    assert watcher.poll() is None
    clock.advance(1.5)
    assert watcher.poll() is None
    with save.open("ab") as handle:  # the game is still writing: the 2 s start again
        handle.write(b"y" * 100)
    assert watcher.poll() is None
    clock.advance(1.9)
    assert watcher.poll() is None
    clock.advance(0.2)
    assert watcher.poll() == save
    assert save.stat().st_size == 200


def test_the_most_recent_of_several_saves_wins(folder: Path, clock: FakeClock) -> None:
    watcher = SaveWatcher(folder, "Civ6Save", clock=clock, grace_seconds=0)
    watcher.arm()
    for name, when in (("a.Civ6Save", 3), ("b.Civ6Save", 9), ("c.Civ6Save", 5)):
        (folder / name).write_bytes(b"save")
        os.utime(folder / name, ns=(when * 10**18, when * 10**18))
    assert settled(watcher) == folder / "b.Civ6Save"


def test_rearming_after_ignore_waits_for_a_new_change(folder: Path, clock: FakeClock) -> None:
    watcher = SaveWatcher(folder, "Civ6Save", clock=clock, grace_seconds=1)
    watcher.arm()
    clock.advance(1)
    (folder / "mine.Civ6Save").write_bytes(b"first try")
    assert settled(watcher) == folder / "mine.Civ6Save"
    watcher.arm()  # the user pressed "Ignore"
    clock.advance(1)
    assert settled(watcher) is None
    (folder / "mine.Civ6Save").write_bytes(b"second try, longer")
    assert settled(watcher) == folder / "mine.Civ6Save"


def test_an_unreadable_folder_is_survived(tmp_path: Path, clock: FakeClock, caplog) -> None:
    folder = tmp_path / "later"
    watcher = SaveWatcher(folder, "Civ6Save", clock=clock, grace_seconds=1)
    watcher.arm()
    with caplog.at_level(logging.WARNING, logger="pydt_tray.core.save_watch"):
        assert watcher.poll() is None and watcher.poll() is None
    assert len([r for r in caplog.records if "Cannot list" in r.getMessage()]) == 1  # said once
    folder.mkdir()
    (folder / "old.Civ6Save").write_bytes(b"there before the grace period ended")
    assert watcher.poll() is None  # still in the grace period: becomes the baseline
    clock.advance(1)
    folder.rename(tmp_path / "gone")
    assert watcher.poll() is None  # a failed listing does not reset what is known
    (tmp_path / "gone").rename(folder)
    assert settled(watcher) is None
    (folder / "new.Civ6Save").write_bytes(b"new")
    assert settled(watcher) == folder / "new.Civ6Save"


def test_wait_polls_until_the_save_appears(folder: Path) -> None:
    watcher = SaveWatcher(folder, "Civ6Save", grace_seconds=0)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            (folder / "mine.Civ6Save").write_bytes(b"saved while waiting")

    assert watcher.wait(timeout=30, interval=0.01, sleep=sleep) == folder / "mine.Civ6Save"
    assert sleeps == [0.01] * 4


def test_wait_gives_up_on_timeout_or_stop(folder: Path) -> None:
    watcher = SaveWatcher(folder, "Civ6Save", grace_seconds=0)
    assert watcher.wait(timeout=0.05, interval=0.01) is None
    calls: list[int] = []
    assert (
        watcher.wait(interval=0.01, sleep=lambda s: None, should_stop=lambda: calls.append(1) or len(calls) > 2) is None
    )
    assert len(calls) == 3
