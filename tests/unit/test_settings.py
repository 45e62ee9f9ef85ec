from __future__ import annotations

import errno
import os
import stat
import tomllib

import pytest

import pydt_tray.core.atomic as atomic
from pydt_tray.core.atomic import write_atomic
from pydt_tray.core.settings import SETTINGS_VERSION, Settings, migrate, render_toml, toml_string
from pydt_tray.core.settings_table import SETTINGS, SPECS, SettingsError, parse_value, validate

REQUIRED = [
    ("iot_keepalive_seconds", "int", 600, 30, 1200),
    ("poll_interval_seconds", "int", 600, 60, 3600),
    ("reminder_minutes", "int", 120, 0, 1440),
    ("notifications_enabled", "bool", True, None, None),
    ("turn_api_enabled", "bool", False, None, None),
    ("turn_api_port", "int", 47821, 1024, 65535),
    ("start_hidden", "bool", False, None, None),
    ("start_at_login", "bool", False, None, None),
    ("mqtt_protocol", "choice", "mqtt5", None, None),
    ("iot_endpoint", "str", "a21s639tnrshxf-ats.iot.us-east-1.amazonaws.com", None, None),
    ("iot_port", "int", 443, 1, 65535),
    ("iot_region", "str", "us-east-1", None, None),
    ("iot_ca_file", "path", "", None, None),
    ("launch_game", "bool", True, None, None),
    ("auto_download", "bool", False, None, None),
    ("auto_submit", "bool", False, None, None),
    ("archive_count", "int", 100, 0, 10000),
    ("save_dir_civ6", "path", "", None, None),
    ("save_dir_civ7", "path", "", None, None),
    ("save_dir_civ5", "path", "", None, None),
    ("save_dir_beyond_earth", "path", "", None, None),
    ("save_dir_old_world", "path", "", None, None),
    ("store_civ6", "choice", "auto", None, None),
    ("store_old_world", "choice", "auto", None, None),
]


def files(folder):
    return sorted(path.name for path in folder.iterdir())


def backups(folder):
    return [path for path in sorted(folder.iterdir()) if ".bad-" in path.name]


# --- the table ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "kind", "default", "minimum", "maximum"), REQUIRED)
def test_table_has_the_required_settings(key, kind, default, minimum, maximum):
    spec = SPECS[key]
    assert (spec.kind, spec.default, spec.minimum, spec.maximum) == (kind, default, minimum, maximum)


def test_table_rows_are_complete_and_consistent():
    assert len(SPECS) == len(SETTINGS)
    assert SPECS["mqtt_protocol"].choices == ("mqtt5", "mqtt311")
    assert SPECS["store_civ6"].choices == ("auto", "steam", "epic")
    assert "90" in SPECS["poll_interval_seconds"].help
    assert "0" in SPECS["reminder_minutes"].help and "off" in SPECS["reminder_minutes"].help
    for spec in SETTINGS:
        assert spec.label and spec.help and spec.section
        assert validate(spec, spec.default) == spec.default
        assert bool(spec.choices) == (spec.kind == "choice")
        assert "secret" not in spec.key and "token" not in spec.key


# --- parsing and validation --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["true", "YES", " on ", "1"])
def test_parse_true(text):
    assert parse_value(SPECS["start_hidden"], text) is True


@pytest.mark.parametrize("text", ["false", "No", "off", "0"])
def test_parse_false(text):
    assert parse_value(SPECS["start_hidden"], text) is False


def test_parse_rejects_with_the_key_and_what_is_allowed():
    with pytest.raises(SettingsError, match=r"key 'start_hidden': must be true/false"):
        parse_value(SPECS["start_hidden"], "maybe")
    with pytest.raises(SettingsError, match=r"key 'iot_keepalive_seconds': must be a whole number 30..1200, got 5"):
        parse_value(SPECS["iot_keepalive_seconds"], "5")
    with pytest.raises(SettingsError, match=r"30..1200, got '1.5'"):
        parse_value(SPECS["iot_keepalive_seconds"], "1.5")
    with pytest.raises(SettingsError, match=r"one of mqtt5, mqtt311"):
        parse_value(SPECS["mqtt_protocol"], "mqtt4")
    with pytest.raises(SettingsError, match=r"key 'iot_region': must be non-empty text"):
        parse_value(SPECS["iot_region"], "  ")


def test_parse_ints_choices_and_paths():
    assert parse_value(SPECS["iot_keepalive_seconds"], " 1200 ") == 1200
    assert parse_value(SPECS["mqtt_protocol"], "MQTT311") == "mqtt311"
    assert parse_value(SPECS["save_dir_civ6"], " /games/civ 6 ") == "/games/civ 6"


