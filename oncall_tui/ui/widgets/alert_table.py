"""The pages-and-alerts table: a virtual table that renders only the rows on screen.

Built on :class:`~textual.scroll_view.ScrollView` and the Line API (the approach of
toolong's ``LogLines``): the widget keeps a plain list of
:class:`~oncall_tui.core.views.AlertRow` and a key → index map, draws a line when Textual
asks for it, and caches drawn lines in an LRU cache keyed by everything the line shows.
Updating with a new row list is O(rows) dictionary work and repaints only the visible
lines whose content changed, so 10,000 rows refresh in a few milliseconds (see
``benchmarks/bench_table.py``).

Rules the on-call engineer relies on:

* rows are keyed by ``AlertRow.key``; an update never moves the cursor to another item.
  If the item under the cursor vanished, the cursor goes to its neighbour (the next
  surviving row below it, else above), and the item keeps its place on screen when the
  list reorders around it;
* a row whose key was never shown before is "new" until the cursor visits it;
* marks (multi-select) survive updates for rows that are still listed; a mark on a row
  that left the list is dropped, so a bulk action never touches a row you cannot see.

Render-only: it takes rows, shows them and posts :class:`AlertTable.Highlighted`,
:class:`AlertTable.Selected` and :class:`AlertTable.MarkToggled`. It never calls an API.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from oncall_tui.core import timefmt
from oncall_tui.core.views import (
    KIND_PAGE,
    LINK_MISSING,
    LINK_OK,
    LINK_REFUSED,
    AlertRow,
)
from oncall_tui.ui.style import SEVERITY_CLASS, STATE_CLASS, compact_duration
from oncall_tui.ui.text import clean, truncate_cells

Clock = Callable[[], datetime]
FRAME_EVERY = 0.04  # seconds: in a burst of cursor keys, a frame at least this often
SETTLE = 0.025  # seconds: keys closer than this are a burst (queued while the app was busy)

__all__ = ["AlertTable", "Column", "layout_columns"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


# ----------------------------------------------------------------------- columns


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    header: str
    width: int  # 0 for the flexible title column
    drop: int  # dropped in increasing order when the terminal is narrow; 99 never
    align: str = "left"


COLUMNS: tuple[Column, ...] = (
    Column("gutter", "", 3, 99),
    Column("severity", "SEV", 5, 99),
    Column("state", "STATE", 9, 5),
    Column("escalation", "ESC", 9, 2),
    Column("title", "TITLE", 0, 99),
    Column("links", "LINKS", 5, 3),
    Column("source", "SOURCE", 18, 1),
    Column("age", "AGE", 5, 4, "right"),
)
TITLE_MIN = 24
_SEP = 1


def layout_columns(width: int) -> tuple[tuple[Column, int], ...]:
    """The columns that fit in ``width`` cells and their widths.

    Fixed columns are dropped in ``Column.drop`` order (source first, then escalation,
    links, age, state) until the title keeps at least ``TITLE_MIN`` cells; the title
    takes whatever is left.
    """
    shown = list(COLUMNS)
    droppable = sorted((c for c in COLUMNS if c.drop < 99), key=lambda c: c.drop)

    def fixed(cols: list[Column]) -> int:
        return sum(c.width for c in cols) + _SEP * (len(cols) - 1)

    while droppable and width - fixed(shown) < TITLE_MIN:
        shown.remove(droppable.pop(0))
    title = max(1, width - fixed(shown))
    return tuple((c, title if c.name == "title" else c.width) for c in shown)


_SEVERITY_SHORT = {
    "critical": "CRIT",
    "major": "MAJOR",
    "high": "HIGH",
    "warning": "WARN",
    "minor": "MINOR",
    "low": "LOW",
    "info": "INFO",
}
_STATE_SHORT = {"pending_repeat": "repeating"}
_LINK_MARK = {LINK_OK: "✓", LINK_MISSING: "✗", LINK_REFUSED: "⊘"}


def severity_label(severity: str) -> str:
    if not severity:
        return "—"
    return _SEVERITY_SHORT.get(severity, clean(severity).upper()[:5])


def escalation_text(row: AlertRow, now: datetime, zone: timefmt.ZoneLike = None) -> str:
    """ "L2/3 ↑4m": level reached of the path, and when it moves up unless acked;
    "✓ 14:02" on a recently resolved row: when it ended."""
    if row.resolved_at is not None:
        return "✓ " + timefmt.format_clock(row.resolved_at, zone, with_zone=False)
    if row.level is None:
        return ""
    text = f"L{row.level}/{row.levels}" if row.levels else f"L{row.level}"
    if row.next_level_at is not None:
        left = (row.next_level_at - now).total_seconds()
        text += " ↑" + ("now" if left <= 0 else compact_duration(left))
    return text


def _pad(text: str, width: int, align: str) -> str:
    text = truncate_cells(text, width)
    gap = width - cell_len(text)
    if gap <= 0:
        return text
    return " " * gap + text if align == "right" else text + " " * gap


# ------------------------------------------------------------------------ widget


class AlertTable(ScrollView, can_focus=True):
    """A keyed, virtual table of :class:`~oncall_tui.core.views.AlertRow`.

    Args:
        clock: returns the current UTC time, for ages and escalation countdowns (tests
            pass a fixed one). The visible rows whose time text changed are redrawn by
            :meth:`tick`, once a second.
        empty_text: what to show when there are no rows.
        ticks: run a 1-second timer of its own; False when the screen's clock calls
            :meth:`tick` (one clock for the screen).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, id="alerts.cursor_up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="alerts.cursor_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="alerts.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="alerts.page_down"),
        Binding("home", "first", "First", show=False, id="alerts.first"),
        Binding("end", "last", "Last", show=False, id="alerts.last"),
        Binding("enter", "select", "Open", show=False, id="alerts.select"),
        Binding("space", "toggle_mark", "Mark", show=False, id="alerts.mark"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "alert-table--header",
        "alert-table--cursor",
        "alert-table--marked",
        "alert-table--new",
        "alert-table--mine",
        "alert-table--muted",
        "alert-table--critical",
        "alert-table--major",
        "alert-table--minor",
        "alert-table--info",
        "alert-table--triggered",
        "alert-table--firing",
        "alert-table--acked",
        "alert-table--snoozed",
        "alert-table--resolved",
        "alert-table--link-ok",
        "alert-table--link-missing",
        "alert-table--link-refused",
        "alert-table--empty",
        "alert-table--stale",
    }

    DEFAULT_CSS = """
    AlertTable {
        width: 1fr;
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        background: $surface;
        color: $foreground;
        & > .alert-table--header { text-style: bold; color: $foreground-muted; background: $panel; }
        & > .alert-table--cursor { background: $block-cursor-blurred-background; }
        &:focus > .alert-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
        }
        & > .alert-table--marked { background: $accent 25%; }
        & > .alert-table--new { color: $accent; text-style: bold; }
        & > .alert-table--mine { color: $mine; text-style: bold; }
        & > .alert-table--muted { color: $foreground-muted; }
        & > .alert-table--critical { color: $critical; text-style: bold; }
        & > .alert-table--major { color: $major; text-style: bold; }
        & > .alert-table--minor { color: $minor; }
        & > .alert-table--info { color: $info; }
        & > .alert-table--triggered { color: $critical; text-style: bold; }
        & > .alert-table--firing { color: $critical; }
        & > .alert-table--acked { color: $acked; }
        & > .alert-table--snoozed { color: $snoozed; }
        & > .alert-table--resolved { color: $foreground-muted; }
        & > .alert-table--link-ok { color: $acked; }
        & > .alert-table--link-missing { color: $foreground-muted; }
        & > .alert-table--link-refused { color: $major; }
        & > .alert-table--empty { color: $foreground-muted; text-style: italic; }
        & > .alert-table--stale { color: $foreground-muted 70%; text-style: italic; }
    }
    """

    # -- messages ----------------------------------------------------------------

    class _TableMessage(Message):
        """A message about this table (``control`` is the table)."""

        def __init__(self, table: AlertTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> AlertTable:
            return self.table

    class Highlighted(_TableMessage):
        """The cursor is on another item (``row_id`` None: the table is empty)."""

        def __init__(self, table: AlertTable, row_id: str | None) -> None:
            super().__init__(table)
            self.row_id = row_id

    class Selected(_TableMessage):
        """The user asked to open the item (Enter, or a click on the cursor row)."""

        def __init__(self, table: AlertTable, row_id: str) -> None:
            super().__init__(table)
            self.row_id = row_id

    class MarkToggled(_TableMessage):
        """The set of marked rows changed. ``row_ids``: every marked row now, in table
        order; ``changed``: the rows whose mark flipped."""

        def __init__(
            self, table: AlertTable, row_ids: tuple[str, ...], changed: tuple[str, ...]
        ) -> None:
            super().__init__(table)
            self.row_ids = row_ids
            self.changed = changed

    # -- construction ------------------------------------------------------------

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        empty_text: str = "Nothing to show.",
        ticks: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._clock: Clock = clock or _utcnow
        self.zone: timefmt.ZoneLike = None  # for the time a recently resolved row ended
        self._rows: list[AlertRow] = []
        self._index: dict[str, int] = {}
        self._cursor = -1
        self._marked: set[str] = set()
        self._unseen: set[str] = set()
        self._known: set[str] = set()
        self._loaded = False
        self._empty_text = empty_text
        self._last_highlighted: str | None = None
        self._announce_pending = False  # a Highlighted waits for the next frame
        self._last_cursor_key = 0.0
        self._settling = False  # a burst: the Highlighted waits for the keys to stop
        self._last_yield = 0.0
        self._shown_times: dict[int, tuple[str, str]] = {}  # what the clock tick drew
        self._line_cache: LRUCache[tuple, Strip] = LRUCache(1024)
        self._stale: frozenset[str] = frozenset()  # rows built from a stale source
        self._watch_test: Callable[[AlertRow], bool] | None = None  # rows I watch (W): ◎
        self._columns_cache: tuple[int, tuple[tuple[Column, int], ...]] | None = None
        self.updates = 0  # row lists taken in (update_rows calls), for tests and benchmarks
        self._taken: Iterable[AlertRow] | None = None  # the last rows given
        self._ticks = ticks
        self.clock_timer: Timer | None = None

    def on_mount(self) -> None:
        super().on_mount()
        if self._ticks:
            self.clock_timer = self.set_interval(1.0, self.tick, name="alert-table-clock")

    def on_resize(self, event: events.Resize) -> None:
        self._ensure_cursor_visible()

    def tick(self) -> bool:
        """Ages and countdowns move: repaint only the visible lines whose time text
        changed this second (most ages read "12m" for a minute), not the whole table.
        Whether any line was repainted."""
        if not self._rows:
            return False
        now = self._clock()
        top = round(self.scroll_y)
        times: dict[int, tuple[str, str]] = {}
        for index in range(top, min(len(self._rows), top + self._body_height())):
            row = self._rows[index]
            times[index] = (
                escalation_text(row, now, self.zone),
                compact_duration((now - row.started_at).total_seconds()),
            )
        shown, self._shown_times = self._shown_times, times
        moved = [index for index, text in times.items() if shown.get(index) != text]
        for index in moved:
            self._refresh_row(index)
        return bool(moved)

    # -- public API ----------------------------------------------------------------

    @property
    def rows(self) -> Sequence[AlertRow]:
        return self._rows

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def cursor_row(self) -> int:
        """Index of the cursor row, -1 when empty."""
        return self._cursor

    @property
    def cursor_key(self) -> str | None:
        if 0 <= self._cursor < len(self._rows):
            return self._rows[self._cursor].key
        return None

    @property
    def cursor_item(self) -> AlertRow | None:
        if 0 <= self._cursor < len(self._rows):
            return self._rows[self._cursor]
        return None

    @property
    def marked(self) -> tuple[str, ...]:
        """Marked row keys in table order."""
        if not self._marked:
            return ()
        return tuple(sorted(self._marked, key=self._index.__getitem__))

    @property
    def unseen(self) -> frozenset[str]:
        return frozenset(self._unseen)

    @property
    def empty_text(self) -> str:
        return self._empty_text

    @empty_text.setter
    def empty_text(self, text: str) -> None:
        self._empty_text = text
        if not self._rows:
            self.refresh()

    def get_row(self, key: str) -> AlertRow | None:
        index = self._index.get(key)
        return None if index is None else self._rows[index]

    def index_of(self, key: str) -> int | None:
        return self._index.get(key)

    def update_rows(self, rows: Iterable[AlertRow]) -> None:
        """Show ``rows`` (in this order), keeping the cursor on the same item.

        Duplicate keys keep their first row. Cost: O(rows) dictionary work plus drawing
        the visible lines that changed.
        """
        if rows is self._taken and isinstance(rows, tuple):
            return  # the very rows on show (a poll that changed nothing in the list)
        self.updates += 1
        self._taken = rows
        given = list(rows)
        new_rows = given
        index = {row.key: i for i, row in enumerate(given)}
        if len(index) != len(given):  # duplicate keys: the first of each stays
            new_rows, index = [], {}
            for row in given:
                if row.key not in index:
                    index[row.key] = len(new_rows)
                    new_rows.append(row)

        old_rows = self._rows
        old_cursor = self._cursor
        old_key = self.cursor_key
        height = self._body_height()
        old_scroll = round(self.scroll_y)
        old_visible = old_rows[old_scroll : old_scroll + height]
        screen_pos = old_cursor - old_scroll if old_cursor >= 0 else None

        # New items: keys never shown before, once the first list has arrived.
        if self._loaded:
            known = self._known
            for key in index.keys() - known:
                self._unseen.add(key)
            known.update(index)
        else:
            self._known.update(index)
            self._loaded = True
        if self._unseen:
            self._unseen.intersection_update(index)

        # Marks on rows that left the list are dropped.
        dropped: tuple[str, ...] = ()
        if self._marked:
            dropped = tuple(k for k in self._marked if k not in index)
            self._marked.difference_update(dropped)

        # Where the cursor goes.
        if not new_rows:
            cursor = -1
        elif old_key is not None and old_key in index:
            cursor = index[old_key]
        elif old_key is not None:
            cursor = self._neighbour(old_rows, old_cursor, index)
        else:
            cursor = 0

        self._rows, self._index = new_rows, index
        self._cursor = cursor
        self.virtual_size = Size(self.virtual_size.width, len(new_rows) + 1)

        # Keep the cursor item where it was on screen when the list moved around it.
        if cursor >= 0 and screen_pos is not None and 0 <= screen_pos < max(1, height):
            target = cursor - screen_pos
        else:
            target = old_scroll
        target = max(0, min(target, len(new_rows) - height if len(new_rows) > height else 0))
        scroll_changed = target != old_scroll
        if scroll_changed:
            self._scroll_to_line(target)
        self._ensure_cursor_visible()

        if scroll_changed or round(self.scroll_y) != old_scroll:
            self.refresh()
        else:
            self._refresh_changed_lines(old_visible, old_cursor)

        if cursor >= 0:
            self._unseen.discard(new_rows[cursor].key)
        if dropped:
            self.post_message(self.MarkToggled(self, self.marked, dropped))
        self._announce_cursor()

    def move_cursor_to_key(self, key: str) -> bool:
        """Put the cursor on ``key`` if it is listed; True if it is."""
        index = self._index.get(key)
        if index is None:
            return False
        self._move_cursor(index)
        return True

    def toggle_mark(self, keys: Iterable[str] | None = None) -> None:
        """Flip the mark on ``keys`` (default: the cursor row)."""
        if keys is None:
            key = self.cursor_key
            targets = [key] if key is not None else []
        else:
            targets = [k for k in keys if k in self._index]
        if not targets:
            return
        for key in targets:
            if key in self._marked:
                self._marked.remove(key)
            else:
                self._marked.add(key)
            self._refresh_row(self._index[key])
        self.post_message(self.MarkToggled(self, self.marked, tuple(targets)))

    def set_marks(self, keys: Iterable[str]) -> None:
        """Mark exactly ``keys`` (those listed)."""
        wanted = {k for k in keys if k in self._index}
        # In list order; a marked key no longer listed goes last.
        changed = tuple(
            sorted(wanted ^ self._marked, key=lambda k: self._index.get(k, len(self._index)))
        )
        if not changed:
            return
        self._marked = wanted
        self.refresh()
        self.post_message(self.MarkToggled(self, self.marked, changed))

    def clear_marks(self) -> None:
        self.set_marks(())

    @property
    def stale(self) -> frozenset[str]:
        return self._stale

    def set_stale(self, keys: Iterable[str]) -> None:
        """Rows whose source is stale: drawn dimmed, with their countdowns marked "?"
        (they count down on data that may have moved on)."""
        keys = frozenset(keys)
        if keys != self._stale:
            self._stale = keys
            self.refresh()

    def is_watched(self, row: AlertRow) -> bool:
        return self._watch_test is not None and self._watch_test(row)

    def set_watch_test(self, test: Callable[[AlertRow], bool] | None) -> None:
        """Which rows are watched (a ◎ in the gutter, unless marked for a bulk action):
        asked only for the rows drawn, so a long list costs nothing more."""
        self._watch_test = test
        self.refresh()

    def mark_seen(self, keys: Iterable[str] | None = None) -> None:
        """Forget that rows are new (default: every row). Only the rows that were new
        are drawn again (the cursor's row is marked seen on every move)."""
        if keys is None:
            if self._unseen:
                self._unseen.clear()
                self.refresh()
            return
        for key in keys:
            if key in self._unseen:
                self._unseen.discard(key)
                index = self._index.get(key)
                if index is not None:
                    self._refresh_row(index)

    # -- actions -----------------------------------------------------------------

    def action_cursor_up(self) -> asyncio.Future[None] | None:
        self._move_cursor(self._cursor - 1, coalesce=True)
        return self._frame_break()

    def action_cursor_down(self) -> asyncio.Future[None] | None:
        self._move_cursor(self._cursor + 1, coalesce=True)
        return self._frame_break()

    def action_page_up(self) -> None:
        self._move_cursor(self._cursor - max(1, self._body_height() - 1), coalesce=True)

    def action_page_down(self) -> None:
        self._move_cursor(self._cursor + max(1, self._body_height() - 1), coalesce=True)

    def _frame_break(self) -> asyncio.Future[None] | None:
        """Keys that arrive in a burst (a held Down) are otherwise handled back to back
        without a frame in between, and the screen (the clock, the cursor) freezes until
        the last one is done. Every :data:`FRAME_EVERY` seconds of such a burst, the
        action returns a short wait, which Textual awaits: the event loop draws a frame
        meanwhile. Between those, keys only move the cursor."""
        now = time.perf_counter()
        if now - self._last_yield < FRAME_EVERY:
            return None
        self._last_yield = now
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()

        def release() -> None:
            if not waiter.done():
                waiter.set_result(None)

        loop.call_later(0.002, release)
        return waiter

    def action_first(self) -> None:
        self._move_cursor(0)

    def action_last(self) -> None:
        self._move_cursor(len(self._rows) - 1)

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def action_toggle_mark(self) -> None:
        self.toggle_mark()

    # -- mouse -------------------------------------------------------------------

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        index = round(self.scroll_y) + offset.y - 1
        if not 0 <= index < len(self._rows):
            return
        event.stop()
        if index == self._cursor or event.chain >= 2:
            self._move_cursor(index)
            self.post_message(self.Selected(self, self._rows[index].key))
        else:
            self._move_cursor(index)

    # -- internals ---------------------------------------------------------------

    @staticmethod
    def _neighbour(old_rows: Sequence[AlertRow], old_cursor: int, index: dict[str, int]) -> int:
        for i in range(old_cursor + 1, len(old_rows)):
            found = index.get(old_rows[i].key)
            if found is not None:
                return found
        for i in range(min(old_cursor, len(old_rows)) - 1, -1, -1):
            found = index.get(old_rows[i].key)
            if found is not None:
                return found
        return 0

    def _body_height(self) -> int:
        return max(0, self.scrollable_content_region.height - 1)

    def _move_cursor(self, index: int, *, coalesce: bool = False) -> None:
        if not self._rows:
            return
        index = max(0, min(index, len(self._rows) - 1))
        old = self._cursor
        if index == old:
            return
        self._cursor = index
        self._unseen.discard(self._rows[index].key)
        before = round(self.scroll_y)
        self._ensure_cursor_visible()
        if round(self.scroll_y) == before:
            if 0 <= old < len(self._rows):
                self._refresh_row(old)
            self._refresh_row(index)
        if not coalesce:
            self._announce_cursor()
        else:
            # A cursor key. In a burst of them (a held Down) each key moves the cursor,
            # which is all a frame draws; the detail and the bindings (a layout of the
            # screen, lookups, a graph fetched) follow the first key, then once the keys
            # stop, at the position they reached.
            now = time.perf_counter()
            burst = now - self._last_cursor_key < SETTLE
            self._last_cursor_key = now
            if burst:
                if not self._settling:
                    self._settling = True
                    self.set_timer(SETTLE, self._settle)
            elif not self._announce_pending:
                self._announce_pending = True
                self.call_after_refresh(self._announce_cursor)

    def _settle(self) -> None:
        """The end of a burst of cursor keys: announce where the cursor is."""
        quiet = time.perf_counter() - self._last_cursor_key
        if quiet < SETTLE:
            self.set_timer(SETTLE - quiet, self._settle)
            return
        self._settling = False
        self._announce_cursor()

    def _scroll_to_line(self, y: int) -> None:
        # Through the reactives (not set_scroll) so scrollbars and repaint follow.
        self.scroll_target_y = y
        self.scroll_y = y

    def _ensure_cursor_visible(self) -> None:
        if self._cursor < 0:
            return
        height = self._body_height()
        if height <= 0:
            return
        top = round(self.scroll_y)
        if self._cursor < top:
            self._scroll_to_line(self._cursor)
        elif self._cursor >= top + height:
            self._scroll_to_line(self._cursor - height + 1)

    def _announce_cursor(self) -> None:
        self._announce_pending = False
        key = self.cursor_key
        if key != self._last_highlighted:
            self._last_highlighted = key
            self.post_message(self.Highlighted(self, key))

    def _refresh_row(self, index: int) -> None:
        y = index - round(self.scroll_y) + 1
        if 1 <= y <= self._body_height():
            self.refresh(Region(0, y, self.size.width, 1))

    def _refresh_changed_lines(self, old_visible: Sequence[AlertRow], old_cursor: int) -> None:
        top = round(self.scroll_y)
        height = self._body_height()
        width = self.size.width
        if not self._rows or not old_visible:
            self.refresh()
            return
        for y in range(height):
            i = top + y
            new = self._rows[i] if i < len(self._rows) else None
            old = old_visible[y] if y < len(old_visible) else None
            same = new is old or (new is not None and old is not None and new == old)
            if same and (i == old_cursor) == (i == self._cursor):
                continue
            self.refresh(Region(0, y + 1, width, 1))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._line_cache.clear()

    def _columns(self, width: int) -> tuple[tuple[Column, int], ...]:
        cached = self._columns_cache
        if cached is None or cached[0] != width:
            cached = (width, layout_columns(width))
            self._columns_cache = cached
        return cached[1]

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"alert-table--{name}", partial=True)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            return self._header_line(width, base)
        index = round(self.scroll_y) + y - 1
        if not self._rows:
            if y == 1:
                style = base + self._style("empty")
                text = _pad(" " + self._empty_text, width, "left")
                return Strip([Segment(text, style)], width)
            return Strip.blank(width, base)
        if not 0 <= index < len(self._rows):
            return Strip.blank(width, base)
        row = self._rows[index]
        now = self._clock()
        stale = row.key in self._stale
        esc = escalation_text(row, now, self.zone)
        if stale and row.next_level_at is not None and esc:
            esc += "?"  # a countdown on frozen data
        key = (
            row,
            width,
            index == self._cursor,
            row.key in self._marked,
            row.key in self._unseen,
            esc,
            compact_duration((now - row.started_at).total_seconds()),
            stale,
            self.is_watched(row),
        )
        strip = self._line_cache.get(key)
        if strip is None:
            strip = self._render_row(row, width, base, key)
            self._line_cache[key] = strip
        return strip

    def _header_line(self, width: int, base: Style) -> Strip:
        style = base + self._style("header")
        segments = []
        for n, (column, cells) in enumerate(self._columns(width)):
            if n:
                segments.append(Segment(" " * _SEP, style))
            segments.append(Segment(_pad(column.header, cells, column.align), style))
        return Strip(segments).adjust_cell_length(width, style)

    def _render_row(self, row: AlertRow, width: int, base: Style, key: tuple) -> Strip:
        _, _, is_cursor, is_marked, is_new, esc, age, stale, watched = key
        row_style = base
        if is_marked:
            row_style += self._style("marked")
        closed = STATE_CLASS.get(row.state) == "resolved"
        muted = self._style("muted")
        if stale:  # from a source with no answer for a while: dimmed, whatever its state
            closed, muted = True, muted + self._style("stale") + Style(bold=False)
        cursor = self._style("cursor") if is_cursor else None

        def seg(text: str, style: Style | None = None) -> Segment:
            final = row_style + style if style is not None else row_style
            if closed:
                final += muted
            if cursor is not None:
                final += cursor
            return Segment(text, final)

        segments: list[Segment] = []
        for n, (column, cells) in enumerate(self._columns(width)):
            if n:
                segments.append(seg(" " * _SEP))
            name = column.name
            if name == "gutter":
                first = "●" if is_marked else "◎" if watched else " "
                segments.append(seg(first, self._style("new")))
                if row.kind == KIND_PAGE:
                    segments.append(
                        seg("◆" if row.mine else "◇", self._style("mine") if row.mine else None)
                    )
                else:
                    segments.append(seg("★" if row.mine else " ", self._style("mine")))
                segments.append(seg("•" if is_new else " ", self._style("new")))
            elif name == "severity":
                sev_class = SEVERITY_CLASS.get(row.severity)
                style: Style | None = self._style(sev_class) if sev_class else None
                segments.append(seg(_pad(severity_label(row.severity), cells, "left"), style))
            elif name == "state":
                state_class = STATE_CLASS.get(row.state)
                if state_class == "firing":
                    # A firing alert is as loud as its severity; a page is always loud.
                    state_class = SEVERITY_CLASS.get(row.severity, "firing")
                style = self._style(state_class) if state_class else None
                text = _STATE_SHORT.get(row.state, clean(row.state, limit=40))
                segments.append(seg(_pad(text, cells, "left"), style))
            elif name == "escalation":
                segments.append(seg(_pad(esc, cells, "left")))
            elif name == "title":
                suffix = f" ×{row.count}" if row.count > 1 else ""
                if row.went:  # a page that left me: where it is now
                    suffix += f" → {clean(row.went, limit=80)}"
                room = max(1, cells - cell_len(suffix))
                title = truncate_cells(clean(row.title), room)
                if is_new:
                    style = self._style("new")
                elif row.mine:
                    style = self._style("mine")
                else:
                    style = None
                segments.append(seg(title, style))
                if suffix:
                    segments.append(seg(suffix, muted))
                gap = cells - cell_len(title) - cell_len(suffix)
                if gap > 0:
                    segments.append(seg(" " * gap))
            elif name == "links":
                for label, state in (("R", row.runbook), ("G", row.dashboard)):
                    mark = _LINK_MARK.get(state, "·")
                    link_class = {
                        LINK_OK: "link-ok",
                        LINK_MISSING: "link-missing",
                        LINK_REFUSED: "link-refused",
                    }.get(state, "muted")
                    segments.append(seg(label + mark, self._style(link_class)))
                    if label == "R":
                        segments.append(seg(" "))
            elif name == "source" and row.source_state:
                # One row per problem: the Grafana/Alertmanager alert behind it, its state.
                state = _STATE_SHORT.get(row.source_state, clean(row.source_state, limit=12))
                label = truncate_cells(row.source_key.rsplit(":", 1)[0], cells - len(state) - 1)
                state_class = STATE_CLASS.get(row.source_state)
                segments.append(seg(label + " ", muted))
                style = self._style(state_class) if state_class else muted
                segments.append(seg(_pad(state, cells - cell_len(label) - 1, "left"), style))
            elif name == "source":
                segments.append(seg(_pad(clean(row.source), cells, "left"), muted))
            elif name == "age":
                segments.append(seg(_pad(age, cells, "right")))
        fill = row_style + cursor if cursor is not None else row_style
        return Strip(segments).adjust_cell_length(width, fill)
