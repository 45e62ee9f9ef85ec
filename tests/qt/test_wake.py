"""Resume / network-change detection: clock jumps, logind and NetworkManager signals on a private bus (read
without QtDBus), reachability, debounce."""

from __future__ import annotations

import ctypes
import itertools
import logging
import sys
import threading

import pytest
from PySide6.QtCore import QByteArray
from PySide6.QtNetwork import QNetworkInformation

from pydt_tray.platform.bus_signals import BusSignals
from pydt_tray.platform.wake import (
    PBT_APMRESUMEAUTOMATIC,
    WM_POWERBROADCAST,
    ClockJumpSource,
    LogindResumeSource,
    NetworkManagerSource,
    NetworkReachabilitySource,
    WakeMonitor,
    WakeSource,
    WindowsPowerSource,
    _PowerEventFilter,
    _WinMsg,
    pick_wake_sources,
)
from tests.helpers.dbus_session import DBusSession

Reach = QNetworkInformation.Reachability


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def record(source) -> list[str]:
    reasons: list[str] = []
    source.woke.connect(reasons.append)
    return reasons


# --- ClockJumpSource --------------------------------------------------------------------------------------------


def make_clock_source(qtbot):
    wall, mono = FakeClock(1_700_000_000.0), FakeClock(100.0)
    source = ClockJumpSource(interval_ms=15_000, threshold_s=30.0, wall=wall, mono=mono)
    source.start()
    return source, wall, mono


def test_clock_jump_fires_when_wall_clock_runs_ahead(qtbot):
    source, wall, mono = make_clock_source(qtbot)
    wall.now += 15 + 312  # slept 312 s: monotonic stood still meanwhile
    mono.now += 15
    with qtbot.waitSignal(source.woke, timeout=1000) as blocker:
        assert source.check_now() is True
    assert blocker.args == ["clock jump 312s"]
    source.stop()


def test_clock_jump_ignores_normal_drift_and_backward_steps(qtbot):
    source, wall, mono = make_clock_source(qtbot)
    reasons = record(source)
    for step in (15.0, 15.4, 14.6, 15.0):  # NTP slews a little
        wall.now += step
        mono.now += 15.0
        assert source.check_now() is False
    wall.now -= 3600  # the user set the clock back an hour: not a sleep
    mono.now += 15.0
    assert source.check_now() is False
    assert reasons == []
    source.stop()


def test_clock_jump_fires_when_the_timer_runs_very_late(qtbot):
    """Where the monotonic clock counts suspended time both clocks advance together, but far too much."""
    source, wall, mono = make_clock_source(qtbot)
    wall.now += 600
    mono.now += 600
    with qtbot.waitSignal(source.woke, timeout=1000) as blocker:
        assert source.check_now() is True
    assert blocker.args == ["timer late 585s"]
    source.stop()


def test_clock_jump_timer_drives_checks(qtbot):
    wall, mono = FakeClock(1000.0), FakeClock(5.0)
    source = ClockJumpSource(interval_ms=20, threshold_s=30.0, wall=wall, mono=mono)
    source.start()
    wall.now += 100  # the next timer tick sees the jump
    with qtbot.waitSignal(source.woke, timeout=2000) as blocker:
        pass
    assert blocker.args == ["clock jump 100s"]
    source.stop()


# --- LogindResumeSource against a private bus ----------------------------------------------------------------


@pytest.fixture
def private_system_bus():
    """A second private dbus-daemon standing in for the system bus; stopped and its pipe closed afterwards."""
    daemon = DBusSession()
    try:
        yield daemon.address
    finally:
        daemon.stop()


MISSING_BUS = "unix:path=/nonexistent/pydt-test-bus"


@pytest.fixture
def fake_logind(private_system_bus):
    """A jeepney connection owning org.freedesktop.login1 that can emit PrepareForSleep."""
    from jeepney import DBusAddress, new_signal
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    conn = open_dbus_connection(bus=private_system_bus)
    reply = conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.login1"), timeout=5)
    assert reply.body == (1,)  # primary owner
    manager = DBusAddress("/org/freedesktop/login1", interface="org.freedesktop.login1.Manager")

    def emit(going_to_sleep: bool) -> None:
        conn.send(new_signal(manager, "PrepareForSleep", "b", (going_to_sleep,)))

    try:
        yield emit
    finally:
        conn.close()


