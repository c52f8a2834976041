"""Small terminals: the footer stays readable with Help and Quit, and the detail pane
scrolls from the keyboard far enough to show the escalation section."""

from __future__ import annotations

import pytest
from demo_session import FrozenDemo, frozen_time
from test_dashboard_snapshots import paged
from textual.containers import VerticalScroll

from oncall_tui.ui.screens.help import HelpScreen, binding_rows
from oncall_tui.ui.widgets.alert_detail import AlertDetail


@pytest.fixture
def frozen():
    with frozen_time() as traveller:
        yield traveller


def footer_line(app) -> str:
    """The bottom line of the screen as the terminal shows it."""
    return app.screen._compositor.render_strips()[-1].text.rstrip()


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 35)])
async def test_footer_shows_help_and_quit(frozen, size):
    demo = FrozenDemo(frozen)
    async with demo.app.run_test(size=size) as pilot:
        await paged(demo, pilot)
        line = footer_line(demo.app)
        words = line.split()
        # Readable: the keys and their words, in the order a person reads them.
        assert "? Help" in line and "q Quit" in line, line
        assert words.index("Help") < words.index("Quit")
        assert "a Ack" in line, line
        # The help screen still lists every key, including those the footer left out.
        await pilot.press("question_mark")
        await demo.until(pilot, lambda: isinstance(demo.app.screen, HelpScreen), "help")
        ids = {row[2] for row in binding_rows(demo.app, demo.dashboard)}
        assert {"calendar", "incidents", "declare", "open.runbook", "quit", "help"} <= ids


def escalation_shown(detail: AlertDetail) -> bool:
    """The escalation section (the last of the detail) is in the visible part of the
    pane down to its last line."""
    pane = detail.query_one(VerticalScroll)
    body = detail.query_one("#detail-body")
    lines = [strip.text.strip() for strip in body.render_lines(body.content_region.reset_offset)]
    heading = body.virtual_region.y + lines.index("Escalation")
    last = body.virtual_region.y + len(lines) - 1
    top = pane.scroll_offset.y
    bottom = top + pane.scrollable_content_region.height
    return heading < bottom and last < bottom


async def test_detail_scrolls_to_the_escalation(frozen):
    demo = FrozenDemo(frozen)
    async with demo.app.run_test(size=(160, 48)) as pilot:
        await paged(demo, pilot)
        detail = demo.dashboard.query_one(AlertDetail)
        pane = detail.query_one(VerticalScroll)
        await pilot.pause()
        assert pane.max_scroll_y > 0, "the page's detail is taller than the pane"
        assert pane.scroll_offset.y == 0
        assert not escalation_shown(detail)
        for _ in range(10):
            if escalation_shown(detail):
                break
            before = pane.scroll_offset.y
            await pilot.press("shift+down")
            await pilot.pause()
            assert pane.scroll_offset.y > before
        assert escalation_shown(detail)
        assert demo.table.has_focus  # the keys scroll the pane; the cursor stays put
        await pilot.press("shift+up")
        await pilot.pause()
        assert pane.scroll_offset.y < pane.max_scroll_y
