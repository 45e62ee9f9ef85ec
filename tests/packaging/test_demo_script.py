"""``scripts/demo.sh`` when the Python at hand cannot make a virtual environment or is too old.

(The working path, a real .venv with the demo run to its first notification, is run by CI: .ci/run.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Behaves like Debian's python3 without the python3-venv package: `-m venv` fails the way Debian's does.
NO_VENV = f"""#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  echo "The virtual environment was not created successfully because ensurepip is not available." >&2
  mkdir -p "$3/bin"
  exit 1
fi
exec {sys.executable} "$@"
"""
TOO_OLD = """#!/bin/sh
case "$2" in
  *version_info\\ \\<*) exit 1 ;;
  *) echo 3.9 ;;
esac
"""


def run_demo_script(tmp_path: Path, python: str) -> subprocess.CompletedProcess[str]:
    fake = tmp_path / "python3"
    fake.write_text(python)
    fake.chmod(0o755)
    env = {**os.environ, "PYTHON": str(fake), "PYDT_NO_APT": "1", "PYDT_VENV": str(tmp_path / "venv")}
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh"), "--check"], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.skipif(not Path("/usr/bin/dpkg-query").exists(), reason="Debian or Ubuntu only")
def test_without_venv_support_it_prints_the_exact_apt_line_and_leaves_nothing(tmp_path: Path) -> None:
    result = run_demo_script(tmp_path, NO_VENV)
    assert result.returncode == 1, result.stderr
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert f"sudo apt-get install python{version}-venv" in result.stderr
    assert "cannot make a virtual environment" in result.stderr
    assert not (tmp_path / "venv").exists(), "a half-made environment is removed"


def test_a_python_older_than_3_11_is_named(tmp_path: Path) -> None:
    result = run_demo_script(tmp_path, TOO_OLD)
    assert result.returncode == 1
    assert "is Python 3.9; pydt-tray needs 3.11 or newer" in result.stderr
    assert not (tmp_path / "venv").exists()
