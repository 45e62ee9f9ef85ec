"""Smoke test of the FROZEN pydt-tray (PyInstaller bundle, or the program the .deb installed). Prints numbers.

    python -m tests.packaging.smoke                                   # dist/pydt-tray/pydt-tray
    python -m tests.packaging.smoke --program /usr/bin/pydt-tray --no-demo

For each program, against the real stack (private D-Bus session, the fake notification server, an unlocked
gnome-keyring, the PYDT simulator, mosquitto over WSS + TLS):

1. ``--version`` prints ``pydt-tray <version>``;
2. ``login --token-stdin`` stores the token in gnome-keyring, the backend found through keyring's entry
   points (package metadata must have been bundled);
3. ``--hidden`` subscribes (the broker logs SUBSCRIBE), paints its SVG app icon, and when the simulator moves
   a game to the user's turn and "Hello!" is published, a push-driven fetch ends in a D-Bus notification;
4. after ~10 s idle its RSS is read; SIGTERM ends it with exit code 0;
5. (unless ``--no-demo``) ``demo`` shows a push-driven notification and exits 0 on SIGTERM.

Exits 1 on the first failure, with the app's output; never skips a missing tool.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pydt_tray
from pydt_tray.core.credentials import SERVICE, USERNAME
from tests.benchmarks.stack import BenchStack
from tests.helpers.notification_server import FakeNotificationServer, ReceivedNotification

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PROGRAM = ROOT / "dist" / "pydt-tray" / "pydt-tray"
BUNDLE_GOAL_MB = 150
START_TIMEOUT = 30.0
NOTIFY_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
PACE_SECONDS = 0.3  # longer than the sync engine's 250 ms follow-up window
PASSED_THROUGH = ("PATH", "LANG", "LC_ALL")


class SmokeFailure(Exception):
    """A check failed; the message says which and shows what the program printed."""


def wait_until(condition: Callable[[], bool], timeout: float, what: str, process: subprocess.Popen | None = None):
    """Poll ``condition`` every 10 ms; fail after ``timeout`` s or as soon as ``process`` exits."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise SmokeFailure(f"the program exited with {process.returncode} while waiting for {what}")
        if time.monotonic() >= deadline:
            raise SmokeFailure(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.01)


def bundle_dir(program: Path) -> Path:
    return Path(os.path.realpath(program)).parent


def du_mb(folder: Path) -> float:
    total = sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return total / 2**20


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024


class FrozenRun:
    """One program under test, with a hermetic environment and a folder of its own."""

    def __init__(self, program: Path, stack: BenchStack, root: Path, *, bundled_keys: bool = False) -> None:
        self.program = program
        self.stack = stack
        self.root = root
        self.home = root / "pydt-home"
        for folder in (self.home, root / "user-home", root / "runtime"):
            folder.mkdir(mode=0o700, parents=True)
        self.env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
        self.env.update(
            {
                "HOME": str(root / "user-home"),
                "XDG_RUNTIME_DIR": str(root / "runtime"),
                "DBUS_SESSION_BUS_ADDRESS": stack.bus.address,
                "QT_QPA_PLATFORM": "offscreen",
                **stack.app_env(self.home),
            }
        )
        if bundled_keys:  # the bundle must bring its own key pair (PYDT_BUILD_IOT_* at build time)
            del self.env["PYDT_IOT_ACCESS_KEY_ID"], self.env["PYDT_IOT_SECRET_ACCESS_KEY"]

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "pydt-tray.log"

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.is_file() else ""

    def run(self, *args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.program), *args], input=stdin, capture_output=True, text=True, env=self.env,
            cwd=self.root, timeout=timeout, check=False,
        )  # fmt: skip

    def start(self, *args: str, env: dict[str, str] | None = None, name: str = "app") -> subprocess.Popen[bytes]:
        with open(self.root / f"{name}.out", "wb") as out:
            return subprocess.Popen(
                [str(self.program), *args], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**self.env, **(env or {})}, cwd=self.root,
            )  # fmt: skip

    def output(self, name: str = "app") -> str:
        path = self.root / f"{name}.out"
        return path.read_text(errors="replace")[-3000:] if path.is_file() else ""


def stop(process: subprocess.Popen, what: str) -> float:
    """SIGTERM, then require exit code 0; returns the seconds it took."""
    started = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise SmokeFailure(f"{what} did not stop within {STOP_TIMEOUT:g} s of SIGTERM") from None
    if code != 0:
        raise SmokeFailure(f"{what} exited with {code} after SIGTERM")
    return time.perf_counter() - started


def check_version(run: FrozenRun) -> None:
    result = run.run("--version", timeout=30)
    expected = f"pydt-tray {pydt_tray.__version__}"
    if result.returncode != 0 or result.stdout.strip() != expected:
        raise SmokeFailure(
            f"--version: expected {expected!r}, got {result.returncode} {result.stdout!r} {result.stderr}"
        )
    print(f"    --version: {result.stdout.strip()}")


