"""incident.io client: Incidents, their updates and timeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from oncall_tui.backends.http import (
    InvalidRequest,
)
from oncall_tui.backends.incidentio.base import IncidentIoBase
from oncall_tui.backends.incidentio.operations import (
    PAGE_INCIDENT_UPDATES,
    PAGE_INCIDENTS,
    PAGE_TIMELINE_ITEMS,
    SOURCE,
)
from oncall_tui.backends.incidentio.parsers import (
    _one_of,
    _seg,
    format_datetime,
    normalise_incident_ref,
    parse_incident,
    parse_incident_update,
    parse_timeline_item,
)
from oncall_tui.domain import (
    OPEN_STATUS_CATEGORIES,
    Incident,
    IncidentUpdate,
    TimelineItem,
)


class IncidentsApi(IncidentIoBase):
    """Incidents, their updates and timeline."""

    async def list_incidents(
        self,
        status_categories: Sequence[str] | None = OPEN_STATUS_CATEGORIES,
        *,
        severity_ids: Sequence[str] | None = None,
        created_after: datetime | None = None,
        oldest_first: bool = False,
        limit: int | None = None,
    ) -> tuple[Incident, ...]:
        """Incidents, by default the open ones (triage and live), newest first."""
        params = _one_of("status_category", status_categories)
        params += _one_of("severity", severity_ids)
        if created_after is not None:
            params.append(("created_at[gte]", format_datetime(created_after)))
        params.append(
            ("sort_by", "created_at_oldest_first" if oldest_first else "created_at_newest_first")
        )
        return await self.paginate(
            "incidents.list",
            "/v2/incidents",
            "incidents",
            parse_incident,
            params=params,
            page_size=PAGE_INCIDENTS,
            limit=limit,
        )

    async def get_incident(self, ref: str) -> Incident:
        """One incident by ULID, ``INC-123``, ``#inc-123`` or ``123``."""
        return await self._read(
            "incidents.show",
            "GET",
            f"/v2/incidents/{_seg(normalise_incident_ref(ref))}",
            "incident",
            parse_incident,
        )

    async def _lead_role(self) -> str:
        if self._lead_role_id is None:
            for role in await self.incident_roles():
                if role.role_type == "lead":
                    self._lead_role_id = role.id
                    break
            else:
                raise InvalidRequest(
                    "this incident.io account has no incident lead role", source=SOURCE
                )
        return self._lead_role_id

    async def create_incident(
        self,
        name: str,
        *,
        severity_id: str,
        summary: str | None = None,
        visibility: str = "public",
        incident_type_id: str | None = None,
        lead_user_id: str | None = None,
        idempotency_key: str,
    ) -> Incident:
        """Declare an incident. Safe to retry: the key dedupes."""
        if not idempotency_key:
            raise InvalidRequest("an idempotency key is required", source=SOURCE)
        if visibility not in ("public", "private"):
            raise InvalidRequest(f"unknown visibility {visibility!r}", source=SOURCE)
        body: dict[str, Any] = {
            "idempotency_key": idempotency_key,
            "visibility": visibility,
            "name": name,
            "severity_id": severity_id,
        }
        if summary:
            body["summary"] = summary
        if incident_type_id:
            body["incident_type_id"] = incident_type_id
        if lead_user_id:
            body["incident_role_assignments"] = [
                {"incident_role_id": await self._lead_role(), "assignee": {"id": lead_user_id}}
            ]
        return await self._read(
            "incidents.create",
            "POST",
            "/v2/incidents",
            "incident",
            parse_incident,
            json_body=body,
            idempotent=True,
        )

    async def edit_incident(
        self,
        incident_id: str,
        *,
        name: str | None = None,
        summary: str | None = None,
        severity_id: str | None = None,
        status_id: str | None = None,
        call_url: str | None = None,
        role_assignments: Mapping[str, str | None] | None = None,
        notify_incident_channel: bool = True,
    ) -> Incident:
        """Change fields of an incident; only those given change.

        ``role_assignments`` maps an incident role id to a user id (``None`` unassigns).
        Not retried: a repeat could notify the channel twice.
        """
        edit: dict[str, Any] = {}
        for key, value in (
            ("name", name),
            ("summary", summary),
            ("severity_id", severity_id),
            ("incident_status_id", status_id),
            ("call_url", call_url),
        ):
            if value is not None:
                edit[key] = value
        if role_assignments:
            edit["incident_role_assignments"] = [
                {"incident_role_id": role_id, "assignee": {"id": user_id}}
                if user_id
                else {"incident_role_id": role_id}
                for role_id, user_id in role_assignments.items()
            ]
        if not edit:
            raise InvalidRequest("nothing to change", source=SOURCE)
        try:
            return await self._read(
                "incidents.edit",
                "POST",
                f"/v2/incidents/{_seg(incident_id)}/actions/edit",
                "incident",
                parse_incident,
                json_body={"incident": edit, "notify_incident_channel": notify_incident_channel},
            )
        except InvalidRequest as exc:
            # Unassigning by leaving "assignee" out follows the schema (only the role id is
            # required) but is not documented as unassigning. If incident.io refuses it,
            # the whole edit was refused: say so, and where to do it instead.
            if role_assignments and None in role_assignments.values():
                raise InvalidRequest(
                    "incident.io would not unassign the role by leaving its assignee out, so "
                    f"nothing in this edit changed ({exc.message}); unassign it in the "
                    "incident.io app or Slack",
                    source=SOURCE,
                    status=exc.status,
                    errors=exc.errors,
                ) from None
            raise

    async def list_incident_updates(self, incident_id: str) -> tuple[IncidentUpdate, ...]:
        return await self.paginate(
            "incident_updates.list",
            "/v2/incident_updates",
            "incident_updates",
            parse_incident_update,
            params=[("incident_id", incident_id)],
            page_size=PAGE_INCIDENT_UPDATES,
        )

    async def create_incident_update(
        self,
        incident_id: str,
        *,
        message: str | None = None,
        status_id: str | None = None,
        severity_id: str | None = None,
        idempotency_key: str,
    ) -> IncidentUpdate:
        """Share an update: a message, a new status, a new severity, or a mix (newer)."""
        if not (message or status_id or severity_id):
            raise InvalidRequest("an update needs a message, a status or a severity", source=SOURCE)
        if not idempotency_key:
            raise InvalidRequest("an idempotency key is required", source=SOURCE)
        body: dict[str, Any] = {"idempotency_key": idempotency_key, "incident_id": incident_id}
        if message:
            body["message"] = message
        if status_id:
            body["to_incident_status_id"] = status_id
        if severity_id:
            body["to_severity_id"] = severity_id
        return await self._read(
            "incident_updates.create",
            "POST",
            "/v2/incident_updates",
            "incident_update",
            parse_incident_update,
            json_body=body,
            idempotent=True,
            parent=f"/v2/incidents/{_seg(incident_id)}",
        )

    async def list_timeline_items(self, incident_id: str) -> tuple[TimelineItem, ...]:
        """The incident's curated timeline, oldest first (newer endpoint)."""
        return await self.paginate(
            "timeline_items.list",
            "/v2/incident_timeline_items",
            "incident_timeline_items",
            parse_timeline_item,
            params=[("incident_id", incident_id)],
            page_size=PAGE_TIMELINE_ITEMS,
            parent=f"/v2/incidents/{_seg(incident_id)}",
        )

    async def create_timeline_item(
        self,
        incident_id: str,
        *,
        title: str,
        description: str | None = None,
        timestamp: datetime,
        idempotency_key: str,
    ) -> TimelineItem:
        """Add a note to the incident's timeline at ``timestamp`` (newer endpoint)."""
        if not idempotency_key:
            raise InvalidRequest("an idempotency key is required", source=SOURCE)
        body: dict[str, Any] = {
            "idempotency_key": idempotency_key,
            "incident_id": incident_id,
            "timestamp": format_datetime(timestamp),
            "title": title,
        }
        if description:
            body["description"] = description
        return await self._read(
            "timeline_items.create",
            "POST",
            "/v2/incident_timeline_items",
            "incident_timeline_item",
            parse_timeline_item,
            json_body=body,
            idempotent=True,
            parent=f"/v2/incidents/{_seg(incident_id)}",
        )

    async def update_timeline_item(
        self,
        item_id: str,
        *,
        title: str | None = None,
        description: str | None = None,
        timestamp: datetime | None = None,
    ) -> TimelineItem:
        """Edit a timeline item; ``description=""`` removes it (newer endpoint)."""
        body: dict[str, Any] = {}
        if title is not None:
            body["title"] = title
        if description is not None:
            body["description"] = description
        if timestamp is not None:
            body["timestamp"] = format_datetime(timestamp)
        if not body:
            raise InvalidRequest("nothing to change", source=SOURCE)
        return await self._read(
            "timeline_items.update",
            "PATCH",
            f"/v2/incident_timeline_items/{_seg(item_id)}",
            "incident_timeline_item",
            parse_timeline_item,
            json_body=body,
            idempotent=True,
        )
