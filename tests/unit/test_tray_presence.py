"""Without a system tray the app says so once, shows its window and keeps running."""

from __future__ import annotations

import io
import logging

import pytest

from pydt_tray.platform.tray_presence import announce_missing_tray, no_tray_message


def run(available: bool, environ: dict[str, str]) -> tuple[bool, list[str], io.StringIO]:
    calls: list[str] = []
    out = io.StringIO()
    done = announce_missing_tray(
        available,
        show_window=lambda: calls.append("window"),
        show_notice=lambda text: calls.append(f"notice:{text}"),
        environ=environ,
        stream=out,
    )
    return done, calls, out


def test_with_a_tray_nothing_happens() -> None:
    done, calls, out = run(True, {"DISPLAY": ":0"})
    assert (done, calls, out.getvalue()) == (False, [], "")


def test_without_a_tray_the_notice_goes_on_the_window_before_it_is_shown(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        done, calls, out = run(False, {"DISPLAY": ":0", "XDG_CURRENT_DESKTOP": "ubuntu:GNOME"})
    assert [r.levelname for r in caplog.records] == ["WARNING"] and "no system tray" in caplog.records[0].message
    assert done
    assert [c.split(":", 1)[0] for c in calls] == ["notice", "window"]
    assert "no system tray" in calls[0] and "gnome-shell-extension-appindicator" in calls[0]
    assert out.getvalue().count("no system tray") == 1


def test_other_desktops_get_no_gnome_advice() -> None:
    message = no_tray_message({"XDG_CURRENT_DESKTOP": "sway"})
    assert "no system tray" in message and "GNOME" not in message


def test_headless_qt_platforms_only_log() -> None:
    done, calls, out = run(False, {"QT_QPA_PLATFORM": "offscreen"})
    assert (done, calls, out.getvalue()) == (False, [], "")