def check_login(run: FrozenRun) -> None:
    from keyring.backends.SecretService import Keyring

    result = run.run("--debug", "login", "--token-stdin", stdin=run.stack.world.token + "\n")
    if result.returncode != 0:
        raise SmokeFailure(f"login exited with {result.returncode}: {result.stderr[-2000:]}")
    if "keyring.backend: Loading SecretService" not in result.stderr:
        raise SmokeFailure("keyring did not load its backends through entry points (metadata not bundled?)")
    entry = f"{USERNAME}:{run.stack.world.me}"  # one entry per account, named by its Steam id
    if Keyring().get_password(SERVICE, entry) != run.stack.world.token:
        raise SmokeFailure(f"login succeeded but gnome-keyring does not hold the token under {entry!r}")
    print(f"    login: {result.stdout.strip()} (token in gnome-keyring via the SecretService entry point)")


def fetch_requests(stack: BenchStack) -> int:
    """Game-list requests the simulator has received (full fetches and cache polls)."""
    return stack.simulator.request_count("games") + stack.simulator.request_count("poll")


def push_fetch_logged(run: FrozenRun) -> bool:
    """The log has a sync fetch whose reasons include a push ("fetch #3 for push", "... for connected, push")."""
    return any("fetch #" in line and "push" in line.split(" for ")[-1] for line in run.log_text().splitlines())


def check_tray(run: FrozenRun, idle_seconds: float) -> dict[str, float]:
    stack = run.stack
    subscribes = stack.broker.log_text().count("Received SUBSCRIBE")
    world = stack.world
    name = f"Smoke test {run.root.name}"  # a game of its own for each program under test
    game = stack.simulator.add_game(name=name, players=[world.alice, world.me, world.bob], current=world.alice, turn=3)
    fetches = fetch_requests(stack)
    started = time.perf_counter()
    process = run.start("--debug", "--hidden")
    numbers: dict[str, float] = {}
    try:
        wait_until(
            lambda: stack.broker.log_text().count("Received SUBSCRIBE") > subscribes, START_TIMEOUT,
            "the frozen app to subscribe", process,
        )  # fmt: skip
        numbers["subscribed_s"] = time.perf_counter() - started
        print(f"    start -> subscribed: {numbers['subscribed_s']:.2f} s")
        log = run.log_text()
        if "could not be loaded; using the painted icon" in log:
            raise SmokeFailure("the app icon could not be loaded (its PNGs missing from the bundle?)")

        # The start fetch and the catch-up after subscribing must have read the games before the turn
        # moves, so that only a push-driven fetch can see the new turn.
        wait_until(lambda: fetch_requests(stack) >= fetches + 2, NOTIFY_TIMEOUT, "the start and catch-up fetches")
        time.sleep(PACE_SECONDS)  # past the engine's coalescing window: measure a leading-edge fetch
        seen = len(stack.notifications.notifications)
        published = time.perf_counter()
        stack.simulator.advance_turn(game)  # Alice finished: now it is "me"; the hook publishes "Hello!"
        note = wait_for_notification(stack.notifications, f"Your turn: {name}", seen, process)
        numbers["publish_to_notify_ms"] = (note.received_at - published) * 1000
        wait_until(lambda: push_fetch_logged(run), NOTIFY_TIMEOUT, "a push-driven fetch in the log", process)
        print(f"    advance + publish -> notification {note.summary!r}: {numbers['publish_to_notify_ms']:.0f} ms")

        deadline = time.monotonic() + idle_seconds
        wait_until(lambda: time.monotonic() >= deadline, idle_seconds + 1, "the idle period", process)
        numbers["idle_rss_mb"] = rss_mb(process.pid)
        print(f"    idle RSS after {idle_seconds:g} s: {numbers['idle_rss_mb']:.1f} MB")
        numbers["stop_s"] = stop(process, "the tray app")
        print(f"    SIGTERM -> exit 0 in {numbers['stop_s']:.2f} s")
        check_no_secret(run)
    except SmokeFailure as failure:
        raise SmokeFailure(
            f"{failure}\n--- app output ---\n{run.output()}\n--- log ---\n{run.log_text()[-3000:]}"
        ) from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return numbers


def check_no_secret(run: FrozenRun) -> None:
    """The IoT secret (from the environment, or the one bundled at build time) is in no output or log."""
    secrets = {
        os.environ.get("PYDT_BUILD_IOT_SECRET_ACCESS_KEY", ""),
        run.stack.app_env(run.home)["PYDT_IOT_SECRET_ACCESS_KEY"],
    }
    texts = {"the app output": run.output(), "the log": run.log_text()}
    for secret in filter(None, secrets):
        leaked = [where for where, text in texts.items() if secret in text]
        if leaked:
            raise SmokeFailure(f"the IoT secret access key appears in {', '.join(leaked)}")


