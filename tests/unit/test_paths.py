from __future__ import annotations

import stat
from pathlib import Path

import platformdirs

from pydt_tray.core.paths import AppPaths, app_paths


def test_pydt_tray_home_puts_everything_under_one_folder(tmp_path):
    paths = app_paths({"PYDT_TRAY_HOME": str(tmp_path / "home")})
    root = tmp_path / "home"
    assert paths == AppPaths(root / "config", root / "state", root / "logs", root / "cache")
    assert paths.settings_file == root / "config" / "settings.toml"
    assert paths.state_file == root / "state" / "state.json"


def test_relative_home_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paths = app_paths({"PYDT_TRAY_HOME": "profile"})
    assert paths.config_dir == tmp_path / "profile" / "config"


def test_without_home_the_platform_folders_of_the_app_are_used():
    for environ in ({}, {"PYDT_TRAY_HOME": "  "}):
        paths = app_paths(environ)
        assert paths.config_dir == Path(platformdirs.user_config_dir("pydt-tray", appauthor=False))
        assert paths.state_dir == Path(platformdirs.user_state_dir("pydt-tray", appauthor=False))
        assert paths.log_dir == Path(platformdirs.user_log_dir("pydt-tray", appauthor=False))
        assert paths.cache_dir == Path(platformdirs.user_cache_dir("pydt-tray", appauthor=False))


def test_ensure_creates_private_folders_and_can_run_twice(tmp_path):
    paths = app_paths({"PYDT_TRAY_HOME": str(tmp_path / "home")})
    assert paths.ensure() is paths
    paths.ensure()
    for folder in paths.all():
        assert folder.is_dir()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
