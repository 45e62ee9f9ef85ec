"""Notification backends against a fake freedesktop server on the private test bus."""

from __future__ import annotations

import ctypes
import logging
import os
import statistics
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from jeepney.bus_messages import DBusNameFlags, message_bus
from jeepney.io.blocking import open_dbus_connection
from PySide6.QtCore import QObject, QThread
from PySide6.QtWidgets import QSystemTrayIcon

from pydt_tray.platform import notifications
from pydt_tray.platform.notifications import (
    DEFAULT_ACTION_LABEL,
    FreedesktopNotifier,
    LogNotifier,
    Notifier,
    TrayNotifier,
    pick_notifier,
    set_windows_app_user_model_id,
)
from tests.helpers.notification_server import BUS_NAME
from tests.helpers.tools import require_tool, wait_for_line

BARE_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class RecordingNotifier(Notifier):
    """A fallback that remembers what it was asked to show."""

    name = "recording"

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[tuple[str, str, str]] = []

    def notify(self, title: str, body: str, *, key: str = "games", replace_group: str | None = None) -> None:
        self.shown.append((title, body, key))


@pytest.fixture
def make_notifier(qapp):
    """Builds FreedesktopNotifiers and closes them (thread, sockets) after the test."""
    made: list[Notifier] = []

    def make(**kwargs) -> FreedesktopNotifier:
        notifier = FreedesktopNotifier(**kwargs)
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        notifier.close()
    left = [thread.name for thread in threading.enumerate() if thread.name == "pydt-notify-bus"]
    assert not left, "close() left the bus thread running"


