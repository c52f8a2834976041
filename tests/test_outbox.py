"""The durable outbox: storage, ordering, retries, refusals, recovery, fallback."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import socket
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui.backends.http import (
    AuthError,
    Conflict,
    InvalidRequest,
    MalformedResponse,
    NetworkError,
    NotFound,
    RateLimited,
    ServerError,
)
from oncall_tui.core.outbox import (
    KIND_NOTE,
    KIND_UPDATE,
    OUTCOME_DELIVERED,
    OUTCOME_FAILED,
    OUTCOME_NEEDS_ATTENTION,
    OUTCOME_REROUTED,
    OUTCOME_RETRYING,
    ROUTE_FALLBACK,
    SCHEMA_VERSION,
    STATE_DELIVERED,
    STATE_DISMISSED,
    STATE_FAILED,
    STATE_NEEDS_ATTENTION,
    STATE_PENDING,
    STATE_SENDING,
    Backoff,
    Outbox,
    OutboxError,
    Rerouted,
    StorageError,
    classify,
    is_capability_unavailable,
    note_payload,
    update_payload,
)

T0 = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class CapabilityUnavailable(NotFound):
    """Shaped like the incident.io client's error for a newer endpoint answering 404."""


class Server:
    """A sender that records deliveries and answers like the API (same key, same id)."""

    def __init__(self) -> None:
        self.by_key: dict[str, str] = {}
        self.delivered: list[tuple[str, str]] = []  # (target, text) in arrival order
        self.calls: list[str] = []
        self.fail: dict[str, list[BaseException]] = {}  # text -> errors to raise first

    async def __call__(self, item) -> str:
        text = item.payload.get("text") or item.payload.get("message") or ""
        self.calls.append(text)
        errors = self.fail.get(text)
        if errors:
            raise errors.pop(0)
        if item.key not in self.by_key:
            self.by_key[item.key] = f"R{len(self.by_key):03d}"
            self.delivered.append((item.target, text))
        return self.by_key[item.key]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(tmp_path, clock):
    box = Outbox(
        tmp_path / "outbox.sqlite3",
        clock=clock,
        backoff=Backoff(base=2, cap=60),
        rng=random.Random(7),
    )
    yield box
    box.close()


def note(box: Outbox, target: str, text: str):
    return box.enqueue(KIND_NOTE, target, note_payload(text, at=box.clock()))


# ----------------------------------------------------------------- storage


def test_enqueue_is_on_disk_before_it_returns(tmp_path, clock):
    path = tmp_path / "deep" / "dir" / "outbox.sqlite3"
    box = Outbox(path, clock=clock)
    item = note(box, "INC1", "first look: error rate 40%")
    # A second connection (another process, or this one after a crash) sees it at once.
    other = sqlite3.connect(path)
    row = other.execute("SELECT key, kind, target, state FROM items").fetchone()
    other.close()
    assert row == (item.key, KIND_NOTE, "INC1", STATE_PENDING)
    assert item.payload["text"] == "first look: error rate 40%"
    assert item.created_at == T0 and item.attempts == 0
    box.close()


def test_store_is_private_wal_fsynced_and_versioned(outbox, tmp_path):
    path = tmp_path / "outbox.sqlite3"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert outbox._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert outbox._db.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert outbox.schema_version == SCHEMA_VERSION == 2


def test_keys_are_unique_and_a_repeated_enqueue_with_a_key_is_harmless(outbox):
    a = note(outbox, "INC1", "a")
    b = note(outbox, "INC1", "b")
    assert a.key != b.key and len(a.key) >= 32
    again = outbox.enqueue(KIND_NOTE, "INC1", {"text": "changed"}, key=a.key)
    assert again == a
    assert [i.payload["text"] for i in outbox.items()] == ["a", "b"]


