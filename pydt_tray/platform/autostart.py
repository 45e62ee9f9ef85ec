"""Start pydt-tray when the user logs in: an XDG autostart entry, a Windows Run value or a macOS LaunchAgent.

Each backend adds exactly one thing of its own (a file or a registry value named ``pydt-tray``) and
removes only that thing when turned off. The command always ends in ``--hidden``: at login the app
goes straight to the tray. No Qt here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydt_tray import APP_NAME
from pydt_tray.core.atomic import write_atomic
from pydt_tray.core.errors import PydtTrayError

HIDDEN_FLAG = "--hidden"
DESKTOP_FILE_NAME = f"{APP_NAME}.desktop"
RUN_KEY_PATH = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE_NAME = APP_NAME
LAUNCH_AGENT_LABEL = "pydt-tray.pydt-tray"
COMMENT = "Play Your Damn Turn in the system tray"


class AutostartError(PydtTrayError):
    """Reading or changing the start-at-login entry failed; ``user_message`` says what happened."""


@runtime_checkable
class Autostart(Protocol):
    def is_enabled(self) -> bool: ...
    def enable(self) -> None: ...
    def disable(self) -> None: ...
    def describe(self) -> str: ...


GUI_SCRIPT = f"{APP_NAME}-gui"  # [project.gui-scripts]: on Windows a launcher that opens no console
FROZEN_CONSOLE_PROGRAM = f"{APP_NAME}-cli.exe"  # the frozen Windows build's console twin of pydt-tray.exe


def launch_command(
    frozen: bool = getattr(sys, "frozen", False),
    executable: str = sys.executable,
    argv0: str = sys.argv[0] if sys.argv else "",
    which: Callable[[str], str | None] = shutil.which,
    platform: str = sys.platform,
) -> list[str]:
    """The command line that starts this installation of pydt-tray, hidden in the tray.

    On Windows it is always a windowed program, so no console window opens at login (and closing one
    cannot kill the app): the frozen ``pydt-tray.exe`` rather than ``pydt-tray-cli.exe``, pip's
    ``pydt-tray-gui.exe`` rather than ``pydt-tray.exe``, ``pythonw.exe`` rather than ``python.exe``.
    """
    windows = platform == "win32"
    if frozen:
        program = Path(executable).absolute()
        windowed = program.with_name(f"{APP_NAME}.exe")
        if windows and program.name.lower() == FROZEN_CONSOLE_PROGRAM and windowed.is_file():
            program = windowed
        return [str(program), HIDDEN_FLAG]
    if windows:
        script_names: tuple[str, ...] = (f"{GUI_SCRIPT}.exe", f"{APP_NAME}.exe", APP_NAME)
    else:
        script_names = (APP_NAME, f"{APP_NAME}.exe")
    if argv0 and Path(argv0).name in script_names and Path(argv0).is_file():
        running = Path(argv0).absolute()
        windowed = running.with_name(script_names[0])
        return [str(windowed if windowed.is_file() else running), HIDDEN_FLAG]
    if executable:
        folder = Path(executable).absolute().parent
        for candidate in (folder / name for name in script_names):
            if candidate.is_file():
                return [str(candidate), HIDDEN_FLAG]
        for candidate in (folder / "Scripts" / name for name in script_names):
            if candidate.is_file():
                return [str(candidate), HIDDEN_FLAG]
    for name in (GUI_SCRIPT, APP_NAME) if windows else (APP_NAME,):
        found = which(name)
        if found:
            return [str(Path(found).absolute()), HIDDEN_FLAG]
    python = executable
    if windows and executable:
        pythonw = Path(executable).with_name("pythonw.exe")
        python = str(pythonw) if pythonw.is_file() else executable
    return [python, "-m", "pydt_tray", HIDDEN_FLAG]


def _failure(action: str, where: Path | str, exc: OSError) -> AutostartError:
    reason = exc.strerror or str(exc)
    return AutostartError(f"Could not {action} the start-at-login entry {where}: {reason}.", repr(exc))


# --- Linux and other XDG desktops -------------------------------------------------------------------------

_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def desktop_exec_quote(arg: str) -> str:
    """One argument for an ``Exec=`` line: quoted when it holds reserved characters, ``%`` doubled."""
    if arg and not any(ch in _EXEC_RESERVED for ch in arg):
        return arg.replace("%", "%%")
    inner = "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg)
    return '"' + inner.replace("%", "%%") + '"'


def desktop_string_escape(value: str) -> str:
    r"""The desktop entry spec's escapes for string values (``\\``, ``\n``, ``\t``, ``\r``)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def desktop_exec_line(command: list[str]) -> str:
    return desktop_string_escape(" ".join(desktop_exec_quote(arg) for arg in command))


