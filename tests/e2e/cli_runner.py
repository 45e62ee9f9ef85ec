"""Running the installed ``pydt-tray`` program in a clean, hermetic environment for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PROGRAM = "pydt-tray"
DEFAULT_TIMEOUT = 30.0
# Variables the program or its launcher needs from the outside (PYTHONPATH: a checkout run with its code
# first on the path tests that code); everything else starts empty.
PASSED_THROUGH = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "PYENV_ROOT", "PYENV_VERSION", "SYSTEMROOT")


def installed_program() -> str:
    """Path of the installed ``pydt-tray`` command; the test fails (never skips) without it."""
    path = shutil.which(PROGRAM)
    if path is None:
        pytest.fail(f"the {PROGRAM} command is not installed: run `pip install -e .` in the repository first")
    return path


@dataclass
class CliRunner:
    """Runs ``pydt-tray`` with ``PYDT_TRAY_HOME`` in a folder of its own and only the variables given."""

    root: Path
    api_url: str = "http://127.0.0.1:9"
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.program = installed_program()
        self.home = self.root / "pydt-home"
        for folder in (self.home, self.root / "user-home", self.root / "runtime"):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def env(self, extra: Mapping[str, str] | None = None, drop: Sequence[str] = ()) -> dict[str, str]:
        """The child's whole environment: no inherited PYDT_*, keyring or bus variables unless given."""
        env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
        env.update(
            {
                "HOME": str(self.root / "user-home"),
                "XDG_RUNTIME_DIR": str(self.root / "runtime"),
                "PYDT_TRAY_HOME": str(self.home),
                "PYDT_API_URL": self.api_url,
                "QT_QPA_PLATFORM": "offscreen",
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        env.update(self.extra_env)
        env.update(extra or {})
        for name in drop:
            env.pop(name, None)
        return env

    def run(
        self,
        *args: str,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        drop: Sequence[str] = (),
        timeout: float = DEFAULT_TIMEOUT,
        command: Sequence[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run to completion; ``stdin`` is piped in (an empty pipe when None), never the terminal."""
        return subprocess.run(
            [*(command or [self.program]), *args],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            env=self.env(env, drop),
            cwd=self.root,
            timeout=timeout,
            check=False,
        )

    def run_python_module(self, *args: str, timeout: float = DEFAULT_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """``python -m pydt_tray ARGS`` with the test's interpreter."""
        return self.run(*args, command=[sys.executable, "-m", "pydt_tray"], timeout=timeout)

    def start(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a long-running ``pydt-tray`` with its output in files under ``root`` (no pipes to fill up)."""
        out = open(self.root / "gui.stdout", "wb")  # noqa: SIM115 - closed right after the child inherited it
        err = open(self.root / "gui.stderr", "wb")  # noqa: SIM115
        try:
            return subprocess.Popen(
                [self.program, *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=self.env(env),
                cwd=self.root,
            )
        finally:
            out.close()
            err.close()

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "pydt-tray.log"

    @property
    def settings_file(self) -> Path:
        return self.home / "config" / "settings.toml"

    def files(self) -> Iterator[Path]:
        """Every regular file under ``PYDT_TRAY_HOME``."""
        for folder, _dirs, names in os.walk(self.home):
            for name in names:
                path = Path(folder) / name
                if path.is_file() and not path.is_symlink():
                    yield path

    def files_containing(self, needle: str) -> list[Path]:
        """Files under ``PYDT_TRAY_HOME`` whose bytes contain ``needle``."""
        data = needle.encode()
        return [path for path in self.files() if data in path.read_bytes()]


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
