"""Typed client for the incident.io REST API.

Only the endpoints the on-call dashboard uses, each returning :mod:`oncall_tui.domain`
objects. The HTTP itself (retries, error bodies, size cap, token redaction) lives in
:class:`oncall_tui.backends.http.ApiClient`; this module adds what is incident.io's own:

* both pagination schemes — the ID cursor (``page_size``/``after``) of most lists and the
  time-window cursor of ``/v2/schedule_entries`` — bounded, with a guard against a server
  that hands back the same cursor twice;
* deepObject filters (``status[one_of]=a&status[one_of]=b``);
* permission errors that name the API-key role an operation needs (``IdentityV1.roles``);
* the contract is the official 2.29.0 schema (the ``openapi.json`` of the official SDK);
  endpoints added late to it (escalation respond/reassign, ``POST /v2/incident_updates``,
  incident timeline items) may be missing on a server: a 404 that means "this server does
  not have the route" marks the capability unavailable and raises
  :class:`CapabilityUnavailable`, while a 404 for a missing object stays :class:`NotFound`;
* schedule entries name their rotation but, since 2.29.0, not their layer: each entry's
  layer is found from the schedule's rotations (a one-layer rotation), and left empty
  when it cannot be told, for the caller to refuse by name;
* lists are read with the page sizes the schema documents as maxima;
* tolerant parsing: unknown fields ignored, unknown enum values kept as text, optional
  fields defaulted, every string cleaned; a missing required field or a wrong type raises
  :class:`MalformedResponse` naming the field."""

from __future__ import annotations

