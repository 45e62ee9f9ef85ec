"""Start at login: XDG autostart file, Windows Run value (fake registry) and macOS LaunchAgent, on Linux."""

from __future__ import annotations

import plistlib
import stat

import pytest

from pydt_tray.platform.autostart import (
    Autostart,
    AutostartError,
    MacLaunchAgent,
    NullAutostart,
    WindowsRunKey,
    XdgAutostart,
    apply_autostart,
    desktop_exec_line,
    launch_command,
    pick_autostart,
    windows_command_line,
)

COMMAND = ["/opt/pydt tray/bin/pydt-tray", "--hidden"]


def never_found(_name):
    return None


# --- launch_command ---------------------------------------------------------------------------------------


def test_frozen_build_launches_its_own_executable(tmp_path):
    exe = tmp_path / "pydt-tray"
    assert launch_command(frozen=True, executable=str(exe), argv0="whatever", which=never_found) == [
        str(exe),
        "--hidden",
    ]


def test_the_running_console_script_is_preferred(tmp_path):
    script = tmp_path / "bin" / "pydt-tray"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    result = launch_command(frozen=False, executable="/usr/bin/python3", argv0=str(script), which=never_found)
    assert result == [str(script), "--hidden"]


def test_the_console_script_next_to_the_interpreter(tmp_path):
    (tmp_path / "python").write_text("")
    (tmp_path / "pydt-tray").write_text("")
    result = launch_command(frozen=False, executable=str(tmp_path / "python"), argv0="-c", which=never_found)
    assert result == [str(tmp_path / "pydt-tray"), "--hidden"]


def test_the_windows_scripts_folder_next_to_the_interpreter(tmp_path):
    (tmp_path / "Scripts").mkdir()
    (tmp_path / "Scripts" / "pydt-tray.exe").write_text("")
    result = launch_command(frozen=False, executable=str(tmp_path / "python.exe"), argv0="", which=never_found)
    assert result == [str(tmp_path / "Scripts" / "pydt-tray.exe"), "--hidden"]


def test_the_script_on_path(tmp_path):
    found = str(tmp_path / "elsewhere" / "pydt-tray")
    result = launch_command(frozen=False, executable=str(tmp_path / "python"), argv0="", which=lambda _n: found)
    assert result == [found, "--hidden"]


def test_fallback_runs_the_module(tmp_path):
    python = str(tmp_path / "python")
    assert launch_command(frozen=False, executable=python, argv0="", which=never_found) == [
        python,
        "-m",
        "pydt_tray",
        "--hidden",
    ]


# --- XDG --------------------------------------------------------------------------------------------------


def parse_exec(value: str) -> list[str]:
    """An independent reading of an Exec value per the desktop entry spec (string escapes, then quoting)."""
    unescaped, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            unescaped.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[value[i + 1]])
            i += 2
        else:
            unescaped.append(value[i])
            i += 1
    text = "".join(unescaped)
    args, current, quoted, i, started = [], [], False, 0, False
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                assert text[i + 1] in '"`$\\', f"bad escape in {text!r}"
                current.append(text[i + 1])
                i += 1
            elif ch == '"':
                quoted = False
            else:
                current.append(ch)
        elif ch == '"':
            quoted, started = True, True
        elif ch == " ":
            if current or started:
                args.append("".join(current))
            current, started = [], False
        else:
            assert ch not in "\"'\\><~|&;$*?#()`\t\n", f"unquoted reserved {ch!r} in {text!r}"
            current.append(ch)
        i += 1
    assert not quoted
    if current or started:
        args.append("".join(current))
    return [arg.replace("%%", "%") for arg in args]


@pytest.mark.parametrize(
    "command",
    [
        ["/usr/bin/pydt-tray", "--hidden"],
        ["/opt/pydt tray/bin/pydt-tray", "--hidden"],
        ['/home/o"neil/$HOME/`x`/back\\slash/100%/pydt-tray', "--hidden"],
        ["/tmp/tab\there/pydt-tray", "--hidden"],
        ["/usr/bin/python3", "-m", "pydt_tray", "--hidden"],
    ],
)
def test_exec_line_round_trips_through_the_spec(command):
    assert parse_exec(desktop_exec_line(command)) == command


def test_exec_line_known_answers():
    assert desktop_exec_line(["/opt/My Apps/pydt-tray", "--hidden"]) == '"/opt/My Apps/pydt-tray" --hidden'
    assert desktop_exec_line(["/a\\b"]) == '"/a\\\\\\\\b"'  # four backslashes, as the spec requires
    assert desktop_exec_line(["/opt/100%/x"]) == "/opt/100%%/x"


