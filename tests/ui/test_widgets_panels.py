"""Shift panel, status bar, alert detail with sparkline, timeline view."""

from __future__ import annotations

from datetime import timedelta

import widget_apps as w
from widget_apps import WidgetApp

from oncall_tui.domain import Series, SourceHealth, TimelineEntry
from oncall_tui.ui.widgets.alert_detail import AlertDetail, event_words
from oncall_tui.ui.widgets.shift_panel import ShiftPanel, default_glance_ids
from oncall_tui.ui.widgets.sparkline import MetricSparkline, format_value
from oncall_tui.ui.widgets.status_bar import StatusBar, describe_filter, source_segment
from oncall_tui.ui.widgets.timeline_view import TimelineView

# ----------------------------------------------------------------------- shift panel


def panel_text(panel: ShiftPanel) -> list[str]:
    return [line.plain for line in panel.lines()]


async def test_shift_panel_on_call_full_and_compact():
    panel = ShiftPanel(clock=w.clock, zone=w.ZONE, compact=False)
    app = WidgetApp(panel)
    async with app.run_test(size=(120, 40)) as pilot:
        assert panel_text(panel) == ["Loading schedules…"]
        panel.update_data(
            schedules=w.SCHEDULES,
            shifts=w.shifts(on_call=True),
            me=w.ME,
            glance_schedule_ids=w.GLANCE,
        )
        await pilot.pause()
        lines = panel_text(panel)
        assert lines[0].startswith(" ON CALL  On call: Payments / Weekdays / Primary")
        assert "2h 23m left (until Tue 17:00 CET)" in lines[0]
        assert "Weekdays / Secondary: Ben" in lines[1]
        assert "next: Cy at Tue 17:00 CET" in lines[1]
        assert lines[2].startswith("Escalators: Dee until Wed 01:00 CET │ Global on-call:")
        panel.compact = True
        lines = panel_text(panel)
        assert len(lines) == 2
        assert (
            lines[0] == " ON CALL  On call: Payments / Weekdays / Primary · 2h 23m left · next Cy"
        )


async def test_shift_panel_off_call_and_countdown_moves_with_the_clock():
    now = [w.NOW]
    panel = ShiftPanel(clock=lambda: now[0], zone=w.ZONE)
    app = WidgetApp(panel)
    async with app.run_test(size=(80, 24)) as pilot:
        panel.update_data(
            schedules=w.SCHEDULES,
            shifts=w.shifts(on_call=False),
            me=w.ME,
            glance_schedule_ids=w.GLANCE,
        )
        await pilot.pause()
        assert panel.is_compact  # 80×24 is small
        assert panel_text(panel)[0] == (
            "Off call · next: Support: Payments, Thu 09:00 CET (in 1d 18h)"
        )
        panel.update_data(schedules=w.SCHEDULES, shifts=w.shifts(on_call=True), me=w.ME)
        assert "2h 23m left" in panel_text(panel)[0]
        now[0] = w.NOW + timedelta(hours=2, minutes=22, seconds=30)
        assert "under a minute left" in panel_text(panel)[0]
        now[0] = w.NOW + timedelta(hours=3)
        assert panel_text(panel)[0].startswith("Off call · next: Support: Payments")


def test_default_glance_finds_escalators_then_global():
    assert default_glance_ids(w.SCHEDULES) == (w.ESCALATORS.id, w.GLOBAL.id)


# ------------------------------------------------------------------------ status bar


def test_source_segments_in_words():
    now = w.NOW
    fresh, stale, _ = w.HEALTH
    assert source_segment(fresh, now).plain == "incident.io ✓ 12s"
    assert source_segment(stale, now).plain == "grafana:eu STALE 4m ⚠"
    never = SourceHealth("grafana:us", error="timeout")
    assert source_segment(never, now).plain == "grafana:us ✗ no data yet ⚠"
    assert source_segment(SourceHealth("x"), now).plain == "x … loading"


