"""The durable write queue: nothing the user types is lost.

Every note and incident update is written to a local sqlite file *before* anything is
sent, then delivered by :meth:`Outbox.deliver_due` / :meth:`Outbox.run` until the API
accepts it. Each item carries an idempotency key generated once, when it is enqueued,
and every send of that item uses the same key, so a resend after a crash, a timeout or a
lost response gives back the object the server already made instead of a duplicate.

Guarantees, and how they are kept:

* **Durable before it returns.** :meth:`Outbox.enqueue` commits with
  ``synchronous=FULL`` (WAL mode, fsync on commit) before returning the item.
* **Exactly once.** A send is claimed (``sending``, with a lease and the claiming
  process) in one transaction, sent, then marked ``delivered`` with the server's id in
  another. A process killed between the two leaves the item in ``sending``; the next
  process to open the file sees the claimant is gone (or its lease ran out) and sends it
  again with the same key. The server de-duplicates by key.
* **In order per target.** Only the oldest unfinished item (``pending``/``sending``) of a
  target (an incident or alert id) is ever sent, and only while no other send for that
  target is in flight, so a note is never delivered before an earlier one for the same
  incident, across processes too. Items that ended in ``failed`` or ``needs_attention``
  do not hold the queue up: they are kept and shown to the user, never dropped.
* **Retried until accepted.** Network errors, 5xx, 429 and unreadable answers are retried
  with capped exponential backoff and jitter, honouring the error's ``retry_after``. There
  is no attempt limit: the network may be down for hours.
* **Refusals surfaced.** A validation error (400/422) ends in ``failed``; a missing key
  permission, a vanished incident, a conflict or a missing endpoint with no fallback ends
  in ``needs_attention``. Both keep the payload and say, in words, what happened and what
  to do; :meth:`Outbox.requeue` sends one again, :meth:`Outbox.dismiss` puts it aside.
* **Fallback for newer endpoints.** When the sender raises a "capability unavailable"
  error (a :class:`~oncall_tui.backends.http.NotFound` subclass raised when a newer
  endpoint answers 404), a caller-supplied fallback can deliver the item another way
  (e.g. as an incident update); the item remembers the route and says what happened.
  The one sender and fallback for incident.io are
  :meth:`oncall_tui.core.incidents.IncidentActions.send` and ``reroute``.
* **Two processes, one file.** WAL, a busy timeout, ``BEGIN IMMEDIATE`` for every
  read-modify-write, and claims that name the claiming process.

The store is synchronous sqlite (commits are small); the delivery loop is asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import random
import socket
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from oncall_tui.backends.http import (
    ApiError,
    AuthError,
    Conflict,
    InvalidRequest,
    MalformedResponse,
    NotFound,
)
from oncall_tui.core.timefmt import utcnow as utcnow  # re-exported
from oncall_tui.safety import clean_text

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------- vocabulary

KIND_NOTE = "note"  # a free-form note on an incident timeline
KIND_UPDATE = "update"  # an incident update: message and/or status and/or severity

STATE_PENDING = "pending"  # waiting to be sent (maybe after a failed attempt)
STATE_SENDING = "sending"  # claimed by a process that is sending it now
STATE_DELIVERED = "delivered"  # the server accepted it; remote_id is its id
STATE_FAILED = "failed"  # refused for good (validation); kept for the user
STATE_NEEDS_ATTENTION = "needs_attention"  # something outside the item must change first
STATE_DISMISSED = "dismissed"  # put aside by the user after a failure; kept for the record

STATES = (
    STATE_PENDING,
    STATE_SENDING,
    STATE_DELIVERED,
    STATE_FAILED,
    STATE_NEEDS_ATTENTION,
    STATE_DISMISSED,
)
OPEN_STATES = (STATE_PENDING, STATE_SENDING)  # still on their way
ATTENTION_STATES = (STATE_FAILED, STATE_NEEDS_ATTENTION)  # the user should look
UNDELIVERED_STATES = OPEN_STATES + ATTENTION_STATES

ROUTE_PRIMARY = "primary"
ROUTE_FALLBACK = "fallback"

SCHEMA_VERSION = 2
MAX_PAYLOAD_BYTES = 1024 * 1024
DEFAULT_BUSY_TIMEOUT = 10.0

Clock = Callable[[], datetime]
Sender = Callable[["OutboxItem"], Awaitable[str | None]]


class OutboxError(Exception):
    """The outbox file cannot be used (unreadable, from a newer version, …)."""


class StorageError(OutboxError):
    """A write to the outbox file failed (disk full, read-only file system, I/O error).

    The message says why, in words, and what to do; nothing was stored.
    """


def storage_words(exc: BaseException) -> str:
    """Why a write to the local file failed and what to do, in words."""
    text = str(exc).strip() or type(exc).__name__
    low = text.lower()
    if "full" in low or "no space" in low:
        return (
            f"the disk is full ({text}); free some space on the disk that holds "
            "oncall-tui's data, then try again"
        )
    if "readonly" in low or "read-only" in low or "read only" in low:
        return (
            f"the file system is read-only ({text}); make the data folder writable, then try again"
        )
    if "malformed" in low or "not a database" in low or "corrupt" in low:
        return f"the outbox file is damaged ({text}); restart oncall-tui to repair it"
    return f"the outbox file cannot be written ({text}); check the disk, then try again"


# ------------------------------------------------------------------------- the item


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One queued write. ``payload`` is the JSON object given to :meth:`Outbox.enqueue`.

    ``status_text`` says in words where the item stands ("Delivered as an incident
    update, because …", "Not sent: incident.io refused it: …").
    """

    id: int
    key: str  # the idempotency key, fixed at enqueue time
    kind: str
    target: str
    payload: Mapping[str, Any]
    created_at: datetime
    state: str
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str = ""
    remote_id: str | None = None
    delivered_at: datetime | None = None
    route: str = ROUTE_PRIMARY
    status_text: str = ""

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def needs_user(self) -> bool:
        return self.state in ATTENTION_STATES


