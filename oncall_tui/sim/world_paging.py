"""The simulated paging: escalations climbing their path (timed levels, responses,
reassignments) and alerts (fired, resolved, ingested from the HTTP source, noted, linked)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from oncall_tui.sim.records import (
    TERMINAL_ESCALATION_STATUSES,
    Actor,
    SimAlert,
    SimAlertNote,
    SimEscalation,
    SimEscalationEvent,
    SimIncidentAlert,
    SimLevel,
    SimPath,
    found,
    invalid,
    iso,
)
from oncall_tui.sim.world_rota import RotaWorld


class PagingWorld(RotaWorld):
    """Pages and alerts."""

    # ---------------------------------------------------------------- escalations

    def advance(self, now: datetime | None = None) -> datetime:
        """Apply everything due up to ``now``: scripted events, climbs, snoozes."""
        with self.lock:
            now = now or self.now()
            while True:
                next_event = self._events[0][0] if self._events else None
                next_timer = self._next_escalation_timer()
                due = [t for t in (next_event, next_timer) if t is not None and t <= now]
                if not due:
                    break
                first = min(due)
                if next_event is not None and next_event == first:
                    when, _, action = heapq.heappop(self._events)
                    action(when)
                else:
                    self._run_escalation_timers(first)
            return now

    def level_responders(self, level: SimLevel, at: datetime) -> list[str]:
        out: list[str] = []
        for target in level.targets:
            ids = self.users_on_call(target.id, at) if target.type == "schedule" else [target.id]
            out.extend(i for i in ids if i not in out)
        return out

    def current_responders(self, path: SimPath, at: datetime) -> list[str]:
        return self.level_responders(path.levels[0], at) if path.levels else []

    def _event(
        self,
        esc: SimEscalation,
        kind: str,
        at: datetime,
        users: Iterable[str] = (),
        urgency: str | None = None,
    ) -> None:
        esc.events.append(SimEscalationEvent(self.ids.new(at), kind, at, list(users), urgency))
        esc.updated_at = max(esc.updated_at, at)

    def _notify_level(self, esc: SimEscalation, level: int, at: datetime) -> None:
        path = self.paths.get(esc.path_id or "")
        if path is None:
            self._event(esc, "notified_users", at, esc.direct_user_ids, "high")
            esc.deadline = None
            return
        lvl = path.levels[level]
        esc.level = level
        urgency = lvl.targets[0].urgency if lvl.targets else "high"
        self._event(esc, "notified_users", at, self.level_responders(lvl, at), urgency)
        esc.deadline = at + self.scaled(lvl.time_to_ack_seconds)

    def _next_escalation_timer(self) -> datetime | None:
        times = []
        for eid in self._open_escalations:
            esc = self.escalations[eid]
            if esc.status == "snoozed" and esc.snoozed_until:
                times.append(esc.snoozed_until)
            elif esc.status == "triggered" and esc.deadline:
                times.append(esc.deadline)
        return min(times) if times else None

    def _run_escalation_timers(self, at: datetime) -> None:
        for eid in sorted(self._open_escalations):
            esc = self.escalations[eid]
            if esc.status == "snoozed" and esc.snoozed_until and esc.snoozed_until <= at:
                esc.status, esc.snoozed_until = "triggered", None
                self._event(esc, "triggered", at)
                self._notify_level(esc, esc.level, at)
            elif esc.status == "triggered" and esc.deadline and esc.deadline <= at:
                path = self.paths.get(esc.path_id or "")
                if path is not None and esc.level + 1 < len(path.levels):
                    self._notify_level(esc, esc.level + 1, esc.deadline)
                else:
                    self._finish(esc, "expired", esc.deadline)

    def _finish(
        self, esc: SimEscalation, status: str, at: datetime, users: Iterable[str] = ()
    ) -> None:
        esc.status, esc.deadline, esc.snoozed_until = status, None, None
        self._event(esc, status, at, users)
        self._open_escalations.discard(esc.id)

    def escalation(self, escalation_id: str) -> SimEscalation:
        return found(self.escalations, escalation_id, "Escalation")

    def create_escalation(
        self,
        *,
        idempotency_key: str,
        title: str,
        description: str = "",
        path_id: str | None = None,
        user_ids: list[str] | None = None,
        incident_id: str | None = None,
        alert_ids: Iterable[str] = (),
        creator: Actor | None = None,
        priority: str = "P2",
        at: datetime | None = None,
        record: bool = True,
    ) -> tuple[SimEscalation, bool]:
        """Page a path or people. Returns ``(escalation, created)``; a reused key returns
        the escalation the first call created."""
        with self.lock:
            if idempotency_key and ("escalation", idempotency_key) in self._idem:
                return self.escalations[self._idem[("escalation", idempotency_key)]], False
            if bool(path_id) == bool(user_ids):
                raise invalid(
                    "provide either escalation_path_id or user_ids, not both", "escalation_path_id"
                )
            if path_id and path_id not in self.paths:
                raise invalid("escalation path not found", "escalation_path_id", "not_found")
            for uid in user_ids or ():
                if uid not in self.users:
                    raise invalid(f"user {uid!r} not found", "user_ids", "not_found")
            incident_ids: list[str] = []
            if incident_id:
                incident_ids.append(self.incident(incident_id).id)
            at = at or self.now()
            creator = creator or self.api_key
            esc = SimEscalation(
                id=self.ids.new(at),
                title=title,
                description=description,
                status="triggered",
                priority="P1" if user_ids else priority,
                creator=creator,
                created_at=at,
                updated_at=at,
                path_id=path_id,
                direct_user_ids=list(user_ids or ()),
                alert_ids=list(alert_ids),
                incident_ids=incident_ids,
                idempotency_key=idempotency_key,
            )
            self.escalations[esc.id] = esc
            self._open_escalations.add(esc.id)
            if idempotency_key:
                self._idem[("escalation", idempotency_key)] = esc.id
            self._event(esc, "triggered", at)
            self._notify_level(esc, 0, at)
            if record:
                self._record(
                    "escalation.create",
                    esc.id,
                    creator,
                    title=title,
                    escalation_path_id=path_id,
                    user_ids=list(user_ids or ()),
                )
            return esc, True

    def cancel_escalation(self, escalation_id: str, actor: Actor | None = None) -> SimEscalation:
        with self.lock:
            self.advance()
            esc = self.escalation(escalation_id)
            if esc.status in ("resolved", "expired"):
                raise invalid(
                    f"this escalation is {esc.status} and cannot be cancelled", code="invalid_state"
                )
            if esc.status != "cancelled":
                self._finish(esc, "cancelled", self.now())
            self._record("escalation.cancel", esc.id, actor)
            return esc

    def respond_escalation(
        self,
        escalation_id: str,
        response: str,
        *,
        snooze_until: datetime | None = None,
        reason: str | None = None,
        actor: Actor | None = None,
    ) -> SimEscalation:
        """ack stops the climb; snooze holds it until a time; nack moves it up a level."""
        with self.lock:
            now = self.advance()
            esc = self.escalation(escalation_id)
            actor = actor or self.api_key
            if esc.status in TERMINAL_ESCALATION_STATUSES:
                raise invalid(
                    f"this escalation is already {esc.status}", "response", "invalid_state"
                )
            if response == "ack":
                if esc.status != "acked":
                    esc.status, esc.deadline, esc.snoozed_until = "acked", None, None
                    self._event(esc, "acked", now, [actor.id] if actor.kind == "user" else [])
            elif response == "snooze":
                if snooze_until is None:
                    raise invalid(
                        "snooze_details.snooze_until is required to snooze",
                        "snooze_details.snooze_until",
                        "is_required",
                    )
                if snooze_until <= now:
                    raise invalid(
                        "snooze_until must be in the future", "snooze_details.snooze_until"
                    )
                esc.status, esc.deadline, esc.snoozed_until = "snoozed", None, snooze_until
                esc.updated_at = now
            elif response == "nack":
                if actor.kind != "user":
                    raise invalid(
                        "declining isn't available to an API key responding in its own right; "
                        "send X-Incident-User to decline on a person's behalf",
                        "response",
                        "not_permitted",
                    )
                path = self.paths.get(esc.path_id or "")
                if esc.status == "triggered" and path and esc.level + 1 < len(path.levels):
                    self._notify_level(esc, esc.level + 1, now)
                else:
                    esc.updated_at = now
            else:
                raise invalid("response must be one of ack, nack, snooze", "response")
            self._record(
                "escalation.respond",
                esc.id,
                actor,
                response=response,
                snooze_until=iso(snooze_until) if snooze_until else None,
                reason=reason,
            )
            return esc

    def reassign_escalation(
        self,
        escalation_id: str,
        *,
        path_id: str | None = None,
        user_ids: list[str] | None = None,
        resolve_original: bool = True,
        title: str | None = None,
        description: str | None = None,
        actor: Actor | None = None,
    ) -> SimEscalation:
        with self.lock:
            now = self.advance()
            esc = self.escalation(escalation_id)
            if esc.reassigned_to:
                raise invalid("an escalation can only be reassigned once", code="invalid_state")
            if esc.status in TERMINAL_ESCALATION_STATUSES:
                raise invalid(f"this escalation is already {esc.status}", code="invalid_state")
            new, _ = self.create_escalation(
                idempotency_key="",
                title=title or esc.title,
                description=esc.description if description is None else description,
                path_id=path_id,
                user_ids=user_ids,
                alert_ids=esc.alert_ids,
                creator=actor or self.api_key,
                priority=esc.priority,
                at=now,
                record=False,
            )
            new.incident_ids = list(esc.incident_ids)
            esc.reassigned_to = new.id
            if resolve_original:
                self._finish(esc, "resolved", now)
            self._record(
                "escalation.reassign",
                esc.id,
                actor,
                new_escalation_id=new.id,
                escalation_path_id=path_id,
                user_ids=list(user_ids or ()),
                resolve_original=resolve_original,
            )
            return new

    # --------------------------------------------------------------------- alerts

    def fire_alert(
        self,
        *,
        title: str,
        dedup_key: str,
        at: datetime | None = None,
        description: str = "",
        team_id: str | None = None,
        severity: str = "warning",
        service: str = "",
        runbook: str | None = None,
        dashboard: str | None = None,
        source_url: str | None = None,
        source_id: str | None = None,
        page: bool | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> SimAlert:
        """Fire (or refresh) an alert. Critical alerts page the owning team's path, or
        Global on-call when no team owns them, unless ``page`` says otherwise."""
        with self.lock:
            at = at or self.now()
            source_id = source_id or self.http_source.id
            existing = self._firing_by_key(source_id, dedup_key)
            if existing is not None:
                existing.title, existing.updated_at = title, at
                if description:
                    existing.description = description
                return existing
            alert = SimAlert(
                id=self.ids.new(at),
                source_id=source_id,
                dedup_key=dedup_key,
                status="firing",
                title=title,
                created_at=at,
                updated_at=at,
                description=description,
                source_url=source_url,
                team_id=team_id,
                severity=severity,
                service=service,
                runbook_url=runbook,
                dashboard_url=dashboard,
                metadata=dict(metadata or {}),
            )
            self.alerts[alert.id] = alert
            self._firing_keys[(source_id, dedup_key)] = alert.id
            if page if page is not None else severity == "critical":
                path = self.path_by_team.get(team_id or "", self.global_path)
                self.create_escalation(
                    idempotency_key=f"alert-{alert.id}",
                    title=title,
                    description=description,
                    path_id=path.id,
                    alert_ids=[alert.id],
                    at=at,
                    record=False,
                    creator=Actor("alert", alert.id, title),
                    priority="P1",
                )
            return alert

    def _firing_by_key(self, source_id: str, dedup_key: str) -> SimAlert | None:
        aid = self._firing_keys.get((source_id, dedup_key))
        alert = self.alerts.get(aid) if aid else None
        return alert if alert is not None and alert.status == "firing" else None

    def alert(self, alert_id: str) -> SimAlert:
        return found(self.alerts, alert_id, "Alert")

    def resolve_alert(
        self,
        alert_id: str,
        *,
        at: datetime | None = None,
        actor: Actor | None = None,
        record: bool = True,
    ) -> SimAlert:
        """Resolve an alert (a no-op if it already is); its open pages resolve with it."""
        with self.lock:
            alert = self.alert(alert_id)
            at = at or self.now()
            if alert.status == "firing":
                alert.status, alert.resolved_at, alert.updated_at = "resolved", at, at
                self._firing_keys.pop((alert.source_id, alert.dedup_key), None)
                for eid in list(self._open_escalations):
                    esc = self.escalations[eid]
                    if alert.id in esc.alert_ids and all(
                        self.alerts[a].status == "resolved"
                        for a in esc.alert_ids
                        if a in self.alerts
                    ):
                        self._finish(esc, "resolved", at)
            if record:
                self._record("alert.resolve", alert.id, actor)
            return alert

    def ingest_alert_event(self, source_id: str, payload: dict[str, Any]) -> SimAlert | None:
        """``POST /v2/alert_events/http/{id}``: the same dedup key updates or resolves."""
        with self.lock:
            self.advance()
            meta = payload.get("metadata") or {}
            meta = meta if isinstance(meta, dict) else {}
            key = str(payload["deduplication_key"])
            if payload["status"] == "resolved":
                alert = self._firing_by_key(source_id, key)
                if alert is None:  # resolving something unknown is accepted and ignored
                    self._record("alert_event.resolve", key, None, matched=False)
                    return None
                self.resolve_alert(alert.id, record=False)
                self._record("alert_event.resolve", alert.id, None, deduplication_key=key)
                return alert
            team = self.team_by_name(str(meta.get("team", ""))) if meta.get("team") else None
            alert = self.fire_alert(
                title=str(payload["title"]),
                dedup_key=key,
                source_id=source_id,
                description=str(payload.get("description") or ""),
                source_url=payload.get("source_url") or None,
                team_id=team.id if team else None,
                severity=str(meta.get("severity", "warning")).lower(),
                service=str(meta.get("service", "")),
                runbook=meta.get("runbook_url") or meta.get("runbook"),
                dashboard=meta.get("dashboard_url") or meta.get("dashboard"),
                metadata=meta,
            )
            self._record(
                "alert_event.fire", alert.id, None, deduplication_key=key, title=alert.title
            )
            return alert

    def add_alert_note(
        self,
        *,
        alert_id: str | None,
        alert_group_id: str | None,
        content: str,
        actor: Actor | None = None,
    ) -> SimAlertNote:
        with self.lock:
            if alert_id:
                self.alert(alert_id)
            now = self.now()
            note = SimAlertNote(
                self.ids.new(now),
                content,
                actor or self.api_key,
                now,
                now,
                alert_id,
                alert_group_id,
            )
            self.alert_notes[note.id] = note
            self._record("alert_note.create", note.id, actor, alert_id=alert_id, content=content)
            return note

    def link_alert(self, alert_id: str, incident_id: str) -> SimIncidentAlert:
        link = SimIncidentAlert(
            self.ids.new(self.alerts[alert_id].created_at),
            alert_id,
            incident_id,
            self.alert_route_id,
        )
        self.incident_alerts[link.id] = link
        return link

    @property
    def alert_route_id(self) -> str:
        return self._route_id
