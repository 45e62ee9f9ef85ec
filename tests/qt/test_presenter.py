"""The presenter words the push state and the session for the tray and the window."""

from __future__ import annotations

import pytest

from pydt_tray.core.push_state import OFF, PathMode, PushPath, PushState
from pydt_tray.desktop.presenter import push_wording


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (OFF, "Checking every 90 s: live push is off (turn it on in Settings → Real-time push)"),
        (OFF.with_path(PushPath.IOT, PathMode.CONNECTING), "Checking every 90 s: live push connecting…"),
        (OFF.with_path(PushPath.IOT, PathMode.LIVE), "Live (AWS IoT)"),
        (OFF.with_path(PushPath.IOT, PathMode.RECONNECTING), "Checking every 90 s: live push offline, retrying"),
        (
            OFF.with_path(PushPath.IOT, PathMode.FAILED, "no such CA file"),
            "Checking every 90 s: live push off: no such CA file",
        ),
        (OFF.with_path(PushPath.RELAY, PathMode.LIVE), "Live (relay)"),
        (
            OFF.with_path(PushPath.IOT, PathMode.LIVE).with_path(PushPath.RELAY, PathMode.LIVE),
            "Live (AWS IoT + relay)",
        ),
        (
            OFF.with_path(PushPath.IOT, PathMode.RECONNECTING).with_path(PushPath.RELAY, PathMode.LIVE),
            "Live (relay)",
        ),
    ],
)
def test_push_wording(state: PushState, words: str) -> None:
    assert push_wording(state) == words


def test_push_wording_names_the_actual_poll_interval() -> None:
    assert push_wording(OFF, 30).startswith("Checking every 30 s: live push is off")
    assert push_wording(OFF.with_path(PushPath.RELAY, PathMode.LIVE), 30) == "Live (relay)"
