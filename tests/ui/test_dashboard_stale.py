"""Stale is unmistakable, through the dashboard on the demo world (Pilot) and the
simulator's faults: an outage, a server that trickles bytes or hangs, a 429 asking for a
day, and a shared rate limit running low.

A source with no answer for two poll intervals loses its ✓, its rows are dimmed, a
banner says since when, and countdowns on its data are marked; the first good poll
clears all of it. The wall clock is frozen and moved by hand (see ``demo_session``).
"""

from __future__ import annotations

import pytest
from demo_session import FrozenDemo, frozen_time

from oncall_tui.backends.http import RetryPolicy
from oncall_tui.ui.widgets.alert_detail import AlertDetail
from oncall_tui.ui.widgets.shift_panel import ShiftPanel
from oncall_tui.ui.widgets.status_bar import StatusBar

PAGE_LANDED = 6
PAGES = "GET /v2/escalations"


@pytest.fixture
def frozen():
    with frozen_time() as traveller:
        yield traveller


def banner(demo: FrozenDemo) -> str:
    widget = demo.dashboard.query_one("#stale-banner")
    return str(widget.render()) if widget.has_class("shown") else ""


def bar_text(demo: FrozenDemo) -> str:
    bar = demo.dashboard.query_one(StatusBar)
    return bar.sources_content().plain + " | " + bar.extras_content().plain


def shift_text(demo: FrozenDemo) -> str:
    return "\n".join(line.plain for line in demo.dashboard.query_one(ShiftPanel).lines())


def line_text(demo: FrozenDemo, key: str) -> str:
    table = demo.table
    index = table.index_of(key)
    assert index is not None
    table.scroll_to(y=0, animate=False)
    strip = table.render_line(index + 1 - round(table.scroll_y))
    return "".join(segment.text for segment in strip)


async def paged(demo: FrozenDemo, pilot) -> str:
    await demo.loaded(pilot)
    demo.advance(PAGE_LANDED)
    await demo.settle(pilot)
    await demo.until(pilot, lambda: demo.my_triggered_page() is not None, "the page to me")
    row = demo.my_triggered_page()
    assert row is not None and row.next_level_at is not None
    assert demo.table.move_cursor_to_key(row.key)
    await demo.settle(pilot)
    return row.key


async def test_an_outage_makes_incident_io_stale_and_the_first_good_poll_clears_it(frozen):
    demo = FrozenDemo(frozen, background_alerts=20)
    async with demo.app.run_test(size=(160, 48)) as pilot:
        page = await paged(demo, pilot)
        assert "incident.io ✓" in bar_text(demo) and banner(demo) == ""
        assert page not in demo.table.stale and "?" not in line_text(demo, page)

        demo.faults("incident-io").update(down=True)
        demo.advance(180)
        await demo.settle(pilot)
        demo.dashboard._redraw_clock()
        await pilot.pause()

        shown = bar_text(demo)
        assert "incident.io ✓" not in shown and "incident.io STALE" in shown
        text = banner(demo)
        assert text.startswith("incident.io: no answer since 10:20 (")
        assert text.endswith("— showing what was known then")
        assert page in demo.table.stale  # dimmed
        assert "↑" in line_text(demo, page) and "?" in line_text(demo, page)  # marked
        status = demo.dashboard.query_one(AlertDetail).status_content().plain
        assert "moves up" in status and "from data as of 10:20, stale" in status
        # alerts from Grafana kept answering: their rows are not dimmed
        grafana = [r for r in demo.table.rows if r.kind == "alert" and "grafana" in r.source]
        assert grafana and not any(r.key in demo.table.stale for r in grafana)
        # the time left on my shift comes from the schedules (polled every five minutes),
        # stale too once they have gone unanswered for two of their intervals
        demo.advance(480)
        await demo.settle(pilot)
        demo.dashboard._redraw_clock()
        await pilot.pause()
        assert "left ? (schedules as of 10:20, stale)" in shift_text(demo)

        demo.faults("incident-io").clear()
        demo.dashboard.action_refresh()
        await demo.settle(pilot)
        demo.dashboard._redraw_clock()
        await pilot.pause()
        assert "incident.io ✓" in bar_text(demo) and "STALE" not in bar_text(demo)
        assert banner(demo) == "" and not demo.table.stale
        assert "stale" not in shift_text(demo)
        assert "from data as of" not in demo.dashboard.query_one(AlertDetail).status_content().plain


