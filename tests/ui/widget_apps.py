"""Small Textual apps and fixed data for the widget tests and snapshots.

Every clock is fixed (``NOW``) so snapshots are stable; the zone is Europe/Berlin, which
is CET on the fixed date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from factories import ANA, BEN, CY, ME, shift
from textual.app import App, ComposeResult
from textual.widget import Widget

from oncall_tui.core import views
from oncall_tui.domain import (
    Alert,
    AlertNote,
    EscalationLevel,
    EscalationPath,
    EscalationTarget,
    Layer,
    Link,
    Page,
    PageEvent,
    Rotation,
    Schedule,
    Series,
    Shift,
    SourceHealth,
    TimelineEntry,
    User,
)
from oncall_tui.ui.app import SEMANTIC_DEFAULTS
from oncall_tui.ui.themes import DEFAULT_THEME, load_themes

NOW = datetime(2026, 3, 10, 13, 37, tzinfo=UTC)  # a Tuesday; 14:37 CET
ZONE = "Europe/Berlin"


def clock() -> datetime:
    return NOW


def ago(**kw: float) -> datetime:
    return NOW - timedelta(**kw)


def later(**kw: float) -> datetime:
    return NOW + timedelta(**kw)


DEE = User("U_DEE", "Dee")


# ------------------------------------------------------------------------ schedules


def _schedule(sid: str, name: str, layers: Sequence[tuple[str, str]]) -> Schedule:
    return Schedule(
        id=sid,
        name=name,
        timezone=ZONE,
        rotations=(
            Rotation(
                id=f"{sid}-rot",
                name=name if len(layers) == 1 else "Weekdays",
                layers=tuple(Layer(lid, lname) for lid, lname in layers),
            ),
        ),
    )


PAYMENTS = _schedule(
    "S_PAY", "On call: Payments", [("primary", "Primary"), ("second", "Secondary")]
)
SUPPORT = _schedule("S_SUP", "Support: Payments", [("support", "Support: Payments")])
ESCALATORS = _schedule("S_ESC", "Escalators", [("esc", "Escalators")])
GLOBAL = _schedule(
    "S_GLB",
    "Global on-call",
    [("eu", "Europe"), ("ame", "Americas East"), ("amw", "Americas West")],
)
SCHEDULES = (PAYMENTS, SUPPORT, ESCALATORS, GLOBAL)


def _shift(schedule: Schedule, layer: str, user: User | None, start, end) -> Shift:
    return shift(schedule.id, schedule.rotations[0].id, layer, start, end, user)


def shifts(*, on_call: bool) -> tuple[Shift, ...]:
    """A day around NOW. On call: Mia holds Payments primary until 17:00 CET."""
    day = NOW.replace(hour=0, minute=0)
    out = [
        _shift(PAYMENTS, "second", BEN, day + timedelta(hours=8), day + timedelta(hours=16)),
        _shift(ESCALATORS, "esc", DEE, day, day + timedelta(days=1)),
        _shift(GLOBAL, "eu", ANA, day + timedelta(hours=6), day + timedelta(hours=16)),
        _shift(GLOBAL, "ame", CY, day + timedelta(hours=14), day + timedelta(hours=23)),
        # Mia's support week starts on Thursday 09:00 CET.
        _shift(SUPPORT, "support", BEN, day - timedelta(days=2), day + timedelta(days=2, hours=8)),
        _shift(SUPPORT, "support", ME, day + timedelta(days=2, hours=8), day + timedelta(days=9)),
    ]
    if on_call:
        out += [
            _shift(PAYMENTS, "primary", ME, day + timedelta(hours=8), day + timedelta(hours=16)),
            _shift(PAYMENTS, "primary", CY, day + timedelta(hours=16), day + timedelta(hours=24)),
        ]
    else:
        out += [
            _shift(PAYMENTS, "primary", ANA, day + timedelta(hours=8), day + timedelta(hours=16)),
        ]
    return tuple(out)


GLANCE = (ESCALATORS.id, GLOBAL.id)


# --------------------------------------------------------------------------- alerts

PATH = EscalationPath(
    id="P1",
    name="Payments critical",
    levels=(
        EscalationLevel((EscalationTarget("schedule", PAYMENTS.id, "On call: Payments"),), 300),
        EscalationLevel((EscalationTarget("schedule", ESCALATORS.id, "Escalators"),), 600),
        EscalationLevel((EscalationTarget("schedule", GLOBAL.id, "Global on-call"),), 900),
    ),
)


def alert(
    n: int,
    title: str,
    severity: str = "critical",
    *,
    state: str = "firing",
    started: datetime | None = None,
    links: tuple[Link, ...] = (),
    labels: tuple[tuple[str, str], ...] = (),
    description: str = "",
    instance: str = "eu",
    fingerprint: str = "",
) -> Alert:
    return Alert(
        key=f"grafana:{instance}:{n:04d}",
        id=f"A{n:04d}",
        source="grafana",
        instance=instance,
        title=title,
        state=state,
        severity=severity,
        started_at=started or ago(minutes=5 * n + 3),
        description=description,
        labels=labels,
        links=links,
        fingerprint=fingerprint or f"fp{n:04d}",
    )


RUNBOOK = Link("runbook", url="https://runbooks.example.com/payments/latency")
DASHBOARD = Link("dashboard", url="https://grafana.example.com/d/pay/payments")
PANEL_REFUSED = Link("panel", problem="refused: javascript links are never opened")

CHECKOUT = alert(
    1,
    "Checkout p99 latency above 800ms",
    links=(RUNBOOK, DASHBOARD, PANEL_REFUSED),
    labels=(("alertname", "CheckoutLatency"), ("team", "payments"), ("env", "prod")),
    description=(
        "p99 latency of POST /checkout has been above 800 ms for 5 minutes. "
        "Customers see slow or failed payments."
    ),
)
QUIET_ALERTS = (
    alert(2, "Disk 85% full on db-3", "warning", links=(RUNBOOK,)),
    alert(3, "Certificate for api.example.com expires in 9 days", "info"),
    alert(4, "Replica lag above 30s", "major", links=(DASHBOARD,), instance="us"),
    alert(5, "Replica lag above 30s", "major", links=(DASHBOARD,), instance="us"),
)


def page(status: str = "triggered", *, acked_by: User | None = None) -> Page:
    events = [
        PageEvent("E1", "triggered", ago(minutes=3)),
        PageEvent("E2", "notified_users", ago(minutes=3), users=(ME,), urgency="high"),
    ]
    if acked_by is not None:
        events.append(PageEvent("E3", "acked", ago(minutes=1), users=(acked_by,)))
    return Page(
        id="PG1",
        title="Checkout p99 latency above 800ms",
        status=status,
        created_at=ago(minutes=3),
        updated_at=ago(minutes=1),
        priority="P1",
        path_id=PATH.id,
        events=tuple(events),
        alert_ids=(CHECKOUT.id,),
    )


def rows_quiet() -> tuple[views.AlertRow, ...]:
    return views.alert_rows((), QUIET_ALERTS, (PATH,), ME)


def rows_paged() -> tuple[views.AlertRow, ...]:
    return views.alert_rows((page(),), (CHECKOUT, *QUIET_ALERTS), (PATH,), ME)


def rows_acked() -> tuple[views.AlertRow, ...]:
    return views.alert_rows((page("acked", acked_by=ME),), (CHECKOUT, *QUIET_ALERTS), (PATH,), ME)


def simple_row(key: str, title: str | None = None, **kw) -> views.AlertRow:
    base = views.AlertRow(
        key=key,
        kind=views.KIND_ALERT,
        mine=False,
        title=title or f"alert {key}",
        source="grafana:eu",
        severity="major",
        urgency=1,
        critical=False,
        state="firing",
        started_at=ago(minutes=10),
        latest_at=ago(minutes=10),
    )
    return replace(base, **kw) if kw else base


def numbered_rows(n: int) -> list[views.AlertRow]:
    return [simple_row(f"r{i:03d}", f"alert number {i}") for i in range(n)]


SERIES = Series(
    name="checkout p99 latency",
    unit="ms",
    points=tuple(
        (ago(minutes=60 - i * 2), v)
        for i, v in enumerate(
            [
                210,
                220,
                215,
                230,
                240,
                260,
                300,
                420,
                610,
                790,
                860,
                905,
                880,
                840,
                790,
                720,
                650,
                600,
                560,
                540,
                520,
                510,
                500,
                495,
                490,
                470,
                460,
                450,
                440,
                430,
            ]
        )
    ),
)

NOTES = (
    AlertNote("N1", CHECKOUT.id, "Looking at the payment gateway pool.", "Mia", ago(minutes=3)),
)

HEALTH = (
    SourceHealth("incident.io", last_ok=ago(seconds=12), last_attempt=ago(seconds=12)),
    SourceHealth(
        "grafana:eu",
        last_ok=ago(minutes=4),
        last_attempt=ago(seconds=20),
        error="connection refused by grafana-eu.example.com:443",
        failures=3,
    ),
    SourceHealth("grafana:us", last_ok=ago(seconds=40), last_attempt=ago(seconds=40)),
)

TIMELINE = (
    TimelineEntry(ago(minutes=30), "created", "Incident declared: checkout slow", author="Mia"),
    TimelineEntry(
        ago(minutes=25),
        "update",
        "Status: investigating. Payment gateway pool is saturated; failing over to the "
        "second region is being prepared.",
        author="Mia",
    ),
    TimelineEntry(ago(minutes=12), "page", "Paged Escalators: Dee", author="incident.io"),
    TimelineEntry(
        ago(minutes=4), "note", "Failover started.", author="Mia", pending=True, state="pending"
    ),
)


# ----------------------------------------------------------------------------- apps


class WidgetApp(App[None]):
    """Hosts one widget under the default oncall theme."""

    CSS = "Screen { layout: vertical; }"

    def __init__(self, *widgets: Widget) -> None:
        super().__init__()
        self._widgets = widgets
        for theme in load_themes().themes.values():
            self.register_theme(theme)
        if DEFAULT_THEME in self.available_themes:
            self.theme = DEFAULT_THEME
        self.messages: list = []

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(SEMANTIC_DEFAULTS)

    def compose(self) -> ComposeResult:
        yield from self._widgets


# ------------------------------------------------------------- snapshot set-ups


def shift_panel(*, on_call: bool, compact: bool | None = None) -> tuple[App, object]:
    from oncall_tui.ui.widgets.shift_panel import ShiftPanel

    panel = ShiftPanel(clock=clock, zone=ZONE, compact=compact)

    async def run_before(pilot) -> None:
        panel.update_data(
            schedules=SCHEDULES,
            shifts=shifts(on_call=on_call),
            me=ME,
            glance_schedule_ids=GLANCE,
        )
        await pilot.pause()

    return WidgetApp(panel), run_before


def alert_table(rows: Sequence[views.AlertRow], *, cursor_down: int = 0) -> tuple[App, object]:
    from oncall_tui.ui.widgets.alert_table import AlertTable

    table = AlertTable(clock=clock, empty_text="All quiet: no pages, no firing alerts.")

    async def run_before(pilot) -> None:
        table.focus()
        table.update_rows(rows)
        for _ in range(cursor_down):
            table.action_cursor_down()
        await pilot.pause()

    return WidgetApp(table), run_before


def alert_detail() -> tuple[App, object]:
    from oncall_tui.ui.widgets.alert_detail import AlertDetail

    detail = AlertDetail(clock=clock, zone=ZONE)

    async def run_before(pilot) -> None:
        row = rows_paged()[0]
        detail.show(
            row,
            alert=CHECKOUT,
            pages=[page()],
            notes=NOTES,
            path=PATH,
            series=SERIES,
        )
        await pilot.pause()

    return WidgetApp(detail), run_before


def status_bar() -> tuple[App, object]:
    from oncall_tui.ui.widgets.status_bar import StatusBar

    bar = StatusBar(clock=clock)

    async def run_before(pilot) -> None:
        bar.update_state(health=HEALTH, readonly=True, pending_writes=2, filter_text="")
        await pilot.pause()

    return WidgetApp(bar), run_before


def timeline() -> tuple[App, object]:
    from oncall_tui.ui.widgets.timeline_view import TimelineView

    view = TimelineView(zone=ZONE)

    async def run_before(pilot) -> None:
        view.set_entries(TIMELINE)
        await pilot.pause()

    return WidgetApp(view), run_before


def together() -> tuple[App, object]:
    """Shift panel, alert table and status bar as the dashboard stacks them."""
    from oncall_tui.ui.widgets.alert_table import AlertTable
    from oncall_tui.ui.widgets.shift_panel import ShiftPanel
    from oncall_tui.ui.widgets.status_bar import StatusBar

    panel = ShiftPanel(clock=clock, zone=ZONE)
    table = AlertTable(clock=clock)
    bar = StatusBar(clock=clock)

    async def run_before(pilot) -> None:
        panel.update_data(
            schedules=SCHEDULES, shifts=shifts(on_call=True), me=ME, glance_schedule_ids=GLANCE
        )
        table.focus()
        table.update_rows(rows_paged())
        bar.update_state(health=HEALTH, readonly=False, pending_writes=1, filter_text="")
        await pilot.pause()

    return WidgetApp(panel, table, bar), run_before
