"""The desktop's do-not-disturb read from a notification server on the real test session bus."""

from __future__ import annotations

from pydt_tray.platform.dnd import InhibitionWatch, ask_inhibited


def test_the_inhibited_property_is_read(notification_server) -> None:
    assert ask_inhibited() is None  # the server does not publish it
    notification_server.inhibited = True
    assert ask_inhibited() is True
    notification_server.inhibited = False
    assert ask_inhibited() is False


def test_no_server_means_not_inhibited(dbus_session) -> None:
    assert ask_inhibited(timeout=0.5) is None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_watch_answers_from_its_last_probe_and_asks_again_after_a_minute(notification_server) -> None:
    notification_server.inhibited = True
    clock = Clock()
    watch = InhibitionWatch(refresh=60.0, clock=clock, enabled=True)
    assert watch() is False  # nothing heard yet: never blocks for the bus
    assert watch.answered.wait(5)
    assert watch() is True
    notification_server.inhibited = False
    clock.now = 59.0
    assert watch() is True  # not asked again yet
    clock.now = 60.0
    watch()
    assert watch.answered.wait(5)
    assert watch() is False


def test_a_failing_probe_counts_as_not_inhibited() -> None:
    def broken() -> bool | None:
        raise RuntimeError("boom")

    watch = InhibitionWatch(broken, enabled=True)
    watch()
    assert watch.answered.wait(5)
    assert watch() is False
    assert InhibitionWatch(lambda: True, enabled=False)() is False
