"""The triage card on the demo (Pilot, time standing still): the page that reaches me, the
Grafana alert behind it on the same row, its runbook, panel and graph with the threshold
and the trend in words, and ``G`` for the wider chart; where a part cannot be had, the
card says why and the dashboard keeps working."""

from __future__ import annotations

import pytest
from demo_session import FrozenDemo, frozen_time
from test_dashboard_snapshots import PAGE_LANDED, is_my_page
from test_dashboard_snapshots import paged as on_my_page

from oncall_tui.core.linking import MATCH_DEDUP, MATCH_SOURCE_LINK
from oncall_tui.domain import LINK_PANEL, LINK_RUNBOOK, Series
from oncall_tui.sim.scenario import LEDGER_RULE_UID
from oncall_tui.ui.screens.metric_chart import ChartScreen
from oncall_tui.ui.widgets.alert_detail import AlertDetail

BIG = (160, 48)
SMALL = (80, 24)


@pytest.fixture
def frozen():
    with frozen_time() as traveller:
        yield traveller


def detail(demo: FrozenDemo) -> AlertDetail:
    return demo.dashboard.query_one(AlertDetail)


def ledger_alert(demo: FrozenDemo):
    (alert,) = [a for a in demo.session.engine.snapshot().alerts if a.rule_uid == LEDGER_RULE_UID]
    return alert


async def test_the_first_page_to_me_is_one_row_with_the_grafana_alert_behind_it(frozen):
    demo = FrozenDemo(frozen)
    async with demo.app.run_test(size=BIG) as pilot:
        await on_my_page(demo, pilot)
        row = demo.table.cursor_item
        grafana = ledger_alert(demo)
        # One row: the page's state and the Grafana alert's, matched by its fingerprint.
        assert (row.state, row.source_state) == ("triggered", "firing")
        assert row.source_key == grafana.key and row.matched_by == MATCH_DEDUP
        assert not [r for r in demo.table.rows if grafana.key in r.alert_keys]
        # The card: the page, then the alert behind it with the rule's runbook and panel.
        card = detail(demo).card_content().plain
        assert card.startswith("Page    level 1 of 3 on Payments")
        assert "notified" in card and "Robin Ahn" in card
        assert "From    grafana:us · firing since" in card
        assert "matched by deduplication key" in card
        assert f"Runbook {grafana.link(LINK_RUNBOOK).url}" in card
        assert f"Panel   {grafana.link(LINK_PANEL).url}" in card
        # The graph: the rule's threshold as a line, the span, now and the peak, the trend.
        spark = detail(demo).sparkline
        assert spark.series is not None and spark.series.threshold is not None
        assert spark.series.threshold.value == 600
        assert "╌" in spark.chart(60).plain
        caption = spark.caption().plain
        assert "last 1h" in caption and "threshold > 600" in caption
        assert "past the threshold (> 600) since" in caption
        assert spark.trend is not None and spark.trend.words.startswith("rising")
        assert spark.trend.words in caption


async def test_the_live_incidents_page_is_matched_by_its_source_link(frozen):
    demo = FrozenDemo(frozen)
    async with demo.app.run_test(size=BIG) as pilot:
        await demo.loaded(pilot)
        row = demo.move_to(lambda r: r.kind == "page" and r.state == "acked")
        await demo.settle(pilot)
        assert row.matched_by == MATCH_SOURCE_LINK and row.source_state == "firing"
        card = detail(demo).card_content().plain
        assert "matched by source link (service, severity, team agree)" in card
        # Coming down after the rollback, still past its 5% threshold: the words say so.
        spark = detail(demo).sparkline
        assert spark.trend is not None and spark.trend.words.startswith("falling")
        assert "past the threshold (> 0.05)" in spark.caption().plain


async def test_an_alert_with_no_grafana_alert_behind_it_says_why(frozen):
    demo = FrozenDemo(frozen)
    async with demo.app.run_test(size=BIG) as pilot:
        await demo.loaded(pilot)
        demo.move_to(lambda r: r.source == "incident.io" and r.kind == "alert")
        await demo.settle(pilot)
        card = detail(demo).card_content().plain
        assert "From    no Grafana alert matches this alert: grafana:us lists no firing" in card
        assert detail(demo).sparkline.caption().plain.startswith("no metric: incident.io")


