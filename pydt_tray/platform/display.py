"""Can Qt open a window here? Checked before ``QApplication`` exists, because Qt aborts the process
(``qt.qpa.plugin: Could not load the Qt platform plugin``, exit 134) when there is no display or when a
system library its platform plugin needs is missing.

:func:`display_problem` returns ``None`` when a window can be opened, or a :class:`DisplayProblem` saying
what is missing: no ``DISPLAY``/``WAYLAND_DISPLAY``, no server behind them, or which shared libraries
(with the Debian/Ubuntu packages that provide them and the ``apt`` line). Only Linux and the BSDs are
checked; Windows and macOS always have their platform plugin. No Qt import here.
"""

from __future__ import annotations

import ctypes
import os
import re
import socket
import struct
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Platforms that need no display server (tests, headless rendering): never checked.
HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal", "minimalegl", "vnc", "linuxfb", "eglfs", "vkkhrdisplay"})

# Shared library -> the Debian / Ubuntu package that ships it.
DEBIAN_PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    "libz.so.1": "zlib1g",
    "libpng16.so.16": "libpng16-16",
}

# The Qt libraries whose system dependencies are checked, besides the platform plugin itself.
QT_LIBRARIES = ("libQt6Core.so.6", "libQt6Gui.so.6", "libQt6Widgets.so.6", "libQt6DBus.so.6")
PLATFORM_PLUGINS = {"xcb": "libqxcb.so", "wayland": "libqwayland.so"}
_LIBRARY_ERROR = re.compile(r"^(?:[^:]*/)?(lib[^/:\s]+\.so[.\d]*): cannot open shared object file")


@dataclass(frozen=True)
class DisplayProblem:
    """Why no window can be opened; ``message()`` is what the user reads."""

    reason: str
    missing_libraries: tuple[str, ...] = ()
    packages: tuple[str, ...] = field(default=())

    def apt_line(self) -> str:
        return "sudo apt-get install " + " ".join(self.packages) if self.packages else ""

    def message(self) -> str:
        lines = [f"cannot open a window: {self.reason}"]
        if self.missing_libraries:
            unknown = [lib for lib in self.missing_libraries if lib not in DEBIAN_PACKAGES]
            lines.append("missing system libraries: " + ", ".join(self.missing_libraries))
            if self.packages:
                lines.append(f"on Debian or Ubuntu install them with: {self.apt_line()}")
            if unknown:
                lines.append("other systems: install the packages that provide " + ", ".join(unknown))
        return "\n".join(lines)


# --- ELF: which libraries a shared object asks for ------------------------------------------------------


def needed_libraries(path: Path | str) -> list[str]:
    """The ``DT_NEEDED`` entries of an ELF file (empty for anything that is not a readable ELF file)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return []
    if data[:4] != b"\x7fELF" or len(data) < 64:
        return []
    is_64 = data[4] == 2
    endian = "<" if data[5] == 1 else ">"
    try:
        if is_64:
            (shoff,) = struct.unpack_from(endian + "Q", data, 0x28)
            shentsize, shnum = struct.unpack_from(endian + "HH", data, 0x3A)
            section = endian + "IIQQQQIIQQ"
            dyn_entry, dyn_size = endian + "qQ", 16
        else:
            (shoff,) = struct.unpack_from(endian + "I", data, 0x20)
            shentsize, shnum = struct.unpack_from(endian + "HH", data, 0x2E)
            section = endian + "IIIIIIIIII"
            dyn_entry, dyn_size = endian + "iI", 8
        sections = [struct.unpack_from(section, data, shoff + i * shentsize) for i in range(shnum)]
        names: list[str] = []
        for _name, sh_type, _flags, _addr, offset, size, link, *_rest in sections:
            if sh_type != 6:  # SHT_DYNAMIC
                continue
            strtab_offset = sections[link][4]
            for at in range(offset, offset + size, dyn_size):
                tag, value = struct.unpack_from(dyn_entry, data, at)
                if tag == 0:  # DT_NULL
                    break
                if tag == 1:  # DT_NEEDED
                    end = data.index(b"\0", strtab_offset + value)
                    names.append(data[strtab_offset + value : end].decode("utf-8", "replace"))
        return names
    except (struct.error, IndexError, ValueError):
        return []


# --- where Qt is -------------------------------------------------------------------------------------------


def qt_folders() -> tuple[Path, Path] | None:
    """(Qt library folder, platform plugin folder) of the PySide6 in use, or None if PySide6 is not found."""
    from importlib.util import find_spec

    spec = find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    for lib, plugins in ((root / "Qt" / "lib", root / "Qt" / "plugins"), (root / "Qt" / "lib", root / "plugins")):
        if (plugins / "platforms").is_dir():
            return lib, plugins / "platforms"
    return None


def _default_loader(name: str) -> str | None:
    """Load ``name`` the way the dynamic linker would; the loader's error text, or None when it loads."""
    try:
        ctypes.CDLL(name)
    except OSError as error:
        return str(error)
    return None


