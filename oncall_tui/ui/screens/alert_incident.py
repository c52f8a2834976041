"""The dashboard's alert ↔ incident keys: the incident shown in the detail, ``enter`` to
open it, and ``D`` offering a note to it before a new incident.

:class:`IncidentKeys` belongs to the dashboard screen. What links a row to an incident is
the core's rule (:mod:`oncall_tui.core.alert_incident`); the incidents come from the
engine's snapshot, and incident.io is asked only which incident has an alert (once a
minute per alert, for the row shown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from oncall_tui.core import views
from oncall_tui.core.actions import ActionError
from oncall_tui.core.alert_incident import (
    DECLARE_NEW,
    LINKED,
    LOADING,
    NOT_PART,
    NOTE_PREFIX,
    UNKNOWN,
    IncidentLinks,
    LinkedIncident,
    RowIncidents,
    declare_choices,
    note_from,
)
from oncall_tui.core.incidents import NotSaved
from oncall_tui.core.sync import utcnow
from oncall_tui.domain import Alert, Incident, Page
from oncall_tui.safety import clean_text
from oncall_tui.ui.screens.modals import ChooseScreen, PromptScreen

if TYPE_CHECKING:
    from oncall_tui.ui.screens.dashboard import DashboardScreen

__all__ = ["IncidentKeys"]


class IncidentKeys:
    """Which incident the shown row belongs to, and the keys that use it."""

    def __init__(self, screen: DashboardScreen) -> None:
        self.screen = screen
        session = screen.session
        self.links = IncidentLinks(session.backends.incidentio, session.clock)
        self._incidents_source: tuple[Incident, ...] | None = None
        self._incidents: dict[str, Incident] = {}
        self._asking: set[str] = set()

    # -- what the row belongs to ------------------------------------------------------

    def _held(self) -> dict[str, Incident]:
        """The engine's incidents by id (built once per snapshot tuple)."""
        incidents = self.screen._snapshot.incidents
        if incidents is not self._incidents_source:
            self._incidents = {i.id: i for i in incidents}
            self._incidents_source = incidents
        return self._incidents

    def _parts(self, row: views.AlertRow) -> tuple[list[Page], list[Alert]]:
        items = self.screen._items(row)
        return (
            [i for i in items if isinstance(i, Page)],
            [i for i in items if isinstance(i, Alert)],
        )

    def view(self, row: views.AlertRow | None) -> RowIncidents | None:
        """What the detail shows for ``row`` now; asks incident.io in the background
        when it does not know yet (the detail is drawn again when it answers)."""
        if row is None:
            return None
        pages, alerts = self._parts(row)
        view = self.links.view(pages, alerts, self._held())
        due = view.state == LOADING or bool(self.links.incidents_due(view))
        if due and row.key not in self._asking:
            self._asking.add(row.key)
            self.screen.run_worker(
                self._ask(row, pages, alerts), group="incident-link", exit_on_error=False
            )
        return view

    async def _ask(self, row: views.AlertRow, pages: list[Page], alerts: list[Alert]) -> None:
        try:
            await self.links.look_up(pages, alerts, self._held())
        finally:
            self._asking.discard(row.key)
        shown = self.screen._current()
        if shown is not None and shown.key == row.key:
            self.screen._show_detail(row.key)

    async def _resolve(self, row: views.AlertRow) -> RowIncidents:
        pages, alerts = self._parts(row)
        return await self.links.look_up(pages, alerts, self._held())

    # -- enter --------------------------------------------------------------------------

    def open(self, row: views.AlertRow | None) -> None:
        """``enter``: open the incident the row belongs to (a choice when several)."""
        if row is None:
            self.screen.fail("Nothing selected.")
            return
        self.screen.run_worker(self._open(row), group="incident-open", exit_on_error=False)

    async def _open(self, row: views.AlertRow) -> None:
        view = await self._resolve(row)
        title = clean_text(row.title, limit=80)
        if view.state == UNKNOWN:
            self.screen.fail(f"“{title}”: {view.reason}.")
            return
        if view.state != LINKED:
            self.screen.say(f"“{title}” is {NOT_PART}: nothing to open.")
            return
        if len(view.incidents) == 1:
            self._open_incident(view.incidents[0])
            return
        options = [(i.id, i.label, i.status) for i in view.incidents]

        def chosen(choice: str | None) -> None:
            for linked in view.incidents:
                if linked.id == choice:
                    self._open_incident(linked)

        self.screen.app.push_screen(ChooseScreen(f"“{title}” is part of…", options), chosen)

    def _open_incident(self, linked: LinkedIncident) -> None:
        if linked.incident is None:
            ref = linked.reference or "its incident"
            self.screen.fail(f"{ref} could not be read from incident.io; try again in a minute.")
            return
        self.screen.oncall.open_incidents(select=linked.incident)

    # -- D --------------------------------------------------------------------------------

    def declare(self, row: views.AlertRow | None, alert: Alert | None, page: Page | None) -> None:
        """``D``: on a row that is part of an incident, offer a note to it first."""
        if row is None:
            self.screen.oncall.open_declare(alert=alert, page=page)
            return
        self.screen.run_worker(
            self._declare(row, alert, page), group="incident-declare", exit_on_error=False
        )

    async def _declare(self, row: views.AlertRow, alert: Alert | None, page: Page | None) -> None:
        view = await self._resolve(row)
        if view.state == UNKNOWN:
            self.screen.fail(f"Could not tell whether it is part of an incident: {view.reason}.")
        if view.state != LINKED:
            self.screen.oncall.open_declare(alert=alert, page=page)
            return
        first = view.incidents[0]
        title = clean_text(row.title, limit=80)

        def chosen(choice: str | None) -> None:
            if choice == DECLARE_NEW:
                self.screen.oncall.open_declare(alert=alert, page=page)
            elif choice and choice.startswith(NOTE_PREFIX):
                target = next(i for i in view.incidents if i.id == choice[len(NOTE_PREFIX) :])
                self._ask_note(target, note_from(alert, page, utcnow()))

        self.screen.app.push_screen(
            ChooseScreen(
                f"“{title}” is part of {first.reference or 'an incident'}",
                declare_choices(view),
            ),
            chosen,
        )

    def _ask_note(self, target: LinkedIncident, text: str, problem: str = "") -> None:
        ref = target.reference or "the incident"
        heading = f"Note for {ref} {clean_text(target.name, limit=60)}".strip()
        if problem:
            heading += f" — not saved: {problem}"

        def written(note: str | None) -> None:
            if note:
                self._save_note(target, note)

        self.screen.app.push_screen(PromptScreen(heading, multiline=True, initial=text), written)

    def _save_note(self, target: LinkedIncident, text: str) -> None:
        """Through the incident screen's note path: the outbox first, then incident.io."""
        ref = target.reference or target.id
        try:
            queued = self.screen.session.incidents.note_to(target.id, ref, text)
        except NotSaved as exc:
            self.screen.fail(f"{exc} Your note is still in the box.")
            self._ask_note(target, text, str(exc))
            return
        except ActionError as exc:
            self.screen.fail(str(exc))
            return
        self.screen.say(queued.message)