@dataclass(frozen=True, slots=True)
class Rerouted:
    """What a fallback returns: the server's id and how the item got there, in words."""

    remote_id: str | None
    how: str  # e.g. "posted as an incident update"


Fallback = Callable[[OutboxItem, BaseException], Awaitable[Rerouted]]


# Outcomes of one delivery attempt, as reported by deliver_due.
OUTCOME_DELIVERED = "delivered"
OUTCOME_REROUTED = "rerouted"
OUTCOME_RETRYING = "retrying"
OUTCOME_FAILED = "failed"
OUTCOME_NEEDS_ATTENTION = "needs_attention"


@dataclass(frozen=True, slots=True)
class Delivery:
    """The result of one attempt: the item as it now stands and what happened."""

    item: OutboxItem
    outcome: str
    message: str


# ------------------------------------------------------------------------- backoff


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter and a cap: every resend wait is within
    ``[floor, cap]``, by default [1 s, 5 min].

    Attempt ``n`` (1-based) waits a random time in ``[d/2, d]`` where
    ``d = min(cap, base * 2**(n-1))``. A ``retry_after`` from the server wins, bounded by
    ``max_retry_after``, and never goes below ``floor``: ``Retry-After: 0`` or a negative
    one must not resend in a hot loop, and one long ``Retry-After`` must not hold notes
    for an hour. ``outbox --send`` and the resend key ignore the wait altogether
    (:meth:`Outbox.retry_now`).
    """

    base: float = 2.0
    cap: float = 300.0
    max_retry_after: float = 300.0
    floor: float = 1.0

    def delay(
        self, attempts: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        if retry_after is not None and not math.isnan(retry_after):
            return max(self.floor, min(float(retry_after), self.max_retry_after))
        exponent = min(max(attempts, 1) - 1, 60)
        ceiling = min(self.cap, self.base * 2.0**exponent)
        r = (rng or random).uniform(ceiling / 2, ceiling)
        return max(self.floor, r)


# ------------------------------------------------------------- error classification

VERDICT_RETRY = "retry"
VERDICT_FAILED = "failed"
VERDICT_ATTENTION = "attention"
VERDICT_UNAVAILABLE = "unavailable"


def is_capability_unavailable(exc: BaseException) -> bool:
    """True for the "this endpoint does not exist on this account" error.

    The incident.io client raises ``CapabilityUnavailable`` (a :class:`NotFound`) when a
    newer endpoint answers 404. Matched by class name or a ``capability_unavailable``
    attribute so the core does not depend on one backend module.
    """
    if getattr(exc, "capability_unavailable", False):
        return True
    return isinstance(exc, NotFound) and any(
        cls.__name__ == "CapabilityUnavailable" for cls in type(exc).__mro__
    )


def _error_text(exc: BaseException) -> str:
    text = clean_text(str(exc), limit=500)
    if not text:
        text = type(exc).__name__
    return text


def classify(exc: BaseException) -> tuple[str, str]:
    """Decide what a send error means: (verdict, words for the user)."""
    text = _error_text(exc)
    if is_capability_unavailable(exc):
        return VERDICT_UNAVAILABLE, f"this account does not offer the endpoint ({text})"
    if isinstance(exc, ApiError):
        if exc.retryable or isinstance(exc, MalformedResponse):
            return VERDICT_RETRY, text
        if isinstance(exc, InvalidRequest):
            return VERDICT_FAILED, f"refused: {text}"
        if isinstance(exc, AuthError):
            return VERDICT_ATTENTION, f"the API key was refused or lacks permission: {text}"
        if isinstance(exc, NotFound):
            return VERDICT_ATTENTION, f"not found (was it deleted?): {text}"
        if isinstance(exc, Conflict):
            return VERDICT_ATTENTION, f"conflict: {text}"
        return VERDICT_FAILED, f"refused: {text}"
    if isinstance(exc, OSError | TimeoutError | ConnectionError):
        return VERDICT_RETRY, text
    # A bug or an unmapped library error. Never drop the item: keep retrying, slowly,
    # with the error visible.
    return VERDICT_RETRY, f"unexpected error ({type(exc).__name__}): {text}"


# ------------------------------------------------------------------ process liveness

_HOST = socket.gethostname()
_LIVE_TOKENS: weakref.WeakValueDictionary[str, Outbox] = weakref.WeakValueDictionary()


def _claimant_alive(claimed_by: str | None) -> bool | None:
    """Whether the process named in a claim still runs: True, False, or None (unknown)."""
    if not claimed_by:
        return False
    parts = claimed_by.rsplit("|", 2)
    if len(parts) != 3:
        return None
    host, pid_text, _ = parts
    if host != _HOST:
        return None
    try:
        pid = int(pid_text)
    except ValueError:
        return None
    if pid == os.getpid():
        # this process (or an earlier one that had our pid): alive if the Outbox is open
        return claimed_by in _LIVE_TOKENS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return None
    return True


# ---------------------------------------------------------------------------- schema

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE IF NOT EXISTS items (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        key             TEXT    NOT NULL UNIQUE,
        kind            TEXT    NOT NULL,
        target          TEXT    NOT NULL,
        payload         TEXT    NOT NULL,
        created_at      REAL    NOT NULL,
        state           TEXT    NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL    NOT NULL,
        last_error      TEXT    NOT NULL DEFAULT '',
        remote_id       TEXT,
        delivered_at    REAL,
        route           TEXT    NOT NULL DEFAULT 'primary',
        status_text     TEXT    NOT NULL DEFAULT '',
        claimed_by      TEXT,
        lease_until     REAL
    );
    CREATE INDEX IF NOT EXISTS items_by_target ON items (target, state, id);
    CREATE INDEX IF NOT EXISTS items_by_state ON items (state, next_attempt_at);
    """,
    # Drafts: what is typed in a note box, saved as it is typed, one per incident.
    # The incident cache: the last incident list, so notes can be taken offline.
    2: """
    CREATE TABLE IF NOT EXISTS drafts (
        target      TEXT PRIMARY KEY,
        label       TEXT NOT NULL DEFAULT '',
        text        TEXT NOT NULL,
        updated_at  REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS incident_cache (
        id          TEXT PRIMARY KEY,
        reference   TEXT NOT NULL,
        payload     TEXT NOT NULL,
        seen_at     REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS incident_cache_by_ref ON incident_cache (reference);
    """,
}