@pytest.mark.parametrize(
    ("key", "value"),
    [("iot_port", True), ("iot_port", "443"), ("start_hidden", 1), ("iot_endpoint", 5), ("iot_ca_file", "a\nb")],
)
def test_validate_rejects_wrong_types(key, value):
    with pytest.raises(SettingsError, match=f"key '{key}'"):
        validate(SPECS[key], value)


# --- the settings object -----------------------------------------------------------------------------------


def test_set_validates_and_listeners_hear_only_changes():
    settings = Settings()
    heard = []
    settings.add_listener(lambda key, value: heard.append((key, value)))
    assert settings.set("poll_interval_seconds", 120) == 120
    settings.set("poll_interval_seconds", 120)
    with pytest.raises(SettingsError, match="poll_interval_seconds"):
        settings.set("poll_interval_seconds", 10)
    with pytest.raises(SettingsError, match="unknown setting 'nope'"):
        settings.set("nope", 1)
    assert heard == [("poll_interval_seconds", 120)]
    assert settings.get("poll_interval_seconds") == 120
    settings.reset("poll_interval_seconds")
    assert heard[-1] == ("poll_interval_seconds", 600)


def test_a_failing_listener_does_not_stop_the_others(caplog):
    settings = Settings()
    heard = []

    def broken(key, value):
        raise RuntimeError("listener bug")

    settings.add_listener(broken)
    settings.add_listener(lambda key, value: heard.append(key))
    settings.set("start_hidden", True)
    assert heard == ["start_hidden"]
    assert "listener bug" in caplog.text


def test_missing_file_gives_defaults_without_problems(tmp_path):
    settings, problems = Settings.load(tmp_path / "settings.toml")
    assert problems == []
    assert settings.values() == {spec.key: spec.default for spec in SETTINGS}
    assert files(tmp_path) == []


def test_round_trip_keeps_every_value_and_writes_readable_toml(tmp_path):
    path = tmp_path / "settings.toml"
    settings = Settings(path)
    tricky = 'C:\\Users\\Zoë\\"Saves" new'
    settings.set("save_dir_civ6", tricky)
    settings.set("iot_keepalive_seconds", 30)
    settings.set("start_at_login", True)
    settings.set("store_old_world", "epic")
    settings.save()

    text = path.read_text(encoding="utf-8")
    assert next(line for line in text.splitlines() if not line.startswith("#")) == "version = 1"
    assert "iot_keepalive_seconds = 30\n" in text
    assert tomllib.loads(text)["save_dir_civ6"] == tricky
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    loaded, problems = Settings.load(path)
    assert problems == []
    assert loaded.values() == settings.values()
    assert loaded.version == SETTINGS_VERSION


@pytest.mark.parametrize("text", ["plain", 'quote " and \\ back', "tab\there", "ctl\x01\x7f", "new\nline", "ünï ✓"])
def test_toml_strings_survive_tomllib(text):
    assert tomllib.loads(f"x = {toml_string(text)}")["x"] == text


def test_bad_toml_is_backed_up_reported_with_its_line_and_defaults_are_used(tmp_path):
    path = tmp_path / "settings.toml"
    original = "version = 1\nstart_hidden = true\nthis is not toml\n"
    path.write_text(original)
    settings, problems = Settings.load(path)
    assert problems[0].startswith("settings.toml line 3: ")
    assert settings.get("start_hidden") is False
    [backup] = backups(tmp_path)
    assert backup.read_text() == original
    assert backup.name in problems[-1]
    assert tomllib.loads(path.read_text())["start_hidden"] is False  # rewritten clean


def test_invalid_values_fall_back_per_key_and_valid_ones_are_kept(tmp_path):
    path = tmp_path / "settings.toml"
    original = 'version = 1\niot_keepalive_seconds = 5\nstart_hidden = "yes"\nfuture_thing = 3\nreminder_minutes = 0\n'
    path.write_text(original)
    settings, problems = Settings.load(path)
    text = "\n".join(problems)
    assert "key 'iot_keepalive_seconds': must be a whole number 30..1200, got 5" in text
    assert "key 'start_hidden': must be true or false, got 'yes'" in text
    assert "key 'future_thing': unknown setting" in text
    assert settings.get("iot_keepalive_seconds") == 600
    assert settings.get("start_hidden") is False
    assert settings.get("reminder_minutes") == 0
    [backup] = backups(tmp_path)
    assert backup.read_text() == original  # the unknown key survives in the backup
    rewritten = tomllib.loads(path.read_text())
    assert "future_thing" not in rewritten and rewritten["reminder_minutes"] == 0

    again, problems = Settings.load(path)  # reported once, not on every start
    assert problems == [] and again.values() == settings.values()