class _EntryFile:
    """An autostart entry that is one file of ours: enabling writes it, disabling removes exactly it."""

    path: Path

    def render(self) -> str | bytes:
        raise NotImplementedError

    def enable(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, self.render(), mode=0o644)
        except OSError as exc:
            raise _failure("write", self.path, exc) from exc

    def disable(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            raise _failure("remove", self.path, exc) from exc


class XdgAutostart(_EntryFile):
    """``$XDG_CONFIG_HOME/autostart/pydt-tray.desktop`` (freedesktop autostart spec)."""

    def __init__(
        self,
        config_dir: Path | str | None = None,
        home: Path | str | None = None,
        command: list[str] | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        if config_dir is None:
            xdg = environ.get("XDG_CONFIG_HOME", "").strip()
            config_dir = xdg if xdg and Path(xdg).is_absolute() else Path(home or Path.home()) / ".config"
        self.path = Path(config_dir) / "autostart" / DESKTOP_FILE_NAME
        self._command = command

    def render(self) -> str:
        command = self._command or launch_command()
        return (
            "[Desktop Entry]\n"
            "Type=Application\n"
            f"Name={APP_NAME}\n"
            f"Comment={COMMENT}\n"
            f"Exec={desktop_exec_line(command)}\n"
            f"Icon={APP_NAME}\n"
            "Terminal=false\n"
            "Hidden=false\n"
            "X-GNOME-Autostart-enabled=true\n"
        )

    def is_enabled(self) -> bool:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _failure("read", self.path, exc) from exc
        values = _desktop_entry_values(text)
        return values.get("Hidden", "false") != "true" and values.get("X-GNOME-Autostart-enabled", "true") != "false"

    def describe(self) -> str:
        return f"autostart entry {self.path}"


def _desktop_entry_values(text: str) -> dict[str, str]:
    """The keys of the ``[Desktop Entry]`` group (other groups and comments ignored)."""
    values: dict[str, str] = {}
    in_entry = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            in_entry = line == "[Desktop Entry]"
        elif in_entry and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


# --- Windows ----------------------------------------------------------------------------------------------


class RunRegistry(Protocol):
    """The values of ``HKCU\\...\\CurrentVersion\\Run``; methods raise ``OSError``."""

    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...


class WinregRunRegistry:
    """The real Run key through ``winreg`` (imported on first use, so this module loads everywhere)."""

    def _winreg(self) -> Any:
        try:
            import winreg
        except ImportError as exc:
            raise OSError("the Windows registry is not available on this system") from exc
        return winreg

    def get(self, name: str) -> str | None:
        winreg = self._winreg()
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY_PATH, 0, winreg.KEY_READ) as key:
                value, _kind = winreg.QueryValueEx(key, name)
        except FileNotFoundError:
            return None
        return str(value)

    def set(self, name: str, value: str) -> None:
        winreg = self._winreg()
        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, RUN_KEY_PATH, 0, winreg.KEY_SET_VALUE) as key:
            winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)

    def delete(self, name: str) -> None:
        winreg = self._winreg()
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY_PATH, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, name)
        except FileNotFoundError:
            return


def windows_command_line(command: list[str]) -> str:
    """The program always in double quotes (paths with spaces), the rest quoted as Windows expects."""
    program, *args = command
    quoted = f'"{program}"'
    return f"{quoted} {subprocess.list2cmdline(args)}" if args else quoted