def test_logind_resume_fires_on_prepare_for_sleep_false(qtbot, private_system_bus, fake_logind):
    source = LogindResumeSource(BusSignals(private_system_bus))
    source.start()
    qtbot.waitUntil(lambda: source.listening)
    reasons = record(source)
    fake_logind(True)  # going to sleep: ignored
    with qtbot.waitSignal(source.woke, timeout=5000) as blocker:
        fake_logind(False)
    assert blocker.args == ["resume"]
    assert reasons == ["resume"]  # the earlier True did not fire

    source.stop()
    source.stop()  # idempotent
    assert not [t for t in threading.enumerate() if t.name == "bus-signals"]  # its reader has ended
    fake_logind(False)
    with qtbot.assertNotEmitted(source.woke, wait=300):
        pass


def test_a_system_bus_that_goes_away_ends_the_reader_quietly(qtbot, caplog):
    bus = DBusSession()
    try:
        source = LogindResumeSource(BusSignals(bus.address))
        source.start()
        qtbot.waitUntil(lambda: source.listening)
        with caplog.at_level(logging.INFO, logger="pydt_tray.platform.bus_signals"):
            bus.stop()
            qtbot.waitUntil(lambda: not [t for t in threading.enumerate() if t.name == "bus-signals"])
        assert "D-Bus connection for resume and network signals lost" in caplog.text
        assert not source.listening
        source.stop()  # still safe
    finally:
        bus.stop()


def test_logind_without_a_bus_does_nothing(qtbot, caplog):
    source = LogindResumeSource(BusSignals(MISSING_BUS))
    with caplog.at_level(logging.DEBUG, logger="pydt_tray.platform.wake"):
        source.start()
        qtbot.waitUntil(lambda: "logind resume events unavailable" in caplog.text)
    assert "no system bus" in caplog.text and not source.listening
    qtbot.waitUntil(lambda: not [t for t in threading.enumerate() if t.name == "bus-signals"])  # none waits
    source.stop()


@pytest.fixture
def fake_network_manager(private_system_bus):
    """A jeepney connection owning org.freedesktop.NetworkManager that can emit StateChanged."""
    from jeepney import DBusAddress, new_signal
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    conn = open_dbus_connection(bus=private_system_bus)
    reply = conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.NetworkManager"), timeout=5)
    assert reply.body == (1,)
    manager = DBusAddress("/org/freedesktop/NetworkManager", interface="org.freedesktop.NetworkManager")

    def emit(state: int) -> None:
        conn.send(new_signal(manager, "StateChanged", "u", (state,)))

    try:
        yield emit
    finally:
        conn.close()


def test_network_manager_reaching_full_connectivity_fires(qtbot, private_system_bus, fake_network_manager):
    source = NetworkManagerSource(BusSignals(private_system_bus))
    source.start()
    qtbot.waitUntil(lambda: source.listening)
    reasons = record(source)
    fake_network_manager(20)  # disconnected
    fake_network_manager(40)  # connecting
    with qtbot.waitSignal(source.woke, timeout=5000) as blocker:
        fake_network_manager(70)  # connected, global
    assert blocker.args == ["network back"]
    fake_network_manager(60)  # site only
    with qtbot.waitSignal(source.woke, timeout=5000):
        fake_network_manager(70)
    assert reasons == ["network back", "network back"]

    source.stop()
    source.stop()  # idempotent
    fake_network_manager(20)
    fake_network_manager(70)
    with qtbot.assertNotEmitted(source.woke, wait=300):
        pass


def test_network_manager_without_a_bus_does_nothing(qtbot, caplog):
    source = NetworkManagerSource(BusSignals(MISSING_BUS))
    with caplog.at_level(logging.DEBUG, logger="pydt_tray.platform.wake"):
        source.start()
        qtbot.waitUntil(lambda: "network change events unavailable" in caplog.text)
    assert not source.listening
    source.stop()


def test_logind_and_network_manager_share_one_reader(qtbot, private_system_bus, fake_logind, fake_network_manager):
    bus = BusSignals(private_system_bus)
    resume, network = LogindResumeSource(bus), NetworkManagerSource(bus)
    resume.start()
    network.start()
    qtbot.waitUntil(lambda: resume.listening and network.listening)
    assert len([t for t in threading.enumerate() if t.name == "bus-signals"]) == 1
    with qtbot.waitSignal(resume.woke, timeout=5000):
        fake_logind(False)
    resume.stop()  # the other user keeps the reader
    with qtbot.waitSignal(network.woke, timeout=5000) as blocker:
        fake_network_manager(70)
    assert blocker.args == ["network back"] and network.listening
    network.stop()
    assert not [t for t in threading.enumerate() if t.name == "bus-signals"]


# --- NetworkReachabilitySource -------------------------------------------------------------------------------