@pytest.mark.parametrize("fault", [{"trickle": 0.05}, {"hang_rate": 1.0, "hang_seconds": 600}])
async def test_a_server_that_trickles_or_hangs_cannot_keep_a_feed_fresh(frozen, fault):
    demo = FrozenDemo(frozen, background_alerts=20)
    io = demo.session.backends.incidentio
    async with demo.app.run_test(size=(160, 48)) as pilot:
        await paged(demo, pilot)
        io.retry = RetryPolicy(attempts=1)
        io.deadline = 0.5  # the overall deadline (20 s by default), short for the test
        demo.faults("incident-io").update(paths=["/v2/escalations"], **fault)
        for _ in range(6):  # a minute, each poll of pages held open until its deadline
            demo.advance(10)
            await demo.settle(pilot)
        demo.dashboard._redraw_clock()
        await pilot.pause()
        pages = demo.session.engine.health("incident.io pages")
        assert pages.error and "no complete answer within 0.5 s" in pages.error
        assert "incident.io ✓" not in bar_text(demo)
        assert banner(demo).startswith("incident.io pages: no answer since 10:20")


async def test_a_day_long_retry_after_leaves_pages_unpolled_five_minutes_at_most(frozen):
    demo = FrozenDemo(frozen, background_alerts=20)
    stats = demo.session.backends.stats
    async with demo.app.run_test(size=(160, 48)) as pilot:
        await paged(demo, pilot)
        faults = demo.faults("incident-io")
        faults.update(burst=1, burst_status=429, retry_after="86400", paths=["/v2/escalations"])
        demo.advance(10)
        await demo.settle(pilot)
        assert faults.injected.get("burst") == 1
        pages = demo.session.engine.health("incident.io pages")
        assert pages.error and "asked to wait 24h, trying again in 5m" in pages.error
        await pilot.press("w")
        await pilot.pause()
        said = "\n".join(demo.notices())
        assert "incident.io pages: rate limited; asked to wait 24h, trying again in 5m" in said
        asked = stats.by_endpoint[f"incident.io {PAGES}"]
        for _ in range(10):  # five minutes, in 30 s steps
            demo.advance(30)
            await demo.settle(pilot)
        assert stats.by_endpoint[f"incident.io {PAGES}"] > asked
        assert demo.session.engine.health("incident.io pages").error is None


async def test_a_low_shared_budget_slows_polls_and_says_so_and_w_shows_the_share(frozen):
    demo = FrozenDemo(frozen, background_alerts=20)
    async with demo.app.run_test(size=(200, 48)) as pilot:
        await paged(demo, pilot)
        demo.faults("incident-io").update(rate_remaining=144)  # 12% of 1200 left
        demo.advance(10)
        await demo.settle(pilot)
        demo.dashboard._redraw_clock()
        await pilot.pause()
        assert "incident.io: 12% of the shared rate limit left; polling every" in bar_text(demo)
        pace = demo.session.engine.pace("incident.io pages")
        assert pace.interval >= 4 * pace.base
        await pilot.press("w")
        await pilot.pause()
        said = "\n".join(demo.notices())
        assert "requests/min from this dashboard" in said
        assert "of the organisation's 1200/min; 12% of the shared limit left" in said
        assert "incident.io: 12% of the shared rate limit left" in said


async def test_odd_rate_limit_headers_never_slow_polls_and_w_says_why(frozen):
    demo = FrozenDemo(frozen, background_alerts=20)
    async with demo.app.run_test(size=(200, 48)) as pilot:
        await paged(demo, pilot)
        demo.faults("incident-io").update(rate_headers="malformed")
        demo.advance(10)
        await demo.settle(pilot)
        assert "rate limit" not in bar_text(demo)
        await pilot.press("w")
        await pilot.pause()
        said = "\n".join(demo.notices())
        assert "not pacing by it" in said and "X-RateLimit-" in said
