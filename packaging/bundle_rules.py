"""What goes into the frozen bundle and what stays out; used by ``pyinstaller.spec``.

The rules were measured on Debian 12 with PySide6-Essentials 6.11 (see docs/packaging.md for the numbers):

- Python modules that only tests, notebooks or other tools import (pytest via ``jeepney.io.tests``, IPython via
  ``trio``, numpy, tkinter...) are excluded.
- The demo's package (``pydt_tray.sandbox``: the simulated service and its push broker) is only bundled
  when the demo is built in.
- Qt plugins the app never loads are dropped: no GTK platform theme (it pulls in libgtk-3 and friends), no
  TLS backends (the app does its TLS in awscrt and requests), no EGLFS/VNC/evdev, no image format plugins (the
  app icon is read from PNGs, a format built into QtGui), no translations.
- On Linux, shared libraries that nothing kept still needs (what the dropped plugins dragged in) are pruned
  by following the ``ldd`` dependencies of everything that stays.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

# Modules never needed at run time (each was found in the import graph of a plain build).
EXCLUDED_MODULES: tuple[str, ...] = (
    "tkinter", "_tkinter", "turtle", "idlelib", "pydoc_data", "lib2to3", "ensurepip", "venv",
    "numpy", "IPython", "jedi", "parso", "prompt_toolkit", "matplotlib", "matplotlib_inline", "PIL",
    "pytest", "_pytest", "hypothesis", "pytestqt", "trio", "outcome", "sniffio",
    "pydantic", "pydantic_core", "typer", "rich", "pygments", "click",
    "setuptools", "pkg_resources", "distutils", "pip", "wheel",
    "jeepney.io.tests", "jeepney.io.trio", "jeepney.tests", "keyrings.alt", "secretstorage.tests",
    "amqtt.contrib", "amqtt.scripts", "werkzeug", "markupsafe",
    # Qt modules the app does not use (it uses QtCore, QtGui, QtWidgets, and QtNetwork off Linux)
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtQuickControls2", "PySide6.QtQuickTest",
    "PySide6.Qt3DCore", "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.QtMultimedia",
    "PySide6.QtPdf", "PySide6.QtPdfWidgets", "PySide6.QtSql", "PySide6.QtTest", "PySide6.QtSvgWidgets",
    "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", "PySide6.QtPrintSupport", "PySide6.QtUiTools",
    "PySide6.QtDesigner", "PySide6.QtHelp", "PySide6.QtXml", "PySide6.QtConcurrent", "PySide6.QtWaylandCompositor",
)  # fmt: skip

# The app's own packages that only `pydt-tray demo` imports.
DEMO_PACKAGES: tuple[str, ...] = ("pydt_tray.sandbox",)


def app_modules(names: Iterable[str], *, with_demo: bool) -> list[str]:
    """The app's modules to bundle: without the demo, its packages stay out."""

    def demo_only(name: str) -> bool:
        return any(name == package or name.startswith(package + ".") for package in DEMO_PACKAGES)

    return [name for name in names if with_demo or not demo_only(name)]


# Qt plugin folders kept whole; the others are dropped unless listed in KEPT_PLUGINS.
KEPT_PLUGIN_FOLDERS = frozenset(
    {"platforminputcontexts", "networkinformation", "xcbglintegrations", "iconengines"}
    | {"wayland-shell-integration", "wayland-decoration-client", "wayland-graphics-integration-client"}
)
KEPT_PLUGINS = frozenset(
    {
        "platforms/libqxcb.so", "platforms/libqwayland.so", "platforms/libqoffscreen.so",
        "platforms/libqminimal.so", "platforms/qwindows.dll", "platforms/qoffscreen.dll",
        "platforms/qminimal.dll", "platforms/libqcocoa.dylib", "platforms/libqoffscreen.dylib",
        "platforms/libqminimal.dylib",
        "platformthemes/libqxdgdesktopportal.so",
        "styles/qmodernwindowsstyle.dll", "styles/qwindowsvistastyle.dll", "styles/libqmacstyle.dylib",
    }
)  # fmt: skip
# Linux and macOS wheels keep Qt under PySide6/Qt/, Windows wheels directly under PySide6/
QT_PLUGIN_ROOTS = (PurePosixPath("PySide6/Qt/plugins"), PurePosixPath("PySide6/plugins"))
DROPPED_DATA_PREFIXES = ("PySide6/Qt/translations/", "PySide6/translations/")


