"""The shift calendar: a week or a day of every schedule I care about, lane by lane.

One lane per layer (my team's working hours and support, the escalators, each layer of
the global schedule); a row per schedule above its lanes marks the coverage gaps (no
one on any layer). Blocks carry the person's name; mine are drawn in ``$mine``, an
override is marked ``↻`` (``no one`` when it leaves the layer empty). A now line and a
time cursor cross every lane; the panel below says who holds each layer at the cursor.

Schedule entries are loaded per week window in a worker and cached; a cached window is
shown at once and refreshed in the background when it gets old. From here: mark me
unavailable, ask a colleague to cover, list and remove my overrides, and open the
schedule in incident.io to request cover there (the API has no cover-request endpoint).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, cast

from rich.cells import cell_len
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.geometry import Region, Size
from textual.widget import Widget
from textual.widgets import Header, Static

from oncall_tui.core import availability, calendar, guard, timefmt
from oncall_tui.core.actions import ActionError
from oncall_tui.core.overrides import ApplyResult, MyOverride
from oncall_tui.core.session import Session
from oncall_tui.domain import Schedule, Shift, User, but_me, index_people
from oncall_tui.safety import clean_text, openable_url
from oncall_tui.ui.screens.availability import AvailabilityRequest, AvailabilityScreen
from oncall_tui.ui.screens.base import AppScreen
from oncall_tui.ui.screens.modals import ChooseScreen, ConfirmScreen
from oncall_tui.ui.text import clean, truncate_cells
from oncall_tui.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from oncall_tui.ui.app import OnCallApp

STYLE_MINE = "bold #000000 on $mine"
STYLE_OTHER = ("$text on $primary-muted", "$text on $secondary-muted")
STYLE_OVERRIDE = "italic $text on $accent-muted"
STYLE_NOBODY = "bold $error on $error-muted"
STYLE_EMPTY = "$text-muted"
STYLE_GAP = "bold $error on $error-muted"
STYLE_NOW = "bold $accent"
STYLE_CURSOR = "reverse"


@dataclass
class Window:
    """Schedule entries of one week window, as last loaded."""

    start: datetime
    end: datetime
    final: tuple[Shift, ...] = ()
    scheduled: tuple[Shift, ...] = ()
    loaded_at: datetime | None = None
    error: str = ""
    loading: bool = False


# ====================================================================== the grid


def label_width(width: int) -> int:
    return 22 if width >= 110 else 16 if width >= 70 else 12


@dataclass(frozen=True, slots=True)
class Row:
    kind: str  # header | schedule | lane
    content: Content
    lane_index: int = -1


class Grid:
    """Turns a :class:`calendar.CalendarView` into lines of ``width`` cells (pure)."""

    def __init__(self, view: calendar.CalendarView, width: int, *, selected: int = -1) -> None:
        self.view = view
        self.width = max(40, width)
        self.label = label_width(self.width)
        span = self.width - self.label - 1
        days = max(1, len(view.days))
        self.day_cells = max(1, span // days)
        self.cells = self.day_cells * days
        self.selected = selected
        self.times = [self._cell_time(i) for i in range(self.cells)]

    # -- time ↔ cells ----------------------------------------------------------------

    def cell_of(self, t: datetime) -> int | None:
        found = self.view.locate(t)
        if found is None:
            return None
        index, fraction = found
        return index * self.day_cells + min(self.day_cells - 1, int(fraction * self.day_cells))

    def cell_time(self, cell: int) -> datetime:
        """The instant in the middle of ``cell``."""
        return self.times[cell]

    def _cell_time(self, cell: int) -> datetime:
        day = self.view.days[min(len(self.view.days) - 1, cell // self.day_cells)]
        pos = (cell % self.day_cells + 0.5) / self.day_cells
        return day.start + (day.end - day.start) * pos

    # -- rows ---------------------------------------------------------------------

    def rows(self) -> list[Row]:
        out = [Row("header", self._day_header())]
        if self.view.kind == calendar.KIND_DAY:
            out.append(Row("header", self._hour_header()))
        lane_index = 0
        for sched in self.view.schedules:
            out.append(Row("schedule", self._schedule_row(sched)))
            for lane in sched.lanes:
                out.append(Row("lane", self._lane_row(lane, lane_index), lane_index))
                lane_index += 1
        if not self.view.schedules:
            out.append(Row("header", Content("No schedules to show yet.").stylize(STYLE_EMPTY)))
        return out

    def _label(self, text: str, style: str = "") -> Content:
        text = truncate_cells(clean(text, limit=200), self.label)
        pad = " " * (self.label - cell_len(text))
        content = Content(text + pad)
        return (content.stylize(style) if style else content) + Content(" ")

    def _overlay(self, cells: list[tuple[str, str]]) -> list[tuple[str, str]]:
        now = self.cell_of(self.view.now) if self.view.now is not None else None
        cursor = self.cell_of(self.view.cursor) if self.view.cursor is not None else None
        if now is not None:
            ch, style = cells[now]
            cells[now] = ("│" if ch in " ·" else ch, f"{style} {STYLE_NOW}".strip())
        if cursor is not None:
            ch, style = cells[cursor]
            cells[cursor] = (ch, f"{style} {STYLE_CURSOR}".strip())
        return cells

    def _assemble(self, label: Content, cells: list[tuple[str, str]]) -> Content:
        parts: list[Content] = [label]
        run_text, run_style = "", None
        for ch, style in cells:
            if style != run_style and run_text:
                parts.append(
                    Content(run_text).stylize(run_style) if run_style else Content(run_text)
                )
                run_text = ""
            run_text += ch
            run_style = style
        if run_text:
            parts.append(Content(run_text).stylize(run_style) if run_style else Content(run_text))
        return Content("").join(parts)

    def _day_header(self) -> Content:
        cells: list[tuple[str, str]] = []
        for day in self.view.days:
            if self.view.kind == calendar.KIND_DAY:
                text = day.date.strftime("%A %d %B %Y")
            elif self.day_cells >= 10:
                text = day.date.strftime("%a %d %b")
            else:
                text = day.date.strftime("%a %d")
            text = truncate_cells(text, self.day_cells - 1)
            text = (" " + text).ljust(self.day_cells)[: self.day_cells]
            style = "bold $accent" if day.is_today else "bold"
            cells.extend((ch, style) for ch in text)
        zone = truncate_cells(self.view.zone_label, self.label)
        return self._assemble(self._label(zone, "bold"), self._overlay(cells))

    def _hour_header(self) -> Content:
        cells = [(" ", "$text-muted") for _ in range(self.cells)]
        day = self.view.days[0]
        hours = max(1, round(day.hours))
        step = next(s for s in (1, 2, 3, 4, 6, 12) if self.cells / hours * s >= 4)
        for h in range(0, hours, step):
            t = day.start + timedelta(hours=h)
            cell = self.cell_of(t)
            if cell is None:
                continue
            text = timefmt.format_clock(t, self.view.zone, with_zone=False)[:2]
            for i, ch in enumerate(text):
                if cell + i < self.cells:
                    cells[cell + i] = (ch, "$text-muted")
        return self._assemble(self._label("hour"), self._overlay(cells))

    def _schedule_row(self, sched: calendar.ScheduleLanes) -> Content:
        cells = [(" ", "") for _ in range(self.cells)]
        for gap in sched.gaps:
            self._paint(cells, gap.start, gap.end, "░", STYLE_GAP, "gap", min_label=3)
        style = "bold $mine" if sched.mine else "bold"
        return self._assemble(self._label(sched.name, style), self._overlay(cells))

    def _paint(
        self,
        cells: list[tuple[str, str]],
        start: datetime,
        end: datetime,
        fill: str,
        style: str,
        text: str,
        *,
        min_label: int = 1,
    ) -> None:
        covered = list(range(bisect_left(self.times, start), bisect_left(self.times, end)))
        if not covered:
            first = self.cell_of(start)
            if first is None or cells[first][0] not in " ·":
                return
            covered = [first]
        for i in covered:
            cells[i] = (fill, style)
        label = fit_name(text, len(covered)) if len(covered) >= min_label else ""
        for offset, ch in enumerate(label):
            cells[covered[0] + offset] = (ch, style)

    def _lane_row(self, lane: calendar.Lane, index: int) -> Content:
        cells = [("·", STYLE_EMPTY) for _ in range(self.cells)]
        shade = 0
        for block in lane.blocks:
            if block.nobody:
                style, name = STYLE_NOBODY, "↻no one" if block.override else "no one"
            elif block.mine:
                style, name = STYLE_MINE, _short(block.user)
            elif block.override:
                style, name = STYLE_OVERRIDE, _short(block.user)
            else:
                style, name = STYLE_OTHER[shade % 2], _short(block.user)
                shade += 1
            if block.override and not block.nobody:
                name = "↻" + name
            if block.mine and block.override:
                style = f"{STYLE_MINE} italic"
            self._paint(cells, block.start, block.end, " ", style, name)
        label_style = "reverse" if index == self.selected else ("bold" if lane.mine else "")
        return self._assemble(self._label(lane.title, label_style), self._overlay(cells))


def fit_name(text: str, cells: int) -> str:
    """A name in ``cells`` cells: whole, cut with "…", or initials when very short
    ("Robin Ahn" → "RA", "↻Ana Souza" → "↻AS")."""
    if cell_len(text) <= cells:
        return text
    if cells >= 6:
        return truncate_cells(text, cells)
    mark = text[0] if text[:1] == "↻" else ""
    words = text[len(mark) :].split()
    initials = mark + "".join(w[0] for w in words if w)[:3]
    return truncate_cells(initials, cells) if cells >= 2 else initials[:1]


def _short(user: User | None) -> str:
    if user is None or user.is_nobody:
        return "no one"
    return clean(user.name or user.id, limit=80)


class CalendarGrid(Widget):
    """Draws the rows of a :class:`Grid`; height follows the number of rows."""

    DEFAULT_CSS = """
    CalendarGrid { height: auto; width: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.view: calendar.CalendarView | None = None
        self.selected = -1
        self._rows: list[Row] = []

    def show(self, view: calendar.CalendarView, selected: int) -> None:
        self.view = view
        self.selected = selected
        self._layout()
        self.refresh(layout=True)

    def _layout(self) -> None:
        if self.view is None:
            self._rows = []
            return
        self._rows = Grid(self.view, self.size.width or 80, selected=self.selected).rows()

    def on_resize(self) -> None:
        self._layout()
        self.refresh()

    def row_of_lane(self, index: int) -> int | None:
        for n, row in enumerate(self._rows):
            if row.lane_index == index:
                return n
        return None

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self.view is None:
            return 1
        # One header row (two in the day view), then a row per schedule and per lane.
        headers = 2 if self.view.kind == calendar.KIND_DAY else 1
        rows = sum(1 + len(s.lanes) for s in self.view.schedules) or 1
        return headers + rows

    def render(self) -> Content:
        if self.view is None:
            return Content("Loading the schedules…")
        if not self._rows:
            self._layout()
        return Content("\n").join(r.content for r in self._rows)


# ==================================================================== the screen


class CalendarScreen(AppScreen):
    TITLE = "Shift calendar"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "cursor(-1)", "Earlier", show=False, id="calendar.cursor.back"),
        Binding("right", "cursor(1)", "Later", show=False, id="calendar.cursor.forward"),
        Binding("shift+left", "cursor(-6)", "6h earlier", show=False, id="calendar.cursor.back6"),
        Binding("shift+right", "cursor(6)", "6h later", show=False, id="calendar.cursor.forward6"),
        Binding("up", "lane(-1)", "Lane up", show=False, id="calendar.lane.up"),
        Binding("down", "lane(1)", "Lane down", show=False, id="calendar.lane.down"),
        Binding("left_square_bracket", "day(-1)", "Day back", id="calendar.day.prev"),
        Binding("right_square_bracket", "day(1)", "Day fwd", id="calendar.day.next"),
        Binding("pageup,left_curly_bracket", "week(-1)", "Week back", id="calendar.week.prev"),
        Binding("pagedown,right_curly_bracket", "week(1)", "Week fwd", id="calendar.week.next"),
        Binding("t", "today", "Today", id="calendar.today"),
        Binding("n", "next_shift", "My next", id="calendar.next_shift"),
        Binding("v", "toggle_view", "Week/day", id="calendar.toggle_view"),
        Binding("z", "toggle_zone", "Zone/UTC", id="calendar.toggle_zone"),
        Binding("u", "unavailable", "Unavailable", id="calendar.unavailable"),
        Binding("c", "cover", "Cover", id="calendar.cover"),
        Binding("o", "overrides", "My overrides", id="calendar.overrides"),
        Binding("R", "request_cover", "Request cover", show=False, id="calendar.request_cover"),
        Binding("a", "toggle_all", "All schedules", show=False, id="calendar.all"),
        Binding("r", "refresh", "Refresh", show=False, id="calendar.refresh"),
        Binding("escape", "close", "Back", id="calendar.close"),
    ]

    DEFAULT_CSS = """
    CalendarScreen #cal-title { height: 1; padding: 0 1; background: $boost; }
    CalendarScreen #cal-scroll { height: 1fr; }
    CalendarScreen #cal-cursor-box {
        height: auto; max-height: 33%; border-top: hkey $panel;
    }
    CalendarScreen #cal-cursor { height: auto; padding: 0 1; }
    """

    STALE_AFTER = timedelta(minutes=5)

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.clock = clock = session.clock
        self.kind = calendar.KIND_WEEK
        now = clock()
        self.focus_time = now
        self.cursor = now.replace(minute=0, second=0, microsecond=0)
        self.utc = bool(session.settings.ui.utc)
        self.show_all = False
        self.selected = 0
        self.windows: dict[tuple[datetime, datetime], Window] = {}
        self.schedules: tuple[Schedule, ...] = ()
        self.me: User | None = None
        self.care: tuple[str, ...] = ()
        self.problem = ""
        self.view: calendar.CalendarView | None = None
        self.overrides = session.overrides  # shared: the zone goes with each call

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="☎")
        yield Static("", id="cal-title", markup=False)
        with VerticalScroll(id="cal-scroll", can_focus=False):
            yield CalendarGrid(id="cal-grid")
        with VerticalScroll(id="cal-cursor-box", can_focus=False):
            yield Static("", id="cal-cursor", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        # The screen's keys move the time cursor and the lane selection; the scroll
        # containers must not take arrows and page keys for themselves.
        for box in self.query(VerticalScroll):
            box.can_focus = False
        self.set_focus(None)
        self._load_base()
        self.set_interval(30, self._tick)
        self._redraw()

    # -- zone, window, data ---------------------------------------------------------

    @property
    def zone(self):
        return "UTC" if self.utc else self.session.settings.display_zone()

    def _window_key(self) -> tuple[datetime, datetime]:
        return calendar.week_bounds(self.focus_time, self.zone)

    @work(group="calendar-base", exclusive=True, exit_on_error=False)
    async def _load_base(self, refresh: bool = False) -> None:
        snap = self.session.engine.snapshot()
        try:
            base = await self.overrides.calendar_base(snap, refresh=refresh)
        except ActionError as exc:
            self.problem = str(exc)
            self._redraw()
            return
        self.schedules, self.me, self.care = base.schedules, base.me, base.care
        self.problem = ""
        self._ensure_window()
        self._redraw()

    def _ensure_window(self, *, force: bool = False) -> None:
        key = self._window_key()
        window = self.windows.get(key)
        now = self.clock()
        if window is None:
            window = Window(*key)
            self.windows[key] = window
        stale = window.loaded_at is None or now - window.loaded_at > self.STALE_AFTER
        if (stale or force) and not window.loading and self.schedules:
            window.loading = True
            self._load_window(window)

    @work(group="calendar-window", exit_on_error=False)
    async def _load_window(self, window: Window) -> None:
        try:
            data = await self.overrides.load(window.start, window.end, self.schedules)
        except ActionError as exc:
            window.error = str(exc)
        else:
            window.final, window.scheduled = data.shifts, data.scheduled
            window.loaded_at = self.clock()
            window.error = ""
        finally:
            window.loading = False
        self._redraw()

    def _tick(self) -> None:
        self._ensure_window()
        self._redraw()

    # -- rendering ------------------------------------------------------------------

    def _current_window(self) -> Window | None:
        return self.windows.get(self._window_key())

    def _shown_schedules(self) -> list[Schedule]:
        if self.show_all or not self.care:
            return list(self.schedules)
        order = {sid: i for i, sid in enumerate(self.care)}
        return sorted((s for s in self.schedules if s.id in order), key=lambda s: order[s.id])

    def _make_view(self) -> calendar.CalendarView:
        window = self._current_window()
        shown = self._shown_schedules()
        final = window.final if window else ()
        scheduled = window.scheduled if window else ()
        args = {
            "anchor": self.focus_time,
            "zone": self.zone,
            "now": self.clock(),
            "cursor": self.cursor,
            "scheduled": scheduled,
            "schedule_order": [s.id for s in shown],
        }
        if self.kind == calendar.KIND_DAY:
            return calendar.day_view(final, shown, self.me, **args)
        return calendar.week_view(final, shown, self.me, **args)

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        view = self._make_view()
        self.view = view
        lanes = view.lanes
        if lanes:
            self.selected = max(0, min(self.selected, len(lanes) - 1))
        self.query_one(CalendarGrid).show(view, self.selected)
        self.query_one("#cal-title", Static).update(self._title_line(view))
        self.query_one("#cal-cursor", Static).update(self._cursor_text(view))

    def _title_line(self, view: calendar.CalendarView) -> Content:
        zone = "UTC" if self.utc else timefmt.zone_name(self.zone)
        window = self._current_window()
        state = ""
        if self.problem:
            state = f" · {self.problem}"
        elif window is None or (window.loaded_at is None and not window.error):
            state = " · loading…"
        elif window.error:
            state = f" · {window.error}"
        elif window.loading:
            state = " · refreshing…"
        scope = "all schedules" if self.show_all else "my schedules"
        text = f"{view.title} · zone {zone} · {scope}{state}"
        style = "$error" if (self.problem or (window and window.error)) else ""
        content = Content(clean_text(text, limit=400))
        return content.stylize(style) if style else content

    def _cursor_text(self, view: calendar.CalendarView) -> Content:
        if view.cursor is None:
            return Content("")
        now = self.clock()
        head = f"At {timefmt.format_time(view.cursor, self.zone, now=now)}"
        if view.cursor + timedelta(hours=1) <= now:
            head += " (past)"  # the cursor's hour is over, not just begun
        lines = [Content(head + ", on call:").stylize("bold")]
        by_schedule: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for lay in view.at_cursor:
            names[lay.schedule_id] = lay.schedule_name
            if not (lay.rotation_id or lay.layer_id):
                by_schedule.setdefault(lay.schedule_id, []).append("no layers")
                continue
            until = ""
            if lay.until is not None and lay.covered:
                same_day = calendar.day_bounds(view.cursor, self.zone)[1] >= lay.until
                when = (
                    timefmt.format_clock(lay.until, self.zone, with_zone=False)
                    if same_day
                    else timefmt.format_time(lay.until, self.zone, now=now, with_zone=False)
                )
                until = f" until {when}"
            who = lay.who + until
            single = lay.layer_name == lay.schedule_name or lay.layer_name in lay.schedule_name
            entry = who if single else f"{lay.layer_name}: {who}"
            by_schedule.setdefault(lay.schedule_id, []).append(entry)
        for sid, entries in by_schedule.items():
            covered = any(lay.covered for lay in view.at_cursor if lay.schedule_id == sid)
            line = Content(clean_text(f"{names[sid]}: ", limit=120)).stylize("bold")
            body = Content(clean_text(" · ".join(entries), limit=600))
            if not covered:
                body = Content(clean_text(" · ".join(entries), limit=600) + "  ← gap").stylize(
                    "$error"
                )
            lines.append(line + body)
        return Content("\n").join(lines)

    # -- navigation -----------------------------------------------------------------

    def _moved(self) -> None:
        self._ensure_window()
        self._redraw()

    def action_cursor(self, hours: int) -> None:
        self.cursor = calendar.move_cursor(self.cursor, hours=hours)
        self.focus_time = self.cursor
        self._moved()

    def action_lane(self, step: int) -> None:
        if self.view is None or not self.view.lanes:
            return
        self.selected = max(0, min(len(self.view.lanes) - 1, self.selected + step))
        self._redraw()
        grid = self.query_one(CalendarGrid)
        row = grid.row_of_lane(self.selected)
        if row is not None:
            self.query_one("#cal-scroll", VerticalScroll).scroll_to_region(
                Region(0, max(0, row - 2), 1, 4), animate=False
            )

    def action_day(self, days: int) -> None:
        self.focus_time = calendar.step(self.focus_time, self.zone, days=days)
        self.cursor = calendar.step(self.cursor, self.zone, days=days)
        self._moved()

    def action_week(self, weeks: int) -> None:
        self.focus_time = calendar.step(self.focus_time, self.zone, weeks=weeks)
        self.cursor = calendar.step(self.cursor, self.zone, weeks=weeks)
        self._moved()

    def action_today(self) -> None:
        now = self.clock()
        self.focus_time = now
        self.cursor = now.replace(minute=0, second=0, microsecond=0)
        self._moved()

    def action_next_shift(self) -> None:
        window = self._current_window()
        shifts: Sequence[Shift] = window.final if window else ()
        snap = self.session.engine.snapshot()
        after = max(self.cursor, self.clock())
        found = calendar.my_next_shift_start([*shifts, *snap.shifts], self.me, after)
        if found is None:
            self._next_shift_far(after)
            return
        self._go_to(found)

    @work(group="calendar-next", exclusive=True, exit_on_error=False)
    async def _next_shift_far(self, after: datetime) -> None:
        try:
            data = await self.overrides.load(after, after + timedelta(days=42), self.schedules)
        except ActionError as exc:
            self.fail(str(exc))
            return
        found = calendar.my_next_shift_start(data.shifts, self.me, after)
        if found is None:
            self.app.notify("You have no shifts in the next six weeks.", timeout=5)
            return
        self._go_to(found)

    def _go_to(self, t: datetime) -> None:
        self.focus_time = t
        self.cursor = t
        self.app.notify(
            f"Your next shift starts {timefmt.format_time(t, self.zone, now=self.clock())}.",
            timeout=4,
        )
        self._moved()

    def action_toggle_view(self) -> None:
        self.kind = calendar.KIND_DAY if self.kind == calendar.KIND_WEEK else calendar.KIND_WEEK
        self.focus_time = self.cursor
        self._moved()

    def action_toggle_zone(self) -> None:
        self.utc = not self.utc
        name = "UTC" if self.utc else timefmt.zone_name(self.zone)
        self.app.notify(f"Times in {name}.", timeout=2)
        self._moved()

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self._redraw()

    def action_refresh(self) -> None:
        self.windows.clear()
        self._load_base(refresh=True)
        self.app.notify("Reloading the schedules…", timeout=2)

    def action_close(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    # -- availability ---------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        refused = guard.why_not(
            action, readonly=self.session.readonly, backends=self.session.backends
        )
        return None if refused is not None else True

    def _selected_lane(self) -> calendar.Lane | None:
        if self.view is None or not self.view.lanes:
            return None
        return self.view.lanes[max(0, min(self.selected, len(self.view.lanes) - 1))]

    def _my_schedule_ids(self) -> list[str]:
        if self.me is None:
            return []
        ids = [
            s.id
            for s in self.schedules
            if any(u.id == self.me.id for r in s.rotations for u in r.users)
        ]
        window = self._current_window()
        for shift in window.final if window else ():
            if shift.user is not None and shift.user.id == self.me.id:
                ids.append(shift.schedule_id)
        return list(dict.fromkeys(ids))

    def _people(self) -> tuple[User, ...]:
        return but_me(index_people(schedules=self.schedules), self.me)

    @work(group="calendar-action", exclusive=True, exit_on_error=False)
    async def _open_form(self, kind: str) -> None:
        """The availability form, then the plan it asks for (one dialog after another)."""
        refused = guard.why_not(
            kind, readonly=self.session.readonly, backends=self.session.backends
        )
        if refused is not None:
            self.fail(str(refused))
            return
        if not self.schedules or self.me is None:
            self.app.notify("The schedules are still loading; try again in a moment.")
            return
        # Every schedule I am on is ticked: being away means away from all of them;
        # untick one in the form to keep it.
        mine = self._my_schedule_ids()
        preselect = mine
        form = AvailabilityScreen(
            kind,
            schedules=[s for s in self.schedules if s.id in mine] or list(self.schedules),
            selected=preselect,
            people=self._people(),
            cursor=self.cursor,
            now=self.clock(),
            zone=self.zone,
        )
        request = await self.app.push_screen_wait(form)
        if request is not None:
            await self._plan(request)

    def action_unavailable(self) -> None:
        self._open_form(availability.KIND_UNAVAILABLE)

    def action_cover(self) -> None:
        self._open_form(availability.KIND_COVER)

    async def _plan(self, request: AvailabilityRequest) -> None:
        try:
            colleague = None
            if request.kind == availability.KIND_COVER:
                colleague = await self.overrides.colleague(request.colleague, self.me)
            names = [s.id for s in self.schedules if s.id in request.schedule_ids]
            plan, _ = await self.overrides.plan(
                request.start,
                request.end,
                me=self.me,
                colleague=colleague,
                schedules=names,
                now=self.clock(),
                zone=self.zone,
            )
        except ActionError as exc:
            self.fail(str(exc))
            return
        if plan.errors:
            self.fail(" ".join(plan.errors))
            return
        summary = availability.confirm_summary(plan, self.zone).split("\n")
        title = summary[0]
        verb = "Mark unavailable" if plan.kind == availability.KIND_UNAVAILABLE else "Ask to cover"
        ok = await self.app.push_screen_wait(
            ConfirmScreen(title, summary[1:], verb, danger=plan.kind == "unavailable")
        )
        if not ok:
            self.app.notify("Nothing was changed.", timeout=3)
            return
        try:
            result = await self.overrides.apply(plan, zone=self.zone)
        except ActionError as exc:
            self.fail(str(exc))
            return
        await self._after_apply(result)

    async def _after_apply(self, result: ApplyResult) -> None:
        self.windows.clear()
        self._ensure_window()
        self._redraw()
        self.session.engine.poll_soon("incident.io")
        if result.complete:
            for message in result.messages:
                self.app.notify(message + ".", title="Override made", timeout=12, markup=False)
            return
        self.app.notify(result.summary, severity="error", timeout=20, markup=False)
        if result.undo is None or result.undo.empty:
            return
        ok = await self.app.push_screen_wait(
            ConfirmScreen(
                "Undo what was made?",
                [result.summary, "", result.undo.text],
                "Undo",
                danger=False,
            )
        )
        if not ok:
            self.app.notify(
                "Kept the overrides that were made; press o to list or remove them.", timeout=8
            )
            return
        try:
            outcome = await self.overrides.undo(result.undo)
        except ActionError as exc:
            self.fail(str(exc))
        else:
            self.say(outcome.message)
        self.windows.clear()
        self._ensure_window()
        self._redraw()

    def action_overrides(self) -> None:
        self._list_overrides()

    @work(group="calendar-action", exclusive=True, exit_on_error=False)
    async def _list_overrides(self) -> None:
        try:
            mine = await self.overrides.my_overrides(me=self.me)
        except ActionError as exc:
            self.fail(str(exc))
            return
        if not mine:
            self.app.notify("You have no upcoming overrides.", timeout=4)
            return
        by_id: dict[str, MyOverride] = {m.id: m for m in mine}
        title = (
            "Your overrides — Enter removes one"
            if not self.session.readonly
            else ("Your overrides (read-only)")
        )
        options = [(m.id, m.describe(self.zone), f"id {m.id}") for m in mine]
        choice = await self.app.push_screen_wait(ChooseScreen(title, options))
        if not choice or choice not in by_id:
            return
        refused = guard.why_not(
            "overrides_remove", readonly=self.session.readonly, backends=self.session.backends
        )
        if refused is not None:
            self.fail(str(refused))
            return
        target = by_id[choice]
        ok = await self.app.push_screen_wait(
            ConfirmScreen(
                "Remove this override?",
                [target.describe(self.zone), "The rota applies again for that time."],
                "Remove",
                danger=True,
            )
        )
        if not ok:
            return
        try:
            outcome = await self.overrides.remove(target.id, zone=self.zone)
        except ActionError as exc:
            self.fail(str(exc))
            return
        self.say(outcome.message)
        self.windows.clear()
        self._ensure_window()
        self._redraw()

    def action_request_cover(self) -> None:
        lane = self._selected_lane()
        if lane is None:
            self.app.notify("No schedule selected.", severity="error")
            return
        schedule = next((s for s in self.schedules if s.id == lane.schedule_id), None)
        url, problem = openable_url(schedule.permalink if schedule else None)
        if url is None:
            self.app.notify(
                f"{lane.schedule_name} has no link to open ({problem or 'missing'}).",
                severity="error",
            )
            return
        cast("OnCallApp", self.app).open_url(
            url, what=f"{clean(lane.schedule_name, limit=80)} schedule"
        )
        self.app.notify(
            "Request cover in incident.io itself (the API has no cover request; u and c "
            "make overrides directly).",
            timeout=8,
        )
