"""Finding out before Qt starts whether it can open a window, and what is missing when it cannot."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from pydt_tray.platform import display
from pydt_tray.platform.display import (
    DisplayProblem,
    display_problem,
    missing_libraries,
    needed_libraries,
    qt_folders,
    requested_platforms,
    x_server_answers,
)
from tests.helpers.tools import require_tool

QT = qt_folders()


def loads_everything(_name: str) -> str | None:
    return None


def answers(_display: str) -> bool:
    return True


def test_the_elf_reader_lists_what_the_real_xcb_plugin_needs() -> None:
    assert QT is not None, "PySide6's platform plugins were not found"
    needed = needed_libraries(QT[1] / "libqxcb.so")
    assert "libxcb-cursor.so.0" in needed  # the library Qt >= 6.5 added and stock systems often lack
    assert "libQt6XcbQpa.so.6" in needed
    assert needed_libraries(QT[0] / "libQt6Core.so.6")  # a Qt library: found through the Qt folder


def test_the_elf_reader_agrees_with_objdump() -> None:
    objdump = require_tool("objdump", "binutils")  # fails under CI instead of skipping
    import subprocess

    target = QT[1] / "libqxcb.so"
    out = subprocess.run([objdump, "-p", str(target)], capture_output=True, text=True, check=True).stdout
    expected = [line.split()[1] for line in out.splitlines() if line.strip().startswith("NEEDED")]
    assert needed_libraries(target) == expected


def test_the_elf_reader_ignores_files_that_are_not_elf(tmp_path: Path) -> None:
    (tmp_path / "text.so").write_text("not a library")
    (tmp_path / "short.so").write_bytes(b"\x7fELF\x02\x01")
    assert needed_libraries(tmp_path / "text.so") == []
    assert needed_libraries(tmp_path / "short.so") == []
    assert needed_libraries(tmp_path / "absent.so") == []


def test_the_real_libraries_of_this_machine_all_load() -> None:
    assert missing_libraries([QT[1] / "libqxcb.so"], [QT[0]]) == []


def test_a_library_the_real_linker_cannot_find_is_reported(tmp_path: Path) -> None:
    # A real dlopen of a name nobody has, reached through the real plugin's list of needs.
    fake_needs = {"libqxcb.so": ["libpydt-absent.so.7", "libc.so.6"]}
    original = display.needed_libraries
    try:
        display.needed_libraries = lambda path: fake_needs.get(Path(path).name, [])  # type: ignore[assignment]
        assert missing_libraries([QT[1] / "libqxcb.so"]) == ["libpydt-absent.so.7"]
    finally:
        display.needed_libraries = original  # type: ignore[assignment]


def test_a_missing_library_needed_by_another_is_named_with_its_package() -> None:
    def loader(name: str) -> str | None:
        if name == "libxcb-cursor.so.0":
            return "libxcb-util.so.1: cannot open shared object file: No such file or directory"
        if name == "libxkbcommon-x11.so.0":
            return "libxkbcommon-x11.so.0: cannot open shared object file: No such file or directory"
        return None

    problem = display_problem({"DISPLAY": ":0"}, "linux", folders=QT, load=loader, x_answers=answers)
    assert problem is not None
    assert set(problem.missing_libraries) == {"libxcb-util.so.1", "libxcb-cursor.so.0", "libxkbcommon-x11.so.0"}
    assert set(problem.packages) == {"libxcb-util1", "libxcb-cursor0", "libxkbcommon-x11-0"}
    message = problem.message()
    assert "xcb platform plugin" in message
    assert "sudo apt-get install libxcb-cursor0 libxcb-util1 libxkbcommon-x11-0" in message


def test_an_unknown_library_is_named_without_a_package() -> None:
    problem = DisplayProblem("Qt's xcb platform plugin cannot load", ("libodd.so.3",), ())
    assert "libodd.so.3" in problem.message()
    assert "apt-get" not in problem.message()


def test_no_display_variable_at_all() -> None:
    problem = display_problem({}, "linux", folders=QT, load=loads_everything, x_answers=answers)
    assert problem is not None
    assert "neither DISPLAY nor WAYLAND_DISPLAY" in problem.message()


def test_headless_platforms_and_other_systems_are_never_refused() -> None:
    for environ in ({"QT_QPA_PLATFORM": "offscreen"}, {"QT_QPA_PLATFORM": "minimal"}):
        assert display_problem(environ, "linux", folders=QT, load=loads_everything, x_answers=answers) is None
    for platform in ("win32", "darwin"):
        assert display_problem({}, platform, folders=QT, load=loads_everything, x_answers=answers) is None


def test_a_working_x_display_passes() -> None:
    assert display_problem({"DISPLAY": ":0"}, "linux", folders=QT, load=loads_everything, x_answers=answers) is None


def test_wayland_falls_back_to_xcb_like_qt(tmp_path: Path) -> None:
    (tmp_path / "wayland-0").touch()
    wayland = {"WAYLAND_DISPLAY": "wayland-0", "XDG_RUNTIME_DIR": str(tmp_path), "XDG_SESSION_TYPE": "wayland"}
    assert requested_platforms(wayland) == ["wayland", "xcb"]
    assert display_problem(wayland, "linux", folders=QT, load=loads_everything, x_answers=answers) is None
    gone = {**wayland, "WAYLAND_DISPLAY": "wayland-9"}
    problem = display_problem(gone, "linux", folders=QT, load=loads_everything, x_answers=answers)
    assert problem is not None and "no Wayland compositor" in problem.reason and "DISPLAY" in problem.reason
    assert (
        display_problem({**gone, "DISPLAY": ":0"}, "linux", folders=QT, load=loads_everything, x_answers=answers)
        is None
    )


def test_qt_qpa_platform_is_read_like_qt() -> None:
    assert requested_platforms({"QT_QPA_PLATFORM": "wayland;xcb"}) == ["wayland", "xcb"]
    assert requested_platforms({"QT_QPA_PLATFORM": "xcb:nograb"}) == ["xcb"]
    assert requested_platforms({"DISPLAY": ":1"}) == ["xcb"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="unix sockets of the X server")
def test_an_x_display_without_a_server_is_told_apart_from_one_with(tmp_path: Path) -> None:
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = str(tmp_path / "X5")
    listening.bind(path)
    listening.listen(1)
    try:
        seen: list[tuple[str, bool]] = []

        def connect(socket_path: str, abstract: bool) -> bool:
            seen.append((socket_path, abstract))
            return display._unix_socket_answers(path if socket_path.endswith("/X5") else socket_path, abstract)

        assert x_server_answers(":5", connect) is True
        assert x_server_answers(":5.0", connect) is True
        assert seen[0] == ("/tmp/.X11-unix/X5", False)
        assert x_server_answers(":4317", connect) is False
        assert x_server_answers("otherhost:0", connect) is None  # remote: only Qt can tell
    finally:
        listening.close()
    problem = display_problem({"DISPLAY": ":4317"}, "linux", folders=QT, load=loads_everything)
    assert problem is not None and "no X server answers on DISPLAY=:4317" in problem.reason
