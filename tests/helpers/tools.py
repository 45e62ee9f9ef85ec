"""Finding the external programs the integration tests need."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(program: str, debian_package: str) -> str:
    """Return the path of ``program``.

    Without it, a developer's run skips with the install command; under CI (``CI`` set) the test
    fails instead, because CI must install every tool itself.
    """
    path = shutil.which(program)
    if path:
        return path
    message = f"{program} is missing: apt-get install -y {debian_package}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError("unreachable")


def require_module(module: str, install_hint: str) -> None:
    """Import ``module`` or, like :func:`require_tool`, skip locally and fail under CI."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        message = f"{module} is missing: {install_hint}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def wait_for_line(stream, needle: str, timeout: float) -> str:
    """Read text lines from a pipe until one contains ``needle``; fail after ``timeout`` seconds."""
    import selectors
    import time

    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    try:
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                continue
            line = stream.readline()
            if not line:
                break
            text = line.decode(errors="replace") if isinstance(line, bytes) else line
            seen.append(text)
            if needle in text:
                return text
    finally:
        selector.close()
    raise TimeoutError(f"{needle!r} not seen within {timeout}s; got: {''.join(seen)[-2000:]}")
