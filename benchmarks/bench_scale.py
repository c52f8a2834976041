"""Scale: the whole dashboard with 10,000 firing alerts and 200 pages.

The simulated incident.io runs in its own process (``oncall-tui sim serve`` on loopback,
then ``POST /_sim/bulk`` = ``World.add_bulk_alerts``), so the figures and the memory are
the dashboard's alone. This process runs what ``oncall-tui`` runs: the real client over
HTTP, the sync engine, and the Textual app (headless, 140×40) with its dashboard screen.

Measured:

* fetch: every feed polled once over loopback HTTP until the engine holds everything;
* first render: app start to the first frame of the dashboard showing every row (the
  engine already loaded, as after the first poll);
* refresh: a new alert list in which 1% of the alerts changed (severity and title), the
  others the same objects as the incremental sync keeps them, from the engine's new
  snapshot to the first frame that shows the change;
* filter keystroke: one character typed in the filter box (a key event, as a terminal
  sends it) to the first frame that shows the filtered list;
* key burst: 300 Down keys queued at once (a held key while the app is busy), the
  longest time between two frames until the frame showing the last position;
* RSS: resident memory of this process once the dashboard shows everything (and its
  peak so far), before the refresh measurements add copies of the alert list.

Times are taken when the frame is put on screen (the app's display call), not when a
test harness decides the app is idle: ``pilot.pause()`` waits for 20 ms slices of no
CPU, which added 20–60 ms to every figure before. ``--profile`` prints where each phase
spent its time (cProfile; the figures with it are not the figures).

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
import cProfile
import gc
import io
import itertools
import os
import pstats
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


class FrameLog:
    """When the app put a frame on screen (each compositor update it displays)."""

    def __init__(self, app) -> None:
        self.stamps: list[float] = []
        self._waiting = None
        self._hit: float | None = None
        display = app._display

        def recording_display(screen, renderable):
            result = display(screen, renderable)
            if renderable is not None:
                now = time.perf_counter()
                self.stamps.append(now)
                if self._waiting is not None and self._hit is None and self._waiting():
                    self._hit = now
            return result

        app._display = recording_display

    async def after(self, done, limit: float = 120.0) -> float:
        """The time of the first frame drawn once ``done()`` holds (checked as each frame
        is drawn): when the user sees the change."""
        self._waiting, self._hit = done, None
        deadline = time.perf_counter() + limit
        try:
            while self._hit is None:
                if time.perf_counter() > deadline:
                    raise RuntimeError("no frame showed the change")
                await asyncio.sleep(0.0005)
            return self._hit
        finally:
            self._waiting = None


class Profiler:
    """``--profile``: cProfile each measured phase and print where its time went."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.profiles: dict[str, cProfile.Profile] = {}

    @contextlib.contextmanager
    def phase(self, name: str):
        if not self.enabled:
            yield
            return
        profile = self.profiles.setdefault(name, cProfile.Profile())
        profile.enable()
        try:
            yield
        finally:
            profile.disable()

    def report(self, name: str, top: int = 25) -> None:
        profile = self.profiles.pop(name, None)
        if profile is not None:
            print(f"\n--- profile: {name} (all runs, by own time) ---")
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out)
            stats.sort_stats("tottime").print_stats(top)
            stats.sort_stats("cumulative").print_stats(top)
            print(out.getvalue())


profiler = Profiler(False)


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


