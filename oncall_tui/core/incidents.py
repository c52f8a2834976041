"""Incidents: declare, take notes, change status and severity, hand over, page in, close.

Textual-free; the incident screen, the declare form and the command line all call
:class:`IncidentActions`.

Writes that carry what a person typed (notes, status and severity updates, checklist
ticks, the closing update) never go straight to the network: they are committed to the
durable :class:`~oncall_tui.core.outbox.Outbox` first, with an idempotency key fixed at
that moment, and delivered from there (:meth:`IncidentActions.send`, with
:meth:`IncidentActions.reroute` as the fallback when an endpoint is missing on the
account). A note typed while incident.io is down is shown at once, marked pending, and
goes out, once and in order, when the API is back.

Declaring uses an idempotency key too, kept by the caller (the form, ``--key``) until
the incident exists, so a retry never opens a second incident.

By job: what the actions work with is in :mod:`oncall_tui.core.incident_model`, reading in
:mod:`oncall_tui.core.incident_reading`, notes, updates and their delivery in
:mod:`oncall_tui.core.incident_notes`; this module adds declaring, hand-over, paging in and
closing, and re-exports every name.
"""

from __future__ import annotations

from collections.abc import Sequence

from oncall_tui.backends.http import ApiError
from oncall_tui.core import guard
from oncall_tui.core.actions import ActionError, Outcome, new_key
from oncall_tui.core.incident_model import CATEGORY_ORDER as CATEGORY_ORDER
from oncall_tui.core.incident_model import CHECK_DONE as CHECK_DONE
from oncall_tui.core.incident_model import CHECK_UNDONE as CHECK_UNDONE
from oncall_tui.core.incident_model import CHECKLIST as CHECKLIST
from oncall_tui.core.incident_model import DEMO_OUTBOX_FILE as DEMO_OUTBOX_FILE
from oncall_tui.core.incident_model import MAX_LINKED_ALERTS as MAX_LINKED_ALERTS
from oncall_tui.core.incident_model import MAX_NOTE_CHARS as MAX_NOTE_CHARS
from oncall_tui.core.incident_model import MAX_PAGES as MAX_PAGES
from oncall_tui.core.incident_model import MAX_SUMMARY_CHARS as MAX_SUMMARY_CHARS
from oncall_tui.core.incident_model import NAME_LIMIT as NAME_LIMIT
from oncall_tui.core.incident_model import OUTBOX_FILE as OUTBOX_FILE
from oncall_tui.core.incident_model import REF_TARGET as REF_TARGET
from oncall_tui.core.incident_model import SIGNATURE as SIGNATURE
from oncall_tui.core.incident_model import STATE_HELD as STATE_HELD
from oncall_tui.core.incident_model import TITLE_LIMIT as TITLE_LIMIT
from oncall_tui.core.incident_model import TOOL as TOOL
from oncall_tui.core.incident_model import ChecklistItem as ChecklistItem
from oncall_tui.core.incident_model import CheckState as CheckState
from oncall_tui.core.incident_model import Declared as Declared
from oncall_tui.core.incident_model import DeclareDraft as DeclareDraft
from oncall_tui.core.incident_model import Lookups as Lookups
from oncall_tui.core.incident_model import NotSaved as NotSaved
from oncall_tui.core.incident_model import Queued as Queued
from oncall_tui.core.incident_model import RoleWatcher as RoleWatcher
from oncall_tui.core.incident_model import TimelineData as TimelineData
from oncall_tui.core.incident_model import _who as _who
from oncall_tui.core.incident_model import checklist_state as checklist_state
from oncall_tui.core.incident_model import checklist_title as checklist_title
from oncall_tui.core.incident_model import draft_from_alert as draft_from_alert
from oncall_tui.core.incident_model import outbox_path as outbox_path
from oncall_tui.core.incident_model import severity_guidance as severity_guidance
from oncall_tui.core.incident_model import signature_of as signature_of
from oncall_tui.core.incident_model import signed as signed
from oncall_tui.core.incident_model import slack_url as slack_url
from oncall_tui.core.incident_model import sort_incidents as sort_incidents
from oncall_tui.core.incident_notes import IncidentWriter as IncidentWriter
from oncall_tui.core.incident_notes import _count as _count
from oncall_tui.core.incident_notes import _description as _description
from oncall_tui.core.incident_notes import _label as _label
from oncall_tui.core.incident_notes import _when as _when
from oncall_tui.core.incident_notes import delivery_words as delivery_words
from oncall_tui.core.incident_notes import item_summary as item_summary
from oncall_tui.core.incident_notes import rerouted_how as rerouted_how
from oncall_tui.core.incident_reading import IncidentReader as IncidentReader
from oncall_tui.core.incident_reading import _cached as _cached
from oncall_tui.core.incident_reading import _from_cache as _from_cache
from oncall_tui.core.sent import KIND_INCIDENT_PAGE, PARENT_INCIDENT
from oncall_tui.core.sources import FEED_INCIDENTS
from oncall_tui.domain import (
    EscalationPath,
    Incident,
    User,
)
from oncall_tui.safety import clean_text


