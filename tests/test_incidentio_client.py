"""incident.io client against ``httpx.MockTransport`` handlers with spec-shaped payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import incidentio_payloads as P
import pytest

from oncall_tui.backends import incidentio as io
from oncall_tui.backends.http import (
    MAX_RESPONSE_BYTES,
    AuthError,
    InvalidRequest,
    MalformedResponse,
    NetworkError,
    NotFound,
    RateLimited,
    RequestStats,
    RetryPolicy,
    ServerError,
)
from oncall_tui.backends.incidentio import (
    CAP_REASSIGN,
    CAP_RESPOND,
    CAP_TIMELINE_ITEMS,
    AccessDenied,
    CapabilityUnavailable,
    IncidentIoClient,
    normalise_incident_ref,
    parse_datetime,
)
from oncall_tui.domain import (
    LINK_DASHBOARD,
    LINK_RUNBOOK,
    LINK_SOURCE,
    NOBODY,
    SHIFT_FINAL,
    SHIFT_OVERRIDE,
    SHIFT_SCHEDULED,
)

TOKEN = "tok-live-SECRET-1234"
FAST = RetryPolicy(base=0.001, cap=0.01)
START = datetime(2026, 9, 1, 0, 0, tzinfo=UTC)
END = START + timedelta(days=7)


def client(api, **kwargs) -> IncidentIoClient:
    transport = api.transport() if isinstance(api, P.FakeApi) else httpx.MockTransport(api)
    kwargs.setdefault("retry", FAST)
    return IncidentIoClient(
        "https://api.incident.io", TOKEN, transport=transport, stats=RequestStats(), **kwargs
    )


def alerts_page(ids, after=None):
    return P.page("alerts", [P.alert(aid=i) for i in ids], after=after, page_size=50)


# ------------------------------------------------------------------- pagination


async def test_id_cursor_follows_after_until_absent():
    def handler(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("after")
        pages = {
            None: alerts_page(["A1", "A2"], after="A2"),
            "A2": alerts_page(["A3", "A4"], after="A4"),
            "A4": alerts_page(["A5"]),
        }
        return httpx.Response(200, json=pages[after])

    api = P.FakeApi().on("GET", "/v2/alerts", handler)
    async with client(api) as c:
        alerts = await c.list_alerts()
    assert [a.id for a in alerts] == ["A1", "A2", "A3", "A4", "A5"]
    assert [dict(r.params).get("after") for r in api.requests] == [None, "A2", "A4"]
    for r in api.requests:
        assert ("page_size", "50") in r.params
        assert ("status[one_of]", "firing") in r.params


async def test_id_cursor_stops_on_a_repeated_cursor_and_dedupes():
    calls = []

    def handler(request):
        calls.append(request.url.params.get("after"))
        return httpx.Response(200, json=alerts_page(["A1", "A2"], after="SAME"))

    api = P.FakeApi().on("GET", "/v2/alerts", handler)
    async with client(api) as c:
        alerts = await c.list_alerts()
        assert [a.id for a in alerts] == ["A1", "A2"]
        assert calls == [None, "SAME"]
        assert any("repeated the page cursor" in w for w in c.pagination_warnings)


async def test_id_cursor_stops_on_an_empty_page_even_with_a_cursor():
    def handler(request):
        if request.url.params.get("after"):
            return httpx.Response(200, json=alerts_page([], after="Z"))
        return httpx.Response(200, json=alerts_page(["A1"], after="A1"))

    api = P.FakeApi().on("GET", "/v2/alerts", handler)
    async with client(api) as c:
        assert [a.id for a in await c.list_alerts()] == ["A1"]
    assert len(api.requests) == 2


async def test_id_cursor_is_bounded_when_the_server_never_stops(monkeypatch):
    monkeypatch.setattr(io.base, "MAX_PAGES", 5)  # where pagination reads it
    counter = iter(range(10_000))

    def handler(request):
        n = next(counter)
        return httpx.Response(200, json=alerts_page([f"A{n}"], after=f"C{n}"))

    api = P.FakeApi().on("GET", "/v2/alerts", handler)
    async with client(api) as c:
        alerts = await c.list_alerts()
        assert len(alerts) == 5
        assert any("more than 5 pages" in w for w in c.pagination_warnings)
    assert len(api.requests) == 5


async def test_limit_shrinks_the_page_and_stops_early():
    api = P.FakeApi().on("GET", "/v2/incidents", P.page("incidents", [P.incident()], after="x"))
    async with client(api) as c:
        incidents = await c.list_incidents(limit=1)
    assert len(incidents) == 1
    assert ("page_size", "1") in api.requests[0].params
    assert len(api.requests) == 1


def entries_body(final, scheduled=(), overrides=(), after=None):
    body = {
        "schedule_entries": {
            "final": list(final),
            "scheduled": list(scheduled),
            "overrides": list(overrides),
        }
    }
    if after:
        body["pagination_meta"] = {
            "after": after,
            "after_url": f"https://api.incident.io/v2/schedule_entries?entry_window_start={after}",
        }
    return body


async def test_time_window_cursor_reissues_with_the_same_end():
    override_entry = P.entry(
        start="2026-09-02T06:00:00Z",
        end="2026-09-02T16:00:00Z",
        entry_id="01HOVERRIDE000000000000000",
        fingerprint="fp-ov",
        user={"id": "NOBODY", "name": "Nobody", "role": "unset"},
    )

    def handler(request):
        start = request.url.params["entry_window_start"]
        if start == "2026-09-01T00:00:00Z":
            return httpx.Response(
                200,
                json=entries_body(
                    [P.entry(fingerprint="fp-1")],
                    scheduled=[P.entry(fingerprint="fp-1")],
                    after="CURSOR-2",
                ),
            )
        assert start == "CURSOR-2"
        return httpx.Response(
            200,
            json=entries_body(
                # fp-1 overlaps the page boundary and comes back: it must not double
                [P.entry(fingerprint="fp-1"), {**override_entry, "entry_id": None}],
                scheduled=[
                    P.entry(
                        start="2026-09-02T06:00:00Z", end="2026-09-02T16:00:00Z", fingerprint="fp-2"
                    )
                ],
                overrides=[override_entry],
            ),
        )

    api = (
        P.FakeApi()
        .on("GET", "/v2/schedule_entries", handler)
        .on("GET", "/v2/schedules/[^/]+", {"schedule": P.schedule()})  # for the layers
    )
    async with client(api) as c:
        result = await c.schedule_entries("01HSCHED000000000000000000", START, END)
    pages = [r for r in api.requests if r.path == "/v2/schedule_entries"]
    ends = {dict(r.params)["entry_window_end"] for r in pages}
    assert ends == {"2026-09-08T00:00:00Z"}
    assert [dict(r.params)["entry_window_start"] for r in pages] == [
        "2026-09-01T00:00:00Z",
        "CURSOR-2",
    ]
    assert [s.fingerprint for s in result.final] == ["fp-1", "fp-ov"]
    assert [s.kind for s in result.final] == [SHIFT_FINAL, SHIFT_OVERRIDE]
    assert result.final[1].uncovered and result.final[1].user is NOBODY
    assert [s.kind for s in result.scheduled] == [SHIFT_SCHEDULED, SHIFT_SCHEDULED]
    assert [s.kind for s in result.overrides] == [SHIFT_OVERRIDE]
    assert result.overrides[0].is_override
    assert result.window_start == START and result.window_end == END


async def test_time_window_cursor_stops_when_repeated():
    api = (
        P.FakeApi()
        .on("GET", "/v2/schedule_entries", entries_body([P.entry()], after="STUCK"))
        .on("GET", "/v2/schedules/[^/]+", {"schedule": P.schedule("S1")})  # for the layers
    )
    async with client(api) as c:
        result = await c.schedule_entries("S1", START, END)
        assert len(result.final) == 1
        assert c.pagination_warnings
    assert len([r for r in api.requests if r.path == "/v2/schedule_entries"]) == 2


# ------------------------------------------------------------------- retries


async def test_429_with_retry_after_then_success():
    replies = iter(
        [
            httpx.Response(
                429,
                headers={"Retry-After": "0"},
                json={
                    **P.error_body(429, "too_many_requests", "slow down"),
                    "rate_limit": {
                        "name": "api",
                        "limit": 1200,
                        "remaining": 0,
                        "retry_after": "2026-09-01T09:00:01Z",
                    },
                },
            ),
            httpx.Response(200, json=P.identity()),
        ]
    )
    api = P.FakeApi().on("GET", "/v1/identity", lambda r: next(replies))
    async with client(api) as c:
        identity = await c.identity()
    assert identity.name == "oncall-tui key"
    assert len(api.requests) == 2


async def test_429_with_a_long_retry_after_is_returned_to_the_caller():
    api = P.FakeApi().on(
        "GET",
        "/v1/identity",
        httpx.Response(
            429, headers={"Retry-After": "120"}, json=P.error_body(429, "too_many_requests", "x")
        ),
    )
    async with client(api) as c:
        with pytest.raises(RateLimited) as info:
            await c.identity()
    assert info.value.retry_after == 120
    assert len(api.requests) == 1


async def test_5xx_burst_is_retried_for_a_get():
    replies = iter(
        [
            httpx.Response(502, text="bad gateway"),
            httpx.Response(500, json={}),
            httpx.Response(200, json=P.page("escalations", [P.escalation()])),
        ]
    )
    api = P.FakeApi().on("GET", "/v2/escalations", lambda r: next(replies))
    async with client(api) as c:
        pages = await c.list_escalations()
    assert [p.id for p in pages] == ["01HESC00000000000000000000"]
    assert len(api.requests) == 3


async def test_5xx_burst_is_retried_for_a_keyed_post():
    replies = iter([httpx.Response(503), httpx.Response(201, json={"escalation": P.escalation()})])
    api = P.FakeApi().on("POST", "/v2/escalations", lambda r: next(replies))
    async with client(api) as c:
        page = await c.create_escalation("Help", path_id="P1", idempotency_key="k-1")
    assert page.status == "triggered"
    assert len(api.requests) == 2
    assert api.requests[0].body == api.requests[1].body  # same key both times


async def test_5xx_is_not_retried_for_an_unkeyed_post():
    api = P.FakeApi().on("POST", "/v1/alert_notes", (500, P.error_body(500, "api_error", "boom")))
    async with client(api) as c:
        with pytest.raises(ServerError):
            await c.create_alert_note("A1", "hello")
    assert len(api.requests) == 1


async def test_timeouts_become_network_errors_after_retries():
    attempts = []

    def handler(request):
        attempts.append(1)
        raise httpx.ReadTimeout("slow", request=request)

    async with client(handler, retry=RetryPolicy(attempts=3, base=0.001, cap=0.01)) as c:
        with pytest.raises(NetworkError) as info:
            await c.list_schedules()
    assert len(attempts) == 3
    assert "timed out" in str(info.value)


# ------------------------------------------------------------- bad responses


async def test_truncated_json_is_malformed():
    body = json.dumps(P.page("alerts", [P.alert()]))[:-40]
    api = P.FakeApi().on("GET", "/v2/alerts", httpx.Response(200, text=body))
    async with client(api) as c:
        with pytest.raises(MalformedResponse, match="malformed or truncated JSON"):
            await c.list_alerts()


async def test_html_with_200_is_malformed_and_says_so():
    page = "<!doctype html><html><body>Sign in to your proxy</body></html>"
    api = P.FakeApi().on("GET", "/v2/schedules", httpx.Response(200, text=page))
    async with client(api) as c:
        with pytest.raises(MalformedResponse, match="HTML"):
            await c.list_schedules()


async def test_a_10_mb_alert_is_read_and_its_text_bounded():
    big = P.alert(title="x" * (10 * 1024 * 1024), description="y" * 200_000)
    api = P.FakeApi().on("GET", "/v2/alerts", P.page("alerts", [big], page_size=50))
    async with client(api) as c:
        (alert,) = await c.list_alerts()
    assert len(alert.title) <= 500
    assert len(alert.description) <= 65536


async def test_a_body_over_the_cap_is_refused():
    junk = b"[" + b"1," * (MAX_RESPONSE_BYTES // 2 + 10) + b"1]"
    api = P.FakeApi().on("GET", "/v2/alerts", httpx.Response(200, content=junk))
    async with client(api) as c:
        with pytest.raises(MalformedResponse, match="larger than"):
            await c.list_alerts()


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (lambda a: a.pop("created_at"), "alerts[0].created_at", "is missing"),
        (lambda a: a.update(created_at="last tuesday"), "alerts[0].created_at", "not a timestamp"),
        (lambda a: a.update(title={"nested": 1}), "alerts[0].title", "not text"),
        (lambda a: a.update(attributes="oops"), "alerts[0].attributes", "not a list"),
        (lambda a: a.pop("id"), "alerts[0].id", "is missing"),
    ],
)
async def test_missing_or_wrong_fields_name_the_field(mutate, field, problem):
    bad = P.alert()
    mutate(bad)
    api = P.FakeApi().on("GET", "/v2/alerts", P.page("alerts", [bad]))
    async with client(api) as c:
        with pytest.raises(MalformedResponse) as info:
            await c.list_alerts()
    assert field in str(info.value) and problem in str(info.value)
    assert info.value.path == "/v2/alerts"


@pytest.mark.parametrize("body", [[], "text", 3, None, {"alerts": {"a": 1}}])
async def test_wrong_envelopes_are_malformed_not_crashes(body):
    api = P.FakeApi().on("GET", "/v2/alerts", httpx.Response(200, json=body))
    async with client(api) as c:
        with pytest.raises(MalformedResponse):
            await c.list_alerts()


async def test_unknown_enum_values_and_fields_are_kept_and_ignored():
    alert = P.alert(status="acknowledged_by_robot", brand_new_field={"x": [1, 2]})
    esc = P.escalation(status="paused_for_lunch", new_thing=True)
    esc["events"].append(
        {"id": "E9", "event": "teleported", "occurred_at": "2026-09-01T09:05:00.123456789Z"}
    )
    api = (
        P.FakeApi()
        .on("GET", "/v2/alerts", P.page("alerts", [alert]))
        .on("GET", "/v2/escalations", P.page("escalations", [esc]))
    )
    async with client(api) as c:
        (a,) = await c.list_alerts()
        (page,) = await c.list_escalations()
    assert a.state == "acknowledged_by_robot"
    assert page.status == "paused_for_lunch" and page.is_open
    assert page.events[-1].event == "teleported"
    assert page.events[-1].occurred_at == datetime(2026, 9, 1, 9, 5, 0, 123456, tzinfo=UTC)


async def test_control_characters_and_markup_in_names_are_inert_text():
    evil = "\x1b]8;;https://evil.example\x07[bold red]Ana[/bold red]\x1b[2J\u202e\x00"
    sched = P.schedule(name=evil)
    sched["current_shifts"][0]["user"]["name"] = evil
    api = P.FakeApi().on("GET", "/v2/schedules", P.page("schedules", [sched]))
    async with client(api) as c:
        (s,) = await c.list_schedules()
    assert s.name == "[bold red]Ana[/bold red]"
    assert s.current_shifts[0].user.name == "[bold red]Ana[/bold red]"
    assert "\x1b" not in s.name and "\u202e" not in s.name


# --------------------------------------------------------------------- errors


async def test_403_names_the_role_the_operation_needs():
    api = P.FakeApi().on(
        "POST",
        "/v2/schedule_overrides",
        (403, P.error_body(403, "resource_forbidden", "You are not allowed to do this")),
    )
    async with client(api) as c:
        with pytest.raises(AccessDenied) as info:
            await c.create_override("S", "R", "L", START, END, "ana@example.com")
    err = info.value
    assert isinstance(err, AuthError)
    assert err.missing_roles == ("schedule_overrides_editor", "schedules_editor")
    assert "'schedule_overrides_editor'" in str(err) and "create an override" in str(err)
    assert "req-123" in str(err)


async def test_403_for_paging_names_escalation_creator():
    api = P.FakeApi().on(
        "POST", "/v2/escalations", (403, P.error_body(403, "resource_forbidden", "forbidden"))
    )
    async with client(api) as c:
        with pytest.raises(AccessDenied, match="'escalation_creator'"):
            await c.create_escalation("x", user_ids=["U"], idempotency_key="k")


async def test_403_with_the_role_held_points_at_team_scope():
    api = (
        P.FakeApi()
        .on("GET", "/v1/identity", P.identity(["schedule_overrides_editor"]))
        .on(
            "DELETE",
            "/v2/schedule_overrides/.+",
            (403, P.error_body(403, "resource_forbidden", "no")),
        )
    )
    async with client(api) as c:
        await c.identity()
        with pytest.raises(AccessDenied) as info:
            await c.delete_override("O1")
    assert info.value.missing_roles == ()
    assert "although it has the 'schedule_overrides_editor' role" in str(info.value)


async def test_401_says_the_key_was_refused_and_never_shows_it():
    api = P.FakeApi().on(
        "GET",
        "/v2/alerts",
        (401, P.error_body(401, "authentication_error", f"bad key {TOKEN}")),
    )
    async with client(api) as c:
        with pytest.raises(AccessDenied) as info:
            await c.list_alerts()
        assert TOKEN not in repr(c)
    assert "refused the API key" in str(info.value)
    assert TOKEN not in str(info.value)


async def test_403_on_act_as_names_act_on_behalf_of_users():
    api = (
        P.FakeApi()
        .on("GET", "/v1/identity", P.identity(["escalation_creator"]))
        .on(
            "POST",
            "/v2/escalations/.+/actions/respond",
            (403, P.error_body(403, "resource_forbidden", "no")),
        )
    )
    async with client(api, act_as_user_id="U1") as c:
        await c.identity()
        with pytest.raises(AccessDenied) as info:
            await c.respond_escalation("E1", "ack")
    assert info.value.missing_roles == ("act_on_behalf_of_users",)


async def test_validation_errors_keep_field_detail():
    body = P.error_body(422, "validation_error", "A severity is required", field="severity_id")
    api = P.FakeApi().on("POST", "/v2/incidents", (422, body))
    async with client(api) as c:
        with pytest.raises(InvalidRequest) as info:
            await c.create_incident("x", severity_id="", idempotency_key="k")
    assert info.value.errors[0].field == "severity_id"


# ------------------------------------------------------------ newer endpoints


async def test_router_404_on_respond_marks_the_capability_unavailable():
    api = P.FakeApi()  # nothing mounted: a router's plain 404
    async with client(api) as c:
        with pytest.raises(CapabilityUnavailable) as info:
            await c.respond_escalation("E1", "ack")
        assert info.value.capability == CAP_RESPOND
        assert isinstance(info.value, NotFound)
        assert CAP_RESPOND in c.unavailable
        sent = len(api.requests)
        with pytest.raises(CapabilityUnavailable):
            await c.respond_escalation("E1", "snooze", snooze_until=END)
        assert len(api.requests) == sent  # known missing: no request


async def test_shaped_404_with_an_existing_escalation_means_the_route_is_missing():
    api = (
        P.FakeApi()
        .on("GET", "/v2/escalations/E1", {"escalation": P.escalation(eid="E1")})
        .on(
            "POST",
            "/v2/escalations/E1/actions/reassign",
            (404, P.error_body(404, "not_found", "Not Found")),
        )
    )
    async with client(api) as c:
        with pytest.raises(CapabilityUnavailable):
            await c.reassign_escalation("E1", user_ids=["U2"])
        assert CAP_REASSIGN in c.unavailable


async def test_shaped_404_for_a_missing_escalation_stays_not_found():
    gone = (404, P.error_body(404, "not_found", "Escalation not found"))
    api = (
        P.FakeApi()
        .on("GET", "/v2/escalations/E404", gone)
        .on("POST", "/v2/escalations/E404/actions/respond", gone)
    )
    async with client(api) as c:
        with pytest.raises(NotFound) as info:
            await c.respond_escalation("E404", "ack")
        assert not isinstance(info.value, CapabilityUnavailable)
        assert CAP_RESPOND not in c.unavailable


async def test_404_after_the_endpoint_worked_is_a_plain_not_found():
    api = (
        P.FakeApi()
        .on("POST", "/v2/escalations/E1/actions/respond", (200, None))
        .on("POST", "/v2/escalations/E2/actions/respond", (404, "not here"))
    )
    async with client(api) as c:
        await c.respond_escalation("E1", "ack")
        with pytest.raises(NotFound) as info:
            await c.respond_escalation("E2", "ack")
        assert not isinstance(info.value, CapabilityUnavailable)


async def test_405_on_incident_updates_post_marks_it_unavailable():
    api = P.FakeApi().on(
        "POST",
        "/v2/incident_updates",
        (405, P.error_body(405, "method_not_allowed", "Method not allowed")),
    )
    async with client(api) as c:
        with pytest.raises(CapabilityUnavailable):
            await c.create_incident_update("I1", message="hi", idempotency_key="k")
        assert io.CAP_INCIDENT_UPDATES_CREATE in c.unavailable


async def test_timeline_404_marks_capability_and_capabilities_follow():
    api = (
        P.FakeApi()
        .on("GET", "/v1/identity", P.identity(["viewer", "incident_editor"]))
        .on(
            "GET",
            "/v2/incident_timeline_items",
            (404, P.error_body(404, "not_found", "Incident not found", field="incident_id")),
        )
    )
    async with client(api) as c:
        caps = await c.probe_capabilities()
        assert caps["note"].available is True  # the probe saw incident.io's own 404
        api.on("GET", "/v2/incident_timeline_items", httpx.Response(404, text="404 page not found"))
        c.known_available.clear()
        with pytest.raises(CapabilityUnavailable):
            await c.list_timeline_items("I1")
        assert c.capabilities is not None
        assert c.capabilities["note"].available is None  # incident updates may still carry it
        assert "incident updates" in c.capabilities.reason("note")
        api.on("POST", "/v2/incident_updates", httpx.Response(404, text="404 page not found"))
        with pytest.raises(CapabilityUnavailable):
            await c.create_incident_update("I1", message="x", idempotency_key="k")
        assert c.capabilities["note"].available is False
        assert c.capabilities["update"].available is True
        assert "without a message" in c.capabilities.reason("update")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ((404, P.error_body(404, "not_found", "Incident not found", field="incident_id")), True),
        ((200, {"incident_timeline_items": []}), True),
        ((422, P.error_body(422, "validation_error", "bad id", field="incident_id")), True),
        (httpx.Response(404, text="404 page not found"), False),
        ((405, P.error_body(405, "method_not_allowed", "no")), False),
    ],
)
async def test_timeline_probe(reply, expected):
    api = (
        P.FakeApi()
        .on("GET", "/v1/identity", P.identity(["viewer"]))
        .on("GET", "/v2/incident_timeline_items", reply)
    )
    async with client(api) as c:
        await c.probe_capabilities()
        assert (CAP_TIMELINE_ITEMS in c.known_available) is expected
        assert (CAP_TIMELINE_ITEMS in c.unavailable) is (not expected)
    probe = api.requests[-1]
    assert probe.method == "GET"


async def test_capabilities_explain_each_action():
    roles = ["viewer", "escalation_creator", "schedule_overrides_editor", "incident_creator"]
    api = (
        P.FakeApi()
        .on("GET", "/v1/identity", P.identity(roles))
        .on("GET", "/v2/incident_timeline_items", httpx.Response(404, text="not found"))
    )
    async with client(api) as c:
        caps = await c.probe_capabilities()
    assert set(caps.usable) >= {"ack", "snooze", "escalate", "override", "declare", "reassign"}
    assert caps["ack"].available is None  # respond: no harmless probe, tried on first use
    assert caps["escalate"].available is True
    assert caps["nack"].available is False and "act as you" in caps.reason("nack")
    assert caps["resolve_alert"].available is False
    assert "'on_call_editor'" in caps.reason("resolve_alert")
    assert caps["note"].available is False
    assert "incident_editor" in caps.reason("note")
    assert caps["update"].available is False
    assert caps.unavailable >= {"nack", "resolve_alert", "note", "update"}
    assert set(caps.usable) | caps.unavailable == set(io.ACTIONS)


async def test_team_roles_count_with_a_caveat():
    body = P.identity(
        ["viewer"], team_roles=["escalation_creator"], teams=[{"id": "T1", "name": "Payments"}]
    )
    api = P.FakeApi().on("GET", "/v1/identity", body)
    async with client(api, act_as_user_id="U1") as c:
        caps = await c.probe_capabilities()
    assert caps["escalate"].available is True
    assert "Payments" in caps.reason("escalate")
    assert caps["nack"].available is False and "act_on_behalf_of_users" in caps.reason("nack")


# ---------------------------------------------------------------- act as user


async def test_x_incident_user_only_on_endpoints_that_honour_it():
    api = (
        P.FakeApi()
        .on("POST", "/v2/escalations/E1/actions/respond", (200, None))
        .on("POST", "/v2/escalations/E1/actions/reassign", (201, {"escalation": P.escalation()}))
        .on("GET", "/v2/escalations", P.page("escalations", []))
    )
    async with client(api, act_as_user_id="01HUSERANA0000000000000000") as c:
        await c.respond_escalation("E1", "nack")
        await c.reassign_escalation("E1", path_id="P2")
        await c.list_escalations()
    headers = [r.headers.get("x-incident-user") for r in api.requests]
    assert headers == ["01HUSERANA0000000000000000", "01HUSERANA0000000000000000", None]


async def test_nack_without_a_user_is_refused_before_sending():
    api = P.FakeApi()
    async with client(api) as c:
        with pytest.raises(InvalidRequest, match="as a person"):
            await c.respond_escalation("E1", "nack")
    assert api.requests == []


async def test_no_header_without_act_as():
    api = P.FakeApi().on("POST", "/v2/escalations/E1/actions/respond", (200, None))
    async with client(api) as c:
        await c.respond_escalation("E1", "snooze", snooze_until=END, reason="deploy")
    assert "x-incident-user" not in api.requests[0].headers
    assert api.requests[0].body == {
        "response": "snooze",
        "snooze_details": {"snooze_until": "2026-09-08T00:00:00Z", "reason": "deploy"},
    }


# ------------------------------------------------------------------- mapping


async def test_alert_maps_links_severity_and_labels():
    api = P.FakeApi().on("GET", "/v2/alerts/A1", {"alert": P.alert(aid="A1")})
    async with client(api) as c:
        alert = await c.get_alert("A1")
    assert alert.key == "incident.io::A1" and alert.source == "incident.io"
    assert alert.instance == ""
    assert alert.severity == "critical"
    assert alert.link(LINK_RUNBOOK).url == "https://wiki.example.com/runbooks/checkout"
    assert alert.link(LINK_DASHBOARD).url == "https://grafana.example.com/d/abc"
    assert alert.link(LINK_SOURCE).url.startswith("https://grafana.example.com/alerting")
    assert alert.label("team") == "Payments"
    assert alert.dedup_key == "checkout-5xx"
    assert alert.updated_at == datetime(2026, 9, 1, 10, 0, 0, 123456, tzinfo=UTC)


async def test_alert_refuses_unsafe_links_and_reports_missing_ones():
    body = P.alert(
        aid="A2",
        attributes=[
            P.attribute("Playbook", literal="javascript:alert(1)"),
            P.attribute("logs", literal="file:///etc/passwd"),
            P.attribute("priority", label="P2"),
        ],
    )
    body.pop("source_url")
    api = P.FakeApi().on("GET", "/v2/alerts/A2", {"alert": body})
    async with client(api) as c:
        alert = await c.get_alert("A2")
    runbook = alert.link(LINK_RUNBOOK)
    assert runbook.url is None and runbook.problem.startswith("refused:")
    assert alert.link("logs").problem.startswith("refused:")
    assert alert.link(LINK_DASHBOARD).problem == "missing"
    assert alert.link(LINK_SOURCE).problem == "missing"
    assert alert.severity == "p2"


async def test_alert_without_severity_attribute_is_unknown():
    api = P.FakeApi().on("GET", "/v2/alerts/A3", {"alert": P.alert(aid="A3", attributes=[])})
    async with client(api) as c:
        assert (await c.get_alert("A3")).severity == "unknown"


async def test_schedule_mapping():
    api = P.FakeApi().on("GET", "/v2/schedules/S1", {"schedule": P.schedule(sid="S1")})
    async with client(api) as c:
        s = await c.get_schedule("S1")
    (rotation,) = s.rotations
    assert rotation.handover == "weekly"
    assert rotation.working_hours == "Mon-Fri 06:00-16:00"
    assert [u.name for u in rotation.users] == ["Ana Lima", "Bo Chen"]
    assert s.layer_name(rotation.id, rotation.layers[0].id) == "Europe"
    assert s.current_shifts[0].schedule_id == "S1"
    assert s.next_shifts[0].user.name == "Bo Chen"
    assert s.timezone == "Europe/London"


async def test_escalation_path_levels_and_responders():
    api = P.FakeApi().on(
        "GET", "/v2/escalation_paths/P1", {"escalation_path": P.escalation_path("P1")}
    )
    async with client(api) as c:
        path = await c.get_escalation_path("P1")
    assert [lvl.time_to_ack_seconds for lvl in path.levels] == [300, 600]
    assert path.levels[0].targets[0].type == "schedule"
    assert path.levels[1].targets[0].urgency == "low"
    assert [u.name for u in path.current_responders] == ["Ana Lima"]


async def test_page_mapping():
    api = P.FakeApi().on("GET", "/v2/escalations/E1", {"escalation": P.escalation("E1")})
    async with client(api) as c:
        page = await c.get_escalation("E1")
    assert page.priority == "P1" and page.path_id == "01HPATH0000000000000000000"
    assert page.alert_ids == ("01HALERT000000000000000000",)
    assert page.creator == "alert Checkout 5xx"
    assert page.notified_user_ids == frozenset({P.USER_ANA["id"]})


async def test_incident_mapping_and_lead():
    api = P.FakeApi().on("GET", "/v2/incidents/42", {"incident": P.incident()})
    async with client(api) as c:
        inc = await c.get_incident("INC-42")
    assert inc.reference == "INC-42" and inc.status.category == "live"
    assert inc.severity.name == "Major" and inc.lead.name == "Ana Lima"
    assert inc.call_url == "https://meet.example.com/inc-42"
    assert inc.creator == "Ana Lima"


async def test_alert_sources_never_keep_the_secret_token():
    api = P.FakeApi().on("GET", "/v2/alert_sources", {"alert_sources": [P.alert_source()]})
    async with client(api) as c:
        (source,) = await c.list_alert_sources()
    assert source.source_type == "grafana"
    assert "sk-very-secret-token" not in repr(source)


# ----------------------------------------------------------------- requests


@pytest.mark.parametrize(
    ("ref", "path"),
    [
        ("INC-123", "/v2/incidents/123"),
        ("#inc-123", "/v2/incidents/123"),
        ("123", "/v2/incidents/123"),
        (" inc123 ", "/v2/incidents/123"),
        ("01hinc00000000000000000000", "/v2/incidents/01HINC00000000000000000000"),
    ],
)
async def test_get_incident_accepts_references(ref, path):
    api = P.FakeApi().on("GET", "/v2/incidents/.+", {"incident": P.incident()})
    async with client(api) as c:
        await c.get_incident(ref)
    assert api.requests[0].path == path


@pytest.mark.parametrize("ref", ["", "INC-", "../alerts", "INC-12a", "1; DROP"])
def test_bad_references_are_refused(ref):
    with pytest.raises(InvalidRequest):
        normalise_incident_ref(ref)


async def test_ids_cannot_escape_their_path_segment():
    api = P.FakeApi().on("GET", ".*", (404, P.error_body(404, "not_found", "no")))
    async with client(api) as c:
        with pytest.raises(NotFound):
            await c.get_alert("../../v1/identity")
    assert api.requests[0].raw_path == b"/v2/alerts/..%2F..%2Fv1%2Fidentity"
    async with client(api) as c:
        with pytest.raises(InvalidRequest):
            await c.get_alert("..")
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("NOBODY", {"id": "NOBODY"}),
        (NOBODY, {"id": "NOBODY"}),
        ("bo@example.com", {"email": "bo@example.com"}),
        ("01HUSERB00000000000000000A", {"id": "01HUSERB00000000000000000A"}),
    ],
)
async def test_create_override_user_reference(who, expected):
    api = P.FakeApi().on("POST", "/v2/schedule_overrides", (201, {"override": P.override()}))
    async with client(api) as c:
        result = await c.create_override("S", "R", "L", START, END, who)
    assert api.requests[0].body["user"] == expected
    assert api.requests[0].body["start_at"] == "2026-09-01T00:00:00Z"
    assert result.id == "01HOVERRIDE000000000000000"


async def test_override_window_must_be_forward():
    async with client(P.FakeApi()) as c:
        with pytest.raises(InvalidRequest):
            await c.create_override("S", "R", "L", END, START, "NOBODY")


async def test_delete_override_is_idempotent():
    api = (
        P.FakeApi()
        .on("DELETE", "/v2/schedule_overrides/O1", (204, None))
        .on("DELETE", "/v2/schedule_overrides/O2", (404, P.error_body(404, "not_found", "gone")))
    )
    async with client(api) as c:
        assert await c.delete_override("O1") is None
        assert await c.delete_override("O2") is None


async def test_find_user_by_email_is_cached():
    api = P.FakeApi().on("GET", "/v2/users", P.page("users", [P.user_with_roles()]))
    async with client(api) as c:
        first = await c.find_user_by_email("ANA@example.com")
        second = await c.find_user_by_email("ana@example.com")
    assert first == second and first.id == P.USER_ANA["id"]
    assert len(api.requests) == 1
    assert ("email", "ANA@example.com") in api.requests[0].params


async def test_list_escalations_repeats_the_status_filter():
    api = P.FakeApi().on("GET", "/v2/escalations", P.page("escalations", []))
    async with client(api) as c:
        await c.list_escalations(statuses=("triggered", "acked"), alert_id="A1")
    params = api.requests[0].params
    assert [v for k, v in params if k == "status[one_of]"] == ["triggered", "acked"]
    assert ("alert[one_of]", "A1") in params
    assert "status%5Bone_of%5D=triggered&status%5Bone_of%5D=acked" in str(httpx.QueryParams(params))


async def test_create_incident_assigns_the_lead_role():
    roles = {"incident_roles": [P.incident_role("R-REP", "reporter"), P.incident_role("R-LEAD")]}
    api = (
        P.FakeApi()
        .on("GET", "/v2/incident_roles", roles)
        .on("POST", "/v2/incidents", {"incident": P.incident()})
    )
    async with client(api) as c:
        await c.create_incident("Down", severity_id="SEV", lead_user_id="U1", idempotency_key="k")
    body = api.requests[-1].body
    assert body["incident_role_assignments"] == [
        {"incident_role_id": "R-LEAD", "assignee": {"id": "U1"}}
    ]
    assert body["visibility"] == "public" and body["idempotency_key"] == "k"


async def test_edit_incident_sends_only_what_changes():
    api = P.FakeApi().on("POST", "/v2/incidents/I1/actions/edit", {"incident": P.incident()})
    async with client(api) as c:
        await c.edit_incident("I1", severity_id="SEV2", role_assignments={"R1": "U2", "R2": None})
        with pytest.raises(InvalidRequest):
            await c.edit_incident("I1")
    assert api.requests[0].body == {
        "incident": {
            "severity_id": "SEV2",
            "incident_role_assignments": [
                {"incident_role_id": "R1", "assignee": {"id": "U2"}},
                {"incident_role_id": "R2"},
            ],
        },
        "notify_incident_channel": True,
    }


async def test_severities_sorted_by_rank():
    body = {"severities": [P.severity("S3", "Critical", 3), P.severity("S1", "Minor", 1)]}
    api = P.FakeApi().on("GET", "/v1/severities", body)
    async with client(api) as c:
        assert [s.name for s in await c.severities()] == ["Minor", "Critical"]


# ------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-09-01T09:00:00Z", datetime(2026, 9, 1, 9, tzinfo=UTC)),
        ("2026-09-01T09:00:00.5Z", datetime(2026, 9, 1, 9, 0, 0, 500000, tzinfo=UTC)),
        ("2026-09-01T09:00:00.123456789Z", datetime(2026, 9, 1, 9, 0, 0, 123456, tzinfo=UTC)),
        ("2026-09-01T11:00:00+02:00", datetime(2026, 9, 1, 9, tzinfo=UTC)),
        ("2026-09-01T09:00:00", datetime(2026, 9, 1, 9, tzinfo=UTC)),
    ],
)
def test_parse_datetime(text, expected):
    parsed = parse_datetime(text)
    assert parsed == expected and parsed.tzinfo is UTC
