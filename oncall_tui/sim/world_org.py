"""The simulated organisation itself: teams, people, schedules and their rotations, paths,
severities, statuses, roles, incident types and the alert source (built once, from the seed),
and the look-ups over them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from oncall_tui.sim.records import (
    NOBODY_ID,
    Actor,
    SimAlertSource,
    SimAttribute,
    SimIncident,
    SimIncidentType,
    SimLayer,
    SimLevel,
    SimNotificationMethod,
    SimNotificationRule,
    SimPath,
    SimRole,
    SimRotation,
    SimSchedule,
    SimSeverity,
    SimStatus,
    SimTarget,
    SimUser,
    Team,
    WorkingInterval,
    found,
    invalid,
    not_found,
)
from oncall_tui.sim.world_state import WorldState

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


class OrgWorld(WorldState):
    """The organisation and its look-ups."""

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
        return found(self.users, user_id, "User")

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
