"""SVG snapshots of the triage pieces on the demo world, time standing still: an alert's
incident in the detail (and, further down, watched rows). Regenerate with
``--snapshot-update`` and look at the PNG (``rsvg-convert``) before committing."""

from __future__ import annotations

import pytest
from demo_session import FrozenDemo, frozen_time

from oncall_tui.ui.widgets.alert_detail import AlertDetail

LARGE = (160, 48)
CARD_AUTH = "Card authorisation latency p99 above 2s"


@pytest.fixture
def frozen():
    with frozen_time() as traveller:
        yield traveller


def test_an_alert_with_its_incident(snap_compare, frozen):
    """The card latency alert, attached to INC-242 by incident.io: the detail names the
    incident, its status and its lead, and says enter opens it."""
    demo = FrozenDemo(frozen, background_alerts=0)

    async def run_before(pilot) -> None:
        await demo.loaded(pilot)
        demo.move_to(lambda r: r.title == CARD_AUTH)
        await demo.settle(pilot)
        detail = demo.dashboard.query_one(AlertDetail)
        await demo.until(pilot, lambda: "INC-242" in detail.body_content().plain, "incident")
        demo.redraw_clocks()

    assert snap_compare(demo.app, run_before=run_before, terminal_size=LARGE)


def test_a_watched_alert(snap_compare, frozen):
    """W on the checkout latency alert: the ◎ in its row, and the toast that says what
    it will be told (the graph's peak)."""
    demo = FrozenDemo(frozen, scenario=False, background_alerts=0)

    async def run_before(pilot) -> None:
        await demo.loaded(pilot)
        row = demo.move_to(lambda r: r.title == "Checkout p99 latency is above 500 ms")
        await demo.settle(pilot)
        await pilot.press("W")
        await demo.until(pilot, lambda: demo.watched_rows() == {row.key}, "watched")
        await demo.until(pilot, lambda: any("Watching" in n for n in demo.notices()), "toast")
        demo.redraw_clocks()

    assert snap_compare(demo.app, run_before=run_before, terminal_size=LARGE)