@pytest.fixture
def bare_bus(tmp_path, monkeypatch):
    """A session bus of its own with no activatable services at all, so nothing can own the name."""
    daemon = require_tool("dbus-daemon", "dbus")
    config = tmp_path / "bare-bus.conf"
    config.write_text(BARE_BUS_CONFIG)
    process = subprocess.Popen(
        [daemon, f"--config-file={config}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        address = process.stdout.readline().decode().strip()
        assert address, "dbus-daemon printed no address"
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


# ---- FreedesktopNotifier against the fake server -------------------------------------------------


def test_notify_reaches_server_with_our_fields_and_default_action(make_notifier, notification_server):
    notifier = make_notifier(icon="pydt-tray")
    notifier.notify("Your turn", "Game of the week: turn 12", key="game-1")
    (seen,) = notification_server.wait_for(1)
    assert seen.signature == "susssasa{sv}i"
    assert (seen.app_name, seen.app_icon, seen.summary, seen.body) == (
        "pydt-tray",
        "pydt-tray",
        "Your turn",
        "Game of the week: turn 12",
    )
    assert seen.actions == ["default", DEFAULT_ACTION_LABEL]
    assert seen.hints == {"urgency": ("y", 1), "desktop-entry": ("s", "pydt-tray")}
    assert seen.replaces_id == 0
    assert seen.expire_timeout == -1
    notifier.notify("Your turn", "Another game", key="game-2")
    notification_server.wait_for(2)
    assert notification_server.capability_queries == 1  # asked once per connection, not per notification


def test_no_action_when_server_has_no_actions(make_notifier, notification_server):
    notification_server.capabilities = ["body"]
    make_notifier().notify("Your turn", "Game", key="game-1")
    (seen,) = notification_server.wait_for(1)
    assert seen.actions == []


def test_body_is_escaped_when_server_reads_markup(make_notifier, notification_server):
    notification_server.capabilities = ["body", "body-markup", "actions"]
    make_notifier().notify("Turns <3", "A < B & C", key="games")
    (seen,) = notification_server.wait_for(1)
    assert seen.body == "A &lt; B &amp; C"
    assert seen.summary == "Turns <3"  # the summary is plain text by the spec


def test_replace_group_reuses_the_previous_id(make_notifier, notification_server):
    notifier = make_notifier()
    notifier.notify("Your turn", "1 game waiting", replace_group="turns")
    notifier.notify("Your turn", "2 games waiting", replace_group="turns")  # sent before the first reply arrived
    notifier.notify("Game over", "Someone won", replace_group="ended")
    notifier.notify("Hello", "no group")
    first, second, other, plain = notification_server.wait_for(4)
    assert first.replaces_id == 0
    assert second.replaces_id == first.id
    assert second.id == first.id
    assert other.replaces_id == 0
    assert plain.replaces_id == 0
    assert len({first.id, other.id, plain.id}) == 3


def test_closed_notification_is_not_replaced(make_notifier, notification_server, qtbot):
    notifier = make_notifier()
    notifier.notify("Your turn", "1 game", key="a", replace_group="turns")
    (first,) = notification_server.wait_for(1)
    notification_server.click(first.id)  # ActionInvoked, then NotificationClosed
    with qtbot.waitSignal(notifier.activated, timeout=5000):
        pass
    notifier.notify("Your turn", "2 games", key="b", replace_group="turns")
    _, second = notification_server.wait_for(2)
    assert second.replaces_id == 0
    assert second.id != first.id


@pytest.mark.parametrize("targeted", [False, True], ids=["broadcast", "targeted"])
def test_click_emits_activated_with_the_key_on_the_main_thread(make_notifier, notification_server, qtbot, targeted):
    notification_server.targeted_signals = targeted
    notifier = make_notifier()
    threads: list[QThread] = []
    notifier.activated.connect(lambda _key: threads.append(QThread.currentThread()))
    notifier.notify("Your turn", "Game", key="game-42")
    notifier.notify("Your turn", "Other game", key="game-43")
    first, _ = notification_server.wait_for(2)
    with qtbot.waitSignal(notifier.activated, timeout=5000) as blocker:
        notification_server.click(first.id)
    assert blocker.args == ["game-42"]
    assert threads == [qtbot_main_thread()]


def qtbot_main_thread() -> QThread:
    from PySide6.QtCore import QCoreApplication

    return QCoreApplication.instance().thread()


def test_click_on_a_foreign_notification_is_ignored(make_notifier, notification_server, qtbot):
    notifier = make_notifier()
    notifier.notify("Your turn", "Game", key="mine")
    (ours,) = notification_server.wait_for(1)
    keys: list[str] = []
    notifier.activated.connect(keys.append)
    with qtbot.waitSignal(notifier.activated, timeout=5000):
        notification_server.click(ours.id + 1000)  # not one of ours: must not activate anything
        notification_server.click(ours.id)
    assert keys == ["mine"]


def test_extra_actions_are_offered_and_emit_their_own_key(make_notifier, notification_server, qtbot):
    notifier = make_notifier()
    notifier.notify("Submit this save?", "turn.Civ6Save", key="turn:g1", actions=[("submit:g1", "Submit")])
    (seen,) = notification_server.wait_for(1)
    assert seen.actions == ["default", DEFAULT_ACTION_LABEL, "submit:g1", "Submit"]
    with qtbot.waitSignal(notifier.activated, timeout=5000) as blocker:
        notification_server.click(seen.id, action="submit:g1")
    assert blocker.args == ["submit:g1"]


@pytest.mark.parametrize("action", ["default", "something-else"])
def test_other_actions_of_a_notification_with_extras_emit_its_key(make_notifier, notification_server, qtbot, action):
    notifier = make_notifier()
    notifier.notify("Submit this save?", "turn.Civ6Save", key="turn:g1", actions=[("submit:g1", "Submit")])
    (seen,) = notification_server.wait_for(1)
    with qtbot.waitSignal(notifier.activated, timeout=5000) as blocker:
        notification_server.click(seen.id, action=action)
    assert blocker.args == ["turn:g1"]


def test_extra_actions_are_left_out_when_the_server_has_no_actions(make_notifier, notification_server):
    notification_server.capabilities = ["body"]
    make_notifier().notify("Submit this save?", "x", key="k", actions=[("submit:g1", "Submit")])
    (seen,) = notification_server.wait_for(1)
    assert seen.actions == []


def test_tray_and_log_notifiers_accept_actions(qapp, qtbot, caplog):
    tray = QSystemTrayIcon()
    notifier = TrayNotifier(tray)
    notifier.notify("Submit this save?", "x", key="turn:g1", actions=[("submit:g1", "Submit")])
    with qtbot.waitSignal(notifier.activated, timeout=1000) as blocker:
        tray.messageClicked.emit()
    assert blocker.args == ["turn:g1"]  # a balloon has no buttons: a click only shows the window
    notifier.close()
    with caplog.at_level(logging.INFO, logger=notifications.__name__):
        LogNotifier().notify("Submit this save?", "y", actions=[("submit:g1", "Submit")])
    assert "Submit this save?: y" in caplog.text


CHILD_SCRIPT = textwrap.dedent(
    """
    from PySide6.QtCore import QCoreApplication, QTimer
    from pydt_tray.platform.notifications import FreedesktopNotifier

    app = QCoreApplication([])
    notifier = FreedesktopNotifier()
    notifier.activated.connect(lambda key: (print("activated", key, flush=True), app.quit()))
    notifier.notify("Your turn", "from the child", key="child-key")
    QTimer.singleShot(15000, lambda: app.exit(3))
    code = app.exec()
    notifier.close()
    raise SystemExit(code)
    """
)


def test_a_child_process_on_the_same_bus_uses_the_server(notification_server):
    """The fake server is shared through the bus: a separate process notifies and receives the click."""
    child = subprocess.Popen([sys.executable, "-c", CHILD_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        (seen,) = notification_server.wait_for(1, timeout=15)
        assert (seen.summary, seen.body) == ("Your turn", "from the child")
        notification_server.click(seen.id)
        assert wait_for_line(child.stdout, "activated", timeout=15).split() == ["activated", "child-key"]
        assert child.wait(timeout=15) == 0, child.stderr.read().decode() if child.stderr else ""
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()


def test_malformed_reply_goes_to_fallback(make_notifier, notification_server, qtbot, caplog):
    notification_server.notify_reply = ("s", ("not an id",))
    fallback = RecordingNotifier()
    notifier = make_notifier(fallback=fallback)
    with caplog.at_level(logging.WARNING, logger=notifications.__name__):
        notifier.notify("Your turn", "Game", key="k")
        qtbot.waitUntil(lambda: bool(fallback.shown), timeout=5000)
    assert fallback.shown == [("Your turn", "Game", "k")]
    assert "malformed reply" in caplog.text


# ---- degrading ------------------------------------------------------------------------------------


def test_absent_server_is_not_available_and_pick_falls_back_to_log(qapp, bare_bus):
    assert FreedesktopNotifier.available() is False
    tray = QSystemTrayIcon()
    assert not QSystemTrayIcon.isSystemTrayAvailable()  # offscreen: no tray
    for platform in ("linux", "win32", "darwin"):
        notifier = pick_notifier(tray, platform=platform)
        assert isinstance(notifier, LogNotifier), platform
        notifier.notify("Your turn", "Game")  # only logs
        notifier.close()


def test_present_server_is_picked_on_linux_only(qapp, notification_server):
    assert FreedesktopNotifier.available() is True
    parent = QObject()
    linux = pick_notifier(None, parent, platform="linux")
    try:
        assert isinstance(linux, FreedesktopNotifier)
        assert linux.parent() is parent
        assert isinstance(pick_notifier(None, platform="win32"), LogNotifier)
    finally:
        linux.close()


def test_no_session_bus_at_all(make_notifier, monkeypatch, qtbot, caplog):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    assert FreedesktopNotifier.available() is False
    assert isinstance(pick_notifier(None, platform="linux"), LogNotifier)
    fallback = RecordingNotifier()
    notifier = make_notifier(fallback=fallback)
    with caplog.at_level(logging.WARNING, logger=notifications.__name__):
        notifier.notify("Your turn", "Game", key="k")  # must not raise
        qtbot.waitUntil(lambda: bool(fallback.shown), timeout=5000)
    assert fallback.shown == [("Your turn", "Game", "k")]
    assert "Cannot reach the session bus for notifications: DBUS_SESSION_BUS_ADDRESS is not set" in caplog.text


def test_server_vanished_is_logged_and_falls_back(make_notifier, notification_server, qtbot, caplog):
    fallback = RecordingNotifier()
    notifier = make_notifier(fallback=fallback)
    notifier.notify("Your turn", "first", key="a")
    notification_server.wait_for(1)
    notification_server.stop()
    with caplog.at_level(logging.WARNING, logger=notifications.__name__):
        notifier.notify("Your turn", "second", key="b")  # must not raise
        qtbot.waitUntil(lambda: bool(fallback.shown), timeout=5000)
    assert fallback.shown == [("Your turn", "second", "b")]
    assert "ServiceUnknown" in caplog.text


def test_unresponsive_server_times_out_without_blocking(make_notifier, qtbot, caplog):
    """A server that owns the name but never answers: the call times out in the worker, not in notify()."""
    with open_dbus_connection(bus="SESSION") as silent:
        reply = silent.send_and_get_reply(message_bus.RequestName(BUS_NAME, DBusNameFlags.do_not_queue), timeout=5)
        assert reply.body[0] == 1
        fallback = RecordingNotifier()
        notifier = make_notifier(fallback=fallback, call_timeout=0.5)
        with caplog.at_level(logging.WARNING, logger=notifications.__name__):
            started = time.perf_counter()
            notifier.notify("Your turn", "Game", key="k")
            assert time.perf_counter() - started < 0.25
            qtbot.waitUntil(lambda: bool(fallback.shown), timeout=5000)
        assert "no answer within 0.5s" in caplog.text
        notifier.close()
        silent.send_and_get_reply(message_bus.ReleaseName(BUS_NAME), timeout=5)


def test_notify_after_close_only_logs(make_notifier, caplog):
    notifier = make_notifier()
    notifier.close()
    with caplog.at_level(logging.INFO, logger=notifications.__name__):
        notifier.notify("Your turn", "Game")
    assert "after close" in caplog.text


# ---- tray and log backends ------------------------------------------------------------------------


def test_tray_notifier_under_offscreen(qapp, qtbot):
    tray = QSystemTrayIcon()
    notifier = TrayNotifier(tray)
    notifier.notify("Your turn", "Game A", key="game-a")
    notifier.notify("Your turn", "Game B", key="game-b")  # showMessage does nothing offscreen: no crash
    with qtbot.waitSignal(notifier.activated, timeout=1000) as blocker:
        tray.messageClicked.emit()
    assert blocker.args == ["game-b"]
    notifier.close()
    notifier.notify("Your turn", "after close")  # still no exception


def test_log_notifier_logs(qapp, caplog):
    with caplog.at_level(logging.INFO, logger=notifications.__name__):
        LogNotifier().notify("Your turn", "Game C")
    assert "Your turn: Game C" in caplog.text


# ---- Windows AppUserModelID (the OS is faked) -----------------------------------------------------


class FakeShell32:
    def __init__(self, result: int | Exception = 0) -> None:
        self.result = result
        self.calls: list[str] = []

    def SetCurrentProcessExplicitAppUserModelID(self, app_id) -> int:
        self.calls.append(app_id.value)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


class FakeWindll:
    def __init__(self, shell32: FakeShell32) -> None:
        self.shell32 = shell32


def test_app_user_model_id_is_a_no_op_on_linux(monkeypatch):
    shell32 = FakeShell32()
    monkeypatch.setattr(ctypes, "windll", FakeWindll(shell32), raising=False)
    assert sys.platform.startswith("linux")
    set_windows_app_user_model_id()
    assert shell32.calls == []


@pytest.mark.parametrize("result", [0, 0x80070005, OSError("no shell32")], ids=["ok", "hresult", "raises"])
def test_app_user_model_id_on_faked_windows(monkeypatch, caplog, result):
    shell32 = FakeShell32(result)
    monkeypatch.setattr(ctypes, "windll", FakeWindll(shell32), raising=False)
    monkeypatch.setattr(notifications.sys, "platform", "win32")
    with caplog.at_level(logging.WARNING, logger=notifications.__name__):
        set_windows_app_user_model_id("pydt-tray.test")
    assert shell32.calls == ["pydt-tray.test"]
    assert ("AppUserModelID" in caplog.text) == (result != 0)


# ---- measurement ----------------------------------------------------------------------------------


def test_time_notify_spends_on_the_calling_thread(make_notifier, notification_server):
    """Prints what notify() costs the GUI thread and the delivery latency; asserts only a loose bound."""
    notifier = make_notifier()
    count = 100
    spent: list[float] = []
    sent_at: list[float] = []
    for index in range(count):
        started = time.perf_counter()
        notifier.notify("Your turn", f"Game {index}", key=f"game-{index}")
        ended = time.perf_counter()
        spent.append(ended - started)
        sent_at.append(started)
    received = notification_server.wait_for(count)
    latency = [seen.received_at - sent for seen, sent in zip(received, sent_at, strict=True)]
    ms = [value * 1000 for value in spent]
    print(
        f"\nnotify() on the calling thread over {count} calls: first {ms[0]:.3f} ms, "
        f"median {statistics.median(ms[1:]):.3f} ms, max {max(ms[1:]):.3f} ms; "
        f"to the server: median {statistics.median(latency) * 1000:.2f} ms, max {max(latency) * 1000:.2f} ms "
        f"(pid {os.getpid()})"
    )
    assert statistics.median(ms[1:]) < 5.0
