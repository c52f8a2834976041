"""Read-only means nothing is written: every key of the dashboard, the incident screen and
the calendar, with every dialog answered yes, reaches no write endpoint of the simulator.

Every request the app sends is recorded where it enters the simulated incident.io, Grafana
and Alertmanager; the write endpoints are every route that takes POST, PUT, PATCH or DELETE
(the two that only read, Grafana's query endpoints, are named). The simulator's own records
(incident.io's write log, the silences, the overrides, incidents and timeline) are compared
before and after as well.
"""

from __future__ import annotations

from collections import Counter

import pytest
from demo_session import FrozenDemo, frozen_time
from starlette.routing import Route

from oncall_tui.ui.screens.calendar import CalendarScreen
from oncall_tui.ui.screens.dashboard import DashboardScreen
from oncall_tui.ui.screens.incidents import IncidentsScreen

SIZE = (150, 45)
PAGE_LANDED = 6  # the scripted page reaches me 1.5 s in
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# POST routes that only read (queries for graphs).
READ_ONLY_POSTS = ("/api/ds/query", "/api/v1/query_range")
# Keys that leave the screen rather than act on it (each screen is visited in turn), and
# the dashboard's filters (they narrow the rows the next keys act on).
NAVIGATION = frozenset(
    {
        "filter",
        "filter.mine",
        "filter.hide_acked",
        "filter.critical",
        "back",
        "calendar",
        "incidents",
        "incident.back",
        "calendar.close",
        "help",
        "quit",
        "note.leave",
    }
)


def is_write(method: str, path: str) -> bool:
    return method in WRITE_METHODS and not path.endswith(READ_ONLY_POSTS)


class Requests:
    """Every request that reaches a simulated backend, as (service, method, path)."""

    def __init__(self, demo: FrozenDemo) -> None:
        self.seen: list[tuple[str, str, str]] = []
        self.apps = {}
        for service, transport in demo.demo.transports.items():
            self.apps[service] = transport.app
            transport.app = self._wrap(service, transport.app)

    def _wrap(self, service: str, app):
        async def recorded(scope, receive, send):
            if scope["type"] == "http":
                self.seen.append((service, scope["method"], scope["path"]))
            await app(scope, receive, send)

        return recorded

    def write_routes(self) -> set[tuple[str, str, str]]:
        """(service, method, route) for every write endpoint the simulator has."""
        found = set()
        for service, app in self.apps.items():
            for route in app.routes:
                if isinstance(route, Route) and not route.path.startswith("/_sim"):
                    for method in route.methods or ():
                        if is_write(method, route.path):
                            found.add((service, method, route.path))
        return found

    def writes(self) -> Counter:
        return Counter((s, m, p) for s, m, p in self.seen if is_write(m, p))


def simulator_state(demo: FrozenDemo) -> dict:
    """What a write would change, read from the simulator itself."""
    world = demo.demo.world
    grafanas = demo.demo.grafana
    with world.lock:
        state = {
            "writes": [(w.kind, w.target_id, w.actor) for w in world.writes],
            "overrides": {o.id: repr(o) for o in world.overrides.values()},
            "incidents": {i.id: repr(i) for i in world.incidents.values()},
            "escalations": {e.id: (e.status, e.level) for e in world.escalations.values()},
        }
    for name, g in grafanas.items():
        for am_name in ("plain_am", "grafana_am"):
            am = getattr(g, am_name, None)
            if am is not None:
                state[f"silences:{name}:{am_name}"] = {
                    sid: repr(s) for sid, s in am.silences.items()
                }
    return state


async def answer_everything(demo: FrozenDemo, pilot, home) -> None:
    """Say yes to whatever dialog a key opened (confirm, choose, duration, a form with
    text), then come back to ``home``."""
    for answer in ("y", "enter", "x", "ctrl+s", "enter", "y"):
        if demo.app.screen is home:
            return
        await pilot.press(answer)
        await pilot.pause(0.05)
    for _ in range(5):
        if demo.app.screen is home:
            return
        await pilot.press("escape")
        await pilot.pause(0.05)
    assert demo.app.screen is home, f"stuck on {demo.app.screen!r}"


async def press_every_key(demo: FrozenDemo, pilot, screen) -> list[str]:
    pressed = []
    for binding in type(screen).BINDINGS:
        if binding.id in NAVIGATION:
            continue
        key = binding.key.split(",")[0]
        await pilot.press(key)
        await pilot.pause(0.05)
        await answer_everything(demo, pilot, screen)
        pressed.append(key)
    return pressed


@pytest.fixture
def frozen():
    with frozen_time() as traveller:
        yield traveller


async def test_readonly_reaches_no_write_endpoint(frozen, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the export key writes its file here
    demo = FrozenDemo(frozen, readonly=True)
    monkeypatch.setattr(demo.app, "open_url", lambda url, **kw: None)
    monkeypatch.setattr(demo.app, "copy_to_clipboard", lambda text: None)
    requests = Requests(demo)
    # The recorder sees every write endpoint there is, escalation.respond among them.
    routes = requests.write_routes()
    assert ("incident-io", "POST", "/v2/escalations/{id}/actions/respond") in routes
    assert ("grafana:us", "POST", "/api/alertmanager/{am_uid}/api/v2/silences") in routes
    assert ("alertmanager:k8s", "DELETE", "/api/v2/silence/{silence_id}") in routes
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        demo.advance(PAGE_LANDED)
        await demo.settle(pilot)
        await demo.until(pilot, lambda: demo.my_triggered_page() is not None, "the page to me")
        before = simulator_state(demo)
        assert requests.seen and not requests.writes()
        assert "Read-only" in demo.app.help_intro()

        dashboard = demo.dashboard
        assert isinstance(dashboard, DashboardScreen)
        # On my page, then on a Grafana alert and an incident.io alert.
        for wanted in (
            lambda r: r.kind == "page" and r.mine and r.state == "triggered",
            lambda r: r.source.startswith(("grafana", "alertmanager")),
            lambda r: r.kind == "alert" and r.source == "incident.io",
        ):
            demo.move_to(wanted)
            await demo.settle(pilot)
            await press_every_key(demo, pilot, dashboard)
        # Marked rows, acted on together.
        demo.table.set_marks([r.key for r in demo.table.rows[:3]])
        await press_every_key(demo, pilot, dashboard)
        demo.table.clear_marks()
        await pilot.pause(0.5)
        assert not requests.writes(), requests.writes()

        demo.app.open_incidents()
        await demo.until(pilot, lambda: isinstance(demo.app.screen, IncidentsScreen), "incidents")
        incidents = demo.app.screen
        await demo.until(pilot, lambda: incidents._loaded, "incidents listed")
        await pilot.pause(0.2)
        await press_every_key(demo, pilot, incidents)
        await pilot.pause(0.5)
        assert not requests.writes(), requests.writes()
        await pilot.press("escape")
        await demo.until(pilot, lambda: demo.app.screen is dashboard, "back on the dashboard")

        demo.app.open_calendar()
        await demo.until(pilot, lambda: isinstance(demo.app.screen, CalendarScreen), "calendar")
        calendar = demo.app.screen
        await pilot.pause(0.5)
        await press_every_key(demo, pilot, calendar)

        # Nothing left waiting to be sent either.
        await demo.settle(pilot) if demo.app.screen is dashboard else await pilot.pause(0.5)
        assert not requests.writes(), requests.writes()
        assert simulator_state(demo) == before