from oncall_tui.backends.incidentio.base import IncidentIoBase as IncidentIoBase
from oncall_tui.backends.incidentio.base import _check_window as _check_window
from oncall_tui.backends.incidentio.base import _refuses_acting as _refuses_acting
from oncall_tui.backends.incidentio.base import _shift_key as _shift_key
from oncall_tui.backends.incidentio.base import _user_reference as _user_reference
from oncall_tui.backends.incidentio.base import _with_kind as _with_kind
from oncall_tui.backends.incidentio.capabilities import _PROBE_INCIDENT_ID as _PROBE_INCIDENT_ID
from oncall_tui.backends.incidentio.capabilities import ACTIONS as ACTIONS
from oncall_tui.backends.incidentio.capabilities import (
    CAP_INCIDENT_UPDATES_CREATE as CAP_INCIDENT_UPDATES_CREATE,
)
from oncall_tui.backends.incidentio.capabilities import CAP_REASSIGN as CAP_REASSIGN
from oncall_tui.backends.incidentio.capabilities import CAP_RESPOND as CAP_RESPOND
from oncall_tui.backends.incidentio.capabilities import CAP_TIMELINE_ITEMS as CAP_TIMELINE_ITEMS
from oncall_tui.backends.incidentio.capabilities import NEWER_ENDPOINTS as NEWER_ENDPOINTS
from oncall_tui.backends.incidentio.capabilities import Capabilities as Capabilities
from oncall_tui.backends.incidentio.capabilities import Capability as Capability
from oncall_tui.backends.incidentio.capabilities import T as T
from oncall_tui.backends.incidentio.capabilities import _roles_text as _roles_text
from oncall_tui.backends.incidentio.client import IncidentIoClient as IncidentIoClient
from oncall_tui.backends.incidentio.errors import AccessDenied as AccessDenied
from oncall_tui.backends.incidentio.errors import CapabilityUnavailable as CapabilityUnavailable
from oncall_tui.backends.incidentio.errors import log as log
from oncall_tui.backends.incidentio.escalations import EscalationsApi as EscalationsApi
from oncall_tui.backends.incidentio.incidents import IncidentsApi as IncidentsApi
from oncall_tui.backends.incidentio.operations import _ALERT_EDIT as _ALERT_EDIT
from oncall_tui.backends.incidentio.operations import _ESCALATE as _ESCALATE
from oncall_tui.backends.incidentio.operations import _INCIDENT_EDIT as _INCIDENT_EDIT
from oncall_tui.backends.incidentio.operations import _ONCALL_VIEW as _ONCALL_VIEW
from oncall_tui.backends.incidentio.operations import _OVERRIDE_EDIT as _OVERRIDE_EDIT
from oncall_tui.backends.incidentio.operations import _SCHEDULE_VIEW as _SCHEDULE_VIEW
from oncall_tui.backends.incidentio.operations import _VIEW as _VIEW
from oncall_tui.backends.incidentio.operations import ACT_AS_HEADER as ACT_AS_HEADER
from oncall_tui.backends.incidentio.operations import ACT_AS_OPERATIONS as ACT_AS_OPERATIONS
from oncall_tui.backends.incidentio.operations import ACT_AS_ROLE as ACT_AS_ROLE
from oncall_tui.backends.incidentio.operations import DEFAULT_BASE_URL as DEFAULT_BASE_URL
from oncall_tui.backends.incidentio.operations import MAX_PAGES as MAX_PAGES
from oncall_tui.backends.incidentio.operations import OPERATIONS as OPERATIONS
from oncall_tui.backends.incidentio.operations import PAGE_ALERT_NOTES as PAGE_ALERT_NOTES
from oncall_tui.backends.incidentio.operations import PAGE_ALERTS as PAGE_ALERTS
from oncall_tui.backends.incidentio.operations import PAGE_ESCALATION_PATHS as PAGE_ESCALATION_PATHS
from oncall_tui.backends.incidentio.operations import PAGE_ESCALATIONS as PAGE_ESCALATIONS
from oncall_tui.backends.incidentio.operations import PAGE_INCIDENT_ALERTS as PAGE_INCIDENT_ALERTS
from oncall_tui.backends.incidentio.operations import PAGE_INCIDENT_UPDATES as PAGE_INCIDENT_UPDATES
from oncall_tui.backends.incidentio.operations import PAGE_INCIDENTS as PAGE_INCIDENTS
from oncall_tui.backends.incidentio.operations import PAGE_OVERRIDES as PAGE_OVERRIDES
from oncall_tui.backends.incidentio.operations import PAGE_SCHEDULES as PAGE_SCHEDULES
from oncall_tui.backends.incidentio.operations import PAGE_TIMELINE_ITEMS as PAGE_TIMELINE_ITEMS
from oncall_tui.backends.incidentio.operations import PAGE_USERS as PAGE_USERS
from oncall_tui.backends.incidentio.operations import SOURCE as SOURCE
from oncall_tui.backends.incidentio.operations import Operation as Operation
from oncall_tui.backends.incidentio.parsers import _DASHBOARD_NAME as _DASHBOARD_NAME
from oncall_tui.backends.incidentio.parsers import _FRACTION as _FRACTION
from oncall_tui.backends.incidentio.parsers import _LOOKS_LIKE_URL as _LOOKS_LIKE_URL
from oncall_tui.backends.incidentio.parsers import _REFERENCE as _REFERENCE
from oncall_tui.backends.incidentio.parsers import _RUNBOOK_NAME as _RUNBOOK_NAME
from oncall_tui.backends.incidentio.parsers import _SEVERITY_NAMES as _SEVERITY_NAMES
from oncall_tui.backends.incidentio.parsers import _ULID as _ULID
from oncall_tui.backends.incidentio.parsers import _URL_SCHEMES_TO_FLAG as _URL_SCHEMES_TO_FLAG
from oncall_tui.backends.incidentio.parsers import _WEEKDAYS as _WEEKDAYS
from oncall_tui.backends.incidentio.parsers import _alert_filters as _alert_filters
from oncall_tui.backends.incidentio.parsers import _attribute_value as _attribute_value
from oncall_tui.backends.incidentio.parsers import _bound_ids as _bound_ids
from oncall_tui.backends.incidentio.parsers import _channel_name as _channel_name
from oncall_tui.backends.incidentio.parsers import _handover_text as _handover_text
from oncall_tui.backends.incidentio.parsers import _kind as _kind
from oncall_tui.backends.incidentio.parsers import _levels as _levels
from oncall_tui.backends.incidentio.parsers import _link as _link
from oncall_tui.backends.incidentio.parsers import _link_kind as _link_kind
from oncall_tui.backends.incidentio.parsers import _looks_like_url as _looks_like_url
from oncall_tui.backends.incidentio.parsers import _malformed as _malformed
from oncall_tui.backends.incidentio.parsers import _Obj as _Obj
from oncall_tui.backends.incidentio.parsers import _one_of as _one_of
from oncall_tui.backends.incidentio.parsers import _opt_user as _opt_user
from oncall_tui.backends.incidentio.parsers import _root as _root
from oncall_tui.backends.incidentio.parsers import _seg as _seg
from oncall_tui.backends.incidentio.parsers import _working_hours_text as _working_hours_text
from oncall_tui.backends.incidentio.parsers import format_datetime as format_datetime
from oncall_tui.backends.incidentio.parsers import normalise_incident_ref as normalise_incident_ref
from oncall_tui.backends.incidentio.parsers import parse_actor as parse_actor
from oncall_tui.backends.incidentio.parsers import parse_alert as parse_alert
from oncall_tui.backends.incidentio.parsers import parse_alert_note as parse_alert_note
from oncall_tui.backends.incidentio.parsers import parse_alert_source as parse_alert_source
from oncall_tui.backends.incidentio.parsers import parse_datetime as parse_datetime
from oncall_tui.backends.incidentio.parsers import parse_escalation_path as parse_escalation_path
from oncall_tui.backends.incidentio.parsers import parse_identity as parse_identity
from oncall_tui.backends.incidentio.parsers import parse_incident as parse_incident
from oncall_tui.backends.incidentio.parsers import parse_incident_alert as parse_incident_alert
from oncall_tui.backends.incidentio.parsers import parse_incident_update as parse_incident_update
from oncall_tui.backends.incidentio.parsers import (
    parse_notification_method as parse_notification_method,
)
from oncall_tui.backends.incidentio.parsers import (
    parse_notification_rule as parse_notification_rule,
)
from oncall_tui.backends.incidentio.parsers import parse_override as parse_override
from oncall_tui.backends.incidentio.parsers import parse_page as parse_page
from oncall_tui.backends.incidentio.parsers import parse_page_event as parse_page_event
from oncall_tui.backends.incidentio.parsers import parse_role as parse_role
from oncall_tui.backends.incidentio.parsers import parse_rotation as parse_rotation
from oncall_tui.backends.incidentio.parsers import parse_schedule as parse_schedule
from oncall_tui.backends.incidentio.parsers import parse_severity as parse_severity
from oncall_tui.backends.incidentio.parsers import parse_shift as parse_shift
from oncall_tui.backends.incidentio.parsers import parse_status as parse_status
from oncall_tui.backends.incidentio.parsers import parse_target as parse_target
from oncall_tui.backends.incidentio.parsers import parse_timeline_item as parse_timeline_item
from oncall_tui.backends.incidentio.parsers import parse_type as parse_type
from oncall_tui.backends.incidentio.parsers import parse_user as parse_user
from oncall_tui.backends.incidentio.rota import RotaApi as RotaApi
