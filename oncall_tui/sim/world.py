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

The records it keeps are in :mod:`oncall_tui.sim.records` (re-exported here)."""

from __future__ import annotations

import hashlib
import heapq
import itertools
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from oncall_tui.sim.ids import IdFactory
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

# name, email local part, region, team key, Mon–Fri hours (schedule-local)
_PEOPLE: tuple[tuple[str, str, str, str, tuple[str, str]], ...] = (
    ("Ana Souza", "ana.souza", "europe", "payments", ("07:00", "16:00")),
    ("Kofi Mensah", "kofi.mensah", "americas_east", "payments", ("13:00", "22:00")),
    ("Priya Natarajan", "priya.natarajan", "europe", "platform", ("08:00", "17:00")),
    ("Tomás Herrera", "tomas.herrera", "americas_west", "platform", ("15:00", "23:00")),
    ("Mei Lin", "mei.lin", "europe", "platform", ("06:00", "15:00")),
    ("Yuki Tanaka", "yuki.tanaka", "americas_west", "platform", ("15:00", "23:00")),
    ("Jonas Becker", "jonas.becker", "europe", "search", ("08:00", "17:00")),
    ("Aisha Bello", "aisha.bello", "americas_east", "search", ("13:00", "22:00")),
    ("Liam O'Connor", "liam.oconnor", "americas_west", "search", ("15:00", "23:00")),
)


_TEAMS = (
    ("payments", "Payments", "Europe/London"),
    ("platform", "Platform", "Europe/London"),
    ("search", "Search", "Europe/London"),
)


class IncidentIoWorld:
    """The whole simulated organisation and its mutable state.

    ``clock`` returns aware UTC datetimes (default: real time). ``speed`` divides the
    scenario's waiting times (a level's time-to-ack, the scripted alert timings), so a
    demo or a drill can make a five-minute climb take thirty seconds. ``seed`` fixes
    every id, token and random choice.
    """

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

    # -------------------------------------------------------------------- the org

    def _build_org(self, *, me_email: str, me_name: str) -> None:
        t0 = self.started_at
        born = self.org_born
        new = self.ids.new
        for key, name, _tz in _TEAMS:
            team = Team(new(born), name)
            self.teams[key] = team
        self.catalog_team_type_id = new(born)

        def add_user(
            name: str,
            email: str,
            region: str,
            team: str,
            hours: tuple[str, str],
            *,
            active: bool = True,
            role: str = "responder",
        ) -> SimUser:
            uid = new(born)
            user = SimUser(
                id=uid,
                name=name,
                email=email,
                slack_user_id="U" + uid[-9:],
                region=region,
                hours=hours,
                team_ids=[self.teams[team].id] if team else [],
                role=role,
                base_role=role,
                is_active=active,
                on_call_seat="full_access" if active else "none",
            )
            self.users[uid] = user
            return user

        self.me = add_user(me_name, me_email, "europe", "payments", ("08:00", "17:00"))
        by_key: dict[str, SimUser] = {"me": self.me}
        for name, local, region, team_key, hours in _PEOPLE:
            by_key[local] = add_user(name, f"{local}@example.com", region, team_key, hours)
        self.former = add_user(
            "Dana Whitfield",
            "dana.whitfield@example.com",
            "europe",
            "",
            ("09:00", "17:00"),
            active=False,
            role="viewer",
        )
        self.people = by_key

        def ids(*keys: str) -> list[str]:
            return [by_key[k].id for k in keys]

        team_members = {
            "payments": ids("me", "ana.souza", "kofi.mensah"),
            "platform": ids("priya.natarajan", "tomas.herrera", "mei.lin", "yuki.tanaka"),
            "search": ids("jonas.becker", "aisha.bello", "liam.oconnor"),
        }
        today = datetime.combine(t0.date(), time(0), tzinfo=UTC)
        monday = today - timedelta(days=t0.weekday())
        # Weekly support hands over at 09:00, anchored two days back so whoever is
        # first in the rota (me, for Payments) is on call now and for days to come.
        support_anchor = today - timedelta(days=2) + timedelta(hours=9)

        def rotation(
            name: str,
            users: list[str],
            start: datetime,
            *,
            layer: str | None = None,
            interval_type: str = "weekly",
            intervals: Iterable[WorkingInterval] = (),
        ) -> SimRotation:
            return SimRotation(
                id=new(born),
                name=name,
                layers=[SimLayer(new(born), layer or name)],
                user_ids=list(users),
                handover_start_at=start,
                interval_type=interval_type,
                working_intervals=list(intervals),
                effective_from=start - timedelta(days=180),
            )

        def weekdays(start: str, end: str) -> list[WorkingInterval]:
            return [WorkingInterval(d, start, end) for d in range(5)]

        self.schedule_by_name: dict[str, SimSchedule] = {}

        def schedule(name: str, tz: str, team_ids: list[str], rotations: list[SimRotation]) -> None:
            sched = SimSchedule(
                new(born), name, tz, team_ids, rotations, born, born + timedelta(days=30)
            )
            self.schedules[sched.id] = sched
            self.schedule_by_name[name] = sched

        for key, team_name, tz in _TEAMS:
            team = self.teams[key]
            members = team_members[key]
            # One rotation per engineer: each has their own working hours, Mon–Fri.
            rots = []
            for uid in members:
                user = self.users[uid]
                rots.append(
                    rotation(
                        f"{user.name.split()[0]} (working hours)",
                        [uid],
                        monday,
                        layer="Primary",
                        intervals=weekdays(*user.hours),
                    )
                )
            schedule(f"On call: {team_name}", tz, [team.id], rots)
            schedule(
                f"Support: {team_name}",
                tz,
                [team.id],
                [rotation("Support", members, support_anchor)],
            )

        schedule(
            "Escalators",
            "UTC",
            [],
            [
                rotation(
                    "Escalators", ids("mei.lin", "jonas.becker", "liam.oconnor"), support_anchor
                )
            ],
        )

        weekend = (5, 6)
        global_rots = [
            rotation(
                "Europe",
                ids("priya.natarajan", "me", "ana.souza", "mei.lin", "jonas.becker"),
                monday,
                intervals=weekdays("06:00", "16:00"),
            ),
            rotation(
                "Americas East",
                ids("kofi.mensah", "aisha.bello"),
                monday,
                intervals=weekdays("14:00", "23:00"),
            ),
            rotation(
                "Americas West",
                ids("tomas.herrera", "liam.oconnor", "yuki.tanaka"),
                monday,
                intervals=weekdays("00:00", "06:00"),
            ),
            rotation(
                "Europe Weekend",
                ids("jonas.becker", "me", "mei.lin", "priya.natarajan", "ana.souza"),
                monday,
                intervals=[WorkingInterval(d, "06:00", "18:00") for d in weekend],
            ),
            rotation(
                "Americas Weekend",
                ids("aisha.bello", "yuki.tanaka", "kofi.mensah", "liam.oconnor", "tomas.herrera"),
                monday,
                intervals=[
                    WorkingInterval(d, a, b)
                    for d in weekend
                    for a, b in (("00:00", "06:00"), ("18:00", "24:00"))
                ],
            ),
        ]
        schedule("Global on-call", "UTC", [], global_rots)

        # Escalation paths: team → Escalators → Global; no team → Global → Escalators.
        esc = self.schedule_by_name["Escalators"].id
        glob = self.schedule_by_name["Global on-call"].id
        self.path_by_team: dict[str, SimPath] = {}
        for key, team_name, _tz in _TEAMS:
            team = self.teams[key]
            path = SimPath(
                new(born),
                f"{team_name} escalation",
                [team.id],
                [
                    SimLevel(
                        new(born),
                        [
                            SimTarget(
                                "schedule", self.schedule_by_name[f"On call: {team_name}"].id
                            ),
                            SimTarget(
                                "schedule", self.schedule_by_name[f"Support: {team_name}"].id
                            ),
                        ],
                        300,
                    ),
                    SimLevel(new(born), [SimTarget("schedule", esc)], 300),
                    SimLevel(new(born), [SimTarget("schedule", glob)], 600),
                ],
            )
            self.paths[path.id] = path
            self.path_by_team[team.id] = path
        self.global_path = SimPath(
            new(born),
            "Global on-call (no owning team)",
            [],
            [
                SimLevel(new(born), [SimTarget("schedule", glob)], 600),
                SimLevel(new(born), [SimTarget("schedule", esc)], 600),
            ],
        )
        self.paths[self.global_path.id] = self.global_path
        # A path built from a template (incident.io's escalation path templates): the API
        # shows no levels for it, only the template and the values bound to it.
        self.templated_path = SimPath(
            new(born),
            "Escalators on call (from template)",
            [],
            [SimLevel(new(born), [SimTarget("schedule", esc)], 600)],
            kind="templated",
            template_id=new(born),
            param_bindings={
                "schedule": {"value": {"label": "Escalators", "literal": esc}},
            },
        )
        self.paths[self.templated_path.id] = self.templated_path

        # Severities (higher rank = more severe), statuses in every category.
        for rank, (name, desc) in enumerate(
            (
                (
                    "Minor",
                    "Some customers notice degraded service; a workaround exists. "
                    "No one needs to be woken up.",
                ),
                (
                    "Major",
                    "A core feature is broken or slow for many customers. Page the "
                    "owning team and keep stakeholders posted.",
                ),
                (
                    "Critical",
                    "The product is down or losing data for most customers. "
                    "All hands: page escalators and update the status page.",
                ),
            ),
            start=1,
        ):
            sev = SimSeverity(new(born), name, rank, desc, born)
            self.severities[sev.id] = sev
        for rank, (name, category, desc) in enumerate(
            (
                ("Triage", "triage", "We are checking whether this is a real incident."),
                ("Investigating", "live", "We are working out what is wrong."),
                ("Fixing", "live", "We know the cause and are putting a fix in place."),
                ("Monitoring", "live", "A fix is out; we are watching that it holds."),
                ("Paused", "paused", "Work is paused and will resume later."),
                ("Documenting", "learning", "The incident is over; write-up in progress."),
                ("In review", "learning", "The write-up is being reviewed."),
                ("Closed", "closed", "The incident is over and written up."),
                ("Declined", "declined", "Triage found this was not an incident."),
                ("Merged", "merged", "Merged into another incident."),
                ("Canceled", "canceled", "Opened by mistake."),
            ),
            start=1,
        ):
            st = SimStatus(new(born), name, category, rank, desc, born)
            self.statuses[st.id] = st
        for name, short, rtype, desc, instructions, required in (
            (
                "Incident Lead",
                "lead",
                "lead",
                "Runs the response and owns the incident.",
                "Get the right people on the call, keep timestamped notes, and post updates.",
                True,
            ),
            (
                "Reporter",
                "reporter",
                "reporter",
                "Who raised the incident.",
                "Share what you saw and when.",
                False,
            ),
            (
                "Communications",
                "comms",
                "custom",
                "Keeps customers and colleagues informed.",
                "Update the status page and the announcement channel.",
                False,
            ),
        ):
            role = SimRole(new(born), name, short, rtype, desc, instructions, required, born)
            self.roles[role.id] = role
        for name, desc, default, triage in (
            ("Default", "Anything that hurts customers or colleagues.", True, "optional"),
            ("Security", "Suspected breach or vulnerability being exploited.", False, "always"),
            ("Data quality", "Wrong or missing data shown to customers.", False, "optional"),
        ):
            itype = SimIncidentType(new(born), name, desc, default, triage, born)
            self.incident_types[itype.id] = itype

        source = SimAlertSource(new(born), "Prometheus (HTTP)", "http", self.ids.token(), [], born)
        self.alert_sources[source.id] = source
        self.http_source = source
        for name, typ, emoji in (
            ("team", f'CatalogEntry["{self.catalog_team_type_id}"]', "busts_in_silhouette"),
            ("severity", "String", "rotating_light"),
            ("service", "String", None),
            ("runbook_url", "String", "book"),
            ("dashboard_url", "String", "chart_with_upwards_trend"),
        ):
            attr = SimAttribute(new(born), name, typ, emoji=emoji)
            self.alert_attributes[name] = attr

    # ---------------------------------------------------------------- look-ups

    def user(self, user_id: str) -> SimUser:
        try:
            return self.users[user_id]
        except KeyError:
            raise not_found("User", user_id) from None

    def notification_setup(
        self, user_id: str
    ) -> tuple[list[SimNotificationMethod], list[SimNotificationRule]]:
        """A person's notification methods and rules: by default the app (a critical
        push at once), a phone call after five minutes, and email for low urgency."""
        user = self.user(user_id)
        if user_id in self.notification_setups:
            return self.notification_setups[user_id]
        phone = f"+44 7700 900{sum(map(ord, user.id)) % 1000:03d}"
        methods = [
            SimNotificationMethod(f"{user.id}-app", "app", f"{user.name.split()[0]}'s phone"),
            SimNotificationMethod(f"{user.id}-phone", "phone", phone, sms=True, voice=True),
            SimNotificationMethod(f"{user.id}-email", "email", user.email),
        ]
        rules = [
            SimNotificationRule(f"{user.id}-r1", "app", "high_urgency", 0, criticality="critical"),
            SimNotificationRule(
                f"{user.id}-r2", "phone", "high_urgency", 300, f"{user.id}-phone", "voice"
            ),
            SimNotificationRule(f"{user.id}-r3", "email", "low_urgency", 0),
        ]
        return methods, rules

    def team_by_name(self, name: str) -> Team | None:
        name = name.strip().lower()
        return next(
            (t for k, t in self.teams.items() if name in (k, t.name.lower(), t.id.lower())), None
        )

    def resolve_user_ref(self, ref: dict[str, Any] | None, field_name: str) -> str | None:
        """A ``UserReferencePayloadV2`` → user id; ``None`` means NOBODY."""
        if not isinstance(ref, dict):
            raise invalid("a user reference is required", field_name, "is_required")
        uid, email, slack = ref.get("id"), ref.get("email"), ref.get("slack_user_id")
        if uid == NOBODY_ID or (not uid and not email and not slack):
            return None
        for user in self.users.values():
            if (
                (uid and user.id == uid)
                or (email and user.email.lower() == str(email).lower())
                or (slack and user.slack_user_id == slack)
            ):
                return user.id
        raise invalid("no user matches this reference", field_name, "not_found")

    def actor_for(self, user_id: str | None) -> Actor:
        if user_id and user_id in self.users:
            return Actor("user", user_id, self.users[user_id].name)
        return self.api_key

    def severity_by_name(self, name: str) -> SimSeverity:
        return next(s for s in self.severities.values() if s.name.lower() == name.lower())

    def status_by_name(self, name: str) -> SimStatus:
        return next(s for s in self.statuses.values() if s.name.lower() == name.lower())

    def role_by_type(self, short: str) -> SimRole:
        return next(r for r in self.roles.values() if r.shortform == short)

    def incident(self, ident: str) -> SimIncident:
        """By ULID, or by the reference's number (``INC-123``, ``123``)."""
        if ident in self.incidents:
            return self.incidents[ident]
        text = ident.strip().lower().lstrip("#")
        if text.startswith("inc-"):
            text = text[4:]
        if text.isdigit():
            n = int(text)
            for inc in self.incidents.values():
                if inc.external_id == n:
                    return inc
        raise not_found("Incident", ident)

    # --------------------------------------------------------------- schedules

    def scheduled_entries(self, sched: SimSchedule, start: datetime, end: datetime) -> list[Entry]:
        """The rota as the rules produce it, for entries overlapping ``[start, end)``."""
        tz = ZoneInfo(sched.timezone)
        out: list[Entry] = []
        for rot in sched.rotations:
            n, k = len(rot.user_ids), len(rot.layers)
            if not n or not k:
                continue
            period = rot.period
            first = (start - rot.handover_start_at) // period
            last = -((rot.handover_start_at - end) // period)  # ceil
            for i in range(first, last):
                ps = rot.handover_start_at + i * period
                pe = ps + period
                for j, layer in enumerate(rot.layers):
                    uid = rot.user_ids[(i * k + j) % n]
                    if uid == NOBODY_ID:
                        continue
                    windows = (
                        _working_windows(rot.working_intervals, ps, pe, tz)
                        if (rot.working_intervals)
                        else [(ps, pe)]
                    )
                    for ws, we in windows:
                        if we > start and ws < end:
                            out.append(
                                Entry(
                                    ws,
                                    we,
                                    rot.id,
                                    layer.id,
                                    uid,
                                    _fingerprint(rot.id, layer.id, uid, ws, we),
                                )
                            )
        out.sort(key=lambda e: (e.start, e.rotation_id, e.layer_id))
        return out

    def overrides_for(self, schedule_id: str, start: datetime, end: datetime) -> list[SimOverride]:
        return sorted(
            (
                o
                for o in self.overrides.values()
                if o.schedule_id == schedule_id and o.end > start and o.start < end
            ),
            key=lambda o: (o.start, o.id),
        )

    def entries(
        self, sched: SimSchedule, start: datetime, end: datetime
    ) -> tuple[list[Entry], list[Entry], list[Entry]]:
        """``(scheduled, overrides, final)`` for entries overlapping ``[start, end)``.

        ``final`` is the scheduled rota with each override replacing its layer for its
        window; an override to NOBODY appears in ``final`` without a user.
        """
        scheduled = self.scheduled_entries(sched, start, end)
        ovs = self.overrides_for(sched.id, start, end)
        override_entries = [
            Entry(
                o.start,
                o.end,
                o.rotation_id,
                o.layer_id,
                o.user_id,
                _fingerprint(o.id, o.layer_id, o.user_id or NOBODY_ID, o.start, o.end),
                o.id,
            )
            for o in ovs
        ]
        by_layer: dict[tuple[str, str], list[SimOverride]] = {}
        for o in ovs:
            by_layer.setdefault((o.rotation_id, o.layer_id), []).append(o)
        final: list[Entry] = list(override_entries)
        for e in scheduled:
            pieces = [(e.start, e.end)]
            for o in by_layer.get((e.rotation_id, e.layer_id), ()):
                pieces = [p for s, t in pieces for p in _subtract(s, t, o.start, o.end)]
            for s, t in pieces:
                if s == e.start and t == e.end:
                    final.append(e)
                else:
                    final.append(
                        Entry(
                            s,
                            t,
                            e.rotation_id,
                            e.layer_id,
                            e.user_id,
                            _fingerprint(e.rotation_id, e.layer_id, e.user_id, s, t),
                        )
                    )
        final = [f for f in final if f.end > start and f.start < end]
        final.sort(key=lambda f: (f.start, f.rotation_id, f.layer_id))
        return scheduled, override_entries, final

    def on_call(self, schedule_id: str, at: datetime) -> list[Entry]:
        """Final entries covering ``at`` (including uncovered NOBODY entries)."""
        sched = self.schedules[schedule_id]
        _s, _o, final = self.entries(sched, at, at + timedelta(microseconds=1))
        return [f for f in final if f.start <= at < f.end]

    def current_and_next_shifts(
        self, sched: SimSchedule, at: datetime
    ) -> tuple[list[Entry], list[Entry]]:
        """``current_shifts`` (ongoing) and ``next_shifts`` (after the next changeover)."""
        _s, _o, final = self.entries(sched, at, at + timedelta(days=21))
        current = [f for f in final if f.start <= at < f.end]
        changes = [f.end for f in current] + [f.start for f in final if f.start > at]
        if not changes:
            return current, []
        changeover = min(changes)
        upcoming = [f for f in final if f.start <= changeover < f.end]
        return current, upcoming

    def users_on_call(self, schedule_id: str, at: datetime) -> list[str]:
        seen: list[str] = []
        for e in self.on_call(schedule_id, at):
            if e.user_id and e.user_id not in seen:
                seen.append(e.user_id)
        return seen

    # ----------------------------------------------------------------- overrides

    def _check_layer(self, sched: SimSchedule, rotation_id: str, layer_id: str) -> None:
        rot = sched.rotation(rotation_id)
        if rot is None:
            raise invalid("rotation not found on this schedule", "rotation_id", "not_found")
        if all(layer.id != layer_id for layer in rot.layers):
            raise invalid("layer not found on this rotation", "layer_id", "not_found")

    def _displace(self, keep: SimOverride, now: datetime) -> None:
        """Overrides on one layer never overlap: trim, split or drop the neighbours."""
        for other in list(self.overrides.values()):
            if other.id == keep.id or (other.schedule_id, other.rotation_id, other.layer_id) != (
                keep.schedule_id,
                keep.rotation_id,
                keep.layer_id,
            ):
                continue
            if other.end <= keep.start or other.start >= keep.end:
                continue
            left = (other.start, keep.start) if other.start < keep.start else None
            right = (keep.end, other.end) if other.end > keep.end else None
            if left and right:
                other.end = keep.start
                other.updated_at = now
                tail = SimOverride(
                    self.ids.new(now),
                    other.schedule_id,
                    other.rotation_id,
                    other.layer_id,
                    right[0],
                    right[1],
                    other.user_id,
                    now,
                    now,
                )
                self.overrides[tail.id] = tail
            elif left:
                other.end, other.updated_at = keep.start, now
            elif right:
                other.start, other.updated_at = keep.end, now
            else:
                del self.overrides[other.id]

    def create_override(
        self,
        *,
        schedule_id: str,
        rotation_id: str,
        layer_id: str,
        start: datetime,
        end: datetime,
        user_ref: dict[str, Any] | None,
        actor: Actor | None = None,
    ) -> SimOverride:
        with self.lock:
            now = self.now()
            sched = self.schedules.get(schedule_id)
            if sched is None:
                raise invalid("schedule not found", "schedule_id", "not_found")
            self._check_layer(sched, rotation_id, layer_id)
            if end <= start:
                raise invalid("end_at must be after start_at", "end_at")
            user_id = self.resolve_user_ref(user_ref, "user")
            if user_id is None and self.refuse_nobody_overrides:
                raise invalid("user must be a user in your organisation", "user", "not_found")
            ov = SimOverride(
                self.ids.new(now), schedule_id, rotation_id, layer_id, start, end, user_id, now, now
            )
            self.overrides[ov.id] = ov
            self._displace(ov, now)
            self._record(
                "override.create",
                ov.id,
                actor,
                schedule_id=schedule_id,
                rotation_id=rotation_id,
                layer_id=layer_id,
                start_at=iso(start),
                end_at=iso(end),
                user_id=user_id or NOBODY_ID,
            )
            return ov

    def update_override(
        self,
        override_id: str,
        *,
        rotation_id: str,
        layer_id: str,
        start: datetime,
        end: datetime,
        user_ref: dict[str, Any] | None,
        actor: Actor | None = None,
    ) -> SimOverride:
        with self.lock:
            now = self.now()
            ov = self.overrides.get(override_id)
            if ov is None:
                raise not_found("Schedule override", override_id)
            sched = self.schedules[ov.schedule_id]
            self._check_layer(sched, rotation_id, layer_id)
            if end <= start:
                raise invalid("end_at must be after start_at", "end_at")
            if self.resolve_user_ref(user_ref, "user") != ov.user_id:
                raise invalid(
                    "the user of an override cannot be changed; delete it and create another",
                    "user",
                )
            ov.rotation_id, ov.layer_id, ov.start, ov.end, ov.updated_at = (
                rotation_id,
                layer_id,
                start,
                end,
                now,
            )
            self._displace(ov, now)
            self._record("override.update", ov.id, actor, start_at=iso(start), end_at=iso(end))
            return ov

    def delete_override(self, override_id: str, actor: Actor | None = None) -> None:
        with self.lock:
            existed = self.overrides.pop(override_id, None) is not None
            if not existed and override_id not in self._deleted_overrides:
                raise not_found("Schedule override", override_id)
            self._deleted_overrides.add(override_id)
            self._record("override.delete", override_id, actor, existed=existed)

    # ---------------------------------------------------------------- escalations

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
        try:
            return self.escalations[escalation_id]
        except KeyError:
            raise not_found("Escalation", escalation_id) from None

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
        try:
            return self.alerts[alert_id]
        except KeyError:
            raise not_found("Alert", alert_id) from None

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

    # ------------------------------------------------------------------ incidents

    def check_status_move(self, current: SimStatus, target: SimStatus) -> None:
        """Refuse the moves incident.io forbids, with the reason in words."""
        a, b = current.category, target.category
        if current.id == target.id:
            return
        if a == "learning" and b == "learning":
            raise invalid(
                f"cannot move from {current.name} to {target.name}: an incident cannot move "
                "between post-incident statuses",
                "incident_status_id",
                "invalid_transition",
            )
        allowed = {
            "triage": {
                "triage",
                "live",
                "learning",
                "closed",
                "declined",
                "canceled",
                "merged",
                "paused",
            },
            "live": {"live", "paused", "learning", "closed", "merged"},
            "paused": {"paused", "live", "learning", "closed"},
            "learning": {"closed"},
        }.get(a, set())
        if b not in allowed:
            if a in ("closed", "declined", "canceled", "merged"):
                why = f"the incident is already {current.name.lower()}"
            elif b == "triage":
                why = "an incident that has left triage cannot go back to it"
            else:
                why = f"{a} incidents cannot move to the {b} category"
            raise invalid(
                f"cannot move from {current.name} to {target.name}: {why}",
                "incident_status_id",
                "invalid_transition",
            )

    def _status(self, status_id: str, field_name: str) -> SimStatus:
        st = self.statuses.get(status_id)
        if st is None:
            raise invalid("incident status not found", field_name, "not_found")
        return st

    def _severity(self, severity_id: str, field_name: str) -> SimSeverity:
        sev = self.severities.get(severity_id)
        if sev is None:
            raise invalid("severity not found", field_name, "not_found")
        return sev

    def declare_incident(
        self,
        *,
        idempotency_key: str,
        name: str | None,
        summary: str | None = None,
        severity_id: str | None = None,
        status_id: str | None = None,
        type_id: str | None = None,
        mode: str = "standard",
        visibility: str = "public",
        role_assignments: dict[str, str | None] | None = None,
        actor: Actor | None = None,
        at: datetime | None = None,
        record: bool = True,
    ) -> tuple[SimIncident, bool]:
        """Open an incident. Without a lead assignment the lead is "me": the sim's API key
        was made by me, and declaring from the dashboard makes you lead."""
        with self.lock:
            if ("incident", idempotency_key) in self._idem:
                return self.incidents[self._idem[("incident", idempotency_key)]], False
            itype = None
            if type_id:
                itype = self.incident_types.get(type_id)
                if itype is None:
                    raise invalid("incident type not found", "incident_type_id", "not_found")
            else:
                itype = next(t for t in self.incident_types.values() if t.is_default)
            if itype.create_in_triage == "always":
                status = self.status_by_name("Triage")
            elif status_id:
                status = self._status(status_id, "incident_status_id")
            else:
                status = self.status_by_name("Investigating")
            if status.category not in ("triage", "live"):
                raise invalid(
                    "a new incident must start in triage or an active status", "incident_status_id"
                )
            if severity_id:
                self._severity(severity_id, "severity_id")
            elif status.category != "triage":
                raise invalid(
                    "A severity is required to open an incident", "severity_id", "is_required"
                )
            at = at or self.now()
            roles: dict[str, str] = {}
            for role_id, user_id in (role_assignments or {}).items():
                if role_id not in self.roles:
                    raise invalid(
                        "incident role not found", "incident_role_assignments", "not_found"
                    )
                if user_id:
                    roles[role_id] = user_id
            lead = self.role_by_type("lead")
            if lead.id not in roles:
                roles[lead.id] = self.me.id
            n = self.next_external_id
            self.next_external_id += 1
            inc = SimIncident(
                id=self.ids.new(at),
                external_id=n,
                name=name or f"Incident {n}",
                summary=summary or "",
                status_id=status.id,
                severity_id=severity_id,
                type_id=itype.id,
                creator=actor or self.api_key,
                created_at=at,
                updated_at=at,
                mode=mode,
                visibility=visibility,
                roles=roles,
                slack_channel_id="C" + self.ids.new(at)[-9:],
                slack_channel_name=f"inc-{n}-" + _slug(name or "incident")[:40],
                idempotency_key=idempotency_key,
            )
            self.incidents[inc.id] = inc
            self._idem[("incident", idempotency_key)] = inc.id
            self._activity(
                inc,
                at,
                "Incident declared",
                f"{inc.reference} was declared as {status.name}.",
                actor or self.api_key,
            )
            if record:
                self._record(
                    "incident.create",
                    inc.id,
                    actor,
                    name=inc.name,
                    severity_id=severity_id,
                    status_id=status.id,
                    lead_id=roles.get(lead.id),
                )
            return inc, True

    def _activity(
        self, inc: SimIncident, at: datetime, title: str, description: str, actor: Actor
    ) -> SimTimelineItem:
        item = SimTimelineItem(
            self.ids.new(at),
            inc.id,
            at,
            title,
            actor,
            at,
            at,
            description,
            activity_log_id=self.ids.new(at),
        )
        self.timeline_items[item.id] = item
        return item

    def _apply_change(
        self,
        inc: SimIncident,
        *,
        status_id: str | None,
        severity_id: str | None,
        message: str | None,
        actor: Actor,
        at: datetime,
        idempotency_key: str = "",
    ) -> SimIncidentUpdate | None:
        status = self.statuses[inc.status_id]
        new_status = self._status(status_id, "incident_status_id") if status_id else status
        if severity_id:
            self._severity(severity_id, "severity_id")
        self.check_status_move(status, new_status)
        changed = new_status.id != inc.status_id or (severity_id and severity_id != inc.severity_id)
        if not changed and not message:
            return None
        old_sev = self.severities.get(inc.severity_id or "")
        inc.status_id = new_status.id
        if severity_id:
            inc.severity_id = severity_id
        inc.updated_at = at
        update = SimIncidentUpdate(
            self.ids.new(at),
            inc.id,
            new_status.id,
            actor,
            at,
            message or None,
            severity_id,
            idempotency_key,
        )
        self.incident_updates[update.id] = update
        if new_status.id != status.id:
            self._activity(
                inc,
                at,
                f"Status changed to {new_status.name}",
                f"From {status.name} to {new_status.name}.",
                actor,
            )
        if severity_id and old_sev and severity_id != old_sev.id:
            self._activity(
                inc,
                at,
                f"Severity changed to {self.severities[severity_id].name}",
                f"From {old_sev.name}.",
                actor,
            )
        return update

    def edit_incident(
        self,
        incident_id: str,
        *,
        name: str | None = None,
        summary: str | None = None,
        status_id: str | None = None,
        severity_id: str | None = None,
        call_url: str | None = None,
        role_assignments: dict[str, str | None] | None = None,
        actor: Actor | None = None,
    ) -> SimIncident:
        with self.lock:
            inc = self.incident(incident_id)
            now = self.now()
            actor = actor or self.api_key
            for role_id in role_assignments or {}:
                if role_id not in self.roles:
                    raise invalid(
                        "incident role not found", "incident.incident_role_assignments", "not_found"
                    )
            self._apply_change(
                inc, status_id=status_id, severity_id=severity_id, message=None, actor=actor, at=now
            )
            if name is not None:
                inc.name = name
            if summary is not None:
                inc.summary = summary
            if call_url is not None:
                inc.call_url = call_url or None
            for role_id, user_id in (role_assignments or {}).items():
                before = inc.roles.get(role_id)
                if user_id:
                    inc.roles[role_id] = user_id
                else:
                    inc.roles.pop(role_id, None)
                if before != user_id:
                    role = self.roles[role_id]
                    who = self.users[user_id].name if user_id else "nobody"
                    self._activity(
                        inc,
                        now,
                        f"{role.name} is now {who}",
                        f"{role.name} assigned to {who}.",
                        actor,
                    )
            inc.updated_at = now
            self._record(
                "incident.edit",
                inc.id,
                actor,
                status_id=status_id,
                severity_id=severity_id,
                name=name,
                summary=summary,
                roles={k: v for k, v in (role_assignments or {}).items()},
            )
            return inc

    def create_incident_update(
        self,
        *,
        idempotency_key: str,
        incident_id: str,
        message: str | None = None,
        status_id: str | None = None,
        severity_id: str | None = None,
        actor: Actor | None = None,
        at: datetime | None = None,
        record: bool = True,
    ) -> tuple[SimIncidentUpdate, bool]:
        with self.lock:
            if ("incident_update", idempotency_key) in self._idem:
                uid = self._idem[("incident_update", idempotency_key)]
                return self.incident_updates[uid], False
            if not (message or status_id or severity_id):
                raise invalid(
                    "an update needs a message, a new status or a new severity",
                    "message",
                    "is_required",
                )
            inc = self.incident(incident_id)
            at = at or self.now()
            actor = actor or self.api_key
            update = self._apply_change(
                inc,
                status_id=status_id,
                severity_id=severity_id,
                message=message or None,
                actor=actor,
                at=at,
                idempotency_key=idempotency_key,
            )
            if update is None:  # nothing changed and no message: still record an update
                update = SimIncidentUpdate(
                    self.ids.new(at), inc.id, inc.status_id, actor, at, None, None, idempotency_key
                )
                self.incident_updates[update.id] = update
            self._idem[("incident_update", idempotency_key)] = update.id
            if record:
                self._record(
                    "incident_update.create",
                    update.id,
                    actor,
                    incident_id=inc.id,
                    message=message,
                    status_id=status_id,
                    severity_id=severity_id,
                )
            return update, True

    def create_timeline_item(
        self,
        *,
        idempotency_key: str,
        incident_id: str,
        timestamp: datetime,
        title: str,
        description: str | None = None,
        actor: Actor | None = None,
        at: datetime | None = None,
        record: bool = True,
    ) -> tuple[SimTimelineItem, bool]:
        with self.lock:
            if ("timeline_item", idempotency_key) in self._idem:
                return self.timeline_items[self._idem[("timeline_item", idempotency_key)]], False
            inc = self.incident(incident_id)
            if not title.strip():
                raise invalid("title must not be empty", "title", "is_required")
            at = at or self.now()
            actor = actor or self.api_key
            item = SimTimelineItem(
                self.ids.new(at),
                inc.id,
                timestamp,
                title,
                actor,
                at,
                at,
                description or None,
                None,
                idempotency_key,
            )
            self.timeline_items[item.id] = item
            self._idem[("timeline_item", idempotency_key)] = item.id
            if record:
                self._record(
                    "timeline_item.create",
                    item.id,
                    actor,
                    incident_id=inc.id,
                    title=title,
                    description=description,
                )
            return item, True

    def update_timeline_item(
        self,
        item_id: str,
        *,
        title: str | None = None,
        description: str | None = None,
        timestamp: datetime | None = None,
        actor: Actor | None = None,
    ) -> SimTimelineItem:
        with self.lock:
            item = self.timeline_items.get(item_id)
            if item is None:
                raise not_found("Timeline item", item_id)
            if timestamp is not None and item.activity_log_id:
                raise invalid(
                    "only custom timeline items can have their timestamp changed",
                    "timestamp",
                    "not_editable",
                )
            if title is not None:
                if not title.strip():
                    raise invalid("title must not be empty", "title", "is_required")
                item.title = title
            if description is not None:
                item.description = description or None
            if timestamp is not None:
                item.timestamp = timestamp
            item.updated_at = self.now()
            self._record(
                "timeline_item.update",
                item.id,
                actor,
                title=title,
                description=description,
                timestamp=iso(timestamp) if timestamp else None,
            )
            return item

    # ---------------------------------------------------------------- bulk & log

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


def _fingerprint(*parts: object) -> str:
    text = "|".join(iso(p) if isinstance(p, datetime) else str(p) for p in parts)
    return hashlib.sha1(text.encode()).hexdigest()[:26]


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(p for p in out.split("-") if p)


def _subtract(s: datetime, e: datetime, cut_s: datetime, cut_e: datetime) -> list[tuple]:
    if cut_e <= s or cut_s >= e:
        return [(s, e)]
    out = []
    if cut_s > s:
        out.append((s, cut_s))
    if cut_e < e:
        out.append((cut_e, e))
    return out


def _working_windows(
    intervals: list[WorkingInterval], start: datetime, end: datetime, tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The parts of ``[start, end)`` inside the working intervals (schedule-local times),
    with back-to-back pieces (Saturday 18–24 then Sunday 00–06) joined into one entry."""
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    pieces: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        for iv in intervals:
            if iv.weekday != day.weekday():
                continue
            a, b = iv.minutes()
            s = _local(day, a, tz)
            e = _local(day, b, tz)
            s, e = max(s, start), min(e, end)
            if s < e:
                pieces.append((s, e))
        day += timedelta(days=1)
    pieces.sort()
    merged: list[tuple[datetime, datetime]] = []
    for s, e in pieces:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _local(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """``day`` at ``minutes`` past local midnight, in UTC ("24:00" is the next midnight)."""
    if minutes >= 24 * 60:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=tz).astimezone(UTC)


# The old name, for callers that still use it (the engine has a World of its own).
World = IncidentIoWorld