def test_describe_filter():
    from oncall_tui.core.views import AlertFilter

    assert describe_filter(AlertFilter()) == ""
    text = describe_filter(AlertFilter(query="pay\x1b[2J", mine_only=True, hide_acked=True))
    assert text == "filter “pay” · mine only · acked hidden"


async def test_status_bar_fits_80_columns_and_shows_errors_on_demand():
    bar = StatusBar(clock=w.clock)
    app = WidgetApp(bar)
    messages: list = []
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        bar.update_state(health=w.HEALTH, readonly=True, pending_writes=2, filter_text="")
        await pilot.pause()
        sources, extras = bar.contents(80)
        assert "grafana:eu STALE 4m ⚠" in sources.plain
        assert sources.cell_length + extras.cell_length < 80
        wide_sources, wide_extras = bar.contents(200)
        assert wide_sources.plain == (
            "incident.io ✓ 12s │ grafana:eu STALE 4m ⚠ │ grafana:us ✓ 40s"
        )
        assert wide_extras.plain == "2 writes waiting │  READ-ONLY "
        assert bar.has_errors
        assert "grafana:eu: connection refused" in bar.errors_text()
        assert "(3 failures in a row)" in bar.errors_text()
        assert bar.tooltip and "connection refused" in str(bar.tooltip)
        await pilot.click(StatusBar)
        await pilot.pause()
        requested = [m for m in messages if isinstance(m, StatusBar.ErrorsRequested)]
        assert requested and "connection refused" in requested[0].text


# ---------------------------------------------------------------- detail + sparkline


def test_format_value():
    assert format_value(812.0, "ms") == "812 ms"
    assert format_value(12_345) == "12.3k"
    assert format_value(0.0234) == "0.0234"
    assert format_value(float("nan")) == "—"


async def test_detail_shows_links_missing_and_refused_and_the_trend():
    detail = AlertDetail(clock=w.clock, zone=w.ZONE)
    app = WidgetApp(detail)
    async with app.run_test(size=(100, 60)) as pilot:
        assert detail.body_content().plain.startswith("Select a page or an alert")
        row = w.rows_paged()[0]
        detail.show(
            row, alert=w.CHECKOUT, pages=[w.page()], notes=w.NOTES, path=w.PATH, series="loading"
        )
        await pilot.pause()
        assert detail.sparkline.caption().plain == "loading metric…"
        detail.show_series(w.SERIES)
        await pilot.pause()
        caption = detail.sparkline.caption().plain
        assert caption.startswith("checkout p99 latency  last 58m · unit ms\n")
        assert "now 430 ms · peak 905 ms at 13:59" in caption
        assert detail.sparkline.trend.words in caption
        body = detail.body_content().plain
        assert "runbook    ✓ https://runbooks.example.com/payments/latency" in body
        assert "panel      ✗ refused: javascript links are never opened" in body
        assert "rule       ✗ missing" in body
        assert "incident   ✗ missing" in body
        assert "alertname=CheckoutLatency  team=payments  env=prod" in body
        assert "Mia: Looking at the payment gateway pool." in body
        assert "notified Mia (high urgency)" in body
        assert "▶ L1 On call: Payments (ack within 5m)" in body
        status = detail.status_content().plain
        assert status.startswith("CRIT · triggered · since Tue 14:34 CET (3m ago)")
        assert "paging me" in status and "level 1 of 3" in status
        # Another row resets the metric; the same row keeps it.
        detail.show(row, alert=w.CHECKOUT, pages=[w.page()])
        assert detail.sparkline.trend is not None
        detail.show(w.rows_paged()[2], alerts=[w.QUIET_ALERTS[2], w.QUIET_ALERTS[3]])
        assert detail.sparkline.caption().plain == "no metric for this alert"
        assert "Grouped alerts (2)" in detail.body_content().plain
        detail.show_nothing()
        assert detail.title_content().plain == "Nothing selected"


