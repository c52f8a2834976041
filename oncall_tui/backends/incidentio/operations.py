"""incident.io operations: every endpoint the client calls, the role it needs, page sizes."""

from __future__ import annotations

from dataclasses import dataclass

from oncall_tui.backends.incidentio.capabilities import (
    CAP_INCIDENT_UPDATES_CREATE,
    CAP_REASSIGN,
    CAP_RESPOND,
    CAP_TIMELINE_ITEMS,
)
from oncall_tui.domain import (
    SOURCE_INCIDENT_IO,
)

SOURCE = SOURCE_INCIDENT_IO


DEFAULT_BASE_URL = "https://api.incident.io"


ACT_AS_HEADER = "X-Incident-User"


# Page sizes: the maxima the 2.29.0 schema documents for each list (fewer requests from a
# rate limit the whole organisation shares), except where a larger page loses data.
PAGE_ALERTS = 50  # required, max 50


PAGE_INCIDENT_ALERTS = 50  # required, max 50


PAGE_ESCALATIONS = 50


PAGE_ESCALATION_PATHS = 25


PAGE_INCIDENTS = 500


PAGE_INCIDENT_UPDATES = 250


PAGE_OVERRIDES = 250


PAGE_ALERT_NOTES = 250


PAGE_SCHEDULES = 25  # max 10000, but next_shifts is only returned for page_size <= 25


PAGE_USERS = 10000


PAGE_TIMELINE_ITEMS = 250


MAX_PAGES = 200  # per listing; beyond this we stop and log rather than loop


@dataclass(frozen=True, slots=True)
class Operation:
    """What one client method does, for messages and permission checks.

    ``roles`` are ``IdentityV1.roles`` values, any one of which grants the operation (the
    first is the one to ask for). ``capability`` is set for endpoints newer than the spec.
    """

    does: str
    roles: tuple[str, ...] = ()
    capability: str | None = None


_VIEW = ("viewer",)


_ONCALL_VIEW = ("on_call_viewer", "viewer", "on_call_editor")


_SCHEDULE_VIEW = ("schedules_reader", "schedules_editor", "viewer")


_OVERRIDE_EDIT = ("schedule_overrides_editor", "schedules_editor")


_ESCALATE = ("escalation_creator", "on_call_editor")


_ALERT_EDIT = ("on_call_editor",)


_INCIDENT_EDIT = ("incident_editor",)


OPERATIONS: dict[str, Operation] = {
    "identity": Operation("check the API key"),
    "users.list": Operation("list users", _VIEW),
    "users.show": Operation("look up a user", _VIEW),
    "notification_methods.list": Operation("read a person's notification methods", _VIEW),
    "notification_rules.list": Operation("read a person's notification rules", _VIEW),
    "severities.list": Operation("list severities", _VIEW),
    "incident_statuses.list": Operation("list incident statuses", _VIEW),
    "incident_roles.list": Operation("list incident roles", _VIEW),
    "incident_types.list": Operation("list incident types", _VIEW),
    "schedules.list": Operation("list schedules", _SCHEDULE_VIEW),
    "schedules.show": Operation("read a schedule", _SCHEDULE_VIEW),
    "schedule_entries.list": Operation("read schedule shifts", _SCHEDULE_VIEW),
    "overrides.list": Operation("list overrides", _SCHEDULE_VIEW),
    "overrides.create": Operation("create an override", _OVERRIDE_EDIT),
    "overrides.update": Operation("change an override", _OVERRIDE_EDIT),
    "overrides.delete": Operation("delete an override", _OVERRIDE_EDIT),
    "escalation_paths.list": Operation("list escalation paths", _ONCALL_VIEW),
    "escalation_paths.show": Operation("read an escalation path", _ONCALL_VIEW),
    "escalations.list": Operation("list pages", _ONCALL_VIEW),
    "escalations.show": Operation("read a page", _ONCALL_VIEW),
    "escalations.create": Operation("page someone", _ESCALATE),
    "escalations.cancel": Operation("cancel a page", _ESCALATE),
    "escalations.respond": Operation("respond to a page", _ESCALATE, CAP_RESPOND),
    "escalations.reassign": Operation("reassign a page", _ESCALATE, CAP_REASSIGN),
    "alerts.list": Operation("list alerts", _ONCALL_VIEW),
    "alerts.show": Operation("read an alert", _ONCALL_VIEW),
    "alerts.resolve": Operation("resolve an alert", _ALERT_EDIT),
    "alert_notes.list": Operation("read alert notes", _ONCALL_VIEW),
    "alert_notes.create": Operation("add a note to an alert", _ALERT_EDIT),
    "incident_alerts.list": Operation("list an incident's alerts", _ONCALL_VIEW),
    "alert_sources.list": Operation("list alert sources", _ONCALL_VIEW),
    "incidents.list": Operation("list incidents", _VIEW),
    "incidents.show": Operation("read an incident", _VIEW),
    "incidents.create": Operation("declare an incident", ("incident_creator", "incident_editor")),
    "incidents.edit": Operation("edit an incident", _INCIDENT_EDIT),
    "incident_updates.list": Operation("read incident updates", _VIEW),
    "incident_updates.create": Operation(
        "post an incident update", _INCIDENT_EDIT, CAP_INCIDENT_UPDATES_CREATE
    ),
    "timeline_items.list": Operation("read the incident timeline", _VIEW, CAP_TIMELINE_ITEMS),
    "timeline_items.create": Operation(
        "add to the incident timeline", _INCIDENT_EDIT, CAP_TIMELINE_ITEMS
    ),
    "timeline_items.update": Operation(
        "edit an incident timeline item", _INCIDENT_EDIT, CAP_TIMELINE_ITEMS
    ),
}


# Endpoints documented to honour ``X-Incident-User``. Respond is included because
# declining a page ("nack") is only possible on behalf of a person.
ACT_AS_OPERATIONS = frozenset({"escalations.respond", "escalations.reassign"})


ACT_AS_ROLE = "act_on_behalf_of_users"
