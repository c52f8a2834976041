"""The client on both shapes of incident.io's schedule entries and escalation paths.

The 2.29.0 schema drops ``layer_id`` from schedule entries (only ``rotation_id`` is left)
while ``POST /v2/schedule_overrides`` still requires it; and escalation paths gain a
``kind``, where a ``templated`` path lists no levels. These tests hold the client to:

* each entry's layer found from the schedule's rotations (rotation → layers), in both
  shapes and in a mix of them within one response;
* a shift whose layer cannot be told refused by name, with the reason, while the others
  are still planned; never an override with an empty ``layer_id``;
* templated paths shown with their name, that they come from a template, and who is on
  call now, never "0 levels"; unknown kinds tolerated;
* ``oncall-tui unavailable`` through the installed console script against
  ``oncall-tui sim serve`` (entries without ``layer_id``) creating overrides on the right
  layers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import incidentio_payloads as P
import pytest

from oncall_tui.backends.http import RequestStats, RetryPolicy
from oncall_tui.backends.incidentio import (
    IncidentIoClient,
    _Obj,
    parse_escalation_path,
    parse_schedule,
)
from oncall_tui.core import availability, calendar, views
from oncall_tui.core.calendar import care_about
from oncall_tui.domain import User
from oncall_tui.sim.incidentio import create_app
from oncall_tui.sim.scenario import SimClock, build_world

TOKEN = "shapes-token"
START = datetime(2026, 9, 2, 10, 30, tzinfo=UTC)  # a Wednesday
LAYER = "01HLAYER000000000000000000"
ROT = "01HROT00000000000000000000"
ROT2 = "01HROT20000000000000000000"
SCHED = "01HSCHED000000000000000000"
ANA = User(id=P.USER_ANA["id"], name="Ana Lima", email="ana@example.com")


def _two_layer_rotation() -> dict:
    return P.rotation(
        id=ROT2,
        name="Pairs",
        layers=[{"id": "01HLAYERA", "name": "First"}, {"id": "01HLAYERB", "name": "Second"}],
    )


def _schedule(**over) -> dict:
    return P.schedule(config={"rotations": [P.rotation(), _two_layer_rotation()]}, **over)


# ------------------------------------------------------------------ parsing


def test_schedule_shifts_without_layer_id_take_the_only_layer_of_their_rotation():
    schedule = parse_schedule(_Obj(_schedule(), "schedule"))
    assert "layer_id" not in P.entry()  # the 2.29.0 shape
    assert schedule.current_shifts and all(s.layer_id == LAYER for s in schedule.current_shifts)
    assert schedule.layer_name(ROT, schedule.current_shifts[0].layer_id) == "Europe"


def test_a_rotation_with_several_layers_leaves_the_layer_untold():
    schedule = parse_schedule(
        _Obj(_schedule(current_shifts=[P.entry(rotation_id=ROT2)]), "schedule")
    )
    assert schedule.current_shifts[0].layer_id == ""
    assert "2 layers" in schedule.why_no_layer(ROT2)


def test_entries_with_and_without_layer_id_mixed_in_one_response():
    raw = _schedule(
        current_shifts=[
            P.entry(),  # no layer_id: one-layer rotation
            P.entry(rotation_id=ROT2, layer_id="01HLAYERB", fingerprint="fp-2"),  # old shape
            P.entry(rotation_id=ROT2, fingerprint="fp-3"),  # no layer_id: cannot be told
        ]
    )
    schedule = parse_schedule(_Obj(raw, "schedule"))
    assert [s.layer_id for s in schedule.current_shifts] == [LAYER, "01HLAYERB", ""]


def _entries_api(entries: list[dict], schedule: dict):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/schedule_entries":
            body = {
                "schedule_entries": {"final": entries, "scheduled": [], "overrides": []},
                "pagination_meta": {},
            }
            return httpx.Response(200, json=body)
        if request.url.path == f"/v2/schedules/{SCHED}":
            return httpx.Response(200, json={"schedule": schedule})
        return httpx.Response(404, json=P.error_body(404, "not_found", "no"))

    return httpx.MockTransport(handler)


async def test_schedule_entries_find_their_layers_from_the_schedule_rotations():
    entries = [
        P.entry(start="2026-09-01T09:00:00Z", end="2026-09-01T10:00:00Z", fingerprint="a"),
        P.entry(
            rotation_id=ROT2,
            layer_id="01HLAYERA",
            start="2026-09-01T09:00:00Z",
            end="2026-09-01T10:00:00Z",
            fingerprint="b",
        ),
        P.entry(
            rotation_id=ROT2,
            start="2026-09-01T09:00:00Z",
            end="2026-09-01T10:00:00Z",
            fingerprint="c",
        ),
    ]
    async with IncidentIoClient(
        "https://api.example.test",
        "tok",
        transport=_entries_api(entries, _schedule()),
        retry=RetryPolicy(attempts=1),
        stats=RequestStats(),
    ) as c:
        got = await c.schedule_entries(
            SCHED, datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 2, tzinfo=UTC)
        )
    by_fp = {s.fingerprint: s.layer_id for s in got.final}
    assert by_fp == {"a": LAYER, "b": "01HLAYERA", "c": ""}


def test_create_override_refuses_an_empty_layer():
    async def go():
        async with IncidentIoClient(
            "https://api.example.test",
            "tok",
            transport=httpx.MockTransport(lambda r: httpx.Response(500)),
            retry=RetryPolicy(attempts=1),
        ) as c:
            await c.create_override(SCHED, ROT, "", START, START + timedelta(hours=1), "NOBODY")

    import asyncio

    with pytest.raises(ValueError, match="rotation and layer"):
        asyncio.run(go())


# ------------------------------------------------------------------ planning


def test_unavailable_refuses_the_shift_whose_layer_cannot_be_told_and_plans_the_others():
    raw = _schedule(
        current_shifts=[
            P.entry(start="2026-09-03T09:00:00Z", end="2026-09-03T17:00:00Z", fingerprint="a"),
            P.entry(
                rotation_id=ROT2,
                start="2026-09-04T09:00:00Z",
                end="2026-09-04T17:00:00Z",
                fingerprint="b",
            ),
        ]
    )
    schedule = parse_schedule(_Obj(raw, "schedule"))
    plan = availability.plan_unavailable(
        schedule.current_shifts,
        [schedule],
        [],
        ANA,
        datetime(2026, 9, 3, tzinfo=UTC),
        datetime(2026, 9, 5, tzinfo=UTC),
        now=START,
        zone="UTC",
    )
    assert plan.ok, plan.errors
    assert [(o.rotation_id, o.layer_id) for o in plan.overrides] == [(ROT, LAYER)]
    assert len(plan.refused) == 1
    assert "Global on-call" in plan.refused[0] and "Pairs" in plan.refused[0]
    assert "does not say which one" in plan.refused[0]
    assert any(w.startswith("Not changed: Global on-call") for w in plan.warnings)


def test_unavailable_with_only_untold_layers_says_why_nothing_can_be_done():
    raw = _schedule(
        current_shifts=[
            P.entry(rotation_id=ROT2, start="2026-09-04T09:00:00Z", end="2026-09-04T17:00:00Z"),
        ]
    )
    schedule = parse_schedule(_Obj(raw, "schedule"))
    plan = availability.plan_unavailable(
        schedule.current_shifts,
        [schedule],
        [],
        ANA,
        datetime(2026, 9, 3, tzinfo=UTC),
        datetime(2026, 9, 5, tzinfo=UTC),
        now=START,
        zone="UTC",
    )
    assert not plan.ok and not plan.overrides
    assert "None of your shifts can be changed here" in plan.errors[0]
    assert "Pairs" in plan.errors[0]


# ------------------------------------------------------------ escalation paths


def test_a_templated_path_shows_its_name_template_and_responders_never_zero_levels():
    path = parse_escalation_path(_Obj(P.templated_path(), "escalation_path"))
    assert path.templated and not path.levels
    assert path.template_id == "01HTEMPLATE000000000000000"
    assert path.bound_ids == (SCHED,)
    summary = views.path_summary(path)
    assert "0 levels" not in summary
    assert "from a template" in summary and "Ana Lima" in summary


def test_a_standalone_path_counts_its_levels():
    path = parse_escalation_path(_Obj(P.escalation_path(), "escalation_path"))
    assert not path.templated
    assert views.path_summary(path) == "2 levels"


@pytest.mark.parametrize("kind", ["federated", "", "\x1b[31mred"])
def test_unknown_path_kinds_are_tolerated(kind):
    path = parse_escalation_path(
        _Obj(P.templated_path(kind=kind, template_id=None), "escalation_path")
    )
    assert not path.levels
    summary = views.path_summary(path)
    assert "0 levels" not in summary and "\x1b" not in summary
    assert "on call now: Ana Lima" in summary
    listed = parse_escalation_path(_Obj(P.escalation_path(kind=kind), "escalation_path"))
    assert views.path_summary(listed) == "2 levels"


def test_the_calendar_picks_schedules_a_templated_path_pages():
    schedule = parse_schedule(_Obj(_schedule(), "schedule"))
    other = parse_schedule(
        _Obj(P.schedule("01HOTHER000000000000000000", name="Other", config={"rotations": []}), "s")
    )
    me = User(id="01HME", name="Me", email="me@example.com")
    path = parse_escalation_path(
        _Obj(
            P.templated_path(
                current_responders=[P.user(id="01HME", name="Me", email="me@example.com")]
            ),
            "escalation_path",
        )
    )
    assert care_about([schedule, other], me, [path], []) == (SCHED,)
    assert care_about([schedule, other], me, [], []) == ()


# ------------------------------------------------------------------ the simulator


def _sim(entry_layer_ids: bool):
    world = build_world(
        SimClock(START, frozen=True), seed=3, background_alerts=0, entry_layer_ids=entry_layer_ids
    )
    app = create_app(world, token=TOKEN, rate_limit_per_min=100_000)
    return world, httpx.ASGITransport(app=app)


@pytest.mark.parametrize("entry_layer_ids", [False, True])
async def test_the_simulator_serves_both_entry_shapes_and_the_client_reads_both(entry_layer_ids):
    world, transport = _sim(entry_layer_ids)
    sched = world.schedule_by_name["Global on-call"]
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://sim.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as raw:
        body = (
            await raw.get(
                "/v2/schedule_entries",
                params={
                    "schedule_id": sched.id,
                    "entry_window_start": "2026-09-02T00:00:00Z",
                    "entry_window_end": "2026-09-09T00:00:00Z",
                },
            )
        ).json()
    final = body["schedule_entries"]["final"]
    assert final
    assert all(("layer_id" in e) is entry_layer_ids for e in final)

    async with IncidentIoClient(
        "http://sim.test", TOKEN, transport=transport, retry=RetryPolicy(attempts=1)
    ) as c:
        got = await c.schedule_entries(
            sched.id, datetime(2026, 9, 2, tzinfo=UTC), datetime(2026, 9, 9, tzinfo=UTC)
        )
    layers = {r.id: r.layers[0].id for r in sched.rotations}
    assert got.final and all(s.layer_id == layers[s.rotation_id] for s in got.final)


async def test_the_world_has_a_templated_path_the_client_shows_by_name():
    world, transport = _sim(False)
    async with IncidentIoClient(
        "http://sim.test", TOKEN, transport=transport, retry=RetryPolicy(attempts=1)
    ) as c:
        paths = await c.list_escalation_paths()
    templated = [p for p in paths if p.templated]
    assert templated, "the world has a path built from a template"
    path = templated[0]
    assert path.name == world.templated_path.name and not path.levels
    assert path.current_responders
    summary = views.path_summary(path)
    assert "from a template" in summary and "0 levels" not in summary


# ------------------------------------------------- through the console script


def _console() -> str:
    exe = Path(sys.executable).with_name("oncall-tui")
    found = str(exe) if exe.exists() else shutil.which("oncall-tui")
    assert found, "the oncall-tui console script is not installed (pip install -e .)"
    return found


@pytest.fixture
def sim_server(tmp_path):
    proc = subprocess.Popen(
        [_console(), "sim", "serve", "--port", "0", "--token", TOKEN, "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"on (http://[\d.]+:\d+)", first)
        assert match, f"sim serve said: {first!r}"
        yield match.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_unavailable_through_the_console_script_puts_overrides_on_the_right_layers(
    sim_server, tmp_path
):
    url = sim_server
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
        schedules = http.get("/v2/schedules", params={"page_size": 25}).json()["schedules"]
        sample = http.get(
            "/v2/schedule_entries",
            params={
                "schedule_id": schedules[0]["id"],
                "entry_window_start": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "entry_window_end": (datetime.now(UTC) + timedelta(days=7)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
            },
        ).json()["schedule_entries"]["final"]
    assert sample and all("layer_id" not in e for e in sample), "the 2.29.0 shape is served"
    layer_of = {
        r["id"]: {layer["id"] for layer in r["layers"]}
        for s in schedules
        for r in s["config"]["rotations"]
    }

    config = tmp_path / "config.toml"
    config.write_text(f'[user]\nemail = "me@example.com"\n\n[incident_io]\nbase_url = "{url}"\n')
    env = {**os.environ, "ONCALL_TUI_INCIDENT_IO__API_KEY": TOKEN, "TZ": "UTC"}
    argv = [
        *(_console(), "unavailable", "--config", str(config)),
        *("--from", "in 1d", "--to", "in 8d", "--yes"),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Made " in done.stdout and "Traceback" not in done.stderr

    with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
        writes = http.get("/_sim/writes", params={"kind": "override.create"}).json()["writes"]
    assert writes, done.stdout
    for write in writes:
        data = write["data"]
        assert data["layer_id"], data
        assert data["layer_id"] in layer_of[data["rotation_id"]], data
    assert json.dumps(writes).count('"layer_id": ""') == 0


async def _week(entry_layer_ids: bool):
    world, transport = _sim(entry_layer_ids)
    async with IncidentIoClient(
        "http://sim.test", TOKEN, transport=transport, retry=RetryPolicy(attempts=1)
    ) as c:
        schedules = await c.list_schedules()
        shifts = []
        for schedule in schedules:
            got = await c.schedule_entries(
                schedule.id, datetime(2026, 8, 31, tzinfo=UTC), datetime(2026, 9, 7, tzinfo=UTC)
            )
            shifts += got.final
    me = User(id=world.me.id, name=world.me.name, email=world.me.email)
    return schedules, shifts, me


async def test_calendar_lanes_and_ics_are_the_same_on_both_entry_shapes():
    views = []
    for entry_layer_ids in (True, False):
        schedules, shifts, me = await _week(entry_layer_ids)
        assert shifts and all(s.layer_id for s in shifts)
        view = calendar.week_view(shifts, schedules, me, anchor=START, zone="UTC", now=START)
        lanes = [
            (lane.key, lane.title, [(b.shift_start, b.who) for b in lane.blocks])
            for group in view.schedules
            for lane in group.lanes
        ]
        ics = calendar.shifts_to_ics(shifts, schedules, me, calendar_name="mine", now=START)
        views.append((lanes, re.sub(rb"DTSTAMP:[0-9TZ]+", b"", ics)))
    assert views[0] == views[1]
    assert b"Layer: \r\n" not in views[1][1] and b"VEVENT" in views[1][1]