def test_xdg_enable_writes_the_entry_and_disable_removes_only_it(tmp_path):
    autostart_dir = tmp_path / "autostart"
    autostart_dir.mkdir()
    other = autostart_dir / "other-app.desktop"
    other.write_text("[Desktop Entry]\nType=Application\nExec=other\n")
    entry = XdgAutostart(config_dir=tmp_path, command=COMMAND)
    assert not entry.is_enabled()

    entry.enable()

    assert entry.path == autostart_dir / "pydt-tray.desktop"
    assert entry.is_enabled()
    lines = entry.path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    for expected in (
        "Type=Application",
        'Exec="/opt/pydt tray/bin/pydt-tray" --hidden',
        "Icon=pydt-tray",
        "X-GNOME-Autostart-enabled=true",
        "Hidden=false",
    ):
        assert expected in lines
    assert any(line.startswith("Comment=") and len(line) > len("Comment=") for line in lines)
    assert stat.S_IMODE(entry.path.stat().st_mode) == 0o644
    assert sorted(p.name for p in autostart_dir.iterdir()) == ["other-app.desktop", "pydt-tray.desktop"]

    entry.disable()

    assert not entry.is_enabled()
    assert sorted(p.name for p in autostart_dir.iterdir()) == ["other-app.desktop"]
    assert other.read_text() == "[Desktop Entry]\nType=Application\nExec=other\n"
    entry.disable()  # already off: nothing to do


def test_xdg_creates_the_autostart_folder_and_follows_xdg_config_home(tmp_path):
    config = tmp_path / "cfg"
    entry = XdgAutostart(command=COMMAND, environ={"XDG_CONFIG_HOME": str(config)})
    entry.enable()
    assert (config / "autostart" / "pydt-tray.desktop").is_file()
    assert "pydt-tray.desktop" in entry.describe()


def test_xdg_defaults_to_home_dot_config(tmp_path):
    entry = XdgAutostart(home=tmp_path, command=COMMAND, environ={"XDG_CONFIG_HOME": "relative/ignored"})
    assert entry.path == tmp_path / ".config" / "autostart" / "pydt-tray.desktop"


def test_xdg_entry_switched_off_by_the_desktop_counts_as_disabled(tmp_path):
    entry = XdgAutostart(config_dir=tmp_path, command=COMMAND)
    entry.enable()
    entry.path.write_text(
        entry.path.read_text().replace("X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false")
    )
    assert not entry.is_enabled()
    entry.enable()
    assert entry.is_enabled()


def test_xdg_errors_carry_a_user_message(tmp_path):
    (tmp_path / "autostart").write_text("a file where the folder should be")
    entry = XdgAutostart(config_dir=tmp_path, command=COMMAND)
    with pytest.raises(AutostartError) as info:
        entry.enable()
    assert "Could not write" in info.value.user_message
    assert str(entry.path) in info.value.user_message

    blocked = XdgAutostart(config_dir=tmp_path / "x", command=COMMAND)
    blocked.path.mkdir(parents=True)
    (blocked.path / "inside").write_text("")
    with pytest.raises(AutostartError, match="Could not read"):
        blocked.is_enabled()
    with pytest.raises(AutostartError, match="Could not remove"):
        blocked.disable()


# --- Windows (fake registry) ------------------------------------------------------------------------------


class FakeRunKey:
    def __init__(self, values=None, fail=False):
        self.values = dict(values or {})
        self.fail = fail

    def _check(self):
        if self.fail:
            raise PermissionError(5, "Access is denied")

    def get(self, name):
        self._check()
        return self.values.get(name)

    def set(self, name, value):
        self._check()
        self.values[name] = value

    def delete(self, name):
        self._check()
        self.values.pop(name, None)


def test_windows_run_value_added_and_removed_alone():
    registry = FakeRunKey({"OneDrive": '"C:\\OneDrive.exe" /background'})
    run = WindowsRunKey(registry=registry, command=["C:\\Program Files\\pydt-tray\\pydt-tray.exe", "--hidden"])
    assert not run.is_enabled()

    run.enable()

    assert run.is_enabled()
    assert registry.values["pydt-tray"] == '"C:\\Program Files\\pydt-tray\\pydt-tray.exe" --hidden'
    assert registry.values["OneDrive"] == '"C:\\OneDrive.exe" /background'

    run.disable()

    assert registry.values == {"OneDrive": '"C:\\OneDrive.exe" /background'}
    assert not run.is_enabled()
    assert "CurrentVersion\\Run" in run.describe()


def test_windows_command_line_quoting():
    assert windows_command_line(["C:\\p\\pydt-tray.exe"]) == '"C:\\p\\pydt-tray.exe"'
    assert windows_command_line(["C:\\py\\python.exe", "-m", "pydt_tray", "--hidden"]) == (
        '"C:\\py\\python.exe" -m pydt_tray --hidden'
    )
    assert windows_command_line(["C:\\p.exe", "a b"]) == '"C:\\p.exe" "a b"'


def test_windows_registry_errors_carry_a_user_message():
    run = WindowsRunKey(registry=FakeRunKey(fail=True), command=COMMAND)
    for action in (run.is_enabled, run.enable, run.disable):
        with pytest.raises(AutostartError) as info:
            action()
        assert "Access is denied" in info.value.user_message


def test_real_registry_is_a_clear_error_off_windows():
    run = WindowsRunKey(command=COMMAND)
    with pytest.raises(AutostartError, match="registry is not available"):
        run.enable()


