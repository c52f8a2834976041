"""Spec-shaped incident.io payloads, a canned fake API, and the official-spec checker.

Shared by the ``test_incidentio_client*`` files. Every payload builder returns what the
official OpenAPI schema (the ``openapi.json`` of the official SDK incident-io 2.29.0,
fetched by ``scripts/fetch-oracles``; see ``oracles.py``) says the server
sends; the contract tests validate them against the spec's response schemas, so the
other tests can rely on them being honest.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import oracles
from jsonschema import validators
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

T0 = "2026-09-01T09:00:00Z"
T1 = "2026-09-01T10:00:00.123456Z"

USER_ANA = {
    "id": "01HUSERANA0000000000000000",
    "name": "Ana Lima",
    "email": "ana@example.com",
    "role": "responder",
    "slack_user_id": "U0ANA",
}
USER_BO = {
    "id": "01HUSERB00000000000000000A",
    "name": "Bo Chen",
    "email": "bo@example.com",
    "role": "responder",
}


def user(**over: Any) -> dict:
    return {**USER_ANA, **over}


def user_with_roles(**over: Any) -> dict:
    return {
        **USER_ANA,
        "is_active": True,
        "base_role": {"id": "01HROLE0000000000000000000", "name": "Responder", "slug": "responder"},
        "custom_roles": [],
        "seats": {"on_call": "full_access", "response": "full_access"},
        **over,
    }


def identity(roles: list[str] | None = None, **over: Any) -> dict:
    return {
        "identity": {
            "name": "oncall-tui key",
            "roles": roles if roles is not None else ["viewer"],
            "team_roles": [],
            "teams": [],
            "dashboard_url": "https://app.incident.io/acme",
            **over,
        }
    }


def entry(start: str = T0, end: str = T1, **over: Any) -> dict:
    return {
        "start_at": start,
        "end_at": end,
        "user": user(),
        "rotation_id": "01HROT00000000000000000000",
        "fingerprint": "fp-1",
        **over,
    }


def rotation(**over: Any) -> dict:
    return {
        "id": "01HROT00000000000000000000",
        "name": "Europe",
        "handover_start_at": T0,
        "handovers": [{"interval": 1, "interval_type": "weekly"}],
        "layers": [{"id": "01HLAYER000000000000000000", "name": "Primary"}],
        "users": [user(), {**USER_BO}],
        "working_intervals": [
            {"weekday": d, "start_time": "06:00", "end_time": "16:00"}
            for d in ("monday", "tuesday", "wednesday", "thursday", "friday")
        ],
        "scheduling_mode": "fair",
        "effective_from": T0,
        **over,
    }


def schedule(sid: str = "01HSCHED000000000000000000", **over: Any) -> dict:
    return {
        "id": sid,
        "name": "Global on-call",
        "timezone": "Europe/London",
        "permalink": f"https://app.incident.io/acme/on-call/schedules/{sid}",
        "team_ids": [],
        "annotations": {},
        "created_at": T0,
        "updated_at": T0,
        "config": {"rotations": [rotation()]},
        "current_shifts": [entry()],
        "next_shifts": [entry(start=T1, end="2026-09-01T16:00:00Z", user=dict(USER_BO))],
        **over,
    }


def override(oid: str = "01HOVERRIDE000000000000000", **over: Any) -> dict:
    return {
        "id": oid,
        "schedule_id": "01HSCHED000000000000000000",
        "rotation_id": "01HROT00000000000000000000",
        "layer_id": "01HLAYER000000000000000000",
        "start_at": T0,
        "end_at": T1,
        "created_at": T0,
        "updated_at": T0,
        "user": user(),
        **over,
    }


def escalation_path(pid: str = "01HPATH0000000000000000000", **over: Any) -> dict:
    return {
        "id": pid,
        "name": "Payments critical",
        "kind": "standalone",
        "team_ids": ["01HTEAM0000000000000000000"],
        "current_responders": [user()],
        "path": [
            {
                "id": "01HNODE1000000000000000000",
                "type": "level",
                "level": {
                    "targets": [
                        {
                            "id": "01HSCHED000000000000000000",
                            "type": "schedule",
                            "urgency": "high",
                            "schedule_mode": "currently_on_call",
                        }
                    ],
                    "time_to_ack_seconds": 300,
                    "ack_mode": "first",
                },
            },
            {
                "id": "01HNODE2000000000000000000",
                "type": "if_else",
                "if_else": {
                    "conditions": [],
                    "then_path": [
                        {
                            "id": "01HNODE3000000000000000000",
                            "type": "level",
                            "level": {
                                "targets": [
                                    {"id": USER_BO["id"], "type": "user", "urgency": "low"}
                                ],
                                "time_to_ack_seconds": 600,
                            },
                        }
                    ],
                    "else_path": [],
                },
            },
        ],
        **over,
    }


def escalation(eid: str = "01HESC00000000000000000000", **over: Any) -> dict:
    return {
        "id": eid,
        "title": "Checkout error rate high",
        "description": "5xx above 5%",
        "status": "triggered",
        "priority": {"name": "P1"},
        "creator": {"alert": {"id": "01HALERT000000000000000000", "title": "Checkout 5xx"}},
        "escalation_path_id": "01HPATH0000000000000000000",
        "events": [
            {"id": "01HEV10000000000000000000A", "event": "triggered", "occurred_at": T0},
            {
                "id": "01HEV20000000000000000000A",
                "event": "notified_users",
                "occurred_at": T0,
                "users": [user()],
                "urgency": "high",
            },
        ],
        "related_alerts": [
            {
                "id": "01HALERT000000000000000000",
                "title": "Checkout 5xx",
                "status": "firing",
                "alert_source_id": "01HSOURCE00000000000000000",
                "deduplication_key": "k1",
                "created_at": T0,
                "updated_at": T0,
            }
        ],
        "related_incidents": [],
        "created_at": T0,
        "updated_at": T1,
        **over,
    }


def attribute(name: str, literal: str | None = None, label: str | None = None) -> dict:
    value: dict[str, Any] = {}
    if literal is not None:
        value["literal"] = literal
    if label is not None:
        value["label"] = label
    return {
        "attribute": {
            "id": f"01HATTR{abs(hash(name)) % 10**19:019d}",
            "name": name,
            "type": "String",
            "array": False,
            "required": False,
        },
        "value": value,
    }


def alert(aid: str = "01HALERT000000000000000000", **over: Any) -> dict:
    return {
        "id": aid,
        "title": "Checkout 5xx",
        "description": "Error rate **above** 5%",
        "status": "firing",
        "alert_source_id": "01HSOURCE00000000000000000",
        "deduplication_key": "checkout-5xx",
        "source_url": "https://grafana.example.com/alerting/grafana/abc/view",
        "attributes": [
            attribute("severity", label="Critical"),
            attribute("runbook_url", literal="https://wiki.example.com/runbooks/checkout"),
            attribute("Grafana dashboard", literal="https://grafana.example.com/d/abc"),
            attribute("team", label="Payments"),
        ],
        "alert_group_ids": ["01HGROUP000000000000000000"],
        "created_at": T0,
        "updated_at": T1,
        **over,
    }


def alert_note(nid: str = "01HNOTE0000000000000000000", **over: Any) -> dict:
    return {
        "id": nid,
        "alert_id": "01HALERT000000000000000000",
        "content": "Rolled back\n- v412",
        "creator": {"user": user()},
        "images": [],
        "created_at": T0,
        "updated_at": T0,
        **over,
    }


def alert_source(**over: Any) -> dict:
    binding = {"label": "Title", "literal": "x"}
    return {
        "id": "01HSOURCE00000000000000000",
        "name": "Grafana prod",
        "source_type": "grafana",
        "secret_token": "sk-very-secret-token",
        "template": {
            "attributes": [],
            "description": binding,
            "expressions": [],
            "is_private": False,
            "title": binding,
        },
        **over,
    }


def incident_slim(**over: Any) -> dict:
    return {
        "id": "01HINC00000000000000000000",
        "external_id": 42,
        "name": "Checkout down",
        "reference": "INC-42",
        "status_category": "active",
        "visibility": "public",
        **over,
    }


def incident_alert(**over: Any) -> dict:
    return {
        "id": "01HINCALERT000000000000000",
        "alert": escalation()["related_alerts"][0],
        "incident": incident_slim(),
        "alert_route_id": "01HROUTE000000000000000000",
        **over,
    }


def severity(sid: str = "01HSEVMAJ00000000000000000", name: str = "Major", rank: int = 2) -> dict:
    return {
        "id": sid,
        "name": name,
        "rank": rank,
        "description": "Customers **affected**",
        "created_at": T0,
        "updated_at": T0,
    }


def status(
    sid: str = "01HSTATLIVE000000000000000",
    name: str = "Investigating",
    category: str = "live",
    rank: int = 2,
) -> dict:
    return {
        "id": sid,
        "name": name,
        "category": category,
        "rank": rank,
        "description": "",
        "created_at": T0,
        "updated_at": T0,
    }


def incident_role(rid: str = "01HROLELEAD000000000000000", role_type: str = "lead") -> dict:
    return {
        "id": rid,
        "name": "Incident Lead",
        "role_type": role_type,
        "shortform": "lead",
        "description": "Runs the incident",
        "instructions": "Coordinate",
        "created_at": T0,
        "updated_at": T0,
    }


def incident_type() -> dict:
    return {
        "id": "01HTYPE0000000000000000000",
        "name": "Production outage",
        "description": "",
        "create_in_triage": "optional",
        "is_default": True,
        "private_incidents_only": False,
        "created_at": T0,
        "updated_at": T0,
    }


def templated_path(pid: str = "01HPATHTPL0000000000000000", **over: Any) -> dict:
    """A path built from a template: the schema gives it an empty ``path``."""
    return {
        "id": pid,
        "name": "Payments (from template)",
        "kind": "templated",
        "template_id": "01HTEMPLATE000000000000000",
        "param_bindings": {
            "schedule": {
                "value": {"label": "Global on-call", "literal": "01HSCHED000000000000000000"}
            }
        },
        "team_ids": ["01HTEAM0000000000000000000"],
        "current_responders": [user()],
        "path": [],
        **over,
    }


def incident(iid: str = "01HINC00000000000000000000", **over: Any) -> dict:
    return {
        "id": iid,
        "reference": "INC-42",
        "name": "Checkout down",
        "summary": "Card payments fail",
        "incident_status": status(),
        "severity": severity(),
        "incident_type": incident_type(),
        "mode": "standard",
        "visibility": "public",
        "permalink": "https://app.incident.io/acme/incidents/42",
        "call_url": "https://meet.example.com/inc-42",
        "slack_channel_id": "C042",
        "slack_channel_name": "inc-42-checkout-down",
        "slack_team_id": "T01",
        "creator": {"user": user()},
        "custom_field_entries": [],
        "incident_role_assignments": [{"role": incident_role(), "assignee": user()}],
        "team_ids": ["01HTEAM0000000000000000000"],
        "last_activity_at": T1,
        "created_at": T0,
        "updated_at": T1,
        **over,
    }


def incident_update(**over: Any) -> dict:
    return {
        "id": "01HUPDATE00000000000000000",
        "incident_id": "01HINC00000000000000000000",
        "message": "Fix deployed",
        "new_incident_status": status(),
        "new_severity": severity(),
        "updater": {"user": user()},
        "created_at": T1,
        **over,
    }


def timeline_item(**over: Any) -> dict:
    """``IncidentTimelineItemV2`` (newer than the vendored spec; shape from the SDK)."""
    return {
        "id": "01HTLITEM00000000000000000",
        "incident_id": "01HINC00000000000000000000",
        "timestamp": T0,
        "title": "Rolled back payments-api",
        "description": "to v411",
        "creator": {"api_key": {"id": "01HKEY0000000000000000000A", "name": "oncall-tui"}},
        "created_at": T1,
        "updated_at": T1,
        **over,
    }


def error_body(status_code: int, type_: str, message: str, field: str | None = None) -> dict:
    err: dict[str, Any] = {"code": type_, "message": message}
    if field:
        err["source"] = {"field": field, "pointer": f"/{field}"}
    return {"type": type_, "status": status_code, "request_id": "req-123", "errors": [err]}


def page(key: str, items: list, after: str | None = None, page_size: int = 25) -> dict:
    meta: dict[str, Any] = {"page_size": page_size}
    if after:
        meta["after"] = after
    return {key: items, "pagination_meta": meta}


# --------------------------------------------------------------------- fake API


@dataclass
class Recorded:
    method: str
    path: str
    params: list[tuple[str, str]]
    body: Any
    headers: httpx.Headers
    raw_path: bytes = b""


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeApi:
    """Routes ``(METHOD, path regex)`` to canned responses and records every request."""

    routes: list[tuple[str, re.Pattern, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def on(self, method: str, pattern: str, response: Any) -> FakeApi:
        """``response``: a JSON-able body (200), a ``(status, body)`` pair, an
        ``httpx.Response``, or a callable taking the request and returning one of those."""
        self.routes.insert(0, (method, re.compile(f"^{pattern}$"), response))
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append(
            Recorded(
                request.method,
                request.url.path,
                list(request.url.params.multi_items()),
                body,
                request.headers,
                request.url.raw_path,
            )
        )
        for method, pattern, response in self.routes:
            if method == request.method and pattern.match(request.url.path):
                if callable(response):
                    response = response(request)
                if isinstance(response, httpx.Response):
                    return response
                if isinstance(response, tuple):
                    code, payload = response
                    if payload is None:
                        return httpx.Response(code)
                    return httpx.Response(code, json=payload)
                return httpx.Response(200, json=response)
        return httpx.Response(404, text="404 page not found")

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


# ----------------------------------------------------------------- spec checking


@functools.cache
def spec() -> dict:
    return oracles.incident_io()


def _strict_properties(validator, properties, instance, schema):
    yield from validators.Draft4Validator.VALIDATORS["properties"](
        validator, properties, instance, schema
    )
    if isinstance(instance, dict) and "additionalProperties" not in schema:
        extra = sorted(set(instance) - set(properties))
        if extra:
            from jsonschema.exceptions import ValidationError

            yield ValidationError(f"fields the spec does not define: {extra}")


_StrictValidator = validators.extend(OAS30Validator, {"properties": _strict_properties})


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource("urn:spec", Resource(contents=spec(), specification=DRAFT4))


def validate_schema(instance: Any, ref: str, *, strict: bool = True) -> None:
    """Validate against ``#/components/schemas/<ref>``; raises on the first error."""
    cls = _StrictValidator if strict else OAS30Validator
    validator = cls(
        {"$ref": f"urn:spec#/components/schemas/{ref}"},
        registry=_registry(),
        format_checker=OAS30Validator.FORMAT_CHECKER,
    )
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path)
        raise AssertionError(f"{ref} at {where or '<root>'}: {first.message}")


