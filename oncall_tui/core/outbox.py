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

The item and its verdicts live in :mod:`oncall_tui.core.outbox_items`, the file in
:mod:`oncall_tui.core.outbox_file`, the store in :mod:`oncall_tui.core.outbox_store`; this
module adds delivery and re-exports every name.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from oncall_tui.backends.http import (
    NotFound,
)
from oncall_tui.core.outbox_file import _HOST as _HOST
from oncall_tui.core.outbox_file import _ITEM_COLUMNS as _ITEM_COLUMNS
from oncall_tui.core.outbox_file import _LIVE_TOKENS as _LIVE_TOKENS
from oncall_tui.core.outbox_file import _MIGRATIONS as _MIGRATIONS
from oncall_tui.core.outbox_file import _claimant_alive as _claimant_alive
from oncall_tui.core.outbox_file import _dt as _dt
from oncall_tui.core.outbox_file import _hhmm as _hhmm
from oncall_tui.core.outbox_file import _is_damaged as _is_damaged
from oncall_tui.core.outbox_file import _salvage_rows as _salvage_rows
from oncall_tui.core.outbox_file import _ts as _ts
from oncall_tui.core.outbox_file import default_path as default_path
from oncall_tui.core.outbox_items import ATTENTION_STATES as ATTENTION_STATES
from oncall_tui.core.outbox_items import DEFAULT_BUSY_TIMEOUT as DEFAULT_BUSY_TIMEOUT
from oncall_tui.core.outbox_items import KIND_NOTE as KIND_NOTE
from oncall_tui.core.outbox_items import KIND_UPDATE as KIND_UPDATE
from oncall_tui.core.outbox_items import MAX_PAYLOAD_BYTES as MAX_PAYLOAD_BYTES
from oncall_tui.core.outbox_items import OPEN_STATES as OPEN_STATES
from oncall_tui.core.outbox_items import OUTCOME_DELIVERED as OUTCOME_DELIVERED
from oncall_tui.core.outbox_items import OUTCOME_FAILED as OUTCOME_FAILED
from oncall_tui.core.outbox_items import OUTCOME_NEEDS_ATTENTION as OUTCOME_NEEDS_ATTENTION
from oncall_tui.core.outbox_items import OUTCOME_REROUTED as OUTCOME_REROUTED
from oncall_tui.core.outbox_items import OUTCOME_RETRYING as OUTCOME_RETRYING
from oncall_tui.core.outbox_items import ROUTE_FALLBACK as ROUTE_FALLBACK
from oncall_tui.core.outbox_items import ROUTE_PRIMARY as ROUTE_PRIMARY
from oncall_tui.core.outbox_items import SCHEMA_VERSION as SCHEMA_VERSION
from oncall_tui.core.outbox_items import STATE_DELIVERED as STATE_DELIVERED
from oncall_tui.core.outbox_items import STATE_DISMISSED as STATE_DISMISSED
from oncall_tui.core.outbox_items import STATE_FAILED as STATE_FAILED
from oncall_tui.core.outbox_items import STATE_NEEDS_ATTENTION as STATE_NEEDS_ATTENTION
from oncall_tui.core.outbox_items import STATE_PENDING as STATE_PENDING
from oncall_tui.core.outbox_items import STATE_SENDING as STATE_SENDING
from oncall_tui.core.outbox_items import STATES as STATES
from oncall_tui.core.outbox_items import UNDELIVERED_STATES as UNDELIVERED_STATES
from oncall_tui.core.outbox_items import VERDICT_ATTENTION as VERDICT_ATTENTION
from oncall_tui.core.outbox_items import VERDICT_FAILED as VERDICT_FAILED
from oncall_tui.core.outbox_items import VERDICT_RETRY as VERDICT_RETRY
from oncall_tui.core.outbox_items import VERDICT_UNAVAILABLE as VERDICT_UNAVAILABLE
from oncall_tui.core.outbox_items import Backoff as Backoff
from oncall_tui.core.outbox_items import Clock as Clock
from oncall_tui.core.outbox_items import Delivery as Delivery
from oncall_tui.core.outbox_items import Fallback as Fallback
from oncall_tui.core.outbox_items import OutboxError as OutboxError
from oncall_tui.core.outbox_items import OutboxItem as OutboxItem
from oncall_tui.core.outbox_items import Rerouted as Rerouted
from oncall_tui.core.outbox_items import Sender as Sender
from oncall_tui.core.outbox_items import StorageError as StorageError
from oncall_tui.core.outbox_items import _error_text as _error_text
from oncall_tui.core.outbox_items import classify as classify
from oncall_tui.core.outbox_items import is_capability_unavailable as is_capability_unavailable
from oncall_tui.core.outbox_items import note_payload as note_payload
from oncall_tui.core.outbox_items import storage_words as storage_words
from oncall_tui.core.outbox_items import update_payload as update_payload
from oncall_tui.core.outbox_store import OutboxStore as OutboxStore
from oncall_tui.core.outbox_store import _repair_if_damaged as _repair_if_damaged
from oncall_tui.core.timefmt import utcnow as utcnow  # re-exported
from oncall_tui.safety import clean_text

log = logging.getLogger("oncall_tui.core.outbox")


class Outbox(OutboxStore):
    """A durable, ordered, exactly-once write queue in one sqlite file.

    ``path`` is the database file (its folder is created, private to the user);
    ``":memory:"`` gives a throwaway store for tests. ``clock`` is used when a call is not
    given ``now``; ``rng`` drives the backoff jitter (seed it for deterministic tests).
    """

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
