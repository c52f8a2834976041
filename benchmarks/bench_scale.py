"""Scale: the whole dashboard with 10,000 firing alerts and 200 pages.

The simulated incident.io runs in its own process (``oncall-tui sim serve`` on loopback,
then ``POST /_sim/bulk`` = ``World.add_bulk_alerts``), so the figures and the memory are
the dashboard's alone. This process runs what ``oncall-tui`` runs: the real client over
HTTP, the sync engine, and the Textual app (headless, 140×40) with its dashboard screen.

Measured:

* fetch: every feed polled once over loopback HTTP until the engine holds everything;
* first render: app start to the first frame of the dashboard showing every row (the
  engine already loaded, as after the first poll);
* refresh: a new alert list in which 1% of the alerts changed (severity and title),
  every alert a new object as a poll brings it, to the repainted screen: snapshot →
  rows (``AlertIndex(previous=)`` + ``alert_rows``) → table update → paint;
* filter keystroke: one character typed in the filter box to the repainted screen;
* RSS: resident memory of this process once the dashboard shows everything (and its
  peak so far), before the refresh measurements add copies of the alert list.

Targets: first render <= 1 s, refresh <= 50 ms, keystroke <= 50 ms, RSS <= 200 MB.
``bench_table.py`` measures the alert table widget alone (no engine, no app); this is the
dashboard as a whole.

    .venv/bin/python benchmarks/bench_scale.py [--alerts 10000] [--pages 200] [--repeat 20]

Prints figures; asserts nothing (speed is not a test).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx

TARGETS = {
    "first render": 1000.0,
    "refresh": 50.0,
    "keystroke": 50.0,
    "key burst": 100.0,
    "rss": 200.0,
}


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def verdict(name: str, value: float) -> str:
    return "met" if value <= TARGETS[name] else "NOT met"


class Timer:
    """Wall and CPU time of a block, in ms. CPU time (this process) is what the work
    costs; wall time also counts waiting for a core when the machine is busy."""

    def __enter__(self) -> Timer:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = (time.perf_counter() - self.wall0) * 1000
        self.cpu = (time.process_time() - self.cpu0) * 1000


def line(name: str, timers: list[Timer], target: str | None = None) -> float:
    """Print median wall, worst wall and median CPU; return the median wall."""
    wall = statistics.median(t.wall for t in timers)
    cpu = statistics.median(t.cpu for t in timers)
    worst = max(t.wall for t in timers)
    text = f"{name:<42} median {wall:7.1f} ms  worst {worst:7.1f} ms  cpu {cpu:7.1f} ms"
    if target:
        text += f"  target <= {TARGETS[target]:.0f} ms: {verdict(target, wall)}"
    print(text, flush=True)
    return wall


@contextlib.contextmanager
def simulator(alerts: int, pages: int):
    """``oncall-tui sim serve`` in a child process, loaded with bulk alerts and pages."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sim.out"
        with out.open("wb") as handle:
            proc = subprocess.Popen(
                [sys.executable, "-m", "oncall_tui", "sim", "serve", "--port", "0"],
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            deadline = time.monotonic() + 30
            while True:
                text = out.read_text(errors="replace")
                found = re.search(r"API on (http://127\.0\.0\.1:\d+)\s+\(token: ([^)]+)\)", text)
                if found and "base_url" in text:
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"sim serve did not start:\n{text}")
                time.sleep(0.05)
            url, token = found.group(1), found.group(2)
            answer = httpx.post(
                f"{url}/_sim/bulk",
                json={"alerts": alerts, "pages": pages},
                headers={"Authorization": f"Bearer {token}"},
                timeout=120,
            )
            answer.raise_for_status()
            yield url, token
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def run(url: str, token: str, repeat: int) -> dict[str, float]:
    # Imported here so the figures above are not skewed by import order.
    from textual import events

    from oncall_tui.config import IncidentIoConfig, PollConfig, Settings, UserConfig
    from oncall_tui.core import views
    from oncall_tui.core.session import open_session
    from oncall_tui.sim.world import DEFAULT_ME_EMAIL
    from oncall_tui.ui.app import OnCallApp
    from oncall_tui.ui.widgets.alert_table import AlertTable

    # Poll rarely: no background poll lands in the middle of a measurement.
    slow = PollConfig(
        pages=3600, pages_when_paged=3600, alerts=3600, schedules=86400, incidents=3600
    )
    settings = Settings(
        user=UserConfig(email=DEFAULT_ME_EMAIL),
        incident_io=IncidentIoConfig(base_url=url, poll=slow),
    )
    session = open_session(settings, tokens={"incident-io": token})
    backends, engine = session.backends, session.engine
    results: dict[str, float] = {}

    start = time.perf_counter()
    await engine.poll_due()
    # The long tail is listed a few pages a poll; poll it until the list is whole.
    while backends.alert_tail is not None and not backends.alert_tail.complete:
        await engine.poll("incident.io alerts")
    fetch_s = time.perf_counter() - start
    problems = [h for h in engine.snapshot().health if h.error]
    if problems:
        raise SystemExit(f"fetch failed: {problems}")
    snap = engine.snapshot()
    requests = sum(backends.stats.by_source.values())
    print(
        f"fetch over loopback: {fetch_s:6.2f} s  ({len(snap.alerts)} alerts, {len(snap.pages)} "
        f"pages, {len(snap.shifts)} shifts, {requests} requests)",
        flush=True,
    )

    app = OnCallApp(settings, session=session)
    first = Timer().__enter__()
    async with app.run_test(size=(140, 40)) as pilot:
        while app.screen.__class__.__name__ != "DashboardScreen":
            await pilot.pause(0.001)
        screen = app.screen
        table = screen.query_one(AlertTable)
        while table.row_count < len(snap.alerts) // 2:
            await pilot.pause(0.001)
        await pilot.pause()  # the first frame with the rows is painted
        first.__exit__()
        results["first render"] = line(
            f"first render ({table.row_count} rows on screen)", [first], "first render"
        )
        await pilot.pause(0.3)
        gc.collect()
        # The dashboard's memory: engine, 10,000 alerts, index, rows, table, app. Taken
        # before the refresh runs below, whose extra copies of the alerts are the
        # benchmark's own.
        loaded_rss, loaded_peak = rss_mb()

        # -- refresh: a poll brings the alert list back with 1% changed ----------------
        rng = random.Random(1)
        base = engine.world.alerts["incident.io"]
        last_index = views.AlertIndex(engine.snapshot().alerts)
        s = engine.snapshot()
        views.alert_rows(s.pages, last_index, s.paths, s.me, screen.filters)
        refresh: list[Timer] = []
        index_ms: list[Timer] = []
        rows_ms: list[Timer] = []
        for n in range(repeat):
            # As a poll brings it: the alerts that did not change are the same objects
            # (the incremental sync keeps them), 1% are new objects with changes.
            current = list(base)
            for i in rng.sample(range(len(current)), max(1, len(current) // 100)):
                a = current[i]
                sev = "critical" if a.severity != "critical" else "warning"
                current[i] = replace(a, severity=sev, title=f"{a.title} ({n})")
            fresh = tuple(current)
            gc.collect()  # the poll's garbage is the poll's cost, not the refresh's
            with Timer() as t:
                engine.mutate(lambda w, fresh=fresh: w.alerts.__setitem__("incident.io", fresh))
                await pilot.pause()
            refresh.append(t)
            # The pure part alone, as the dashboard does it: snapshot → index → rows.
            s = engine.snapshot()
            with Timer() as t:
                index = views.AlertIndex(s.alerts, previous=last_index)
            index_ms.append(t)
            with Timer() as t:
                views.alert_rows(s.pages, index, s.paths, s.me, screen.filters)
            rows_ms.append(t)
            last_index = index
            await pilot.pause(0.02)
        results["refresh"] = line("refresh, 1% changed (to repainted screen)", refresh, "refresh")
        line("  its AlertIndex(previous=) alone", index_ms)
        line("  its alert_rows alone", rows_ms)

        # -- filter keystrokes ----------------------------------------------------------
        keys: list[Timer] = []
        query = "payments check 9"
        for _ in range(max(1, repeat // 5)):
            await pilot.press("slash")
            await pilot.pause()
            for ch in query:
                with Timer() as t:
                    await pilot.press("space" if ch == " " else ch)
                    await pilot.pause()
                keys.append(t)
            await pilot.press("escape")
            await pilot.pause(0.05)
        results["keystroke"] = line("filter keystroke (to repainted screen)", keys, "keystroke")

        # -- a burst of 300 Down keys, as a held key sends them ----------------------------
        await pilot.press("home")
        await pilot.pause(0.2)
        frames: list[float] = []
        display = app._display

        def recording_display(screen, renderable):
            frames.append(time.perf_counter())
            return display(screen, renderable)

        app._display = recording_display  # type: ignore[method-assign]
        bursts: list[tuple[float, float, float]] = []
        for _ in range(max(7, repeat // 3)):
            await pilot.press("home")
            await pilot.pause(0.2)
            frames.clear()
            cpu0 = time.process_time()
            start = time.perf_counter()
            for _ in range(300):
                app._driver.send_message(events.Key("down", None))
            target = min(300, table.row_count - 1)
            while table.cursor_row < target:
                await asyncio.sleep(0.001)
            done = time.perf_counter()
            # The frame that shows the final position.
            while not any(f >= done for f in frames) and time.perf_counter() - done < 5:
                await asyncio.sleep(0.001)
            last = min(f for f in frames if f >= done)
            stamps = [start, *[f for f in frames if f <= last]]
            worst_gap = max(b - a for a, b in itertools.pairwise(stamps))
            cpu = (time.process_time() - cpu0) * 1000
            bursts.append((worst_gap * 1000, (last - start) * 1000, cpu))
        app._display = display  # type: ignore[method-assign]
        gap = statistics.median(b[0] for b in bursts)
        results["key burst"] = gap
        print(
            f"{'300 Down keys: longest wait for a frame':<42} median {gap:7.1f} ms  worst "
            f"{max(b[0] for b in bursts):7.1f} ms  (all 300 done in "
            f"{statistics.median(b[1] for b in bursts):.0f} ms, cpu "
            f"{statistics.median(b[2] for b in bursts):.0f} ms)  target <= 100 ms: "
            f"{verdict('key burst', gap)}",
            flush=True,
        )

    await backends.aclose()
    current, peak = rss_mb()
    results["rss"] = loaded_peak
    print(
        f"{'RSS, dashboard loaded and shown':<42} now {loaded_rss:7.0f} MB  peak "
        f"{loaded_peak:7.0f} MB  target <= 200 MB: {verdict('rss', loaded_peak)}",
        flush=True,
    )
    print(f"{'RSS at the end (refresh copies too)':<42} now {current:7.0f} MB  peak {peak:7.0f} MB")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    print(f"world: {args.alerts} bulk alerts, {args.pages} pages (plus the demo scenario)")
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with simulator(args.alerts, args.pages) as (url, token):
        results = asyncio.run(run(url, token, args.repeat))
    missed = [name for name, value in results.items() if verdict(name, value) != "met"]
    print("all targets met" if not missed else f"targets missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()
