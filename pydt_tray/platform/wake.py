"""Resume and network-change detection.

The push connection keeps a long MQTT keepalive, so a connection that died while the machine slept can go
unnoticed for many minutes. The sources here notice "the machine woke up" or "the network came back" and
emit ``woke(reason)``; the app answers with "reconnect now and catch up".

Each OS service is a :class:`WakeSource`; :func:`pick_wake_sources` chooses the ones for this platform and
:class:`WakeMonitor` merges them into one debounced ``woke`` signal.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractNativeEventFilter,
    QByteArray,
    QCoreApplication,
    QObject,
    QTimer,
    Signal,
    Slot,
)

from pydt_tray.platform.bus_signals import BusSignals, Subscription
from pydt_tray.platform.qt_light import QUEUED_CONNECTION

if TYPE_CHECKING:
    from PySide6.QtNetwork import QNetworkInformation

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class WakeSource(QObject):
    """One way of noticing a resume or a network change; emits ``woke`` with a short reason."""

    woke = Signal(str)

    def start(self) -> None:
        """Begin watching. Never raises for a missing OS service: it logs and does nothing."""

    def stop(self) -> None:
        """Stop watching; safe to call more than once or without ``start``."""


# --- Linux: logind ----------------------------------------------------------------------------------------

LOGIND_SERVICE = "org.freedesktop.login1"
LOGIND_PATH = "/org/freedesktop/login1"
LOGIND_INTERFACE = "org.freedesktop.login1.Manager"


class BusSignalSource(WakeSource):
    """A wake source fed by one D-Bus signal, read on the shared quiet thread of ``bus``
    (:mod:`pydt_tray.platform.bus_signals`); each signal's body is handed to :meth:`on_body` on this object's
    (the main) thread."""

    _arrived = Signal(object)
    SIGNAL: tuple[str, str, str, str] = ("", "", "", "")  # sender, path, interface, member
    MISSING = "events unavailable"

    def __init__(self, bus: BusSignals | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bus = bus if bus is not None else BusSignals()  # the system bus, or a private bus in tests
        self._started = False
        self._arrived.connect(self.on_body, QUEUED_CONNECTION)
        self._bus.subscribe(Subscription(*self.SIGNAL, on_signal=self._arrived.emit, on_unavailable=self._unavailable))

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._bus.start()

    def stop(self) -> None:
        if self._started:
            self._started = False
            self._bus.stop()

    @property
    def listening(self) -> bool:
        """Subscribed and reading (a moment after ``start``; never without a bus)."""
        return self._started and self._bus.listening.is_set()

    def _unavailable(self, problem: str) -> None:
        log.debug("no system bus (%s); %s", problem, self.MISSING)

    def on_body(self, body: tuple[Any, ...]) -> None:
        """One signal arrived (main thread)."""


class LogindResumeSource(BusSignalSource):
    """logind's ``PrepareForSleep(false)`` on the system bus: the machine has just resumed."""

    SIGNAL = (LOGIND_SERVICE, LOGIND_PATH, LOGIND_INTERFACE, "PrepareForSleep")
    MISSING = "logind resume events unavailable"

    def on_body(self, body: tuple[Any, ...]) -> None:
        """``True`` is sent before suspend, ``False`` after resume; only the latter matters."""
        if body and body[0]:
            log.debug("logind: going to sleep")
            return
        self.woke.emit("resume")


# --- Linux: NetworkManager -------------------------------------------------------------------------------------

NM_SERVICE = "org.freedesktop.NetworkManager"
NM_PATH = "/org/freedesktop/NetworkManager"
NM_INTERFACE = "org.freedesktop.NetworkManager"
NM_CONNECTED_GLOBAL = 70  # NMState: full network access


class NetworkManagerSource(BusSignalSource):
    """NetworkManager's ``StateChanged(u)`` on the system bus: fires when the state becomes "connected, global".

    The same event Qt's ``QNetworkInformation`` reads on Linux, taken straight from D-Bus, so a running app
    loads neither QtNetwork nor QtDBus for it. The signal comes only on a change, so reaching the connected
    state always means the network came back.
    """

    SIGNAL = (NM_SERVICE, NM_PATH, NM_INTERFACE, "StateChanged")
    MISSING = "network change events unavailable"

    def __init__(self, bus: BusSignals | None = None, parent: QObject | None = None) -> None:
        super().__init__(bus, parent)
        self._last: int | None = None

    def on_body(self, body: tuple[Any, ...]) -> None:
        previous, self._last = self._last, int(body[0]) if body else None
        if self._last == NM_CONNECTED_GLOBAL and previous != NM_CONNECTED_GLOBAL:
            self.woke.emit("network back")


