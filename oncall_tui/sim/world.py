"""The simulated incident.io organisation: people, schedules, paths, alerts, pages, incidents.

A :class:`IncidentIoWorld` is built relative to an injected clock and a seed, so the same seed and
the same start time give the same world (ids included). The organisation follows the
on-call loop of ``DESIGN.md`` §1:

* three teams (Payments, Platform, Search) and ten active people, one of them "me";
* per team an ``On call: {team}`` working-hours schedule (one rotation per engineer with
  their own Mon–Fri hours, so a team can have several people on at once) and a weekly
  ``Support: {team}`` rotation; an ``Escalators`` schedule; and ``Global on-call`` with
  weekday layers Europe 06–16, Americas East 14–23, Americas West 00–06 UTC and weekend
  layers Europe Weekend 06–18, Americas Weekend 18–06 UTC. Nobody covers 23–24 UTC on a
  weekday, and the schedule entries show that hole;
* escalation paths team → Escalators → Global on-call, and one for alerts without a team
  that goes straight to Global on-call;
* severities, statuses in every category, incident roles and types, an HTTP alert source.

Schedule entries are *computed* for any window from the rotation rules, so "now" is
always meaningful; overrides are stored and merged into ``final``. A ``NOBODY`` override
leaves its layer uncovered: a ``final`` entry with no user.

The world is mutable and changes only through its methods (which is what the HTTP app
calls). Every write is recorded in :attr:`IncidentIoWorld.writes`. Timed behaviour (pages climbing
their path, snoozes ending, scripted alerts) is applied lazily by :meth:`IncidentIoWorld.advance`,
which the app calls before answering each request. The script itself lives in
:mod:`oncall_tui.sim.scenario`.

Nothing here knows about HTTP; :mod:`oncall_tui.sim.incidentio` turns this state into
incident.io-shaped JSON.

The records it keeps are in :mod:`oncall_tui.sim.records` (re-exported here). The world is
built in layers, one job each: its state, clock and write log (:mod:`~oncall_tui.sim.world_state`),
the organisation and its look-ups (:mod:`~oncall_tui.sim.world_org`), the rota
(:mod:`~oncall_tui.sim.world_rota`), paging (:mod:`~oncall_tui.sim.world_paging`) and incidents
(:mod:`~oncall_tui.sim.world_incidents`); this module joins them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from oncall_tui.sim.records import DEFAULT_GRAFANA_URL as DEFAULT_GRAFANA_URL
from oncall_tui.sim.records import DEFAULT_ME_EMAIL as DEFAULT_ME_EMAIL
from oncall_tui.sim.records import DEFAULT_ORG_URL as DEFAULT_ORG_URL
from oncall_tui.sim.records import DEFAULT_RUNBOOK_URL as DEFAULT_RUNBOOK_URL
from oncall_tui.sim.records import NOBODY_ID as NOBODY_ID
from oncall_tui.sim.records import OPEN_ESCALATION_STATUSES as OPEN_ESCALATION_STATUSES
from oncall_tui.sim.records import ORG_EPOCH as ORG_EPOCH
from oncall_tui.sim.records import TERMINAL_ESCALATION_STATUSES as TERMINAL_ESCALATION_STATUSES
from oncall_tui.sim.records import WEEKDAYS as WEEKDAYS
from oncall_tui.sim.records import Actor as Actor
from oncall_tui.sim.records import Clock as Clock
from oncall_tui.sim.records import Entry as Entry
from oncall_tui.sim.records import SimAlert as SimAlert
from oncall_tui.sim.records import SimAlertNote as SimAlertNote
from oncall_tui.sim.records import SimAlertSource as SimAlertSource
from oncall_tui.sim.records import SimAttribute as SimAttribute
from oncall_tui.sim.records import SimError as SimError
from oncall_tui.sim.records import SimEscalation as SimEscalation
from oncall_tui.sim.records import SimEscalationEvent as SimEscalationEvent
from oncall_tui.sim.records import SimIncident as SimIncident
from oncall_tui.sim.records import SimIncidentAlert as SimIncidentAlert
from oncall_tui.sim.records import SimIncidentType as SimIncidentType
from oncall_tui.sim.records import SimIncidentUpdate as SimIncidentUpdate
from oncall_tui.sim.records import SimLayer as SimLayer
from oncall_tui.sim.records import SimLevel as SimLevel
from oncall_tui.sim.records import SimNotificationMethod as SimNotificationMethod
from oncall_tui.sim.records import SimNotificationRule as SimNotificationRule
from oncall_tui.sim.records import SimOverride as SimOverride
from oncall_tui.sim.records import SimPath as SimPath
from oncall_tui.sim.records import SimRole as SimRole
from oncall_tui.sim.records import SimRotation as SimRotation
from oncall_tui.sim.records import SimSchedule as SimSchedule
from oncall_tui.sim.records import SimSeverity as SimSeverity
from oncall_tui.sim.records import SimStatus as SimStatus
from oncall_tui.sim.records import SimTarget as SimTarget
from oncall_tui.sim.records import SimTimelineItem as SimTimelineItem
from oncall_tui.sim.records import SimUser as SimUser
from oncall_tui.sim.records import Team as Team
from oncall_tui.sim.records import WorkingInterval as WorkingInterval
from oncall_tui.sim.records import Write as Write
from oncall_tui.sim.records import _minutes as _minutes
from oncall_tui.sim.records import invalid as invalid
from oncall_tui.sim.records import iso as iso
from oncall_tui.sim.records import not_found as not_found
from oncall_tui.sim.records import real_clock as real_clock
from oncall_tui.sim.world_incidents import IncidentWorld


class IncidentIoWorld(IncidentWorld):
    """The whole simulated organisation and its mutable state.

    ``clock`` returns aware UTC datetimes (default: real time). ``speed`` divides the
    scenario's waiting times (a level's time-to-ack, the scripted alert timings), so a
    demo or a drill can make a five-minute climb take thirty seconds. ``seed`` fixes
    every id, token and random choice.
    """

    # ------------------------------------------------------------- bulk and summary

    def add_bulk_alerts(self, n: int, *, pages: int = 0, resolved_share: float = 0.0) -> None:
        """Add ``n`` firing alerts (and ``pages`` open pages on them) for benchmarks.

        ``resolved_share`` of them are resolved straight away, to exercise filters.
        """
        import random

        rng = random.Random(self.seed * 7919 + n)
        with self.lock:
            now = self.now()
            teams = list(self.teams.values())
            new_alerts: list[SimAlert] = []
            for i in range(n):
                team = teams[i % len(teams)]
                at = now - timedelta(seconds=rng.randint(1, 86_400))
                alert = self.fire_alert(
                    title=f"{team.name}: synthetic check {i} failing",
                    dedup_key=f"bulk-{self.seed}-{len(self.alerts)}-{i}",
                    at=at,
                    team_id=team.id,
                    severity=rng.choice(("warning", "critical", "info")),
                    service=f"{team.name.lower()}-svc-{i % 40}",
                    page=False,
                    runbook=f"{self.runbook_url}/{team.name.lower()}/synthetic",
                    dashboard=f"{self.grafana_url}/d/synthetic?var-check={i}",
                )
                new_alerts.append(alert)
                if rng.random() < resolved_share:
                    self.resolve_alert(alert.id, at=now, record=False)
            for i in range(min(pages, len(new_alerts))):
                alert = new_alerts[i]
                path = self.path_by_team.get(alert.team_id or "", self.global_path)
                self.create_escalation(
                    idempotency_key=f"bulk-page-{alert.id}",
                    title=alert.title,
                    path_id=path.id,
                    alert_ids=[alert.id],
                    at=now,
                    record=False,
                    creator=Actor("alert", alert.id, alert.title),
                )

    def summary(self) -> dict[str, Any]:
        """What the world looks like right now, for ``/_sim/state`` and drills."""
        with self.lock:
            now = self.advance()
            return {
                "now": iso(now),
                "speed": self.speed,
                "me": {"id": self.me.id, "name": self.me.name, "email": self.me.email},
                "alert_source": {"id": self.http_source.id, "name": self.http_source.name},
                "schedules": {s.name: s.id for s in self.schedules.values()},
                "escalation_paths": {p.name: p.id for p in self.paths.values()},
                "open_escalations": len(self._open_escalations),
                "firing_alerts": sum(1 for a in self.alerts.values() if a.status == "firing"),
                "incidents": len(self.incidents),
                "writes": len(self.writes),
            }


# The old name, for callers that still use it (the engine has a World of its own).
World = IncidentIoWorld
