"""The shift panel: am I on call, on what, for how long, and who is around me.

For every schedule I hold a layer of now: the layer, a live "2h 14m left" countdown, who
else is on the schedule's other layers, and who takes over from me and when. When I am
off call: my next shift ("Off call · next: Support: Payments, Thu 09:00 CET (in 2
days)"). Below, the escalators and global on-call at a glance.

On a narrow or short terminal it collapses to one or two lines. The countdown moves with
:meth:`ShiftPanel.tick` (once a second, from the screen's clock, or from a timer of the
widget's own with ``ticks=True``), and its words are worked out again only when the
minute turns or the data changes; the figures come from :mod:`oncall_tui.core.views`
and :mod:`oncall_tui.core.timefmt`, and no API is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Unpack

from textual import events
from textual.content import Content
from textual.reactive import reactive
from textual.timer import Timer

from oncall_tui.core import timefmt, views
from oncall_tui.domain import Schedule, Shift, Snapshot, User
from oncall_tui.ui.text import clean
from oncall_tui.ui.widgets.clocked import ClockedOptions, ClockedWidget

__all__ = ["ShiftPanel", "default_glance_ids"]

COMPACT_WIDTH = 100  # below this many columns the panel collapses
COMPACT_HEIGHT = 30  # or below this many rows


def _where(shift: views.MyShift) -> str:
    schedule = clean(shift.schedule_name, limit=80)
    layer = clean(shift.layer_name, limit=80)
    if not layer or layer == schedule:
        return schedule
    return f"{schedule} / {layer}"


def default_glance_ids(schedules: Sequence[Schedule]) -> tuple[str, ...]:
    """Escalators first, then global on-call: the schedules a page climbs to."""
    escalators = [s.id for s in schedules if "escalator" in s.name.casefold()]
    global_ = [s.id for s in schedules if "global" in s.name.casefold()]
    return tuple(dict.fromkeys([*escalators, *global_]))


def _minute_of(now: datetime) -> int:
    return int(now.timestamp()) // 60


def _same(a: tuple, b: tuple) -> bool:
    """The same data: the same objects, or equal ones."""
    return all(x is y or x == y for x, y in zip(a, b, strict=True))


class ShiftPanel(ClockedWidget):
    """Render my shifts from schedule data.

    Args:
        clock: returns the current UTC time (tests pass a fixed one).
        zone: IANA zone (or tzinfo) to show times in; None shows UTC.
        compact: force the one/two-line form (True), the full form (False), or decide
            from the terminal size (None).
        ticks: run a 1-second timer of its own; False when the screen's clock calls
            :meth:`tick` (one clock for the screen).
    """

    DEFAULT_CSS = """
    ShiftPanel {
        height: auto;
        max-height: 12;
        width: 1fr;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        background: $surface;
        border-bottom: solid $panel;
    }
    """

    compact: reactive[bool | None] = reactive(None)
    show_utc: reactive[bool] = reactive(False)

    def __init__(
        self,
        *,
        zone: timefmt.ZoneLike = None,
        compact: bool | None = None,
        ticks: bool = True,
        **options: Unpack[ClockedOptions],
    ) -> None:
        super().__init__(**options)
        self.zone = zone
        self._schedules: tuple[Schedule, ...] = ()
        self._shifts: tuple[Shift, ...] = ()
        self._me: User | None = None
        self._glance_ids: tuple[str, ...] = ()
        self._loaded = False
        self._last: str | None = None
        self._off_reason: str | None = None
        self._stale_since: datetime | None = None
        self._minute: int | None = None  # the minute the words were last worked out in
        self._ticks = ticks
        self.clock_timer: Timer | None = None
        self.set_reactive(ShiftPanel.compact, compact)

    def on_mount(self) -> None:
        if self._ticks:
            self.clock_timer = self.set_interval(1.0, self.tick, name="shift-panel-clock")

    # -- public API ----------------------------------------------------------------

    def show_off(self, reason: str) -> None:
        """Shifts cannot be shown at all (no incident.io configured): say so and why."""
        self._off_reason = reason
        self._last = None
        self.refresh(layout=True)

    def update_data(
        self,
        *,
        schedules: Sequence[Schedule],
        shifts: Sequence[Shift],
        me: User | None,
        glance_schedule_ids: Sequence[str] = (),
    ) -> None:
        """Show these schedules and final shifts (a window around now) for ``me``.

        ``glance_schedule_ids``: schedules summarised on the "at a glance" line, in order
        (usually the escalators and the global on-call schedule).
        """
        data = (tuple(schedules), tuple(shifts), me, tuple(glance_schedule_ids))
        shown = (self._schedules, self._shifts, self._me, self._glance_ids)
        if self._loaded and _same(data, shown):
            return  # the same data again (another feed was polled): nothing to redo
        self._schedules, self._shifts, self._me, self._glance_ids = data
        self._loaded = True
        self._last = None
        self.refresh(layout=True)

    def update_view(
        self,
        snapshot: Snapshot,
        *,
        now: datetime | None = None,
        zone: timefmt.ZoneLike = None,
        glance_schedule_ids: Sequence[str] | None = None,
    ) -> None:
        """Show a :class:`~oncall_tui.domain.Snapshot`'s schedules and shifts.

        ``zone`` (if given) replaces the display zone. ``now`` is accepted for symmetry
        with the other widgets; the panel's clock drives the countdown. Without
        ``glance_schedule_ids`` the glance line shows the schedules named like the
        escalators and the global on-call schedule.
        """
        del now
        if zone is not None:
            self.zone = zone
        if glance_schedule_ids is None:
            glance_schedule_ids = default_glance_ids(snapshot.schedules)
        self.update_data(
            schedules=snapshot.schedules,
            shifts=snapshot.shifts,
            me=snapshot.me,
            glance_schedule_ids=glance_schedule_ids,
        )

    def set_stale(self, since: datetime | None) -> None:
        """The schedules have had no answer since ``since`` (None: fresh): the time
        left is then marked as computed from data of that time."""
        if since != self._stale_since:
            self._stale_since = since
            self._last = None
            self.refresh(layout=True)

    def _stale_mark(self, zone) -> tuple[str, str]:
        if self._stale_since is None:
            return ("", "")
        known = timefmt.format_clock(self._stale_since, zone, with_zone=False)
        return (f" ? (schedules as of {known}, stale)", "bold $stale")

    @property
    def is_compact(self) -> bool:
        if self.compact is not None:
            return self.compact
        size = self.app.size
        return size.width < COMPACT_WIDTH or size.height < COMPACT_HEIGHT

    def lines(self, now: datetime | None = None) -> list[Content]:
        """What the panel shows at ``now`` (default: the clock), one Content a line."""
        now = now or self._clock()
        zone = timefmt.UTC_ZONE if self.show_utc else self.zone
        if self._off_reason is not None:
            return [Content.styled(self._off_reason, "$warning")]
        if not self._loaded:
            return [Content.styled("Loading schedules…", "$foreground-muted")]
        if self._me is None:
            return [Content.styled("Schedules: who I am is not known yet", "$foreground-muted")]
        current = views.my_current_shifts(self._shifts, self._schedules, self._me, now)
        compact = self.is_compact
        out: list[Content] = []
        if current:
            if compact:
                out.append(self._compact_on(current, now, zone))
            else:
                for shift in current:
                    out.extend(self._full_on(shift, now, zone))
        else:
            out.append(self._off(now, zone))
        glance = self._glance(now, zone)
        if glance is not None:
            out.append(glance)
        return out

    # -- rendering -------------------------------------------------------------------

    def _compact_on(self, current: Sequence[views.MyShift], now: datetime, zone) -> Content:
        first = current[0]
        parts: list[str | tuple[str, str]] = [
            (" ON CALL ", "bold $background on $mine"),
            " ",
            (_where(first), "bold"),
            (f" · {timefmt.time_left(first.end, now)}", "$mine"),
            self._stale_mark(zone),
        ]
        if first.next_user is not None:
            parts.append((f" · next {clean(first.next_user.name, limit=60)}", "$foreground-muted"))
        if len(current) > 1:
            parts.append((f" · +{len(current) - 1} more", "$foreground-muted"))
        return Content.assemble(*parts)

    def _full_on(self, shift: views.MyShift, now: datetime, zone) -> list[Content]:
        until = timefmt.format_time(shift.end, zone, now=now)
        head = Content.assemble(
            (" ON CALL ", "bold $background on $mine"),
            " ",
            (_where(shift), "bold"),
            (" — ", "$foreground-muted"),
            (timefmt.time_left(shift.end, now), "bold $mine"),
            self._stale_mark(zone),
            (f" (until {until})", ""),
            (" override" if shift.is_override else "", "italic $foreground-muted"),
        )
        lines = [head]
        details: list[tuple[str, str] | str] = []
        others = [lay for lay in shift.others if lay.layer_name]
        if others:
            details.append(("  also on: ", "$foreground-muted"))
            details.append(
                " · ".join(
                    f"{clean(lay.layer_name, limit=60)}: {clean(lay.who, limit=120)}"
                    for lay in others
                )
            )
        if shift.next_user is not None and shift.next_start is not None:
            nxt = timefmt.format_time(shift.next_start, zone, now=now)
            details.append(("  next: " if not details else "  · next: ", "$foreground-muted"))
            details.append(f"{clean(shift.next_user.name, limit=60)} at {nxt}")
        elif shift.next_known:
            details.append(("  next: " if not details else "  · next: ", "$foreground-muted"))
            details.append(("no one takes over", "bold $critical"))
        if details:
            lines.append(Content.assemble(*details))
        return lines

    def _off(self, now: datetime, zone) -> Content:
        nxt = views.my_next_shift(self._shifts, self._schedules, self._me, now)
        if nxt is None:
            return Content.assemble(
                ("Off call", "bold"), (" · no upcoming shift in view", "$foreground-muted")
            )
        when = timefmt.format_time(nxt.start, zone, now=now)
        return Content.assemble(
            ("Off call", "bold"),
            (" · next: ", "$foreground-muted"),
            (_where(nxt), "bold"),
            f", {when} ",
            (f"({timefmt.countdown(nxt.start, now)})", "$foreground-muted"),
        )

    def _glance(self, now: datetime, zone) -> Content | None:
        if not self._glance_ids:
            return None
        glances = views.at_a_glance(
            self._shifts, self._schedules, now, schedule_ids=self._glance_ids, zone=zone
        )
        if not glances:
            return None
        parts: list[tuple[str, str] | str] = []
        for n, glance in enumerate(glances):
            if n:
                parts.append((" │ ", "$foreground-muted"))
            style = "" if glance.covered else "bold $critical"
            parts.append((clean(glance.text, limit=400), style))
        return Content.assemble(*parts)

    def render(self) -> Content:
        now = self._clock()
        lines = self.lines(now)
        text = Content("\n").join(lines)
        self._last = text.markup
        self._minute = _minute_of(now)
        return text

    def tick(self) -> None:
        """The clock moved: redraw when the minute has turned and the words changed
        (every figure is in whole minutes: "2h 14m left"). Within a minute nothing is
        worked out again."""
        now = self._clock()
        if self._last is None or _minute_of(now) == self._minute:
            return
        self._minute = _minute_of(now)
        text = Content("\n").join(self.lines(now)).markup
        if text != self._last:
            self.refresh(layout=True)

    def on_resize(self, event: events.Resize) -> None:
        self._last = None
        self.refresh(layout=True)

    def watch_compact(self) -> None:
        self.refresh(layout=True)

    def watch_show_utc(self) -> None:
        self.refresh(layout=True)
