"""The silences, by source, one line each, with a live countdown.

A virtual list (Textual's line API): only the lines on screen are drawn, so a thousand
silences cost what forty do, and the countdown ticks by repainting the visible lines once
a second. A source heading says how many silences it holds, or why it is not available.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from oncall_tui.core.silences import SilenceRow, SourceSilences, left_words, source_heading
from oncall_tui.safety import clean_text

LEFT = 24  # "starts in 2h 14m (then 1h)" fits most; longer is cut
FIRING = 10
BY = 18
NARROW = 110  # below this width: no author column, and the marks are one character


def _cell(text: str, width: int) -> str:
    text = clean_text(text, limit=max(width * 4, 16))
    if len(text) > width:
        return text[: max(0, width - 1)] + "…"
    return text.ljust(width)


class SilenceList(ScrollView, can_focus=True):
    """Sources and their silences; the cursor moves over silences only."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False, id="silences.up"),
        Binding("down,j", "move(1)", "Down", show=False, id="silences.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="silences.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="silences.page_down"),
        Binding("home", "edge(-1)", "First", show=False, id="silences.first"),
        Binding("end", "edge(1)", "Last", show=False, id="silences.last"),
        Binding("space", "toggle_mark", "Mark", show=False, id="silences.mark"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "silence-list--heading",
        "silence-list--problem",
        "silence-list--cursor",
        "silence-list--muted",
        "silence-list--warn",
        "silence-list--mine",
        "silence-list--empty",
    }
    DEFAULT_CSS = """
    SilenceList {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        background: $surface;
        & > .silence-list--heading { text-style: bold; color: $foreground; background: $panel; }
        & > .silence-list--problem { color: $error; text-style: bold; background: $panel; }
        & > .silence-list--cursor { background: $block-cursor-blurred-background; }
        &:focus > .silence-list--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
        }
        & > .silence-list--muted { color: $foreground-muted; }
        & > .silence-list--warn { color: $major; text-style: bold; }
        & > .silence-list--mine { color: $acked; }
        & > .silence-list--empty { color: $foreground-muted; text-style: italic; }
    }
    """

    class Highlighted(Message):
        """The cursor is on another silence (None: there is none)."""

        def __init__(self, row: SilenceRow | None) -> None:
            super().__init__()
            self.row = row

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._sources: list[SourceSilences] = []
        # One entry per line: (the source, its silence or None for the heading).
        self._lines: list[tuple[SourceSilences, SilenceRow | None]] = []
        self._cursor = -1
        self._marked: set[tuple[str, str]] = set()  # (source, silence id)
        self.loading_text = "Reading silences…"

    # -- data ----------------------------------------------------------------------

    def show(self, sources: Sequence[SourceSilences]) -> None:
        """Replace what is shown, keeping the cursor on the same silence if it is there."""
        was = self.current
        self._sources = list(sources)
        lines: list[tuple[SourceSilences, SilenceRow | None]] = []
        for source in self._sources:
            lines.append((source, None))
            lines.extend((source, row) for row in source.rows)
        self._lines = lines
        shown = {(row.source, row.id) for _, row in lines if row is not None}
        self._marked &= shown  # a mark goes with its silence
        self.virtual_size = Size(self.size.width, len(lines))
        cursor = -1
        if was is not None:
            cursor = next(
                (
                    i
                    for i, (_, row) in enumerate(lines)
                    if row is not None and row.source == was.source and row.id == was.id
                ),
                -1,
            )
        if cursor < 0:
            cursor = self._next_row(min(max(self._cursor, 0), len(lines)), 1)
            if cursor < 0:
                cursor = self._next_row(len(lines) - 1, -1)
        self._cursor = cursor
        self._ensure_visible()
        self.refresh()
        self.post_message(self.Highlighted(self.current))

    @property
    def current(self) -> SilenceRow | None:
        if 0 <= self._cursor < len(self._lines):
            return self._lines[self._cursor][1]
        return None

    @property
    def silence_rows(self) -> list[SilenceRow]:
        return [row for _, row in self._lines if row is not None]

    @property
    def marked_rows(self) -> list[SilenceRow]:
        """The marked silences, in list order."""
        return [r for _, r in self._lines if r is not None and (r.source, r.id) in self._marked]

    def action_toggle_mark(self) -> None:
        row = self.current
        if row is None:
            return
        key = (row.source, row.id)
        self._marked.symmetric_difference_update({key})
        self.refresh()
        self.action_move(1)

    def select(self, source: str, silence_id: str) -> bool:
        for i, (_, row) in enumerate(self._lines):
            if row is not None and row.source == source and row.id == silence_id:
                self._set_cursor(i)
                return True
        return False

    # -- moving ----------------------------------------------------------------------

    def _next_row(self, start: int, step: int) -> int:
        i = start
        while 0 <= i < len(self._lines):
            if self._lines[i][1] is not None:
                return i
            i += step
        return -1

    def _set_cursor(self, index: int) -> None:
        if index < 0 or index == self._cursor:
            return
        self._cursor = index
        self._ensure_visible()
        self.refresh()
        self.post_message(self.Highlighted(self.current))

    def action_move(self, step: int) -> None:
        found = self._next_row(self._cursor + step, step)
        self._set_cursor(found)

    def action_page(self, direction: int) -> None:
        height = max(1, self.scrollable_content_region.height - 1)
        target = max(0, min(len(self._lines) - 1, self._cursor + direction * height))
        found = self._next_row(target, direction)
        if found < 0:
            found = self._next_row(target, -direction)
        self._set_cursor(found)

    def action_edge(self, direction: int) -> None:
        start = 0 if direction < 0 else len(self._lines) - 1
        self._set_cursor(self._next_row(start, -direction))

    def _ensure_visible(self) -> None:
        height = self.scrollable_content_region.height
        if self._cursor < 0 or height <= 0:
            return
        top = round(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + height:
            self.scroll_to(y=self._cursor - height + 1, animate=False, immediate=True)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._lines))
        self._ensure_visible()

    # -- drawing ---------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"silence-list--{name}", partial=True)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = round(self.scroll_y) + y
        if not self._lines:
            if y == 0:
                text = _cell(" " + self.loading_text, width)
                return Strip([Segment(text, base + self._style("empty"))], width)
            return Strip.blank(width, base)
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, base)
        source, row = self._lines[index]
        if row is None:
            style = base + self._style("heading" if source.available else "problem")
            text = " " + source_heading(source)
            if source.available and not source.rows:
                text += " (none active or pending)"
            return Strip([Segment(_cell(text, width), style)], width)
        marked = (row.source, row.id) in self._marked
        return self._row_line(source, row, width, base, index == self._cursor, marked)

    def _row_line(
        self,
        source: SourceSilences,
        row: SilenceRow,
        width: int,
        base: Style,
        cursor: bool,
        marked: bool,
    ) -> Strip:
        now = source.server_now()
        line_style = base + self._style("cursor") if cursor else base
        firing = "1 firing" if row.firing == 1 else f"{row.firing} firing"
        narrow = width < NARROW  # no author column, short marks: the matchers need the room
        segments = [
            Segment("● " if marked else "  ", line_style + self._style("mine")),
            Segment(_cell(row.short_id, 8) + "  ", line_style + self._style("muted")),
            Segment(_cell(left_words(row, now), LEFT) + " ", line_style),
            Segment(
                _cell(firing, FIRING) + " ",
                line_style + (self._style("warn") if row.firing else self._style("muted")),
            ),
        ]
        used = 2 + 8 + 2 + LEFT + 1 + FIRING + 1
        if not narrow:
            segments.append(
                Segment(_cell(row.silence.created_by or "(nobody)", BY) + " ", line_style)
            )
            used += BY + 1
        flags = []
        if row.made_here:
            flags.append(("◆" if narrow else "◆ this tool", "mine"))
        if row.forgotten:
            flags.append(("⚠" if narrow else "⚠ possibly forgotten", "warn"))
        flag_text = "".join(f"  {text}" for text, _ in flags)
        room = max(0, width - used - len(flag_text))
        segments.append(Segment(_cell(", ".join(row.matcher_texts), room), line_style))
        for text, style in flags:
            segments.append(Segment("  " + text, line_style + self._style(style)))
        return Strip(segments).adjust_cell_length(width, line_style)