def missing_libraries(
    objects: Iterable[Path],
    bundled: Iterable[Path] = (),
    load: Callable[[str], str | None] = _default_loader,
) -> list[str]:
    """The shared libraries ``objects`` need (directly, or through one another) that cannot be loaded.

    Libraries found in a ``bundled`` folder (Qt's own, or a frozen build's) count as present; the others
    are loaded by name, so anything the system linker cannot find is reported, including a library that
    one of them needs in turn.
    """
    folders = [Path(folder) for folder in bundled]
    queue = [Path(path) for path in objects]
    seen: set[str] = set()
    missing: list[str] = []
    while queue:
        current = queue.pop(0)
        for name in needed_libraries(current):
            if name in seen:
                continue
            seen.add(name)
            local = next((folder / name for folder in folders if (folder / name).exists()), None)
            if local is not None:
                queue.append(local)
                continue
            error = load(name)
            if error is None:
                continue
            match = _LIBRARY_ERROR.match(error)
            culprit = match.group(1) if match else name
            for lib in (culprit, name) if culprit != name else (name,):
                if lib not in missing:
                    missing.append(lib)
    return missing


# --- the display servers -----------------------------------------------------------------------------------


def x_server_answers(display: str, connect: Callable[[str, bool], bool] | None = None) -> bool | None:
    """True/False when ``display`` is a local X display (``:0``, ``unix:0``) and its socket answers or not;
    None for a remote or unusual display, which only Qt can try."""
    match = re.fullmatch(r"(?:unix)?:(\d+)(?:\.\d+)?", display.strip())
    if not match:
        return None
    path = f"/tmp/.X11-unix/X{match.group(1)}"
    connect = connect or _unix_socket_answers
    return connect(path, False) or (sys.platform.startswith("linux") and connect(path, True))


def _unix_socket_answers(path: str, abstract: bool) -> bool:
    address = "\0" + path if abstract else path
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(address)
        except OSError:
            return False
    return True


def wayland_socket(environ: Mapping[str, str]) -> Path | None:
    name = environ.get("WAYLAND_DISPLAY", "").strip()
    if not name:
        return None
    if os.path.isabs(name):
        return Path(name)
    runtime = environ.get("XDG_RUNTIME_DIR", "").strip()
    return Path(runtime) / name if runtime else None


def requested_platforms(environ: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt will try, in order (``QT_QPA_PLATFORM``, else Qt's own choice)."""
    value = environ.get("QT_QPA_PLATFORM", "").strip()
    if value:
        return [item.split(":", 1)[0].strip() for item in value.split(";") if item.strip()]
    if environ.get("WAYLAND_DISPLAY", "").strip() and environ.get("XDG_SESSION_TYPE", "") == "wayland":
        return ["wayland", "xcb"]
    return ["xcb"]


def display_problem(
    environ: Mapping[str, str] = os.environ,
    platform: str = sys.platform,
    *,
    folders: tuple[Path, Path] | bool | None = True,
    load: Callable[[str], str | None] = _default_loader,
    x_answers: Callable[[str], bool | None] = x_server_answers,
) -> DisplayProblem | None:
    """None when Qt can open its platform plugin here; else what is missing. ``folders`` (Qt's library and
    platform plugin folders) defaults to the installed PySide6's."""
    if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd", "dragonfly")):
        return None
    platforms = requested_platforms(environ)
    if any(name in HEADLESS_PLATFORMS for name in platforms):
        return None
    if folders is True:
        folders = qt_folders()
    problems: list[DisplayProblem] = []
    for name in platforms:
        problem = _platform_problem(name, environ, folders if isinstance(folders, tuple) else None, load, x_answers)
        if problem is None:
            return None
        problems.append(problem)
    return _merge(problems)


def _platform_problem(
    name: str,
    environ: Mapping[str, str],
    folders: tuple[Path, Path] | None,
    load: Callable[[str], str | None],
    x_answers: Callable[[str], bool | None],
) -> DisplayProblem | None:
    if name == "xcb":
        display = environ.get("DISPLAY", "").strip()
        if not display:
            return DisplayProblem(
                "no display (neither DISPLAY nor WAYLAND_DISPLAY is set): start pydt-tray from a desktop session"
                " (over ssh: `ssh -X`; for a headless run: QT_QPA_PLATFORM=offscreen)"
            )
        if x_answers(display) is False:
            return DisplayProblem(f"no X server answers on DISPLAY={display}")
    elif name.startswith("wayland"):
        socket_path = wayland_socket(environ)
        if socket_path is None:
            return DisplayProblem("no Wayland display (WAYLAND_DISPLAY or XDG_RUNTIME_DIR is not set)")
        if not socket_path.exists():
            return DisplayProblem(f"no Wayland compositor at {socket_path}")
        name = "wayland"
    else:
        return None  # a platform we do not know: let Qt try it
    if folders is None:
        return None
    lib_dir, plugin_dir = folders
    plugin = plugin_dir / PLATFORM_PLUGINS[name]
    if not plugin.exists():
        return None  # a build without that plugin: Qt reports it
    bundled = [lib_dir, *_frozen_folders()]
    missing = missing_libraries([plugin, *(lib_dir / lib for lib in QT_LIBRARIES)], bundled, load)
    if not missing:
        return None
    packages = tuple(sorted({DEBIAN_PACKAGES[lib] for lib in missing if lib in DEBIAN_PACKAGES}))
    return DisplayProblem(f"Qt's {name} platform plugin cannot load", tuple(missing), packages)


def _frozen_folders() -> list[Path]:
    base = getattr(sys, "_MEIPASS", None)
    return [Path(base)] if base else []


def _merge(problems: list[DisplayProblem]) -> DisplayProblem | None:
    if not problems:
        return None
    if len(problems) == 1:
        return problems[0]
    libraries = tuple(dict.fromkeys(lib for p in problems for lib in p.missing_libraries))
    packages = tuple(dict.fromkeys(pkg for p in problems for pkg in p.packages))
    return DisplayProblem("; ".join(p.reason for p in problems), libraries, packages)