def _template_regex(template: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")


@functools.cache
def _templates() -> list[tuple[str, re.Pattern]]:
    paths = list(spec()["paths"])
    # literal segments beat templated ones: sort by number of placeholders
    paths.sort(key=lambda p: p.count("{"))
    return [(p, _template_regex(p)) for p in paths]


def find_operation(method: str, path: str) -> tuple[str, dict] | None:
    for template, regex in _templates():
        if regex.match(path):
            op = spec()["paths"][template].get(method.lower())
            if op is not None:
                return template, op
    return None


def _coerce(value: str, schema: dict) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        return int(value)
    if kind == "boolean":
        if value not in ("true", "false"):
            raise AssertionError(f"{value!r} is not a boolean")
        return value == "true"
    return value


def validate_request(rec: Recorded) -> str:
    """Check one recorded request against the official spec; returns the path template."""
    found = find_operation(rec.method, rec.path)
    assert found is not None, f"{rec.method} {rec.path} is not in the official spec"
    template, op = found
    declared = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
    seen: set[str] = set()
    for key, value in rec.params:
        match = re.fullmatch(r"([a-z_]+)((?:\[[^\]]+\])+)", key)
        name = match.group(1) if match else key
        assert name in declared, f"{rec.method} {template}: unknown query parameter {key!r}"
        schema = declared[name]["schema"]
        seen.add(name)
        if match:  # deepObject: name[op]=value, value list of strings
            assert schema.get("type") == "object", f"{key}: {name} is not a filter object"
            assert isinstance(value, str) and value, f"{key}: empty filter value"
        else:
            assert schema.get("type") != "object", f"{key}: filter sent without an operator"
            validator = OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER)
            validator.validate(_coerce(value, schema))
    for name, param in declared.items():
        if param.get("required"):
            assert name in seen, f"{rec.method} {template}: required parameter {name} missing"
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        assert rec.body in (None, {}), f"{rec.method} {template} takes no body"
    else:
        assert rec.body is not None, f"{rec.method} {template} needs a body"
        ref = content["schema"]["$ref"].split("/")[-1]
        validate_schema(rec.body, ref)
    return template


def validate_response(method: str, path: str, status_code: int, body: Any) -> None:
    found = find_operation(method, path)
    assert found is not None, f"{method} {path} is not in the official spec"
    _, op = found
    response = op["responses"].get(str(status_code))
    assert response is not None, f"{method} {path} does not answer {status_code} in the spec"
    content = response.get("content", {}).get("application/json")
    if content is None:
        assert body is None, f"{method} {path} {status_code} has no body in the spec"
        return
    validate_schema(body, content["schema"]["$ref"].split("/")[-1])


def deep_copy(value: Any) -> Any:
    return copy.deepcopy(value)