def _ts(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _dt(value: float | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC)


def _hhmm(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%H:%M:%S UTC")


# ---------------------------------------------------------------------- damaged files

_ITEM_COLUMNS = (
    "id, key, kind, target, payload, created_at, state, attempts, next_attempt_at, "
    "last_error, remote_id, delivered_at, route, status_text"
)


def _is_damaged(path: Path) -> bool:
    """True when sqlite finds the file unreadable or inconsistent (quick check)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=DEFAULT_BUSY_TIMEOUT)
    except sqlite3.Error:
        return True
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            return False  # a newer version's file: refused later, never touched
        rows = db.execute("PRAGMA quick_check").fetchall()
        return [tuple(r) for r in rows] != [("ok",)]
    except sqlite3.OperationalError as exc:
        # busy or locked is not damage; a read-only folder without the WAL index is not
        text = str(exc).lower()
        return not ("locked" in text or "busy" in text or "readonly" in text or "unable" in text)
    except sqlite3.DatabaseError:
        return True
    finally:
        db.close()


def _salvage_rows(path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    """Every item row (and draft) that can still be read from a damaged file, and how
    many rows were lost (as far as can be told)."""
    items: list[tuple[Any, ...]] = []
    drafts: list[tuple[Any, ...]] = []
    lost = 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return items, drafts, 0
    try:
        try:
            items = db.execute(f"SELECT {_ITEM_COLUMNS} FROM items ORDER BY id").fetchall()
        except sqlite3.DatabaseError:
            # A damaged page: read the rows one by one, keeping every one that reads.
            items = []
            top = 0
            for sql in (
                "SELECT seq FROM sqlite_sequence WHERE name = 'items'",
                "SELECT MAX(id) FROM items",
            ):
                try:
                    row = db.execute(sql).fetchone()
                    top = max(top, int(row[0] or 0)) if row else top
                except (sqlite3.DatabaseError, TypeError, ValueError):
                    continue
            misses = 0
            ident = 0
            while ident < max(top, 1) or (top == 0 and misses < 2000):
                ident += 1
                try:
                    row = db.execute(
                        f"SELECT {_ITEM_COLUMNS} FROM items WHERE id = ?", (ident,)
                    ).fetchone()
                except sqlite3.DatabaseError:
                    lost += 1
                    misses += 1
                    continue
                if row is None:
                    misses += 1
                    continue
                misses = 0
                items.append(row)
        try:
            drafts = db.execute("SELECT target, label, text, updated_at FROM drafts").fetchall()
        except sqlite3.DatabaseError:
            drafts = []
    finally:
        db.close()
    return items, drafts, lost


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
    fresh = Outbox(path, repair=False)
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


# ---------------------------------------------------------------------------- outbox


class Outbox:
    """A durable, ordered, exactly-once write queue in one sqlite file.

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

    def __enter__(self) -> Outbox:
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
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM items WHERE state IN (?, ?)", OPEN_STATES
            ).fetchone()
        return int(row[0])

    def count_attention(self) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM items WHERE state IN (?, ?)", ATTENTION_STATES
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

    # -- delivery ------------------------------------------------------------

    def _claim(self, at: datetime, exclude: set[str], limit: int) -> list[OutboxItem]:
        claimed: list[OutboxItem] = []
        stamp = _ts(at)
        with self._write() as db:
            for row in self._heads():
                if len(claimed) >= limit:
                    break
                if row[1] in exclude or not self._claimable(row, stamp):
                    continue
                db.execute(
                    "UPDATE items SET state = ?, attempts = attempts + 1, claimed_by = ?, "
                    "lease_until = ?, status_text = ? WHERE id = ?",
                    (
                        STATE_SENDING,
                        self._token,
                        stamp + self.lease,
                        f"Sending (attempt {row[7] + 1})…",
                        row[0],
                    ),
                )
                claimed.append(self._item(self._written(self._get_row(row[1]), row[1])))
        return claimed

    def _release(self, item: OutboxItem) -> OutboxItem | None:
        with self._write() as db:
            db.execute(
                "UPDATE items SET state = ?, claimed_by = NULL, lease_until = NULL, "
                "status_text = ? WHERE key = ? AND state = ?",
                (STATE_PENDING, "Waiting to send.", item.key, STATE_SENDING),
            )
            row = self._get_row(item.key)
        return self._item(row) if row else None

    def _set_route(self, key: str, route: str) -> None:
        with self._write() as db:
            db.execute("UPDATE items SET route = ? WHERE key = ?", (route, key))

    async def _deliver_one(
        self, item: OutboxItem, sender: Sender, fallback: Fallback | None, at: datetime
    ) -> Delivery:
        try:
            if item.route == ROUTE_FALLBACK and fallback is not None:
                return await self._via_fallback(item, fallback, None, at)
            try:
                remote_id = await sender(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                verdict, words = classify(exc)
                if verdict == VERDICT_UNAVAILABLE and fallback is not None:
                    self._set_route(item.key, ROUTE_FALLBACK)
                    return await self._via_fallback(item, fallback, exc, at)
                return self._record_failure(item, exc, verdict, words, at)
            done = self.mark_delivered(item.key, remote_id, now=at)
            return Delivery(done or item, OUTCOME_DELIVERED, done.status_text if done else "")
        except asyncio.CancelledError:
            # Stopped mid-send: the server may or may not have it. Hand the item back;
            # the next send carries the same key, so it cannot be duplicated.
            self._release(item)
            raise

    async def _via_fallback(
        self,
        item: OutboxItem,
        fallback: Fallback,
        cause: BaseException | None,
        at: datetime,
    ) -> Delivery:
        if cause is None:
            cause = NotFound("the primary endpoint is not available on this account")
        try:
            rerouted = await fallback(item, cause)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            verdict, words = classify(exc)
            if verdict == VERDICT_UNAVAILABLE:
                verdict = VERDICT_ATTENTION
                words = (
                    "neither the usual endpoint nor the fallback is available on this account "
                    f"({_error_text(exc)})"
                )
            return self._record_failure(item, exc, verdict, words, at)
        how = clean_text(rerouted.how, limit=300) or "by a fallback route"
        done = self.mark_delivered(item.key, rerouted.remote_id, now=at, how=how)
        return Delivery(done or item, OUTCOME_REROUTED, done.status_text if done else how)

    def _record_failure(
        self, item: OutboxItem, exc: BaseException, verdict: str, words: str, at: datetime
    ) -> Delivery:
        if verdict == VERDICT_RETRY:
            retry_after = getattr(exc, "retry_after", None)
            if not isinstance(retry_after, int | float):
                retry_after = None
            delay = self.backoff.delay(item.attempts, retry_after, self._rng)
            retry_at = at + timedelta(seconds=delay)
            done = self.mark_failed(item.key, words, retry_at, now=at)
            outcome = OUTCOME_RETRYING
        elif verdict == VERDICT_FAILED:
            done = self.mark_failed(item.key, words, permanent=True, now=at)
            outcome = OUTCOME_FAILED
        else:  # attention, or unavailable without a fallback
            done = self.mark_failed(item.key, words, attention=True, now=at)
            outcome = OUTCOME_NEEDS_ATTENTION
        if verdict != VERDICT_RETRY:
            log.warning("outbox item %s (%s) not sent: %s", item.key, item.kind, words)
        return Delivery(done or item, outcome, done.status_text if done else words)

    async def deliver_due(
        self,
        sender: Sender,
        now: datetime | None = None,
        *,
        fallback: Fallback | None = None,
        concurrency: int = 4,
    ) -> list[Delivery]:
        """Send everything due at ``now``, each target's items in order.

        Up to ``concurrency`` targets are sent at once; each target's next item follows as
        soon as the one before it is delivered. Each item is tried at most once per call.
        """
        at = self._now(now)
        attempted: set[str] = set()
        results: list[Delivery] = []
        while True:
            batch = self._claim(at, attempted, max(1, concurrency))
            if not batch:
                return results
            attempted.update(item.key for item in batch)
            # If this is cancelled, gather cancels every send and each hands its item back.
            results.extend(
                await asyncio.gather(
                    *(self._deliver_one(item, sender, fallback, at) for item in batch)
                )
            )

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

    async def run(
        self,
        sender: Sender,
        stop_event: asyncio.Event,
        clock: Clock | None = None,
        *,
        fallback: Fallback | None = None,
        poll_interval: float = 5.0,
        on_delivery: Callable[[list[Delivery]], None] | None = None,
    ) -> None:
        """Deliver until ``stop_event`` is set.

        Wakes when an item becomes due, when :meth:`enqueue`/:meth:`wake` is called in this
        process, and every ``poll_interval`` seconds (to pick up items written by another
        process). Errors never end the loop. ``on_delivery`` gets each non-empty batch of
        results (to refresh a pending-count badge, or tell the user a note went out).
        """
        clock = clock or self.clock
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            self.recover(clock())
        except (sqlite3.Error, OutboxError) as exc:
            log.warning("outbox %s: recovery failed: %s", self.path, exc)
        try:
            while not stop_event.is_set():
                self._wake.clear()
                try:
                    results = await self.deliver_due(sender, clock(), fallback=fallback)
                except sqlite3.Error as exc:  # e.g. locked for longer than the busy timeout
                    log.warning("outbox %s: %s", self.path, exc)
                    await _wait_any(stop_event, self._wake, poll_interval)
                    continue
                if results and on_delivery is not None:
                    try:
                        on_delivery(results)
                    except Exception:
                        log.exception("outbox on_delivery callback failed")
                timeout = poll_interval
                try:
                    next_at = self.next_due_at()
                except sqlite3.Error:
                    next_at = None
                if next_at is not None:
                    wait = (next_at - clock()).total_seconds()
                    timeout = min(poll_interval, max(0.01, wait))
                await _wait_any(stop_event, self._wake, timeout)
        finally:
            self._wake = None
            self._loop = None


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=max(timeout, 0.0), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


# ----------------------------------------------------------------- payload helpers


def note_payload(text: str, *, at: datetime, title: str | None = None) -> dict[str, Any]:
    """The payload of a ``note``: the user's text and when they wrote it (UTC, ISO 8601).

    ``title`` defaults to the first line of ``text`` (what incident.io shows in the
    timeline); the whole text goes in the description when it has more than one line.
    """
    first = text.strip().splitlines()[0] if text.strip() else ""
    return {
        "text": text,
        "title": title if title is not None else first,
        "timestamp": at.astimezone(UTC).isoformat(),
    }


def update_payload(
    *,
    at: datetime,
    message: str = "",
    status_id: str | None = None,
    status_name: str | None = None,
    severity_id: str | None = None,
    severity_name: str | None = None,
) -> dict[str, Any]:
    """The payload of an ``update``: message and/or new status and/or new severity.

    The ids are what the API takes; the names are kept so the timeline can show the
    pending change in words before the server has it.
    """
    if not (message.strip() or status_id or severity_id):
        raise ValueError("an update needs a message, a new status or a new severity")
    payload: dict[str, Any] = {"message": message, "timestamp": at.astimezone(UTC).isoformat()}
    if status_id:
        payload["status_id"] = status_id
        payload["status_name"] = status_name or ""
    if severity_id:
        payload["severity_id"] = severity_id
        payload["severity_name"] = severity_name or ""
    return payload


def default_path() -> Path:
    """Where the outbox lives by default: the user's data dir, ``outbox.sqlite3``."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("oncall-tui")) / "outbox.sqlite3"
