"""The story the simulated world tells, and the clock it tells it by.

:func:`build_world` is what the demo, the tests and the drills call. It builds the
organisation of :mod:`oncall_tui.sim.world` and then:

* **history** (before "now"): a closed incident from yesterday, one in post-incident
  from this morning, a live payments incident that started 42 minutes ago with its
  updates, timeline items, linked alerts and the page Kofi acknowledged, a security
  report still in triage, and a few alerts that fired and resolved earlier;
* **the script** (after "now", each wait divided by ``speed``): 1.5 s in, a critical
  ledger-lag alert pages the Payments path, which reaches me at level 1 and climbs to
  Escalators and then Global on-call if nobody acknowledges (the alert route attaches it
  to the live payments incident); a search latency spike fires
  and comes back down; a disk alert fires and stays; the live incident moves to
  Monitoring with a note; and then, every few minutes, a background alert fires and
  resolves (some of them critical, so they page too).

Everything is applied lazily: the world only moves when someone asks it
(:meth:`IncidentIoWorld.advance`), so a frozen :class:`SimClock` advanced by a test plays the same
story in no time.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from oncall_tui.sim.fired_before import seed_alert_history
from oncall_tui.sim.grafana import SimRule, Spike, fingerprint, grafana_alert_labels
from oncall_tui.sim.world import (
    DEFAULT_GRAFANA_URL,
    DEFAULT_ME_EMAIL,
    DEFAULT_RUNBOOK_URL,
    Actor,
    Clock,
    IncidentIoWorld,
    SimAlert,
    real_clock,
)

LEDGER_RULE_UID = "payments-ledger-consumer-lag"
ERRORS_RULE_UID = "payments-api-5xx"


def grafana_rules(runbook_url: str = DEFAULT_RUNBOOK_URL) -> list[SimRule]:
    """The Grafana-managed rules behind the story's pages, for the US Grafana.

    Their metrics follow the script from the moment the worlds are made: the ledger lag
    has been climbing for twelve minutes and crosses its 600 s threshold just before the
    page (its incident.io alert carries the Grafana alert's fingerprint as its
    deduplication key); the payments 5xx ratio peaked 43 minutes ago and is coming down
    after the rollback, still above its 5% threshold (its incident.io alert links to the
    rule's page).
    """
    minute = timedelta(minutes=1)
    return [
        SimRule(
            uid=LEDGER_RULE_UID,
            title="LedgerConsumerLag",
            expr=(
                'max by (consumer_group) (kafka_consumergroup_lag_seconds{consumer_group="ledger"})'
            ),
            threshold=600,
            spike=Spike(45, 900, 360 * minute, 20 * minute, 30 * minute, 12.3 * minute, 0.01),
            labels={"severity": "critical", "team": "payments", "service": "ledger-consumer"},
            annotations={
                "summary": "Payments: ledger consumer lag above 10 minutes",
                "description": "The ledger consumer is more than 600 s behind; balances "
                "shown to customers may be stale.",
                "runbook_url": f"{runbook_url}/payments/ledger-consumer-lag",
                "__dashboardUid__": "payments-ledger",
                "__panelId__": "3",
                "__orgId__": "1",
            },
            series_labels={"consumer_group": "ledger"},
            folder="Payments",
        ),
        SimRule(
            uid=ERRORS_RULE_UID,
            title="PaymentsApi5xxRate",
            expr=(
                'sum(rate(http_requests_total{service="payments-api",code=~"5.."}[5m]))'
                ' / sum(rate(http_requests_total{service="payments-api"}[5m]))'
            ),
            threshold=0.05,
            spike=Spike(0.004, 0.146, 360 * minute, 3 * minute, 76 * minute, 46 * minute, 0.02),
            labels={"severity": "critical", "team": "payments", "service": "payments-api"},
            annotations={
                "summary": "Payments API 5xx rate above 5%",
                "runbook_url": f"{runbook_url}/payments/api-5xx",
                "__dashboardUid__": "payments-api",
                "__panelId__": "4",
                "__orgId__": "1",
            },
            series_labels={"service": "payments-api"},
            folder="Payments",
        ),
    ]


def grafana_rule_link(grafana_url: str, uid: str) -> str:
    """The rule page Grafana sets as an alert's ``generatorURL``."""
    return f"{grafana_url.rstrip('/')}/alerting/grafana/{uid}/view?orgId=1"


class SimClock:
    """A clock the world can be told to move.

    Real time (or, when ``frozen``, the fixed ``start``) plus an offset that
    :meth:`advance` grows. The ``/_sim/clock`` endpoint uses it, so a drill can skip
    ahead five minutes and watch a page climb.
    """

    def __init__(
        self, start: datetime | None = None, *, frozen: bool = False, base: Clock = real_clock
    ) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._base = base
        self._frozen = frozen
        self._start = (start or base()).astimezone(UTC)
        self._real_start = base()
        self._offset = timedelta()

    @property
    def frozen(self) -> bool:
        return self._frozen

    def __call__(self) -> datetime:
        if self._frozen:
            return self._start + self._offset
        return self._start + (self._base() - self._real_start) + self._offset

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += timedelta(seconds=seconds)
        return self()


def build_world(
    clock: Clock | None = None,
    *,
    seed: int = 7,
    me_email: str = DEFAULT_ME_EMAIL,
    me_name: str = "Robin Ahn",
    speed: float = 1.0,
    grafana_url: str = DEFAULT_GRAFANA_URL,
    runbook_url: str = DEFAULT_RUNBOOK_URL,
    scenario: bool = True,
    background_alerts: int = 500,
    entry_layer_ids: bool = False,
) -> IncidentIoWorld:
    """A ready world: the organisation plus its history and script.

    ``background_alerts`` caps how many background alerts the script will ever fire
    (0 for none); ``scenario=False`` gives the bare organisation. ``entry_layer_ids``
    brings back the older schedule entries that named their layer (the 2.29.0 schema
    has only the rotation).
    """
    world = IncidentIoWorld(
        clock or real_clock,
        seed=seed,
        me_email=me_email,
        me_name=me_name,
        speed=speed,
        grafana_url=grafana_url,
        runbook_url=runbook_url,
    )
    world.entry_layer_ids = entry_layer_ids
    if scenario:
        Scenario(world, background_alerts=background_alerts).install()
    return world


class Scenario:
    def __init__(self, world: IncidentIoWorld, *, background_alerts: int = 500) -> None:
        self.world = world
        self.t0 = world.started_at
        self.rng = random.Random(world.seed * 104_729 + 1)
        self.background_left = background_alerts
        self.live_incident_id = ""
        self.ledger_alert_id = ""

    # ---------------------------------------------------------------- helpers

    def _user(self, key: str) -> Actor:
        user = self.world.people[key]
        return Actor("user", user.id, user.name)

    def _team(self, key: str) -> str:
        return self.world.teams[key].id

    def _links(self, team: str, slug: str, panel: int = 2) -> dict[str, str]:
        w = self.world
        return {
            "runbook": f"{w.runbook_url}/{team}/{slug}",
            "dashboard": f"{w.grafana_url}/d/{team}-{slug}/{slug}?orgId=1&viewPanel={panel}",
            "source_url": f"{w.grafana_url}/alerting/grafana/{team}-{slug}/view",
        }

    def _after(self, seconds: float) -> datetime:
        return self.t0 + self.world.scaled(seconds)

    # ---------------------------------------------------------------- install

    def install(self) -> None:
        with self.world.lock:
            seed_alert_history(self.world, self.t0)  # "fired before?" for the demo alerts
            self._history()
            self._script()

    def _history(self) -> None:
        w, t0 = self.world, self.t0
        minor, major = w.severity_by_name("Minor"), w.severity_by_name("Major")
        st = w.status_by_name
        lead, reporter, comms = w.role_by_type("lead"), w.role_by_type("reporter"), None
        comms = w.role_by_type("comms")

        # Alerts that came and went earlier today.
        for ago, dur, team, title, slug, sev in (
            (5 * 3600, 1200, "search", "Search: indexing lag above 5 minutes", "indexing-lag",
             "warning"),
            (3 * 3600, 3600, "platform", "Platform: node pool autoscaler at maximum size",
             "autoscaler-max", "warning"),
            (90 * 60, 240, "payments", "Payments: webhook delivery retries above 2%",
             "webhook-retries", "warning"),
        ):  # fmt: skip
            links = self._links(team, slug)
            alert = w.fire_alert(
                title=title,
                dedup_key=f"{team}-{slug}-1",
                at=t0 - timedelta(seconds=ago),
                team_id=self._team(team),
                severity=sev,
                service=f"{team}-api",
                runbook=links["runbook"],
                dashboard=links["dashboard"],
                source_url=links["source_url"],
            )
            w.resolve_alert(alert.id, at=alert.created_at + timedelta(seconds=dur), record=False)

        # Yesterday's incident, closed; this morning's, now in post-incident.
        self._past_incident(
            "history-search-missing-docs",
            "Search results missing recently added documents",
            "New documents were not searchable for about 50 minutes after an indexer "
            "deploy; re-indexing caught up.",
            severity_id=minor.id,
            lead_role_id=lead.id,
            lead=self._user("jonas.becker"),
            at=t0 - timedelta(hours=26),
            updates=(
                (20, "Monitoring", "Indexer rolled back; the backlog is draining."),
                (55, "Documenting", "Backlog drained. Write-up to follow."),
                (20 * 60, "Closed", "Write-up published."),
            ),
        )
        self._past_incident(
            "history-login-errors",
            "Elevated login errors after certificate rotation",
            "An intermediate certificate was missing from the new bundle; some older "
            "clients failed the TLS handshake.",
            severity_id=major.id,
            lead_role_id=lead.id,
            lead=self._user("priya.natarajan"),
            at=t0 - timedelta(hours=6),
            updates=(
                (15, "Fixing", "Missing intermediate certificate identified; re-issuing bundle."),
                (40, "Monitoring", "New bundle deployed; handshake errors back to baseline."),
                (90, "Documenting", "Resolved. Priya is writing up the incident."),
            ),
        )

        # The live payments incident, with its page, alerts, updates and notes.
        kofi, ana = self._user("kofi.mensah"), self._user("ana.souza")
        links = self._links("payments", "api-5xx", panel=4)
        errors = w.fire_alert(
            title="Payments API 5xx rate above 5%",
            dedup_key="payments-api-5xx",
            at=t0 - timedelta(minutes=45),
            description="More than 5% of requests to payments-api returned a 5xx over the "
            "last 5 minutes (eu-west-1).",
            team_id=self._team("payments"),
            severity="critical",
            service="payments-api",
            runbook=links["runbook"],
            dashboard=links["dashboard"],
            source_url=links["source_url"],
            page=False,
        )
        links = self._links("payments", "card-auth-latency", panel=7)
        latency = w.fire_alert(
            title="Card authorisation latency p99 above 2s",
            dedup_key="payments-card-auth-latency",
            at=t0 - timedelta(minutes=44),
            description="p99 latency of card authorisations is above 2 seconds.",
            team_id=self._team("payments"),
            severity="warning",
            service="card-gateway",
            runbook=links["runbook"],
            dashboard=links["dashboard"],
            source_url=links["source_url"],
        )
        self.latency_alert_id = latency.id
        page, _ = w.create_escalation(
            idempotency_key=f"alert-{errors.id}",
            title=errors.title,
            description=errors.description,
            path_id=w.path_by_team[self._team("payments")].id,
            alert_ids=[errors.id],
            creator=Actor("alert", errors.id, errors.title),
            priority="P1",
            at=errors.created_at,
            record=False,
        )
        # Whoever the page reached first acknowledged it (someone other than me if
        # anyone else was on call then); Kofi then took the lead.
        notified = page.events[-1].user_ids
        acker = next((u for u in notified if u != w.me.id), notified[0] if notified else kofi.id)
        page.status, page.deadline = "acked", None
        w._event(page, "acked", t0 - timedelta(minutes=43), [acker])

        at = t0 - timedelta(minutes=42)
        inc, _ = w.declare_incident(
            idempotency_key="history-card-payments",
            name="Card payments failing for some EU customers",
            summary="A share of card payments in the EU fail with a gateway error. "
            "Suspected cause: configuration shipped with payments-api v2024.11.3.",
            severity_id=minor.id,
            status_id=st("Investigating").id,
            role_assignments={lead.id: kofi.id, reporter.id: ana.id, comms.id: w.me.id},
            actor=kofi,
            at=at,
            record=False,
        )
        self.live_incident_id = inc.id
        page.incident_ids.append(inc.id)
        for alert in (errors, latency):
            w.link_alert(alert.id, inc.id)
            w._activity(
                inc,
                max(alert.created_at, at),
                f"Alert attached: {alert.title}",
                "Linked by the Payments alert route.",
                Actor("alert", alert.id, alert.title),
            )
        w._activity(
            inc,
            t0 - timedelta(minutes=43),
            f"{w.users[acker].name} acknowledged the page",
            "Payments escalation, level 1.",
            kofi,
        )
        history: tuple[tuple[int, str | None, str | None, str], ...] = (
            (40, None, None, "Roughly 8% of EU card payments fail with a gateway error. "
             "Looking at payments-api."),
            (30, None, major.id, "Failure rate now 15%. Raising to major."),
            (12, "Fixing", None, "Config change in payments-api v2024.11.3 disabled a "
             "card network; rolling back."),
        )  # fmt: skip
        for minutes_ago, status_name, severity_id, message in history:
            w.create_incident_update(
                idempotency_key=f"history-{inc.id}-{minutes_ago}",
                incident_id=inc.id,
                message=message,
                status_id=st(status_name).id if status_name else None,
                severity_id=severity_id,
                actor=kofi,
                at=t0 - timedelta(minutes=minutes_ago),
                record=False,
            )
        w.create_timeline_item(
            idempotency_key=f"history-{inc.id}-rollback",
            incident_id=inc.id,
            timestamp=t0 - timedelta(minutes=8),
            title="Rolled back payments-api to v2024.11.2",
            description="Rollback finished in all EU regions.",
            actor=kofi,
            at=t0 - timedelta(minutes=7),
            record=False,
        )

        # A security report still in triage (the Security type always starts there).
        at = t0 - timedelta(minutes=6)
        security = next(t for t in w.incident_types.values() if t.name == "Security")
        w.declare_incident(
            idempotency_key="history-suspicious-logins",
            name="Unusual number of password resets for admin accounts",
            summary="Support noticed a burst of password reset requests for admin users.",
            type_id=security.id,
            role_assignments={reporter.id: ana.id},
            actor=ana,
            at=at,
            record=False,
        )

    def _past_incident(
        self,
        key: str,
        name: str,
        summary: str,
        *,
        severity_id: str,
        lead_role_id: str,
        lead: Actor,
        at: datetime,
        updates: tuple[tuple[int, str, str], ...],
    ) -> None:
        """An incident from before the demo starts, led by ``lead``, with its status updates
        (minutes after ``at``, status name, message)."""
        w = self.world
        inc, _ = w.declare_incident(
            idempotency_key=key,
            name=name,
            summary=summary,
            severity_id=severity_id,
            role_assignments={lead_role_id: lead.id},
            actor=lead,
            at=at,
            record=False,
        )
        for minutes, status, message in updates:
            w.create_incident_update(
                idempotency_key=f"history-{inc.id}-{minutes}",
                incident_id=inc.id,
                message=message,
                status_id=w.status_by_name(status).id,
                actor=lead,
                at=at + timedelta(minutes=minutes),
                record=False,
            )

    def _script(self) -> None:
        w = self.world
        payments, search, platform = (self._team(k) for k in ("payments", "search", "platform"))

        def ledger(at: datetime) -> None:
            links = self._links("payments", "ledger-consumer-lag", panel=3)
            rule = next(r for r in grafana_rules(w.runbook_url) if r.uid == LEDGER_RULE_UID)
            alert = w.fire_alert(
                title="Payments: ledger consumer lag above 10 minutes",
                # incident.io's Grafana source keys an alert by its fingerprint.
                dedup_key=fingerprint(grafana_alert_labels(rule)),
                at=at,
                description="The ledger consumer is more than 10 minutes behind; balances "
                "shown to customers may be stale.",
                team_id=payments,
                severity="critical",
                service="ledger-consumer",
                runbook=links["runbook"],
                dashboard=links["dashboard"],
                source_url=grafana_rule_link(w.grafana_url, LEDGER_RULE_UID),
            )
            self.ledger_alert_id = alert.id
            self._attach_to_live_incident(alert)

        def spike(at: datetime) -> None:
            links = self._links("search", "query-latency", panel=1)
            w.fire_alert(
                title="Search: query latency p95 above 800ms",
                dedup_key="search-query-latency",
                at=at,
                description="p95 query latency crossed 800ms; a reindex job is running.",
                team_id=search,
                severity="warning",
                service="search-api",
                runbook=links["runbook"],
                dashboard=links["dashboard"],
                source_url=links["source_url"],
            )

        def spike_over(at: datetime) -> None:
            alert = w._firing_by_key(w.http_source.id, "search-query-latency")
            if alert is not None:
                w.resolve_alert(alert.id, at=at, record=False)

        def disk(at: datetime) -> None:
            links = self._links("platform", "disk-usage", panel=5)
            w.fire_alert(
                title="Platform: disk usage above 85% on db-replica-2",
                dedup_key="platform-disk-db-replica-2",
                at=at,
                description="/var/lib/postgresql is 86% full and growing about 1% an hour.",
                team_id=platform,
                severity="warning",
                service="postgres",
                runbook=links["runbook"],
                dashboard=links["dashboard"],
                source_url=links["source_url"],
            )

        def monitoring(at: datetime) -> None:
            inc = w.incidents.get(self.live_incident_id)
            if inc is None or w.statuses[inc.status_id].name != "Fixing":
                return  # someone already moved it on; the script does not fight them
            kofi = self._user("kofi.mensah")
            w.create_timeline_item(
                idempotency_key=f"script-{inc.id}-recovered",
                incident_id=inc.id,
                timestamp=at,
                title="Card payment failures back under 1%",
                actor=kofi,
                at=at,
                record=False,
            )
            w.create_incident_update(
                idempotency_key=f"script-{inc.id}-monitoring",
                incident_id=inc.id,
                message="Rollback complete and failures are back to baseline. Monitoring "
                "for 30 minutes before resolving.",
                status_id=w.status_by_name("Monitoring").id,
                actor=kofi,
                at=at,
                record=False,
            )

        def latency_over(at: datetime) -> None:
            alert = w.alerts.get(self.latency_alert_id)
            if alert is not None and alert.status == "firing":
                w.resolve_alert(alert.id, at=at, record=False)

        w.at(self._after(1.5), ledger)
        w.at(self._after(45), spike)
        w.at(self._after(6 * 60), spike_over)
        w.at(self._after(3 * 60), disk)
        w.at(self._after(8 * 60), monitoring)
        w.at(self._after(10 * 60), latency_over)
        if self.background_left > 0:
            w.at(self._after(self.rng.uniform(240, 540)), self._background)

    def _attach_to_live_incident(self, alert: SimAlert) -> None:
        """The Payments alert route attaches the ledger alert to the open payments
        incident (the rollback's replay is what the consumer is behind on), and its page
        names that incident, as incident.io's own relations do."""
        w = self.world
        inc = w.incidents.get(self.live_incident_id)
        if inc is None:
            return
        w.link_alert(alert.id, inc.id)
        for page in w.escalations.values():
            if alert.id in page.alert_ids and inc.id not in page.incident_ids:
                page.incident_ids.append(inc.id)
        w._activity(
            inc,
            alert.created_at,
            f"Alert attached: {alert.title}",
            "Linked by the Payments alert route.",
            Actor("alert", alert.id, alert.title),
        )

    # Background alerts: (team, title, slug, service). One in five is critical.
    _BACKGROUND = (
        ("payments", "Payments: refund queue older than 15 minutes", "refund-queue", "refunds"),
        ("payments", "Payments: fraud scoring timeouts above 1%", "fraud-timeouts", "fraud"),
        ("platform", "Platform: pod restarts above 5 in 10 minutes", "pod-restarts", "k8s"),
        ("platform", "Platform: Kafka consumer group rebalancing", "kafka-rebalance", "kafka"),
        ("platform", "Platform: TLS certificate expires in 7 days", "cert-expiry", "ingress"),
        ("search", "Search: shard unassigned", "shard-unassigned", "opensearch"),
        ("search", "Search: autocomplete error rate above 2%", "autocomplete-errors", "suggest"),
        (None, "Synthetic check: status page unreachable", "status-page", "status-page"),
    )

    def _background(self, at: datetime) -> None:
        w = self.world
        if self.background_left <= 0:
            return
        self.background_left -= 1
        team, title, slug, service = self.rng.choice(self._BACKGROUND)
        critical = self.rng.random() < 0.2
        firing = sum(1 for a in w.alerts.values() if a.status == "firing")
        if firing < 60:
            links = self._links(team or "global", slug)
            alert = w.fire_alert(
                title=title,
                dedup_key=f"bg-{slug}-{self.background_left}",
                at=at,
                team_id=self._team(team) if team else None,
                severity="critical" if critical else "warning",
                service=service,
                runbook=links["runbook"],
                dashboard=links["dashboard"],
                source_url=links["source_url"],
            )
            alert_id = alert.id

            def resolve(when: datetime) -> None:
                if w.alerts[alert_id].status == "firing":
                    w.resolve_alert(alert_id, at=when, record=False)

            w.at(at + w.scaled(self.rng.uniform(120, 600)), resolve)
        w.at(at + w.scaled(self.rng.uniform(240, 540)), self._background)