class IncidentActions(IncidentWriter):
    """Every incident action, each saying in words what changed (or raising
    :class:`~oncall_tui.core.actions.ActionError` with why not and what to do)."""

    # -- declaring --------------------------------------------------------------------

    async def declare(self, draft: DeclareDraft) -> Declared:
        """Open an incident. Resubmitting the same draft (same key) never opens two."""
        self.check_write("declare")
        name = clean_text(draft.name, limit=NAME_LIMIT + 1).strip()
        if not name:
            raise guard.BadInput("Give the incident a name: what is broken, in a few words.")
        if len(name) > NAME_LIMIT:
            raise guard.BadInput(
                f"The name is too long ({len(draft.name)} characters, at most {NAME_LIMIT}); "
                "put the detail in the summary."
            )
        summary = clean_text(draft.summary, limit=MAX_SUMMARY_CHARS + 1, multiline=True).strip()
        if len(summary) > MAX_SUMMARY_CHARS:
            raise guard.BadInput(
                f"The summary is too long (at most {MAX_SUMMARY_CHARS} characters); "
                "add the rest as notes."
            )
        lookups = await self.lookups()
        severity = lookups.severity(draft.severity_id) if draft.severity_id else None
        if severity is None:
            names = ", ".join(s.name for s in lookups.severities) or "none defined"
            if draft.severity_id:
                given = clean_text(draft.severity_id, limit=60)
                raise guard.BadInput(f"No severity {given!r}: choose one of {names}.")
            raise guard.BadInput(f"Choose a severity ({names}).")
        itype = lookups.incident_type(draft.type_id) if draft.type_id else None
        if draft.type_id and itype is None:
            names = ", ".join(t.name for t in lookups.types) or "none defined"
            raise guard.BadInput(
                f"No incident type {clean_text(draft.type_id, limit=60)!r}: choose one of {names}."
            )
        try:
            lead = await self.me(strict=True) if draft.me_as_lead else None
        except ActionError as exc:
            raise ActionError(
                f"Not declared: {exc}. Try again: the same request key is used, so "
                "incident.io will not open it twice."
            ) from None
        if draft.me_as_lead and lead is None:
            raise ActionError(
                "Cannot make you the lead: your incident.io user is not known "
                "(set [user] email in the config). Untick “me as lead” to declare anyway."
            )
        try:
            incident = await self.io.create_incident(
                name,
                severity_id=severity.id,
                summary=summary or None,
                visibility="private" if draft.private else "public",
                incident_type_id=itype.id if itype else None,
                lead_user_id=lead.id if lead else None,
                idempotency_key=draft.key,
            )
        except ApiError as exc:
            raise ActionError(
                f"Not declared: {exc}. Try again: the same request key is used, so "
                "incident.io will not open it twice."
            ) from None
        if self.engine is not None:
            self.engine.poll_soon(FEED_INCIDENTS)
        parts = [f"Declared {incident.reference} “{incident.name}” as {severity.name}"]
        if incident.lead is not None:
            parts.append(
                f"{_who(incident.lead)} leads it"
                if not lead or incident.lead.id != lead.id
                else "you lead it"
            )
        if incident.slack_channel_name:
            parts.append(f"Slack #{incident.slack_channel_name}")
        return Declared(incident, "; ".join(parts) + ".")

    # -- people, roles, pages ------------------------------------------------------------

    async def hand_over(self, incident: Incident, user: User) -> Outcome:
        """Make ``user`` the incident lead."""
        self.check_write("lead")
        lookups = await self.lookups()
        lead = lookups.lead_role
        if lead is None:
            raise ActionError("This incident.io account has no incident lead role.")
        current = incident.lead
        if current is not None and current.id == user.id:
            raise ActionError(f"{_who(user)} already leads {incident.reference}.")
        try:
            await self.io.edit_incident(incident.id, role_assignments={lead.id: user.id})
        except ApiError as exc:
            raise ActionError(f"Hand-over failed: {exc}") from None
        if self.engine is not None:
            self.engine.poll_soon(FEED_INCIDENTS)
        was = f" (was {_who(current)})" if current is not None else ""
        return Outcome(f"{_who(user)} now leads {incident.reference}{was}.")

    async def page_into(
        self,
        incident: Incident,
        *,
        user_ids: Sequence[str] = (),
        path: EscalationPath | None = None,
        names: str = "",
    ) -> Outcome:
        """Page people (or an escalation path) into the incident."""
        self.check_write("page")
        if bool(path) == bool(user_ids):
            raise ActionError("Choose one escalation path or some people to page.")
        me = await self.me()
        who_asks = _who(me) if me else "the incident lead"
        try:
            created = await self.io.create_escalation(
                f"{incident.reference}: {incident.name}"[:250],
                path_id=path.id if path else None,
                user_ids=list(user_ids) or None,
                description=(
                    f"{who_asks} asks you to join {incident.reference} ({TOOL})."
                    + (f" Call: {incident.call_url}" if incident.call_url else "")
                ),
                incident_id=incident.id,
                idempotency_key=new_key("page"),
            )
        except ApiError as exc:
            raise ActionError(f"Paging failed: {exc}") from None
        if self.sent is not None:
            self.sent.record(created.id, PARENT_INCIDENT + incident.id, KIND_INCIDENT_PAGE)
        target = path.name if path else (names or f"{len(user_ids)} people")
        return Outcome(f"Paged {target} into {incident.reference}.")

    async def close(
        self, incident: Incident, root_cause: str, fix: str, *, timeout: float = 15.0
    ) -> Outcome:
        """Post the root cause and the fix as the closing update and move the status on
        (post-incident if the account has it, else closed)."""
        self.check_write("close")
        cause = clean_text(root_cause, limit=MAX_NOTE_CHARS, multiline=True).strip()
        remedy = clean_text(fix, limit=MAX_NOTE_CHARS, multiline=True).strip()
        if not cause or not remedy:
            raise ActionError(
                "An incident ends when the root cause is known and a fix is in place: give both."
            )
        if incident.status.category in ("closed", "declined", "canceled", "merged"):
            raise ActionError(f"{incident.reference} is already {incident.status.name}.")
        target = (await self.lookups()).close_status(incident)
        if target is None:
            raise ActionError("This account has no post-incident or closed status to move to.")
        message = f"Root cause: {cause}\n\nFix in place: {remedy}"
        queued = self.change(incident, status=target, message=message)
        return await self.settle(
            queued,
            f"{incident.reference} moved to {target.name}; root cause and fix posted",
            timeout=timeout,
        )
