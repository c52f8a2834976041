"""The API down for hours while notes are typed, then back: all delivered once, in order.

Uses the real incident.io client (``IncidentIoClient.create_timeline_item``) against the
idempotent receiver in ``tests/helpers/outbox_receiver.py``, through a transport that can
refuse connections, or lose the answer after the server has acted. Time is a fake clock,
so three hours pass in a moment.
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from oncall_tui.backends.http import RetryPolicy
from oncall_tui.backends.incidentio import IncidentIoClient
from oncall_tui.core.outbox import (
    KIND_NOTE,
    OUTCOME_RETRYING,
    STATE_DELIVERED,
    STATE_PENDING,
    Backoff,
    Outbox,
    note_payload,
)

sys.path.insert(0, str(Path(__file__).parent / "helpers"))

from outbox_receiver import Store, create_receiver

TOKEN = "network-test-token"
T0 = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)


class Flaky(httpx.AsyncBaseTransport):
    """``up``: pass through; ``down``: connection refused; ``lossy``: act, lose the answer."""

    def __init__(self, app) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.mode = "down"
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.mode == "down":
            self.refused += 1
            raise httpx.ConnectError("connection refused", request=request)
        response = await self.inner.handle_async_request(request)
        if self.mode == "lossy":
            await response.aread()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world(tmp_path):
    store = Store()
    transport = Flaky(create_receiver(store, token=TOKEN))
    client = IncidentIoClient(
        "https://api.incident.io",
        TOKEN,
        transport=transport,
        retry=RetryPolicy(attempts=2, base=0.001, cap=0.01),
    )
    clock = Clock()
    outbox = Outbox(tmp_path / "outbox.sqlite3", clock=clock, rng=random.Random(3))

    async def sender(item) -> str:
        created = await client.create_timeline_item(
            item.target,
            title=item.payload["title"],
            timestamp=datetime.fromisoformat(item.payload["timestamp"]),
            idempotency_key=item.key,
        )
        return created.id

    yield store, transport, clock, outbox, sender
    outbox.close()


async def test_three_hours_down_then_back(world):
    store, transport, clock, outbox, sender = world
    typed: dict[str, list[str]] = {"INC-A": [], "INC-B": []}
    worst_wait = timedelta(0)
    # Three hours of outage; a note every few minutes on one of two incidents, and the
    # delivery loop looking every 30 s, as run() would.
    for minute in range(0, 180):
        for half in (0, 30):
            clock.now = T0 + timedelta(minutes=minute, seconds=half)
            if half == 0 and minute % 7 == 0:
                target = "INC-A" if minute % 2 else "INC-B"
                text = f"{target} note {len(typed[target])}"
                outbox.enqueue(KIND_NOTE, target, note_payload(text, at=clock.now))
                typed[target].append(text)
            for result in await outbox.deliver_due(sender, clock.now):
                assert result.outcome == OUTCOME_RETRYING
                assert "cannot reach" in result.item.last_error
                worst_wait = max(worst_wait, result.item.next_attempt_at - clock.now)
    assert store.items == []
    assert outbox.count_pending() == sum(len(v) for v in typed.values())
    assert all(i.state == STATE_PENDING for i in outbox.items())
    # Backoff is capped: the head of each queue is still tried every few minutes…
    assert worst_wait <= timedelta(seconds=Backoff().cap)
    heads = {i.target: i for i in outbox.items() if i.attempts}
    assert set(heads) == {"INC-A", "INC-B"}
    assert all(i.attempts >= 180 * 60 // Backoff().cap for i in heads.values())
    # …and only the heads: nothing behind them was sent out of turn.
    assert sum(i.attempts for i in outbox.items()) == sum(i.attempts for i in heads.values())

    transport.mode = "up"
    clock.now += timedelta(seconds=Backoff().cap)
    await outbox.deliver_due(sender, clock.now)
    assert outbox.count_pending() == 0
    for target, texts in typed.items():
        assert store.titles(target) == texts
    assert store.replays == 0
    assert all(i.state == STATE_DELIVERED for i in outbox.items())


async def test_flapping_network_and_lost_answers(world):
    store, transport, clock, outbox, sender = world
    rng = random.Random(99)
    typed: list[str] = []
    for step in range(400):
        clock.now = T0 + timedelta(seconds=20 * step)
        transport.mode = rng.choice(["up", "up", "down", "lossy"])
        if step < 300 and rng.random() < 0.3:
            text = f"note {len(typed)}"
            outbox.enqueue(KIND_NOTE, "INC-A", note_payload(text, at=clock.now))
            typed.append(text)
        await outbox.deliver_due(sender, clock.now)
    transport.mode = "up"
    for _ in range(5):
        clock.now += timedelta(seconds=Backoff().cap)
        await outbox.deliver_due(sender, clock.now)
    assert outbox.count_pending() == 0
    assert store.titles("INC-A") == typed  # once each, in order
    assert store.replays > 0  # answers were lost, and the resends were recognised
    assert [i.remote_id for i in outbox.items()] == [i["id"] for i in store.items]
