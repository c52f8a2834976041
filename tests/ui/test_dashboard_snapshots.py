"""SVG snapshots of the dashboard's main states on the demo world, time standing still.

Each test builds the real ``--demo`` session (``make_session``) on a seeded world with the
wall clock frozen (see ``demo_session.py``), moves the story on by hand, and compares the
screen with the SVG under ``__snapshots__/test_dashboard_snapshots/``. Two pilot tests at
the end check what a dimmed key says when pressed anyway.

Regenerate after a deliberate change with ``pytest tests/ui/test_dashboard_snapshots.py
--snapshot-update`` and look at the new SVGs before committing them (``rsvg-convert`` makes
PNGs; it draws the lines' leading no-break spaces too narrow, so replace ``&#160;`` with a
plain space and add ``xml:space="preserve"`` to the ``<svg>`` element first).
"""

from __future__ import annotations

import pytest
from demo_session import FrozenDemo, frozen_time
from textual.command import CommandInput, CommandList, CommandPalette

from oncall_tui.ui.screens.help import HelpScreen
from oncall_tui.ui.widgets.alert_table import AlertTable
from oncall_tui.ui.widgets.status_bar import StatusBar

WIDE = (120, 35)
SMALL = (80, 24)

# The scripted page reaches me 1.5 s in; by 6 s the alerts feed (every 5 s) has polled
# again too, so the page's alert, its links and its graph are known.
PAGE_LANDED = 6


@pytest.fixture
def frozen():
    with frozen_time() as traveller:
        yield traveller


def is_my_page(row) -> bool:
    return row.kind == "page" and row.mine and row.state == "triggered"


async def paged(demo: FrozenDemo, pilot) -> None:
    """The scripted page has reached me and the cursor is on it."""
    await demo.loaded(pilot)
    demo.advance(PAGE_LANDED)
    await demo.settle(pilot)
    await demo.until(pilot, lambda: demo.my_triggered_page() is not None, "the page to me")
    demo.move_to(is_my_page)
    await demo.settle(pilot)


def test_quiet(snap_compare, frozen):
    """No scripted story: nothing pages me; Grafana's own alerts fire, the first one
    highlighted with its graph and links; every source fresh."""
    demo = FrozenDemo(frozen, scenario=False)

    async def run_before(pilot) -> None:
        await demo.loaded(pilot)
        assert demo.my_triggered_page() is None
        assert not any(row.kind == "page" for row in demo.table.rows)

    assert snap_compare(demo.app, run_before=run_before, terminal_size=WIDE)


def test_paged(snap_compare, frozen):
    """The ledger-lag page has reached me at level 1 of 3: on top, highlighted, with its
    countdown to the next level, the detail of what paged, and the "New page" toast."""
    demo = FrozenDemo(frozen)

    async def run_before(pilot) -> None:
        await paged(demo, pilot)
        assert demo.table.cursor_item is not None and is_my_page(demo.table.cursor_item)
        assert any("Paged:" in n for n in demo.notices())

    assert snap_compare(demo.app, run_before=run_before, terminal_size=WIDE)


def test_acked(snap_compare, frozen):
    """After ``a`` on the page: the row reads acked, the escalation countdown is gone,
    and a toast says what changed."""
    demo = FrozenDemo(frozen)

    async def run_before(pilot) -> None:
        await paged(demo, pilot)
        key = demo.table.cursor_key
        await pilot.press("a")
        await demo.until(
            pilot, lambda: any(n.startswith("Acked") for n in demo.notices()), "ack reported"
        )
        await demo.settle(pilot)
        row = demo.table.get_row(key)
        assert row is not None and row.state == "acked"
        assert demo.table.cursor_key == key
        writes = [w for w in demo.demo.world.writes if w.kind == "escalation.respond"]
        assert writes and writes[-1].data.get("response") == "ack"

    assert snap_compare(demo.app, run_before=run_before, terminal_size=WIDE)


def test_stale_source(snap_compare, frozen):
    """grafana:eu answers 503 for three minutes: the status bar shows it STALE with the
    age of its last good data and a warning mark, while the other sources stay fresh."""
    demo = FrozenDemo(frozen)

    async def run_before(pilot) -> None:
        await demo.loaded(pilot)
        demo.faults("grafana:eu").status = 503
        demo.advance(180)
        await demo.settle(pilot)
        bar = demo.dashboard.query_one(StatusBar)
        # The status line may be drawn a frame after the rows (its own frame).
        await demo.until(pilot, lambda: bar.has_errors, "the status bar shows the error")
        assert "grafana:eu" in bar.errors_text()
        shown = bar.sources_content().plain
        assert "grafana:eu STALE 3m" in shown and shown.count("STALE") == 1, shown
        health = {h.name: h for h in demo.session.engine.snapshot().health}
        assert health["grafana:eu"].error and not health["incident.io"].error
        # the banner names the source and when it last answered, its rows are dimmed
        banner = str(demo.dashboard.query_one("#stale-banner").render())
        assert banner.startswith("grafana:eu: no answer since ") and "(3m)" in banner
        assert "showing what was known then" in banner
        table = demo.dashboard.query_one(AlertTable)
        dimmed = [r for r in table.rows if r.key in table.stale]
        assert dimmed and all("grafana:eu" in r.source for r in dimmed)

    assert snap_compare(demo.app, run_before=run_before, terminal_size=WIDE)


