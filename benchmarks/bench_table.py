"""How long the alert table takes to take in a new row list at 10,000 rows.

Run: ``.venv/bin/python benchmarks/bench_table.py [--rows N] [--repeat R]``

Measures, inside a headless Textual app (120×40):

* update: 1% of 10,000 rows change (state/severity), ``AlertTable.update_rows`` plus the
  repaint of the screen that follows;
* filter keystroke: ``views.alert_rows`` over a prebuilt ``AlertIndex`` with one more
  character of query, then ``update_rows`` and the repaint;
* scroll: one page down with the cursor.

"paint" is the widget drawing every visible line for one frame (``render_lines`` over
its region), the work the compositor asks of it; Textual's own compositing and the
terminal write come on top and do not depend on the number of rows.

Prints median and worst figures; asserts nothing (speed is not a test).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from textual.app import App, ComposeResult
from textual.geometry import Region

from oncall_tui.core.views import AlertFilter, AlertIndex, alert_rows
from oncall_tui.domain import Alert, Link
from oncall_tui.ui.app import SEMANTIC_DEFAULTS
from oncall_tui.ui.widgets.alert_table import AlertTable

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SEVERITIES = ("critical", "major", "warning", "info")
WORDS = [
    "disk",
    "latency",
    "cpu",
    "memory",
    "queue",
    "backlog",
    "error",
    "rate",
    "5xx",
    "timeout",
    "replica",
    "lag",
    "checkout",
    "payments",
    "search",
    "ingest",
    "api",
    "gateway",
    "kafka",
    "postgres",
    "redis",
]


def make_alerts(n: int, seed: int = 7) -> list[Alert]:
    rng = random.Random(seed)
    alerts = []
    for i in range(n):
        title = " ".join(rng.sample(WORDS, 4)) + f" #{i}"
        alerts.append(
            Alert(
                key=f"grafana:eu:{i:08x}",
                id=f"{i:08x}",
                source="grafana",
                instance=rng.choice(("eu", "us")),
                title=title,
                state="firing",
                severity=rng.choice(SEVERITIES),
                started_at=NOW - timedelta(seconds=rng.randrange(60, 86400)),
                labels=(("team", rng.choice(("payments", "search", "core"))),),
                links=(Link("runbook", url="https://runbooks.example/x"),)
                if rng.random() < 0.7
                else (),
                fingerprint=f"{i:016x}",
            )
        )
    return alerts


class BenchApp(App[None]):
    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(SEMANTIC_DEFAULTS)

    def compose(self) -> ComposeResult:
        yield AlertTable(clock=lambda: NOW)


def timed(samples: list[float], fn) -> None:
    start = time.perf_counter()
    fn()
    samples.append((time.perf_counter() - start) * 1000)


def report(name: str, samples: list[float]) -> None:
    print(
        f"{name:<44} median {statistics.median(samples):7.2f} ms"
        f"   worst {max(samples):7.2f} ms   (n={len(samples)})"
    )


async def main(rows: int, repeat: int) -> None:
    alerts = make_alerts(rows)
    t = time.perf_counter()
    index = AlertIndex(alerts)
    base_rows = list(alert_rows((), index, (), None))
    build_ms = (time.perf_counter() - t) * 1000
    print(
        f"rows: {len(base_rows)} (from {rows} alerts); AlertIndex + alert_rows: {build_ms:.1f} ms"
    )

    app = BenchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(AlertTable)
        table.focus()
        table.update_rows(base_rows)
        await pilot.pause()
        for _ in range(20):
            table.action_cursor_down()
        await pilot.pause()

        def paint() -> None:
            # What the compositor asks of the widget for one frame.
            table.render_lines(Region(0, 0, table.size.width, table.size.height))

        rng = random.Random(1)
        current = list(base_rows)
        update_only: list[float] = []
        with_paint: list[float] = []
        for _ in range(repeat):
            changed = rng.sample(range(len(current)), max(1, len(current) // 100))
            for i in changed:
                row = current[i]
                current[i] = replace(
                    row, state="acked" if row.state == "firing" else "firing", count=row.count + 1
                )
            snapshot = list(current)
            start = time.perf_counter()
            table.update_rows(snapshot)
            mid = time.perf_counter()
            paint()
            end = time.perf_counter()
            await pilot.pause()
            update_only.append((mid - start) * 1000)
            with_paint.append((end - start) * 1000)
        report("update 1% changed: update_rows", update_only)
        report("update 1% changed: update_rows + paint", with_paint)

        query = "payments kafka"
        views_ms: list[float] = []
        table_ms: list[float] = []
        total_ms: list[float] = []
        for _ in range(max(1, repeat // len(query))):
            for n in range(1, len(query) + 1):
                start = time.perf_counter()
                filtered = alert_rows((), index, (), None, AlertFilter(query=query[:n]))
                mid = time.perf_counter()
                table.update_rows(filtered)
                paint()
                end = time.perf_counter()
                await pilot.pause()
                views_ms.append((mid - start) * 1000)
                table_ms.append((end - mid) * 1000)
                total_ms.append((end - start) * 1000)
            table.update_rows(base_rows)
            await pilot.pause()
        report("filter keystroke: views.alert_rows", views_ms)
        report("filter keystroke: update_rows + paint", table_ms)
        report("filter keystroke: total", total_ms)

        table.update_rows(base_rows)
        await pilot.pause()
        page: list[float] = []
        for _ in range(repeat):
            start = time.perf_counter()
            table.action_page_down()
            paint()
            page.append((time.perf_counter() - start) * 1000)
            await pilot.pause()
        report("page down + paint", page)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.repeat))
