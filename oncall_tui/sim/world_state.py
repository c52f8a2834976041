"""The simulated incident.io organisation's state, clock and write log: what every part
of :class:`~oncall_tui.sim.world.IncidentIoWorld` (the org, rota, paging, incidents) builds on."""

from __future__ import annotations

import hashlib
import heapq
import itertools
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from oncall_tui.sim.ids import IdFactory
from oncall_tui.sim.records import (
    DEFAULT_GRAFANA_URL,
    DEFAULT_ME_EMAIL,
    DEFAULT_ORG_URL,
    DEFAULT_RUNBOOK_URL,
    ORG_EPOCH,
    Actor,
    Clock,
    SimAlert,
    SimAlertNote,
    SimAlertSource,
    SimAttribute,
    SimEscalation,
    SimIncident,
    SimIncidentAlert,
    SimIncidentType,
    SimIncidentUpdate,
    SimNotificationMethod,
    SimNotificationRule,
    SimOverride,
    SimPath,
    SimRole,
    SimSchedule,
    SimSeverity,
    SimStatus,
    SimTimelineItem,
    SimUser,
    Team,
    Write,
    iso,
    real_clock,
)


class WorldState:
    """The simulated organisation's records (filled by its parts), its clock and the log
    of every write. Built relative to an injected clock and a seed (see
    :class:`~oncall_tui.sim.world.IncidentIoWorld`)."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        seed: int = 7,
        me_email: str = DEFAULT_ME_EMAIL,
        me_name: str = "Robin Ahn",
        speed: float = 1.0,
        org_url: str = DEFAULT_ORG_URL,
        grafana_url: str = DEFAULT_GRAFANA_URL,
        runbook_url: str = DEFAULT_RUNBOOK_URL,
        api_key_name: str = "oncall-tui demo key",
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.clock: Clock = clock or real_clock
        self.seed = seed
        self.speed = float(speed)
        self.org_url = org_url.rstrip("/")
        self.grafana_url = grafana_url.rstrip("/")
        self.runbook_url = runbook_url.rstrip("/")
        self.ids = IdFactory(seed)
        self.lock = threading.RLock()
        self.started_at = self._now_checked()
        # The organisation was set up on a fixed date, so its ids (people, schedules,
        # paths) are the same on every run with the same seed; only a clock set before
        # then moves it.
        self.org_born = min(ORG_EPOCH, self.started_at - timedelta(days=400))
        self.api_key = Actor(
            "api_key", self.ids.new(self.org_born + timedelta(days=300)), api_key_name
        )
        self.writes: list[Write] = []
        self.schedule_entries_page_limit = 250
        # Schedule entries as the 2.29.0 schema has them: no ``layer_id`` (only the
        # rotation). True brings back the older shape, where each entry named its layer.
        self.entry_layer_ids = False
        # Switches for what the published API leaves unsaid, so the client's fallbacks
        # are exercised: a real incident.io might refuse any of these.
        self.refuse_nobody_overrides = False  # an override to {"id": "NOBODY"}
        self.refuse_act_as_on_respond = False  # X-Incident-User on responding to a page
        self.refuse_unassign_by_omission = False  # a role assignment without "assignee"

        self.teams: dict[str, Team] = {}
        self.users: dict[str, SimUser] = {}
        self.schedules: dict[str, SimSchedule] = {}
        self.overrides: dict[str, SimOverride] = {}
        self.paths: dict[str, SimPath] = {}
        self.escalations: dict[str, SimEscalation] = {}  # insertion = creation order
        self.alert_sources: dict[str, SimAlertSource] = {}
        self.alert_attributes: dict[str, SimAttribute] = {}
        self.alerts: dict[str, SimAlert] = {}
        self.alert_notes: dict[str, SimAlertNote] = {}
        self.severities: dict[str, SimSeverity] = {}
        self.statuses: dict[str, SimStatus] = {}
        self.roles: dict[str, SimRole] = {}
        self.incident_types: dict[str, SimIncidentType] = {}
        self.incidents: dict[str, SimIncident] = {}
        self.incident_updates: dict[str, SimIncidentUpdate] = {}
        self.timeline_items: dict[str, SimTimelineItem] = {}
        self.incident_alerts: dict[str, SimIncidentAlert] = {}
        # How each person is woken (methods, rules); people not here get the defaults of
        # notification_setup().
        self.notification_setups: dict[
            str, tuple[list[SimNotificationMethod], list[SimNotificationRule]]
        ] = {}
        self.catalog_team_type_id = ""
        self.next_external_id = 240

        self._idem: dict[tuple[str, str], str] = {}  # (kind, key) -> object id
        self._open_escalations: set[str] = set()
        self._events: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self._event_seq = itertools.count()
        self._write_seq = itertools.count(1)
        self._deleted_overrides: set[str] = set()
        self._firing_keys: dict[tuple[str, str], str] = {}  # firing alerts by (source, key)
        self._route_id = self.ids.new(self.org_born + timedelta(days=100))

        self._build_org(me_email=me_email, me_name=me_name)

    def _build_org(self, *, me_email: str, me_name: str) -> None:
        """Fill the organisation: people, teams, schedules, paths, settings (the org part)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ clock & time

    def _now_checked(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the world clock must return aware datetimes")
        return now.astimezone(UTC)

    def now(self) -> datetime:
        return self._now_checked()

    def scaled(self, seconds: float) -> timedelta:
        """A scenario wait of ``seconds``, shortened by :attr:`speed`."""
        return timedelta(seconds=seconds / self.speed)

    def at(self, when: datetime, action: Callable[[datetime], None]) -> None:
        """Run ``action(when)`` once the clock reaches ``when`` (applied lazily)."""
        heapq.heappush(self._events, (when, next(self._event_seq), action))

    # ---------------------------------------------------------------- the write log

    def _record(self, kind: str, target_id: str, actor: Actor | None, **data: Any) -> None:
        actor = actor or self.api_key
        self.writes.append(
            Write(
                next(self._write_seq),
                self.now(),
                kind,
                target_id,
                f"{actor.kind}:{actor.name}",
                {k: v for k, v in data.items() if v is not None},
            )
        )

    def writes_of(self, kind: str) -> list[Write]:
        return [w for w in self.writes if w.kind == kind]


def _fingerprint(*parts: object) -> str:
    text = "|".join(iso(p) if isinstance(p, datetime) else str(p) for p in parts)
    return hashlib.sha1(text.encode()).hexdigest()[:26]


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(p for p in out.split("-") if p)