# --- Qt network reachability --------------------------------------------------------------------------------


class NetworkReachabilitySource(WakeSource):
    """Qt's ``QNetworkInformation``: fires when reachability becomes ``Online`` from an offline state.

    ``Unknown`` means "no information yet" (a backend starting up), not "offline", so ``Unknown -> Online``
    does not fire.

    On Linux only the NetworkManager backend is used: Qt's fallback there (GLib's network monitor) loads GIO
    and starts a GLib thread, megabytes and a thread for an event the clock-jump check, logind and the push
    connection's own reconnects already cover.
    """

    def __init__(self, parent: QObject | None = None, platform: str = sys.platform) -> None:
        super().__init__(parent)
        self._platform = platform
        self._info: QNetworkInformation | None = None
        self._last: QNetworkInformation.Reachability | None = None

    def start(self) -> None:
        if self._info is not None:
            return
        from PySide6.QtNetwork import QNetworkInformation

        if self._platform.startswith("linux"):
            loaded = QNetworkInformation.loadBackendByName("networkmanager")
        else:
            loaded = QNetworkInformation.loadDefaultBackend()
        if not loaded or QNetworkInformation.instance() is None:
            log.debug("no QNetworkInformation backend; network change events unavailable")
            return
        info = QNetworkInformation.instance()
        self._info, self._last = info, info.reachability()
        info.reachabilityChanged.connect(self.on_reachability_changed)
        log.debug("network reachability via %s backend: %s", info.backendName(), self._last)

    def stop(self) -> None:
        info, self._info = self._info, None
        if info is not None:
            info.reachabilityChanged.disconnect(self.on_reachability_changed)

    @Slot(object)
    def on_reachability_changed(self, reachability: QNetworkInformation.Reachability) -> None:
        from PySide6.QtNetwork import QNetworkInformation

        reach = QNetworkInformation.Reachability
        previous, self._last = self._last, reachability
        if reachability == reach.Online and previous not in (None, reach.Online, reach.Unknown):
            self.woke.emit("network back")


# --- portable: wall clock against monotonic clock ------------------------------------------------------------


class ClockJumpSource(WakeSource):
    """Notices a suspend by comparing clocks every ``interval_ms`` (a minute: the comparison does not depend on
    the interval, only how soon after a resume it is seen, and a coarse timer keeps the idle app asleep).

    On Linux and macOS the monotonic clock stops while the machine sleeps and the wall clock does not, so the
    wall clock runs ahead. Where the monotonic clock keeps counting (Windows), the timer itself fires late:
    a monotonic gap far beyond the interval is reported as well.
    """

    def __init__(
        self,
        interval_ms: int = 60_000,
        threshold_s: float = 30.0,
        wall: Clock = time.time,
        mono: Clock = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._interval_s = interval_ms / 1000.0
        self._threshold = threshold_s
        self._wall = wall
        self._mono = mono
        self._last: tuple[float, float] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check_now)

    def start(self) -> None:
        self._last = (self._wall(), self._mono())
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._last = None

    @Slot()
    def check_now(self) -> bool:
        """Compare the clocks since the previous check; emit ``woke`` and return True on a jump."""
        now = (self._wall(), self._mono())
        last, self._last = self._last, now
        if last is None:
            return False
        wall_delta = now[0] - last[0]
        mono_delta = now[1] - last[1]
        ahead = wall_delta - mono_delta
        if ahead > self._threshold:
            self.woke.emit(f"clock jump {round(ahead)}s")
            return True
        late = mono_delta - self._interval_s
        if late > self._threshold and wall_delta - self._interval_s > self._threshold:
            self.woke.emit(f"timer late {round(late)}s")
            return True
        return False


# --- Windows: WM_POWERBROADCAST --------------------------------------------------------------------------------

