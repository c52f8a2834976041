"""The incident screen: open incidents, one incident's live timeline, and a note one key away.

The list shows triage and live incidents first, then post-incident ones, with severity,
status, lead, age and my role. The selected incident's timeline merges what incident.io
knows with what is still in the outbox, and is polled every
``[incident_io.poll] timeline`` seconds while the screen is open (one worker group,
``exclusive``). ``n`` focuses the note box: type, Enter, done; the note shows at once,
marked pending, and is delivered from the outbox.

Every string from the API is drawn through :mod:`oncall_tui.ui.text` (never as markup).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Header, Static, TextArea

from oncall_tui.core import timefmt, views
from oncall_tui.core.actions import ActionError
from oncall_tui.core.incidents import (
    CHECKLIST,
    Lookups,
    NotSaved,
    Queued,
    TimelineData,
    checklist_state,
    severity_guidance,
    slack_url,
    sort_incidents,
)
from oncall_tui.core.session import Session
from oncall_tui.core.sources import FEED_INCIDENTS
from oncall_tui.core.sync import utcnow
from oncall_tui.domain import Incident, Snapshot, User, index_people
from oncall_tui.logs import log_path
from oncall_tui.safety import clean_text, openable_url
from oncall_tui.ui import style as style_rules
from oncall_tui.ui.paste import INERT_ESC, restore_escapes
from oncall_tui.ui.screens.base import AppScreen
from oncall_tui.ui.screens.modals import ChooseScreen, ConfirmScreen, PromptScreen
from oncall_tui.ui.style import compact_duration
from oncall_tui.ui.text import clean, plain, plain_content
from oncall_tui.ui.widgets.key_footer import KeyFooter
from oncall_tui.ui.widgets.timeline_view import TimelineView

if TYPE_CHECKING:
    from oncall_tui.ui.app import OnCallApp

__all__ = [
    "BindingCommands",
    "IncidentsScreen",
    "NoteInput",
]

# Writes on this screen; the rest only read or open links.
WRITE_ACTIONS = frozenset(
    {
        "note",
        "status",
        "severity",
        "lead",
        "page",
        "checklist",
        "close_incident",
        "declare",
        "resend",
        "skip",
    }
)
NEEDS_INCIDENT = WRITE_ACTIONS - {"declare"} | {"export", "open_call", "open_slack"}
SETTLE_SECONDS = 8.0  # how long a status change waits for the API before "saved, pending"


# --------------------------------------------------------------------- shared pieces


class BindingCommands(Provider):
    """The command palette lists every key of the active screen by its description."""

    def _commands(self) -> list[tuple[str, str, str]]:
        screen = self.screen
        seen: dict[str, tuple[str, str, str]] = {}
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or not binding.id or not active.enabled:
                continue
            if binding.action in seen or active.node is not screen:
                continue
            keys = self.app.get_key_display(Binding(key, ""))
            seen[binding.action] = (binding.description, binding.action, keys)
        return list(seen.values())

    async def discover(self) -> Hits:
        for description, action, keys in self._commands():
            yield DiscoveryHit(description, self._runner(action), help=f"key {keys}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for description, action, keys in self._commands():
            score = matcher.match(description)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(description), self._runner(action), help=f"key {keys}"
                )

    def _runner(self, action: str) -> Callable[[], Any]:
        screen = self.screen

        async def run() -> None:
            await screen.run_action(action)

        return run


# --------------------------------------------------------------------- note input


class NoteInput(TextArea):
    """The note box. It belongs to one incident from the moment it opens (its title
    names it) and keeps that target whatever the list does.

    Enter sends; Ctrl+J (or Shift/Alt+Enter where the terminal tells them apart) starts a
    new line; Ctrl+O edits the note in ``$EDITOR``. A paste is inserted as text: carriage
    returns become new lines and never send, escape sequences show as inert ``␛`` and are
    removed when sent. What is typed is saved as a draft as it is typed (and on Esc, on
    leaving the screen, on quitting), and comes back when the box opens again.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Leave the note box", show=False, id="note.leave"),
        Binding("ctrl+o", "editor", "Edit in $EDITOR", show=False, id="note.editor"),
        Binding("ctrl+j", "newline", "New line in the note", show=False, id="note.newline"),
    ]

    DRAFT_DELAY = 0.4  # seconds of quiet before a draft is saved

    class Submitted(Message):
        def __init__(self, note: NoteInput, text: str) -> None:
            super().__init__()
            self.note = note
            self.text = text

    class Left(Message):
        pass

    def __init__(self, save: Callable[[str, str, str], str] | None = None, **kwargs) -> None:
        super().__init__("", soft_wrap=True, show_line_numbers=False, **kwargs)
        self.placeholder = (
            "n: type a note · Enter sends · Ctrl+J new line · Ctrl+O $EDITOR · Esc leaves"
        )
        self.target_id: str | None = None
        self.target_ref = ""
        self._save = save
        self._saved = ""
        self._draft_timer: Any = None
        self._loading = False

    # -- the target ------------------------------------------------------------

    def open_for(self, incident_id: str, reference: str, name: str, draft: str) -> None:
        """Point the box at an incident (saving the draft of the one before)."""
        if self.target_id != incident_id:
            self.save_draft()
            self.target_id = incident_id
            self.target_ref = reference
            self._loading = True
            self.load_text(draft)
            self._loading = False
            self._saved = draft
            self.move_cursor(self.document.end)
        self.border_title = f"Note for {reference} · {clean_text(name, limit=60)}"
        self.border_subtitle = "draft restored" if draft else ""

    def warn(self, words: str) -> None:
        self.border_subtitle = clean_text(words, limit=200)

    # -- drafts ----------------------------------------------------------------

    def on_text_area_changed(self, _event: TextArea.Changed) -> None:
        if self._loading or self.target_id is None:
            return
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(self.DRAFT_DELAY, self.save_draft)

    def save_draft(self) -> None:
        """Save what is in the box as the target's draft, now (if it changed)."""
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        if self.target_id is None or self._save is None or self.text == self._saved:
            return
        problem = self._save(self.target_id, self.target_ref, self.text)
        if problem:
            self.warn(problem)
        else:
            self._saved = self.text

    def sent(self) -> None:
        """The note is in the outbox: empty the box (its draft is gone with it)."""
        self._loading = True
        self.clear()
        self._loading = False
        self._saved = ""
        self.border_subtitle = ""

    def _on_blur(self, event) -> None:
        self.save_draft()

    def on_unmount(self) -> None:
        self.save_draft()

    # -- keys and paste ----------------------------------------------------------

    async def _on_key(self, event) -> None:
        if event.key == "enter":
            event.prevent_default()
            event.stop()
            self.save_draft()
            self.post_message(self.Submitted(self, self.text))
            return
        if event.key in ("ctrl+j", "shift+enter", "alt+enter"):
            event.prevent_default()
            event.stop()
            self.insert("\n")
        # Anything else: TextArea's own handler runs next (Textual dispatches along the MRO).

    async def _on_paste(self, event: events.Paste) -> None:
        """Insert the paste as text: line breaks are new lines, never Enter."""
        event.prevent_default()
        event.stop()
        text = event.text.replace("\r\n", "\n").replace("\r", "\n")
        inert = text.count(INERT_ESC)
        if self.read_only:
            return
        if result := self._replace_via_keyboard(text, *self.selection):
            self.move_cursor(result.end_location)
        self.focus()
        if inert:
            self.warn(
                f"pasted {inert} escape sequence(s), shown as ␛: they are removed when "
                "the note is sent; the rest is sent as pasted"
            )

    def action_newline(self) -> None:
        self.insert("\n")

    def action_leave(self) -> None:
        self.save_draft()
        self.post_message(self.Left())

    async def action_editor(self) -> None:
        """Edit the note in ``$VISUAL``/``$EDITOR`` (as srepd does); the box gets the
        result back, ready to send with Enter."""
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        fd, name = tempfile.mkstemp(prefix="oncall-tui-note-", suffix=".md")
        path = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(self.text)
            try:
                with self.app.suspend():
                    done = subprocess.run([*shlex.split(editor), str(path)], check=False)
            except Exception as exc:  # no terminal to hand over (e.g. a web session)
                self.warn(f"cannot open {editor}: {clean_text(str(exc), limit=120)}")
                return
            if done.returncode != 0:
                self.warn(f"{editor} exited with status {done.returncode}: the box is unchanged")
                return
            text = path.read_text(encoding="utf-8", errors="replace").rstrip("\n")
        except OSError as exc:
            self.warn(f"cannot use a temporary file for {editor}: {exc.strerror or exc}")
            return
        finally:
            path.unlink(missing_ok=True)
        self.load_text(text)
        self.move_cursor(self.document.end)
        self.focus()
        self.warn(f"edited in {editor}: Enter sends")


