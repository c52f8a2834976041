"""AlertTable: keyboard, cursor stability across updates, marks, new rows, columns."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import replace

import pytest
from widget_apps import WidgetApp, clock, numbered_rows, rows_paged, simple_row

from oncall_tui.ui.style import compact_duration
from oncall_tui.ui.widgets.alert_table import (
    TITLE_MIN,
    AlertTable,
    layout_columns,
)


@asynccontextmanager
async def running(rows, size=(80, 24)):
    """A focused AlertTable showing ``rows``; yields (pilot, table, messages)."""
    app = WidgetApp(AlertTable(clock=clock))
    messages: list = []
    async with app.run_test(size=size, message_hook=messages.append) as pilot:
        table = app.query_one(AlertTable)
        table.focus()
        table.update_rows(rows)
        await pilot.pause()
        yield pilot, table, messages


def of(messages, kind):
    """Messages of ``kind``, each once (the hook sees a message at every node it
    bubbles through)."""
    seen: set[int] = set()
    out = []
    for m in messages:
        if isinstance(m, kind) and id(m) not in seen:
            seen.add(id(m))
            out.append(m)
    return out


# ----------------------------------------------------------------------- keyboard


async def test_keys_move_the_cursor_and_post_highlighted():
    async with running(numbered_rows(100)) as (pilot, table, messages):
        assert table.cursor_key == "r000"
        await pilot.press("down", "down", "j")
        assert table.cursor_key == "r003"
        await pilot.press("up", "k")
        assert table.cursor_key == "r001"
        await pilot.press("end")
        assert table.cursor_key == "r099"
        # The cursor row is on screen: the view scrolled with it.
        body = table.scrollable_content_region.height - 1
        assert table.scroll_y >= 99 - body + 1
        await pilot.press("home")
        assert table.cursor_key == "r000" and table.scroll_y == 0
        await pilot.press("pagedown")
        assert table.cursor_row == body - 1
        await pilot.press("pageup")
        assert table.cursor_row == 0
        await pilot.press("up")  # stays at the top
        assert table.cursor_row == 0
        await pilot.pause()
        highlighted = [m.row_id for m in of(messages, AlertTable.Highlighted)]
        assert highlighted[:4] == ["r000", "r001", "r002", "r003"]
        assert highlighted[-2:] == [f"r{body - 1:03d}", "r000"]


async def test_enter_and_click_select():
    async with running(numbered_rows(10)) as (pilot, table, messages):
        await pilot.press("down", "enter")
        await pilot.pause()
        assert [m.row_id for m in of(messages, AlertTable.Selected)] == ["r001"]
        # Click on the fourth data row (screen line 4: line 0 is the header).
        await pilot.click(AlertTable, offset=(20, 4))
        await pilot.pause()
        assert table.cursor_key == "r003"
        assert len(of(messages, AlertTable.Selected)) == 1  # first click only moves
        await pilot.click(AlertTable, offset=(20, 4))
        await pilot.pause()
        assert [m.row_id for m in of(messages, AlertTable.Selected)] == ["r001", "r003"]
        # A click on the header does nothing.
        await pilot.click(AlertTable, offset=(20, 0))
        assert table.cursor_key == "r003"


# ------------------------------------------------------------------ updates


async def test_update_that_reorders_keeps_cursor_on_the_same_item():
    rows = numbered_rows(50)
    async with running(rows) as (pilot, table, messages):
        for _ in range(30):
            await pilot.press("down")
        assert table.cursor_key == "r030"
        screen_line = table.cursor_row - table.scroll_y
        # Five rows above it move to the end and it changes state: the cursor follows
        # r030 and the item keeps its place on screen.
        moved = [*rows[5:], *rows[:5]]
        reordered = [replace(r, state="acked") if r.key == "r030" else r for r in moved]
        table.update_rows(reordered)
        await pilot.pause()
        assert table.cursor_key == "r030"
        assert table.cursor_item.state == "acked"
        assert table.cursor_row == 25
        assert table.cursor_row - table.scroll_y == screen_line
        # Reversed: the item cannot keep its line, but the cursor stays on it, visible.
        reordered = reordered[::-1]
        table.update_rows(reordered)
        await pilot.pause()
        assert table.cursor_key == "r030" and table.cursor_row == 24
        body = table.scrollable_content_region.height - 1
        assert table.scroll_y <= table.cursor_row < table.scroll_y + body
        # No Highlighted for the same item.
        assert of(messages, AlertTable.Highlighted)[-1].row_id == "r030"
        before = len(of(messages, AlertTable.Highlighted))
        table.update_rows(reordered)
        await pilot.pause()
        assert len(of(messages, AlertTable.Highlighted)) == before


async def test_vanished_item_moves_cursor_to_its_neighbour():
    rows = numbered_rows(10)
    async with running(rows) as (pilot, table, messages):
        await pilot.press("down", "down", "down")
        assert table.cursor_key == "r003"
        # r003 and r004 go: the next survivor below is r005.
        table.update_rows([r for r in rows if r.key not in ("r003", "r004")])
        await pilot.pause()
        assert table.cursor_key == "r005"
        assert of(messages, AlertTable.Highlighted)[-1].row_id == "r005"
        # The last row vanishes: the cursor goes to the one above.
        await pilot.press("end")
        assert table.cursor_key == "r009"
        table.update_rows([r for r in rows if r.key not in ("r003", "r004", "r009")])
        await pilot.pause()
        assert table.cursor_key == "r008"
        # Everything vanishes, then rows come back.
        table.update_rows([])
        await pilot.pause()
        assert table.cursor_key is None and table.cursor_row == -1
        assert of(messages, AlertTable.Highlighted)[-1].row_id is None
        assert "Nothing to show." in table.render_line(1).text
        table.update_rows(rows[:3])
        await pilot.pause()
        assert table.cursor_key == "r000"


async def test_changed_cells_are_redrawn():
    rows = numbered_rows(5)
    async with running(rows) as (pilot, table, _messages):
        assert "firing" in table.render_line(2).text
        table.update_rows([replace(rows[0]), replace(rows[1], state="snoozed"), *rows[2:]])
        await pilot.pause()
        assert "snoozed" in table.render_line(2).text
        assert "firing" in table.render_line(1).text


async def test_new_rows_are_marked_until_visited():
    rows = numbered_rows(3)
    async with running(rows) as (pilot, table, _messages):
        assert table.unseen == frozenset()  # the first list is not "new"
        fresh = simple_row("fresh", "brand new alert")
        table.update_rows([*rows, fresh])
        await pilot.pause()
        assert table.unseen == {"fresh"}
        assert table.render_line(4).text[2] == "•"
        await pilot.press("end")
        assert table.unseen == frozenset()
        assert table.render_line(4).text[2] == " "
        # A row hidden by a filter and shown again is not new.
        table.update_rows(rows)
        table.update_rows([*rows, fresh])
        assert table.unseen == frozenset()


# --------------------------------------------------------------------- marks


async def test_space_marks_rows_and_marks_follow_the_list():
    rows = numbered_rows(6)
    async with running(rows) as (pilot, table, messages):
        await pilot.press("space", "down", "down", "space")
        await pilot.pause()
        assert table.marked == ("r000", "r002")
        toggles = of(messages, AlertTable.MarkToggled)
        assert [t.row_ids for t in toggles] == [("r000",), ("r000", "r002")]
        assert [t.changed for t in toggles] == [("r000",), ("r002",)]
        assert table.render_line(1).text[0] == "●"
        await pilot.press("space")  # unmark r002
        await pilot.pause()
        assert table.marked == ("r000",)
        table.toggle_mark(["r004", "r005", "nope"])
        assert table.marked == ("r000", "r004", "r005")
        # A marked row that leaves the list loses its mark (and says so).
        table.update_rows([r for r in rows if r.key != "r004"])
        await pilot.pause()
        assert table.marked == ("r000", "r005")
        last = of(messages, AlertTable.MarkToggled)[-1]
        assert last.row_ids == ("r000", "r005") and last.changed == ("r004",)
        table.clear_marks()
        assert table.marked == ()


# ------------------------------------------------------------- hostile text


HOSTILE = (
    "[bold red]BOOM[/] [link=https://evil.example]click[/link] "
    "\x1b]8;;https://evil.example\x07osc\x1b]8;;\x07 \x1b[31mred\x1b[0m \u202etxt.exe"
)


async def test_hostile_title_shows_literally():
    row = simple_row("evil", HOSTILE, source="[i]src[/i]\x1b[2J")
    async with running([row], size=(160, 10)) as (_pilot, table, _messages):
        strip = table.render_line(1)
        text = strip.text
        assert "[bold red]BOOM[/] [link=https://evil.example]click[/link]" in text
        assert "osc" in text and "red" in text and "txt.exe" in text
        assert "[i]src[/i]" in text
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
        assert all(seg.style is None or not seg.style.link for seg in strip)


# ------------------------------------------------------------------- layout


def test_columns_drop_in_order_and_title_keeps_room():
    wide = [c.name for c, _ in layout_columns(140)]
    assert wide == [
        "gutter",
        "severity",
        "state",
        "escalation",
        "title",
        "links",
        "source",
        "age",
    ]
    at_80 = dict((c.name, w) for c, w in layout_columns(79))
    assert "source" not in at_80
    assert {"severity", "state", "escalation", "links", "age"} <= at_80.keys()
    assert at_80["title"] >= TITLE_MIN
    narrow = [c.name for c, _ in layout_columns(40)]
    assert narrow[:2] == ["gutter", "severity"] and "title" in narrow
    for width in range(10, 200):
        cols = layout_columns(width)
        used = sum(w for _, w in cols) + len(cols) - 1
        assert used <= max(width, 3 + 5 + 1 + 1 + 2)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (600, "10m"), (7500, "2h05m"), (50_000, "13h"), (90_000, "1d01h"), (10**6, "11d")],
)
def test_compact_duration(seconds, text):
    assert compact_duration(seconds) == text


async def test_paged_rows_show_level_links_and_group_count():
    async with running(list(rows_paged()), size=(120, 12)) as (_pilot, table, _messages):
        lines = [table.render_line(y).text for y in range(1, 6)]
        page_line = lines[0]
        assert "◆" in page_line and "CRIT" in page_line and "triggered" in page_line
        assert "L1/3" in page_line
        assert any("×2" in line for line in lines)
        assert any("R✗" in line for line in lines) and any("G✓" in line for line in lines)


async def test_a_burst_of_cursor_keys_moves_to_the_end_and_announces_once_per_frame():
    """A held Down sends keys faster than they are drawn: the cursor ends where the keys
    took it, and the detail (Highlighted) follows once per frame, not once per key."""
    from textual import events

    async with running(numbered_rows(100)) as (pilot, table, messages):
        before = len(of(messages, AlertTable.Highlighted))
        for _ in range(40):
            pilot.app._driver.send_message(events.Key("down", None))
        for _ in range(200):
            if table.cursor_row == 40:
                break
            await pilot.pause(0.01)
        await pilot.pause(0.1)
        assert table.cursor_key == "r040"
        announced = [m.row_id for m in of(messages, AlertTable.Highlighted)][before:]
        assert announced[-1] == "r040"
        assert len(announced) < 20, announced


async def test_held_cursor_keys_move_the_cursor_and_the_detail_follows_when_they_stop(
    monkeypatch,
):
    """Keys queued while the app was busy arrive a few ms apart: every key moves the
    cursor (a frame is drawn between them), the detail (Highlighted) follows the first
    and then the position the keys stopped at, not each row passed on the way."""
    from types import SimpleNamespace

    from textual import events

    from oncall_tui.ui.widgets import alert_table

    now = [100.0]  # the table's clock: keys 5 ms apart, however busy this machine is
    monkeypatch.setattr(alert_table, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    async with running(numbered_rows(100)) as (pilot, table, messages):
        before = len(of(messages, AlertTable.Highlighted))
        for n in range(1, 31):
            now[0] += 0.005
            pilot.app._driver.send_message(events.Key("down", None))
            for _ in range(100):
                await pilot.pause(0.005)
                if table.cursor_row == n:
                    break
            assert table.cursor_row == n  # each key moved the cursor at once
        now[0] += 1.0  # the keys stopped
        for _ in range(100):
            await pilot.pause(0.01)
            announced = [m.row_id for m in of(messages, AlertTable.Highlighted)][before:]
            if announced and announced[-1] == "r030":
                break
        assert announced[0] == "r001" and announced[-1] == "r030"
        assert len(announced) == 2, announced
