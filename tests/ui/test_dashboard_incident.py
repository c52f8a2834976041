"""Alert ↔ incident on the dashboard, driven by keys on the demo world: the detail shows
the incident a page or alert belongs to (from incident.io's own links), enter opens it,
D offers a note to it before a new incident, and declaring pre-selects a severity."""

from __future__ import annotations

import functools

import pytest
from textual.widgets import RadioSet, Static

from oncall_tui.sim import demo as demo_module
from oncall_tui.ui.screens.dashboard import DashboardScreen
from oncall_tui.ui.screens.declare import DeclareScreen
from oncall_tui.ui.screens.incidents import IncidentsScreen
from oncall_tui.ui.screens.modals import ChooseScreen, PromptScreen
from oncall_tui.ui.widgets.alert_detail import AlertDetail
from tests.ui.test_dashboard import loaded, make_app, move_to, notices, until, writes

SIZE = (150, 45)
CARD_AUTH = "Card authorisation latency p99 above 2s"  # an incident.io alert on INC-242
API_5XX = "Payments API 5xx rate above 5%"  # a page that names INC-242
LEDGER = "Payments: ledger consumer lag above 10 minutes"  # the first page to me, INC-242
CHECKOUT = "Checkout p99 latency is above 500 ms"  # a Grafana alert with no page: no incident


@pytest.fixture(autouse=True)
def _small_world(monkeypatch):
    original = demo_module.build_demo
    monkeypatch.setattr(demo_module, "build_demo", functools.partial(original, background_alerts=0))


def detail_text(app) -> str:
    return app.screen.query_one(AlertDetail).body_content().plain


async def show(pilot, title: str, kind: str | None = None) -> None:
    app = pilot.app
    move_to(app, lambda r: r.title == title and (kind is None or r.kind == kind))
    await until(
        pilot,
        lambda: (row := app.screen.query_one(AlertDetail).row) is not None and row.title == title,
        f"the detail shows {title}",
    )


async def enter_opens_inc_242(pilot) -> None:
    app = pilot.app
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, IncidentsScreen), "incident screen")
    await until(pilot, lambda: app.screen.incident is not None)
    assert app.screen.incident.reference == "INC-242"


async def test_the_detail_shows_the_incident_of_an_alert_and_of_a_page():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        # An incident.io alert: incident.io attached it to INC-242 (/v2/incident_alerts).
        await show(pilot, CARD_AUTH)
        await until(pilot, lambda: "INC-242" in detail_text(app), "the alert's incident")
        text = detail_text(app)
        assert "Card payments failing for some EU customers" in text
        assert "Fixing (active)" in text and "lead Kofi Mensah" in text
        assert "incident.io attached this alert" in text
        # The links list does not contradict it: the alert carries no incident link.
        assert "incident   no link on the alert; INC-242 (Incident, above)" in text
        # A page that names its incident.
        await show(pilot, API_5XX, "page")
        await until(pilot, lambda: "INC-242" in detail_text(app), "the page's incident")
        assert "the page names it" in detail_text(app)
        # A Grafana alert with no incident.io page or alert is part of none.
        await show(pilot, CHECKOUT)
        await until(pilot, lambda: "not part of an incident" in detail_text(app))
        assert "INC-" not in detail_text(app).split("Links")[0]


async def test_the_first_page_to_me_shows_its_incident():
    """The demo's first page to me: the alert route attached its alert to the live
    payments incident, and the page names it; the detail shows it and enter opens it."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await show(pilot, LEDGER, "page")
        await until(pilot, lambda: "INC-242" in detail_text(app), "the page's incident")
        text = detail_text(app)
        assert "Card payments failing for some EU customers" in text
        assert "lead Kofi Mensah" in text and "(active)" in text
        assert "not part of an incident" not in text
        await enter_opens_inc_242(pilot)


async def test_enter_opens_the_incident_of_the_row():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await show(pilot, CHECKOUT)
        await pilot.press("enter")
        await until(pilot, lambda: any("not part of an incident" in m for m in notices(app)))
        assert isinstance(app.screen, DashboardScreen)
        await show(pilot, CARD_AUTH)
        await enter_opens_inc_242(pilot)


async def test_declare_on_an_alert_of_an_incident_offers_a_note_to_it_first():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await show(pilot, CARD_AUTH)
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ChooseScreen), "the offer")
        labels = [label for _, label, _ in app.screen._options]
        assert labels == ["Add a note to INC-242", "Declare a new incident"]
        await pilot.press("enter")  # the first: a note to INC-242
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), "the note box")
        await pilot.press("ctrl+s")  # the prefilled note: what fires, since when, its link
        await until(pilot, lambda: any("Note saved for INC-242" in m for m in notices(app)))
        await until(pilot, lambda: writes(app, "timeline_item.create"), "the note delivered")
        [write] = writes(app, "timeline_item.create")
        world = app.session.demo.world
        assert world.incidents[write.data["incident_id"]].reference == "INC-242"
        assert CARD_AUTH in write.data["title"]
        assert isinstance(app.screen, DashboardScreen)


async def test_declare_a_new_one_instead_and_severity_comes_from_the_alert():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await show(pilot, CARD_AUTH)  # a warning alert
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ChooseScreen))
        await pilot.press("down", "enter")  # "Declare a new incident"
        await until(pilot, lambda: isinstance(app.screen, DeclareScreen), "the declare form")
        form = app.screen
        await until(pilot, lambda: form.lookups is not None and form._chosen_severity())
        chosen = form.lookups.severity(form._chosen_severity())
        assert chosen is not None and chosen.name == "Minor"
        words = str(form.query_one("#preselect", Static).render())
        assert "Minor is chosen from the alert's severity (warning)" in words
        assert "Declare when" in words
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        # The page to me is critical and on INC-242: a new incident from it is Critical.
        await show(pilot, LEDGER, "page")
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ChooseScreen), "the offer")
        labels = [label for _, label, _ in app.screen._options]
        assert labels == ["Add a note to INC-242", "Declare a new incident"]
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, DeclareScreen), "the declare form")
        form = app.screen
        await until(pilot, lambda: form.lookups is not None and form._chosen_severity())
        assert form.lookups.severity(form._chosen_severity()).name == "Critical"
        radio = form.query_one("#severity", RadioSet)
        assert str(radio.pressed_button.label) == "Critical"


async def test_narrow_enter_opens_the_detail_first_then_the_incident():
    app = make_app()
    async with app.run_test(size=(90, 30)) as pilot:
        await loaded(pilot)
        await show(pilot, CARD_AUTH)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.has_class("detail-open"), "the detail")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen), "incident screen")
