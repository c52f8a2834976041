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
* ``delivered:K`` — inside the K-th ``mark_delivered``, before its COMMIT;
* ``draft:K``     — inside the K-th draft save, before its COMMIT;
* ``resend:K``    — inside the K-th resend of a refused note, before its COMMIT.

Like a person, it types each note into the box first (a draft, saved as typed), then
sends it (the note is stored and its draft forgotten in one transaction). incident.io
refuses every fifth note once (400); the "user" resends refused notes, which hold the
later notes of the incident until then.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime

from oncall_tui.backends.http import InvalidRequest, RetryPolicy
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
        if int(item.payload["title"].split()[1]) % 5 == 2 and item.attempts == 1:
            raise InvalidRequest("refused once (title: try again)")
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
            text = f"note {typed:03d}"
            for part in (text[:4], text):  # typed, saved as a draft as it goes
                if tick("draft"):
                    armed["commit"] = True
                outbox.save_draft(incident, part, label="INC-1")
            if tick("enqueue"):
                armed["commit"] = True
            outbox.enqueue(
                KIND_NOTE,
                incident,
                note_payload(text, at=datetime.now(UTC)),
                clear_draft=incident,
            )
            typed += 1
            if typed % 3 == 0:
                await outbox.deliver_due(sender)
                resend()
        for _ in range(10_000):
            resend()
            if outbox.count_pending() == 0 and outbox.count_attention() == 0:
                break
            await outbox.deliver_due(sender)
            if outbox.count_pending():
                await asyncio.sleep(0.01)
        await client.aclose()
        stuck = outbox.count_pending() + outbox.count_attention() + len(outbox.drafts())
        return 0 if stuck == 0 else 3

    def resend() -> None:
        for item in outbox.undelivered():
            if item.needs_user:
                if tick("resend"):
                    armed["commit"] = True
                outbox.requeue(item.key)

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
