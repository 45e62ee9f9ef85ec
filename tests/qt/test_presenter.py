"""The presenter words the push state and the session for the tray and the window."""

from __future__ import annotations

import pytest

from pydt_tray.core.push_state import OFF, PathMode, PushPath, PushState
from pydt_tray.desktop.presenter import push_wording


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (OFF, "polling: no push credentials"),
        (OFF.with_path(PushPath.IOT, PathMode.CONNECTING), "connecting…"),
        (OFF.with_path(PushPath.IOT, PathMode.LIVE), "live"),
        (OFF.with_path(PushPath.IOT, PathMode.RECONNECTING), "offline, retrying"),
        (OFF.with_path(PushPath.IOT, PathMode.FAILED, "no such CA file"), "push off: no such CA file"),
        (OFF.with_path(PushPath.RELAY, PathMode.LIVE), "live via relay"),
        (
            OFF.with_path(PushPath.IOT, PathMode.LIVE).with_path(PushPath.RELAY, PathMode.LIVE),
            "live via IoT + relay",
        ),
    ],
)
def test_push_wording(state: PushState, words: str) -> None:
    assert push_wording(state) == words
