"""Demo mode: the whole product on one machine, no account needed.

One process runs the simulated PYDT service, a local MQTT broker (wss, MQTT 3.1.1), a scripted world
where simulated opponents play their turns, and the real tray app in a throw-away home folder. The
keyring is never touched, nor the user's login items ("Start at login" is off in the demo). Quitting
(tray menu, SIGTERM, SIGINT, SIGHUP) stops everything and deletes every temporary file. The broker's private
key is deleted as soon as the broker has loaded it, and a demo home left by a demo that was killed or crashed
is deleted when the next demo starts.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydt_tray.core.accounts import AccountBook
from pydt_tray.core.context import AppContext, load_context
from pydt_tray.core.credentials import USERNAME
from pydt_tray.sandbox.demo_broker import DemoBroker
from pydt_tray.sandbox.demo_options import CHECK_TIMEOUT, add_check_options
from pydt_tray.sandbox.demo_world import TURN_SECONDS_VARIABLE, DemoWorld, parse_turn_seconds
from pydt_tray.sandbox.simulator import PydtSimulator

if TYPE_CHECKING:
    from pydt_tray.gui import StartedApp

log = logging.getLogger("pydt_tray.sandbox.demo")  # the same name when run with -m

HOME_PREFIX = "pydt-tray-demo-"
OWNER_FILE = "demo.pid"  # the process id of the demo a home belongs to
STALE_WITHOUT_OWNER_SECONDS = 24 * 3600.0  # a home without an owner file: a demo that died while starting
CHECK_TURN_SECONDS = "2-4"
TITLE_SUFFIX = " (demo)"
IOT_KEY_ID = "demo"
IOT_SECRET = "local-broker-accepts-anything"  # redacted from logs like any secret: keep it unlike other words
SAVE_DIR_SETTINGS = {
    "CIV6": "save_dir_civ6",
    "CIV5": "save_dir_civ5",
    "CIV7": "save_dir_civ7",
    "OLD_WORLD": "save_dir_old_world",
}


def demo_environment(
    home: Path, api_url: str, broker_port: int, *, stage: str = "prod", ca_file: str | None = None
) -> dict[str, str]:
    """The variables :func:`load_context` needs to point the app at the demo's service and broker."""
    environ = {
        "PYDT_TRAY_HOME": str(home),
        "PYDT_API_URL": api_url,
        "PYDT_STAGE": stage,
        "PYDT_IOT_ENDPOINT": "127.0.0.1",
        "PYDT_IOT_PORT": str(broker_port),
        "PYDT_IOT_REGION": "us-east-1",
        "PYDT_IOT_ACCESS_KEY_ID": IOT_KEY_ID,
        "PYDT_IOT_SECRET_ACCESS_KEY": IOT_SECRET,
    }
    if ca_file:
        environ["PYDT_IOT_CA_FILE"] = ca_file
    return environ


class _MemoryTokenStore:
    """The demo's token lives in memory only: signing in or out never reaches the real keyring."""

    backend_name = "demo (memory only)"
    is_plaintext = False

    def __init__(self) -> None:
        self.token: str | None = None

    def load(self) -> str | None:
        return self.token

    def save(self, token: str) -> None:
        self.token = token

    def delete(self) -> None:
        self.token = None


@dataclass
class DemoContext(AppContext):
    """An app context whose token stores are in memory (one per account, as in the keyring)."""

    def __post_init__(self) -> None:
        self._tokens: dict[str, _MemoryTokenStore] = {}

    def token_store(self, *, allow_plaintext: bool = False) -> Any:
        return self._tokens.setdefault(USERNAME, _MemoryTokenStore())

    def account_book(self) -> AccountBook:
        def memory(username: str, _plaintext: Path, _allow: bool) -> Any:
            return self._tokens.setdefault(username, _MemoryTokenStore())

        return AccountBook(self.paths.config_dir, make_store=memory)


