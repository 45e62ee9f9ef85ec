"""The presenter words the push state and the session for the tray and the window."""

from __future__ import annotations

import pytest

from pydt_tray.core.push_state import OFF, PathMode, PushPath, PushState
from pydt_tray.desktop.presenter import every, push_wording


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (OFF, "Checking now and then: live push is off (turn it on in Settings → Real-time push)"),
        (OFF.with_path(PushPath.IOT, PathMode.CONNECTING), "Checking now and then: live push connecting…"),
        (OFF.with_path(PushPath.IOT, PathMode.LIVE), "Live (AWS IoT)"),
        (OFF.with_path(PushPath.IOT, PathMode.RECONNECTING), "Checking now and then: live push reconnecting…"),
        (
            OFF.with_path(PushPath.IOT, PathMode.FAILED, "no such CA file"),
            "Checking now and then: live push off: no such CA file",
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


def test_polling_only_says_how_often_in_plain_words() -> None:
    assert push_wording(OFF, 90) == "Checking every 90 s: live push is off (turn it on in Settings → Real-time push)"
    assert push_wording(OFF, 300).startswith("Checking every 5 min: ")
    assert "credentials" not in push_wording(OFF, 90) and "polling" not in push_wording(OFF, 90)
    assert [every(s) for s in (5, 119, 120, 3600, 5400)] == ["5 s", "119 s", "2 min", "1 h", "1 h 30 min"]
