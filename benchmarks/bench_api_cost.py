"""API cost: requests per minute to each backend with default settings.

Runs the dashboard's real sync engine and clients against the demo world for ten
simulated minutes on a simulated clock (no waiting), once quiet (nobody paged) and once
while a page to me stays unacknowledged, and prints requests per minute per backend
against incident.io's budget of 1200 per minute per key.

    .venv/bin/python benchmarks/bench_api_cost.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import asyncio
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


async def measure(minutes: int, *, paged: bool) -> tuple[dict[str, float], int]:
    clock = Clock()
    demo = build_demo(clock=clock, scenario=paged, background_alerts=0)
    # The demo polls fast (it costs nothing in process); measure the default intervals.
    io = demo.settings.incident_io.model_copy(update={"poll": PollConfig()})
    settings = demo.settings.model_copy(update={"incident_io": io})
    backends = build_backends(settings, transports=demo.transports, tokens=demo.tokens)
    engine = build_engine(backends, clock=clock)
    start = clock()
    triggered = 0
    while clock() - start < timedelta(minutes=minutes):
        await engine.poll_due()
        triggered += engine.world.i_am_paged()
        clock.now += timedelta(seconds=1)
    await backends.aclose()
    per_source = {name: count / minutes for name, count in sorted(backends.stats.by_source.items())}
    return per_source, triggered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10)
    args = parser.parse_args()
    for label, paged in (("quiet", False), ("paged", True)):
        per_source, paged_seconds = asyncio.run(measure(args.minutes, paged=paged))
        total = sum(per_source.values())
        print(f"{label}: {args.minutes} simulated minutes, paged for {paged_seconds}s")
        for name, rate in per_source.items():
            print(f"  {name:<22} {rate:6.1f} requests/min")
        io = sum(r for n, r in per_source.items() if n.startswith("incident.io"))
        print(f"  {'all backends':<22} {total:6.1f} requests/min")
        print(f"  incident.io: {io:.1f}/min = {100 * io / BUDGET:.1f}% of the {BUDGET}/min budget")
        if label == "quiet":
            print(f"  target: <= 30/min quiet -> {'met' if total <= 30 else 'NOT met'}")


if __name__ == "__main__":
    main()