def _configure(ctx: AppContext, home: Path) -> None:
    """Demo settings: MQTT 3.1.1 (all the local broker speaks), save folders inside the home, no game launch."""
    settings = ctx.settings
    settings.set("mqtt_protocol", "mqtt311")
    settings.set("launch_game", False)
    endpoints = ctx.endpoints
    settings.set("iot_endpoint", endpoints.iot_endpoint)
    settings.set("iot_port", endpoints.iot_port)
    if endpoints.iot_ca_file:
        settings.set("iot_ca_file", endpoints.iot_ca_file)
    for game_type, key in SAVE_DIR_SETTINGS.items():
        folder = home / "saves" / game_type.lower()
        folder.mkdir(parents=True, exist_ok=True)
        settings.set(key, str(folder))
    settings.save()


def _process_running(pid: int) -> bool:
    """Whether a process with this id exists (POSIX); elsewhere unknown, so assumed running."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but another user's
        return True
    return True


def _owner(home: Path) -> int | None:
    try:
        text = (home / OWNER_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def clear_stale_demo_homes(
    temp_dir: str | os.PathLike[str] | None = None,
    *,
    is_running: Callable[[int], bool] = _process_running,
    now: Callable[[], float] = time.time,
) -> list[Path]:
    """Delete the homes that demos which were killed or crashed left in the temp folder; returns them.

    Only this user's real folders (never a link) named like a demo home are considered, and only when the demo
    they name in their owner file is gone (or, without an owner file, after a day).
    """
    folder = Path(temp_dir if temp_dir is not None else tempfile.gettempdir())
    removed: list[Path] = []
    try:
        candidates = sorted(folder.glob(HOME_PREFIX + "*"))
    except OSError:
        return removed
    for home in candidates:
        try:
            info = home.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            continue
        pid = _owner(home)
        if pid is not None and (pid == os.getpid() or is_running(pid)):
            continue
        if pid is None and now() - info.st_mtime < STALE_WITHOUT_OWNER_SECONDS:
            continue
        shutil.rmtree(home, ignore_errors=True)
        if not home.exists():
            log.info("demo: removed %s, left behind by a demo that did not finish", home)
            removed.append(home)
    return removed


class DemoSession:
    """Everything of a demo except the GUI: temp home, simulator, broker, world and the app context."""

    def __init__(
        self, *, seed: int | None = None, turn_interval: tuple[float, float] = (10, 20), stage: str = "prod"
    ) -> None:
        clear_stale_demo_homes()
        self.home = Path(tempfile.mkdtemp(prefix=HOME_PREFIX))
        (self.home / OWNER_FILE).write_text(f"{os.getpid()}\n", encoding="ascii")
        self.simulator = PydtSimulator()
        self.broker = DemoBroker(tls=True, cert_dir=self.home / "certs")
        self.world = DemoWorld(self.simulator, self.broker.publish, stage=stage, seed=seed, turn_interval=turn_interval)
        self.stage = stage
        self.token = ""
        self.environ: dict[str, str] = {}
        self.ctx: DemoContext | None = None

    def open(self) -> DemoSession:
        """Start the service and broker, fill the world and write the demo settings (call close() after)."""
        try:
            self.simulator.start()
            self.broker.start()
            self.broker.add_subscribe_listener(self.world.on_subscribed)
            self.token = self.world.populate()
            self.environ = demo_environment(
                self.home, self.simulator.base_url, self.broker.port, stage=self.stage, ca_file=self.broker.ca_file
            )
            base = load_context(self.environ)
            self.ctx = DemoContext(**{f.name: getattr(base, f.name) for f in fields(AppContext)})
            _configure(self.ctx, self.home)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop the timers, the broker and the service; delete the temp home (certificates included)."""
        self.world.stop()
        self.broker.stop()
        self.simulator.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> DemoSession:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Interrupted(Exception):
    """SIGTERM arrived before the app took over the signals."""


def _raise_interrupted(_signum: int, _frame: object) -> None:
    raise _Interrupted


_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _turn_interval(default: tuple[float, float], environ: Mapping[str, str]) -> tuple[float, float]:
    text = environ.get(TURN_SECONDS_VARIABLE, "").strip()
    return parse_turn_seconds(text) if text else default