class WindowsRunKey:
    """The ``pydt-tray`` value under ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``."""

    def __init__(self, registry: RunRegistry | None = None, command: list[str] | None = None) -> None:
        self._registry = registry if registry is not None else WinregRunRegistry()
        self._command = command

    def value(self) -> str:
        return windows_command_line(self._command or launch_command())

    def is_enabled(self) -> bool:
        try:
            return self._registry.get(RUN_VALUE_NAME) is not None
        except OSError as exc:
            raise _failure("read", self.describe(), exc) from exc

    def enable(self) -> None:
        try:
            self._registry.set(RUN_VALUE_NAME, self.value())
        except OSError as exc:
            raise _failure("write", self.describe(), exc) from exc

    def disable(self) -> None:
        try:
            self._registry.delete(RUN_VALUE_NAME)
        except OSError as exc:
            raise _failure("remove", self.describe(), exc) from exc

    def describe(self) -> str:
        return f"registry value HKCU\\{RUN_KEY_PATH}\\{RUN_VALUE_NAME}"


# --- macOS ------------------------------------------------------------------------------------------------


class MacLaunchAgent(_EntryFile):
    """``~/Library/LaunchAgents/<label>.plist``, loaded by launchd at the next login."""

    def __init__(
        self, home: Path | str | None = None, command: list[str] | None = None, label: str = LAUNCH_AGENT_LABEL
    ) -> None:
        self.label = label
        self.path = Path(home or Path.home()) / "Library" / "LaunchAgents" / f"{label}.plist"
        self._command = command

    def render(self) -> bytes:
        agent = {
            "Label": self.label,
            "ProgramArguments": list(self._command or launch_command()),
            "RunAtLoad": True,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",  # the graphical login only, not ssh sessions
        }
        import plistlib  # macOS only

        return plistlib.dumps(agent, fmt=plistlib.FMT_XML)

    def is_enabled(self) -> bool:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _failure("read", self.path, exc) from exc
        import plistlib

        try:
            agent = plistlib.loads(data)
        except Exception as exc:  # plistlib raises several types for a broken file
            raise AutostartError(
                f"The start-at-login file {self.path} is damaged; turning the option off and on again rewrites it.",
                repr(exc),
            ) from exc
        return isinstance(agent, dict) and bool(agent.get("RunAtLoad")) and not agent.get("Disabled", False)

    def describe(self) -> str:
        return f"launch agent {self.path}"


# --- fallback and choice ----------------------------------------------------------------------------------


class NullAutostart:
    """No known way to start at login here: never enabled, and enabling says so."""

    def __init__(self, platform: str = sys.platform) -> None:
        self._platform = platform

    def is_enabled(self) -> bool:
        return False

    def enable(self) -> None:
        raise AutostartError(f"Starting at login is not supported on this system ({self._platform}).")

    def disable(self) -> None:
        return None

    def describe(self) -> str:
        return f"not supported on {self._platform}"


class SandboxAutostart:
    """A run that must not change the user's login items (the demo): never enabled, never touches anything;
    enabling explains why with ``reason``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def is_enabled(self) -> bool:
        return False

    def enable(self) -> None:
        raise AutostartError(self.reason)

    def disable(self) -> None:
        return None

    def describe(self) -> str:
        return "off in this run"


def pick_autostart(platform: str = sys.platform, **kwargs: Any) -> Autostart:
    """The backend for ``platform``; ``kwargs`` go to its constructor (``command``, ``home``, ``registry``...)."""
    if platform == "win32":
        return WindowsRunKey(**kwargs)
    if platform == "darwin":
        return MacLaunchAgent(**kwargs)
    if platform.startswith(("linux", "freebsd", "openbsd", "netbsd", "dragonfly", "sunos")):
        return XdgAutostart(**kwargs)
    return NullAutostart(platform)


def apply_autostart(autostart: Autostart, wanted: bool) -> None:
    """Make the entry match the ``start_on_boot`` setting; enabling again refreshes the command."""
    if wanted:
        autostart.enable()
    else:
        autostart.disable()