# ------------------------------------------------------------------------ screen


def _age(created: datetime, now: datetime) -> str:
    return compact_duration((now - created).total_seconds())


_CATEGORY_WORDS = {"live": "active", "learning": "post-incident"}


class IncidentsScreen(AppScreen):
    TITLE = "Incidents"
    COMMANDS: ClassVar[set] = {BindingCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "note", "Note", id="incident.note"),
        Binding("s", "status", "Status", id="incident.status"),
        Binding("v", "severity", "Severity", id="incident.severity"),
        Binding("L", "lead", "Hand over lead", id="incident.lead"),
        Binding("p", "page", "Page in", id="incident.page"),
        Binding("c", "checklist", "Checklist", id="incident.checklist"),
        Binding("R", "resend", "Resend refused", id="incident.resend"),
        Binding("K", "skip", "Skip refused", show=False, id="incident.skip"),
        Binding("X", "close_incident", "Close", id="incident.close"),
        Binding("E", "export", "Export", id="incident.export"),
        Binding("o", "open_call", "Call", id="incident.call"),
        Binding("l", "open_slack", "Slack", id="incident.slack"),
        Binding("D", "declare", "Declare", id="declare"),
        Binding("t", "focus_timeline", "Timeline", show=False, id="incident.timeline"),
        Binding("U", "toggle_utc", "UTC times", show=False, id="incident.utc"),
        Binding("r", "refresh", "Refresh", show=False, id="incident.refresh"),
        Binding("escape", "back", "Back", id="incident.back"),
    ]

    DEFAULT_CSS = """
    IncidentsScreen #incidents { height: auto; max-height: 9; }
    IncidentsScreen #incident-head {
        height: auto; max-height: 9; padding: 0 1; background: $boost;
    }
    IncidentsScreen #summary { height: auto; max-height: 3; padding: 0 1; background: $boost; }
    IncidentsScreen #summary.-empty { display: none; }
    IncidentsScreen.short #summary { display: none; }
    IncidentsScreen.short #incidents { max-height: 5; }
    IncidentsScreen #links { height: auto; padding: 0 1; background: $boost; }
    IncidentsScreen #links.-empty { display: none; }
    IncidentsScreen #checklist { height: auto; padding: 0 1; }
    IncidentsScreen #problems { height: auto; padding: 0 1; color: $warning; }
    IncidentsScreen #problems.-empty { display: none; }
    IncidentsScreen TimelineView { height: 1fr; min-height: 4; }
    IncidentsScreen NoteInput { height: auto; min-height: 4; max-height: 10; }
    """

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
        yield Header(show_clock=True, icon="☎")
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

    # -- key availability ------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in NEEDS_INCIDENT and self.is_mounted and self.incident is None:
            return None
        if action == "open_call" and self.incident is not None and not self.incident.call_url:
            return None
        if action == "open_slack" and self.incident is not None and not slack_url(self.incident):
            return None
        return True

    # -- running actions ----------------------------------------------------------------

    def _need(self) -> Incident | None:
        incident = self.incident
        if incident is None:
            self.fail("Choose an incident first.")
        return incident

    def _guard_write(self, action: str) -> bool:
        try:
            self.actions.check_write(action)
        except ActionError as exc:
            self.fail(str(exc))
            return False
        return True

    @work(group="incident-action", exit_on_error=False)
    async def _run(self, factory: Callable[[], Any]) -> None:
        await self.perform(factory)
        self.outbox_changed(fetch=True)
        self._refresh_list()

    def _queue(self, make: Callable[[], Queued]) -> Queued | None:
        try:
            queued = make()
        except ActionError as exc:
            self.fail(str(exc))
            return None
        self.outbox_changed()
        return queued

    # -- note -------------------------------------------------------------------------

    def action_note(self) -> None:
        incident = self._need()
        if incident is None or not self._guard_write("note"):
            return
        note = self.query_one(NoteInput)
        note.open_for(
            incident.id, incident.reference, incident.name, self.actions.draft(incident.id)
        )
        self._check_note_target()
        note.focus()

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

    @on(NoteInput.Submitted)
    def _note_submitted(self, event: NoteInput.Submitted) -> None:
        note = event.note
        if note.target_id is None:  # typed into before n was pressed
            incident = self._need()
            if incident is None:
                return
            note.open_for(incident.id, incident.reference, incident.name, event.text)
        target, ref = note.target_id, note.target_ref
        assert target is not None
        text = restore_escapes(event.text)
        try:
            queued = self.actions.note_to(target, ref, text)
        except NotSaved as exc:
            note.warn(f"{exc} Your note is still here: press Enter again once fixed.")
            self.fail(f"{exc} Your note is still in the box.")
            return
        except ActionError as exc:
            self.fail(str(exc))
            return
        self.outbox_changed()
        note.sent()
        if target != self._selected:
            self.say(queued.message)
        self.query_one(TimelineView).scroll_end(animate=False)

    # -- refused notes ------------------------------------------------------------------

    def action_resend(self) -> None:
        incident = self._need()
        if incident is None or not self._guard_write("outbox_retry"):
            return
        try:
            outcome = self.actions.resend(incident.id)
        except ActionError as exc:
            self.fail(str(exc))
            return
        self.say(outcome.message)
        self.outbox_changed()

    def action_skip(self) -> None:
        incident = self._need()
        if incident is None or not self._guard_write("outbox_skip"):
            return
        refused = self.actions.refused(incident.id)
        if not refused:
            self.fail("Nothing to skip: no note or update of this incident was refused.")
            return
        outcome = self.actions.skip(refused[0])
        self.say(outcome.message)
        self.outbox_changed()

    @on(NoteInput.Left)
    def _note_left(self) -> None:
        self.query_one("#incidents", DataTable).focus()

    # -- status and severity ------------------------------------------------------------

    async def _need_lookups(self) -> Lookups | None:
        if self._lookups is None:
            try:
                self._lookups = await self.actions.lookups()
            except ActionError as exc:
                self.fail(str(exc))
                return None
        return self._lookups

    @work(group="incident-dialog", exclusive=True, exit_on_error=False)
    async def action_status(self) -> None:
        incident = self._need()
        if incident is None or not self._guard_write("status"):
            return
        lookups = await self._need_lookups()
        if lookups is None:
            return
        options = [
            (
                s.id,
                s.name,
                _CATEGORY_WORDS.get(s.category, s.category)
                + (" (current)" if s.id == incident.status.id else ""),
            )
            for s in lookups.statuses
            if s.id != incident.status.id
        ]
        chosen = await self.app.push_screen_wait(
            ChooseScreen(f"Move {incident.reference} to which status?", options)
        )
        status = lookups.status(chosen) if chosen else None
        if status is None:
            return
        message = await self.app.push_screen_wait(
            PromptScreen(
                f"{incident.reference} → {status.name}: what changed, what happens next?",
                "e.g. Rolled back; error rate back to normal, watching for 30 minutes",
                multiline=True,
                max_length=20_000,
            )
        )
        if message is None:
            return
        queued = self._queue(lambda: self.actions.change(incident, status=status, message=message))
        if queued is not None:
            done = f"{incident.reference} is now {status.name}"
            self._run(lambda: self.actions.settle(queued, done, timeout=SETTLE_SECONDS))

    @work(group="incident-dialog", exclusive=True, exit_on_error=False)
    async def action_severity(self) -> None:
        incident = self._need()
        if incident is None or not self._guard_write("severity"):
            return
        lookups = await self._need_lookups()
        if lookups is None:
            return
        guidance = self.settings.ui.severity_guidance
        current = incident.severity.id if incident.severity else None
        options = [
            (
                s.id,
                s.name + (" (current)" if s.id == current else ""),
                severity_guidance(s, guidance),
            )
            for s in reversed(lookups.severities)
        ]
        chosen = await self.app.push_screen_wait(
            ChooseScreen(f"Severity of {incident.reference}?", options)
        )
        severity = lookups.severity(chosen) if chosen else None
        if severity is None or severity.id == current:
            return
        message = await self.app.push_screen_wait(
            PromptScreen(
                f"{incident.reference} → {severity.name}: why?",
                "e.g. Failure rate now 15% of EU card payments",
                multiline=True,
                max_length=20_000,
            )
        )
        if message is None:
            return
        queued = self._queue(
            lambda: self.actions.change(incident, severity=severity, message=message)
        )
        if queued is not None:
            done = f"{incident.reference} is now {severity.name}"
            self._run(lambda: self.actions.settle(queued, done, timeout=SETTLE_SECONDS))

    # -- people ------------------------------------------------------------------------

    async def _everyone(self) -> list[User]:
        if self._people is None:
            listed: tuple[User, ...] = ()
            try:
                listed = await self.actions.io.list_users(limit=500)
            except Exception as exc:  # the snapshot's people still work
                self.say(f"Could not list every user: {clean_text(str(exc), limit=200)}", "warning")
            snap = self.session.engine.snapshot()
            self._people = list(index_people(users=(*snap.people, *listed)))
        return self._people

    @work(group="incident-dialog", exclusive=True, exit_on_error=False)
    async def action_lead(self) -> None:
        incident = self._need()
        if incident is None or not self._guard_write("lead"):
            return
        lead = incident.lead
        people = [u for u in await self._everyone() if lead is None or u.id != lead.id]
        by_id = {u.id: u for u in people}
        chosen = await self.app.push_screen_wait(
            ChooseScreen(
                f"Hand the lead of {incident.reference} to…",
                [(u.id, u.name, u.email or "") for u in people],
            )
        )
        user = by_id.get(chosen or "")
        if user is None:
            return
        was = f" (from {lead.name})" if lead else ""
        ok = await self.app.push_screen_wait(
            ConfirmScreen(
                f"Make {clean(user.name)} the incident lead?",
                [f"{incident.reference}: {incident.name}", f"Lead: {user.name}{was}"],
                "Hand over",
            )
        )
        if ok:
            self._run(lambda: self.actions.hand_over(incident, user))

    @work(group="incident-dialog", exclusive=True, exit_on_error=False)
    async def action_page(self) -> None:
        incident = self._need()
        if incident is None or not self._guard_write("page"):
            return
        snap = self.session.engine.snapshot()
        paths = {p.id: p for p in snap.paths}
        people = {u.id: u for u in await self._everyone()}
        options = [
            (f"path:{p.id}", f"Path: {p.name}", views.path_summary(p)) for p in paths.values()
        ]
        options += [(f"user:{u.id}", u.name, u.email or "") for u in people.values()]
        chosen = await self.app.push_screen_wait(
            ChooseScreen(f"Page whom into {incident.reference}?", options)
        )
        if not chosen:
            return
        kind, _, ident = chosen.partition(":")
        path = paths.get(ident) if kind == "path" else None
        user = people.get(ident) if kind == "user" else None
        if path is None and user is None:
            return
        who = path.name if path else user.name  # type: ignore[union-attr]
        ok = await self.app.push_screen_wait(
            ConfirmScreen(
                f"Page {clean(who)} into {incident.reference}?",
                [
                    f"{incident.reference}: {incident.name}",
                    "They are paged now, at high urgency, and linked to this incident.",
                ],
                "Page",
                danger=True,
            )
        )
        if not ok:
            return
        if path is not None:
            self._run(lambda: self.actions.page_into(incident, path=path))
        else:
            self._run(
                lambda: self.actions.page_into(incident, user_ids=[user.id], names=user.name)  # type: ignore[union-attr]
            )

    # -- checklist ------------------------------------------------------------------------

    @work(group="incident-dialog", exclusive=True, exit_on_error=False)
    async def action_checklist(self) -> None:
        incident = self._need()
        if incident is None or not self._guard_write("checklist"):
            return
        entries = self._entries() or []
        states = {s.item.id: s for s in checklist_state(entries)}
        options = []
        for item in CHECKLIST:
            state = states[item.id]
            mark = "[x]" if state.done else "[ ]"
            detail = "not done: choose to tick"
            if state.done:
                who = f" by {state.by}" if state.by else ""
                when = f" at {timefmt.format_clock(state.at, self._zone())}" if state.at else ""
                detail = f"done{who}{when}: choose to untick"
            options.append((item.id, f"{mark} {item.label}", detail))
        chosen = await self.app.push_screen_wait(
            ChooseScreen(f"Lead checklist for {incident.reference}", options)
        )
        if not chosen or chosen not in states:
            return
        done = not states[chosen].done
        self._queue(lambda: self.actions.tick(incident, chosen, done))  # shown pending at once

    # -- close -------------------------------------------------------------------------

    @work(group="incident-dialog", exclusive=True, exit_on_error=False)
    async def action_close_incident(self) -> None:
        incident = self._need()
        if incident is None or not self._guard_write("close"):
            return
        lookups = await self._need_lookups()
        if lookups is None:
            return
        target = lookups.close_status(incident)
        if target is None:
            self.fail("This account has no post-incident or closed status to move to.")
            return
        cause = await self.app.push_screen_wait(
            PromptScreen(
                f"Close {incident.reference}: what was the root cause?",
                "e.g. A config change disabled one card network",
                multiline=True,
                max_length=20_000,
            )
        )
        if cause is None:
            return
        fix = await self.app.push_screen_wait(
            PromptScreen(
                f"Close {incident.reference}: what fix is in place?",
                "e.g. Rolled back to v2024.11.2; a check now blocks such configs",
                multiline=True,
                max_length=20_000,
            )
        )
        if fix is None:
            return
        ok = await self.app.push_screen_wait(
            ConfirmScreen(
                f"Close {incident.reference}?",
                [
                    f"Moves it from {incident.status.name} to {target.name}.",
                    f"Root cause: {clean(cause, limit=200)}",
                    f"Fix in place: {clean(fix, limit=200)}",
                ],
                f"Move to {target.name}",
            )
        )
        if ok:
            self._run(lambda: self.actions.close(incident, cause, fix, timeout=SETTLE_SECONDS))

    # -- export ------------------------------------------------------------------------

    @work(group="incident-dialog", exclusive=True, exit_on_error=False)
    async def action_export(self) -> None:
        incident = self._need()
        if incident is None:
            return
        stamp = utcnow().strftime("%Y%m%d-%H%M")
        default = Path.cwd() / f"{incident.reference}-timeline-{stamp}.md"
        path_text = await self.app.push_screen_wait(
            PromptScreen(
                f"Write the timeline of {incident.reference} as markdown to:",
                initial=str(default),
                max_length=4096,
            )
        )
        if not path_text:
            return
        try:
            data = await self.actions.load_timeline(incident)
        except ActionError as exc:
            cached = self._data.get(incident.id)
            if cached is None:
                self.fail(f"Cannot export: {exc}")
                return
            data = cached
            self.say(f"Exporting what was last known: {exc}", "warning")
        text = self.actions.markdown(data, tz=self._zone())
        path = Path(path_text).expanduser()
        try:
            await asyncio.to_thread(path.write_text, text, "utf-8")
        except OSError as exc:
            self.fail(f"Cannot write {path}: {exc.strerror or exc}")
            return
        self.say(f"Wrote the timeline of {incident.reference} to {path}")

    # -- links -------------------------------------------------------------------------

    def _open(self, url: str | None, what: str) -> None:
        safe, problem = openable_url(url)
        if safe is None:
            self.fail(f"No {what} link to open" + (f" ({problem})." if url else "."))
            return
        cast("OnCallApp", self.app).open_url(safe, what=what)  # never blocks; says what happened

    def action_open_call(self) -> None:
        incident = self._need()
        if incident is not None:
            self._open(incident.call_url, "call")

    def action_open_slack(self) -> None:
        incident = self._need()
        if incident is not None:
            self._open(slack_url(incident), "Slack channel")

    # -- the rest --------------------------------------------------------------------------

    def _zone(self):
        return timefmt.UTC_ZONE if self.query_one(TimelineView).show_utc else self.zone

    def action_declare(self) -> None:
        self.oncall.open_declare()

    def action_focus_timeline(self) -> None:
        self.query_one(TimelineView).focus()

    def action_toggle_utc(self) -> None:
        view = self.query_one(TimelineView)
        view.show_utc = not view.show_utc
        self.say("Times in UTC." if view.show_utc else f"Times in {timefmt.zone_name(self.zone)}.")

    def action_refresh(self) -> None:
        self._refresh_list()
        if self._selected:
            self._load_timeline(self._selected)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
