"""On-demand benchmarks of the real-time path. Prints numbers; asserts nothing.

    python -m tests.benchmarks.run                 # everything, default sizes
    python -m tests.benchmarks.run --turns 50 --idle-minutes 1 --starts 3 --only latency burst relay footprint

1. publish -> notify latency, end to end (mosquitto over WSS+TLS, simulator, D-Bus), over N turns
2. fetches caused by a burst of 30 messages in 100 ms
3. memory: a floor process (bare QApplication + tray icon importing the same libraries) and the running
   `pydt-tray`, connected and idle, side by side: RSS, PSS and the difference (medians of --footprint-runs);
   with `--only frozen`, the same on the frozen build in --bundle (the floor is frozen alongside, ~20 s)
4. process start -> subscribed (the broker sees our SUBSCRIBE)
5. idle over --idle-minutes: wake-ups (voluntary context switches, all threads) and CPU seconds per minute
6. requests per user-day on a fake clock, beside the official client's (tests/benchmarks/calls.py)
7. cost per number of games: CPU per push, games window render time, RSS (tests/benchmarks/scaling.py)
8. new turn (simulator state change + webhook POST) -> notify through the local ntfy relay, over N turns,
   printed beside the IoT figure of [1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.benchmarks.stack import BenchStack

PACE_SECONDS = 0.3  # longer than the engine's 250 ms window, so every turn gets a leading-edge fetch
RESULTS: dict[str, list[float]] = {}


def summary(latencies: list[float]) -> str:
    return (
        f"p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def run_event_loop_until(condition, timeout: float) -> bool:
    """Spin the Qt event loop (the app's work happens there) until ``condition`` holds."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.monotonic() + timeout
    result = {"ok": False}

    def check() -> None:
        if condition():
            result["ok"] = True
            loop.quit()
        elif time.monotonic() > deadline:
            loop.quit()

    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(check)
    timer.start()
    check()
    if not result["ok"]:
        loop.exec()
    timer.stop()
    return result["ok"]


def start_in_process_app(stack: BenchStack):
    from PySide6.QtWidgets import QApplication

    from pydt_tray.app import TrayApp
    from pydt_tray.core.context import load_context

    qapp = QApplication.instance() or QApplication([])
    ctx = load_context(stack.app_env(stack.root / "home-inprocess"))
    app = TrayApp(qapp, ctx, show_window=False)
    app.start(token=stack.world.token)
    ok = run_event_loop_until(
        lambda: (
            app.push.state.live
            and app.session.engine.fetch_count >= 2
            and not app.session.engine.busy
            and len(stack.notifications.notifications) >= 1
        ),
        timeout=20,
    )
    if not ok:
        raise RuntimeError("the app did not connect and sync within 20 s")
    return app


def bench_latency(stack: BenchStack, app, turns: int) -> None:
    sim, world, server = stack.simulator, stack.world, stack.notifications
    game = sim.add_game(name="Latency bench", players=[world.me, world.alice], current=world.alice, turn=2)
    topic = stack.topic(world.me)
    latencies: list[float] = []
    for _ in range(turns):
        sim.advance_turn(game)  # Alice -> me (no hook is installed: we publish ourselves, timed)
        run_event_loop_until(lambda: False, PACE_SECONDS)
        seen = len(server.notifications)
        started = time.perf_counter()
        stack.broker.publish(topic, b"Hello!")
        if not run_event_loop_until(lambda seen=seen: len(server.notifications) > seen, timeout=5):
            raise RuntimeError("no notification within 5 s")
        latencies.append((server.notifications[-1].received_at - started) * 1000)
        sim.advance_turn(game)  # me -> Alice
    RESULTS["iot"] = latencies
    print(
        f"[1] publish -> notify over {turns} turns: p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms (goal p50 <= 20, p95 <= 50)"
    )


def bench_relay_latency(stack: BenchStack, app, turns: int) -> None:
    """Turn the relay on for the app's account, then time new turn -> notification through it (IoT stays on,
    but nothing publishes to it here: the simulator's IoT hook is not installed in the benchmarks)."""
    sim, world, server = stack.simulator, stack.world, stack.notifications
    outcomes: list[object] = []
    app.push.relay.enable_finished.connect(outcomes.append)
    app.relay.enable(stack.relay.url, "", False)  # what the settings window's button does
    if not run_event_loop_until(lambda: bool(outcomes) and app.push.relay.live, timeout=20):
        raise RuntimeError(f"the relay was not live within 20 s: {outcomes}")
    game = sim.add_game(name="Relay bench", players=[world.me, world.alice], current=world.alice, turn=2)
    run_event_loop_until(lambda: not app.session.engine.busy, timeout=5)
    latencies: list[float] = []
    for _ in range(turns):
        run_event_loop_until(lambda: False, PACE_SECONDS)
        seen = len(server.notifications)
        started = time.perf_counter()
        sim.advance_turn(game)  # Alice -> me: the state changes and the webhook POST goes to the relay
        if not run_event_loop_until(lambda seen=seen: len(server.notifications) > seen, timeout=5):
            raise RuntimeError("no notification through the relay within 5 s")
        latencies.append((server.notifications[-1].received_at - started) * 1000)
        run_event_loop_until(lambda: not app.session.engine.busy, timeout=5)
        sim.advance_turn(game)  # me -> Alice (Alice has no webhook)
    RESULTS["relay"] = latencies
    print(
        f"[5] new turn -> notify through the relay over {turns} turns: {summary(latencies)} (goal p50 <= 20, p95 <= 50)"
    )
    if "iot" in RESULTS:
        print(f"    beside [1] IoT publish -> notify: {summary(RESULTS['iot'])}")


def bench_burst(stack: BenchStack, app, rounds: int = 10) -> None:
    sim, world = stack.simulator, stack.world
    game = sim.add_game(name="Burst bench", players=[world.me, world.alice], current=world.alice, turn=2)
    topic = stack.topic(world.me)
    counts: list[int] = []
    for _ in range(rounds):
        sim.advance_turn(game)
        run_event_loop_until(lambda: False, PACE_SECONDS)
        before = app.session.engine.fetch_count
        messages = app.push.messages

        def burst() -> None:
            for _ in range(30):  # 30 messages spread over ~100 ms, from another thread
                stack.broker.publish(topic, b"Hello!")
                time.sleep(0.1 / 30)

        thread = threading.Thread(target=burst)
        thread.start()
        run_event_loop_until(lambda messages=messages: app.push.messages - messages >= 30, timeout=10)
        thread.join()
        run_event_loop_until(lambda: not app.session.engine.busy, timeout=5)
        run_event_loop_until(lambda: False, PACE_SECONDS)  # anything still to come would show now
        counts.append(app.session.engine.fetch_count - before)
        sim.advance_turn(game)
    print(
        f"[2] fetches per 30-message burst over {rounds} bursts: median {statistics.median(counts):g}, "
        f"max {max(counts)} (goal <= 2)"
    )


def process_env(stack: BenchStack) -> dict[str, str]:
    """The environment of a signed-in ``pydt-tray`` child process."""
    program = shutil.which("pydt-tray")
    if program is None:
        raise RuntimeError("pydt-tray is not installed: pip install -e .")
    home = stack.root / "home-process"
    env = {**os.environ, **stack.keyring_env, **stack.app_env(home), "QT_QPA_PLATFORM": "offscreen"}
    if home.exists():
        return env
    login = subprocess.run(
        [program, "login", "--token-stdin"],
        input=stack.world.token + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    if login.returncode != 0:
        raise RuntimeError(f"login failed: {login.stderr}")
    return env


def bench_process(stack: BenchStack, starts: int) -> None:
    program = shutil.which("pydt-tray")
    assert program is not None
    env = process_env(stack)
    timings: list[float] = []
    for attempt in range(starts):
        subscribes = stack.broker.log_text().count("Received SUBSCRIBE")
        started = time.perf_counter()
        process = subprocess.Popen(
            [program, "--hidden"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while stack.broker.log_text().count("Received SUBSCRIBE") <= subscribes:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the app did not subscribe within 20 s")
            time.sleep(0.002)
        timings.append(time.perf_counter() - started)
        if attempt < starts - 1:
            process.terminate()
            process.wait(timeout=10)
    print(
        f"[4] process start -> subscribed over {starts} starts: median {statistics.median(timings):.2f} s, "
        f"max {max(timings):.2f} s (goal <= 1.5 s)"
    )
    process.terminate()
    code = process.wait(timeout=10)
    print(f"    exit code after SIGTERM: {code}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--footprint-runs", type=int, default=3, help="side-by-side starts for the memory medians")
    parser.add_argument("--settle-seconds", type=float, default=20.0, help="wait after subscribing before measuring")
    parser.add_argument("--idle-minutes", type=float, default=5.0, help="length of the idle measurement")
    parser.add_argument("--games", type=int, nargs="*", default=[1, 10, 50, 200], help="sizes of the scaling table")
    parser.add_argument("--bundle", type=Path, default=Path("dist/pydt-tray"), help="the frozen build, for 'frozen'")
    kinds = ["latency", "burst", "process", "footprint", "calls", "scaling", "relay", "frozen"]
    parser.add_argument("--only", nargs="*", choices=kinds, default=None)
    args = parser.parse_args(argv)
    chosen = set(args.only or kinds)
    if "calls" in chosen:
        from tests.benchmarks.calls import bench_calls

        bench_calls()
    if "scaling" in chosen:
        from tests.benchmarks.scaling import bench_scaling

        bench_scaling(args.games)
    if not chosen & {"latency", "burst", "process", "footprint", "relay", "frozen"}:
        return 0
    with BenchStack(keyring=bool(chosen & {"process", "footprint", "relay", "frozen"})) as stack:
        if chosen & {"latency", "burst", "relay"}:
            app = start_in_process_app(stack)
            try:
                if "latency" in chosen:
                    bench_latency(stack, app, args.turns)
                if "burst" in chosen:
                    bench_burst(stack, app)
                if "relay" in chosen:
                    bench_relay_latency(stack, app, args.turns)
            finally:
                app.quit()
        if "process" in chosen:
            bench_process(stack, args.starts)
        if "footprint" in chosen:
            from tests.benchmarks.footprint import bench_footprint

            bench_footprint(stack, process_env(stack), args.footprint_runs, args.settle_seconds, args.idle_minutes)
        if "frozen" in chosen and args.only:  # on demand only: it freezes the floor first
            from tests.benchmarks.frozen import bench_frozen_footprint

            bench_frozen_footprint(stack, process_env(stack), args.bundle, args.footprint_runs, args.settle_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