def test_reachability_offline_to_online_fires(qtbot):
    source = NetworkReachabilitySource()
    reasons = record(source)
    source.on_reachability_changed(Reach.Disconnected)
    with qtbot.waitSignal(source.woke, timeout=1000) as blocker:
        source.on_reachability_changed(Reach.Online)
    assert blocker.args == ["network back"]
    source.on_reachability_changed(Reach.Online)  # Online -> Online: nothing new
    source.on_reachability_changed(Reach.Site)
    source.on_reachability_changed(Reach.Online)
    assert reasons == ["network back", "network back"]


def test_reachability_online_to_online_and_unknown_do_not_fire(qtbot):
    source = NetworkReachabilitySource()
    reasons = record(source)
    source.on_reachability_changed(Reach.Online)  # first report
    source.on_reachability_changed(Reach.Online)
    source.on_reachability_changed(Reach.Unknown)
    source.on_reachability_changed(Reach.Online)  # backend lost and regained information
    assert reasons == []


def test_reachability_start_and_stop_with_the_real_backend(qapp):
    source = NetworkReachabilitySource()
    source.start()  # loads a backend if one exists, otherwise logs; never raises
    source.stop()
    source.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux backend choice")
def test_on_linux_only_the_networkmanager_backend_is_used(qapp):
    source = NetworkReachabilitySource(platform="linux")
    source.start()
    try:
        info = QNetworkInformation.instance()
        assert info is None or info.backendName() == "networkmanager", "no GLib monitor (GIO and its thread)"
    finally:
        source.stop()


# --- WakeMonitor --------------------------------------------------------------------------------------------------


def test_monitor_debounces_several_sources(qtbot):
    a, b = WakeSource(), WakeSource()
    mono = FakeClock(50.0)
    monitor = WakeMonitor([a, b], debounce_s=5.0, mono=mono)
    reasons = record(monitor)
    with qtbot.waitSignal(monitor.woke, timeout=1000) as blocker:
        a.woke.emit("resume")
    assert blocker.args == ["resume"]
    mono.now += 1.0
    b.woke.emit("network back")
    mono.now += 3.9
    a.woke.emit("clock jump 40s")
    assert reasons == ["resume"]
    mono.now += 6.0  # a later, separate wake-up
    b.woke.emit("network back")
    assert reasons == ["resume", "network back"]


def test_monitor_starts_and_stops_every_source(qapp, caplog):
    class Counting(WakeSource):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[str] = []

        def start(self) -> None:
            self.calls.append("start")

        def stop(self) -> None:
            self.calls.append("stop")

    class Broken(WakeSource):
        def start(self) -> None:
            raise RuntimeError("no service")

    good = Counting()
    monitor = WakeMonitor([Broken(), good])
    monitor.start()  # a broken source does not stop the others
    monitor.stop()
    assert good.calls == ["start", "stop"]
    assert good.parent() is monitor
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        "wake source Broken failed to start"
    ]


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux", [LogindResumeSource, NetworkManagerSource, ClockJumpSource]),
        ("win32", [WindowsPowerSource, NetworkReachabilitySource, ClockJumpSource]),
    ],
)
def test_pick_wake_sources_per_platform(qapp, platform, expected):
    assert [type(s) for s in pick_wake_sources(platform)] == expected


@pytest.mark.parametrize("platform", ["darwin", "freebsd14"])
def test_pick_wake_sources_other_platform(qapp, platform):
    # macOS has no OS wake source in this build: the network and clock-jump detectors cover it
    assert [type(s) for s in pick_wake_sources(platform)] == [NetworkReachabilitySource, ClockJumpSource]


# --- Windows message parsing, with a fake MSG ---------------------------------------------------------------------


def test_power_filter_recognises_resume_messages():
    seen = itertools.count()
    hits: list[int] = []
    power_filter = _PowerEventFilter(lambda: hits.append(next(seen)))

    def feed(event_type: bytes, message: int, wparam: int) -> None:
        msg = _WinMsg(None, message, wparam, 0)
        assert power_filter.nativeEventFilter(QByteArray(event_type), ctypes.addressof(msg)) == (False, 0)

    feed(b"windows_generic_MSG", WM_POWERBROADCAST, PBT_APMRESUMEAUTOMATIC)
    feed(b"windows_generic_MSG", WM_POWERBROADCAST, 0x0004)  # PBT_APMSUSPEND
    feed(b"windows_generic_MSG", 0x0010, PBT_APMRESUMEAUTOMATIC)  # WM_CLOSE
    feed(b"xcb_generic_event_t", WM_POWERBROADCAST, PBT_APMRESUMEAUTOMATIC)
    assert hits == [0]


def test_windows_source_installs_and_removes_its_filter(qapp):
    source = WindowsPowerSource()
    source.start()
    assert source._filter is not None
    source.stop()
    assert source._filter is None
