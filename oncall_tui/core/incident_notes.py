"""Notes and incident updates: written to the durable outbox first, drafts kept, refused
ones resent or skipped, delivered once and in order (:meth:`IncidentWriter.send`, with
:meth:`IncidentWriter.reroute` when an endpoint is missing), and what a delivery did, in
words."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from oncall_tui.backends.http import ApiError, InvalidRequest, NotFound
from oncall_tui.backends.incidentio import (
    CapabilityUnavailable,
    normalise_incident_ref,
    parse_datetime,
)
from oncall_tui.core import guard, timefmt
from oncall_tui.core.actions import ActionError, Outcome
from oncall_tui.core.incident_model import (
    CHECKLIST,
    MAX_NOTE_CHARS,
    REF_TARGET,
    TITLE_LIMIT,
    NotSaved,
    Queued,
    checklist_title,
    signed,
)
from oncall_tui.core.incident_reading import (
    IncidentReader,
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
    STATE_DELIVERED,
    STATE_DISMISSED,
    Delivery,
    OutboxItem,
    Rerouted,
    StorageError,
    note_payload,
    update_payload,
)
from oncall_tui.domain import (
    Incident,
    IncidentStatus,
    Severity,
    TimelineItem,
)
from oncall_tui.safety import clean_text, clean_user_text


class IncidentWriter(IncidentReader):
    """Notes and updates through the outbox: queued, drafts kept, refused ones resent or
    skipped, and delivered (the one sender, with its fallback)."""

    # -- notes and updates (through the outbox) ------------------------------------------

    async def note_by_ref(self, ref: str, text: str) -> tuple[Queued, str]:
        """A note for ``INC-N`` from the command line: to the incident found now, or, when
        incident.io cannot be reached, to the id kept from the last list, or by
        reference, resolved on delivery. Returns the queued note and how the incident was
        found ("" when incident.io answered)."""
        try:
            number = normalise_incident_ref(ref)
        except InvalidRequest as exc:
            raise ActionError(str(exc)) from None
        try:
            incident = await self.io.get_incident(ref)
        except NotFound:
            shown = clean_text(ref, limit=60)
            raise ActionError(f"No incident {shown} on this incident.io account.") from None
        except ApiError as exc:
            if not exc.retryable:
                raise ActionError(
                    f"Cannot read incident {clean_text(ref, limit=60)}: {exc}"
                ) from None
            reference = number if not number.isdigit() else f"INC-{number}"
            cached = self.outbox.cached_id(reference) if self.outbox is not None else None
            why = clean_text(str(exc), limit=200)
            if cached is not None:
                return self.note_to(cached, reference, text), (
                    f"incident.io cannot be reached ({why}); queued for {reference} by the "
                    "id kept from the last incident list"
                )
            return self.note_to(f"{REF_TARGET}{reference}", reference, text), (
                f"incident.io cannot be reached ({why}) and {reference} is not in the last "
                "incident list kept here; queued by reference, looked up when it is sent"
            )
        return self.note(incident, text), ""

    def _enqueue(self, kind: str, incident: Incident, payload: dict[str, Any]) -> OutboxItem:
        return self._enqueue_to(kind, incident.id, incident.reference, payload)

    def _enqueue_to(
        self,
        kind: str,
        target: str,
        reference: str,
        payload: dict[str, Any],
        *,
        draft: bool = False,
    ) -> OutboxItem:
        outbox = self._need_outbox()
        payload["incident_ref"] = clean_text(reference, limit=60)
        try:
            item = outbox.enqueue(
                kind, target, payload, now=self.clock(), clear_draft=target if draft else None
            )
        except StorageError as exc:
            raise NotSaved(f"Not saved: {exc}.") from None
        except ValueError as exc:
            raise ActionError(f"Not saved: {exc}.") from None
        self.count_changed()
        return item

    def author(self) -> str:
        """Who is writing, as the note will name them: the configured user's name (or
        email when the name is not known yet)."""
        me = self.whoami.known
        if me is not None and (me.name or me.email):
            return clean_text(me.name or me.email, limit=100)
        return clean_text(self.backends.settings.user.email or "", limit=100)

    def note(self, incident: Incident, text: str) -> Queued:
        """Keep a note: committed to the outbox now, sent to the timeline from there."""
        return self.note_to(incident.id, incident.reference, text)

    def note_to(self, target: str, reference: str, text: str) -> Queued:
        """A note for an incident known by id (or, offline, by ``ref:INC-N``)."""
        self.check_write("note")
        body, _removed = clean_user_text(text)
        body = body.strip()
        if not body:
            raise guard.BadInput("Empty note: nothing was saved. Type something, then Enter.")
        if len(body) > MAX_NOTE_CHARS:
            raise guard.BadInput(
                f"That note is {len(text):,} characters; the limit is {MAX_NOTE_CHARS:,}. "
                "Put big logs in a file or paste service and note the link."
            )
        first = body.splitlines()[0].strip()
        title = first if len(first) <= TITLE_LIMIT else first[: TITLE_LIMIT - 1] + "…"
        payload = note_payload(body, at=self.clock(), title=title)
        author = self.author()
        if author:
            payload["author"] = author
        item = self._enqueue_to(KIND_NOTE, target, reference, payload, draft=True)
        return Queued(item, f"Note saved for {reference}; sending…")

    def prune(self) -> int:
        """Forget delivered (and skipped) writes older than the retention period
        (``[actions] outbox_retention_days``). Returns how many."""
        if self.outbox is None:
            return 0
        days = getattr(self.backends.settings.actions, "outbox_retention_days", 30)
        try:
            return self.outbox.prune_delivered(self.clock() - timedelta(days=days))
        except Exception as exc:  # a full or read-only disk: pruning waits for next time
            import logging

            logging.getLogger(__name__).warning("outbox not pruned: %s", exc)
            return 0

    # -- drafts ------------------------------------------------------------------------

    def save_draft(self, target: str, reference: str, text: str) -> str:
        """Keep what is typed in a note box; "" when kept, else why not (in words)."""
        if self.outbox is None:
            return "drafts are not kept: the outbox file could not be opened"
        try:
            self.outbox.save_draft(target, text, label=reference)
        except StorageError as exc:
            return f"draft not saved: {exc}"
        return ""

    def draft(self, target: str) -> str:
        return self.outbox.draft(target) if self.outbox is not None else ""

    def drop_draft(self, target: str) -> None:
        if self.outbox is not None:
            try:
                self.outbox.save_draft(target, "")
            except StorageError:
                pass  # the note itself is safe; a stale draft comes back at worst

    # -- refused notes: resend or skip ---------------------------------------------------

    def refused(self, target: str | None = None) -> list[OutboxItem]:
        """Writes incident.io refused, oldest first (they hold later ones back)."""
        if self.outbox is None:
            return []
        return [i for i in self.outbox.undelivered(target) if i.needs_user]

    def resend(self, target: str | None = None, refs: Sequence[str] = ()) -> Outcome:
        """Put refused writes back in the queue (those of ``target``, or ``refs``), to be
        sent at once, in their place."""
        self.check_write("outbox_retry")
        outbox = self._need_outbox()
        if refs:
            items = []
            for ref in refs:
                item = outbox.by_ref(ref)
                if item is None:
                    raise guard.BadInput(
                        f"No outbox item {clean_text(ref, limit=60)!r} "
                        "(`oncall-tui outbox` lists them)."
                    )
                items.append(item)
        else:
            # Refused ones, and those waiting out a backoff or a Retry-After: "resend"
            # tries at once, whatever the wait.
            now = self.clock()
            items = self.refused(target) + [
                i
                for i in outbox.pending(target)
                if i.state == "pending"
                and i.next_attempt_at is not None
                and i.next_attempt_at > now
            ]
        again = [i for i in items if i.needs_user or i.state in (STATE_DISMISSED, "pending")]
        if not again:
            raise ActionError("Nothing to resend: no note or update here was refused.")
        for item in again:
            outbox.requeue(item.key, now=self.clock())
        self.count_changed()
        return Outcome(f"Resending {_count(len(again), 'note or update', 'notes and updates')}.")

    def skip(self, item: OutboxItem) -> Outcome:
        """Set a refused write aside (kept in the file) so the ones behind it go."""
        self.check_write("outbox_skip")
        outbox = self._need_outbox()
        behind = [h for h, b in outbox.held(item.target) if b.key == item.key]
        outbox.dismiss(item.key)
        self.count_changed()
        return Outcome(
            f"Skipped “{_label(item)}”: kept in the outbox, not sent"
            + (f"; {len(behind)} held behind it now go." if behind else ".")
        )

    def change(
        self,
        incident: Incident,
        *,
        status: IncidentStatus | None = None,
        severity: Severity | None = None,
        message: str = "",
    ) -> Queued:
        """A status and/or severity change with a message, through the outbox."""
        self.check_write("status" if status is not None or severity is None else "severity")
        text = clean_text(message, limit=MAX_NOTE_CHARS + 1, multiline=True).strip()
        if len(text) > MAX_NOTE_CHARS:
            raise ActionError(f"The message is too long (at most {MAX_NOTE_CHARS:,} characters).")
        if status is not None and status.id == incident.status.id:
            status = None
        if (
            severity is not None
            and incident.severity is not None
            and severity.id == incident.severity.id
        ):
            severity = None
        if status is None and severity is None and not text:
            raise ActionError(
                "Nothing to change: that is already the incident's status and severity."
            )
        payload = update_payload(
            at=self.clock(),
            message=text,
            status_id=status.id if status else None,
            status_name=status.name if status else None,
            severity_id=severity.id if severity else None,
            severity_name=severity.name if severity else None,
        )
        payload["from_status_name"] = incident.status.name
        item = self._enqueue(KIND_UPDATE, incident, payload)
        what = []
        if status is not None:
            what.append(f"status to {status.name}")
        if severity is not None:
            what.append(f"severity to {severity.name}")
        words = " and ".join(what) if what else "an update"
        return Queued(item, f"{incident.reference}: {words} saved; sending…")

    def tick(self, incident: Incident, item_id: str, done: bool = True) -> Queued:
        """Tick (or untick) a lead checklist item: a timeline note, so others see it."""
        self.check_write("checklist")
        item = next((i for i in CHECKLIST if i.id == item_id), None)
        if item is None:
            raise ActionError(f"No checklist item {clean_text(item_id, limit=40)!r}.")
        title = checklist_title(item, done)
        queued = self._enqueue(
            KIND_NOTE, incident, note_payload(title, at=self.clock(), title=title)
        )
        verb = "ticked" if done else "unticked"
        return Queued(queued, f"Checklist: {verb} “{item.label}”; sending…")

    async def wait_for(self, key: str, timeout: float = 10.0) -> OutboxItem | None:
        """Until the item has left the queue (delivered or refused), or ``timeout``.

        With a delivery loop running it is woken and watched; without one (the command
        line), one delivery round is run here.
        """
        outbox = self._need_outbox()
        if not self.delivering:
            await outbox.deliver_due(self.send, self.clock(), fallback=self.reroute)
            self.count_changed()
            return outbox.get(key)
        outbox.wake()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            item = outbox.get(key)
            if item is None or not item.is_open or loop.time() >= deadline:
                return item
            await asyncio.sleep(0.05)

    async def settle(self, queued: Queued, done: str, *, timeout: float = 10.0) -> Outcome:
        """Wait for a queued change and say how it ended; a refusal raises in the API's
        own words. A change with nothing typed is put aside after a refusal (nothing
        is lost); one with a message stays in the outbox for the record."""
        self.settling.add(queued.item.key)
        try:
            item = await self.wait_for(queued.item.key, timeout)
        finally:
            self.settling.discard(queued.item.key)
        if item is None:
            return Outcome(queued.message)
        if item.state == STATE_DELIVERED:
            how = rerouted_how(item)
            return Outcome(done + (f" ({how})" if how else "") + ".")
        if item.needs_user:
            reason = (item.last_error or item.status_text).removeprefix("refused: ")
            reason = reason.removeprefix("incident.io: ")
            # Told now, so set aside: it must not hold the notes typed after it.
            self._need_outbox().dismiss(item.key)
            kept = ""
            if item.payload.get("message") or item.payload.get("text"):
                kept = (
                    f" Your text is kept in the outbox ({self._need_outbox().path}): "
                    f"`oncall-tui outbox --all` lists it, `oncall-tui outbox retry {item.id}` "
                    "sends it again."
                )
            self.count_changed()
            raise ActionError(f"incident.io refused it: {clean_text(reason, limit=500)}.{kept}")
        return Outcome(
            "Saved, not sent yet: incident.io is not answering. It is shown as pending and "
            "will be sent, once, when the API is back."
        )

    # -- delivery ----------------------------------------------------------------------

    async def send(self, item: OutboxItem) -> str | None:
        """The outbox's sender: a note to the timeline, an update to incident updates."""
        io = self.io
        payload = item.payload
        target = await self._resolve(item)
        if item.kind == KIND_NOTE:
            text = signed(str(payload.get("text") or ""), str(payload.get("author") or ""))
            title = str(payload.get("title") or (text.splitlines()[0] if text else "") or "Note")
            created = await io.create_timeline_item(
                target,
                title=title,
                description=_description(text, title),
                timestamp=_when(payload, item),
                idempotency_key=item.key,
            )
            return created.id
        if item.kind == KIND_UPDATE:
            update = await io.create_incident_update(
                target,
                message=str(payload.get("message") or "") or None,
                status_id=payload.get("status_id") or None,
                severity_id=payload.get("severity_id") or None,
                idempotency_key=item.key,
            )
            return update.id
        raise InvalidRequest(f"this version cannot send a {clean_text(item.kind, limit=40)!r}")

    async def _resolve(self, item: OutboxItem) -> str:
        """The incident id to send to: a note queued offline by reference is resolved
        now (and the outbox remembers the id for the notes behind it)."""
        if not item.target.startswith(REF_TARGET):
            return item.target
        ref = item.target[len(REF_TARGET) :]
        incident = await self.io.get_incident(ref)  # NotFound: the user is asked to look
        if self.outbox is not None:
            self.outbox.retarget(item.target, incident.id)
        return incident.id

    async def reroute(self, item: OutboxItem, cause: BaseException) -> Rerouted:
        """The outbox's fallback when an endpoint is missing on the account (404)."""
        io = self.io
        payload = item.payload
        if item.kind == KIND_NOTE:
            text = signed(str(payload.get("text") or ""), str(payload.get("author") or ""))
            update = await io.create_incident_update(
                await self._resolve(item), message=text, idempotency_key=item.key
            )
            return Rerouted(
                update.id,
                "posted as an incident update message, because this incident.io account "
                "has no timeline notes API",
            )
        if item.kind == KIND_UPDATE:
            message = str(payload.get("message") or "")
            status_id = payload.get("status_id") or None
            severity_id = payload.get("severity_id") or None
            if not (status_id or severity_id):
                created = await self._message_as_note(item, message, item.key)
                return Rerouted(
                    created.id,
                    "added as a timeline note, because this account cannot post incident updates",
                )
            await io.edit_incident(item.target, status_id=status_id, severity_id=severity_id)
            how = "changed with an incident edit, because this account cannot post incident updates"
            if message.strip():
                try:
                    await self._message_as_note(item, message, f"{item.key}:message")
                    how += "; the message was added as a timeline note"
                except CapabilityUnavailable:
                    how += (
                        "; the message could not be posted (no notes API) and is kept in "
                        f"{self.outbox.path if self.outbox else 'the outbox'}"
                    )
            return Rerouted(None, how)
        raise cause

    async def _message_as_note(self, item: OutboxItem, message: str, key: str) -> TimelineItem:
        first = message.strip().splitlines()[0] if message.strip() else "Update"
        title = first if len(first) <= TITLE_LIMIT else first[: TITLE_LIMIT - 1] + "…"
        return await self.io.create_timeline_item(
            item.target,
            title=title,
            description=_description(message, title),
            timestamp=_when(item.payload, item),
            idempotency_key=key,
        )

    async def run_delivery(
        self,
        stop: asyncio.Event,
        on_delivery: Callable[[list[Delivery]], None] | None = None,
        *,
        poll_interval: float = 5.0,
    ) -> None:
        """Deliver the outbox until ``stop`` is set (the app runs this in a worker). In
        read-only mode nothing is sent: what waits keeps waiting."""
        if guard.why_not("outbox_send", readonly=self.readonly) is not None:
            return
        outbox = self._need_outbox()

        def delivered(results: list[Delivery]) -> None:
            self.count_changed()
            if on_delivery is not None:
                on_delivery(results)

        self.prune()
        self.delivering = True
        self.count_changed()
        try:
            await outbox.run(
                self.send,
                stop,
                fallback=self.reroute,
                poll_interval=poll_interval,
                on_delivery=delivered,
            )
        finally:
            self.delivering = False


