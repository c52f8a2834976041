"""Contract: every body the simulated incident.io API serves matches the official schema.

* Every endpoint the dashboard's client calls (the 2.29.0 schema, fetched by
  ``scripts/fetch-oracles``): each 2xx body validates against the operation's response
  schema from ``components.schemas``, strictly (every object schema is closed with
  ``additionalProperties: false``, so a misspelt or invented field fails), with formats
  checked; the status code is the one the schema declares (200/201/202/204).
* The endpoints added late (respond, reassign, updates, timeline items) also load with the
  official SDK's models and carry no field the model does not know; requests built with
  the SDK's payload models are accepted. ``test_sim_sdk`` drives the SDK's own API
  functions against ``oncall-tui sim serve``.
* Error bodies load as the SDK's ``ErrorResponse`` (so ``type`` is one of its values).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import httpx
import oracles
import pytest
from incident_io import models
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from oncall_tui.backends.incidentio import OPERATIONS
from oncall_tui.sim.incidentio import create_app
from oncall_tui.sim.scenario import SimClock, build_world

TOKEN = "contract-token"
START = datetime(2026, 9, 2, 10, 30, tzinfo=UTC)  # a Wednesday


def _close(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {k: _close(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_close(v) for v in schema]
    return schema


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    return oracles.incident_io()


@pytest.fixture(scope="session")
def strict_components(spec) -> dict[str, Any]:
    return _close(copy.deepcopy(spec["components"]))


class Checker:
    def __init__(self, spec: dict[str, Any], components: dict[str, Any]) -> None:
        self.spec = spec
        self.components = components
        self.checked: set[tuple[str, str]] = set()

    def response_ref(self, method: str, template: str, status: int) -> str | None:
        op = self.spec["paths"][template][method.lower()]
        assert str(status) in op["responses"], (
            f"{method} {template} answered {status}; the spec declares {list(op['responses'])}"
        )
        content = op["responses"][str(status)].get("content")
        if not content:
            return None
        return content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]

    def validate(self, name: str, body: Any) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": self.components}
        validator = OAS30Validator(schema, format_checker=oas30_format_checker)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        assert not errors, f"{name}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
        )

    def check(self, response: httpx.Response, template: str) -> Any:
        method = response.request.method
        assert response.status_code < 300, response.text
        ref = self.response_ref(method, template, response.status_code)
        self.checked.add((method, template))
        if ref is None:
            assert response.content == b""
            return None
        body = response.json()
        self.validate(ref, body)
        return body


def sdk_load(name: str, body: Any) -> Any:
    cls = getattr(models, name)
    obj = cls.from_dict(body)
    _no_unknown_fields(obj, name)
    return obj


def _no_unknown_fields(obj: Any, where: str) -> None:
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            _no_unknown_fields(item, f"{where}[{i}]")
        return
    if not attrs.has(type(obj)):
        return
    extra = getattr(obj, "additional_properties", {})
    if [f.name for f in attrs.fields(type(obj))] == ["additional_properties"]:
        # A map in the schema (additionalProperties only, e.g. param_bindings): its keys
        # are data, its values models to check.
        for key, value in extra.items():
            _no_unknown_fields(value, f"{where}[{key!r}]")
        return
    assert not extra, f"{where}: fields unknown to the SDK model: {sorted(extra)}"
    for field in attrs.fields(type(obj)):
        if field.name != "additional_properties":
            _no_unknown_fields(getattr(obj, field.name), f"{where}.{field.name}")


@pytest.fixture
def setup(spec, strict_components):
    clock = SimClock(START, frozen=True)
    world = build_world(clock, seed=3, background_alerts=30)
    app = create_app(world, token=TOKEN, rate_limit_per_min=100_000)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sim.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    return world, clock, client, Checker(spec, strict_components)


async def test_every_read_endpoint_matches_the_schema(setup):
    await _read_walk(*setup)


async def _read_walk(world, clock, c, check) -> None:
    clock.advance(20 * 60)  # let the script play: pages climb, alerts fire and resolve
    async with c:
        check.check(await c.get("/v1/identity"), "/v1/identity")
        users = check.check(await c.get("/v2/users", params={"page_size": 3}), "/v2/users")
        me = check.check(await c.get("/v2/users", params={"email": "me@example.com"}), "/v2/users")
        assert [u["id"] for u in me["users"]] == [world.me.id]
        check.check(await c.get(f"/v2/users/{users['users'][0]['id']}"), "/v2/users/{id}")
        for user_id in (world.me.id, users["users"][0]["id"]):
            methods = check.check(
                await c.get(f"/v2/users/{user_id}/notification_methods"),
                "/v2/users/{user_id}/notification_methods",
            )
            assert {m["method_type"] for m in methods["notification_methods"]} >= {"app", "phone"}
            rules = check.check(
                await c.get(f"/v2/users/{user_id}/notification_rules"),
                "/v2/users/{user_id}/notification_rules",
            )
            assert {r["method_target"]["type"] for r in rules["notification_rules"]} == {
                "all",
                "specific",
            }
        check.check(await c.get("/v1/severities"), "/v1/severities")
        check.check(await c.get("/v1/incident_statuses"), "/v1/incident_statuses")
        check.check(await c.get("/v2/incident_roles"), "/v2/incident_roles")
        check.check(await c.get("/v1/incident_types"), "/v1/incident_types")
        schedules = check.check(await c.get("/v2/schedules"), "/v2/schedules")
        check.check(await c.get("/v2/schedules", params={"page_size": 100}), "/v2/schedules")
        for s in schedules["schedules"]:
            check.check(await c.get(f"/v2/schedules/{s['id']}"), "/v2/schedules/{id}")
            check.check(
                await c.get(
                    "/v2/schedule_entries",
                    params={
                        "schedule_id": s["id"],
                        "entry_window_start": "2026-08-31T00:00:00Z",
                        "entry_window_end": "2026-09-14T00:00:00Z",
                    },
                ),
                "/v2/schedule_entries",
            )
            check.check(
                await c.get("/v2/schedule_overrides", params={"schedule_id": s["id"]}),
                "/v2/schedule_overrides",
            )
        paths = check.check(await c.get("/v2/escalation_paths"), "/v2/escalation_paths")
        for p in paths["escalation_paths"]:
            check.check(await c.get(f"/v2/escalation_paths/{p['id']}"), "/v2/escalation_paths/{id}")
        escalations = check.check(await c.get("/v2/escalations"), "/v2/escalations")
        statuses = {e["status"] for e in escalations["escalations"]}
        assert "acked" in statuses and len(escalations["escalations"]) >= 2
        for e in escalations["escalations"][:5]:
            check.check(await c.get(f"/v2/escalations/{e['id']}"), "/v2/escalations/{id}")
        alerts = check.check(await c.get("/v2/alerts", params={"page_size": 50}), "/v2/alerts")
        assert {a["status"] for a in alerts["alerts"]} == {"firing", "resolved"}
        for a in alerts["alerts"][:5]:
            check.check(await c.get(f"/v2/alerts/{a['id']}"), "/v2/alerts/{id}")
        check.check(
            await c.get("/v1/alert_notes", params={"alert_id": alerts["alerts"][0]["id"]}),
            "/v1/alert_notes",
        )
        check.check(
            await c.get("/v2/incident_alerts", params={"page_size": 50}), "/v2/incident_alerts"
        )
        check.check(await c.get("/v2/alert_sources"), "/v2/alert_sources")
        incidents = check.check(await c.get("/v2/incidents"), "/v2/incidents")
        categories = set()
        for inc in incidents["incidents"]:
            categories.add(inc["incident_status"]["category"])
            check.check(await c.get(f"/v2/incidents/{inc['id']}"), "/v2/incidents/{id}")
            check.check(
                await c.get("/v2/incident_updates", params={"incident_id": inc["id"]}),
                "/v2/incident_updates",
            )
            items = await c.get("/v2/incident_timeline_items", params={"incident_id": inc["id"]})
            check.check(items, "/v2/incident_timeline_items")
            sdk_load("IncidentTimelineItemsListResultV2", items.json())
        assert {"triage", "live", "learning", "closed"} <= categories


async def test_every_write_endpoint_matches_the_schema(setup):
    await _write_walk(*setup)


async def _write_walk(world, clock, c, check) -> None:
    clock.advance(5)
    async with c:
        sched = world.schedule_by_name["Global on-call"]
        rot = sched.rotations[0]
        body = {
            "schedule_id": sched.id,
            "rotation_id": rot.id,
            "layer_id": rot.layers[0].id,
            "start_at": "2026-09-03T06:00:00Z",
            "end_at": "2026-09-03T10:00:00Z",
            "user": {"id": "NOBODY"},
        }
        created = check.check(
            await c.post("/v2/schedule_overrides", json=body), "/v2/schedule_overrides"
        )
        assert "user" not in created["override"]  # NOBODY: the layer is left uncovered
        body["user"] = {"email": "ana.souza@example.com"}
        created = check.check(
            await c.post("/v2/schedule_overrides", json=body), "/v2/schedule_overrides"
        )
        oid = created["override"]["id"]
        update = {k: body[k] for k in ("rotation_id", "layer_id", "user")}
        update |= {"start_at": "2026-09-03T07:00:00Z", "end_at": "2026-09-03T11:00:00Z"}
        check.check(
            await c.put(f"/v2/schedule_overrides/{oid}", json=update), "/v2/schedule_overrides/{id}"
        )
        check.check(await c.delete(f"/v2/schedule_overrides/{oid}"), "/v2/schedule_overrides/{id}")

        path = world.path_by_team[world.teams["search"].id]
        esc = check.check(
            await c.post(
                "/v2/escalations",
                json={
                    "idempotency_key": "k1",
                    "title": "Index stuck",
                    "escalation_path_id": path.id,
                },
            ),
            "/v2/escalations",
        )
        check.check(
            await c.post(f"/v2/escalations/{esc['escalation']['id']}/actions/cancel"),
            "/v2/escalations/{id}/actions/cancel",
        )
        alert = next(a for a in world.alerts.values() if a.status == "firing")
        check.check(
            await c.post(f"/v2/alerts/{alert.id}/actions/resolve"),
            "/v2/alerts/{id}/actions/resolve",
        )
        check.check(
            await c.post("/v1/alert_notes", json={"alert_id": alert.id, "content": "Looking."}),
            "/v1/alert_notes",
        )
        sev = world.severity_by_name("Major")
        inc = check.check(
            await c.post(
                "/v2/incidents",
                json={"idempotency_key": "i1", "visibility": "public", "name": "Checkout down",
                      "severity_id": sev.id},
            ),
            "/v2/incidents",
        )  # fmt: skip
        check.check(
            await c.post(
                f"/v2/incidents/{inc['incident']['id']}/actions/edit",
                json={
                    "incident": {"summary": "Card payments fail"},
                    "notify_incident_channel": False,
                },
            ),
            "/v2/incidents/{id}/actions/edit",
        )
        source = world.http_source
        check.check(
            await c.post(
                f"/v2/alert_events/http/{source.id}",
                params={"token": source.secret_token},
                json={"title": "Disk full", "status": "firing", "deduplication_key": "disk-1"},
            ),
            "/v2/alert_events/http/{alert_source_config_id}",
        )


async def test_newer_endpoints_speak_the_sdk_models(setup):
    await _newer_walk(*setup)


async def _newer_walk(world, clock, c, check) -> None:
    clock.advance(5)
    inc = next(
        i for i in world.incidents.values() if world.statuses[i.status_id].category == "live"
    )
    fixing = world.status_by_name("Monitoring")
    async with c:
        payload = models.IncidentUpdatesCreatePayloadV2(
            idempotency_key="u1",
            incident_id=inc.id,
            message="Fix is out",
            to_incident_status_id=fixing.id,
        ).to_dict()
        r = await c.post("/v2/incident_updates", json=payload)
        assert r.status_code == 201, r.text
        check.check(r, "/v2/incident_updates")
        update = sdk_load("IncidentUpdatesCreateResultV2", r.json()).incident_update
        assert update.message == "Fix is out" and update.new_incident_status.id == fixing.id

        payload = models.IncidentTimelineItemsCreatePayloadV2(
            idempotency_key="t1", incident_id=inc.id, timestamp=START, title="Rolled back",
            description="All regions.",
        ).to_dict()  # fmt: skip
        r = await c.post("/v2/incident_timeline_items", json=payload)
        assert r.status_code == 201, r.text
        check.check(r, "/v2/incident_timeline_items")
        item = sdk_load("IncidentTimelineItemsCreateResultV2", r.json()).incident_timeline_item
        assert item.title == "Rolled back" and not item.activity_log_id

        payload = models.IncidentTimelineItemsUpdatePayloadV2(
            title="Rolled back to v2024.11.2",
            description="",
            timestamp=START - timedelta(minutes=1),
        ).to_dict()
        r = await c.patch(f"/v2/incident_timeline_items/{item.id}", json=payload)
        assert r.status_code == 200, r.text
        check.check(r, "/v2/incident_timeline_items/{id}")
        edited = sdk_load("IncidentTimelineItemsUpdateResultV2", r.json()).incident_timeline_item
        assert edited.title == "Rolled back to v2024.11.2" and not edited.description

        esc = next(e for e in world.escalations.values() if e.status == "triggered")
        snooze = models.EscalationsRespondEscalationPayloadV2(
            response=models.EscalationsRespondEscalationPayloadV2Response.SNOOZE,
            snooze_details=models.EscalationRespondSnoozeDetailsPayloadV2(
                snooze_until=START + timedelta(minutes=30), reason="Deploy running"
            ),
        ).to_dict()
        r = await c.post(f"/v2/escalations/{esc.id}/actions/respond", json=snooze)
        assert r.status_code == 200 and r.content == b""
        check.check(r, "/v2/escalations/{escalation_id}/actions/respond")
        ack = models.EscalationsRespondEscalationPayloadV2(
            response=models.EscalationsRespondEscalationPayloadV2Response.ACK
        ).to_dict()
        r = await c.post(f"/v2/escalations/{esc.id}/actions/respond", json=ack)
        assert r.status_code == 200

        other = world.escalations[esc.id]
        payload = models.EscalationsReassignEscalationPayloadV2(
            user_ids=[world.people["mei.lin"].id]
        ).to_dict()
        r = await c.post(f"/v2/escalations/{other.id}/actions/reassign", json=payload)
        assert r.status_code == 201, r.text
        check.check(r, "/v2/escalations/{escalation_id}/actions/reassign")
        new = sdk_load("EscalationsReassignEscalationResultV2", r.json()).escalation
        assert new.id != other.id and world.escalations[other.id].status == "resolved"


# Each operation of the dashboard's client, as the 2.29.0 schema names its endpoint.
ENDPOINT_OF = {
    "identity": ("GET", "/v1/identity"),
    "users.list": ("GET", "/v2/users"),
    "users.show": ("GET", "/v2/users/{id}"),
    "notification_methods.list": ("GET", "/v2/users/{user_id}/notification_methods"),
    "notification_rules.list": ("GET", "/v2/users/{user_id}/notification_rules"),
    "severities.list": ("GET", "/v1/severities"),
    "incident_statuses.list": ("GET", "/v1/incident_statuses"),
    "incident_roles.list": ("GET", "/v2/incident_roles"),
    "incident_types.list": ("GET", "/v1/incident_types"),
    "schedules.list": ("GET", "/v2/schedules"),
    "schedules.show": ("GET", "/v2/schedules/{id}"),
    "schedule_entries.list": ("GET", "/v2/schedule_entries"),
    "overrides.list": ("GET", "/v2/schedule_overrides"),
    "overrides.create": ("POST", "/v2/schedule_overrides"),
    "overrides.update": ("PUT", "/v2/schedule_overrides/{id}"),
    "overrides.delete": ("DELETE", "/v2/schedule_overrides/{id}"),
    "escalation_paths.list": ("GET", "/v2/escalation_paths"),
    "escalation_paths.show": ("GET", "/v2/escalation_paths/{id}"),
    "escalations.list": ("GET", "/v2/escalations"),
    "escalations.show": ("GET", "/v2/escalations/{id}"),
    "escalations.create": ("POST", "/v2/escalations"),
    "escalations.cancel": ("POST", "/v2/escalations/{id}/actions/cancel"),
    "escalations.respond": ("POST", "/v2/escalations/{escalation_id}/actions/respond"),
    "escalations.reassign": ("POST", "/v2/escalations/{escalation_id}/actions/reassign"),
    "alerts.list": ("GET", "/v2/alerts"),
    "alerts.show": ("GET", "/v2/alerts/{id}"),
    "alerts.resolve": ("POST", "/v2/alerts/{id}/actions/resolve"),
    "alert_notes.list": ("GET", "/v1/alert_notes"),
    "alert_notes.create": ("POST", "/v1/alert_notes"),
    "incident_alerts.list": ("GET", "/v2/incident_alerts"),
    "alert_sources.list": ("GET", "/v2/alert_sources"),
    "incidents.list": ("GET", "/v2/incidents"),
    "incidents.show": ("GET", "/v2/incidents/{id}"),
    "incidents.create": ("POST", "/v2/incidents"),
    "incidents.edit": ("POST", "/v2/incidents/{id}/actions/edit"),
    "incident_updates.list": ("GET", "/v2/incident_updates"),
    "incident_updates.create": ("POST", "/v2/incident_updates"),
    "timeline_items.list": ("GET", "/v2/incident_timeline_items"),
    "timeline_items.create": ("POST", "/v2/incident_timeline_items"),
    "timeline_items.update": ("PATCH", "/v2/incident_timeline_items/{id}"),
}


async def test_the_walk_validates_every_endpoint_the_client_calls(spec, strict_components):
    """One checker through all three walks: every endpoint of every operation of the
    client answered, and validated strictly against the 2.29.0 schema."""
    assert set(ENDPOINT_OF) == set(OPERATIONS), "an operation was added: map it here"
    for method, template in ENDPOINT_OF.values():
        assert method.lower() in spec["paths"][template], f"{method} {template} not in 2.29.0"
    check = Checker(spec, strict_components)
    for walk in (_read_walk, _write_walk, _newer_walk):
        clock = SimClock(START, frozen=True)
        world = build_world(clock, seed=3, background_alerts=30)
        app = create_app(world, token=TOKEN, rate_limit_per_min=100_000)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://sim.test",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        await walk(world, clock, client, check)
    missing = set(ENDPOINT_OF.values()) - check.checked
    assert not missing, f"never validated: {sorted(missing)}"


async def test_error_bodies_are_sdk_error_responses(setup):
    _world, _clock, c, _check = setup
    async with c:
        answers = [
            await c.get("/v2/alerts"),  # page_size missing: 422
            await c.get("/v2/escalations/01XXXXXXXXXXXXXXXXXXXXXXXX"),  # 404
            await c.get("/v2/alerts", params={"page_size": 5}, headers={"Authorization": ""}),
            await c.get(
                "/v2/alerts", params={"page_size": 5}, headers={"Authorization": "Bearer no"}
            ),
            await c.post("/v2/incidents", content=b"{not json"),
            await c.delete("/v2/alerts"),
        ]
    assert [r.status_code for r in answers] == [422, 404, 401, 401, 400, 405]
    for r in answers:
        err = models.ErrorResponse.from_dict(r.json())
        assert err.status == r.status_code and err.errors and err.request_id
    assert answers[0].json()["errors"][0]["source"]["field"] == "page_size"
    assert answers[2].json()["errors"][0]["code"] == "missing_authorization_material"


def test_the_checker_is_strict(spec, strict_components):
    """A field the schema does not define, or a bad date, fails the contract."""
    check = Checker(spec, strict_components)
    good = {
        "id": "01J0000000000000000000000A",
        "name": "Minor",
        "rank": 1,
        "description": "x",
        "created_at": "2026-09-02T10:30:00.000Z",
        "updated_at": "2026-09-02T10:30:00.000Z",
    }
    check.validate("SeverityV1", good)
    with pytest.raises(AssertionError, match="Additional properties"):
        check.validate("SeverityV1", {**good, "colour": "red"})
    with pytest.raises(AssertionError, match="date-time"):
        check.validate("SeverityV1", {**good, "created_at": "yesterday"})
