"""On-demand: the chaos run over the real stack, with any seed and length. Prints the report.

    python -m tests.benchmarks.chaos                         # a random seed, 10 minutes
    python -m tests.benchmarks.chaos --seed 1010 --minutes 2 # the CI run (tests/integration/test_chaos.py)
    python -m tests.benchmarks.chaos --seed 77 --minutes 60

What is injected and checked: tests/helpers/chaos.py. The seed is printed first, so a failing run can be
replayed with ``--seed``. Exit status 1 when a turn was missed or notified twice, or an exception escaped.
"""

from __future__ import annotations

import argparse
import random
import sys

from tests.benchmarks.stack import BenchStack
from tests.helpers.chaos import prepare_app, run_chaos, spin_until, wake_sources
from tests.helpers.mosquitto import free_port
from tests.integration.app_harness import publish_hook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=None, help="the run's seed (default: a random one)")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long faults are injected")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    print(f"chaos seed {seed}, {args.minutes:g} minutes (replay: --seed {seed})", flush=True)

    from PySide6.QtWidgets import QApplication

    from pydt_tray.app import TrayApp
    from pydt_tray.core.context import load_context

    with BenchStack() as stack:
        publish_hook(stack.simulator, stack.broker)
        qapp = QApplication.instance() or QApplication([])
        sources, handles = wake_sources()
        port = free_port()
        app = TrayApp(qapp, load_context(stack.app_env(stack.root / "home")), show_window=False, wake_sources=sources)
        prepare_app(app, port)
        app.start(token=stack.world.token)
        engine_idle = lambda: app.session.engine is not None and not app.session.engine.busy  # noqa: E731
        if not spin_until(lambda: app.push.state.live and engine_idle(), 30.0):
            print("the app did not connect within 30 s")
            return 2
        outcome = run_chaos(
            app, stack.simulator, stack.broker, stack.world, stack.notifications,
            seed=seed, seconds=args.minutes * 60, sources=handles, turn_api_port=port,
        )  # fmt: skip
        app.quit()
    report = outcome.report
    print(report.text())
    print(f"faults armed but never hit: {report.unused_faults}; new-turn notifications: {report.notes}")
    print(f"at the end: push live again {outcome.live_again}, Refresh {outcome.refresh_seconds} s "
          f"({outcome.refresh_error or 'no error'}), turn API lists {outcome.turn_api.get('count')} turns")  # fmt: skip
    for label, items in (("missed", report.missed), ("duplicated", report.duplicated), ("stray", report.stray)):
        if items:
            print(f"{label}: {', '.join(items)}")
    for failure in outcome.failures:
        print(f"unhandled: {failure}")
    bad = report.missed or report.duplicated or report.stray or outcome.failures
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
