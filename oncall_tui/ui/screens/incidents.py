"""The incident screen: open incidents, one incident's live timeline, and a note one key away.

The list shows triage and live incidents first, then post-incident ones, with severity,
status, lead, age and my role. The selected incident's timeline merges what incident.io
knows with what is still in the outbox, and is polled every
``[incident_io.poll] timeline`` seconds while the screen is open (one worker group,
``exclusive``). ``n`` focuses the note box: type, Enter, done; the note shows at once,
marked pending, and is delivered from the outbox.

Every string from the API is drawn through :mod:`oncall_tui.ui.text` (never as markup).

What is shown lives in :mod:`oncall_tui.ui.screens.incident_view`; the note box is
:mod:`oncall_tui.ui.widgets.note_input`; this module holds the keys and their actions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on, work
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from oncall_tui.core import guard, timefmt, views
from oncall_tui.core.actions import ActionError
from oncall_tui.core.incidents import (
    CHECKLIST,
    Lookups,
    NotSaved,
    Queued,
    checklist_state,
    severity_guidance,
    slack_url,
)
from oncall_tui.core.sync import utcnow
from oncall_tui.domain import Incident, User, index_people
from oncall_tui.safety import clean_text, openable_url
from oncall_tui.ui.paste import restore_escapes
from oncall_tui.ui.screens.modals import ChooseScreen, ConfirmScreen, PromptScreen
from oncall_tui.ui.text import clean
from oncall_tui.ui.widgets.timeline_view import TimelineView

if TYPE_CHECKING:
    from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.screens.commands import BindingCommands as BindingCommands
from oncall_tui.ui.screens.incident_view import _CATEGORY_WORDS
from oncall_tui.ui.screens.incident_view import IncidentsView as IncidentsView
from oncall_tui.ui.screens.incident_view import _age as _age
from oncall_tui.ui.widgets.note_input import NoteInput as NoteInput

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
# The guard's name (core.guard.ACTS) of each write key here.
GUARDED = {
    "note": "note",
    "status": "status",
    "severity": "severity",
    "lead": "lead",
    "page": "page",
    "checklist": "checklist",
    "close_incident": "close",
    "declare": "declare",
    "resend": "outbox_retry",
    "skip": "outbox_skip",
}
SETTLE_SECONDS = 8.0  # how long a status change waits for the API before "saved, pending"


class IncidentsScreen(IncidentsView):
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

    # -- key availability ------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if self.unavailable_reason(action) else True

    def unavailable_reason(self, action: str) -> str | None:
        """Why a key is dimmed: the guard's reason for a write (read-only, no such
        capability…), else what the selected incident lacks."""
        if action in GUARDED:
            refused = guard.why_not(
                GUARDED[action], readonly=self.actions.readonly, backends=self.actions.backends
            )
            if refused is not None:
                return str(refused)
        if action in NEEDS_INCIDENT and self.is_mounted and self.incident is None:
            return "Choose an incident first."
        if action == "open_call" and self.incident is not None and not self.incident.call_url:
            return f"{self.incident.reference} has no call link."
        if action == "open_slack" and self.incident is not None and not slack_url(self.incident):
            return f"{self.incident.reference} has no Slack channel."
        return None

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
