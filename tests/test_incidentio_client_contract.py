"""Contract: what the incident.io client sends, and the payloads we feed it, match the
official definitions.

* Every request is checked against its operation in the official 2.29.0 schema: path,
  each query parameter (deepObject filters with an operator the operation accepts, scalar
  values against their schema), required parameters, and the JSON body against the
  request schema (no field the spec does not define).
* Every canned response used here (and the payload builders the other tests use) is
  checked against the operation's response schema, strictly.
* Error bodies and timeline items also load with the official SDK's models
  (``incident_io.models``, test-only) and carry no field the model does not know.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import incidentio_payloads as P
import pytest
from incident_io import models as incident_io_models

from oncall_tui.backends.http import RequestStats, RetryPolicy
from oncall_tui.backends.incidentio import (
    IncidentIoClient,
)
from oncall_tui.domain import NOBODY

START = datetime(2026, 9, 1, tzinfo=UTC)
END = START + timedelta(days=14)

# Filter values must be values the API knows.
FILTER_ENUMS = {
    ("/v2/alerts", "status"): ("AlertV2", "status"),
    ("/v2/escalations", "status"): ("EscalationV2", "status"),
    ("/v2/incidents", "status_category"): ("IncidentStatusV2", "category"),
}


def sdk_load(model_name: str, payload: dict):
    """Load with the SDK model; fail on unknown fields at any level we can see."""
    model_cls = getattr(incident_io_models, model_name)
    model = model_cls.from_dict(payload)
    unknown = getattr(model, "additional_properties", {})
    assert not unknown, f"{model_name}: fields the SDK does not know: {sorted(unknown)}"
    assert set(model.to_dict()) == set(payload), f"{model_name}: fields differ from the SDK's"
    return model


@pytest.fixture(scope="session")
def spec():
    return P.spec()  # 4 MB: parsed once per session


# --------------------------------------------------------------- the canned API


def paged(key, items, cursor="NEXT", page_size=25):
    """A list endpoint answering two pages, so ``after`` is exercised."""

    def handler(request: httpx.Request):
        if request.url.params.get("after") == cursor:
            return P.page(key, items[1:], page_size=page_size)
        return P.page(key, items[:1], after=cursor, page_size=page_size)

    return handler


def entries(request: httpx.Request):
    body = {
        "schedule_entries": {
            "final": [P.entry()],
            "scheduled": [P.entry()],
            "overrides": [
                P.entry(
                    entry_id="01HOVERRIDE000000000000000",
                    fingerprint="fp-ov",
                    user={"id": "NOBODY", "name": "Nobody", "role": "unset"},
                )
            ],
        }
    }
    if request.url.params["entry_window_start"] != "01CURSOR":
        body["pagination_meta"] = {
            "after": "01CURSOR",
            "after_url": "https://api.incident.io/v2/schedule_entries?entry_window_start=01CURSOR",
        }
    return body


CANNED: list[tuple[str, str, object]] = [
    ("GET", "/v1/identity", P.identity(["viewer", "escalation_creator"])),
    ("GET", "/v2/users", paged("users", [P.user_with_roles(), P.user_with_roles(id="U2")])),
    ("GET", "/v2/users/[^/]+", {"user": P.user_with_roles()}),
    ("GET", "/v1/severities", {"severities": [P.severity()]}),
    ("GET", "/v1/incident_statuses", {"incident_statuses": [P.status()]}),
    ("GET", "/v2/incident_roles", {"incident_roles": [P.incident_role()]}),
    ("GET", "/v1/incident_types", {"incident_types": [P.incident_type()]}),
    ("GET", "/v2/schedules", paged("schedules", [P.schedule(), P.schedule(sid="S2")])),
    ("GET", "/v2/schedules/[^/]+", {"schedule": P.schedule()}),
    ("GET", "/v2/schedule_entries", entries),
    ("GET", "/v2/schedule_overrides", paged("overrides", [P.override(), P.override("O2")])),
    ("POST", "/v2/schedule_overrides", (201, {"override": P.override()})),
    ("PUT", "/v2/schedule_overrides/[^/]+", {"override": P.override()}),
    ("DELETE", "/v2/schedule_overrides/[^/]+", (204, None)),
    ("GET", "/v2/escalation_paths", paged("escalation_paths", [P.escalation_path()] * 2)),
    ("GET", "/v2/escalation_paths/[^/]+", {"escalation_path": P.escalation_path()}),
    (
        "GET",
        "/v2/escalations",
        paged("escalations", [P.escalation(), P.escalation("E2")], page_size=50),
    ),
    ("GET", "/v2/escalations/[^/]+", {"escalation": P.escalation()}),
    ("POST", "/v2/escalations", (201, {"escalation": P.escalation()})),
    ("POST", "/v2/escalations/[^/]+/actions/cancel", (200, None)),
    ("POST", "/v2/escalations/[^/]+/actions/respond", (200, None)),
    ("POST", "/v2/escalations/[^/]+/actions/reassign", (201, {"escalation": P.escalation()})),
    ("GET", "/v2/alerts", paged("alerts", [P.alert(), P.alert("A2")], page_size=50)),
    ("GET", "/v2/alerts/[^/]+", {"alert": P.alert()}),
    (
        "POST",
        "/v2/alerts/[^/]+/actions/resolve",
        {"alert": P.alert(status="resolved", resolved_at=P.T1)},
    ),
    (
        "GET",
        "/v1/alert_notes",
        {"alert_notes": [P.alert_note()], "pagination_meta": {"page_size": 250}},
    ),
    ("POST", "/v1/alert_notes", (201, {"alert_note": P.alert_note()})),
    (
        "GET",
        "/v2/incident_alerts",
        paged("incident_alerts", [P.incident_alert()] * 2, page_size=50),
    ),
    (
        "GET",
        "/v2/alert_sources",
        {
            "alert_sources": [
                P.alert_source(
                    template={
                        "attributes": [],
                        "description": {"label": "d", "literal": "d"},
                        "expressions": [],
                        "is_private": False,
                        "title": {"label": "t", "literal": "t"},
                    }
                )
            ]
        },
    ),
    ("GET", "/v2/incidents", paged("incidents", [P.incident(), P.incident("I2")], page_size=250)),
    ("GET", "/v2/incidents/[^/]+", {"incident": P.incident()}),
    ("POST", "/v2/incidents", {"incident": P.incident()}),
    ("POST", "/v2/incidents/[^/]+/actions/edit", {"incident": P.incident()}),
    (
        "GET",
        "/v2/incident_updates",
        paged("incident_updates", [P.incident_update()] * 2, page_size=250),
    ),
    ("POST", "/v2/incident_updates", (201, {"incident_update": P.incident_update()})),
    (
        "GET",
        "/v2/incident_timeline_items",
        paged("incident_timeline_items", [P.timeline_item()] * 2),
    ),
    ("POST", "/v2/incident_timeline_items", (201, {"incident_timeline_item": P.timeline_item()})),
    ("PATCH", "/v2/incident_timeline_items/[^/]+", {"incident_timeline_item": P.timeline_item()}),
]


def canned_api() -> P.FakeApi:
    api = P.FakeApi()
    for method, pattern, response in reversed(CANNED):  # ``on`` puts the latest first
        api.on(method, pattern, response)
    return api


async def exercise(c: IncidentIoClient) -> None:
    """Call every public method, with the options each one has."""
    await c.identity()
    await c.find_user_by_email("ana@example.com")
    await c.get_user("U1")
    await c.list_users(include_inactive=True, slack_user_id="U0ANA")
    await c.severities()
    await c.incident_statuses()
    await c.incident_roles()
    await c.incident_types()
    await c.list_schedules()
    await c.get_schedule("S1")
    await c.schedule_entries("S1", START, END)
    await c.list_overrides("S1", rotation_id="R1", layer_id="L1")
    for who in ("NOBODY", NOBODY, "bo@example.com", "U2"):
        await c.create_override("S1", "R1", "L1", START, START + timedelta(hours=8), who)
    await c.update_override(
        "O1",
        rotation_id="R1",
        layer_id="L1",
        start=START,
        end=START + timedelta(hours=4),
        user="U2",
    )
    await c.delete_override("O1")
    await c.list_escalation_paths()
    await c.get_escalation_path("P1")
    await c.list_escalations()
    await c.list_escalations(statuses=("triggered",), alert_id="A1", incident_id="I1", path_id="P1")
    await c.list_escalations(statuses=None)
    await c.get_escalation("E1")
    await c.create_escalation(
        "DB down", path_id="P1", description="cpu", incident_id="I1", idempotency_key="k1"
    )
    await c.create_escalation("Shadow me", user_ids=["U1", "U2"], idempotency_key="k2")
    await c.cancel_escalation("E1")
    await c.respond_escalation("E1", "ack")
    await c.respond_escalation(
        "E1", "snooze", snooze_until=START + timedelta(minutes=30), reason="deploying"
    )
    await c.respond_escalation("E1", "nack")
    await c.reassign_escalation("E1", path_id="P2", title="Wrong team", description="to DB")
    await c.reassign_escalation("E2", user_ids=["U2"], resolve_original=False)
    await c.list_alerts()
    await c.list_alerts(statuses=("firing", "resolved"), source_ids=["SRC1"], dedup_key="k")
    await c.get_alert("A1")
    await c.resolve_alert("A1")
    await c.list_alert_notes("A1")
    await c.create_alert_note("A1", "Looking **now**")
    await c.incident_alerts(incident_id="I1")
    await c.incident_alerts(alert_id="A1")
    await c.list_alert_sources()
    await c.list_incidents()
    await c.list_incidents(
        ("live",), severity_ids=["SEV1"], created_after=START, oldest_first=True, limit=3
    )
    await c.get_incident("INC-42")
    await c.create_incident(
        "Checkout down",
        severity_id="SEV1",
        summary="cards fail",
        visibility="private",
        incident_type_id="T1",
        lead_user_id="U1",
        idempotency_key="k3",
    )
    await c.edit_incident(
        "I1",
        name="n",
        summary="s",
        severity_id="SEV2",
        status_id="ST2",
        call_url="https://meet.example.com/x",
        role_assignments={"R1": "U1", "R2": None},
        notify_incident_channel=False,
    )
    await c.list_incident_updates("I1")
    await c.create_incident_update(
        "I1", message="Fix out", status_id="ST3", severity_id="SEV1", idempotency_key="k4"
    )
    await c.list_timeline_items("I1")
    await c.create_timeline_item(
        "I1", title="Rolled back", description="to v411", timestamp=START, idempotency_key="k5"
    )
    await c.update_timeline_item(
        "TL1", title="Rolled back", description="", timestamp=START + timedelta(minutes=1)
    )
    await c.probe_capabilities()


async def test_every_request_matches_the_official_definitions(spec):
    api = canned_api()
    async with IncidentIoClient(
        "https://api.incident.io",
        "tok",
        transport=api.transport(),
        act_as_user_id="U1",
        retry=RetryPolicy(base=0.001, cap=0.01),
        stats=RequestStats(),
    ) as c:
        await exercise(c)

    covered = set()
    sizes: dict[str, set[int]] = {}
    for rec in api.requests:
        template = P.validate_request(rec)
        covered.add(f"{rec.method} {template}")
        _check_filters(template, rec)
        if rec.method == "GET" and "page_size" in dict(rec.params):
            size = int(dict(rec.params)["page_size"])
            assert size <= _documented_maximum(template), f"{template}: page_size {size}"
            sizes.setdefault(template, set()).add(size)
    # Lists are read with the documented maximum page size (a limit or a probe may ask
    # for fewer); schedules with 25 at most, or their next_shifts go missing.
    for template, asked in sizes.items():
        wanted = 25 if template == "/v2/schedules" else _documented_maximum(template)
        assert max(asked) == wanted, f"{template}: page sizes {sorted(asked)}, max {wanted}"
    # the scenario reaches every canned route
    for method, pattern, _ in CANNED:
        hit = any(r.method == method and re.fullmatch(pattern, r.path) for r in api.requests)
        assert hit, f"{method} {pattern} was never called"
    assert len(covered) >= 35


def _documented_maximum(template: str) -> int:
    """The largest page_size the 2.29.0 schema documents for a list."""
    op = P.spec()["paths"][template]["get"]
    declared = {p["name"]: p for p in op.get("parameters", [])}
    return declared["page_size"]["schema"]["maximum"]


def _check_filters(template: str, rec: P.Recorded) -> None:
    _, op = P.find_operation(rec.method, rec.path)
    declared = {p["name"]: p for p in op.get("parameters", [])}
    for key, value in rec.params:
        match = re.fullmatch(r"([a-z_]+)\[([a-z_]+)\]", key)
        if not match:
            continue
        name, operator = match.groups()
        accepted = re.findall(r"'([a-z_]+)'", declared[name].get("description", ""))
        assert operator in accepted, f"{template}: {name}[{operator}] not in {accepted}"
        enum_source = FILTER_ENUMS.get((template, name))
        if enum_source:
            schema_name, field = enum_source
            enum = P.spec()["components"]["schemas"][schema_name]["properties"][field]["enum"]
            assert value in enum, f"{template}: {name} value {value!r} not in {enum}"


def _sample_path(pattern: str) -> str:
    return re.sub(r"\[\^/\]\+", "X1", pattern)


@pytest.mark.parametrize(
    ("method", "pattern", "response"), CANNED, ids=[f"{m} {p}" for m, p, _ in CANNED]
)
def test_canned_responses_match_the_response_schemas(spec, method, pattern, response):
    path = _sample_path(pattern)
    request = httpx.Request(
        method,
        f"https://api.incident.io{path}",
        params={"entry_window_start": "2026-09-01T00:00:00Z"},
    )
    for variant in (
        request,
        httpx.Request(method, request.url.copy_merge_params({"after": "NEXT"})),
    ):
        reply = response(variant) if callable(response) else response
        code, body = reply if isinstance(reply, tuple) else (200, reply)
        body = json.loads(json.dumps(body)) if body is not None else None
        P.validate_response(method, path, code, body)


@pytest.mark.parametrize(
    ("builder", "schema"),
    [
        (P.identity, "UtilitiesIdentityResultV1"),
        (P.schedule, "ScheduleV2"),
        (P.entry, "ScheduleEntryV2"),
        (P.override, "ScheduleOverrideV2"),
        (P.escalation_path, "EscalationPathV2"),
        (P.templated_path, "EscalationPathV2"),
        (P.escalation, "EscalationV2"),
        (P.alert, "AlertV2"),
        (P.alert_note, "AlertNoteV1"),
        (P.incident_alert, "IncidentAlertV2"),
        (P.incident, "IncidentV2"),
        (P.incident_update, "IncidentUpdateV2"),
        (P.severity, "SeverityV1"),
        (P.status, "IncidentStatusV1"),
        (P.incident_role, "IncidentRoleV2"),
        (P.incident_type, "IncidentTypeV1"),
        (P.user_with_roles, "UserWithRolesV2"),
    ],
)
def test_payload_builders_are_spec_shaped(spec, builder, schema):
    P.validate_schema(builder(), schema)


def test_error_bodies_are_sdk_shaped():
    for code, kind in (
        (401, "authentication_error"),
        (404, "not_found"),
        (422, "validation_error"),
    ):
        sdk_load("ErrorResponse", P.error_body(code, kind, "x", field="f"))


def test_timeline_item_builder_is_sdk_shaped():
    sdk_load("IncidentTimelineItemV2", P.timeline_item())


def test_the_checker_itself_rejects_bad_requests(spec):
    """The contract is only worth something if it can fail."""
    bad = [
        P.Recorded("GET", "/v2/alerts", [], None, httpx.Headers()),  # page_size required
        P.Recorded("GET", "/v2/alerts", [("page_size", "51")], None, httpx.Headers()),
        P.Recorded(
            "GET", "/v2/alerts", [("page_size", "5"), ("colour", "red")], None, httpx.Headers()
        ),
        P.Recorded(
            "GET", "/v2/alerts", [("page_size", "5"), ("status", "firing")], None, httpx.Headers()
        ),
        P.Recorded("POST", "/v2/escalations", [], {"title": "x"}, httpx.Headers()),
        P.Recorded(
            "POST",
            "/v2/escalations",
            [],
            {"title": "x", "idempotency_key": "k", "urgency": "high"},
            httpx.Headers(),
        ),
        P.Recorded(
            "POST",
            "/v2/schedule_overrides",
            [],
            {**_override_body(), "start_at": "soon"},
            httpx.Headers(),
        ),
        P.Recorded("POST", "/v2/nonsense", [], None, httpx.Headers()),
    ]
    for rec in bad:
        with pytest.raises((AssertionError, Exception)):
            P.validate_request(rec)
    P.validate_request(
        P.Recorded("POST", "/v2/schedule_overrides", [], _override_body(), httpx.Headers())
    )


def _override_body() -> dict:
    return {
        "schedule_id": "S",
        "rotation_id": "R",
        "layer_id": "L",
        "start_at": "2026-09-01T00:00:00Z",
        "end_at": "2026-09-01T08:00:00Z",
        "user": {"id": "NOBODY"},
    }