def wait_for_notification(
    server: FakeNotificationServer, summary: str, after: int, process: subprocess.Popen
) -> ReceivedNotification:
    def found() -> ReceivedNotification | None:
        return next((n for n in server.notifications[after:] if n.summary == summary), None)

    wait_until(lambda: found() is not None, NOTIFY_TIMEOUT, f"the notification {summary!r}", process)
    note = found()
    assert note is not None
    return note


def check_demo(run: FrozenRun) -> None:
    seen = len(run.stack.notifications.notifications)
    process = run.start(
        "--debug", "--hidden", "demo", "--seed", "7", env={"PYDT_DEMO_TURN_SECONDS": "2-4"}, name="demo"
    )
    try:
        wait_until(
            lambda: any(n.summary.startswith("Your turn: ") for n in run.stack.notifications.notifications[seen:]),
            30, "a demo notification", process,
        )  # fmt: skip
        if "push: connected and subscribed" not in run.output("demo"):
            raise SmokeFailure("the demo notified without its push connection")
        stop(process, "the demo")
    except SmokeFailure as failure:
        raise SmokeFailure(f"{failure}\n--- demo output ---\n{run.output('demo')}") from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if "temporary files removed" not in run.output("demo"):
        raise SmokeFailure(f"the demo did not clean up:\n{run.output('demo')}")
    note = next(n for n in run.stack.notifications.notifications[seen:] if n.summary.startswith("Your turn: "))
    print(f"    demo: {note.summary!r} through its embedded broker; exit 0 on SIGTERM")


def smoke(program: Path, stack: BenchStack, *, idle_seconds: float, demo: bool, bundled_keys: bool) -> dict[str, float]:
    if not os.access(program, os.X_OK):
        raise SmokeFailure(f"{program} is not an executable: build it first (bash scripts/build.sh)")
    folder = bundle_dir(program)
    size = du_mb(folder)
    print(f"{program} (bundle {folder}: {size:.1f} MiB unpacked, goal <= {BUNDLE_GOAL_MB} MiB)")
    with tempfile.TemporaryDirectory(prefix="pydt-smoke-") as tmp:
        run = FrozenRun(program, stack, Path(tmp), bundled_keys=bundled_keys)
        check_version(run)
        check_login(run)
        numbers = check_tray(run, idle_seconds)
        if demo:
            check_demo(run)
        # the next program starts signed out
        run.run("logout", timeout=30)
    return {"bundle_mb": size, **numbers}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--program", action="append", type=Path, help="frozen pydt-tray to test (repeatable)")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--no-demo", action="store_true", help="skip `pydt-tray demo` (a bundle built without it)")
    parser.add_argument(
        "--bundled-keys",
        action="store_true",
        help="the bundle was built with PYDT_BUILD_IOT_ACCESS_KEY_ID/_SECRET_ACCESS_KEY set (any values: the test "
        "broker accepts all): run the tray without PYDT_IOT_ACCESS_KEY_ID/_SECRET_ACCESS_KEY",
    )
    args = parser.parse_args(argv)
    programs = [Path(os.path.abspath(program)) for program in args.program or [DEFAULT_PROGRAM]]
    results: list[tuple[Path, dict[str, float]]] = []
    try:
        with BenchStack(keyring=True) as stack:
            stack.simulator.add_change_hook(
                lambda steam_ids, _game, _new_turn: [stack.broker.publish(stack.topic(s), b"Hello!") for s in steam_ids]
            )
            for program in programs:
                numbers = smoke(
                    program,
                    stack,
                    idle_seconds=args.idle_seconds,
                    demo=not args.no_demo,
                    bundled_keys=args.bundled_keys,
                )
                results.append((program, numbers))
    except (SmokeFailure, OSError, subprocess.SubprocessError) as failure:
        print(f"FROZEN SMOKE TEST FAILED: {failure}", file=sys.stderr)
        return 1
    print("summary:")
    for program, n in results:
        print(
            f"  {program}: bundle {n['bundle_mb']:.1f} MiB, start -> subscribed {n['subscribed_s']:.2f} s, "
            f"publish -> notification {n['publish_to_notify_ms']:.0f} ms, idle RSS {n['idle_rss_mb']:.1f} MB"
        )
    big = [program for program, n in results if n["bundle_mb"] > BUNDLE_GOAL_MB]
    if big:
        print(f"FROZEN SMOKE TEST FAILED: bundle over {BUNDLE_GOAL_MB} MiB: {big}", file=sys.stderr)
        return 1
    print("frozen smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