def _posix(dest: str) -> str:
    return dest.replace("\\", "/")


def keep_plugin(dest: str) -> bool:
    """Whether a file below ``PySide6/Qt/plugins`` (or anything else: always) stays in the bundle."""
    path = PurePosixPath(_posix(dest))
    root = next((root for root in QT_PLUGIN_ROOTS if path.is_relative_to(root)), None)
    if root is None:
        return True
    relative = path.relative_to(root)
    if len(relative.parts) < 2:
        return True
    return relative.parts[0] in KEPT_PLUGIN_FOLDERS or relative.as_posix() in KEPT_PLUGINS


def keep_data(dest: str) -> bool:
    """Whether a data file stays: no Qt translations (the UI is English only) and no dropped plugins' files."""
    posix = _posix(dest)
    return keep_plugin(posix) and not posix.startswith(DROPPED_DATA_PREFIXES)


def _is_root(dest: str, typecode: str) -> bool:
    """Binaries something loads directly: Python extensions, Qt plugins, libpython."""
    name = PurePosixPath(_posix(dest)).name
    return (
        typecode == "EXTENSION"
        or any(PurePosixPath(_posix(dest)).is_relative_to(root) for root in QT_PLUGIN_ROOTS)
        or name.startswith("libpython")
        or ".cpython-" in name
        or name.endswith(".abi3.so")
    )


def prune_binaries(binaries: Iterable[tuple[str, str, str]]) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Drop unwanted plugins, then (Linux) every library no kept binary still links against.

    Returns the kept TOC entries and the destination names that were dropped.
    """
    entries = list(binaries)
    kept = [entry for entry in entries if keep_plugin(entry[0])]
    if sys.platform.startswith("linux") and shutil.which("ldd"):
        kept = _linked_closure(kept)
    kept_names = {entry[0] for entry in kept}
    return kept, sorted(entry[0] for entry in entries if entry[0] not in kept_names)


def drop_links_to(datas: Iterable[tuple[str, str, str]], dropped: Iterable[str]) -> list[tuple[str, str, str]]:
    """Data entries without the symbolic links that would point at a dropped binary."""
    gone = {PurePosixPath(_posix(name)).name for name in dropped}
    return [entry for entry in datas if not (entry[2] == "SYMLINK" and PurePosixPath(_posix(entry[0])).name in gone)]


def _linked_closure(entries: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    from PyInstaller.depend.bindepend import get_imports

    needed: set[str] = set()
    for dest, src, typecode in entries:
        if _is_root(dest, typecode):
            needed.update(name for name, _path in get_imports(src))
    return [
        entry
        for entry in entries
        if _is_root(entry[0], entry[2]) or PurePosixPath(_posix(entry[0])).name in needed or not _is_library(entry[0])
    ]


def _is_library(dest: str) -> bool:
    name = PurePosixPath(_posix(dest)).name
    return ".so" in name


def stage_sources(root: Path, target: Path) -> Path:
    """Copy the package as a wheel would lay it out (``resources/`` becomes ``pydt_tray/resources``).

    PyInstaller cannot follow the ``package-dir`` mapping of an editable install; analysing this copy gives
    the same modules and ``importlib.resources`` data as the installed package. A local, never-committed
    ``_build_defaults.json`` is not copied: build defaults come only from ``PYDT_BUILD_*`` at build time.
    """
    if target.exists():
        shutil.rmtree(target)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_build_defaults.json", "screenshots")
    shutil.copytree(root / "pydt_tray", target / "pydt_tray", ignore=ignore)
    shutil.copytree(root / "resources", target / "pydt_tray" / "resources", ignore=ignore)
    return target
