"""API cost: requests per minute to each backend with default settings.

Runs the dashboard's real sync engine and clients against the demo world for ten
simulated minutes on a simulated clock (no waiting), once quiet (nobody paged), once
while a page to me stays unacknowledged, and once with 10,000 firing alerts (``--alerts``)
of which 1% a minute change (half fire anew, half resolve), and prints requests per
minute per backend against incident.io's budget of 1200 per minute, which the whole
organisation shares. Target at 10,000 firing alerts: incident.io <= 60 a minute, the
first load included, and no minute above it once loaded.

    .venv/bin/python benchmarks/bench_api_cost.py [--minutes 10] [--alerts 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
from datetime import UTC, datetime, timedelta

from oncall_tui.config import PollConfig
from oncall_tui.core.sources import build_backends, build_engine
from oncall_tui.sim.demo import build_demo

BUDGET = 1200


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


async def measure(
    minutes: int, *, paged: bool, alerts: int = 0
) -> tuple[dict[str, float], int, list[int]]:
    """Requests a minute per backend, seconds paged, and incident.io requests in each
    simulated minute."""
    clock = Clock()
    demo = build_demo(clock=clock, scenario=paged, background_alerts=0)
    if alerts:
        demo.world.add_bulk_alerts(alerts)
    rng = random.Random(5)
    churned = 0
    # The demo polls fast (it costs nothing in process); measure the default intervals.
    io = demo.settings.incident_io.model_copy(update={"poll": PollConfig()})
    settings = demo.settings.model_copy(update={"incident_io": io})
    backends = build_backends(settings, transports=demo.transports, tokens=demo.tokens)
    engine = build_engine(backends, clock=clock)
    start = clock()
    triggered = 0
    per_minute: list[int] = []
    minute_start = 0
    while clock() - start < timedelta(minutes=minutes):
        await engine.poll_due()
        triggered += engine.world.i_am_paged()
        clock.now += timedelta(seconds=1)
        elapsed = int((clock() - start).total_seconds())
        if alerts and elapsed % 60 == 30:
            # 1% of the firing alerts change a minute: half resolve, as many fire anew.
            firing = [a.id for a in demo.world.alerts.values() if a.status == "firing"]
            for alert_id in rng.sample(firing, alerts // 200):
                demo.world.resolve_alert(alert_id, at=clock(), record=False)
            for _ in range(alerts // 200):
                churned += 1
                demo.world.fire_alert(
                    title=f"churn {churned}", dedup_key=f"churn-{churned}", at=clock(), page=False
                )
        if elapsed % 60 == 0:
            io_total = sum(
                n for name, n in backends.stats.by_source.items() if name.startswith("incident.io")
            )
            per_minute.append(io_total - minute_start)
            minute_start = io_total
    shown = {a.id for a in engine.snapshot().alerts if a.source == "incident.io"}
    await backends.aclose()
    per_source = {name: count / minutes for name, count in sorted(backends.stats.by_source.items())}
    if alerts:
        firing = {a.id for a in demo.world.alerts.values() if a.status == "firing"}
        print(
            f"  firing in the world at the end: {len(firing)}; on the dashboard: {len(shown)};"
            f" missing {len(firing - shown)}, extra {len(shown - firing)}"
        )
    return per_source, triggered, per_minute


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--alerts", type=int, default=10_000)
    args = parser.parse_args()
    cases = (("quiet", False, 0), ("paged", True, 0), (f"{args.alerts} firing", False, args.alerts))
    for label, paged, alerts in cases:
        per_source, paged_seconds, per_minute = asyncio.run(
            measure(args.minutes, paged=paged, alerts=alerts)
        )
        total = sum(per_source.values())
        print(f"{label}: {args.minutes} simulated minutes, paged for {paged_seconds}s")
        for name, rate in per_source.items():
            print(f"  {name:<22} {rate:6.1f} requests/min")
        io = sum(r for n, r in per_source.items() if n.startswith("incident.io"))
        print(f"  {'all backends':<22} {total:6.1f} requests/min")
        print(f"  incident.io: {io:.1f}/min = {100 * io / BUDGET:.1f}% of the {BUDGET}/min budget")
        print(f"  incident.io requests in each minute: {per_minute}")
        if label == "quiet":
            print(f"  target: <= 30/min quiet -> {'met' if total <= 30 else 'NOT met'}")
        if alerts:
            worst = max(per_minute[1:], default=0)
            ok = io <= 60 and worst <= 60
            print(
                f"  target at {alerts} firing: incident.io <= 60/min over the run and in every"
                f" minute after the first -> {'met' if ok else 'NOT met'} (worst minute {worst})"
            )


if __name__ == "__main__":
    main()
