"""The status bar: how fresh each data source is, and what the dashboard is doing.

One segment per source ("incident.io ✓ 12s", "grafana:eu STALE 4m"; a ✓ only while the
source is fresh and its last poll worked; stale as the engine decides it, from each
feed's clock), why polls are slower than configured ("incident.io: 12% of the shared
rate limit left; polling every 63 s"), a ⚠ marker when
the last poll of a source failed (the error text is the bar's tooltip, and a click posts
:class:`StatusBar.ErrorsRequested` with it so the screen can show it), a READ-ONLY
badge, the number of writes waiting in the outbox, and the current filter and toggles.

Render-only: ages tick once a second from a timer inside the widget; no API is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Unpack

from textual import events
from textual.app import ComposeResult
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from oncall_tui.domain import SourceHealth
from oncall_tui.ui.style import compact_duration
from oncall_tui.ui.text import clean
from oncall_tui.ui.widgets.clocked import ClockedOptions, ClockedWidget

__all__ = ["StatusBar", "describe_filter", "source_segment"]

DEFAULT_STALE_AFTER = timedelta(minutes=2)


def is_stale(
    health: SourceHealth, now: datetime, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> bool:
    """Stale as the engine decided (each feed's clock); ``stale_after`` only for a
    health that carries no clocks."""
    if health.feeds:
        return health.is_stale(now)
    age = health.age_seconds(now)
    return age is not None and age > stale_after.total_seconds()


def source_segment(
    health: SourceHealth, now: datetime, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> Content:
    """ "incident.io ✓ 12s", "grafana:eu STALE 4m ⚠", "grafana:us ✗ no data yet ⚠";
    a source whose last poll failed but whose data is not stale yet shows no ✓
    ("grafana:eu 12s ⚠")."""
    name = clean(health.name, limit=40) or "?"
    age = health.age_seconds(now)
    warn = Content.styled(" ⚠", "bold $major") if health.error else Content("")
    if age is None:
        if health.error:
            body = Content.styled(f"{name} ✗ no data yet", "$stale")
        else:
            body = Content.styled(f"{name} … loading", "$foreground-muted")
    elif is_stale(health, now, stale_after):
        since = health.stale_since(now) if health.feeds else None
        shown = (now - since).total_seconds() if since is not None else age
        body = Content.assemble(
            (f"{name} ", "$stale"),
            ("STALE", "bold $stale"),
            (f" {compact_duration(shown)}", "$stale"),
        )
    elif health.error:
        body = Content.assemble(name, f" {compact_duration(age)}")
    else:
        body = Content.assemble(name, (" ✓", "$acked"), f" {compact_duration(age)}")
    return body + warn


def describe_filter(filters: object) -> str:
    """An :class:`~oncall_tui.core.views.AlertFilter` in words: "“disk” · mine · no
    acked" ("" when it shows everything)."""
    parts = []
    query = clean(getattr(filters, "query", ""), limit=60).strip()
    if query:
        parts.append(f"filter “{query}”")
    if getattr(filters, "mine_only", False):
        parts.append("mine only")
    if getattr(filters, "hide_acked", False):
        parts.append("acked hidden")
    if getattr(filters, "critical_only", False):
        parts.append("critical only")
    if getattr(filters, "include_resolved", False):
        parts.append("with resolved")
    return " · ".join(parts)


class StatusBar(ClockedWidget):
    """One line at the bottom of the dashboard.

    Args:
        clock: returns the current UTC time (tests pass a fixed one).
        stale_after: a source whose last good poll is older than this shows STALE.
        ticks: run a 1-second timer of its own to move the ages; False when the
            screen's clock calls :meth:`tick` (one clock for the screen).
    """

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        width: 1fr;
        layout: horizontal;
        background: $panel;
        color: $foreground;
        & > #status-sources { width: 1fr; height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
        & > #status-extras { width: auto; height: 1; padding: 0 0 0 1; }
    }
    """

    class ErrorsRequested(Message):
        """The user asked what went wrong (clicked the bar while a source has an error)."""

        def __init__(self, bar: StatusBar, text: str) -> None:
            super().__init__()
            self.bar = bar
            self.text = text

        @property
        def control(self) -> StatusBar:
            return self.bar

    def __init__(
        self,
        *,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
        ticks: bool = True,
        **options: Unpack[ClockedOptions],
    ) -> None:
        super().__init__(**options)
        self.stale_after = stale_after
        self._health: tuple[SourceHealth, ...] = ()
        self._readonly = False
        self._pending = 0
        self._filter = ""
        self._notices: tuple[str, ...] = ()
        self._shown: tuple[str, str] | None = None
        self._ticks = ticks
        self.clock_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="status-sources", markup=False)
        yield Static(id="status-extras", markup=False)

    def on_mount(self) -> None:
        self._redraw()
        if self._ticks:
            self.clock_timer = self.set_interval(1.0, self.tick, name="status-bar-clock")

    def tick(self) -> None:
        """The clock moved: redraw if an age or a STALE mark changed."""
        self._redraw()

    # -- public API ----------------------------------------------------------------

    def update_state(
        self,
        *,
        health: Sequence[SourceHealth] | None = None,
        readonly: bool | None = None,
        pending_writes: int | None = None,
        filter_text: str | None = None,
        notices: Sequence[str] | None = None,
    ) -> None:
        """Change what the bar shows; arguments left as None keep their value.

        ``filter_text`` is ours (e.g. "filter: payments · mine only"), shown as given.
        """
        if health is not None:
            self._health = tuple(health)
        if readonly is not None:
            self._readonly = readonly
        if pending_writes is not None:
            self._pending = max(0, pending_writes)
        if filter_text is not None:
            self._filter = filter_text
        if notices is not None:
            self._notices = tuple(notices)
        self._redraw()

    def update_health(
        self,
        health: Sequence[SourceHealth],
        now: datetime | None = None,
        *,
        readonly: bool | None = None,
        pending: int | None = None,
        filters: object | None = None,
        notices: Sequence[str] | None = None,
    ) -> None:
        """Convenience for the dashboard: health plus extras in one call.

        ``filters`` is a :class:`~oncall_tui.core.views.AlertFilter` (described in words);
        ``now`` is accepted for symmetry, the bar's clock drives the ages.
        """
        del now
        self.update_state(
            health=health,
            readonly=readonly,
            pending_writes=pending,
            filter_text=describe_filter(filters) if filters is not None else None,
            notices=notices,
        )

    @property
    def has_errors(self) -> bool:
        return any(h.error for h in self._health)

    def errors_text(self) -> str:
        """Every source's last error in words, one per line ("" when none)."""
        lines = []
        for h in self._health:
            if h.error:
                failures = f" ({h.failures} failures in a row)" if h.failures > 1 else ""
                lines.append(f"{clean(h.name, limit=40)}: {clean(h.error)}{failures}")
            if h.pace:
                lines.append(clean(h.pace, limit=200))
            if h.unavailable:
                lines.append(
                    f"{clean(h.name, limit=40)} cannot: "
                    + ", ".join(clean(u, limit=60) for u in h.unavailable)
                )
        return "\n".join(lines)

    def sources_content(self, *, collapse_fresh: bool = False) -> Content:
        """Every source's freshness; with ``collapse_fresh``, fresh sources without an
        error are summed up ("✓ 2 fresh") so the stale and failing ones keep their room."""
        now = self._clock()
        if not self._health:
            return Content.styled("no data source", "$foreground-muted")
        parts: list[Content] = []
        fresh = 0
        for h in self._health:
            age = h.age_seconds(now)
            healthy = age is not None and not is_stale(h, now, self.stale_after)
            if collapse_fresh and healthy and not h.error:
                fresh += 1
                continue
            parts.append(source_segment(h, now, self.stale_after))
        if fresh:
            parts.insert(0, Content.assemble(("✓", "$acked"), f" {fresh} fresh"))
        return Content(" │ ").join(parts)

    def extras_content(self, *, short: bool = False) -> Content:
        parts: list[Content] = []
        if not short:
            # Polls slowed for the shared rate limit, in the engine's words.
            for h in self._health:
                if h.pace:
                    parts.append(Content.styled(clean(h.pace, limit=120), "$warning"))
        for notice in self._notices:
            parts.append(Content.styled(notice, "$warning"))
        if self._filter:
            parts.append(Content.styled(self._filter, "$foreground-muted"))
        if self._pending:
            if short:
                text = f"{self._pending} waiting"
            else:
                noun = "write" if self._pending == 1 else "writes"
                text = f"{self._pending} {noun} waiting"
            parts.append(Content.styled(text, "bold $major"))
        if self._readonly:
            label = " READ-ONLY "
            parts.append(Content.styled(label, "bold $background on $warning"))
        return Content(" │ ").join(parts)

    def contents(self, width: int) -> tuple[Content, Content]:
        """The two halves, in the fullest form that fits ``width`` cells."""
        for collapse, short in ((False, False), (False, True), (True, True)):
            sources = self.sources_content(collapse_fresh=collapse)
            extras = self.extras_content(short=short)
            if sources.cell_length + extras.cell_length + 1 <= width:
                break
        return sources, extras

    # -- internals -------------------------------------------------------------------

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        shown = self.contents(self.size.width or 80)
        key = (shown[0].markup, shown[1].markup)
        if key == self._shown:
            return
        before, self._shown = self._shown, key
        # The sources' ages move every second in a part of fixed width: repaint that line
        # alone. Only new extras (of their own width) lay the screen out again.
        if before is None or before[0] != key[0]:
            self.query_one("#status-sources", Static).update(shown[0], layout=False)
        if before is None or before[1] != key[1]:
            self.query_one("#status-extras", Static).update(shown[1])
        errors = self.errors_text()
        self.tooltip = errors or None

    def on_resize(self, event: events.Resize) -> None:
        self._shown = None
        self._redraw()

    def on_click(self, event: events.Click) -> None:
        text = self.errors_text()
        if text:
            event.stop()
            self.post_message(self.ErrorsRequested(self, text))
