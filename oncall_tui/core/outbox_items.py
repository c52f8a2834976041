"""What the outbox keeps and how a failed send is judged: kinds, states and routes, the
item and a delivery's outcome, the backoff, the error verdicts, and the payloads of a note
and an update."""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
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

log = logging.getLogger("oncall_tui.core.outbox")

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