def _count(n: int, one: str, many: str) -> str:
    return f"1 {one}" if n == 1 else f"{n} {many}"


def _label(item: OutboxItem) -> str:
    title = item.payload.get("title") or item.payload.get("message") or item.kind
    return clean_text(str(title).splitlines()[0] if title else item.kind, limit=60)


def _description(text: str, title: str) -> str | None:
    """What goes under a timeline item's title: the rest of the text after its first
    line, or all of it when the title had to be cut."""
    text = text.strip()
    title = title.strip()
    if text == title:
        return None
    if title and text.startswith(title):
        return text[len(title) :].strip() or None
    return text or None


def _when(payload: Any, item: OutboxItem) -> datetime:
    raw = payload.get("timestamp") if hasattr(payload, "get") else None
    try:
        return parse_datetime(raw)
    except (ValueError, TypeError, IndexError):
        return item.created_at


# ----------------------------------------------------------------- delivery words


def rerouted_how(item: OutboxItem) -> str:
    """How a delivered item got there when it took the fallback route ("" otherwise)."""
    if item.route != ROUTE_FALLBACK or ", " not in item.status_text:
        return ""
    return item.status_text.split(", ", 1)[1].rstrip(".")


def delivery_words(delivery: Delivery) -> tuple[str, str] | None:
    """What to tell the user about one delivery: (text, "information"|"warning"|"error"),
    or None when nothing needs saying (a quiet retry)."""
    item = delivery.item
    ref = clean_text(item.payload.get("incident_ref") or "the incident", limit=60)
    what = "Note" if item.kind == KIND_NOTE else "Update"
    title = item.payload.get("title") or item.payload.get("message") or ""
    quoted = clean_text(str(title).splitlines()[0] if title else "", limit=60)
    label = f"{what} “{quoted}”" if quoted else what
    if delivery.outcome == OUTCOME_DELIVERED:
        return f"{label} is on {ref}'s timeline.", "information"
    if delivery.outcome == OUTCOME_REROUTED:
        how = rerouted_how(item)
        return f"{label} reached {ref}: {how}.", "warning"
    if delivery.outcome == OUTCOME_RETRYING:
        if item.attempts == 1:
            return (
                f"{label} is kept and will be sent when incident.io answers "
                f"({clean_text(item.last_error, limit=120)}).",
                "warning",
            )
        return None
    if delivery.outcome in (OUTCOME_FAILED, OUTCOME_NEEDS_ATTENTION):
        return (
            f"{label} for {ref} was not sent: {clean_text(item.last_error, limit=300)}. "
            "It is kept on this machine in the outbox; `oncall-tui outbox` lists it.",
            "error",
        )
    return None


def item_summary(item: OutboxItem, zone: timefmt.ZoneLike = None) -> dict[str, Any]:
    """One outbox item as plain fields, for ``oncall-tui outbox``."""
    payload = item.payload
    text = payload.get("text") or payload.get("message") or ""
    change = []
    if payload.get("status_name"):
        change.append(f"status → {payload.get('status_name')}")
    if payload.get("severity_name"):
        change.append(f"severity → {payload.get('severity_name')}")
    return {
        "id": item.id,
        "key": item.key,
        "kind": item.kind,
        "incident": clean_text(payload.get("incident_ref") or item.target, limit=60),
        "incident_id": item.target,
        "state": item.state,
        "created_at": item.created_at,
        "attempts": item.attempts,
        "change": ", ".join(clean_text(c, limit=120) for c in change),
        "text": clean_text(text, limit=100_000, multiline=True),
        "status": clean_text(item.status_text, limit=500),
        "error": clean_text(item.last_error, limit=500),
        "route": item.route,
    }
