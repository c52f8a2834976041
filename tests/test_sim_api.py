"""The simulated incident.io API over HTTP (in process): pagination, the time-window
cursor, filters, idempotency, auth, rate limits, writes changing the world, alert
injection through the HTTP source, the control endpoints and the faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from oncall_tui.sim.faults import ConnectionDropped, Faults
from oncall_tui.sim.incidentio import create_app
from oncall_tui.sim.scenario import SimClock, build_world

TOKEN = "t0ken"
WED = datetime(2026, 9, 2, 10, 30, tzinfo=UTC)


@pytest.fixture
def sim():
    clock = SimClock(WED, frozen=True)
    world = build_world(clock, seed=5, background_alerts=0)
    faults = Faults(seed=1)
    app = create_app(world, token=TOKEN, faults=faults)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sim.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    return world, clock, faults, client, app


async def collect(c: httpx.AsyncClient, path: str, key: str, **params) -> list[dict]:
    out, after, pages = [], None, 0
    while True:
        q = dict(params)
        if after:
            q["after"] = after
        r = await c.get(path, params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        out += body[key]
        pages += 1
        after = body["pagination_meta"].get("after")
        if not after:
            return out


# ----------------------------------------------------------------- pagination


async def test_id_cursor_pagination_walks_every_record_once(sim):
    world, _clock, _f, c, _app = sim
    world.add_bulk_alerts(103, resolved_share=0.3)
    async with c:
        alerts = await collect(c, "/v2/alerts", "alerts", page_size=10)
        firing = await collect(
            c, "/v2/alerts", "alerts", page_size=50, **{"status[one_of]": "firing"}
        )
        first = (await c.get("/v2/alerts", params={"page_size": 50})).json()
        bad = await c.get("/v2/alerts", params={"page_size": 5, "after": "01NOPE"})
        too_big = await c.get("/v2/alerts", params={"page_size": 51})
    ids = [a["id"] for a in alerts]
    assert len(ids) == len(set(ids)) == len(world.alerts)
    assert [a["created_at"] for a in alerts] == sorted(
        (a["created_at"] for a in alerts), reverse=True
    )
    assert {a["id"] for a in firing} == {
        a.id for a in world.alerts.values() if a.status == "firing"
    }
    assert first["pagination_meta"] == {"page_size": 50, "after": first["alerts"][-1]["id"]}
    assert bad.status_code == 422 and bad.json()["errors"][0]["source"]["field"] == "after"
    assert too_big.status_code == 422


async def test_incidents_count_and_filter(sim):
    world, _clock, _f, c, _app = sim
    async with c:
        everything = (await c.get("/v2/incidents", params={"page_size": 2})).json()
        open_ = await collect(
            c,
            "/v2/incidents",
            "incidents",
            **{"status_category[one_of]": ["live", "triage"]},
        )
        by_ref = await c.get("/v2/incidents/INC-242")
        by_number = await c.get("/v2/incidents/242")
        at_least_major = await collect(
            c,
            "/v2/incidents",
            "incidents",
            **{"severity[gte]": world.severity_by_name("Major").id},
        )
        oldest = (
            await c.get("/v2/incidents", params={"sort_by": "created_at_oldest_first"})
        ).json()
        bad_op = await c.get("/v2/incidents", params={"status_category[near]": "live"})
    assert everything["pagination_meta"]["total_record_count"] == len(world.incidents)
    assert len(everything["incidents"]) == 2
    assert sorted(i["incident_status"]["category"] for i in open_) == ["live", "triage"]
    assert by_ref.json()["incident"]["id"] == by_number.json()["incident"]["id"]
    assert by_ref.json()["incident"]["reference"] == "INC-242"
    assert {i["severity"]["name"] for i in at_least_major} == {"Major"}
    assert oldest["incidents"][0]["reference"] == "INC-240"
    assert bad_op.status_code == 422 and "status_category[one_of]" in bad_op.text


async def test_schedule_entries_time_window_cursor(sim):
    world, _clock, _f, c, _app = sim
    glob = world.schedule_by_name["Global on-call"]
    window = {
        "schedule_id": glob.id,
        "entry_window_start": "2026-08-31T00:00:00Z",
        "entry_window_end": "2026-09-28T00:00:00Z",
    }
    async with c:
        whole = (await c.get("/v2/schedule_entries", params=window)).json()
        assert "pagination_meta" not in whole
        world.schedule_entries_page_limit = 7
        seen, pages = [], 0
        r = await c.get("/v2/schedule_entries", params=window)
        while True:
            body = r.json()
            seen += body["schedule_entries"]["final"]
            pages += 1
            meta = body.get("pagination_meta")
            if not meta:
                break
            assert meta["after_url"].startswith("http://sim.test/v2/schedule_entries?")
            if pages % 2:  # follow after_url …
                r = await c.get(meta["after_url"])
            else:  # … or re-issue with entry_window_start=<after> and the same end
                r = await c.get(
                    "/v2/schedule_entries", params={**window, "entry_window_start": meta["after"]}
                )
            assert r.status_code == 200, r.text
    assert pages > 4
    assert [e["fingerprint"] for e in seen] == [
        e["fingerprint"] for e in whole["schedule_entries"]["final"]
    ]


async def test_schedule_entries_validation(sim):
    world, _clock, _f, c, _app = sim
    sid = world.schedule_by_name["Escalators"].id
    async with c:
        missing = await c.get("/v2/schedule_entries")
        unknown = await c.get("/v2/schedule_entries", params={"schedule_id": "01NOPE"})
        backwards = await c.get(
            "/v2/schedule_entries",
            params={
                "schedule_id": sid,
                "entry_window_start": "2026-09-02T00:00:00Z",
                "entry_window_end": "2026-09-01T00:00:00Z",
            },
        )
        garbage = await c.get(
            "/v2/schedule_entries", params={"schedule_id": sid, "entry_window_start": "soon"}
        )
        default = await c.get("/v2/schedule_entries", params={"schedule_id": sid})
    assert [missing.status_code, unknown.status_code, backwards.status_code] == [422, 404, 422]
    assert garbage.status_code == 422
    assert garbage.json()["errors"][0]["source"]["field"] == "entry_window_start"
    final = default.json()["schedule_entries"]["final"]
    assert final and final[0]["start_at"] <= "2026-09-02T10:30" < final[0]["end_at"]


# ----------------------------------------------------------- auth, rate limits


async def test_auth_is_required_everywhere_including_control(sim):
    _world, _clock, _f, c, _app = sim
    async with c:
        for path in ("/v1/identity", "/_sim/state", "/_sim/writes"):
            missing = await c.get(path, headers={"Authorization": ""})
            wrong = await c.get(path, headers={"Authorization": "Bearer nope"})
            basic = await c.get(path, headers={"Authorization": f"Basic {TOKEN}"})
            assert missing.status_code == wrong.status_code == basic.status_code == 401
            assert missing.json()["type"] == "authentication_error"
            assert TOKEN not in wrong.text


async def test_rate_limit_answers_429_with_retry_after():
    world = build_world(SimClock(WED, frozen=True), background_alerts=0)
    app = create_app(world, token=TOKEN, rate_limit_per_min=3, escalation_create_limit_per_min=1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sim.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as c:
        ok = [await c.get("/v1/identity") for _ in range(3)]
        limited = await c.get("/v1/identity")
    assert [r.status_code for r in ok] == [200, 200, 200]
    assert ok[0].headers["X-RateLimit-Limit"] == "3, 3;window=60"
    assert int(ok[2].headers["X-RateLimit-Remaining"]) == 0
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert int(limited.headers["X-RateLimit-Reset"]) > 0
    body = limited.json()
    assert body["type"] == "too_many_requests" and body["rate_limit"]["limit"] == 3

    app = create_app(world, token=TOKEN, escalation_create_limit_per_min=1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sim.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as c:
        body = {"title": "t", "user_ids": [world.me.id]}
        first = await c.post("/v2/escalations", json={**body, "idempotency_key": "a"})
        second = await c.post("/v2/escalations", json={**body, "idempotency_key": "b"})
        reads = await c.get("/v2/escalations")
    assert (first.status_code, second.status_code, reads.status_code) == (201, 429, 200)


# ------------------------------------------------------------------- writes


async def test_idempotency_keys_return_the_same_object(sim):
    world, _clock, _f, c, _app = sim
    live = world.incident("242")
    sev = world.severity_by_name("Minor").id
    calls = [
        ("/v2/escalations", {"idempotency_key": "e", "title": "t", "user_ids": [world.me.id]},
         "escalation"),
        ("/v2/incidents", {"idempotency_key": "i", "visibility": "public", "severity_id": sev},
         "incident"),
        ("/v2/incident_updates", {"idempotency_key": "u", "incident_id": live.id,
                                  "message": "m"}, "incident_update"),
        ("/v2/incident_timeline_items", {"idempotency_key": "t", "incident_id": live.id,
                                         "timestamp": "2026-09-02T10:00:00Z", "title": "x"},
         "incident_timeline_item"),
    ]  # fmt: skip
    async with c:
        for path, body, key in calls:
            a = await c.post(path, json=body)
            b = await c.post(path, json={**body, "title": "changed", "message": "changed"})
            assert a.status_code == b.status_code and a.status_code in (200, 201), a.text
            assert a.json()[key]["id"] == b.json()[key]["id"]
    assert sum(1 for i in world.incidents.values() if i.idempotency_key == "i") == 1


async def test_page_climbs_with_the_clock_and_ack_stops_it(sim):
    world, _clock, _f, c, _app = sim
    async with c:
        r = await c.post("/_sim/clock", json={"advance_seconds": 2})
        assert r.json() == {"now": "2026-09-02T10:30:02.000Z", "controllable": True}
        firing = (
            await c.get("/v2/escalations", params={"status[one_of]": ["triggered", "snoozed"]})
        ).json()["escalations"]
        (page,) = [e for e in firing if "ledger" in e["title"]]
        assert world.me.id in [u["id"] for u in page["events"][-1]["users"]]
        await c.post("/_sim/clock", json={"advance_seconds": 301})
        page = (await c.get(f"/v2/escalations/{page['id']}")).json()["escalation"]
        rounds = [e for e in page["events"] if e["event"] == "notified_users"]
        assert len(rounds) == 2 and rounds[1]["users"][0]["name"] == "Mei Lin"
        r = await c.post(
            f"/v2/escalations/{page['id']}/actions/respond",
            json={"response": "ack"},
            headers={"X-Incident-User": world.me.id},
        )
        assert r.status_code == 200
        await c.post("/_sim/clock", json={"advance_seconds": 3600})
        page = (await c.get(f"/v2/escalations/{page['id']}")).json()["escalation"]
        writes = (await c.get("/_sim/writes", params={"kind": "escalation.respond"})).json()
    assert page["status"] == "acked"
    assert [e["event"] for e in page["events"]][-1] == "acked"
    assert page["events"][-1]["users"][0]["id"] == world.me.id
    (write,) = writes["writes"]
    assert write["target_id"] == page["id"] and write["data"] == {"response": "ack"}
    assert write["actor"] == f"user:{world.me.name}"


async def test_nobody_override_over_http_removes_me_from_final(sim):
    world, _clock, _f, c, _app = sim
    sched = world.schedule_by_name["Support: Payments"]
    rot = sched.rotations[0]
    window = {"schedule_id": sched.id, "entry_window_start": "2026-09-02T10:30:00Z",
              "entry_window_end": "2026-09-02T12:30:00Z"}  # fmt: skip
    async with c:
        before = (await c.get("/v2/schedule_entries", params=window)).json()
        assert [e["user"]["id"] for e in before["schedule_entries"]["final"]] == [world.me.id]
        r = await c.post(
            "/v2/schedule_overrides",
            json={"schedule_id": sched.id, "rotation_id": rot.id, "layer_id": rot.layers[0].id,
                  "start_at": "2026-09-02T11:00:00Z", "end_at": "2026-09-02T12:00:00Z",
                  "user": {"id": "NOBODY"}},
        )  # fmt: skip
        assert r.status_code == 201
        oid = r.json()["override"]["id"]
        after = (await c.get("/v2/schedule_entries", params=window)).json()["schedule_entries"]
        listed = (await c.get("/v2/schedule_overrides", params={"schedule_id": sched.id})).json()
        gone = [await c.delete(f"/v2/schedule_overrides/{oid}") for _ in range(2)]
        unknown = await c.delete("/v2/schedule_overrides/01NEVER")
    final = [
        (e["start_at"][11:16], e["end_at"][11:16], e.get("user", {}).get("id"))
        for e in after["final"]
    ]
    assert ("11:00", "12:00", None) in final
    assert not any(u == world.me.id and s <= "11:30" < e for s, e, u in final)
    assert after["overrides"][0]["entry_id"] == oid and "user" not in after["overrides"][0]
    assert [o["id"] for o in listed["overrides"]] == [oid]
    assert [g.status_code for g in gone] == [204, 204] and unknown.status_code == 404


async def test_weekday_gap_over_http(sim):
    world, _clock, _f, c, _app = sim
    glob = world.schedule_by_name["Global on-call"]
    async with c:
        r = await c.get(
            "/v2/schedule_entries",
            params={"schedule_id": glob.id, "entry_window_start": "2026-09-02T22:00:00Z",
                    "entry_window_end": "2026-09-03T01:00:00Z"},
        )  # fmt: skip
    spans = [(e["start_at"], e["end_at"]) for e in r.json()["schedule_entries"]["final"]]
    assert spans == [
        ("2026-09-02T14:00:00.000Z", "2026-09-02T23:00:00.000Z"),
        ("2026-09-03T00:00:00.000Z", "2026-09-03T06:00:00.000Z"),
    ]


async def test_declare_update_note_and_forbidden_moves(sim):
    world, _clock, _f, c, _app = sim
    sev = world.severity_by_name("Major").id
    async with c:
        r = await c.post("/v2/incidents", json={"idempotency_key": "d", "visibility": "public"})
        assert r.status_code == 422 and r.json()["errors"][0]["source"]["field"] == "severity_id"
        inc = (
            await c.post(
                "/v2/incidents",
                json={"idempotency_key": "d", "visibility": "public", "name": "Checkout down",
                      "severity_id": sev},
            )
        ).json()["incident"]  # fmt: skip
        lead = next(a for a in inc["incident_role_assignments"] if a["role"]["role_type"] == "lead")
        assert lead["assignee"]["id"] == world.me.id
        closed = world.status_by_name("Closed").id
        r = await c.post(
            "/v2/incident_updates",
            json={"idempotency_key": "u1", "incident_id": inc["id"],
                  "to_incident_status_id": closed, "message": "Fixed"},
        )  # fmt: skip
        assert r.status_code == 201
        shown = (await c.get(f"/v2/incidents/{inc['id']}")).json()["incident"]
        assert shown["incident_status"]["name"] == "Closed"
        reopen = await c.post(
            f"/v2/incidents/{inc['id']}/actions/edit",
            json={"incident": {"incident_status_id": world.status_by_name("Fixing").id},
                  "notify_incident_channel": False},
        )  # fmt: skip
        updates = (await c.get("/v2/incident_updates", params={"incident_id": inc["id"]})).json()
        alert = next(iter(world.alerts.values()))
        note = await c.post("/v1/alert_notes", json={"alert_id": alert.id, "content": "On it"})
        notes = (await c.get("/v1/alert_notes", params={"alert_id": alert.id})).json()
        with_notes = await collect(
            c, "/v2/alerts", "alerts", page_size=50, **{"has_notes[is]": "true"}
        )
    assert reopen.status_code == 422
    err = reopen.json()["errors"][0]
    assert err["source"]["field"] == "incident_status_id"
    assert "cannot move from Closed to Fixing" in err["message"]
    assert [u["message"] for u in updates["incident_updates"]] == ["Fixed"]
    assert note.status_code == 201
    assert [n["content"] for n in notes["alert_notes"]] == ["On it"]
    assert [a["id"] for a in with_notes] == [alert.id]
    kinds = [w.kind for w in world.writes]
    assert kinds == ["incident.create", "incident_update.create", "alert_note.create"]


# ---------------------------------------------------------- HTTP alert source


async def test_alert_injection_through_the_http_source(sim):
    world, _clock, _f, c, _app = sim
    event = {"title": "Disk full on db-1", "status": "firing", "deduplication_key": "disk-db-1",
             "metadata": {"team": "Payments", "severity": "critical"}}  # fmt: skip
    async with c:
        source = (await c.get("/v2/alert_sources")).json()["alert_sources"][0]
        url = source["alert_events_url"].removeprefix("http://sim.test")
        no_token = await c.post(url, json=event, headers={"Authorization": ""})
        r = await c.post(
            url, json=event, headers={"Authorization": f"Bearer {source['secret_token']}"}
        )
        assert r.status_code == 202, r.text
        assert r.json()["deduplication_key"] == "disk-db-1"
        again = await c.post(url, params={"token": source["secret_token"]},
                             json={**event, "title": "Disk full on db-1 (98%)"})  # fmt: skip
        found = (
            await c.get("/v2/alerts", params={"page_size": 5, "deduplication_key[is]": "disk-db-1"})
        ).json()["alerts"]
        pages = (await c.get("/v2/escalations", params={"alert[one_of]": found[0]["id"]})).json()[
            "escalations"
        ]
        resolved = await c.post(url, params={"token": source["secret_token"]},
                                json={**event, "status": "resolved"})  # fmt: skip
        after = (await c.get(f"/v2/alerts/{found[0]['id']}")).json()["alert"]
        page_after = (await c.get(f"/v2/escalations/{pages[0]['id']}")).json()["escalation"]
        no_key = await c.post(url, params={"token": source["secret_token"]},
                              json={"title": "x", "status": "firing"})  # fmt: skip
    assert no_token.status_code == 401 and again.status_code == 202
    assert len(found) == 1 and found[0]["title"] == "Disk full on db-1 (98%)"
    assert pages[0]["escalation_path_id"] == world.path_by_team[world.teams["payments"].id].id
    assert resolved.status_code == 202 and after["status"] == "resolved" and after["resolved_at"]
    assert page_after["status"] == "resolved"
    assert no_key.status_code == 422


# ------------------------------------------------------------------- faults


async def test_faults_do_what_they_say(sim):
    world, _clock, faults, c, _app = sim
    async with c:
        faults.update(burst=2)
        burst = [(await c.get("/v1/identity")).status_code for _ in range(3)]
        assert burst == [500, 500, 200]

        faults.update(down=True)
        down = await c.get("/v1/identity")
        control = await c.get("/_sim/state")  # control paths are never faulted
        assert down.status_code == 503 and down.headers["content-type"] == "text/html"
        assert control.status_code == 200 and control.json()["faults"]["down"] is True
        faults.clear()

        faults.update(malformed_rate=1)
        with pytest.raises(ValueError):
            (await c.get("/v1/identity")).json()
        faults.update(malformed_rate=0, truncated_rate=1)
        r = await c.get("/v1/identity")
        assert r.status_code == 200 and r.content.startswith(b'{"identity"')
        with pytest.raises(ValueError):
            r.json()
        faults.update(truncated_rate=0, drop_rate=1)
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get("/v1/identity")
        faults.clear()

        faults.update(error_rate=1, paths=["/v2/alerts"])
        assert (await c.get("/v2/alerts", params={"page_size": 5})).status_code == 500
        assert (await c.get("/v1/identity")).status_code == 200
        faults.clear()

        faults.update(hide_newer_endpoints=True)
        inc = world.incident("242")
        hidden = await c.get("/v2/incident_timeline_items", params={"incident_id": inc.id})
        kept = await c.get("/v2/incident_updates", params={"incident_id": inc.id})
        assert hidden.status_code == 404 and hidden.json()["type"] == "not_found"
        assert kept.status_code == 200

        r = await c.post("/_sim/faults", json={"error_rate": 2})
        assert r.status_code == 422
        r = await c.post("/_sim/faults", json={"colour": "red"})
        assert r.status_code == 422
        r = await c.post("/_sim/faults", json={"hide_newer_endpoints": False, "error_rate": 0.5})
        assert r.json()["faults"]["error_rate"] == 0.5
        r = await c.delete("/_sim/faults")
        assert r.json()["faults"]["error_rate"] == 0 and r.json()["injected"]["burst"] == 2


def test_fault_decisions_repeat_with_the_seed():
    def run(seed: int) -> list[str | None]:
        f = Faults(seed=seed, error_rate=0.3, malformed_rate=0.2)
        return [f.decide("/v2/alerts")[0] for _ in range(200)]

    a, b = run(4), run(4)
    assert a == b and run(5) != a
    assert 30 < a.count("error") < 90 and a.count("malformed") > 10
    assert ConnectionDropped.__mro__[1] is httpx.RemoteProtocolError


async def test_control_endpoints(sim):
    world, _clock, _f, c, _app = sim
    async with c:
        state = (await c.get("/_sim/state")).json()
        page = await c.post("/_sim/page", json={"to_me": True, "title": "Drill"})
        team_page = await c.post("/_sim/page", json={"team": "search"})
        bad_team = await c.post("/_sim/page", json={"team": "Nope"})
        bulk = await c.post("/_sim/bulk", json={"alerts": 20, "pages": 2})
        back = await c.post("/_sim/clock", json={"advance_seconds": -5})
    assert state["me"]["id"] == world.me.id and state["me"]["email"] == "me@example.com"
    assert "Global on-call" in state["schedules"]
    assert page.status_code == 201
    assert page.json()["escalation"]["events"][-1]["users"][0]["id"] == world.me.id
    assert (
        team_page.json()["escalation"]["escalation_path_id"]
        == world.path_by_team[world.teams["search"].id].id
    )
    assert bad_team.status_code == 422
    assert bulk.status_code == 201 and bulk.json()["firing_alerts"] >= 20
    assert back.status_code == 422


async def test_clock_control_refuses_a_real_clock():
    world = build_world(background_alerts=0)
    app = create_app(world, token=TOKEN)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sim.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as c:
        r = await c.post("/_sim/clock", json={"advance_seconds": 5})
        now = await c.get("/_sim/clock")
    assert r.status_code == 409 and r.json()["type"] == "conflict"
    assert now.json()["controllable"] is False
    assert abs(datetime.fromisoformat(now.json()["now"]) - datetime.now(UTC)) < timedelta(hours=1)
