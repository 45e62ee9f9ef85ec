"""Two processes, one settings file: saves merge, reloads take in the other's changes."""

from __future__ import annotations

import multiprocessing
import tomllib
from pathlib import Path

from pydt_tray.core.settings import Settings


def on_disk(path: Path) -> dict:
    return tomllib.loads(path.read_text())


def test_a_save_keeps_the_keys_another_process_changed(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    app, _ = Settings.load(path)  # the running app, loaded before the other change
    cli, _ = Settings.load(path)
    cli.set("auto_submit", True)
    cli.save()
    app.set("reminder_minutes", 30)
    app.save()
    data = on_disk(path)
    assert data["auto_submit"] is True, "the app's save must not undo the other change"
    assert data["reminder_minutes"] == 30
    assert app.snapshot().auto_submit is True  # and the app took it in while saving


def test_reload_takes_in_changes_and_tells_the_listeners(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    app, _ = Settings.load(path)
    heard: list[tuple[str, object]] = []
    app.add_listener(lambda key, value: heard.append((key, value)))
    app.set("reminder_minutes", 45)  # set here, not saved yet: stays as it is
    other, _ = Settings.load(path)
    other.set("auto_submit", True)
    other.set("reminder_minutes", 10)
    other.save()
    heard.clear()
    assert app.reload() == ["auto_submit"]
    assert heard == [("auto_submit", True)]
    assert app.snapshot().auto_submit is True and app.snapshot().reminder_minutes == 45
    assert app.reload() == []  # nothing new


def test_a_broken_file_changes_nothing_on_reload(tmp_path: Path, caplog) -> None:
    path = tmp_path / "settings.toml"
    app, _ = Settings.load(path)
    app.set("auto_submit", True)
    app.save()
    path.write_text("version = 1\nauto_submit = [oops\n")
    assert app.reload() == []
    assert app.snapshot().auto_submit is True
    assert any("could not be read" in record.getMessage() for record in caplog.records)


def _writer(path: str, key: str, rounds: int, barrier) -> None:
    settings, _ = Settings.load(path)
    barrier.wait(30)  # both have loaded the file before either writes
    for index in range(rounds):
        settings.set(key, 10 + index)
        settings.save()


def test_concurrent_writers_never_lose_each_others_last_value(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    context = multiprocessing.get_context("spawn")
    rounds = 25
    barrier = context.Barrier(2)
    writers = [
        context.Process(target=_writer, args=(str(path), key, rounds, barrier))
        for key in ("reminder_minutes", "archive_count")
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    data = on_disk(path)
    assert data["reminder_minutes"] == 10 + rounds - 1
    assert data["archive_count"] == 10 + rounds - 1
