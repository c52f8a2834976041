"""Outbox resend pacing: every wait within [1 s, 5 min], never a hot loop whatever
``Retry-After`` says, and "send now" (``outbox --send``) tries at once, ignoring any wait.

Delivery runs against the real incident.io client and the simulator, with its 429
switch; time is a fake clock for the outbox and a recorder for the client's own
retries, so no test waits or asserts how long anything took.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui.backends.http import RateLimited
from oncall_tui.cli.main import main
from oncall_tui.core.outbox import KIND_NOTE, STATE_PENDING, Backoff, Outbox, note_payload
from oncall_tui.sim import demo as demo_module

T0 = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize(
    ("asked", "wait"),
    [(0.0, 1.0), (-5.0, 1.0), (0.001, 1.0), (42.0, 42.0), (3600.0, 300.0), (86400.0, 300.0)],
)
def test_resend_waits_keep_within_a_second_and_five_minutes(asked, wait):
    assert Backoff().delay(1, retry_after=asked) == wait


def test_backoff_without_a_server_wait_stays_within_bounds():
    rng = random.Random(7)
    waits = [Backoff().delay(n, rng=rng) for n in range(1, 80)]
    waits.append(Backoff().delay(1, retry_after=math.nan, rng=rng))
    waits.append(Backoff().delay(1, retry_after=math.inf, rng=rng))
    assert all(1.0 <= w <= 300.0 for w in waits)


async def test_retry_after_zero_never_makes_a_hot_loop(tmp_path):
    """Thirty seconds of a server answering 429 with ``Retry-After: 0``, the delivery
    loop looking every 50 ms: about one try a second, not dozens."""
    clock = Clock()
    outbox = Outbox(tmp_path / "outbox.sqlite3", clock=clock, rng=random.Random(1))
    sent: list[datetime] = []

    async def sender(item) -> str:
        sent.append(clock())
        raise RateLimited("rate limited", retry_after=0.0)

    outbox.enqueue(KIND_NOTE, "INC-1", note_payload("still looking", at=T0))
    for _ in range(600):  # 30 s in steps of 50 ms
        await outbox.deliver_due(sender, clock())
        clock.now += timedelta(milliseconds=50)
    outbox.close()
    assert 1 < len(sent) <= 31
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 1.0


@pytest.fixture
def shared_demo(monkeypatch):
    built: dict = {}
    original = demo_module.build_demo

    def once(base=None, **kwargs):
        if "demo" not in built:
            built["demo"] = original(base, **kwargs)
        return built["demo"]

    monkeypatch.setattr(demo_module, "build_demo", once)
    return built


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_outbox_send_tries_at_once_after_a_long_retry_after(capsys, shared_demo):
    from oncall_tui.core.incidents import outbox_path

    code, out, _ = run(capsys, "incidents", "--demo", "--json")
    incident = next(i for i in json.loads(out) if i["reference"] == "INC-242")
    with Outbox(outbox_path(demo=True)) as box:
        payload = note_payload("rolled back at 03:10", at=datetime.now(UTC))
        box.enqueue(KIND_NOTE, incident["id"], {**payload, "incident_ref": "INC-242"})
    faults = shared_demo["demo"].transports["incident-io"].app.state.faults
    # incident.io answers this note with 429 and asks for a day
    faults.update(burst=1, burst_status=429, retry_after="86400", paths=["/v2/incident_"])
    code, out, _ = run(capsys, "outbox", "--demo", "--send")
    assert code == 0 and "rolled back at 03:10" in out
    with Outbox(outbox_path(demo=True)) as box:
        [waiting] = box.items()
        assert waiting.state == STATE_PENDING
        wait = (waiting.next_attempt_at - datetime.now(UTC)).total_seconds()
        assert 60 < wait <= 300  # capped: not a day, not an hour
    faults.clear()
    # "send now": the wait is set aside, the note goes at once
    code, out, err = run(capsys, "outbox", "--demo", "--send")
    assert code == 0 and out.startswith("Nothing waiting") and "INC-242" in err
    world = shared_demo["demo"].world
    sent = [w for w in world.writes if w.kind == "timeline_item.create"]
    assert [w.data["title"] for w in sent] == ["rolled back at 03:10"]


async def test_the_resend_key_tries_at_once_after_a_long_retry_after(tmp_path):
    """R on the incident screen (``IncidentActions.resend``) sends a note that waits out
    a server's Retry-After now, not in five minutes."""
    from oncall_tui.backends.http import RetryPolicy
    from oncall_tui.config import Settings
    from oncall_tui.core.incidents import IncidentActions
    from oncall_tui.core.sources import build_backends
    from oncall_tui.sim.demo import build_demo

    demo = build_demo(Settings.model_construct(), background_alerts=0)
    backends = build_backends(demo.settings, transports=demo.transports, tokens=demo.tokens)
    backends.incidentio.retry = RetryPolicy(attempts=1)
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    actions = IncidentActions(backends, outbox)
    try:
        incident = next(
            i for i in await backends.incidentio.list_incidents() if i.reference == "INC-242"
        )
        faults = demo.transports["incident-io"].app.state.faults
        faults.update(burst=1, burst_status=429, retry_after="86400", paths=["/v2/incident_"])
        outbox.enqueue(KIND_NOTE, incident.id, note_payload("paged DB team", at=T0))
        await outbox.deliver_due(actions.send, fallback=actions.reroute)
        [waiting] = outbox.pending()
        assert waiting.next_attempt_at > datetime.now(UTC) + timedelta(seconds=60)
        assert outbox.due() == []
        outcome = actions.resend(incident.id)
        assert "Resending 1" in outcome.message
        [due] = outbox.due()
        assert due.key == waiting.key
        await outbox.deliver_due(actions.send, fallback=actions.reroute)
        sent = [w for w in demo.world.writes if w.kind == "timeline_item.create"]
        assert [w.data["title"] for w in sent] == ["paged DB team"]
    finally:
        outbox.close()
        await backends.aclose()
