"""What the incident screen shows: the incident list (from the engine's snapshot), the
selected incident's head, summary, links, checklist and live timeline, and what is wrong
with them. :class:`~oncall_tui.ui.screens.incidents.IncidentsScreen` adds the keys."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Header, Static

from oncall_tui.core import timefmt
from oncall_tui.core.actions import ActionError
from oncall_tui.core.incidents import (
    Lookups,
    TimelineData,
    checklist_state,
    sort_incidents,
)
from oncall_tui.core.session import Session
from oncall_tui.core.sources import FEED_INCIDENTS
from oncall_tui.core.sync import utcnow
from oncall_tui.domain import Incident, Snapshot, User
from oncall_tui.logs import log_path
from oncall_tui.safety import clean_text
from oncall_tui.ui import style as style_rules
from oncall_tui.ui.screens.base import AppScreen
from oncall_tui.ui.style import compact_duration
from oncall_tui.ui.text import clean, plain, plain_content
from oncall_tui.ui.widgets.key_footer import KeyFooter
from oncall_tui.ui.widgets.note_input import NoteInput
from oncall_tui.ui.widgets.timeline_view import TimelineView


def _age(created: datetime, now: datetime) -> str:
    return compact_duration((now - created).total_seconds())


_CATEGORY_WORDS = {"live": "active", "learning": "post-incident"}


class IncidentsView(AppScreen):
    """The incident screen's layout, loading and rendering."""

    def __init__(self, session: Session, *, select: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.actions = session.incidents
        self.settings = session.settings
        self.zone = session.settings.display_zone()
        self._incidents: dict[str, Incident] = {}
        self._order: list[str] = []
        self._selected: str | None = select
        self._data: dict[str, TimelineData] = {}
        self._list_error = ""
        self._timeline_error = ""
        self._lookups: Lookups | None = None
        self._people: list[User] | None = None
        self._me: User | None = session.engine.world.me
        self._loaded = False
        self._offline_since: datetime | None = None  # the list shown is the cached one
        self._list_seen: tuple[object, ...] = ()  # the snapshot's list and health last shown

    # -- layout ----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="☎")
        table: DataTable = DataTable(id="incidents", cursor_type="row", zebra_stripes=True)
        yield table
        with Vertical(id="incident"):
            yield Static("Loading incidents…", id="incident-head")
            yield Static("", id="summary", classes="-empty")
            yield Static("", id="links", classes="-empty")
            yield Static("", id="checklist")
            yield Static("", id="problems", classes="-empty")
            yield TimelineView(zone=self.zone, id="timeline", empty_text="No timeline yet.")
            yield NoteInput(self.actions.save_draft, id="note")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#incidents", DataTable)
        for label, key in (
            ("Ref", "ref"),
            ("Severity", "sev"),
            ("Status", "status"),
            ("Age", "age"),
            ("Me", "me"),
            ("Name", "name"),
            ("Lead", "lead"),
        ):
            table.add_column(label, key=key)
        table.focus()
        self.set_class(self.size.height < 32, "short")
        poll = self.settings.incident_io.poll
        self.set_interval(poll.timeline, self._poll_timeline)
        # The list is the engine's (polled by the app); opening the screen asks for it
        # fresh, and shows what is known meanwhile.
        engine = self.session.engine
        engine.subscribe(self._on_snapshot)
        self._show_list(engine.snapshot())
        self._refresh_list()
        self._load_lookups()
        self.oncall.outbox_signal.subscribe(self, lambda _: self.outbox_changed(fetch=True))

    def on_resize(self, event) -> None:
        self.set_class(event.size.height < 32, "short")

    # -- loading -----------------------------------------------------------------

    def on_unmount(self) -> None:
        self.session.engine.unsubscribe(self._on_snapshot)

    def _refresh_list(self) -> None:
        """Ask the engine for the incident list now (the app runs the poll)."""
        self.session.engine.poll_soon(FEED_INCIDENTS)

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        health = self.session.engine.health(FEED_INCIDENTS)
        seen = (snapshot.incidents, health.last_ok, health.error)
        if seen != self._list_seen:
            self._list_seen = seen
            self.call_later(self._show_list, snapshot)

    def _show_list(self, snapshot: Snapshot) -> None:
        """The incident list from the engine's snapshot; while incident.io has never
        answered, the list kept on this machine (notes can still be written)."""
        health = self.session.engine.health(FEED_INCIDENTS)
        error = f"Cannot list incidents: {health.error}" if health.error else ""
        self._list_error = error
        if health.last_ok is None:
            if error and not self._loaded:
                cached, seen = self.actions.cached_incidents()
                if cached:
                    self._offline_since = seen
                    self._loaded = True
                    self._set_incidents(cached)
                else:
                    self.query_one("#incident-head", Static).update(
                        Content(
                            f"Cannot load incidents: {clean(health.error or '')}. No incident "
                            "list is kept on this machine yet, so there is nothing to note on."
                        )
                    )
            self._show_problems()
            return
        self._offline_since = None
        self._loaded = True
        self._me = snapshot.me or self.actions.whoami.known
        self._set_incidents(self.actions.listed(snapshot.incidents))
        self._show_problems()

    @work(group="lookups", exclusive=True, exit_on_error=False)
    async def _load_lookups(self) -> None:
        try:
            self._lookups = await self.actions.lookups()
        except ActionError as exc:
            self.app.notify(str(exc), severity="warning", timeout=8, markup=False)

    def _poll_timeline(self) -> None:
        if self._selected is not None:
            self._load_timeline(self._selected)

    @work(group="timeline", exclusive=True, exit_on_error=False)
    async def _load_timeline(self, incident_id: str) -> None:
        incident = self._incidents.get(incident_id)
        if incident is None:
            return
        try:
            data = await self.actions.load_timeline(incident)
        except ActionError as exc:
            self._timeline_error = (
                f"not refreshed: {exc}. Showing what was last known; notes you type are "
                "kept and sent when incident.io answers."
            )
            self._show_problems()
            return
        self._timeline_error = ""
        self._data[incident_id] = data
        if incident_id == self._selected:
            self._render_timeline()

    def _set_incidents(self, incidents: list[Incident]) -> None:
        table = self.query_one("#incidents", DataTable)
        now = utcnow()
        me = self._me
        self._incidents = {i.id: i for i in incidents}
        order = [i.id for i in incidents]
        selected = self._selected
        if order != self._order:
            table.clear()
            for incident in incidents:
                table.add_row(*self._cells(incident, now, me), key=incident.id)
            self._order = order
        else:
            for incident in incidents:
                for column, cell in zip(
                    ("ref", "sev", "status", "age", "me", "name", "lead"),
                    self._cells(incident, now, me),
                    strict=True,
                ):
                    table.update_cell(incident.id, column, cell)
        if not incidents:
            self._check_note_target()
            self._selected = None
            self.query_one("#incident-head", Static).update(
                Content("No open incidents. D declares one.")
            )
            self.query_one("#checklist", Static).update("")
            self.query_one(TimelineView).set_entries([])
            return
        self._check_note_target()
        if selected not in self._incidents:
            selected = order[0]
        index = order.index(selected)
        if table.cursor_row != index:
            table.move_cursor(row=index)
        self._select(selected)

    def _cells(self, incident: Incident, now: datetime, me: User | None) -> list[Text]:
        severity = incident.severity.name if incident.severity else "—"
        style = style_rules.resolve(style_rules.severity_style(severity), self.app.theme_variables)
        category = incident.status.category
        status = plain(incident.status.name)
        if category not in ("triage", "live"):  # after the open ones; dim, named in the head
            status.stylize("dim italic")
        lead = incident.lead.name if incident.lead else "no lead"
        mine = ", ".join(incident.roles_of(me.id)) if me else ""
        return [
            plain(incident.reference, "bold"),
            plain(severity, style),
            status,
            plain(_age(incident.created_at, now)),
            plain(mine or "—", "bold" if mine else "dim", limit=30),
            plain(incident.name, limit=70),
            plain(lead, limit=30),
        ]

    # -- selection and rendering ----------------------------------------------------

    @on(DataTable.RowHighlighted, "#incidents")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        if key and key in self._incidents and key != self._selected:
            self._select(key)

    @on(DataTable.RowSelected, "#incidents")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.query_one(TimelineView).focus()

    def _select(self, incident_id: str) -> None:
        changed = incident_id != self._selected or incident_id not in self._data
        self._selected = incident_id
        self._render_head()
        self._render_timeline()
        if changed:
            self._load_timeline(incident_id)

    @property
    def incident(self) -> Incident | None:
        return self._incidents.get(self._selected) if self._selected else None

    def select_incident(self, incident: Incident) -> None:
        """Show this incident (e.g. just declared), even before the next list poll."""
        if incident.id not in self._incidents:
            self._selected = incident.id
            self._set_incidents(sort_incidents([incident, *self._incidents.values()]))
        else:
            self._selected = incident.id
            table = self.query_one("#incidents", DataTable)
            table.move_cursor(row=self._order.index(incident.id))
            self._select(incident.id)
        self._refresh_list()

    def _render_head(self) -> None:
        incident = self.incident
        head = self.query_one("#incident-head", Static)
        if incident is None:
            return
        now = utcnow()
        me = self._me
        sev = incident.severity.name if incident.severity else "no severity"
        lead = incident.lead.name if incident.lead else "nobody"
        mine = ", ".join(incident.roles_of(me.id)) if me else ""
        category = incident.status.category
        state = incident.status.name
        if category not in ("triage", "live"):
            state += f" ({_CATEGORY_WORDS.get(category, category)})"
        line1 = Content.assemble(
            plain_content(incident.reference, "bold"),
            "  ",
            plain_content(sev, "bold"),
            " · ",
            plain_content(state),
            " · lead ",
            plain_content(lead, "bold"),
            (" · you: " if mine else ""),
            plain_content(mine, "bold $success") if mine else "",
            f" · {_age(incident.created_at, now)} old",
            " · private" if incident.visibility == "private" else "",
        )
        parts = [line1, plain_content(incident.name, "bold")]
        summary = clean(incident.summary, multiline=True, limit=600).strip()
        lines = [line for line in summary.splitlines() if line.strip()]
        shown = "\n".join(lines[:2]) + (" …" if len(lines) > 2 else "")
        self.query_one("#summary", Static).update(
            plain_content(shown, "$text-muted", multiline=True)
        )
        self.query_one("#summary").set_class(not shown, "-empty")
        links: list[Content] = []
        if incident.call_url:
            links.append(Content.assemble("o call ", plain_content(incident.call_url, "underline")))
        if incident.slack_channel_name or incident.slack_channel_id:
            name = incident.slack_channel_name or incident.slack_channel_id or ""
            links.append(Content.assemble("l Slack ", plain_content("#" + name.lstrip("#"))))
        head.update(Content("\n").join(parts))
        self.query_one("#links", Static).update(Content(" · ").join(links))
        self.query_one("#links").set_class(not links, "-empty")

    def _entries(self):
        data = self._data.get(self._selected or "")
        if data is None:
            return None
        incident = self.incident
        if incident is not None and data.incident is not incident:
            data = TimelineData(
                incident,
                data.updates,
                data.items,
                data.pages,
                data.alerts,
                data.role_changes,
                data.problems,
                data.fetched_at,
            )
        return self.actions.entries(data, me=self._me_name())

    def _me_name(self) -> str:
        return self._me.name if self._me is not None else "you"

    def _render_timeline(self) -> None:
        view = self.query_one(TimelineView)
        entries = self._entries()
        if entries is None:
            view.empty_text = "Loading the timeline…"
            view.set_entries([])
            self.query_one("#checklist", Static).update("")
            return
        view.empty_text = "No timeline yet."
        view.set_entries(entries)
        self._render_checklist(entries)
        self._show_problems()

    def _render_checklist(self, entries) -> None:
        parts: list[Content] = [Content.styled("Checklist (c): ", "bold")]
        for state in checklist_state(entries):
            mark = "[x]" if state.done else "[ ]"
            style = "$success" if state.done else "$text-muted"
            if state.pending:
                style = "italic $warning"
            parts.append(Content.styled(f"{mark} {state.item.short}", style))
            parts.append(Content(" "))
        self.query_one("#checklist", Static).update(Content.assemble(*parts))

    def _show_problems(self) -> None:
        widget = self.query_one("#problems", Static)
        lines = []
        if self._list_error:
            lines.append(f"Incident list: {self._list_error}")
        if self._timeline_error:
            lines.append(f"Timeline {self._timeline_error}")
        data = self._data.get(self._selected or "")
        if data is not None:
            lines += list(data.problems)
        if self._offline_since is not None:
            lines.append(
                "incident.io cannot be reached: this is the incident list kept on this "
                f"machine ({timefmt.format_clock(self._offline_since, self._zone())}). Notes "
                "you type are kept and sent when it answers."
            )
        outbox = self.actions.outbox
        if outbox is None:
            lines.append(
                f"Notes are off: the outbox file could not be opened (see the log: {log_path()})."
            )
        elif self._selected is not None:
            for refused in self.actions.refused(self._selected)[:3]:
                behind = [h for h, b in outbox.held(self._selected) if b.key == refused.key]
                words = f"Refused: “{refused.payload.get('title') or refused.kind}”: "
                words += clean_text(refused.last_error, limit=160) + ". R resends it, K skips it"
                if behind:
                    words += f"; {len(behind)} note(s) after it are held until then"
                lines.append(words + ".")
        widget.update(Content("\n").join(plain_content(line) for line in lines))
        widget.set_class(not lines, "-empty")

    def outbox_changed(self, *, fetch: bool = False) -> None:
        """A note was queued or delivered: redraw now, and fetch so the server's copy
        replaces the local one."""
        if not self.is_mounted:
            return
        self._render_timeline()
        self._show_problems()
        if fetch and self._selected is not None:
            self._load_timeline(self._selected)

    def _check_note_target(self) -> None:
        """Say in the box when its incident has left the list or closed: the note still
        goes there."""
        if not self.is_mounted:
            return
        note = self.query_one(NoteInput)
        if note.target_id is None:
            return
        incident = self._incidents.get(note.target_id)
        ref = note.target_ref
        if incident is None:
            note.warn(
                f"{ref} has left the incident list (closed or merged?). Enter still "
                f"sends this note to {ref}; Esc keeps it as a draft."
            )
        elif incident.status.category not in ("triage", "live", "paused"):
            note.warn(f"{ref} is now {incident.status.name}. Enter still sends this note to it.")

    def _zone(self):
        return timefmt.UTC_ZONE if self.query_one(TimelineView).show_utc else self.zone
