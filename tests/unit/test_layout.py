"""The package keeps its shape: small modules, a thin composition root, Qt only above core/ and push/,
and the app object known only to the composition root (app.py and its launcher gui.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pydt_tray"
MAX_MODULE_LINES = 400
MAX_ROOT_LINES = 200
QT_PACKAGES = ("PySide6", "shiboken6", "PyQt5", "PyQt6")
COMPOSITION_ROOT = {"app.py", "gui.py"}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports, at any depth (function bodies and TYPE_CHECKING blocks included);
    ``from X import Y`` yields both ``X`` and ``X.Y``."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_the_package_is_found():
    found = {relative(path) for path in modules()}
    assert {"app.py", "gui.py", "core/sync.py", "push/connection.py"} <= found


def test_no_module_is_over_400_lines():
    too_long = {relative(path): line_count(path) for path in modules() if line_count(path) > MAX_MODULE_LINES}
    assert too_long == {}, f"split these by job: {too_long}"


def test_the_composition_root_stays_thin():
    assert line_count(PACKAGE / "app.py") < MAX_ROOT_LINES


@pytest.mark.parametrize("layer", ["core", "push"])
def test_core_and_push_import_no_qt(layer):
    offenders = {
        relative(path): [name for name in imported_modules(path) if name.split(".")[0] in QT_PACKAGES]
        for path in (PACKAGE / layer).rglob("*.py")
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_only_the_composition_root_imports_the_app_object():
    offenders = [
        relative(path)
        for path in modules()
        if relative(path) not in COMPOSITION_ROOT
        and any(name in ("pydt_tray.app", "pydt_tray.app.TrayApp") for name in imported_modules(path))
    ]
    assert offenders == []


def test_the_import_reader_sees_nested_and_type_checking_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pydt_tray.app import TrayApp\n"
        "def later():\n    import PySide6.QtCore\n",
        encoding="utf-8",
    )
    names = imported_modules(sample)
    assert "pydt_tray.app.TrayApp" in names and "PySide6.QtCore" in names
