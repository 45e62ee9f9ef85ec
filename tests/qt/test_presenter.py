"""The presenter words the push state and the session for the tray and the window."""

from __future__ import annotations

import pytest

from pydt_tray.core.push_state import OFF, PathMode, PushPath, PushState
from pydt_tray.desktop.presenter import every, push_wording


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (OFF, "checking now and then"),
        (OFF.with_path(PushPath.IOT, PathMode.CONNECTING), "connecting…"),
        (OFF.with_path(PushPath.IOT, PathMode.LIVE), "live"),
        (OFF.with_path(PushPath.IOT, PathMode.RECONNECTING), "reconnecting…"),
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


def test_polling_only_says_how_often_in_plain_words() -> None:
    assert push_wording(OFF, 90) == "checking every 90 s"
    assert push_wording(OFF, 300) == "checking every 5 min"
    assert "credentials" not in push_wording(OFF, 90) and "polling" not in push_wording(OFF, 90)
    assert [every(s) for s in (5, 119, 120, 3600, 5400)] == ["5 s", "119 s", "2 min", "1 h", "1 h 30 min"]
