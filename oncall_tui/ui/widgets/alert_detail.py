"""Everything about the selected row: what fires, the graph, where to look, what happened.

For the row under the cursor: the title, a status line (severity, state, since when,
source, duplicates, escalation level and when it moves up), the metric over the last
hour (:class:`~oncall_tui.ui.widgets.sparkline.MetricSparkline`), every link kind with
"missing" or "refused: …" where there is none, the description (wrapped, plain text),
labels as a compact key=value list, notes, and the escalation's event history.

Render-only: the screen passes data in with :meth:`AlertDetail.show` and the metric with
:meth:`AlertDetail.show_series` / :meth:`AlertDetail.show_loading`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Unpack

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from oncall_tui.core import timefmt, views
from oncall_tui.core.alert_incident import RowIncidents
from oncall_tui.core.alerts import PAGING_STATUSES
from oncall_tui.core.linking import SourceView
from oncall_tui.core.paging import LevelView
from oncall_tui.core.resolved import ended_words
from oncall_tui.core.rows import first_link
from oncall_tui.core.sent import SentItem, sent_words
from oncall_tui.core.views import KIND_PAGE, AlertRow
from oncall_tui.domain import (
    LINK_DASHBOARD,
    LINK_INCIDENT,
    LINK_PANEL,
    LINK_RULE,
    LINK_RUNBOOK,
    LINK_SILENCE,
    LINK_SOURCE,
    Alert,
    AlertNote,
    EscalationPath,
    Page,
    PageEvent,
    Series,
)
from oncall_tui.ui.style import severity_style, state_style
from oncall_tui.ui.text import clean
from oncall_tui.ui.widgets import triage
from oncall_tui.ui.widgets.alert_table import severity_label
from oncall_tui.ui.widgets.clocked import ClockedOptions, ClockedWidget
from oncall_tui.ui.widgets.fired_before import FiredBefore
from oncall_tui.ui.widgets.incident_section import incident_block, linked_words
from oncall_tui.ui.widgets.sparkline import MetricSparkline

KEEP: Any = object()  # "leave the metric as it is"

__all__ = ["LINK_KINDS", "AlertDetail", "event_words"]

LINK_KINDS = (
    LINK_RUNBOOK,
    LINK_DASHBOARD,
    LINK_PANEL,
    LINK_RULE,
    LINK_SOURCE,
    LINK_SILENCE,
    LINK_INCIDENT,
)
MAX_LABELS = 40
MAX_EVENTS = 50


def _names(users) -> str:
    return ", ".join(clean(u.name or u.id, limit=60) for u in users) or "no one"


def event_words(event: PageEvent) -> str:
    """ "notified Ana, Ben (high urgency)", "acked by Ana", "triggered", … ."""
    kind = clean(event.event, limit=60)
    urgency = f" ({clean(event.urgency, limit=20)} urgency)" if event.urgency else ""
    if kind == "notified_users":
        who = _names(event.users)
        channels = ", ".join(clean(c, limit=60) for c in event.channels)
        if channels:
            who = f"{who}; channels {channels}" if event.users else f"channels {channels}"
        return f"notified {who}{urgency}"
    if kind in ("acked", "acknowledged", "resolved", "snoozed", "declined", "unacked"):
        return f"{kind} by {_names(event.users)}" if event.users else kind
    text = kind.replace("_", " ")
    if event.users:
        text += f": {_names(event.users)}"
    return text + urgency


def _add_section(blocks: list[Content], title: str) -> None:
    if blocks:
        blocks.append(Content(""))
    blocks.append(Content.styled(title, "bold $foreground-muted"))


class AlertDetail(ClockedWidget):
    """Details of one row of the alert table.

    Args:
        clock: returns the current UTC time (tests pass a fixed one).
        zone: IANA zone (or tzinfo) for times; None shows UTC.
    """

    DEFAULT_CSS = """
    AlertDetail {
        width: 1fr;
        height: 1fr;
        background: $surface;
        & > VerticalScroll { height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }
        & #detail-title { text-style: bold; }
        & #detail-body { height: auto; }
        & #detail-card { height: auto; margin-top: 1; }
        & MetricSparkline { margin: 1 0 0 0; }
    }
    """

    def __init__(
        self,
        *,
        zone: timefmt.ZoneLike = None,
        **options: Unpack[ClockedOptions],
    ) -> None:
        super().__init__(**options)
        self.zone = zone
        self._row: AlertRow | None = None
        self._alerts: tuple[Alert, ...] = ()
        self._pages: tuple[Page, ...] = ()
        self._notes: tuple[AlertNote, ...] = ()
        self._path: EscalationPath | None = None
        self._levels: tuple[LevelView, ...] = ()
        self._sent: tuple[SentItem, ...] = ()
        self._stale_since: datetime | None = None
        self._incident: RowIncidents | None = None
        self._source: SourceView | None = None
        self._shown: dict[str, str] = {}  # what each part shows now, as markup

    def set_stale(self, since: datetime | None) -> None:
        """The row's source has had no answer since ``since`` (None: it is fresh). Its
        countdown is then marked as computed from data of that time."""
        if since != self._stale_since:
            self._stale_since = since
            self._redraw()

    def compose(self) -> ComposeResult:
        with VerticalScroll(can_focus=False):
            yield Static(id="detail-title", markup=False)
            yield Static(id="detail-status", markup=False)
            yield Static(id="detail-card", markup=False)  # the page, then the alert behind
            yield MetricSparkline(clock=self._clock)
            yield FiredBefore()
            yield Static(id="detail-body", markup=False)

    def on_mount(self) -> None:
        self._redraw()

    # -- public API ----------------------------------------------------------------

    @property
    def row(self) -> AlertRow | None:
        return self._row

    @property
    def scroller(self) -> VerticalScroll:
        """The scrolling container of the detail (the screen scrolls it from the keys)."""
        return self.query_one(VerticalScroll)

    @property
    def sparkline(self) -> MetricSparkline:
        return self.query_one(MetricSparkline)

    @property
    def fired_before(self) -> FiredBefore:
        """The "Fired before?" section (the screen asks it to show an alert's history)."""
        return self.query_one(FiredBefore)

    def show(
        self,
        row: AlertRow | None,
        *,
        alerts: Sequence[Alert] = (),
        alert: Alert | None = None,
        pages: Sequence[Page] = (),
        sent: Sequence[SentItem] = (),
        notes: Sequence[AlertNote] = (),
        path: EscalationPath | None = None,
        levels: Sequence[LevelView] = (),
        series: Series | str | None = KEEP,
        incident: RowIncidents | None = None,
        now: datetime | None = None,
        zone: timefmt.ZoneLike = None,
        source: SourceView | None = None,
    ) -> None:
        """Show ``row`` (None: nothing selected) with what the screen knows about it.

        ``alerts``: the alerts of the row's group (or one ``alert``); ``pages``: the pages
        behind it; ``sent``: pages I sent about it (escalations, shadow requests), which
        are not rows of their own; ``path``: the escalation path of its page, to show who is next;
        ``series``: a :class:`~oncall_tui.domain.Series`, ``"loading"``, ``None`` /
        ``"none"`` for no metric, or left out to keep the metric shown for the same row
        (a new row starts at "no metric"). ``zone`` (if given) replaces the display
        zone; ``now`` is accepted for symmetry, the widget's clock is used.
        """
        del now
        if zone is not None:
            self.zone = zone
        same = row is not None and self._row is not None and row.key == self._row.key
        self._row = row
        group = tuple(alerts)
        if alert is not None and all(a.key != alert.key for a in group):
            group = (alert, *group)
        self._alerts = group
        self._pages = tuple(pages)
        self._sent = tuple(sent)
        self._notes = tuple(notes)
        self._path = path
        self._levels = tuple(levels)
        self._incident = incident
        self._source = source
        if self._composed():
            self.sparkline.zone = self.zone
            if series is KEEP:
                if not same:
                    self.sparkline.show_none()
            elif series == "loading":
                self.sparkline.show_loading()
            elif series is None or series == "none":
                self.sparkline.show_none()
            elif isinstance(series, str):  # the reason there is none
                self.sparkline.show_none(series)
            else:
                self.sparkline.show_series(series)
            if not same:
                self.query_one(VerticalScroll).scroll_home(animate=False)
        self._redraw()

    def show_nothing(self) -> None:
        self.show(None, series=None)

    def show_loading(self) -> None:
        self.sparkline.show_loading()

    def show_series(self, series: Series | None) -> None:
        self.sparkline.show_series(series)

    def show_no_metric(self, reason: str = "no metric for this alert") -> None:
        self.sparkline.show_none(reason)

    # -- content -------------------------------------------------------------------

    def title_content(self) -> Content:
        if self._row is None:
            return Content.styled("Nothing selected", "$foreground-muted")
        return Content(clean(self._row.title, limit=500) or "(no title)")

    def status_content(self, now: datetime | None = None) -> Content:
        row = self._row
        if row is None:
            return Content("")
        now = now or self._clock()
        parts: list[tuple[str, str] | str] = [
            (severity_label(row.severity), severity_style(row.severity, "bold")),
            (" · ", "$foreground-muted"),
            (
                clean(ended_words(row, self.zone) or row.state, limit=60),
                severity_style(row.severity) if row.state == "firing" else state_style(row.state),
            ),
            (" · ", "$foreground-muted"),
            f"since {timefmt.format_time(row.started_at, self.zone, now=now)}",
            (f" ({timefmt.ago(row.started_at, now)})", "$foreground-muted"),
            (" · ", "$foreground-muted"),
            clean(row.source, limit=120),
        ]
        if row.count > 1:
            parts.append((f" · {row.count} alerts grouped", "$foreground-muted"))
        if row.mine:
            # Mine now: paging me, or acked by me.
            paging = row.state in PAGING_STATUSES
            parts.append((" · paging me" if paging else " · acked by me", "bold $mine"))
        elif row.went:
            parts.append((f" · no longer mine: {clean(row.went, limit=120)}", "$major"))
        if row.level is not None:
            level = f"level {row.level}" + (f" of {row.levels}" if row.levels else "")
            parts.append((" · ", "$foreground-muted"))
            parts.append(level)
            if row.next_level_at is not None:
                parts.append((f", moves up {timefmt.countdown(row.next_level_at, now)}", "$major"))
                if self._stale_since is not None:
                    known = timefmt.format_clock(self._stale_since, self.zone, with_zone=False)
                    parts.append((f" (? from data as of {known}, stale)", "bold $stale"))
        return Content.assemble(*parts)

    def body_content(self, now: datetime | None = None) -> Content:
        row = self._row
        if row is None:
            return Content.styled(
                "Select a page or an alert to see its details.", "$foreground-muted"
            )
        now = now or self._clock()
        blocks: list[Content] = []
        alert = self._alerts[0] if self._alerts else None

        section = incident_block(self._incident)
        if section is not None:
            blocks += [section, Content("")]
        blocks.append(self._links_block(alert, row))
        if self._sent:
            _add_section(blocks, f"Sent by me ({len(self._sent)})")
            lines = [clean(sent_words(item, now, self.zone), limit=400) for item in self._sent]
            blocks.append(Content("\n".join(lines)))
        if alert is not None and alert.description:
            _add_section(blocks, "Description")
            blocks.append(Content(clean(alert.description, multiline=True)))
        elif row.kind == KIND_PAGE:
            for page in self._pages:
                if page.description:
                    _add_section(blocks, "Description")
                    blocks.append(Content(clean(page.description, multiline=True)))
                    break
        if alert is not None and (alert.labels or alert.annotations):
            _add_section(blocks, "Labels")
            blocks.append(self._labels(alert))
        if len(self._alerts) > 1:
            _add_section(blocks, f"Grouped alerts ({len(self._alerts)})")
            lines = [
                f"{timefmt.format_clock(a.started_at, self.zone)}  "
                f"{clean(a.source_label, limit=60)}  {clean(a.title, limit=200)}"
                for a in sorted(self._alerts, key=lambda a: a.started_at)[:MAX_LABELS]
            ]
            blocks.append(Content("\n".join(lines)))
        _add_section(blocks, "Notes")
        if self._notes:
            notes = sorted(self._notes, key=lambda n: n.created_at)
            blocks.append(
                Content.assemble(
                    *[
                        part
                        for n, note in enumerate(notes)
                        for part in (
                            ("\n" if n else "", ""),
                            (
                                timefmt.format_time(note.created_at, self.zone, now=now),
                                "$foreground-muted",
                            ),
                            (f"  {clean(note.author, limit=60)}: ", "bold"),
                            clean(note.content, multiline=True),
                        )
                    ]
                )
            )
        else:
            blocks.append(Content.styled("no notes", "$foreground-muted"))
        _add_section(blocks, "Escalation")
        blocks.append(self._history(now))
        if self._path is not None and self._path.levels:
            blocks.append(self._path_levels(row))
        elif self._path is not None:
            blocks.append(
                Content.styled(
                    f"Path {clean(self._path.name, limit=80)}: "
                    + clean(views.path_summary(self._path), limit=300),
                    "$foreground-muted",
                )
            )
        return Content("\n").join(blocks)

    def card_content(self, now: datetime | None = None) -> Content:
        """The page (level, path, who was notified), then the alert behind it."""
        events = [e for p in self._pages for e in p.events if e.event == "notified_users"]
        latest = max(events, key=lambda e: e.occurred_at) if events else None
        return triage.card_content(
            pages=self._pages,
            path=self._path,
            levels=self._row.levels if self._row is not None else None,
            notified=event_words(latest) if latest is not None else "",
            source=self._source,
            source_state=self._row.source_state if self._row is not None else "",
            zone=self.zone,
            now=now or self._clock(),
        )

    def _links_block(self, alert: Alert | None, row: AlertRow) -> Content:
        parts: list[tuple[str, str] | str] = [("Links", "bold $foreground-muted")]
        if alert is None:
            parts.append(("\nno alert data for this page", "$foreground-muted"))
            return Content.assemble(*parts)
        width = max(len(k) for k in LINK_KINDS)
        behind = self._source.alert if self._source is not None else None
        for kind in LINK_KINDS:
            link = first_link(kind, (alert, behind))
            parts.append("\n" + kind.ljust(width) + "  ")
            if link.url is not None:
                parts.append(("✓ ", "$acked"))
                parts.append(clean(link.url, limit=300))
            elif link.problem and link.problem.startswith("refused"):
                parts.append((f"✗ {clean(link.problem, limit=200)}", "$major"))
            elif kind == LINK_INCIDENT and (known := linked_words(self._incident)):
                parts.append(("no link on the alert; " + known, "$foreground-muted"))
            else:
                parts.append(("✗ missing", "$foreground-muted"))
        return Content.assemble(*parts)

    def _labels(self, alert: Alert) -> Content:
        parts: list[tuple[str, str] | str] = []
        items = [*alert.labels, *alert.annotations]
        for n, (key, value) in enumerate(items[:MAX_LABELS]):
            if n:
                parts.append("  ")
            parts.append((clean(key, limit=80) + "=", "$foreground-muted"))
            parts.append(clean(value, limit=200))
        if len(items) > MAX_LABELS:
            parts.append((f"  (+{len(items) - MAX_LABELS} more)", "$foreground-muted"))
        return Content.assemble(*parts)

    def _history(self, now: datetime) -> Content:
        events = sorted(
            (e for page in self._pages for e in page.events), key=lambda e: e.occurred_at
        )
        if not events:
            text = "not paged" if not self._pages else "no events yet"
            return Content.styled(text, "$foreground-muted")
        lines: list[tuple[str, str] | str] = []
        for n, event in enumerate(events[-MAX_EVENTS:]):
            lines.append(("\n" if n else "", ""))
            lines.append(
                (timefmt.format_time(event.occurred_at, self.zone, now=now), "$foreground-muted")
            )
            lines.append("  " + event_words(event))
        if len(events) > MAX_EVENTS:
            lines.insert(0, (f"({len(events) - MAX_EVENTS} earlier events)\n", "$foreground-muted"))
        return Content.assemble(*lines)

    def _when(self, t: datetime, now: datetime) -> str:
        return timefmt.format_time(t, self.zone, now=now)

    def _path_levels(self, row: AlertRow) -> Content:
        path = self._path
        assert path is not None
        parts: list[tuple[str, str] | str] = [
            (f"Path {clean(path.name, limit=80)}:", "$foreground-muted")
        ]
        if self._levels:  # names, who is on call now, when it moves up (from the core)
            for view in self._levels:
                targets = "; ".join(clean(t, limit=120) for t in view.targets) or "?"
                extra = ", ".join(x for x in (view.wait, view.moves_up) if x)
                marker = "▶ " if view.current else "  "
                parts.append("\n")
                parts.append(
                    (
                        f"{marker}L{view.number} {targets}" + (f" ({extra})" if extra else ""),
                        "bold" if view.current else "",
                    )
                )
            return Content.assemble(*parts)
        for n, level in enumerate(path.levels, start=1):
            targets = ", ".join(clean(t.name or t.type, limit=60) for t in level.targets) or "?"
            wait = (
                f" (ack within {timefmt.format_duration(level.time_to_ack_seconds)})"
                if level.time_to_ack_seconds
                else ""
            )
            style = "bold" if row.level == n else ""
            marker = "▶ " if row.level == n else "  "
            parts.append("\n")
            parts.append((f"{marker}L{n} {targets}{wait}", style))
        return Content.assemble(*parts)

    def _composed(self) -> bool:
        """Its parts exist (a screen shown in place of another may fill it in before its
        children are composed; :meth:`on_mount` draws it then)."""
        return self.is_mounted and bool(self.query("#detail-title"))

    def _redraw(self) -> None:
        if not self._composed():
            return
        now = self._clock()
        for part, content in (
            ("#detail-title", self.title_content()),
            ("#detail-status", self.status_content(now)),
            ("#detail-body", self.body_content(now)),
        ):
            # The same words again (a poll that changed nothing here): no repaint.
            if self._shown.get(part) != content.markup:
                self._shown[part] = content.markup
                self.query_one(part, Static).update(content)
        card, content = self.query_one("#detail-card", Static), self.card_content(now)
        if self._shown.get("#detail-card") != content.markup:
            self._shown["#detail-card"] = content.markup
            card.update(content)
            card.display = bool(content.plain)
