"""A scrollable incident timeline that appends live without jumping.

Each :class:`~oncall_tui.domain.TimelineEntry` is drawn as a first line "14:05 CET  note
Ana  (waiting to send)" followed by its text wrapped under it. Lines are built per width with
the Line API (only visible lines are drawn). New entries follow the view only when the
reader is at the bottom; a reader who scrolled up stays on the entry they were reading.
Times are in the user's zone; ``show_utc`` switches to UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.content import Content
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from oncall_tui.core import timefmt
from oncall_tui.domain import TimelineEntry
from oncall_tui.ui.text import clean, truncate_cells

__all__ = ["TimelineView"]

_INDENT = 2
_KIND_WIDTH = 8
_PENDING_WORDS = {
    "pending": "waiting to send",
    "sending": "sending…",
    "failed": "refused, not sent: R resends, K skips",
    "needs_attention": "not sent, needs attention: R resends, K skips",
    "held": "held: waits for the refused note before it",
}


class TimelineView(ScrollView, can_focus=True):
    """Entries in time order; :meth:`set_entries` replaces, :meth:`append` adds."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False, id="timeline.up"),
        Binding("down,j", "scroll_down", "Down", show=False, id="timeline.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="timeline.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="timeline.page_down"),
        Binding("home", "scroll_home", "First", show=False, id="timeline.first"),
        Binding("end", "scroll_end", "Latest", show=False, id="timeline.last"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--time",
        "timeline--kind",
        "timeline--author",
        "timeline--pending",
        "timeline--failed",
        "timeline--text",
        "timeline--empty",
    }

    DEFAULT_CSS = """
    TimelineView {
        width: 1fr;
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        background: $surface;
        & > .timeline--time { color: $foreground-muted; }
        & > .timeline--kind { color: $info; text-style: bold; }
        & > .timeline--author { text-style: bold; }
        & > .timeline--pending { color: $snoozed; text-style: italic; }
        & > .timeline--failed { color: $critical; text-style: bold; }
        & > .timeline--text { }
        & > .timeline--empty { color: $foreground-muted; text-style: italic; }
    }
    """

    show_utc: reactive[bool] = reactive(False)

    def __init__(
        self,
        *,
        zone: timefmt.ZoneLike = None,
        empty_text: str = "No timeline entries yet.",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.zone = zone
        self.empty_text = empty_text
        self._entries: list[TimelineEntry] = []
        # Per entry: its drawn lines at the current width, as (text, kind) parts.
        self._lines: list[tuple[int, int]] = []  # (entry index, line within entry)
        self._wrapped: LRUCache[tuple, list[list[tuple[str, str]]]] = LRUCache(4096)
        self._width = 0

    # -- public API ----------------------------------------------------------------

    @property
    def entries(self) -> Sequence[TimelineEntry]:
        return self._entries

    def set_entries(self, entries: Sequence[TimelineEntry]) -> None:
        """Replace every entry, keeping the reader's place (or the bottom if there)."""
        at_end = self._at_end()
        anchor = self._anchor()
        self._entries = list(entries)
        self._rebuild()
        self._restore(anchor, at_end)

    def append(self, *entries: TimelineEntry) -> None:
        """Add entries at the end; follows them only if the reader was at the bottom."""
        if not entries:
            return
        at_end = self._at_end()
        start = len(self._entries)
        self._entries.extend(entries)
        width = self._text_width()
        for i in range(start, len(self._entries)):
            for j in range(len(self._wrap(i, width))):
                self._lines.append((i, j))
        self._update_virtual_size()
        if at_end:
            self._scroll_to_line(self.max_scroll_y)
        self.refresh()

    @property
    def line_count(self) -> int:
        return len(self._lines)

    # -- internals -------------------------------------------------------------------

    def _text_width(self) -> int:
        return max(10, self.scrollable_content_region.width or self.size.width or 80)

    def _at_end(self) -> bool:
        return round(self.scroll_y) >= self.max_scroll_y

    def _anchor(self) -> tuple[int, int] | None:
        top = round(self.scroll_y)
        if 0 <= top < len(self._lines):
            i, j = self._lines[top]
            entry = self._entries[i]
            return (hash((entry.at, entry.kind, entry.ref, entry.text)), j)
        return None

    def _restore(self, anchor: tuple[int, int] | None, at_end: bool) -> None:
        if at_end or anchor is None:
            self._scroll_to_line(self.max_scroll_y if at_end else 0)
            return
        wanted, offset = anchor
        for y, (i, j) in enumerate(self._lines):
            entry = self._entries[i]
            if j == 0 and hash((entry.at, entry.kind, entry.ref, entry.text)) == wanted:
                self._scroll_to_line(y + offset)
                return

    def _scroll_to_line(self, y: int) -> None:
        self.scroll_target_y = y
        self.scroll_y = y

    def _rebuild(self) -> None:
        width = self._text_width()
        self._width = width
        self._lines = [
            (i, j) for i in range(len(self._entries)) for j in range(len(self._wrap(i, width)))
        ]
        self._update_virtual_size()
        self.refresh()

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self._text_width(), max(1, len(self._lines)))

    def _wrap(self, index: int, width: int) -> list[list[tuple[str, str]]]:
        entry = self._entries[index]
        zone = timefmt.UTC_ZONE if self.show_utc else self.zone
        key = (entry, width, self.show_utc)
        cached = self._wrapped.get(key)
        if cached is not None:
            return cached
        when = timefmt.format_clock(entry.at, zone)
        head: list[tuple[str, str]] = [
            (when, "time"),
            ("  ", "text"),
            (clean(entry.kind, limit=_KIND_WIDTH).ljust(_KIND_WIDTH), "kind"),
        ]
        author = clean(entry.author, limit=60)
        if author:
            head += [(" ", "text"), (author, "author")]
        if entry.pending or entry.state:
            state = entry.state or "pending"
            words = _PENDING_WORDS.get(state, clean(state, limit=40))
            style = "failed" if state in ("failed", "needs_attention", "held") else "pending"
            head += [("  ", "text"), (f"({words})", style)]
        lines: list[list[tuple[str, str]]] = [head]
        body = clean(entry.text, multiline=True)
        detail = clean(entry.detail, multiline=True)
        if detail:
            body = f"{body}\n{detail}" if body else detail
        room = max(4, width - _INDENT)
        for paragraph in body.split("\n") if body else []:
            for line in Content(paragraph).wrap(room) or [Content("")]:
                lines.append([(" " * _INDENT + line.plain, "text")])
        self._wrapped[key] = lines
        return lines

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"timeline--{name}", partial=True)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if self._width != self._text_width() and self._entries:
            self._rebuild()
        index = round(self.scroll_y) + y
        if not self._lines:
            if y == 0:
                text = truncate_cells(clean(self.empty_text), width)
                return Strip([Segment(text, base + self._style("empty"))]).adjust_cell_length(
                    width, base
                )
            return Strip.blank(width, base)
        if index >= len(self._lines):
            return Strip.blank(width, base)
        i, j = self._lines[index]
        parts = self._wrap(i, self._width)[j]
        segments = []
        used = 0
        for text, kind in parts:
            if used >= width:
                break
            text = truncate_cells(text, width - used)
            used += cell_len(text)
            segments.append(Segment(text, base + self._style(kind)))
        return Strip(segments).adjust_cell_length(width, base)

    def on_resize(self, event: events.Resize) -> None:
        at_end = self._at_end()
        anchor = self._anchor()
        self._rebuild()
        self._restore(anchor, at_end)

    def watch_show_utc(self) -> None:
        self._wrapped.clear()
        self._rebuild()
