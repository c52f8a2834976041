"""The alert ↔ incident rule (core): which incident a row belongs to by incident.io's own
links, what D offers, and which severity declaring pre-selects; and the lookup against the
simulator through the real client."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from factories import NOW, alert, page

from oncall_tui.core import alert_incident as ai
from oncall_tui.domain import (
    Incident,
    IncidentAlert,
    IncidentRole,
    IncidentStatus,
    RoleAssignment,
    Severity,
    User,
)

LEAD = IncidentRole("R1", "Incident Lead", "lead")
KOFI = User("U_KOFI", "Kofi Mensah")
INC = Incident(
    id="I1",
    reference="INC-242",
    name="Card payments failing",
    status=IncidentStatus("S1", "Fixing", "live"),
    created_at=NOW,
    updated_at=NOW,
    severity=Severity("SV2", "Major", 2),
    roles=(RoleAssignment(LEAD, KOFI),),
)
SEVERITIES = (
    Severity("SV1", "Minor", 1),
    Severity("SV2", "Major", 2),
    Severity("SV3", "Critical", 3),
)


def link(alert_id: str, incident: Incident = INC) -> IncidentAlert:
    return IncidentAlert(
        id=f"L-{alert_id}",
        alert_id=alert_id,
        alert_title="",
        alert_status="firing",
        incident_id=incident.id,
        incident_reference=incident.reference,
        incident_name=incident.name,
        incident_status_category=incident.status.category,
    )


def test_a_page_names_its_incident_with_status_and_lead_from_the_engine():
    p = replace(page("P1"), incident_ids=("I1",))
    view = ai.row_incidents([p], [], {"I1": INC}, {})
    assert view.state == ai.LINKED
    (linked,) = view.incidents
    assert (linked.reference, linked.name, linked.lead) == (
        "INC-242",
        "Card payments failing",
        "Kofi Mensah",
    )
    assert linked.status == "Fixing (active)" and linked.via == "the page names it"
    assert linked.incident is INC


def test_an_incident_io_alert_is_linked_by_incident_alerts_and_waits_for_the_answer():
    a = alert(1, source="incident.io", instance="")
    assert ai.row_incidents([], [a], {"I1": INC}, {}).state == ai.LOADING
    view = ai.row_incidents([], [a], {"I1": INC}, {"A1": (link("A1"),)})
    assert view.state == ai.LINKED and view.first.lead == "Kofi Mensah"
    # An incident the engine does not hold: what the link says, lead not known.
    view = ai.row_incidents([], [a], {}, {"A1": (link("A1"),)})
    assert (
        view.first.reference == "INC-242" and view.first.lead == "" and view.first.incident is None
    )
    assert ai.missing_incidents(view) == ["I1"]


def test_none_and_unknown_are_said_in_words():
    a = alert(1, source="incident.io", instance="")
    none = ai.row_incidents([], [a], {}, {"A1": ()})
    assert none.state == ai.NONE and "links no incident" in none.reason
    grafana = ai.row_incidents([], [alert(2)], {}, {})
    assert grafana.state == ai.NONE and "no incident.io page or alert" in grafana.reason
    failed = ai.row_incidents([], [a], {}, {"A1": "incident.io did not say (503)"})
    assert failed.state == ai.UNKNOWN and "503" in failed.reason


def test_a_page_is_looked_up_through_its_related_alerts():
    p = page("P1", alert_ids=("A9",))
    assert ai.alert_ids_to_look_up([p], []) == ["A9"]
    view = ai.row_incidents([p], [], {"I1": INC}, {"A9": (link("A9"),)})
    assert view.first.via == "incident.io attached this alert"


def test_declare_offers_the_incident_first():
    view = ai.row_incidents([replace(page("P1"), incident_ids=("I1",))], [], {"I1": INC}, {})
    choices = ai.declare_choices(view)
    assert [c[:2] for c in choices] == [
        ("note:I1", "Add a note to INC-242"),
        ("declare", "Declare a new incident"),
    ]
    assert "lead Kofi Mensah" in choices[0][2]
    assert ai.declare_choices(ai.RowIncidents(ai.NONE)) == [choices[-1]]


def test_the_note_names_the_alert_since_when_and_its_link():
    a = alert(1, "Checkout p99 latency", minutes_ago=12)
    text = ai.note_from(a, None, NOW)
    assert "Alert “Checkout p99 latency” (grafana:prod, critical)" in text
    assert "02:48 UTC (12 min)" in text


def test_severity_is_preselected_from_the_alert():
    pick = ai.preselect_severity
    assert pick("critical", SEVERITIES).name == "Critical"
    assert pick("P1", SEVERITIES).name == "Critical"  # an alias
    assert pick("major", SEVERITIES).name == "Major"
    assert pick("high", SEVERITIES).name == "Major"
    assert pick("warning", SEVERITIES).name == "Minor"
    assert pick("", SEVERITIES) is None and pick("whatever", SEVERITIES) is None
    # An account with its own names: by rank.
    own = (Severity("a", "SEV3", 1), Severity("b", "SEV2", 2), Severity("c", "SEV1", 3))
    assert pick("critical", own).name == "SEV1" and pick("info", own).name == "SEV3"
    assert pick("major", own[:1]).name == "SEV3"  # one severity: that one
    assert "chosen from the alert's severity (major)" in ai.preselect_words("major", SEVERITIES[1])
    assert "choose by who is affected" in ai.preselect_words("", None)


async def test_the_lookup_asks_incident_io_once_a_minute_per_alert():
    """Against the simulator through the real client: the demo's card latency alert is
    attached to INC-242."""
    from oncall_tui.config import Settings
    from oncall_tui.core.session import open_session
    from oncall_tui.sim.demo import build_demo

    demo = build_demo(background_alerts=0)
    now = [NOW]
    async with open_session(Settings(), demo=demo) as session:
        io = session.backends.incidentio
        world = demo.world
        sim_alert = next(
            a for a in world.alerts.values() if a.title.startswith("Card authorisation")
        )
        a = replace(alert(1, source="incident.io", instance=""), id=sim_alert.id)
        links = ai.IncidentLinks(io, lambda: now[0])
        view = await links.look_up([], [a], {})
        assert view.state == ai.LINKED and view.first.reference == "INC-242"
        assert view.first.incident is not None  # read by id: the engine held none
        assert view.first.lead == "Kofi Mensah"
        await links.look_up([], [a], {})
        assert links.asked == 1
        now[0] += timedelta(minutes=2)
        await links.look_up([], [a], {})
        assert links.asked == 2


async def test_an_incident_that_cannot_be_read_is_asked_again_only_after_a_minute():
    """A page names an incident the engine does not hold and incident.io will not show:
    the detail keeps asking at most once a minute, however often it is drawn."""
    from oncall_tui.backends.http import ApiError

    class Refusing:
        def __init__(self) -> None:
            self.reads = 0

        async def incident_alerts(self, *, alert_id: str):
            return ()

        async def get_incident(self, ref: str):
            self.reads += 1
            raise ApiError("503 from incident.io")

    client = Refusing()
    now = [NOW]
    links = ai.IncidentLinks(client, lambda: now[0])  # type: ignore[arg-type]
    p = replace(page("P1"), incident_ids=("I9",))
    for _ in range(5):
        view = await links.look_up([p], [], {})
        assert view.state == ai.LINKED and view.first.status == "not known yet"
        assert links.incidents_due(view) == [] or client.reads == 0
    assert client.reads == 1
    now[0] += timedelta(minutes=1)
    assert links.incidents_due(links.view([p], [], {})) == ["I9"]
    await links.look_up([p], [], {})
    assert client.reads == 2
