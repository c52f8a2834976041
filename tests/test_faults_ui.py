"""The real Textual app with a backend failing: it keeps running, keeps what it knew on
screen, and its status bar names the stale source (and, asked, the error).

The session is the demo world's, built as ``ui.launch.make_session`` builds it, with two
changes: Grafana EU and incident.io sit behind the simulators' fault switches, and the
engine's clock can be held five minutes back so that "five minutes without an answer"
does not take five minutes of test time (the status bar reads the wall clock).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import factories
import httpx

from oncall_tui.config import Settings
from oncall_tui.core.session import open_session
from oncall_tui.sim.demo import DEMO_TOKEN, build_demo
from oncall_tui.sim.grafana import Faults as GrafanaFaults
from oncall_tui.sim.grafana import create_app as create_grafana_app
from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.widgets.alert_table import AlertTable
from oncall_tui.ui.widgets.status_bar import StatusBar

EU = "grafana:eu"
IO = "incident.io"
SIZE = (150, 45)


class ShiftedClock:
    """The wall clock plus an offset the test sets."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


# Faults slow the first polls: wait longer than the default.
until = functools.partial(factories.until, timeout=20.0)


def make_app(clock: ShiftedClock) -> tuple[OnCallApp, GrafanaFaults, object]:
    demo = build_demo(Settings(), background_alerts=50)
    factories.fast_polling(demo)  # recovery "within one poll interval" is waited for in real time
    eu_faults = GrafanaFaults()
    eu_app = create_grafana_app(demo.grafana["eu"], token=DEMO_TOKEN, faults=eu_faults)
    demo.transports[EU] = httpx.ASGITransport(app=eu_app)
    io_faults = demo.transports["incident-io"].app.state.faults
    session = open_session(demo.settings, demo=demo, clock=clock)
    app = OnCallApp(demo.settings, demo=True, session=session)
    return app, eu_faults, io_faults


def bar_text(app) -> str:
    """What the status bar shows now (both halves, as drawn)."""
    bar = app.screen.query_one(StatusBar)
    sources, extras = bar.contents(bar.size.width)
    return f"{sources.plain} {extras.plain}"


def health(app, name: str):
    return next(h for h in app.session.engine.snapshot().health if h.name == name)


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_grafana_instance_failing_keeps_the_app_running_and_shows_it_stale():
    clock = ShiftedClock(-timedelta(minutes=5))  # every answer so far is 5 minutes old
    app, eu_faults, _ = make_app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.__class__.__name__ == "DashboardScreen")
        table = app.screen.query_one(AlertTable)
        await until(pilot, lambda: all(h.last_ok for h in app.session.engine.snapshot().health))
        await until(pilot, lambda: table.row_count > 3)
        eu_keys = {a.key for a in app.session.engine.world.alerts[EU]}
        eu_rows = {r.key for r in table.rows if set(r.alert_keys) & eu_keys}
        assert eu_rows

        eu_faults.status = 503
        clock.offset = timedelta(0)  # five minutes pass: every feed is due again
        await until(pilot, lambda: health(app, EU).error is not None)
        await until(pilot, lambda: all(health(app, b).error is None for b in (IO, "grafana:us")))
        await until(pilot, lambda: f"{EU} STALE 5m ⚠" in bar_text(app))
        shown = bar_text(app)
        assert "grafana:us ✓" in shown or "fresh" in shown, shown
        assert "incident.io STALE" not in shown and "grafana:us STALE" not in shown

        # What it knew from EU is still on screen, and the app still answers keys.
        assert eu_rows <= {r.key for r in table.rows}
        await pilot.press("down", "down", "up")
        await pilot.press("w")
        await until(pilot, lambda: any(EU in m and "503" in m for m in notices(app)))
        assert app.is_running and app.screen.__class__.__name__ == "DashboardScreen"

        eu_faults.status = None  # EU is back: seen within one poll interval, by itself
        await until(pilot, lambda: health(app, EU).error is None)
        await until(pilot, lambda: f"{EU} STALE" not in bar_text(app) and "⚠" not in bar_text(app))


async def test_incident_io_down_at_start_then_back():
    app, _, io_faults = make_app(ShiftedClock())
    io_faults.update(down=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.__class__.__name__ == "DashboardScreen")
        table = app.screen.query_one(AlertTable)
        await until(pilot, lambda: health(app, IO).error is not None)
        await until(pilot, lambda: f"{IO} ✗ no data yet ⚠" in bar_text(app))
        # Grafana's alerts are shown meanwhile; no pages (incident.io has given none).
        await until(pilot, lambda: table.row_count > 0)
        assert all(r.kind == "alert" for r in table.rows)
        assert all(not r.source.startswith(IO) for r in table.rows)
        await pilot.press("r")
        await pilot.pause(0.2)
        assert app.is_running

        io_faults.clear()
        await until(pilot, lambda: health(app, IO).error is None, timeout=20)
        await until(pilot, lambda: any(r.kind == "page" for r in table.rows), timeout=20)
        await until(pilot, lambda: f"{IO} ✗" not in bar_text(app))