async def run(
    url: str, token: str, repeat: int, first_repeat: int, bursts_wanted: int
) -> dict[str, float]:
    # Imported here so the figures above are not skewed by import order.
    from textual import events

    from oncall_tui.config import IncidentIoConfig, PollConfig, Settings, UserConfig
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
    frames = FrameLog(app)
    first_profile = profiler.phase("first render")
    first_profile.__enter__()
    first = Timer().__enter__()
    async with app.run_test(size=(140, 40)) as pilot:
        while app.screen.__class__.__name__ != "DashboardScreen":
            await pilot.pause(0.001)
        screen = app.screen
        table = screen.query_one(AlertTable)
        first_frame = await frames.after(lambda: table.row_count >= len(snap.alerts) // 2)
        first.__exit__()
        first_profile.__exit__(None, None, None)
        first.wall = (first_frame - first.wall0) * 1000
        print(
            f"{'first render, first run':<42} {first.wall:7.1f} ms  cpu {first.cpu:7.1f} ms"
            f"  ({table.row_count} rows on screen)",
            flush=True,
        )
        profiler.report("first render")
        first_runs = [first]
        await pilot.pause(0.3)
        gc.collect()
        # The dashboard's memory: engine, 10,000 alerts, index, rows, table, app. Taken
        # before the refresh runs below, whose extra copies of the alerts are the
        # benchmark's own.
        loaded_rss, loaded_peak = rss_mb()

        # -- refresh: a poll brings the alert list back with 1% changed ----------------
        rng = random.Random(1)
        base = engine.world.alerts["incident.io"]
        refresh: list[Timer] = []
        for n in range(repeat):
            # As a poll brings it: the alerts that did not change are the same objects
            # (the incremental sync keeps them), 1% are new objects with changes.
            current = list(base)
            # Where each alert shows now (a group keeps its row key while it lives).
            row_of = {k: r.key for r in table.rows if r.kind == "alert" for k in r.alert_keys}
            expect: dict[str, str] = {}  # row key -> the title it must show
            for i in rng.sample(range(len(current)), max(1, len(current) // 100)):
                a = current[i]
                sev = "critical" if a.severity != "critical" else "warning"
                current[i] = replace(a, severity=sev, title=f"{a.title} ({n})")
                if a.key in row_of:
                    expect[row_of[a.key]] = current[i].title
            fresh = tuple(current)
            gc.collect()  # the poll's garbage is the poll's cost, not the refresh's

            def shown(expect=expect) -> bool:
                for key, title in expect.items():
                    row = table.get_row(key)
                    if row is not None and row.title == title:
                        return True
                return False

            with profiler.phase("refresh"), Timer() as t:
                engine.mutate(lambda w, fresh=fresh: w.alerts.__setitem__("incident.io", fresh))
                t.frame = await frames.after(shown)
            t.wall = (t.frame - t.wall0) * 1000
            refresh.append(t)
            await pilot.pause(0.05)
        results["refresh"] = line("refresh, 1% changed (to its frame)", refresh, "refresh")
        profiler.report("refresh")

        # -- filter keystrokes ----------------------------------------------------------
        keys: list[Timer] = []
        query = "payments check 9"
        for _ in range(max(1, repeat // 5)):
            await pilot.press("slash")
            await pilot.pause(0.05)
            typed = ""
            for ch in query:
                typed += ch
                updates = table.updates
                with profiler.phase("keystroke"), Timer() as t:
                    app._driver.send_message(events.Key("space" if ch == " " else ch, ch))
                    t.frame = await frames.after(
                        lambda typed=typed, updates=updates: (
                            screen.filters.query == typed and table.updates > updates
                        )
                    )
                t.wall = (t.frame - t.wall0) * 1000
                keys.append(t)
                await pilot.pause(0.02)
            await pilot.press("escape")
            await pilot.pause(0.05)
        results["keystroke"] = line("filter keystroke (to its frame)", keys, "keystroke")
        profiler.report("keystroke")

        # -- a burst of 300 Down keys, as a held key sends them ----------------------------
        bursts: list[tuple[float, float, float]] = []
        for _ in range(bursts_wanted):
            await pilot.press("home")
            await pilot.pause(0.2)
            target = min(300, table.row_count - 1)
            with profiler.phase("key burst"):
                frames.stamps.clear()
                cpu0 = time.process_time()
                start = time.perf_counter()
                for _ in range(300):
                    app._driver.send_message(events.Key("down", None))
                try:
                    last = await frames.after(lambda target=target: table.cursor_row >= target)
                except RuntimeError:
                    print(
                        f"the burst did not end: cursor at {table.cursor_row} of {target}, "
                        f"{app._message_queue.qsize()} messages waiting for the app, "
                        f"{len(frames.stamps)} frames, focus on {app.focused}",
                        flush=True,
                    )
                    raise
                cpu = (time.process_time() - cpu0) * 1000
            stamps = [start, *[f for f in frames.stamps if start <= f <= last]]
            worst_gap = max(b - a for a, b in itertools.pairwise(stamps))
            bursts.append((worst_gap * 1000, (last - start) * 1000, cpu))
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
        profiler.report("key burst")
    # -- first render again, in fresh apps over the same loaded engine ---------------------
    for _ in range(first_repeat - 1):
        again = OnCallApp(settings, session=session)
        again_frames = FrameLog(again)
        timer = Timer().__enter__()
        async with again.run_test(size=(140, 40)) as pilot:
            while again.screen.__class__.__name__ != "DashboardScreen":
                await pilot.pause(0.001)
            again_table = again.screen.query_one(AlertTable)
            shown = await again_frames.after(
                lambda t=again_table: t.row_count >= len(snap.alerts) // 2
            )
            timer.__exit__()
            timer.wall = (shown - timer.wall0) * 1000
            first_runs.append(timer)
            engine.unsubscribe(again.screen._on_snapshot)
    results["first render"] = line(
        f"first render (median of {len(first_runs)} app starts)", first_runs, "first render"
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
    parser.add_argument("--first-runs", type=int, default=7, help="app starts measured")
    parser.add_argument("--bursts", type=int, default=7, help="key bursts measured")
    parser.add_argument(
        "--profile", action="store_true", help="print where each phase spent its time"
    )
    args = parser.parse_args()
    profiler.enabled = args.profile
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    print(f"world: {args.alerts} bulk alerts, {args.pages} pages (plus the demo scenario)")
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with simulator(args.alerts, args.pages) as (url, token):
        results = asyncio.run(run(url, token, args.repeat, args.first_runs, args.bursts))
    missed = [name for name, value in results.items() if verdict(name, value) != "met"]
    print("all targets met" if not missed else f"targets missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()
