"""The official SDK (``incident-io`` 2.29.0) talks to ``oncall-tui sim serve`` unaided.

Not only its models' ``from_dict``: its own API functions (``sync_detailed``) send each
request the dashboard makes to the simulator over real HTTP, check the status code the
schema declares (``raise_on_unexpected_status``) and parse the answer into the response
model, which must carry no field the model does not know. Every endpoint the
dashboard's client calls is walked; the test fails if one is added to the client and
not here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from incident_io import AuthenticatedClient, models
from incident_io.api.alert_notes_v1 import alert_notes_v1_create, alert_notes_v1_list
from incident_io.api.alert_sources_v2 import alert_sources_v2_list
from incident_io.api.alerts_v2 import (
    alerts_v2_list,
    alerts_v2_list_incident_alerts,
    alerts_v2_resolve,
    alerts_v2_show,
)
from incident_io.api.escalations_v2 import (
    escalations_v2_cancel_escalation,
    escalations_v2_create,
    escalations_v2_list,
    escalations_v2_list_paths,
    escalations_v2_reassign_escalation,
    escalations_v2_respond_escalation,
    escalations_v2_show,
    escalations_v2_show_path,
)
from incident_io.api.incident_roles_v2 import incident_roles_v2_list
from incident_io.api.incident_statuses_v1 import incident_statuses_v1_list
from incident_io.api.incident_timeline_items_v2 import (
    incident_timeline_items_v2_create,
    incident_timeline_items_v2_list,
    incident_timeline_items_v2_update,
)
from incident_io.api.incident_types_v1 import incident_types_v1_list
from incident_io.api.incident_updates_v2 import (
    incident_updates_v2_create,
    incident_updates_v2_list,
)
from incident_io.api.incidents_v2 import (
    incidents_v2_create,
    incidents_v2_edit,
    incidents_v2_list,
    incidents_v2_show,
)
from incident_io.api.schedules_v2 import (
    schedules_v2_create_override,
    schedules_v2_destroy_override,
    schedules_v2_list,
    schedules_v2_list_overrides,
    schedules_v2_list_schedule_entries,
    schedules_v2_show,
    schedules_v2_update_override,
)
from incident_io.api.severities_v1 import severities_v1_list
from incident_io.api.users_v2 import (
    users_v2_list,
    users_v2_list_notification_methods,
    users_v2_list_notification_rules,
    users_v2_show,
)
from incident_io.api.utilities_v1 import utilities_v1_identity
from simserve import start_sim
from test_sim_contract import _no_unknown_fields

from oncall_tui.backends.incidentio import OPERATIONS


@pytest.fixture
def sim(tmp_path):
    yield from start_sim(tmp_path, "--seed", "3")


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Walker:
    def __init__(self, client: AuthenticatedClient) -> None:
        self.client = client
        self.called: set[str] = set()

    def __call__(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        response = fn.sync_detailed(*args, client=self.client, **kwargs)
        name = fn.__name__.rsplit(".", 1)[-1]
        assert 200 <= response.status_code < 300, f"{name}: {response.content[:300]!r}"
        assert not isinstance(response.parsed, models.ErrorResponse), name
        if response.content:
            assert response.parsed is not None, f"{name}: the SDK could not parse the answer"
            _no_unknown_fields(response.parsed, name)
        self.called.add(name)
        return response.parsed


def body(name: str, data: dict) -> Any:
    return getattr(models, name).from_dict(data)


# Which SDK function stands for each operation of the dashboard's client.
SDK_FOR = {
    "identity": "utilities_v1_identity",
    "users.list": "users_v2_list",
    "users.show": "users_v2_show",
    "notification_methods.list": "users_v2_list_notification_methods",
    "notification_rules.list": "users_v2_list_notification_rules",
    "severities.list": "severities_v1_list",
    "incident_statuses.list": "incident_statuses_v1_list",
    "incident_roles.list": "incident_roles_v2_list",
    "incident_types.list": "incident_types_v1_list",
    "schedules.list": "schedules_v2_list",
    "schedules.show": "schedules_v2_show",
    "schedule_entries.list": "schedules_v2_list_schedule_entries",
    "overrides.list": "schedules_v2_list_overrides",
    "overrides.create": "schedules_v2_create_override",
    "overrides.update": "schedules_v2_update_override",
    "overrides.delete": "schedules_v2_destroy_override",
    "escalation_paths.list": "escalations_v2_list_paths",
    "escalation_paths.show": "escalations_v2_show_path",
    "escalations.list": "escalations_v2_list",
    "escalations.show": "escalations_v2_show",
    "escalations.create": "escalations_v2_create",
    "escalations.cancel": "escalations_v2_cancel_escalation",
    "escalations.respond": "escalations_v2_respond_escalation",
    "escalations.reassign": "escalations_v2_reassign_escalation",
    "alerts.list": "alerts_v2_list",
    "alerts.show": "alerts_v2_show",
    "alerts.resolve": "alerts_v2_resolve",
    "alert_notes.list": "alert_notes_v1_list",
    "alert_notes.create": "alert_notes_v1_create",
    "incident_alerts.list": "alerts_v2_list_incident_alerts",
    "alert_sources.list": "alert_sources_v2_list",
    "incidents.list": "incidents_v2_list",
    "incidents.show": "incidents_v2_show",
    "incidents.create": "incidents_v2_create",
    "incidents.edit": "incidents_v2_edit",
    "incident_updates.list": "incident_updates_v2_list",
    "incident_updates.create": "incident_updates_v2_create",
    "timeline_items.list": "incident_timeline_items_v2_list",
    "timeline_items.create": "incident_timeline_items_v2_create",
    "timeline_items.update": "incident_timeline_items_v2_update",
}


def test_every_operation_of_the_client_has_its_sdk_function():
    assert set(SDK_FOR) == set(OPERATIONS), "an operation was added or removed: update SDK_FOR"


def test_the_sdk_api_functions_parse_every_answer_of_sim_serve(sim):
    client = AuthenticatedClient(
        base_url=sim.url, token=sim.token, raise_on_unexpected_status=True, timeout=None
    )
    call = Walker(client)
    now = datetime.now(UTC)

    call(utilities_v1_identity)
    people = call(users_v2_list, page_size=250)
    me = call(users_v2_list, email="me@example.com").users[0]
    call(users_v2_show, me.id)
    methods = call(users_v2_list_notification_methods, me.id).notification_methods
    assert any(m.is_usable and m.method_type == "app" for m in methods)
    call(users_v2_list_notification_rules, me.id)
    assert len(people.users) > 1
    colleague = next(u for u in people.users if u.id != me.id)
    severity = call(severities_v1_list).severities[0]
    statuses = call(incident_statuses_v1_list).incident_statuses
    call(incident_roles_v2_list)
    call(incident_types_v1_list)

    schedules = call(schedules_v2_list, page_size=25).schedules
    schedule = next(s for s in schedules if s.name == "Global on-call")
    schedule = call(schedules_v2_show, schedule.id).schedule
    entries = call(
        schedules_v2_list_schedule_entries,
        schedule_id=schedule.id,
        entry_window_start=_iso(now),
        entry_window_end=now + timedelta(days=7),
    ).schedule_entries
    assert entries.final
    rotation = schedule.config.rotations[0]
    start, end = now + timedelta(days=2), now + timedelta(days=2, hours=4)
    override = call(
        schedules_v2_create_override,
        body=body(
            "SchedulesCreateOverridePayloadV2",
            {
                "schedule_id": schedule.id,
                "rotation_id": rotation.id,
                "layer_id": rotation.layers[0].id,
                "start_at": _iso(start),
                "end_at": _iso(end),
                "user": {"id": "NOBODY"},
            },
        ),
    ).override
    call(schedules_v2_list_overrides, schedule_id=schedule.id, page_size=250)
    call(
        schedules_v2_update_override,
        override.id,
        body=body(
            "SchedulesUpdateOverridePayloadV2",
            {
                "rotation_id": rotation.id,
                "layer_id": rotation.layers[0].id,
                "start_at": _iso(start),
                "end_at": _iso(end + timedelta(hours=1)),
                "user": {"id": "NOBODY"},
            },
        ),
    )
    call(schedules_v2_destroy_override, override.id)

    paths = call(escalations_v2_list_paths, page_size=25).escalation_paths
    assert any(getattr(p.kind, "value", p.kind) == "templated" for p in paths)
    for path in paths:
        call(escalations_v2_show_path, path.id)

    page = call(
        escalations_v2_create,
        body=body(
            "EscalationsCreatePayloadV2",
            {"idempotency_key": "sdk-1", "title": "Disk full on db-1", "user_ids": [me.id]},
        ),
    ).escalation
    call(escalations_v2_list, page_size=50)
    call(escalations_v2_show, page.id)
    call(
        escalations_v2_respond_escalation,
        page.id,
        body=body("EscalationsRespondEscalationPayloadV2", {"response": "ack"}),
    )
    second = call(
        escalations_v2_create,
        body=body(
            "EscalationsCreatePayloadV2",
            {"idempotency_key": "sdk-2", "title": "Disk full on db-2", "user_ids": [me.id]},
        ),
    ).escalation
    moved = call(
        escalations_v2_reassign_escalation,
        second.id,
        body=body(
            "EscalationsReassignEscalationPayloadV2",
            {"user_ids": [colleague.id], "resolve_original": True},
        ),
    ).escalation
    call(escalations_v2_cancel_escalation, moved.id)

    alerts = call(alerts_v2_list, page_size=50).alerts
    assert alerts
    alert = alerts[0]
    call(alerts_v2_show, alert.id)
    call(alert_notes_v1_list, alert_id=alert.id, page_size=250)
    call(
        alert_notes_v1_create,
        body=body("AlertNotesCreatePayloadV1", {"alert_id": alert.id, "content": "Looking"}),
    )
    call(alerts_v2_resolve, alert.id)
    call(alert_sources_v2_list)

    incidents = call(incidents_v2_list, page_size=500).incidents
    assert incidents
    call(incidents_v2_show, incidents[0].id)
    call(alerts_v2_list_incident_alerts, page_size=50, incident_id=incidents[0].id)
    incident = call(
        incidents_v2_create,
        body=body(
            "IncidentsCreatePayloadV2",
            {
                "idempotency_key": "sdk-3",
                "visibility": "public",
                "name": "Checkout down",
                "severity_id": severity.id,
            },
        ),
    ).incident
    call(
        incidents_v2_edit,
        incident.id,
        body=body(
            "IncidentsEditPayloadV2",
            {"incident": {"summary": "Card payments fail"}, "notify_incident_channel": False},
        ),
    )
    call(incident_updates_v2_list, incident_id=incident.id, page_size=250)
    live = next(s for s in statuses if str(getattr(s.category, "value", s.category)) == "live")
    call(
        incident_updates_v2_create,
        body=body(
            "IncidentUpdatesCreatePayloadV2",
            {
                "incident_id": incident.id,
                "idempotency_key": "sdk-4",
                "message": "Rolled back",
                "to_incident_status_id": live.id,
            },
        ),
    )
    call(incident_timeline_items_v2_list, incident_id=incident.id, page_size=250)
    item = call(
        incident_timeline_items_v2_create,
        body=body(
            "IncidentTimelineItemsCreatePayloadV2",
            {
                "incident_id": incident.id,
                "idempotency_key": "sdk-5",
                "timestamp": _iso(now),
                "title": "Rolled back the gateway",
            },
        ),
    ).incident_timeline_item
    call(
        incident_timeline_items_v2_update,
        item.id,
        body=body("IncidentTimelineItemsUpdatePayloadV2", {"title": "Rolled back"}),
    )
    client.get_httpx_client().close()

    missing = {op for op, fn in SDK_FOR.items() if fn not in call.called}
    assert not missing, f"not walked with the SDK: {sorted(missing)}"