@pytest.mark.parametrize(
    ("kind", "target", "payload"),
    [
        ("", "INC1", {}),
        ("note", "", {}),
        ("note", "INC1", {"when": datetime(2026, 1, 1)}),
        ("note", "INC1", {"x": float("nan")}),
        ("note", "INC1", {"big": "x" * (1024 * 1024 + 1)}),
    ],
)
def test_enqueue_refuses_what_it_cannot_store(outbox, kind, target, payload):
    with pytest.raises(ValueError):
        outbox.enqueue(kind, target, payload)
    assert outbox.items() == []


def test_a_file_from_a_newer_version_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    Outbox(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(OutboxError, match="newer"):
        Outbox(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 99
    db.close()


def test_a_file_that_is_not_a_database_is_moved_aside_and_a_new_one_started(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    path.write_bytes(b"this is not a database, it is a text file " * 100)
    box = Outbox(path)
    assert box.items() == [] and "damaged" in box.repaired
    [aside] = tmp_path.glob("outbox.sqlite3.damaged-*")
    assert aside.read_bytes().startswith(b"this is not a database")
    assert str(aside) in box.repaired
    box.close()


def _damage_a_data_page(path, keep_pages=(0, 1)):
    """Overwrite every page of the file but the first ones with garbage."""
    size = os.path.getsize(path)
    page = 4096
    with open(path, "r+b") as f:
        for n in range(size // page):
            if n in keep_pages:
                continue
            f.seek(n * page)
            f.write(b"\xde\xad" * (page // 2))


def test_a_damaged_page_keeps_every_row_that_can_be_read(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path)
    # Enough rows, with big payloads, to spread over many pages.
    for n in range(40):
        note(box, f"INC{n % 3}", f"note {n} " + "x" * 1500)
    box.save_draft("INC9", "half a thought", label="INC-9")
    box._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    box.close()
    size = os.path.getsize(path)
    pages = size // 4096
    assert pages > 10
    # Damage one page in the middle of the table.
    with open(path, "r+b") as f:
        f.seek((pages // 2) * 4096)
        f.write(b"\xde\xad" * 2048)
    again = Outbox(path)
    try:
        assert again.repaired and "moved to" in again.repaired
        texts = [i.payload["text"].split()[1] for i in again.items()]
        assert 0 < len(texts) < 40  # some rows were on the damaged page
        assert texts == sorted(texts, key=int)  # order kept
        assert f"{len(texts)} item(s) that could still be read" in again.repaired
        assert again.draft("INC9") == "half a thought" or "draft" not in again.repaired
        assert list(tmp_path.glob("outbox.sqlite3.damaged-*"))
    finally:
        again.close()


def test_a_full_disk_is_a_storage_error_that_stores_nothing(outbox):
    note(outbox, "INC1", "fits")
    pages = outbox._db.execute("PRAGMA page_count").fetchone()[0]
    outbox._db.execute(f"PRAGMA max_page_count = {pages}")  # the file can grow no more
    with pytest.raises(StorageError, match="disk is full"):
        note(outbox, "INC1", "does not fit " + "x" * 20_000)
    with pytest.raises(StorageError, match="disk is full"):
        outbox.save_draft("INC1", "y" * 20_000)
    assert [i.payload["text"] for i in outbox.items()] == ["fits"]


def test_a_file_locked_too_long_is_reported_as_busy(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    Outbox(path).close()
    os.remove(path)  # a fresh file must be created, which needs the write lock
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(OutboxError, match="busy"):
            Outbox(path, busy_timeout=0.1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    Outbox(path).close()  # and fine once the other writer is done


def test_payload_helpers():
    p = note_payload("Rolled back\nsecond line", at=T0)
    assert p == {
        "text": "Rolled back\nsecond line",
        "title": "Rolled back",
        "timestamp": "2026-03-04T13:00:00+00:00",
    }
    u = update_payload(at=T0, message="m", status_id="S1", status_name="Fixing")
    assert u["status_id"] == "S1" and u["status_name"] == "Fixing" and "severity_id" not in u
    with pytest.raises(ValueError):
        update_payload(at=T0, message="  ")


# ----------------------------------------------------------------- delivery


async def test_everything_due_is_delivered_once_with_its_key(outbox, clock):
    server = Server()
    items = [note(outbox, "INC1", f"n{i}") for i in range(5)]
    results = await outbox.deliver_due(server, clock())
    assert [r.outcome for r in results] == [OUTCOME_DELIVERED] * 5
    assert server.delivered == [("INC1", f"n{i}") for i in range(5)]
    assert outbox.count_pending() == 0
    stored = outbox.items()
    assert [i.state for i in stored] == [STATE_DELIVERED] * 5
    assert [i.remote_id for i in stored] == [server.by_key[i.key] for i in items]
    assert all(i.delivered_at == T0 for i in stored)
    # nothing left: another pass sends nothing
    assert await outbox.deliver_due(server, clock.advance(60)) == []
    assert len(server.calls) == 5


async def test_order_is_kept_per_target_while_other_targets_go_on(outbox, clock):
    server = Server()
    server.fail["a1"] = [NetworkError("cannot reach api.incident.io")]
    for text in ("a1", "a2", "a3"):
        note(outbox, "INC-A", text)
    note(outbox, "INC-B", "b1")
    note(outbox, "INC-B", "b2")

    results = await outbox.deliver_due(server, clock())
    assert server.delivered == [("INC-B", "b1"), ("INC-B", "b2")]
    assert [r.outcome for r in results if r.item.target == "INC-A"] == [OUTCOME_RETRYING]
    # a2 and a3 were never even tried: they wait behind a1
    assert "a2" not in server.calls and "a3" not in server.calls
    assert [i.payload["text"] for i in outbox.due(clock())] == []

    clock.advance(120)
    assert [i.payload["text"] for i in outbox.due(clock())] == ["a1"]
    await outbox.deliver_due(server, clock())
    assert [t for target, t in server.delivered if target == "INC-A"] == ["a1", "a2", "a3"]


async def test_one_item_per_target_is_due_at_a_time(outbox, clock):
    for i in range(3):
        note(outbox, "INC1", f"n{i}")
    note(outbox, "INC2", "m0")
    due = outbox.due(clock())
    assert [(i.target, i.payload["text"]) for i in due] == [("INC1", "n0"), ("INC2", "m0")]


async def test_retryable_errors_back_off_with_jitter_and_a_cap(outbox, clock):
    server = Server()
    server.fail["n"] = [NetworkError("down")] * 12
    item = note(outbox, "INC1", "n")
    delays = []
    for _ in range(12):
        now = clock()
        [result] = await outbox.deliver_due(server, now)
        assert result.outcome == OUTCOME_RETRYING
        wait = (result.item.next_attempt_at - now).total_seconds()
        delays.append(wait)
        assert "down" in result.item.last_error and "Next try at" in result.item.status_text
        clock.now = result.item.next_attempt_at
    for n, wait in enumerate(delays, start=1):
        ceiling = min(60, 2 * 2 ** (n - 1))
        assert ceiling / 2 <= wait <= ceiling
    assert max(delays) <= 60 and delays[-1] >= 30  # capped, not growing forever
    [result] = await outbox.deliver_due(server, clock())
    assert result.outcome == OUTCOME_DELIVERED
    assert outbox.get(item.key).attempts == 13


async def test_retry_after_from_the_server_is_honoured(outbox, clock):
    server = Server()
    server.fail["n"] = [RateLimited("rate limited; retry in 42s", retry_after=42.0)]
    note(outbox, "INC1", "n")
    [result] = await outbox.deliver_due(server, clock())
    assert result.item.next_attempt_at == T0 + timedelta(seconds=42)
    assert outbox.due(clock.advance(41)) == []
    assert len(outbox.due(clock.advance(1))) == 1


def test_backoff_bounds():
    b = Backoff(base=1, cap=10, max_retry_after=100, floor=0.5)
    rng = random.Random(1)
    assert all(0.5 <= b.delay(1, rng=rng) <= 1 for _ in range(50))
    assert all(5 <= b.delay(30, rng=rng) <= 10 for _ in range(50))
    assert b.delay(10_000, rng=rng) <= 10  # no overflow
    assert b.delay(1, retry_after=7) == 7
    assert b.delay(1, retry_after=10_000) == 100
    assert b.delay(1, retry_after=0) == 0.5
    assert b.delay(1, retry_after=-5) == 0.5


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (NetworkError("down"), "retry"),
        (ServerError("server error 502"), "retry"),
        (RateLimited("slow down", retry_after=3), "retry"),
        (MalformedResponse("HTML"), "retry"),
        (ConnectionResetError("reset"), "retry"),
        (RuntimeError("a bug"), "retry"),
        (InvalidRequest("title too long"), "failed"),
        (AuthError("the credentials lack permission"), "attention"),
        (NotFound("not found"), "attention"),
        (Conflict("conflict"), "attention"),
        (CapabilityUnavailable("no such endpoint"), "unavailable"),
    ],
)
def test_classify(error, verdict):
    assert classify(error)[0] == verdict


def test_capability_unavailable_is_told_from_a_plain_not_found():
    assert is_capability_unavailable(CapabilityUnavailable("x"))
    assert not is_capability_unavailable(NotFound("incident not found"))
    flagged = NotFound("x")
    flagged.capability_unavailable = True
    assert is_capability_unavailable(flagged)


# -------------------------------------------------------------- refusals


async def test_a_refused_note_holds_the_later_ones_until_resent_or_skipped(outbox, clock):
    server = Server()
    server.fail["bad"] = [InvalidRequest("the request was refused (title: too long)")]
    bad = note(outbox, "INC1", "bad")
    good = note(outbox, "INC1", "good")
    other = note(outbox, "INC2", "other")
    results = await outbox.deliver_due(server, clock())
    assert sorted(r.outcome for r in results) == [OUTCOME_DELIVERED, OUTCOME_FAILED]
    kept = outbox.get(bad.key)
    assert kept.state == STATE_FAILED and kept.payload["text"] == "bad"
    assert "title: too long" in kept.last_error
    assert "Your text is kept" in kept.status_text
    assert outbox.count_attention() == 1 and outbox.count_pending() == 1
    # the later note of the same incident waits, and says behind which one
    assert [(h.key, b.key) for h, b in outbox.held()] == [(good.key, bad.key)]
    assert await outbox.deliver_due(server, clock.advance(3600)) == []
    assert server.delivered == [("INC2", "other")] and outbox.get(other.key).remote_id

    # the user resends it (after fixing the cause); both go, in order
    assert outbox.requeue(bad.key).state == STATE_PENDING
    await outbox.deliver_due(server, clock())
    assert server.delivered[1:] == [("INC1", "bad"), ("INC1", "good")]
    assert outbox.held() == []


async def test_skipping_a_refused_note_lets_the_held_ones_go(outbox, clock):
    server = Server()
    server.fail["bad"] = [InvalidRequest("refused")]
    bad = note(outbox, "INC1", "bad")
    note(outbox, "INC1", "good")
    await outbox.deliver_due(server, clock())
    assert server.delivered == []
    assert outbox.dismiss(bad.key).state == STATE_DISMISSED
    await outbox.deliver_due(server, clock())
    assert server.delivered == [("INC1", "good")]
    assert outbox.by_ref(str(bad.id)).key == bad.key and outbox.by_ref(bad.key).id == bad.id


def test_drafts_are_kept_per_incident_and_forgotten_when_empty(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path)
    box.save_draft("INC1", "first thought", label="INC-1")
    box.save_draft("INC1", "first thought, revised", label="INC-1")
    box.save_draft("INC2", "other", label="INC-2")
    box.close()
    box = Outbox(path)  # after a restart
    assert box.draft("INC1") == "first thought, revised"
    assert [d[1] for d in box.drafts()] == ["INC-1", "INC-2"]
    box.save_draft("INC1", "   ")
    assert box.draft("INC1") == "" and len(box.drafts()) == 1
    box.close()


async def test_missing_permission_needs_attention_and_can_be_dismissed(outbox, clock):
    server = Server()
    server.fail["n"] = [AuthError("the credentials lack permission")]
    item = note(outbox, "INC1", "n")
    [result] = await outbox.deliver_due(server, clock())
    assert result.outcome == OUTCOME_NEEDS_ATTENTION
    assert outbox.get(item.key).state == STATE_NEEDS_ATTENTION
    assert "lacks permission" in outbox.get(item.key).status_text
    dismissed = outbox.dismiss(item.key)
    assert dismissed.state == STATE_DISMISSED and dismissed.payload["text"] == "n"
    assert outbox.count_attention() == 0
    assert outbox.undelivered() == []


def test_mark_failed_and_mark_delivered_by_hand(outbox, clock):
    item = note(outbox, "INC1", "n")
    later = T0 + timedelta(minutes=5)
    assert outbox.mark_failed(item.key, "down", later).next_attempt_at == later
    assert outbox.mark_failed(item.key, "refused", permanent=True).state == STATE_FAILED
    done = outbox.mark_delivered(item.key, "R1")
    assert done.state == STATE_DELIVERED and done.remote_id == "R1"
    # delivered is final: neither a late failure nor a second delivery changes it
    assert outbox.mark_failed(item.key, "late", permanent=True).state == STATE_DELIVERED
    assert outbox.mark_delivered(item.key, "R2").remote_id == "R1"
    assert outbox.mark_delivered("no-such-key", "R") is None


def test_error_text_is_cleaned(outbox):
    item = note(outbox, "INC1", "n")
    stored = outbox.mark_failed(item.key, "bad\x1b]8;;http://evil\x07 thing\nhere", permanent=True)
    assert "\x1b" not in stored.last_error and "\n" not in stored.last_error


def test_prune_forgets_only_old_finished_items(outbox, clock):
    old = note(outbox, "INC1", "old")
    outbox.mark_delivered(old.key, "R1", now=T0)
    waiting = note(outbox, "INC1", "waiting")
    assert outbox.prune_delivered(T0 + timedelta(days=1)) == 1
    assert [i.key for i in outbox.items()] == [waiting.key]


# ----------------------------------------------------------- crash recovery


async def test_an_item_left_sending_by_a_crashed_process_is_sent_again(tmp_path, clock):
    path = tmp_path / "outbox.sqlite3"
    server = Server()
    first = Outbox(path, clock=clock)
    item = note(first, "INC1", "n")
    # The first process claims the item, sends it, the server makes the object, and the
    # process dies before recording it.
    [claimed] = first._claim(clock(), set(), 1)
    assert claimed.state == STATE_SENDING
    await server(claimed)
    first.close()  # its claim now names a process that is gone

    second = Outbox(path, clock=clock)
    assert [i.key for i in second.due(clock())] == [item.key]
    assert second.recover(clock()) == 1
    assert "interrupted" in second.get(item.key).status_text
    [result] = await second.deliver_due(server, clock())
    assert result.outcome == OUTCOME_DELIVERED
    assert server.delivered == [("INC1", "n")]  # sent twice, created once
    assert server.calls == ["n", "n"]
    assert second.get(item.key).attempts == 2
    second.close()


def _set_claim(path, key, claimed_by, lease_until):
    db = sqlite3.connect(path)
    db.execute(
        "UPDATE items SET state = 'sending', claimed_by = ?, lease_until = ? WHERE key = ?",
        (claimed_by, lease_until, key),
    )
    db.commit()
    db.close()


def _dead_pid() -> int:
    proc = multiprocessing.get_context("spawn").Process(target=int)
    proc.start()
    proc.join()
    return proc.pid


def test_claims_by_dead_live_and_remote_processes(tmp_path, clock):
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path, clock=clock)
    item = note(box, "INC1", "n")
    host = socket.gethostname()
    lease = (T0 + timedelta(minutes=2)).timestamp()

    _set_claim(path, item.key, f"{host}|{_dead_pid()}|x", lease)
    assert len(box.due(clock())) == 1  # its sender is dead: send it again now

    _set_claim(path, item.key, f"{host}|{os.getppid()}|x", lease)
    assert box.due(clock()) == []  # a live process is sending it: wait
    assert box.next_due_at() == T0 + timedelta(minutes=2)

    _set_claim(path, item.key, "another-host|1|x", lease)
    assert box.due(clock()) == []  # cannot tell: wait for the lease
    assert len(box.due(clock.advance(121))) == 1
    box.close()


async def test_cancelling_mid_send_hands_the_item_back(outbox, clock):
    started = asyncio.Event()

    async def hanging(item):
        started.set()
        await asyncio.sleep(3600)
        return "never"

    item = note(outbox, "INC1", "n")
    task = asyncio.ensure_future(outbox.deliver_due(hanging, clock()))
    await started.wait()
    assert outbox.get(item.key).state == STATE_SENDING
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outbox.get(item.key).state == STATE_PENDING
    assert len(outbox.due(clock())) == 1


# ------------------------------------------------------------- concurrency


def _enqueue_many(path: str, tag: str, count: int) -> None:
    box = Outbox(path)
    for i in range(count):
        box.enqueue(KIND_NOTE, f"INC-{tag}", {"text": f"{tag}{i}"})
    box.close()


def test_two_processes_writing_the_same_file(tmp_path):
    path = str(tmp_path / "outbox.sqlite3")
    Outbox(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_enqueue_many, args=(path, tag, 40)) for tag in "AB"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    box = Outbox(path)
    items = box.items()
    assert len(items) == 80 and len({i.key for i in items}) == 80
    for tag in "AB":
        texts = [i.payload["text"] for i in items if i.target == f"INC-{tag}"]
        assert texts == [f"{tag}{i}" for i in range(40)]
    box.close()


async def test_two_outboxes_on_one_file_deliver_each_item_once_in_order(tmp_path, clock):
    path = tmp_path / "outbox.sqlite3"
    a = Outbox(path, clock=clock)
    b = Outbox(path, clock=clock)
    server = Server()

    async def slow(item):
        await asyncio.sleep(0)
        return await server(item)

    for i in range(10):
        note(a if i % 2 else b, "INC1", f"n{i}")
        note(b, "INC2", f"m{i}")
    for _ in range(20):
        await asyncio.gather(a.deliver_due(slow, clock()), b.deliver_due(slow, clock()))
        if a.count_pending() == 0:
            break
    assert len(server.calls) == 20  # nobody sent anything twice
    assert [t for g, t in server.delivered if g == "INC1"] == [f"n{i}" for i in range(10)]
    assert [t for g, t in server.delivered if g == "INC2"] == [f"m{i}" for i in range(10)]
    a.close()
    b.close()


# ----------------------------------------------------------------- fallback


async def test_capability_unavailable_reroutes_through_the_fallback(outbox, clock):
    server = Server()
    server.fail["n"] = [CapabilityUnavailable("POST /v2/incident_timeline_items: not found")]
    fallback_calls = []

    async def as_update(item, cause):
        fallback_calls.append((item.key, type(cause).__name__))
        return Rerouted("UPD1", "posted as an incident update (no timeline notes here)")

    item = note(outbox, "INC1", "n")
    [result] = await outbox.deliver_due(server, clock(), fallback=as_update)
    assert result.outcome == OUTCOME_REROUTED
    stored = outbox.get(item.key)
    assert stored.state == STATE_DELIVERED and stored.remote_id == "UPD1"
    assert stored.route == ROUTE_FALLBACK
    assert "posted as an incident update" in stored.status_text
    assert fallback_calls == [(item.key, "CapabilityUnavailable")]


async def test_a_rerouted_item_retries_on_the_fallback_route(outbox, clock):
    server = Server()
    server.fail["n"] = [CapabilityUnavailable("no such endpoint")]
    attempts = []

    async def flaky_fallback(item, cause):
        attempts.append(item.route)
        if len(attempts) == 1:
            raise NetworkError("down")
        return Rerouted("UPD1", "posted as an incident update")

    item = note(outbox, "INC1", "n")
    [first] = await outbox.deliver_due(server, clock(), fallback=flaky_fallback)
    assert first.outcome == OUTCOME_RETRYING
    assert outbox.get(item.key).route == ROUTE_FALLBACK
    [second] = await outbox.deliver_due(server, clock.advance(600), fallback=flaky_fallback)
    assert second.outcome == OUTCOME_REROUTED
    assert server.calls == ["n"]  # the primary endpoint was not asked again
    # first through the primary route (then re-routed), afterwards straight to the fallback
    assert attempts == ["primary", ROUTE_FALLBACK]


async def test_no_fallback_or_a_missing_fallback_needs_attention(outbox, clock):
    server = Server()
    server.fail["a"] = [CapabilityUnavailable("no such endpoint")]
    server.fail["b"] = [CapabilityUnavailable("no such endpoint")]
    a = note(outbox, "INC1", "a")
    [result] = await outbox.deliver_due(server, clock())
    assert result.outcome == OUTCOME_NEEDS_ATTENTION
    assert "does not offer" in outbox.get(a.key).status_text

    async def also_missing(item, cause):
        raise CapabilityUnavailable("no incident updates either")

    b = note(outbox, "INC2", "b")
    [result] = await outbox.deliver_due(server, clock(), fallback=also_missing)
    assert result.outcome == OUTCOME_NEEDS_ATTENTION
    assert "neither" in outbox.get(b.key).last_error


# ----------------------------------------------------------------- the loop


async def test_run_delivers_when_woken_and_stops_when_told(tmp_path):
    box = Outbox(tmp_path / "outbox.sqlite3")
    server = Server()
    delivered = asyncio.Event()
    seen = []

    def on_delivery(results):
        seen.extend(r.outcome for r in results)
        if box.count_pending() == 0 and len(server.delivered) == 2:
            delivered.set()

    stop = asyncio.Event()
    loop_task = asyncio.ensure_future(
        box.run(server, stop, poll_interval=3600, on_delivery=on_delivery)
    )
    await asyncio.sleep(0)
    box.enqueue(KIND_NOTE, "INC1", {"text": "one"})
    box.enqueue(KIND_UPDATE, "INC1", {"message": "two"})
    await asyncio.wait_for(delivered.wait(), timeout=10)
    stop.set()
    await asyncio.wait_for(loop_task, timeout=10)
    assert server.delivered == [("INC1", "one"), ("INC1", "two")]
    assert seen.count(OUTCOME_DELIVERED) == 2
    box.close()


async def test_run_survives_a_sender_that_raises_anything(tmp_path):
    box = Outbox(tmp_path / "outbox.sqlite3", backoff=Backoff(base=0.01, cap=0.02, floor=0.01))
    calls = []
    done = asyncio.Event()

    async def sender(item):
        calls.append(item.key)
        if len(calls) < 3:
            raise RuntimeError("unexpected")
        done.set()
        return "R1"

    stop = asyncio.Event()
    task = asyncio.ensure_future(box.run(sender, stop, poll_interval=0.05))
    box.enqueue(KIND_NOTE, "INC1", {"text": "n"})
    await asyncio.wait_for(done.wait(), timeout=10)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    [item] = box.items()
    assert item.state == STATE_DELIVERED and len(calls) == 3
    box.close()