async def test_g_opens_the_wider_chart_and_6_shows_six_hours(frozen):
    demo = FrozenDemo(frozen)
    async with demo.app.run_test(size=BIG) as pilot:
        await on_my_page(demo, pilot)
        await pilot.press("G")
        await demo.until(pilot, lambda: isinstance(demo.screen, ChartScreen), "the chart")
        chart = demo.screen
        await demo.until(pilot, lambda: isinstance(chart.state, Series), "the last hour")
        assert (chart.state.end - chart.state.start).total_seconds() == 3600
        plot = chart.plot_content(150, 30).plain
        assert "╌600" in plot and "now " in plot
        await pilot.press("6")
        await demo.until(
            pilot,
            lambda: (
                isinstance(chart.state, Series)
                and (chart.state.end - chart.state.start).total_seconds() == 6 * 3600
            ),
            "six hours",
        )
        assert "six hours" in chart.title_content().plain
        await pilot.press("escape")
        await demo.until(pilot, lambda: not isinstance(demo.screen, ChartScreen), "closed")


async def test_a_failing_metric_query_says_why_and_the_dashboard_keeps_working(frozen):
    demo = FrozenDemo(frozen)
    async with demo.app.run_test(size=BIG) as pilot:
        await demo.loaded(pilot)
        faults = demo.faults("grafana:us")
        faults.path_prefix, faults.status = "/api/ds/query", 500
        demo.advance(PAGE_LANDED)
        await demo.settle(pilot)
        await demo.until(pilot, lambda: demo.my_triggered_page() is not None, "the page to me")
        demo.move_to(is_my_page)
        await demo.settle(pilot)
        caption = detail(demo).sparkline.caption().plain
        assert caption.startswith("metric not available: grafana:us")
        # The card still has the page and the alert behind it; keys still answer.
        assert "matched by deduplication key" in detail(demo).card_content().plain
        await pilot.press("G")
        await demo.until(pilot, lambda: isinstance(demo.screen, ChartScreen), "the chart")
        chart = demo.screen
        await demo.until(
            pilot, lambda: isinstance(chart.state, str) and chart.state != "loading", "why"
        )
        assert chart.plot_content(100, 20).plain.startswith("metric not available")


async def test_a_slow_metric_query_shows_loading_and_blocks_nothing(frozen):
    demo = FrozenDemo(frozen)
    async with demo.app.run_test(size=BIG) as pilot:
        await demo.loaded(pilot)
        faults = demo.faults("grafana:us")
        faults.path_prefix, faults.hang_seconds = "/api/ds/query", 60
        demo.advance(PAGE_LANDED)
        await demo.until(pilot, lambda: demo.my_triggered_page() is not None, "the page to me")
        demo.move_to(is_my_page)
        await demo.until(pilot, lambda: faults.hits > 0, "the metric asked for")
        await pilot.pause()
        assert detail(demo).sparkline.caption().plain == "loading metric…"
        assert "matched by deduplication key" in detail(demo).card_content().plain
        # The keys still answer while the query hangs: the chart opens, says it is
        # loading, and closes.
        await pilot.press("G")
        await demo.until(pilot, lambda: isinstance(demo.screen, ChartScreen), "the chart")
        assert demo.screen.plot_content(100, 20).plain == "loading the last hour…"
        await pilot.press("escape")
        await demo.until(pilot, lambda: not isinstance(demo.screen, ChartScreen), "closed")
        await pilot.press("down")
        await demo.until(pilot, lambda: not is_my_page(demo.table.cursor_item), "moved on")


async def test_the_wider_chart_shows_hostile_api_text_literally(frozen):
    demo = FrozenDemo(frozen)
    async with demo.app.run_test(size=BIG) as pilot:
        await demo.loaded(pilot)
        demo.move_to(lambda r: "almost full" in r.title)  # the simulator's hostile rule
        await demo.settle(pilot)
        await pilot.press("G")
        await demo.until(pilot, lambda: isinstance(demo.screen, ChartScreen), "the chart")
        chart = demo.screen
        await demo.until(pilot, lambda: isinstance(chart.state, Series), "the metric")
        title = chart.title_content().plain
        assert "Disk db-1 [bold]almost full[/bold]" in title and "\x1b" not in title
        caption = chart.query_one("#chart-caption").render()
        assert "\x1b" not in str(caption) and "\u202e" not in str(caption)


def test_triage_card_160x48(snap_compare, frozen):
    """The page to me: one row with the Grafana alert's state; the card with the page,
    the alert behind it, its runbook and panel, and the graph with its threshold."""
    demo = FrozenDemo(frozen)

    async def run_before(pilot) -> None:
        await on_my_page(demo, pilot)

    assert snap_compare(demo.app, run_before=run_before, terminal_size=BIG)


def test_triage_card_80x24(snap_compare, frozen):
    """The same card on a small terminal: Enter opens the detail over the list."""
    demo = FrozenDemo(frozen)

    async def run_before(pilot) -> None:
        await on_my_page(demo, pilot)
        await pilot.press("enter")
        await demo.settle(pilot)
        demo.app.clear_notifications()  # the "New page" toast would cover the graph
        await pilot.pause()

    assert snap_compare(demo.app, run_before=run_before, terminal_size=SMALL)
