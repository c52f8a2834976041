"""The outbox's store: items written durably before they are sent, in order per target,
claimed one send at a time across processes; drafts; the incident cache for offline notes.
Delivery is :class:`oncall_tui.core.outbox.Outbox`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from oncall_tui.core.outbox_file import (
    _HOST,
    _ITEM_COLUMNS,
    _LIVE_TOKENS,
    _MIGRATIONS,
    _claimant_alive,
    _dt,
    _hhmm,
    _is_damaged,
    _salvage_rows,
    _ts,
)
from oncall_tui.core.outbox_items import (
    ATTENTION_STATES,
    DEFAULT_BUSY_TIMEOUT,
    MAX_PAYLOAD_BYTES,
    OPEN_STATES,
    ROUTE_PRIMARY,
    SCHEMA_VERSION,
    STATE_DELIVERED,
    STATE_DISMISSED,
    STATE_FAILED,
    STATE_NEEDS_ATTENTION,
    STATE_PENDING,
    STATE_SENDING,
    UNDELIVERED_STATES,
    Backoff,
    Clock,
    OutboxError,
    OutboxItem,
    StorageError,
    storage_words,
)
from oncall_tui.core.timefmt import utcnow as utcnow  # re-exported
from oncall_tui.safety import clean_text

log = logging.getLogger("oncall_tui.core.outbox")


class OutboxStore:
    """The outbox's store: opening the file, writing, reading and claiming items, drafts
    and the incident cache. :class:`~oncall_tui.core.outbox.Outbox` adds delivery.

    ``path`` is the database file (its folder is created, private to the user);
    ``":memory:"`` gives a throwaway store for tests. ``clock`` is used when a call is not
    given ``now``; ``rng`` drives the backoff jitter (seed it for deterministic tests).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock = utcnow,
        backoff: Backoff | None = None,
        lease: float = 120.0,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        rng: random.Random | None = None,
        repair: bool = True,
    ) -> None:
        self.path = str(path)
        # What was done to a damaged file when it was opened (None: nothing), in words.
        self.repaired: str | None = None
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.lease = float(lease)
        self._rng = rng or random.Random()
        self._lock = threading.RLock()
        self._token = f"{_HOST}|{os.getpid()}|{uuid.uuid4().hex}"
        _LIVE_TOKENS[self._token] = self
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        if self.path != ":memory:":
            self._prepare_file(Path(self.path))
            if repair:
                self.repaired = _repair_if_damaged(Path(self.path))
        try:
            self._db = sqlite3.connect(
                self.path,
                timeout=busy_timeout,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open the outbox {self.path}: {exc}") from None
        try:
            self._configure(busy_timeout)
            self._migrate()
        except OutboxError:
            self._db.close()
            raise
        except sqlite3.OperationalError as exc:
            self._db.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise OutboxError(
                    f"the outbox {self.path} is busy (another oncall-tui is writing to it "
                    f"for longer than {busy_timeout:.0f}s); try again"
                ) from None
            raise OutboxError(f"cannot use the outbox {self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise OutboxError(
                f"the outbox {self.path} cannot be read ({exc}); it was left untouched."
            ) from None

    # -- setup ---------------------------------------------------------------

    @staticmethod
    def _prepare_file(path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
        except OSError as exc:
            raise OutboxError(f"cannot create the outbox {path}: {exc}") from None

    def _configure(self, busy_timeout: float) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if self.path != ":memory:":
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("outbox %s: WAL not available, using %s journal", self.path, mode)
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")

    def _migrate(self) -> None:
        with self._write():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise OutboxError(
                    f"the outbox {self.path} was written by a newer oncall-tui "
                    f"(schema {version}, this version knows {SCHEMA_VERSION}); "
                    "upgrade oncall-tui to send the notes in it"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {target}")

    def close(self) -> None:
        with self._lock:
            _LIVE_TOKENS.pop(self._token, None)
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Outbox({self.path!r})"

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken before reading so no other process interleaves."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    def _now(self, now: datetime | None) -> datetime:
        return now if now is not None else self.clock()

    # -- rows ----------------------------------------------------------------

    _COLUMNS = (
        "id, key, kind, target, payload, created_at, state, attempts, next_attempt_at, "
        "last_error, remote_id, delivered_at, route, status_text, claimed_by, lease_until"
    )

    @staticmethod
    def _item(row: tuple[Any, ...]) -> OutboxItem:
        try:
            payload = json.loads(row[4])
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {"value": payload}
        return OutboxItem(
            id=row[0],
            key=row[1],
            kind=row[2],
            target=row[3],
            payload=payload,
            created_at=_dt(row[5]) or datetime.fromtimestamp(0, UTC),
            state=row[6],
            attempts=row[7],
            next_attempt_at=_dt(row[8]),
            last_error=row[9] or "",
            remote_id=row[10],
            delivered_at=_dt(row[11]),
            route=row[12] or ROUTE_PRIMARY,
            status_text=row[13] or "",
        )

    @staticmethod
    def _written(row: tuple[Any, ...] | None, key: str) -> tuple[Any, ...]:
        """The row just written or updated for ``key`` (only a broken file loses it)."""
        if row is None:
            raise StorageError(f"The outbox lost item {key} as it was written; try again.")
        return row

    def _get_row(self, key: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._db.execute(
            f"SELECT {self._COLUMNS} FROM items WHERE key = ?", (key,)
        ).fetchone()
        return row

    def get(self, key: str) -> OutboxItem | None:
        with self._lock:
            row = self._get_row(key)
        return self._item(row) if row else None

    # -- writing -------------------------------------------------------------

    def enqueue(
        self,
        kind: str,
        target: str,
        payload: Mapping[str, Any],
        *,
        now: datetime | None = None,
        key: str | None = None,
        clear_draft: str | None = None,
    ) -> OutboxItem:
        """Store a write; it is on disk (fsynced) when this returns.

        ``key`` is generated (uuid4) unless given; giving the key of an item already
        stored returns that item unchanged (so a retried enqueue is harmless).
        ``clear_draft`` names a draft (its target) forgotten in the same transaction: a
        crash can never leave both the note and its draft, which would be sent twice.
        """
        if not kind or not isinstance(kind, str):
            raise ValueError("an outbox item needs a kind")
        if not target or not isinstance(target, str):
            raise ValueError("an outbox item needs a target (incident or alert id)")
        if not isinstance(payload, Mapping):
            raise TypeError("the payload must be a mapping")
        try:
            body = json.dumps(dict(payload), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the payload cannot be stored as JSON: {exc}") from None
        if len(body.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError("the payload is larger than 1 MB")
        at = self._now(now)
        key = key or str(uuid.uuid4())
        try:
            with self._write() as db:
                existing = self._get_row(key)
                if existing is None:
                    db.execute(
                        "INSERT INTO items (key, kind, target, payload, created_at, state, "
                        "next_attempt_at, status_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            key,
                            kind,
                            target,
                            body,
                            _ts(at),
                            STATE_PENDING,
                            _ts(at),
                            "Waiting to send.",
                        ),
                    )
                    existing = self._get_row(key)
                if clear_draft is not None:
                    db.execute("DELETE FROM drafts WHERE target = ?", (clear_draft,))
        except sqlite3.Error as exc:
            raise StorageError(storage_words(exc)) from None
        self.wake()
        return self._item(self._written(existing, key))

    def mark_delivered(
        self,
        key: str,
        remote_id: str | None,
        *,
        now: datetime | None = None,
        how: str = "",
    ) -> OutboxItem | None:
        """Record that the server accepted the item (idempotent)."""
        at = self._now(now)
        text = f"Delivered at {_hhmm(at)}"
        text += f", {how}." if how else "."
        with self._write() as db:
            row = self._get_row(key)
            if row is None:
                return None
            if row[6] != STATE_DELIVERED:
                db.execute(
                    "UPDATE items SET state = ?, remote_id = ?, delivered_at = ?, "
                    "status_text = ?, claimed_by = NULL, lease_until = NULL WHERE key = ?",
                    (
                        STATE_DELIVERED,
                        None if remote_id is None else str(remote_id),
                        _ts(at),
                        text,
                        key,
                    ),
                )
                row = self._get_row(key)
        return self._item(self._written(row, key))

    def mark_failed(
        self,
        key: str,
        error: str,
        retry_at: datetime | None = None,
        *,
        permanent: bool = False,
        attention: bool = False,
        now: datetime | None = None,
    ) -> OutboxItem | None:
        """Record a failed attempt.

        With ``retry_at`` the item goes back to ``pending`` until then; with
        ``permanent=True`` it ends in ``failed``; with ``attention=True`` it ends in
        ``needs_attention``. A delivered item is never moved back.
        """
        at = self._now(now)
        error = clean_text(error, limit=1000)
        if permanent:
            state, text = STATE_FAILED, f"Not sent: {error}. Your text is kept; edit and resend."
        elif attention:
            state, text = STATE_NEEDS_ATTENTION, f"Not sent: {error}. Fix this, then resend."
        else:
            state = STATE_PENDING
            when = retry_at or at
            text = f"Waiting to send; last try failed: {error}. Next try at {_hhmm(when)}."
        next_at = _ts(retry_at) if (retry_at and state == STATE_PENDING) else _ts(at)
        with self._write() as db:
            row = self._get_row(key)
            if row is None:
                return None
            if row[6] not in (STATE_DELIVERED, STATE_DISMISSED):
                db.execute(
                    "UPDATE items SET state = ?, last_error = ?, next_attempt_at = ?, "
                    "status_text = ?, claimed_by = NULL, lease_until = NULL WHERE key = ?",
                    (state, error, next_at, text, key),
                )
                row = self._get_row(key)
        return self._item(self._written(row, key))

    def requeue(self, key: str, *, now: datetime | None = None) -> OutboxItem | None:
        """Send a failed, needs-attention or dismissed item again, now (a waiting one is
        made due now). The item keeps its place: later items of its target still wait
        for it."""
        at = self._now(now)
        with self._write() as db:
            row = self._get_row(key)
            if row is None:
                return None
            if row[6] in (*ATTENTION_STATES, STATE_DISMISSED):
                db.execute(
                    "UPDATE items SET state = ?, next_attempt_at = ?, status_text = ? "
                    "WHERE key = ?",
                    (STATE_PENDING, _ts(at), "Waiting to send (resent by you).", key),
                )
                row = self._get_row(key)
            elif row[6] == STATE_PENDING:
                db.execute("UPDATE items SET next_attempt_at = ? WHERE key = ?", (_ts(at), key))
                row = self._get_row(key)
        self.wake()
        return self._item(self._written(row, key))

    def by_ref(self, ref: str) -> OutboxItem | None:
        """An item by its number (as ``oncall-tui outbox`` shows it) or its key."""
        text = ref.strip().lstrip("#")
        with self._lock:
            row = None
            if text.isdigit():
                row = self._db.execute(
                    f"SELECT {self._COLUMNS} FROM items WHERE id = ?", (int(text),)
                ).fetchone()
            if row is None:
                row = self._get_row(text)
        return self._item(row) if row else None

    # -- drafts ----------------------------------------------------------------

    def save_draft(self, target: str, text: str, *, label: str = "") -> None:
        """Keep what is typed in a note box (an empty text forgets the draft)."""
        try:
            with self._write() as db:
                if text.strip():
                    db.execute(
                        "INSERT INTO drafts (target, label, text, updated_at) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(target) DO UPDATE SET label = excluded.label, "
                        "text = excluded.text, updated_at = excluded.updated_at",
                        (target, label, text, _ts(self.clock())),
                    )
                else:
                    db.execute("DELETE FROM drafts WHERE target = ?", (target,))
        except sqlite3.Error as exc:
            raise StorageError(storage_words(exc)) from None

    def draft(self, target: str) -> str:
        with self._lock:
            row = self._db.execute("SELECT text FROM drafts WHERE target = ?", (target,)).fetchone()
        return str(row[0]) if row else ""

    def drafts(self) -> list[tuple[str, str, str]]:
        """Every kept draft: (target, label, text), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT target, label, text FROM drafts ORDER BY updated_at"
            ).fetchall()
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    # -- the incident cache ----------------------------------------------------

    def cache_incidents(self, rows: Iterable[tuple[str, str, Mapping[str, Any]]]) -> None:
        """Remember the incident list: (id, reference, fields) each; replaces the last."""
        at = _ts(self.clock())
        values = [
            (ident, ref, json.dumps(dict(fields), ensure_ascii=False, default=str), at)
            for ident, ref, fields in rows
        ]
        try:
            with self._write() as db:
                db.execute("DELETE FROM incident_cache")
                db.executemany(
                    "INSERT OR REPLACE INTO incident_cache (id, reference, payload, seen_at) "
                    "VALUES (?, ?, ?, ?)",
                    values,
                )
        except sqlite3.Error as exc:
            log.warning("outbox %s: the incident cache was not updated: %s", self.path, exc)

    def cached_incidents(self) -> list[tuple[str, str, dict[str, Any], datetime]]:
        """The last incident list kept: (id, reference, fields, when it was seen)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, reference, payload, seen_at FROM incident_cache ORDER BY rowid"
            ).fetchall()
        found = []
        for ident, ref, payload, seen in rows:
            try:
                fields = json.loads(payload)
            except ValueError:
                fields = {}
            found.append(
                (
                    str(ident),
                    str(ref),
                    fields if isinstance(fields, dict) else {},
                    _dt(seen) or datetime.fromtimestamp(0, UTC),
                )
            )
        return found

    def cached_id(self, reference: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM incident_cache WHERE reference = ? COLLATE NOCASE", (reference,)
            ).fetchone()
        return str(row[0]) if row else None

    def retarget(self, old: str, new: str) -> int:
        """Point every undelivered item of ``old`` (a reference queued offline) at ``new``
        (the incident's id, once known). Returns how many."""
        with self._write() as db:
            return db.execute(
                f"UPDATE items SET target = ? WHERE target = ? "
                f"AND state IN ({', '.join('?' * len(UNDELIVERED_STATES))})",
                (new, old, *UNDELIVERED_STATES),
            ).rowcount

    def dismiss(self, key: str) -> OutboxItem | None:
        """Put aside (skip) a failed or needs-attention item: it stays in the file, and
        the items held behind it go on."""
        with self._write() as db:
            row = self._get_row(key)
            if row is None:
                return None
            if row[6] in ATTENTION_STATES:
                db.execute(
                    "UPDATE items SET state = ?, status_text = ? WHERE key = ?",
                    (STATE_DISMISSED, f"Skipped by you; never sent. {row[13]}", key),
                )
                row = self._get_row(key)
        self.wake()
        return self._item(self._written(row, key))

    def retry_now(self, *, now: datetime | None = None) -> int:
        """Make every pending item due now (the user pressed "retry"). Returns how many."""
        at = _ts(self._now(now))
        with self._write() as db:
            count = db.execute(
                "UPDATE items SET next_attempt_at = ? WHERE state = ? AND next_attempt_at > ?",
                (at, STATE_PENDING, at),
            ).rowcount
        self.wake()
        return count

    def prune_delivered(self, before: datetime) -> int:
        """Forget delivered and dismissed items older than ``before``. Returns how many."""
        with self._write() as db:
            return db.execute(
                "DELETE FROM items WHERE state IN (?, ?) "
                "AND COALESCE(delivered_at, created_at) < ?",
                (STATE_DELIVERED, STATE_DISMISSED, _ts(before)),
            ).rowcount

    # -- reading -------------------------------------------------------------

    def items(
        self,
        *,
        target: str | None = None,
        states: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[OutboxItem]:
        """Items in the order they were enqueued, optionally filtered."""
        where: list[str] = []
        args: list[Any] = []
        if target is not None:
            where.append("target = ?")
            args.append(target)
        for column, values in (("state", states), ("kind", kinds)):
            if values is not None:
                values = list(values)
                if not values:
                    return []
                where.append(f"{column} IN ({', '.join('?' * len(values))})")
                args.extend(values)
        sql = f"SELECT {self._COLUMNS} FROM items"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [self._item(r) for r in rows]

    def pending(self, target: str | None = None) -> list[OutboxItem]:
        """Items still on their way (``pending`` or ``sending``)."""
        return self.items(target=target, states=OPEN_STATES)

    def undelivered(self, target: str | None = None) -> list[OutboxItem]:
        """Everything not delivered and not dismissed: on its way, or waiting on the user."""
        return self.items(target=target, states=UNDELIVERED_STATES)

    def count_pending(self) -> int:
        return self._count_in(OPEN_STATES)

    def count_attention(self) -> int:
        return self._count_in(ATTENTION_STATES)

    def _count_in(self, states: tuple[str, ...]) -> int:
        """How many items are in one of ``states``."""
        marks = ", ".join("?" * len(states))
        with self._lock:
            row = self._db.execute(
                f"SELECT COUNT(*) FROM items WHERE state IN ({marks})", states
            ).fetchone()
        return int(row[0])

    def _heads(self) -> list[tuple[Any, ...]]:
        """The oldest undelivered item of every target that is on its way.

        A refused item (failed or needs attention) heads its target too: it holds the
        later items of that target until the user resends it or skips it, so notes
        never arrive out of order.
        """
        return [
            row
            for row in self._db.execute(
                f"SELECT {self._COLUMNS} FROM items AS i WHERE i.id = "
                "(SELECT MIN(j.id) FROM items AS j WHERE j.target = i.target "
                "AND j.state IN (?, ?, ?, ?)) ORDER BY i.id",
                UNDELIVERED_STATES,
            ).fetchall()
            if row[6] in OPEN_STATES
        ]

    def held(self, target: str | None = None) -> list[tuple[OutboxItem, OutboxItem]]:
        """Items waiting behind a refused one of the same target: (held, refused)."""
        found: list[tuple[OutboxItem, OutboxItem]] = []
        blocker: dict[str, OutboxItem] = {}
        for item in self.undelivered(target):
            if item.needs_user:
                blocker.setdefault(item.target, item)
            elif item.target in blocker:
                found.append((item, blocker[item.target]))
        return found

    @staticmethod
    def _claimable(row: tuple[Any, ...], at: float) -> bool:
        state, next_at, claimed_by, lease_until = row[6], row[8], row[14], row[15]
        if state == STATE_PENDING:
            return bool(next_at <= at)
        # sending: the claimant crashed, or its lease ran out
        if lease_until is not None and lease_until <= at:
            return True
        return _claimant_alive(claimed_by) is False

    def due(self, now: datetime | None = None) -> list[OutboxItem]:
        """Items that may be sent now: at most one per target, oldest first."""
        at = _ts(self._now(now))
        with self._lock:
            rows = self._heads()
        return [self._item(r) for r in rows if self._claimable(r, at)]

    def next_due_at(self) -> datetime | None:
        """When the earliest waiting head of a queue becomes due (None: nothing waits)."""
        with self._lock:
            rows = self._heads()
        times = [r[8] if r[6] == STATE_PENDING else (r[15] or r[8]) for r in rows]
        return _dt(min(times)) if times else None

    def recover(self, now: datetime | None = None) -> int:
        """Return to ``pending`` the items whose sender died mid-send. Returns how many.

        Safe because each resend carries the same idempotency key. Items claimed by a
        live process (another window on the same file) are left alone until their lease
        runs out.
        """
        at = self._now(now)
        count = 0
        with self._write() as db:
            rows = db.execute(
                f"SELECT {self._COLUMNS} FROM items WHERE state = ?", (STATE_SENDING,)
            ).fetchall()
            for row in rows:
                if self._claimable(row, _ts(at)):
                    db.execute(
                        "UPDATE items SET state = ?, next_attempt_at = ?, claimed_by = NULL, "
                        "lease_until = NULL, status_text = ? WHERE id = ? AND state = ?",
                        (
                            STATE_PENDING,
                            _ts(at),
                            "Waiting to send (the last send was interrupted).",
                            row[0],
                            STATE_SENDING,
                        ),
                    )
                    count += 1
        return count

    def wake(self) -> None:
        """Tell a running :meth:`run` loop to look at the queue now (thread-safe)."""
        loop, event = self._loop, self._wake
        if loop is None or event is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)


def _repair_if_damaged(path: Path) -> str | None:
    """Move a damaged outbox file aside (with a timestamp), start a new one holding every
    row that could still be read, and say so in words. None when the file is sound."""
    try:
        if not _is_damaged(path):
            return None
    except OSError:
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    try:
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            extra = Path(f"{path}{suffix}")
            if extra.exists():
                os.replace(extra, Path(f"{aside}{suffix}"))
    except OSError as exc:
        raise OutboxError(
            f"the outbox {path} is damaged and cannot be moved aside ({exc}); "
            "move it yourself to start a new one"
        ) from None
    items, drafts, lost = _salvage_rows(aside)
    fresh = OutboxStore(path, repair=False)
    try:
        with fresh._write() as db:
            for row in items:
                db.execute(
                    f"INSERT OR IGNORE INTO items ({_ITEM_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            # anything that was being sent is sent again (same key: never twice)
            db.execute("UPDATE items SET state = ? WHERE state = ?", (STATE_PENDING, STATE_SENDING))
            for row in drafts:
                db.execute(
                    "INSERT OR REPLACE INTO drafts (target, label, text, updated_at) "
                    "VALUES (?, ?, ?, ?)",
                    row,
                )
    finally:
        fresh.close()
    waiting = sum(1 for r in items if r[6] in (*UNDELIVERED_STATES,))
    words = (
        f"The outbox file was damaged. It was moved to {aside} and a new one started with "
        f"the {len(items)} item(s) that could still be read ({waiting} not yet delivered)"
    )
    if drafts:
        words += f" and {len(drafts)} draft(s)"
    words += "."
    if lost:
        words += f" {lost} item(s) could not be read; the old file is kept for inspection."
    log.warning("%s", words)
    return words