async def test_sparkline_without_usable_points_says_so():
    spark = MetricSparkline()
    app = WidgetApp(spark)
    async with app.run_test(size=(60, 10)):
        spark.show_series(Series("x", points=((w.NOW, float("nan")),)))
        assert spark.caption().plain == "no data for this metric in the last hour"
        spark.show_series(None)
        assert spark.caption().plain == "no metric for this alert"


async def test_detail_shows_hostile_text_literally():
    from dataclasses import replace

    evil = replace(
        w.CHECKOUT,
        title="[bold]x[/bold] \x1b]8;;https://evil\x07link\x1b]8;;\x07",
        description="[link=https://evil]desc[/link]\x1b[2J",
        labels=(("[k]", "\u202ev"),),
    )
    row = replace(w.rows_paged()[1], title=evil.title)
    detail = AlertDetail(clock=w.clock)
    app = WidgetApp(detail)
    async with app.run_test(size=(100, 40)):
        detail.show(row, alert=evil)
        assert detail.title_content().plain == "[bold]x[/bold] link"
        body = detail.body_content().plain
        assert "[link=https://evil]desc[/link]" in body and "[k]=v" in body
        assert "\x1b" not in body and "\u202e" not in body


def test_event_words():
    from oncall_tui.domain import PageEvent

    assert event_words(PageEvent("1", "acked", w.NOW, users=(w.ME,))) == "acked by Mia"
    assert (
        event_words(PageEvent("2", "notified_users", w.NOW, users=(w.ME, w.BEN), urgency="low"))
        == "notified Mia, Ben (low urgency)"
    )
    assert event_words(PageEvent("3", "escalation_level_reached", w.NOW)) == (
        "escalation level reached"
    )


# -------------------------------------------------------------------------- timeline


def entry(minutes: int, text: str) -> TimelineEntry:
    return TimelineEntry(w.NOW + timedelta(minutes=minutes), "note", text, author="Mia")


async def test_timeline_follows_new_entries_only_at_the_bottom():
    view = TimelineView(zone=w.ZONE)
    app = WidgetApp(view)
    async with app.run_test(size=(60, 12)) as pilot:
        view.focus()
        view.set_entries([entry(i, f"note {i} " + "word " * 20) for i in range(20)])
        await pilot.pause()
        assert view.scroll_y == view.max_scroll_y > 0  # starts at the latest
        view.append(entry(30, "new at the bottom"))
        await pilot.pause()
        assert view.scroll_y == view.max_scroll_y
        # Scrolled up: a new entry does not move the view.
        await pilot.press("home")
        await pilot.pause()
        view.scroll_to(y=10, animate=False)
        await pilot.pause()
        top = view.scroll_y
        first_line = view.render_line(0).text
        view.append(entry(31, "another"))
        await pilot.pause()
        assert view.scroll_y == top
        assert view.render_line(0).text == first_line
        # Replacing entries with one inserted above keeps the same line at the top.
        view.set_entries([entry(-5, "older"), *view.entries])
        await pilot.pause()
        assert view.render_line(0).text == first_line


async def test_timeline_lines_show_time_kind_author_and_pending():
    view = TimelineView(zone=w.ZONE)
    app = WidgetApp(view)
    async with app.run_test(size=(60, 20)) as pilot:
        assert "No timeline entries yet." in view.render_line(0).text
        view.set_entries(w.TIMELINE)
        await pilot.pause()
        text = [view.render_line(y).text.rstrip() for y in range(view.line_count)]
        assert text[0] == "14:07 CET  created  Mia"
        assert text[1] == "  Incident declared: checkout slow"
        assert any(line.endswith("Mia  (waiting to send)") for line in text)
        assert all(len(line) <= 59 for line in text)
        view.show_utc = True
        await pilot.pause()
        assert view.render_line(0).text.startswith("13:07 UTC")