def test_readonly(snap_compare, frozen):
    """``--readonly`` with the page highlighted: the READ-ONLY badge is shown and the
    write keys in the footer (ack, escalate, decline, snooze, declare) are dimmed."""
    demo = FrozenDemo(frozen, readonly=True)

    async def run_before(pilot) -> None:
        await paged(demo, pilot)
        assert demo.dashboard.check_action("ack", ()) is None
        assert demo.dashboard.check_action("open_runbook", ()) is True

    assert snap_compare(demo.app, run_before=run_before, terminal_size=WIDE)


def test_paged_80x24(snap_compare, frozen):
    """The paged state in a classic 80×24 terminal: the detail pane folds away (Enter
    opens it), the shift panel is cut to its first lines, the table keeps its key columns."""
    demo = FrozenDemo(frozen)

    async def run_before(pilot) -> None:
        await paged(demo, pilot)
        assert demo.dashboard.has_class("narrow") and demo.dashboard.has_class("short")

    assert snap_compare(demo.app, run_before=run_before, terminal_size=SMALL)


def test_help(snap_compare, frozen):
    """``?`` over the paged dashboard: each key, what it does, and the binding id to remap
    it under ``[ui.keymap]`` (the column header once lost that name to Rich markup)."""
    demo = FrozenDemo(frozen)

    async def run_before(pilot) -> None:
        await paged(demo, pilot)
        await pilot.press("question_mark")
        await demo.until(pilot, lambda: isinstance(demo.app.screen, HelpScreen), "help shown")
        await demo.settle(pilot)

    assert snap_compare(demo.app, run_before=run_before, terminal_size=WIDE)


def test_palette_finds_ack(snap_compare, frozen):
    """Ctrl+P and "ack" on the paged dashboard: the palette offers the dashboard's Ack
    (with its key), not just Textual's own commands."""
    demo = FrozenDemo(frozen)

    async def run_before(pilot) -> None:
        await paged(demo, pilot)
        await pilot.press("ctrl+p")
        await demo.until(
            pilot, lambda: isinstance(demo.app.screen, CommandPalette), "palette shown"
        )
        # A blinking cursor would make the picture depend on the half-second it is taken in.
        demo.app.screen.query_one(CommandInput).cursor_blink = False
        await pilot.press("a", "c", "k")

        def offers_ack() -> bool:
            options = demo.app.screen.query_one(CommandList)
            return any(
                "Ack" in str(options.get_option_at_index(i).prompt)
                for i in range(options.option_count)
            )

        await demo.until(pilot, offers_ack, "Ack offered")
        await demo.settle(pilot)

    assert snap_compare(demo.app, run_before=run_before, terminal_size=WIDE)


# -- not pictures: what a dimmed key says when pressed anyway ------------------------------


async def test_dimmed_keys_say_why(frozen):
    """A write key in read-only mode, or decline/snooze on an alert row, is dimmed in the
    footer; pressing it says why instead of doing nothing."""
    demo = FrozenDemo(frozen, readonly=True)
    async with demo.app.run_test(size=WIDE) as pilot:
        await paged(demo, pilot)
        demo.app.clear_notifications()
        for key, verb in (("a", "Ack"), ("e", "Escalate"), ("x", "Decline"), ("D", "Declare")):
            await pilot.press(key)
            await demo.until(pilot, lambda: demo.notices(), f"a word about {key}")
            assert demo.notices() == [
                f"Read-only mode: {verb} is off; nothing was changed "
                "(--readonly or [ui] readonly = true)."
            ]
            demo.app.clear_notifications()
        assert not [w for w in demo.demo.world.writes if w.kind == "escalation.respond"]


async def test_decline_on_an_alert_row_says_it_works_on_pages(frozen):
    demo = FrozenDemo(frozen)
    async with demo.app.run_test(size=WIDE) as pilot:
        await paged(demo, pilot)
        demo.move_to(lambda row: row.kind == "alert")
        demo.app.clear_notifications()
        await pilot.press("x")
        await demo.until(pilot, lambda: demo.notices(), "a word about x")
        assert demo.notices()[0].startswith("Decline works on pages")
        assert isinstance(demo.app.screen, type(demo.dashboard))  # no confirm dialog
