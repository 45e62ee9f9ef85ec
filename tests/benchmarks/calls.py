"""Requests per user-day, pydt-tray beside the official client (a fake clock; the real engine and simulator)."""

from __future__ import annotations

from tests.helpers.service_day import KINDS, DayPlan, official_day, run_day
from tests.helpers.simulator import InstrumentedSimulator
from tests.helpers.simulator_fixtures import seeded_world


def bench_calls(plan: DayPlan | None = None) -> None:
    plan = plan or DayPlan()
    with InstrumentedSimulator() as simulator:
        world = seeded_world(simulator)
        run, ours = run_day(simulator, world, plan)
        run.close()
    official = official_day(plan)
    print(
        f"[6] requests per user-day (push live, {plan.turns} turns, {plan.smack_posts} smack posts, "
        f"{plan.reconnects} reconnects of {plan.outage_seconds:g} s; fake clock):"
    )
    print(f"    {'kind':<12} {'pydt-tray':>10} {'official':>10}")
    for kind in KINDS:
        print(f"    {kind:<12} {ours[kind]:>10} {official[kind]:>10}")
    api_ours = ours["/user/games"] + ours["other API"]
    api_official = official["/user/games"] + official["other API"]
    s3_ours, s3_official = ours["pollUrl"] + ours["S3 other"], official["pollUrl"] + official["S3 other"]
    print(f"    API gateway {api_ours:>10} {api_official:>10}   (goal: fewer)")
    print(f"    S3 GETs     {s3_ours:>10} {s3_official:>10}   (goal: no more)")
    print(f"    loads {len(run.results)}; pushes {run.pushes}, loads for a push {run.loads_for('push')}")
