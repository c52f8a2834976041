"""Which incident an alert or page belongs to, by incident.io's own links.

* A page names its incidents itself (the escalation's ``related_incidents``, 2.29.0
  schema).
* An incident.io alert is attached to incidents through ``/v2/incident_alerts`` (looked
  up by the alert's id when the row is shown; :class:`IncidentLinks` keeps each answer
  for a minute). A page's own alerts are looked up the same way.
* The incident's name, status and lead come from the incidents the engine already holds;
  one it does not hold (closed, say) is read once by id.

Where none of these links an incident the row is "not part of an incident". Grafana and
Alertmanager alerts are known to incident.io only through an incident.io alert or page
on the same row.

The rest of the module is what declaring from an alert needs: which incident to offer a
note to first (:func:`declare_choices`), which severity to pre-select from the alert's
(:func:`preselect_severity`), and the short guidance the form shows beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from oncall_tui.backends.http import ApiError
from oncall_tui.backends.incidentio import IncidentIoClient
from oncall_tui.core.alerts import normalise_severity
from oncall_tui.domain import (
    SOURCE_INCIDENT_IO,
    Alert,
    Incident,
    IncidentAlert,
    Page,
    Severity,
)
from oncall_tui.safety import clean_text

LINKED = "linked"
NONE = "none"
LOADING = "loading"
UNKNOWN = "unknown"

LOOKUP_TTL = timedelta(seconds=60)
MAX_CACHED = 500
NOT_PART = "not part of an incident"

# Status categories in the words the incident screen uses.
_CATEGORY_WORDS = {"live": "active", "learning": "post-incident"}

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class LinkedIncident:
    """One incident a row belongs to, as shown in the detail."""

    id: str
    reference: str
    name: str
    status: str  # "Fixing (active)", or the category alone when only that is known
    lead: str  # the lead's name, "no lead", or "" when not known
    severity: str = ""
    via: str = ""  # how it is known: "the page names it" | "incident.io attached this alert"
    incident: Incident | None = None  # the full incident, when it is known

    @property
    def label(self) -> str:
        """ "INC-242 Card payments failing"."""
        return f"{self.reference or 'an incident'} {self.name}".strip()


@dataclass(frozen=True, slots=True)
class RowIncidents:
    """The incidents of one row, or why none is shown."""

    state: str  # linked | none | loading | unknown
    incidents: tuple[LinkedIncident, ...] = ()
    reason: str = ""  # for none / loading / unknown, in words

    @property
    def first(self) -> LinkedIncident | None:
        return self.incidents[0] if self.incidents else None


def status_words(category: str, name: str = "") -> str:
    words = _CATEGORY_WORDS.get(category, category)
    if name and words and name.casefold() != words.casefold():
        return f"{name} ({words})"
    return name or words or "status not known"


def _from_incident(incident: Incident, via: str) -> LinkedIncident:
    lead = incident.lead
    return LinkedIncident(
        id=incident.id,
        reference=incident.reference,
        name=incident.name,
        status=status_words(incident.status.category, incident.status.name),
        lead=(lead.name or lead.id) if lead is not None else "no lead",
        severity=incident.severity.name if incident.severity else "",
        via=via,
        incident=incident,
    )


def _from_link(link: IncidentAlert, via: str) -> LinkedIncident:
    return LinkedIncident(
        id=link.incident_id,
        reference=link.incident_reference,
        name=link.incident_name,
        status=status_words(link.incident_status_category),
        lead="",
        via=via,
    )


def alert_ids_to_look_up(pages: Iterable[Page], alerts: Iterable[Alert]) -> list[str]:
    """The incident.io alert ids behind a row: its incident.io alerts, and its pages'
    related alerts (once each, in order)."""
    ids = [a.id for a in alerts if a.source == SOURCE_INCIDENT_IO and a.id]
    ids += [aid for p in pages for aid in p.alert_ids if aid]
    return list(dict.fromkeys(ids))


Answer = tuple[IncidentAlert, ...] | str  # the links of one alert, or why not known


def row_incidents(
    pages: Sequence[Page],
    alerts: Sequence[Alert],
    incidents: Mapping[str, Incident],
    answers: Mapping[str, Answer],
    fetched: Mapping[str, Incident] | None = None,
) -> RowIncidents:
    """The incidents the row of ``pages`` and ``alerts`` belongs to.

    ``incidents``: what the engine holds, by id; ``answers``: what incident.io said for
    each alert id (its links, or an error in words; an id not there is not looked up
    yet); ``fetched``: incidents read by id because the engine does not hold them.
    """
    fetched = fetched or {}
    found: dict[str, LinkedIncident] = {}

    def add(incident_id: str, via: str, link: IncidentAlert | None = None) -> None:
        if not incident_id or incident_id in found:
            return
        full = incidents.get(incident_id) or fetched.get(incident_id)
        if full is not None:
            found[incident_id] = _from_incident(full, via)
        elif link is not None:
            found[incident_id] = _from_link(link, via)
        else:
            found[incident_id] = LinkedIncident(
                id=incident_id,
                reference="",
                name="its details are not read from incident.io yet",
                status="not known yet",
                lead="",
                via=via,
            )

    for page in pages:
        for incident_id in page.incident_ids:
            add(incident_id, "the page names it")
    waiting: list[str] = []
    problems: list[str] = []
    for alert_id in alert_ids_to_look_up(pages, alerts):
        answer = answers.get(alert_id)
        if answer is None:
            waiting.append(alert_id)
        elif isinstance(answer, str):
            problems.append(answer)
        else:
            for link in answer:
                add(link.incident_id, "incident.io attached this alert", link)
    if found:
        return RowIncidents(LINKED, tuple(found.values()))
    if waiting:
        return RowIncidents(LOADING, reason="asking incident.io which incident has this alert…")
    if problems:
        return RowIncidents(UNKNOWN, reason=f"incident not known: {problems[0]}")
    if not pages and not any(a.source == SOURCE_INCIDENT_IO for a in alerts):
        return RowIncidents(NONE, reason="no incident.io page or alert is linked to this row")
    return RowIncidents(NONE, reason="incident.io links no incident to it")


def missing_incidents(view: RowIncidents) -> list[str]:
    """Incidents named by a link whose details the engine does not hold."""
    return [i.id for i in view.incidents if i.incident is None]


class IncidentLinks:
    """incident.io's answers about which incident has which alert, kept for a minute
    each, and incidents read by id. Never raises: a failed lookup is kept as its reason
    (and asked again after the minute)."""

    def __init__(
        self, client: IncidentIoClient | None, clock: Clock, *, ttl: timedelta = LOOKUP_TTL
    ) -> None:
        self.client = client  # None when incident.io is not set up
        self.clock = clock
        self.ttl = ttl
        self._answers: dict[str, tuple[datetime, Answer]] = {}
        self._incidents: dict[str, tuple[datetime, Incident]] = {}
        self._tried: dict[str, datetime] = {}  # incidents last asked for by id
        self.asked = 0  # lookups sent (for tests and the request budget)

    def answers(self) -> dict[str, Answer]:
        """The answers still fresh, by alert id."""
        now = self.clock()
        return {k: a for k, (at, a) in self._answers.items() if now - at < self.ttl}

    def fetched(self) -> dict[str, Incident]:
        now = self.clock()
        return {k: i for k, (at, i) in self._incidents.items() if now - at < self.ttl}

    def incidents_due(self, view: RowIncidents) -> list[str]:
        """Incidents of ``view`` to read by id: not held, and not tried this minute."""
        now = self.clock()
        return [
            i
            for i in missing_incidents(view)
            if i not in self._tried or now - self._tried[i] >= self.ttl
        ]

    def due(self, alert_ids: Iterable[str]) -> list[str]:
        fresh = self.answers()
        return [a for a in alert_ids if a not in fresh]

    def view(
        self, pages: Sequence[Page], alerts: Sequence[Alert], incidents: Mapping[str, Incident]
    ) -> RowIncidents:
        if self.client is None:
            return row_incidents(
                pages, alerts, incidents, dict.fromkeys(alert_ids_to_look_up(pages, alerts), ())
            )
        return row_incidents(pages, alerts, incidents, self.answers(), self.fetched())

    async def look_up(
        self, pages: Sequence[Page], alerts: Sequence[Alert], incidents: Mapping[str, Incident]
    ) -> RowIncidents:
        """Ask incident.io what is not known yet for this row; then its incidents."""
        if self.client is None:
            return self.view(pages, alerts, incidents)
        for alert_id in self.due(alert_ids_to_look_up(pages, alerts)):
            self.asked += 1
            try:
                answer: Answer = tuple(await self.client.incident_alerts(alert_id=alert_id))
            except Exception as exc:  # ApiError, or a bug: the row says so, nothing ends
                why = str(exc) if isinstance(exc, ApiError) else type(exc).__name__
                answer = f"incident.io did not say ({clean_text(why, limit=160)})"
            self._answers[alert_id] = (self.clock(), answer)
        view = self.view(pages, alerts, incidents)
        for incident_id in self.incidents_due(view):
            self._tried[incident_id] = self.clock()
            try:
                incident = await self.client.get_incident(incident_id)
            except Exception:
                continue  # the slim details from the link stay until the next minute
            self._incidents[incident_id] = (self.clock(), incident)
        self._trim()
        return self.view(pages, alerts, incidents)

    def forget(self) -> None:
        self._answers.clear()
        self._incidents.clear()
        self._tried.clear()

    def _trim(self) -> None:
        for store in (self._answers, self._incidents):
            if len(store) > MAX_CACHED:
                oldest = sorted(store, key=lambda k: store[k][0])[: len(store) - MAX_CACHED]
                for key in oldest:
                    store.pop(key, None)
        if len(self._tried) > MAX_CACHED:
            self._tried = dict(sorted(self._tried.items(), key=lambda kv: kv[1])[-MAX_CACHED:])


# ------------------------------------------------------------------------ declaring

NOTE_PREFIX = "note:"
DECLARE_NEW = "declare"


def declare_choices(view: RowIncidents) -> list[tuple[str, str, str]]:
    """What ``D`` offers on a row: a note to each incident it belongs to first, then a
    new incident. (id, label, detail) for a chooser; only "declare" when there is none."""
    choices = []
    for linked in view.incidents:
        ref = linked.reference or "its incident"
        details = [linked.name, linked.status]
        if linked.lead:
            details.append(f"lead {linked.lead}")
        choices.append(
            (
                f"{NOTE_PREFIX}{linked.id}",
                f"Add a note to {ref}",
                " · ".join(d for d in details if d),
            )
        )
    choices.append(
        (DECLARE_NEW, "Declare a new incident", "for a different problem than the one above")
    )
    return choices


def note_from(alert: Alert | None, page: Page | None, now: datetime) -> str:
    """The note a person starts from when adding an alert to an incident: what fires,
    where, since when, and its source link (they edit it before it is saved)."""
    source = alert or page
    if source is None:
        return ""
    title = clean_text(source.title, limit=200)
    if alert is not None:
        minutes = max(0, int((now - alert.started_at).total_seconds() // 60))
        severity = clean_text(alert.severity, limit=30) or "no severity"
        text = (
            f"Alert “{title}” ({clean_text(alert.source_label, limit=80)}, {severity}) "
            f"firing since {alert.started_at:%H:%M} UTC ({minutes} min)."
        )
        url = alert.link("source").url
        return f"{text}\n{url}" if url else text
    assert page is not None
    status = clean_text(page.status, limit=30)
    return f"Page “{title}” ({status}) since {page.created_at:%H:%M} UTC."


# Severity tiers an alert's severity maps onto: 0 is the account's most severe.
_TIERS = {"critical": 0, "major": 1, "high": 1, "warning": 2, "minor": 2, "low": 2, "info": 2}


def preselect_severity(alert_severity: str, severities: Sequence[Severity]) -> Severity | None:
    """The account severity to pre-select for an alert of ``alert_severity``.

    ``severities`` are the account's, least severe first (as the form gets them). A
    severity of the same name wins; else critical takes the most severe, major (or high)
    the next one down, anything milder the least severe. An alert with no severity, or
    one this version does not know, pre-selects nothing: the person chooses."""
    wanted = normalise_severity(alert_severity)
    if not wanted or not severities:
        return None
    for severity in severities:
        if normalise_severity(severity.name) == wanted or severity.name.casefold() == wanted:
            return severity
    tier = _TIERS.get(wanted)
    if tier is None:
        return None
    most_first = list(reversed(severities))
    if tier == 2:
        return most_first[-1]
    return most_first[min(tier, len(most_first) - 1)]


def preselect_words(alert_severity: str, chosen: Severity | None) -> str:
    """Why the form has a severity chosen already, or why not."""
    shown = clean_text(alert_severity, limit=30)
    if chosen is None:
        if not shown:
            return "The alert has no severity: choose by who is affected."
        return f"The alert's severity ({shown}) matches none here: choose by who is affected."
    name = clean_text(chosen.name, limit=40)
    return (
        f"{name} is chosen from the alert's severity ({shown}); change it if who is "
        "affected says otherwise."
    )


WHEN_TO_DECLARE = (
    "Declare when customers or colleagues feel it, when the fix needs more than you, or "
    "when unsure: it can be downgraded."
)
