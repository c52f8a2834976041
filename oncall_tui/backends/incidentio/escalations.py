"""incident.io client: Escalation paths, pages (escalations) and alerts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from oncall_tui.backends.http import (
    ApiError,
    AuthError,
    InvalidRequest,
)
from oncall_tui.backends.incidentio.base import IncidentIoBase, _refuses_acting
from oncall_tui.backends.incidentio.operations import (
    ACT_AS_HEADER,
    PAGE_ALERT_NOTES,
    PAGE_ALERTS,
    PAGE_ESCALATION_PATHS,
    PAGE_ESCALATIONS,
    PAGE_INCIDENT_ALERTS,
    SOURCE,
)
from oncall_tui.backends.incidentio.parsers import (
    _alert_filters,
    _one_of,
    _seg,
    format_datetime,
    parse_alert,
    parse_alert_note,
    parse_alert_source,
    parse_escalation_path,
    parse_incident_alert,
    parse_page,
)
from oncall_tui.domain import (
    OPEN_PAGE_STATUSES,
    Alert,
    AlertNote,
    AlertSource,
    EscalationPath,
    IncidentAlert,
    Page,
)


class EscalationsApi(IncidentIoBase):
    """Escalation paths, pages (escalations) and alerts."""

    async def list_escalation_paths(self) -> tuple[EscalationPath, ...]:
        return await self.paginate(
            "escalation_paths.list",
            "/v2/escalation_paths",
            "escalation_paths",
            parse_escalation_path,
            page_size=PAGE_ESCALATION_PATHS,
        )

    async def get_escalation_path(self, path_id: str) -> EscalationPath:
        """Levels with their targets and time-to-ack, and who would be paged now."""
        return await self._read(
            "escalation_paths.show",
            "GET",
            f"/v2/escalation_paths/{_seg(path_id)}",
            "escalation_path",
            parse_escalation_path,
        )

    async def list_escalations(
        self,
        statuses: Sequence[str] | None = OPEN_PAGE_STATUSES,
        *,
        alert_id: str | None = None,
        incident_id: str | None = None,
        path_id: str | None = None,
        limit: int | None = None,
        updated_since: datetime | None = None,
    ) -> tuple[Page, ...]:
        """Pages (escalations), by default the open ones; ``statuses=None`` for all;
        with ``updated_since``, only those changed since then."""
        params = _one_of("status", statuses)
        if updated_since is not None:
            params.append(("updated_at[gte]", format_datetime(updated_since)))
        params += _one_of("alert", [alert_id] if alert_id else None)
        params += _one_of("incident", [incident_id] if incident_id else None)
        params += _one_of("escalation_path", [path_id] if path_id else None)
        return await self.paginate(
            "escalations.list",
            "/v2/escalations",
            "escalations",
            parse_page,
            params=params,
            page_size=PAGE_ESCALATIONS,
            limit=limit,
        )

    async def get_escalation(self, escalation_id: str) -> Page:
        return await self._read(
            "escalations.show",
            "GET",
            f"/v2/escalations/{_seg(escalation_id)}",
            "escalation",
            parse_page,
        )

    async def create_escalation(
        self,
        title: str,
        *,
        path_id: str | None = None,
        user_ids: Sequence[str] | None = None,
        description: str | None = None,
        incident_id: str | None = None,
        idempotency_key: str,
    ) -> Page:
        """Page an escalation path or users (exactly one). Safe to retry: the key dedupes."""
        if bool(path_id) == bool(user_ids):
            raise InvalidRequest(
                "page either an escalation path or users, not both and not neither",
                source=SOURCE,
            )
        if not idempotency_key:
            raise InvalidRequest("an idempotency key is required", source=SOURCE)
        body: dict[str, Any] = {"idempotency_key": idempotency_key, "title": title}
        if path_id:
            body["escalation_path_id"] = path_id
        else:
            body["user_ids"] = list(user_ids or ())
        if description:
            body["description"] = description
        if incident_id:
            body["incident_id"] = incident_id
        return await self._read(
            "escalations.create",
            "POST",
            "/v2/escalations",
            "escalation",
            parse_page,
            json_body=body,
            idempotent=True,
        )

    async def cancel_escalation(self, escalation_id: str) -> None:
        """Stop paging. Cancelling twice is a no-op, so it is retried like a GET."""
        await self._call(
            "escalations.cancel",
            "POST",
            f"/v2/escalations/{_seg(escalation_id)}/actions/cancel",
            idempotent=True,
        )

    async def respond_escalation(
        self,
        escalation_id: str,
        response: str = "ack",
        snooze_until: datetime | None = None,
        reason: str | None = None,
    ) -> bool:
        """Acknowledge, snooze or decline ("nack") a page (newer endpoint).

        Declining is only possible on behalf of a user (``act_as_user_id``). Raises
        :class:`CapabilityUnavailable` if the server does not have the endpoint. Returns
        whether incident.io recorded the response as the configured person (False: as
        the API key, either because no person is configured or because incident.io
        refused ``X-Incident-User`` here).
        """
        if response not in ("ack", "nack", "snooze"):
            raise InvalidRequest(f"unknown response {response!r}", source=SOURCE)
        body: dict[str, Any] = {"response": response}
        if response == "snooze":
            if snooze_until is None:
                raise InvalidRequest("snoozing needs a time to snooze until", source=SOURCE)
            details: dict[str, Any] = {"snooze_until": format_datetime(snooze_until)}
            if reason:
                details["reason"] = reason
            body["snooze_details"] = details
        if response == "nack" and not self.act_as_user_id:
            raise InvalidRequest(
                "declining a page must be done as a person: configure your incident.io "
                "user so the dashboard can act on your behalf",
                source=SOURCE,
            )
        if response == "nack" and "escalations.respond" in self.act_as_refused:
            raise InvalidRequest(
                "incident.io would not take a decline on your behalf "
                f"(it refused {ACT_AS_HEADER} on an earlier response); decline in the "
                "incident.io app or Slack, or ack it and reassign",
                source=SOURCE,
            )
        path = f"/v2/escalations/{_seg(escalation_id)}"
        acting = bool(self.act_as_user_id) and "escalations.respond" not in self.act_as_refused
        try:
            await self._call(
                "escalations.respond",
                "POST",
                f"{path}/actions/respond",
                json_body=body,
                idempotent=response != "nack",
                parent=path,
                act_as=acting,
            )
        except (AuthError, InvalidRequest) as exc:
            # The 2.29.0 schema documents X-Incident-User for reassigning a page, not for
            # responding to one. If incident.io refuses the response as the person, an
            # ack or snooze goes again as the API key (and says so); a decline cannot.
            if not acting or not _refuses_acting(exc):
                raise
            self.act_as_refused.add("escalations.respond")
            if response == "nack":
                raise InvalidRequest(
                    "incident.io would not take a decline on your behalf "
                    f"({ACT_AS_HEADER} refused: {exc.message}); decline in the incident.io "
                    "app or Slack, or ack it and reassign",
                    source=SOURCE,
                    status=exc.status,
                ) from None
            try:
                await self._call(
                    "escalations.respond",
                    "POST",
                    f"{path}/actions/respond",
                    json_body=body,
                    idempotent=True,
                    parent=path,
                    act_as=False,
                )
            except ApiError:
                # Refused as the key too: the first refusal (which may name the missing
                # act_on_behalf_of_users role) is the one to act on.
                self.act_as_refused.discard("escalations.respond")
                raise exc from None
            acting = False
        return acting

    async def reassign_escalation(
        self,
        escalation_id: str,
        *,
        path_id: str | None = None,
        user_ids: Sequence[str] | None = None,
        resolve_original: bool = True,
        title: str | None = None,
        description: str | None = None,
    ) -> Page:
        """Send a page to another path or users; returns the new page (newer endpoint).

        Only one reassignment per page; it is not retried, since a repeat is rejected.
        """
        if bool(path_id) == bool(user_ids):
            raise InvalidRequest(
                "reassign to either an escalation path or users, not both and not neither",
                source=SOURCE,
            )
        body: dict[str, Any] = {"resolve_original": resolve_original}
        if path_id:
            body["escalation_path_id"] = path_id
        else:
            body["user_ids"] = list(user_ids or ())
        if title:
            body["title"] = title
        if description:
            body["description"] = description
        path = f"/v2/escalations/{_seg(escalation_id)}"
        return await self._read(
            "escalations.reassign",
            "POST",
            f"{path}/actions/reassign",
            "escalation",
            parse_page,
            json_body=body,
            idempotent=False,
            parent=path,
        )

    async def list_alerts(
        self,
        statuses: Sequence[str] | None = ("firing",),
        *,
        source_ids: Sequence[str] | None = None,
        dedup_key: str | None = None,
        created_since: datetime | None = None,
        limit: int | None = None,
    ) -> tuple[Alert, ...]:
        """Alerts by status, source and deduplication key; with ``created_since``, only
        those created since then (``created_at[gte]``)."""
        params = _alert_filters(statuses, source_ids, dedup_key)
        if created_since is not None:
            params.append(("created_at[gte]", format_datetime(created_since)))
        return await self.paginate(
            "alerts.list",
            "/v2/alerts",
            "alerts",
            parse_alert,
            params=params,
            page_size=PAGE_ALERTS,
            limit=limit,
        )

    async def alert_pages(
        self,
        statuses: Sequence[str] | None = ("firing",),
        *,
        updated_since: datetime | None = None,
        after: str | None = None,
        max_pages: int,
    ) -> tuple[tuple[Alert, ...], str | None]:
        """At most ``max_pages`` pages of ``GET /v2/alerts`` from the cursor ``after``;
        with ``updated_since``, only alerts written since then (``updated_at[gte]``, for
        incremental sync). Returns the alerts and the cursor to go on from (None at the
        end of the listing)."""
        params = _alert_filters(statuses, None, None)
        if updated_since is not None:
            params.append(("updated_at[gte]", format_datetime(updated_since)))
        return await self.page_through(
            "alerts.list",
            "/v2/alerts",
            "alerts",
            parse_alert,
            params=params,
            page_size=PAGE_ALERTS,
            after=after,
            max_pages=max_pages,
        )

    async def get_alert(self, alert_id: str) -> Alert:
        return await self._read(
            "alerts.show", "GET", f"/v2/alerts/{_seg(alert_id)}", "alert", parse_alert
        )

    async def resolve_alert(self, alert_id: str) -> Alert:
        """Resolve an alert (a no-op if already resolved, so it is retried like a GET)."""
        return await self._read(
            "alerts.resolve",
            "POST",
            f"/v2/alerts/{_seg(alert_id)}/actions/resolve",
            "alert",
            parse_alert,
            idempotent=True,
        )

    async def list_alert_notes(self, alert_id: str) -> tuple[AlertNote, ...]:
        return await self.paginate(
            "alert_notes.list",
            "/v1/alert_notes",
            "alert_notes",
            lambda o: parse_alert_note(o, alert_id),
            params=[("alert_id", alert_id)],
            page_size=PAGE_ALERT_NOTES,
        )

    async def create_alert_note(self, alert_id: str, content: str) -> AlertNote:
        """Add a markdown note to an alert. Not retried: it carries no idempotency key."""
        return await self._read(
            "alert_notes.create",
            "POST",
            "/v1/alert_notes",
            "alert_note",
            lambda o: parse_alert_note(o, alert_id),
            json_body={"alert_id": alert_id, "content": content},
        )

    async def incident_alerts(
        self, *, incident_id: str | None = None, alert_id: str | None = None
    ) -> tuple[IncidentAlert, ...]:
        """Links between alerts and incidents, for one incident or one alert."""
        if bool(incident_id) == bool(alert_id):
            raise InvalidRequest("give either an incident or an alert", source=SOURCE)
        params = [("incident_id", incident_id)] if incident_id else [("alert_id", alert_id or "")]
        return await self.paginate(
            "incident_alerts.list",
            "/v2/incident_alerts",
            "incident_alerts",
            parse_incident_alert,
            params=params,
            page_size=PAGE_INCIDENT_ALERTS,
        )

    async def list_alert_sources(self) -> tuple[AlertSource, ...]:
        return tuple(
            await self._lookup(
                "alert_sources.list", "/v2/alert_sources", "alert_sources", parse_alert_source
            )
        )
