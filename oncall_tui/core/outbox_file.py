"""The outbox's sqlite file: its schema and migrations, salvaging a damaged file, whether
the process that claimed an item is still alive, and where the file lives by default."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oncall_tui.core.outbox_items import (
    DEFAULT_BUSY_TIMEOUT,
    SCHEMA_VERSION,
)
from oncall_tui.core.timefmt import utcnow as utcnow  # re-exported

log = logging.getLogger("oncall_tui.core.outbox")

# ------------------------------------------------------------------ process liveness

_HOST = socket.gethostname()
_LIVE_TOKENS: weakref.WeakValueDictionary[str, object] = weakref.WeakValueDictionary()


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


def default_path() -> Path:
    """Where the outbox lives by default: the user's data dir, ``outbox.sqlite3``."""
    from oncall_tui.config import default_data_dir  # imported when needed, not at start

    return default_data_dir() / "outbox.sqlite3"