class DemoCheck:
    """``--check``: pass at the first turn notification, fail when none came within ``timeout`` seconds.

    After the pass the app runs ``linger`` seconds more: the notification is handed to the desktop's
    notification server by a worker thread, and quitting at once could cut it off before it is shown.
    """

    def __init__(self, timeout: float, clock: Callable[[], float] = time.monotonic, linger: float = 2.0) -> None:
        self.linger = linger
        self.timeout = timeout
        self.clock = clock
        self.started = clock()
        self.passed: str | None = None

    def attach(self, app: StartedApp) -> None:
        """Watch the running ``app``: its ``notified`` signal, a deadline timer, ``quit()``."""
        from PySide6.QtCore import QTimer

        def notified(note: Any) -> None:
            if self.passed is None:
                self.passed = note.title
                seconds = self.clock() - self.started
                print(
                    f'pydt-tray demo: check passed: "{note.title}" notified {seconds:.1f} s after start '
                    f"(notifications through {app.notifier.name})",
                    flush=True,
                )
                QTimer.singleShot(int(self.linger * 1000), app.quit)

        def expired() -> None:
            if self.passed is None:
                print(f"pydt-tray demo: check FAILED: no turn notification within {self.timeout:g} s", flush=True)
                app.quit()

        app.notified.connect(notified)
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(expired)
        self._timer.start(int(self.timeout * 1000))

    def exit_code(self, app_code: int) -> int:
        return app_code if self.passed is not None else 1


def check_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Variables to set for a check run: no display -> Qt's offscreen platform; quick opponents."""
    extra = {}
    if not environ.get("QT_QPA_PLATFORM") and not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        extra["QT_QPA_PLATFORM"] = "offscreen"
    if not environ.get(TURN_SECONDS_VARIABLE):
        extra[TURN_SECONDS_VARIABLE] = CHECK_TURN_SECONDS
    return extra


def run_demo(
    *,
    hidden: bool = False,
    seed: int | None = None,
    turn_interval: tuple[float, float] = (10, 20),
    debug: bool = False,
    check: bool = False,
    check_timeout: float = CHECK_TIMEOUT,
) -> int:
    """Run the demo until the app quits; returns the exit code. Leaves no file behind.

    ``check``: a non-interactive run (hidden; offscreen without a display) that exits 0 at the first turn
    notification and 1 when none came within ``check_timeout`` seconds.
    """
    from pydt_tray.core.logs import setup_logging, teardown_logging
    from pydt_tray.sandbox.demo_turn import run_demo_gui

    checker: DemoCheck | None = None
    if check:
        os.environ.update(check_environment(os.environ))
        hidden = True
        checker = DemoCheck(check_timeout)
    try:
        turn_interval = _turn_interval(turn_interval, os.environ)
    except ValueError as error:
        print(f"pydt-tray demo: {error}", file=sys.stderr)
        return 2
    previous = {sig: signal.signal(sig, _raise_interrupted) for sig in _STOP_SIGNALS}
    session = DemoSession(seed=seed, turn_interval=turn_interval)
    try:
        print(f"pydt-tray demo: home={session.home}", flush=True)
        session.open()
        assert session.ctx is not None
        setup_logging(session.ctx.paths.log_dir, debug=debug)
        session.world.start()
        log.info("demo: service at %s, broker at %s", session.simulator.base_url, session.broker.ws_url)
        code = run_demo_gui(
            session.ctx,
            hidden=hidden,
            title_suffix=TITLE_SUFFIX,
            token=session.token,
            on_started=checker.attach if checker is not None else None,
        )
        return checker.exit_code(code) if checker is not None else code
    except (_Interrupted, KeyboardInterrupt):
        return 1 if checker is not None else 0
    finally:
        session.close()
        teardown_logging()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("pydt-tray demo: stopped, temporary files removed", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pydt-tray demo", description="Try pydt-tray with simulated games.")
    parser.add_argument("--hidden", action="store_true", help="start in the tray without opening the window")
    parser.add_argument("--debug", action="store_true", help="also log to the console, in detail")
    parser.add_argument("--seed", type=int, default=None, help="make the opponents' timing repeatable")
    add_check_options(parser)
    args = parser.parse_args(argv)
    return run_demo(hidden=args.hidden, seed=args.seed, debug=args.debug, check=args.check, check_timeout=args.timeout)


if __name__ == "__main__":
    raise SystemExit(main())
