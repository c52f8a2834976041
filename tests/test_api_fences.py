"""Fences around what the published incident.io API leaves unsaid.

Each assumption the client makes beyond the 2.29.0 schema has a simulator switch that
makes the simulated incident.io refuse it, and a test here that the product then says
what happened and what to do next, and leaves nothing half-made unsaid:

* an override to no one (``user: {"id": "NOBODY"}``);
* ``X-Incident-User`` on responding to a page (documented only for reassigning);
* unassigning an incident role by leaving ``assignee`` out.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from oncall_tui.backends.http import InvalidRequest, RetryPolicy
from oncall_tui.backends.incidentio import IncidentIoClient
from oncall_tui.config import Settings, UserConfig
from oncall_tui.core.actions import Actions
from oncall_tui.core.overrides import OverrideActions, parse_when
from oncall_tui.core.sources import build_backends
from oncall_tui.sim.demo import build_demo
from oncall_tui.sim.incidentio import create_app
from oncall_tui.sim.scenario import SimClock, build_world

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday
TOKEN = "fence-token"


def _overrides():
    demo = build_demo(
        Settings(user=UserConfig(timezone="UTC")), clock=lambda: NOW, background_alerts=0
    )
    backends = build_backends(demo.settings, transports=demo.transports, tokens=demo.tokens)
    return demo, OverrideActions(backends, clock=lambda: NOW, zone="UTC")


def _when(text: str, *, end: bool = False) -> datetime:
    return parse_when(text, now=NOW, zone="UTC", end=end)


# ------------------------------------------------------------ override to no one


async def test_an_override_to_no_one_refused_says_what_to_do_and_what_was_made():
    demo, actions = _overrides()
    demo.world.refuse_nobody_overrides = True
    plan, _ = await actions.plan(_when("tomorrow"), _when("tomorrow", end=True))
    assert plan.ok and all(p.nobody for p in plan.overrides)
    result = await actions.apply(plan)
    assert not result.complete
    assert not demo.world.overrides  # nothing made, and the words say so
    assert "Nothing was changed." in result.summary
    assert "did not accept an override to no one" in result.summary
    assert "--cover" in result.summary


async def test_an_override_to_no_one_accepted_by_default():
    demo, actions = _overrides()
    plan, _ = await actions.plan(_when("tomorrow"), _when("tomorrow", end=True))
    result = await actions.apply(plan)
    assert result.complete and result.next_step == ""
    assert all(o.user_id is None for o in demo.world.overrides.values())


async def test_cover_by_a_colleague_is_not_affected_by_the_no_one_fence():
    demo, actions = _overrides()
    demo.world.refuse_nobody_overrides = True
    colleague = await actions.colleague("ana.souza@example.com")
    plan, _ = await actions.plan(
        _when("tomorrow"), _when("tomorrow", end=True), colleague=colleague
    )
    result = await actions.apply(plan)
    assert result.complete, result.summary


# ------------------------------------------------- X-Incident-User on responding


def _sim():
    world = build_world(SimClock(NOW, frozen=True), seed=3, background_alerts=0)
    app = create_app(world, token=TOKEN, rate_limit_per_min=100_000)
    return world, httpx.ASGITransport(app=app)


async def _page_me(c: IncidentIoClient, world) -> str:
    page = await c.create_escalation(
        "Disk full on db-1", idempotency_key="fence-1", user_ids=[world.me.id]
    )
    return page.id


async def test_respond_as_the_person_refused_falls_back_to_the_key_and_says_so():
    world, transport = _sim()
    world.refuse_act_as_on_respond = True
    async with IncidentIoClient(
        "http://sim.test",
        TOKEN,
        transport=transport,
        act_as_user_id=world.me.id,
        retry=RetryPolicy(attempts=1),
    ) as c:
        page_id = await _page_me(c, world)
        assert await c.respond_escalation(page_id, "ack") is False
        assert world.escalations[page_id].status == "acked"
        acks = [w for w in world.writes if w.kind == "escalation.respond"]
        assert acks and acks[-1].actor.startswith("api_key")
        # A decline cannot be made as the key: a clear refusal, nothing sent.
        second = await c.create_escalation(
            "Disk full on db-2", idempotency_key="fence-2", user_ids=[world.me.id]
        )
        with pytest.raises(InvalidRequest, match="would not take a decline on your behalf"):
            await c.respond_escalation(second.id, "nack")
        caps = c._build_capabilities(None)
        assert not caps["nack"].usable and "X-Incident-User" in caps["nack"].reason


async def test_respond_as_the_person_when_accepted():
    world, transport = _sim()
    async with IncidentIoClient(
        "http://sim.test",
        TOKEN,
        transport=transport,
        act_as_user_id=world.me.id,
        retry=RetryPolicy(attempts=1),
    ) as c:
        page_id = await _page_me(c, world)
        assert await c.respond_escalation(page_id, "ack") is True
        acks = [w for w in world.writes if w.kind == "escalation.respond"]
        assert acks[-1].actor.startswith("user")


async def test_the_ack_message_says_when_it_was_recorded_as_the_key():
    demo = build_demo(Settings(), background_alerts=0)
    demo.world.refuse_act_as_on_respond = True
    backends = build_backends(demo.settings, transports=demo.transports, tokens=demo.tokens)
    io = backends.incidentio
    io.act_as_user_id = demo.world.me.id
    page = await io.create_escalation(
        "Disk full on db-3", idempotency_key="fence-3", user_ids=[demo.world.me.id]
    )
    outcome = await Actions(backends).ack(page)
    assert "recorded as the API key" in outcome.message
    assert demo.world.escalations[page.id].status == "acked"


# ------------------------------------------------------ unassigning a role


async def test_unassigning_a_role_refused_says_nothing_changed_and_where_to_do_it():
    world, transport = _sim()
    world.refuse_unassign_by_omission = True
    incident = next(iter(world.incidents.values()))
    role_id = next(iter(world.roles))
    async with IncidentIoClient(
        "http://sim.test", TOKEN, transport=transport, retry=RetryPolicy(attempts=1)
    ) as c:
        with pytest.raises(InvalidRequest) as caught:
            await c.edit_incident(incident.id, role_assignments={role_id: None})
    assert "nothing in this edit changed" in str(caught.value)
    assert "incident.io app or Slack" in str(caught.value)


async def test_unassigning_a_role_by_leaving_the_assignee_out_when_accepted():
    world, transport = _sim()
    incident = next(iter(world.incidents.values()))
    role_id = next(iter(world.roles))
    incident.roles[role_id] = world.me.id
    async with IncidentIoClient(
        "http://sim.test", TOKEN, transport=transport, retry=RetryPolicy(attempts=1)
    ) as c:
        await c.edit_incident(incident.id, role_assignments={role_id: None})
    assert role_id not in incident.roles or incident.roles[role_id] is None
