"""On-demand: a flapping push broker and a kicking one, with the shipped reconnect timings. Prints numbers.

    python -m tests.benchmarks.flapping                       # 3 minutes of flapping, 2 minutes of kicks
    python -m tests.benchmarks.flapping --minutes 15 --up 2 6 --down 0 8 --kick-minutes 5
    python -m tests.benchmarks.flapping --protocols mqtt311 --kick-minutes 0

1. flapping: mosquitto (WSS + TLS) is up for --up seconds, then down for --down seconds (drawn per cycle),
   while a game goes back and forth every few seconds. For each MQTT flavour (one in-process app each):
   the worst and median delay from "the turn became mine" to the notification, turns not notified exactly
   once, connection attempts per minute, the longest reconnect wait.
2. kicks: a server that accepts, grants the subscription and closes at once. For each flavour: attempts
   per minute seen by the server, and the longest reconnect wait.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from pydt_tray.push.connection import PushConfig, PushConnection, make_client_id, new_install_id
from tests.benchmarks.run import run_event_loop_until
from tests.benchmarks.stack import BenchStack
from tests.helpers.flapping import BrokerFlapper, NotificationLog, TurnDriver
from tests.helpers.kick_server import KickServer
from tests.helpers.push_recorder import PushRecorder
from tests.integration.app_harness import publish_hook


def start_app(stack: BenchStack, protocol: str):
    from PySide6.QtWidgets import QApplication

    from pydt_tray.app import TrayApp
    from pydt_tray.core.context import load_context

    qapp = QApplication.instance() or QApplication([])
    ctx = load_context(stack.app_env(stack.root / f"home-{protocol}"))
    ctx.settings.set("mqtt_protocol", protocol)
    app = TrayApp(qapp, ctx, show_window=False)
    app.start(token=stack.world.token)
    engine_idle = lambda: app.session.engine is not None and not app.session.engine.busy  # noqa: E731
    if not run_event_loop_until(lambda: app.push.state.live and engine_idle(), timeout=30):
        raise RuntimeError(f"the {protocol} app did not connect within 30 s")
    return app


def bench_flapping(stack: BenchStack, protocols: list[str], minutes: float, up: list[float], down: list[float]) -> None:
    publish_hook(stack.simulator, stack.broker)
    apps = {protocol: start_app(stack, protocol) for protocol in protocols}
    logs = {protocol: NotificationLog() for protocol in protocols}
    for protocol, app in apps.items():
        app.notified.connect(logs[protocol].record)
    flapper = BrokerFlapper(stack.broker, up=(up[0], up[1]), down=(down[0], down[1])).start()
    driver = TurnDriver(stack.simulator, stack.world.me, stack.world.alice, logs, run_event_loop_until)
    started = time.monotonic()
    try:
        driver.run(minutes * 60)
    finally:
        flapper.stop()
    elapsed = (time.monotonic() - started) / 60
    driver.settle(5.0)
    print(f"[1] flapping for {elapsed:.1f} min (up {up[0]:g}-{up[1]:g} s, down {down[0]:g}-{down[1]:g} s), "
          f"{flapper.restarts} broker restarts")  # fmt: skip
    for protocol, app in apps.items():
        turns = driver.turns[protocol]
        delays = [turn.delay for turn in turns if turn.delay is not None]
        wrong = [turn.number for turn in turns if len(turn.notified) != 1]
        policy = app.push.connection.reconnect_policy
        print(
            f"    {protocol}: {len(turns)} turns, worst notify delay {driver.worst_delay(protocol):.1f} s, "
            f"median {statistics.median(delays) if delays else float('nan'):.2f} s, "
            f"not notified exactly once: {wrong or 'none'}; "
            f"{policy.attempts / elapsed:.1f} connection attempts per minute, "
            f"longest reconnect wait {policy.longest_wait:.1f} s (goals: <= 20 s, <= 30 s)"
        )
        app.quit()


def bench_kicks(stack: BenchStack, protocols: list[str], minutes: float) -> None:
    servers = {p: KickServer(stack.broker.certs.cert_file, stack.broker.certs.key_file) for p in protocols}
    connections: dict[str, PushConnection] = {}
    for protocol, server in servers.items():
        server.__enter__()
        config = PushConfig(
            endpoint="localhost", port=server.port, region="us-east-1", ca_file=stack.broker.ca_file,
            access_key_id="bench", secret_access_key="bench-secret", client_id=make_client_id(new_install_id()),
            topic=stack.topic(stack.world.me), protocol=protocol,
        )  # fmt: skip
        connections[protocol] = PushConnection(config, PushRecorder())
        connections[protocol].start()
    time.sleep(minutes * 60)
    print(f"[2] a server that kicks right after the SUBACK, for {minutes:g} min")
    for protocol, connection in connections.items():
        policy = connection.reconnect_policy
        connection.stop()
        servers[protocol].stop()
        accepted = servers[protocol].accepted
        last_minute = [when for when in accepted if when > accepted[-1] - 60] if accepted else []
        print(
            f"    {protocol}: {len(accepted) / minutes:.1f} attempts per minute overall, {len(last_minute)} in the "
            f"last minute, longest reconnect wait {policy.longest_wait if policy else float('nan'):.1f} s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0, help="how long the broker flaps (0: skip)")
    parser.add_argument("--up", type=float, nargs=2, default=[5.0, 10.0], metavar=("MIN", "MAX"))
    parser.add_argument("--down", type=float, nargs=2, default=[1.0, 4.0], metavar=("MIN", "MAX"))
    parser.add_argument("--kick-minutes", type=float, default=2.0, help="how long the kicking server runs (0: skip)")
    parser.add_argument("--protocols", nargs="+", choices=["mqtt5", "mqtt311"], default=["mqtt5", "mqtt311"])
    args = parser.parse_args(argv)
    with BenchStack() as stack:
        if args.minutes > 0:
            bench_flapping(stack, args.protocols, args.minutes, args.up, args.down)
        if args.kick_minutes > 0:
            bench_kicks(stack, args.protocols, args.kick_minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
