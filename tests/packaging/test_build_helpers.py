"""The build helpers in packaging/: what the bundle keeps, the icon containers, the build defaults."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pydt_tray import __version__
from pydt_tray.core.environment import resolve_endpoints

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"packaging_{name}", PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rules = load("bundle_rules")
assets = load("make_assets")


def test_the_sandbox_is_bundled_only_with_the_demo() -> None:
    names = ["pydt_tray.app", "pydt_tray.sandbox", "pydt_tray.sandbox.demo", "pydt_tray.sandboxed", "pydt_tray.ui.tray"]
    assert rules.app_modules(names, with_demo=True) == names
    assert rules.app_modules(names, with_demo=False) == ["pydt_tray.app", "pydt_tray.sandboxed", "pydt_tray.ui.tray"]


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        ("PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so", True),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", False),  # the app icon is read from PNGs
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", False),
        ("PySide6/Qt/plugins/tls/libqopensslbackend.so", False),
        ("PySide6/Qt/plugins/networkinformation/libqnetworkmanager.so", True),
        ("PySide6\\plugins\\platforms\\qwindows.dll", True),
        ("PySide6/plugins/imageformats/qgif.dll", False),
        ("PySide6/Qt/lib/libQt6Core.so.6", True),
        ("libgtk-3.so.0", True),  # not a plugin: left to the dependency pruning
    ],
)
def test_which_qt_plugins_stay(dest: str, kept: bool) -> None:
    assert rules.keep_plugin(dest) is kept


def test_translations_are_dropped_and_other_data_kept() -> None:
    assert not rules.keep_data("PySide6/Qt/translations/qtbase_de.qm")
    assert not rules.keep_data("PySide6/translations/qtbase_de.qm")
    assert rules.keep_data("keyring-25.7.0.dist-info/entry_points.txt")
    assert rules.keep_data("pydt_tray/resources/pydt-tray.svg")


def test_links_to_dropped_libraries_go_too() -> None:
    datas = [
        ("libQt6EglFSDeviceIntegration.so.6", "PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6", "SYMLINK"),
        ("libQt6Core.so.6", "PySide6/Qt/lib/libQt6Core.so.6", "SYMLINK"),
        ("libQt6EglFSDeviceIntegration.so.6.txt", "/src/notes.txt", "DATA"),
    ]
    kept = rules.drop_links_to(datas, ["PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6"])
    assert [entry[0] for entry in kept] == ["libQt6Core.so.6", "libQt6EglFSDeviceIntegration.so.6.txt"]


def test_ico_directory_points_at_each_png() -> None:
    pngs = {16: b"\x89PNG-16", 256: b"\x89PNG-256-bytes"}
    data = assets.ico_bytes(pngs)
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind, count) == (0, 1, 2)
    for index, (size, png) in enumerate(sorted(pngs.items())):
        width, height, _, _, planes, bits, length, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * index)
        assert (width, height) == ((0, 0) if size == 256 else (size, size))
        assert (planes, bits) == (1, 32)
        assert data[offset : offset + length] == png


def test_icns_holds_every_size_as_a_typed_element() -> None:
    pngs = {size: f"png-{size}".encode() for size, _ in assets.ICNS_TYPES}
    data = assets.icns_bytes(pngs)
    assert data[:4] == b"icns"
    assert struct.unpack_from(">I", data, 4)[0] == len(data)
    position, found = 8, {}
    while position < len(data):
        kind, length = data[position : position + 4], struct.unpack_from(">I", data, position + 4)[0]
        found[kind] = data[position + 8 : position + length]
        position += length
    assert found == {kind: pngs[size] for size, kind in assets.ICNS_TYPES}


def test_version_resource_carries_the_version() -> None:
    text = assets.version_info_text("1.2.3rc4")
    assert "filevers=(1, 2, 3, 4)" in text
    assert "StringStruct('ProductVersion', '1.2.3rc4')" in text
    assert assets.read_version() == __version__


def test_build_defaults_need_the_whole_key_pair() -> None:
    assert assets.build_defaults({}) is None
    pair = {"PYDT_BUILD_IOT_ACCESS_KEY_ID": "id-1", "PYDT_BUILD_IOT_SECRET_ACCESS_KEY": "s3cr3t-value"}
    assert assets.build_defaults(pair) == {"iot_access_key_id": "id-1", "iot_secret_access_key": "s3cr3t-value"}
    with pytest.raises(assets.AssetError) as half:
        assets.build_defaults({"PYDT_BUILD_IOT_SECRET_ACCESS_KEY": "s3cr3t-value"})
    assert "PYDT_BUILD_IOT_ACCESS_KEY_ID" in str(half.value) and "s3cr3t-value" not in str(half.value)
    with pytest.raises(assets.AssetError):
        assets.build_defaults({"PYDT_BUILD_IOT_ENDPOINT": "example.iot.amazonaws.com"})


def test_build_defaults_carry_the_release_feed_even_when_empty() -> None:
    feed = {"PYDT_BUILD_RELEASE_FEED_URL": "https://example.invalid/releases.json"}
    assert assets.build_defaults(feed) == {"release_feed_url": "https://example.invalid/releases.json"}
    assert assets.build_defaults({"PYDT_BUILD_RELEASE_FEED_URL": ""}) == {"release_feed_url": ""}
    pair = {"PYDT_BUILD_IOT_ACCESS_KEY_ID": "id-1", "PYDT_BUILD_IOT_SECRET_ACCESS_KEY": "s3cr3t-value"}
    assert assets.build_defaults({**pair, **feed})["release_feed_url"] == feed["PYDT_BUILD_RELEASE_FEED_URL"]


def run_make_assets(out: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYDT_BUILD_")}
    env.update(extra, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, str(PACKAGING / "make_assets.py"), str(out)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_make_assets_bundles_a_key_pair_the_app_reads_and_never_prints_it(tmp_path: Path) -> None:
    secret = "build-secret-never-printed-0123"
    result = run_make_assets(
        tmp_path,
        PYDT_BUILD_IOT_ACCESS_KEY_ID="AKIDBUILD",
        PYDT_BUILD_IOT_SECRET_ACCESS_KEY=secret,
        PYDT_BUILD_IOT_ENDPOINT="example-ats.iot.us-east-1.amazonaws.com",
    )
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr
    defaults = tmp_path / assets.BUILD_DEFAULTS_FILE
    assert stat.S_IMODE(defaults.stat().st_mode) == 0o600
    assert json.loads(defaults.read_text())["iot_secret_access_key"] == secret
    endpoints = resolve_endpoints(environ={}, defaults_file=defaults)
    assert endpoints.has_push_credentials and endpoints.iot_access_key_id == "AKIDBUILD"
    assert endpoints.iot_endpoint == "example-ats.iot.us-east-1.amazonaws.com"
    png = (tmp_path / "pydt-tray-256.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (256, 256)


def test_make_assets_without_keys_removes_a_stale_defaults_file(tmp_path: Path) -> None:
    (tmp_path / assets.BUILD_DEFAULTS_FILE).write_text("{}")
    result = run_make_assets(tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / assets.BUILD_DEFAULTS_FILE).exists()
    assert (tmp_path / "pydt-tray.ico").stat().st_size > 1000


def test_make_assets_refuses_half_a_key_pair(tmp_path: Path) -> None:
    result = run_make_assets(tmp_path, PYDT_BUILD_IOT_ACCESS_KEY_ID="AKIDBUILD")
    assert result.returncode == 1
    assert "PYDT_BUILD_IOT_SECRET_ACCESS_KEY" in result.stderr
    assert not (tmp_path / assets.BUILD_DEFAULTS_FILE).exists()
