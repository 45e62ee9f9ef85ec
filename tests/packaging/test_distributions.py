"""``python -m build`` makes an sdist and a wheel that ``twine check`` accepts and that carry the desktop files.

(Installing the wheel in a clean virtual environment and running it is ``scripts/check_dist.sh``, run by CI.)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from pydt_tray import __version__
from tests.helpers.tools import require_module

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")
DESKTOP_FILES = (
    "pydt_tray/resources/pydt-tray.svg",
    "pydt_tray/resources/pydt-tray.desktop",
    "pydt_tray/resources/io.github.pydt_tray.pydt_tray.metainfo.xml",
    "pydt_tray/resources/icons/hicolor/16x16/apps/pydt-tray.png",
    "pydt_tray/resources/icons/hicolor/512x512/apps/pydt-tray.png",
)


@pytest.fixture(scope="module")
def distributions(tmp_path_factory) -> list[Path]:
    require_module("build.env", "pip install build (the `test` extra)")
    source = tmp_path_factory.mktemp("source") / "pydt-tray"
    shutil.copytree(ROOT, source, ignore=SKIP)  # the checkout stays untouched (no egg-info, no build/)
    out = source.parent / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],  # the wheel is built from the sdist
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return sorted(out.iterdir())


def test_build_makes_one_sdist_and_one_wheel_that_twine_accepts(distributions: list[Path]) -> None:
    require_module("twine", "pip install twine (the `test` extra)")
    names = [path.name for path in distributions]
    assert names == [f"pydt_tray-{__version__}-py3-none-any.whl", f"pydt_tray-{__version__}.tar.gz"], names
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, distributions)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2


def test_the_wheel_carries_icons_menu_entry_metainfo_and_both_launchers(distributions: list[Path]) -> None:
    wheel = next(path for path in distributions if path.suffix == ".whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(f"pydt_tray-{__version__}.dist-info/entry_points.txt").decode()
    missing = [name for name in DESKTOP_FILES if name not in names]
    assert missing == []
    assert not any(name.startswith("tests/") for name in names)
    assert "[console_scripts]\npydt-tray = pydt_tray.cli:main" in entry_points
    assert "[gui_scripts]\npydt-tray-gui = pydt_tray.cli:main" in entry_points


def test_the_sdist_carries_the_desktop_files_too(distributions: list[Path]) -> None:
    sdist = next(path for path in distributions if path.name.endswith(".tar.gz"))
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for name in DESKTOP_FILES:
        assert name.replace("pydt_tray/resources/", "resources/") in names, name