# --- macOS ------------------------------------------------------------------------------------------------


def test_mac_launch_agent_written_and_removed_alone(tmp_path):
    agents = tmp_path / "Library" / "LaunchAgents"
    agents.mkdir(parents=True)
    (agents / "com.example.other.plist").write_bytes(plistlib.dumps({"Label": "com.example.other"}))
    agent = MacLaunchAgent(home=tmp_path, command=COMMAND)
    assert not agent.is_enabled()

    agent.enable()

    assert agent.is_enabled()
    data = plistlib.loads(agent.path.read_bytes())
    assert agent.path == agents / f"{data['Label']}.plist"
    assert data["ProgramArguments"] == COMMAND
    assert data["RunAtLoad"] is True

    agent.disable()

    assert sorted(p.name for p in agents.iterdir()) == ["com.example.other.plist"]
    assert not agent.is_enabled()


def test_mac_damaged_plist_is_a_clear_error_and_can_be_rewritten(tmp_path):
    agent = MacLaunchAgent(home=tmp_path, command=COMMAND)
    agent.path.parent.mkdir(parents=True)
    agent.path.write_bytes(b"<plist><dict><key>broken")
    with pytest.raises(AutostartError, match="damaged"):
        agent.is_enabled()
    agent.enable()
    assert agent.is_enabled()


# --- picking and the fallback -----------------------------------------------------------------------------


def test_pick_by_platform(tmp_path):
    assert isinstance(pick_autostart("linux", config_dir=tmp_path), XdgAutostart)
    assert isinstance(pick_autostart("freebsd13", config_dir=tmp_path), XdgAutostart)
    assert isinstance(pick_autostart("win32", registry=FakeRunKey()), WindowsRunKey)
    assert isinstance(pick_autostart("darwin", home=tmp_path), MacLaunchAgent)
    fallback = pick_autostart("emscripten")
    assert isinstance(fallback, NullAutostart)
    for backend in (fallback, pick_autostart("linux", config_dir=tmp_path)):
        assert isinstance(backend, Autostart)


def test_null_autostart_says_it_cannot():
    null = NullAutostart("plan9")
    assert not null.is_enabled()
    null.disable()
    with pytest.raises(AutostartError, match="not supported"):
        null.enable()
    assert "plan9" in null.describe()


def test_apply_autostart_follows_the_setting(tmp_path):
    entry = XdgAutostart(config_dir=tmp_path, command=COMMAND)
    apply_autostart(entry, True)
    assert entry.is_enabled()
    apply_autostart(entry, False)
    assert not entry.path.exists()


# --- Windows: the windowed program, never a console -------------------------------------------------------


def test_windows_prefers_the_windowed_launcher_in_scripts(tmp_path):
    scripts = tmp_path / "Scripts"
    scripts.mkdir()
    for name in ("pydt-tray.exe", "pydt-tray-gui.exe"):
        (scripts / name).write_text("")
    python = str(tmp_path / "python.exe")
    result = launch_command(frozen=False, executable=python, argv0="", which=never_found, platform="win32")
    assert result == [str(scripts / "pydt-tray-gui.exe"), "--hidden"]
    # started from the console launcher, start at login still registers the windowed one next to it
    running = str(scripts / "pydt-tray.exe")
    result = launch_command(frozen=False, executable=python, argv0=running, which=never_found, platform="win32")
    assert result == [str(scripts / "pydt-tray-gui.exe"), "--hidden"]
    # Linux keeps the console script (there is no console window to avoid)
    (tmp_path / "pydt-tray").write_text("")
    linux = launch_command(frozen=False, executable=str(tmp_path / "python"), argv0="", which=never_found)
    assert linux == [str(tmp_path / "pydt-tray"), "--hidden"]


def test_windows_frozen_console_twin_registers_the_windowed_program(tmp_path):
    for name in ("pydt-tray.exe", "pydt-tray-cli.exe"):
        (tmp_path / name).write_text("")
    cli = str(tmp_path / "pydt-tray-cli.exe")
    result = launch_command(frozen=True, executable=cli, argv0=cli, which=never_found, platform="win32")
    assert result == [str(tmp_path / "pydt-tray.exe"), "--hidden"]


def test_windows_gui_script_on_path_then_pythonw(tmp_path):
    found = {"pydt-tray-gui": str(tmp_path / "bin" / "pydt-tray-gui.exe"), "pydt-tray": str(tmp_path / "x.exe")}
    python = tmp_path / "python.exe"
    result = launch_command(frozen=False, executable=str(python), argv0="", which=found.get, platform="win32")
    assert result == [found["pydt-tray-gui"], "--hidden"]
    (tmp_path / "pythonw.exe").write_text("")
    result = launch_command(frozen=False, executable=str(python), argv0="", which=never_found, platform="win32")
    assert result == [str(tmp_path / "pythonw.exe"), "-m", "pydt_tray", "--hidden"]


def test_the_project_declares_the_windowed_entry_point():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    assert project["gui-scripts"]["pydt-tray-gui"] == project["scripts"]["pydt-tray"] == "pydt_tray.cli:main"