WM_POWERBROADCAST = 0x0218
PBT_APMRESUMESUSPEND = 0x0007
PBT_APMRESUMEAUTOMATIC = 0x0012


class _WinMsg(ctypes.Structure):
    """The head of the Win32 ``MSG`` structure (hwnd, message, wParam, lParam)."""

    _fields_ = (
        ("hwnd", ctypes.c_void_p),
        ("message", ctypes.c_uint),
        ("wParam", ctypes.c_size_t),
        ("lParam", ctypes.c_ssize_t),
    )


class _PowerEventFilter(QAbstractNativeEventFilter):
    def __init__(self, on_resume: Callable[[], None]) -> None:
        super().__init__()
        self._on_resume = on_resume

    def nativeEventFilter(
        self, event_type: QByteArray | bytes | bytearray | memoryview, message: int
    ) -> tuple[bool, int]:
        name = event_type.data() if isinstance(event_type, QByteArray) else bytes(event_type)
        if name == b"windows_generic_MSG" and message:
            msg = _WinMsg.from_address(int(message))
            if msg.message == WM_POWERBROADCAST and msg.wParam in (PBT_APMRESUMEAUTOMATIC, PBT_APMRESUMESUSPEND):
                self._on_resume()
        return False, 0


class WindowsPowerSource(WakeSource):
    """``WM_POWERBROADCAST`` resume messages, seen by a native event filter.

    Windows broadcasts power messages to every top-level window, so a hidden native window is created to
    make sure the process has one even when no other window exists.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._filter: _PowerEventFilter | None = None
        self._window = None

    def start(self) -> None:
        app = QCoreApplication.instance()
        if self._filter is not None or app is None:
            return
        self._filter = _PowerEventFilter(lambda: self.woke.emit("resume"))
        app.installNativeEventFilter(self._filter)
        if sys.platform == "win32":
            from PySide6.QtGui import QWindow

            self._window = QWindow()
            self._window.create()  # a native handle without showing anything

    def stop(self) -> None:
        app = QCoreApplication.instance()
        if self._filter is not None and app is not None:
            app.removeNativeEventFilter(self._filter)
        self._filter = None
        if self._window is not None:
            self._window.destroy()
            self._window = None


# --- factory and aggregate ------------------------------------------------------------------------------------


def pick_wake_sources(platform: str = sys.platform) -> list[WakeSource]:
    """The sources for ``platform``; none of them touches the OS until ``start``."""
    sources: list[WakeSource] = []
    if platform.startswith("linux"):
        bus = BusSignals()  # one system bus reader for both: no QtNetwork or QtDBus in a running app
        sources += [LogindResumeSource(bus), NetworkManagerSource(bus)]
    else:
        if platform == "win32":
            sources.append(WindowsPowerSource())
        sources.append(NetworkReachabilitySource())
    sources.append(ClockJumpSource())
    return sources


class WakeMonitor(QObject):
    """Merges several sources into one ``woke``; firings within ``debounce_s`` of the last one are dropped."""

    woke = Signal(str)

    def __init__(
        self,
        sources: Iterable[WakeSource] | None = None,
        debounce_s: float = 5.0,
        mono: Clock = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._sources = list(pick_wake_sources() if sources is None else sources)
        self._debounce = debounce_s
        self._mono = mono
        self._last_fired: float | None = None
        for source in self._sources:
            source.setParent(self)
            source.woke.connect(self._on_source_woke)

    @property
    def sources(self) -> list[WakeSource]:
        return list(self._sources)

    def start(self) -> None:
        for source in self._sources:
            try:
                source.start()
            except Exception:
                log.warning("wake source %s failed to start", type(source).__name__, exc_info=True)

    def stop(self) -> None:
        for source in self._sources:
            try:
                source.stop()
            except Exception:
                log.debug("wake source %s failed to stop", type(source).__name__, exc_info=True)

    @Slot(str)
    def _on_source_woke(self, reason: str) -> None:
        now = self._mono()
        if self._last_fired is not None and now - self._last_fired < self._debounce:
            log.debug("wake (%s) folded into the previous one", reason)
            return
        self._last_fired = now
        log.info("wake: %s", reason)
        self.woke.emit(reason)
