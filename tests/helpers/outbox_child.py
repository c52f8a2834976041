"""The process the outbox kill test kills, over and over.

Usage: ``outbox_child.py DB URL TOKEN INCIDENT N [KILL]``

It plays a user typing ``N`` notes on one incident ("note 000", "note 001", …) while a
delivery loop sends them to ``URL``. It resumes where the last run stopped: the next
note to type is the number of notes already in the outbox (what was committed is what
was typed). It exits 0 once every note is typed and delivered.

``KILL`` makes the process SIGKILL itself at a chosen point, so the test can reach the
narrow windows a timer would rarely hit:

* ``enqueue:K``   — inside the K-th enqueue of this run, after the INSERT, before COMMIT;
* ``claimed:K``   — at the K-th send, after the item is claimed, before the request;
* ``inflight:K``  — at the K-th send, while the request is on the wire;
* ``accepted:K``  — at the K-th send, after the server answered, before ``mark_delivered``;
* ``delivered:K`` — inside the K-th ``mark_delivered``, before its COMMIT.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime

from oncall_tui.backends.http import RetryPolicy
from oncall_tui.backends.incidentio import IncidentIoClient
from oncall_tui.core.outbox import KIND_NOTE, Backoff, Outbox, note_payload


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> int:
    db, url, token, incident, total = sys.argv[1:6]
    total_notes = int(total)
    kill_phase, _, kill_n = (sys.argv[6] if len(sys.argv) > 6 else "").partition(":")
    kill_at = int(kill_n) if kill_n else -1
    counts: dict[str, int] = {}

    def tick(phase: str) -> bool:
        counts[phase] = counts.get(phase, 0) + 1
        return phase == kill_phase and counts[phase] == kill_at

    outbox = Outbox(db, backoff=Backoff(base=0.01, cap=0.05, floor=0.01))

    # Kill inside a transaction: the trace callback runs before each statement.
    armed: dict[str, bool] = {"commit": False}

    def trace(statement: str) -> None:
        if armed["commit"] and statement.strip().upper() == "COMMIT":
            die()

    outbox._db.set_trace_callback(trace)

    original_mark = outbox.mark_delivered

    def mark_delivered(*args, **kwargs):
        if tick("delivered"):
            armed["commit"] = True
        return original_mark(*args, **kwargs)

    outbox.mark_delivered = mark_delivered  # type: ignore[method-assign]

    client = IncidentIoClient(url, token, retry=RetryPolicy(attempts=2, base=0.001, cap=0.01))

    async def sender(item) -> str:
        if tick("claimed"):
            die()
        request = asyncio.ensure_future(
            client.create_timeline_item(
                item.target,
                title=item.payload["title"],
                timestamp=datetime.fromisoformat(item.payload["timestamp"]),
                idempotency_key=item.key,
            )
        )
        if tick("inflight"):
            await asyncio.sleep(0.01)
            die()
        created = await request
        if tick("accepted"):
            die()
        return created.id

    async def run() -> int:
        typed = len(outbox.items())
        while typed < total_notes:
            if tick("enqueue"):
                armed["commit"] = True
            outbox.enqueue(
                KIND_NOTE,
                incident,
                note_payload(f"note {typed:03d}", at=datetime.now(UTC)),
            )
            typed += 1
            if typed % 3 == 0:
                await outbox.deliver_due(sender)
        for _ in range(10_000):
            if outbox.count_pending() == 0:
                break
            await outbox.deliver_due(sender)
            if outbox.count_pending():
                await asyncio.sleep(0.01)
        await client.aclose()
        stuck = outbox.count_pending() + outbox.count_attention()
        return 0 if stuck == 0 else 3

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