def test_non_utf8_file_is_reported_and_kept(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_bytes(b"version = 1\nx = '\xff'\n")
    settings, problems = Settings.load(path)
    assert "not UTF-8" in problems[0]
    assert settings.values() == Settings().values()
    assert backups(tmp_path)[0].read_bytes() == b"version = 1\nx = '\xff'\n"


def test_file_from_a_newer_version_is_reported_and_kept(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("version = 7\npoll_interval_seconds = 90\n")
    settings, problems = Settings.load(path)
    assert "newer pydt-tray (version 7" in problems[0]
    assert settings.get("poll_interval_seconds") == 90
    assert len(backups(tmp_path)) == 1


def test_unversioned_file_goes_through_the_migration_hook(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("poll_interval_seconds = 90\n")
    settings, problems = Settings.load(path)
    assert problems == []
    assert settings.get("poll_interval_seconds") == 90


def test_migrations_run_in_order_up_to_the_current_version():
    calls = []

    def step(data):
        calls.append(data["version"])
        return {**data, "version": data["version"] + 1, "renamed": True}

    data, original = migrate({"version": 0}, {0: step})
    assert calls == [0] and original == 0 and data == {"version": 1, "renamed": True}
    with pytest.raises(SettingsError, match="version"):
        migrate({"version": "one"})


def test_without_a_backup_the_bad_file_is_left_alone(tmp_path, monkeypatch):
    path = tmp_path / "settings.toml"
    path.write_text("version = 1\niot_port = 0\n")

    def no_copy(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pydt_tray.core.settings.shutil.copy2", no_copy)
    settings, problems = Settings.load(path)
    assert "could not keep a backup" in problems[-1]
    assert path.read_text() == "version = 1\niot_port = 0\n"
    assert settings.get("iot_port") == 443


def test_render_lists_every_key_once():
    parsed = tomllib.loads(render_toml({}))
    assert parsed.pop("version") == 1
    assert parsed == {spec.key: spec.default for spec in SETTINGS}


# --- atomic writes -----------------------------------------------------------------------------------------


def test_write_atomic_replaces_content_with_mode(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")
    write_atomic(path, "new ✓", mode=0o640)
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert files(tmp_path) == ["f.txt"]


@pytest.mark.parametrize("broken", ["replace", "fsync"])
def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch, broken):
    path = tmp_path / "settings.toml"
    Settings(path).save()
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, broken, disk_full)
    settings = Settings(path)
    settings.set("archive_count", 5)
    with pytest.raises(OSError, match="No space left"):
        settings.save()
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert files(tmp_path) == ["settings.toml"]


def test_write_into_a_missing_folder_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        write_atomic(tmp_path / "missing" / "f", b"x")
    assert not os.path.exists(tmp_path / "missing")


def test_the_snapshot_is_typed_from_the_table_and_follows_changes() -> None:
    from dataclasses import FrozenInstanceError, fields

    from pydt_tray.core.settings_table import SettingsSnapshot, _snapshot_mismatches

    assert _snapshot_mismatches() == []
    assert [field.name for field in fields(SettingsSnapshot)] == [spec.key for spec in SETTINGS]
    settings = Settings(values={"poll_interval_seconds": 120, "store_civ6": "epic"})
    before = settings.snapshot()
    settings.set("poll_interval_seconds", 600)
    after = settings.snapshot()
    assert (before.poll_interval_seconds, after.poll_interval_seconds) == (120, 600)
    assert after.per_game("store", "CIV6") == "epic"
    assert after.per_game("save_dir", "OLD_WORLD") == ""
    assert after.per_game("store", "CIV5") is None  # no such setting for that game
    with pytest.raises(FrozenInstanceError):
        after.poll_interval_seconds = 60  # type: ignore[misc]


def test_a_deeply_nested_file_is_reported_and_kept(tmp_path):
    path = tmp_path / "settings.toml"
    raw = ("version = 1\nx = " + "[" * 50_000 + "]" * 50_000 + "\n").encode()
    path.write_bytes(raw)
    settings, problems = Settings.load(path)
    assert "nested too deeply" in problems[0]
    assert settings.values() == Settings().values()
    assert backups(tmp_path)[0].read_bytes() == raw
