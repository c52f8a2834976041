"""What the on-call engineer can do, each saying in words what changed.

Every action returns an :class:`Outcome` with a message a person reads ("Acked. Paging
stops at level 1.") or raises :class:`ActionError` with what went wrong and what to do.
Actions on the dashboard are optimistic: the shown state changes at once and is rolled
back if the API refuses. ``readonly`` refuses every write before anything is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from oncall_tui.backends.http import ApiError
from oncall_tui.backends.incidentio import CapabilityUnavailable, IncidentIoClient
from oncall_tui.core import guard, paging, timefmt
from oncall_tui.core.errors import ActionError as ActionError  # re-exported
from oncall_tui.core.sent import KIND_ESCALATE, KIND_SHADOW, SentLedger, parent_of
from oncall_tui.core.silences import TOOL, tool_comment
from oncall_tui.core.sources import Backends
from oncall_tui.core.sync import SyncEngine, World, utcnow
from oncall_tui.core.whoami import WhoAmI
from oncall_tui.domain import (
    PAGE_TRIGGERED,
    SOURCE_INCIDENT_IO,
    Alert,
    EscalationPath,
    Page,
    Shift,
    User,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    message: str
    changed: tuple[str, ...] = ()  # keys of pages/alerts whose state changed
    details: tuple[str, ...] = field(default_factory=tuple)  # one line per member
    failed: tuple[Page | Alert, ...] = ()  # members that failed: offered for retry


@dataclass(frozen=True, slots=True)
class SilencePlan:
    """One silence to create on one Grafana or Alertmanager instance: what it matches
    (the alerts' stable identity), the alerts it is for, and how many firing alerts it
    would match there now (None when the instance could not say)."""

    source: str  # "grafana:eu"
    matchers: tuple[tuple[str, str], ...]
    alerts: tuple[Alert, ...]
    firing: int | None = None
    problem: str = ""  # why ``firing`` is unknown
    already: tuple[str, ...] = ()  # silences holding every one of the alerts already

    @property
    def matcher_text(self) -> str:
        return ", ".join(f'{name}="{value}"' for name, value in self.matchers)

    def words(self) -> str:
        """ "grafana:eu: alertname="X", service="y" would match 2 firing alerts now"."""
        if self.already:
            return f"{self.source}: already silenced (silence {self.already[0][:8]})"
        if self.firing is None:
            count = f"cannot count the firing alerts it matches ({self.problem})"
        else:
            count = f"would match {_firing(self.firing)} now"
        return f"{self.source}: {self.matcher_text} {count}"


def _firing(n: int) -> str:
    return f"{n} firing alert" if n == 1 else f"{n} firing alerts"


def new_key(kind: str) -> str:
    """A fresh idempotency key for one write, e.g. ``oncall-tui-escalate-<uuid>``: retried
    with the same key, the write is not made twice."""
    return f"oncall-tui-{kind}-{uuid.uuid4()}"


def _failed(what: str, exc: ApiError) -> ActionError:
    return ActionError(f"{what} failed: {exc}")


def check_write(backends: Backends, readonly: bool, action: str) -> None:
    """Refuse a write before anything is sent (see :mod:`oncall_tui.core.guard`)."""
    guard.check(action, readonly=readonly, backends=backends)


class Actions:
    sent: SentLedger | None = None  # the pages this tool made, so they are not shown as rows

    def __init__(
        self,
        backends: Backends,
        engine: SyncEngine | None = None,
        *,
        readonly: bool = False,
        clock: Callable[[], datetime] = utcnow,
        whoami: WhoAmI | None = None,
    ) -> None:
        self.backends = backends
        self.engine = engine
        self.readonly = readonly
        self.clock = clock
        self.whoami = whoami or WhoAmI(backends, engine)

    # -- helpers -------------------------------------------------------------------

    @property
    def me(self) -> User | None:
        return self.whoami.known

    def _who(self) -> str:
        return self.whoami.who()

    def _check_write(self, action: str) -> None:
        check_write(self.backends, self.readonly, action)

    def _io(self) -> IncidentIoClient:
        return self.backends.io()

    def _optimistic(self, key: str, state: str) -> str | None:
        if self.engine is None:
            return None
        previous = self.engine.world.optimistic.get(key)
        now = self.clock()

        def show(world: World) -> None:
            world.optimistic[key] = state
            world.optimistic_since[key] = now

        self.engine.mutate(show)
        return previous

    def _rollback(self, key: str, previous: str | None) -> None:
        if self.engine is None:
            return

        def undo(world: World) -> None:
            if previous is None:
                world.optimistic.pop(key, None)
                world.optimistic_since.pop(key, None)
            else:
                world.optimistic[key] = previous

        self.engine.mutate(undo)

    def _refresh(self, backend: str) -> None:
        if self.engine is not None:
            self.engine.poll_soon(backend)

    def path_for(self, page: Page) -> EscalationPath | None:
        if self.engine is None or page.path_id is None:
            return None
        return self.engine.world.paths.get(page.path_id)

    # -- pages ---------------------------------------------------------------------

    async def ack(self, item: Page | Alert) -> Outcome:
        """Acknowledge a page, or silence a Grafana/Alertmanager alert, or ack the pages an
        incident.io alert raised. No confirmation: this is the action to take at once."""
        return await self.ack_all([item])

    async def ack_all(
        self, items: Sequence[Page | Alert], plans: Sequence[SilencePlan] | None = None
    ) -> Outcome:
        """Acknowledge every item: pages are acked, incident.io alerts' pages acked, and
        Grafana/Alertmanager alerts silenced with one silence per instance (``plans``,
        from :meth:`plan_silences`, when the caller has shown them already). Reports
        member by member; members that failed are returned for a retry."""
        lines: list[str] = []
        changed: list[str] = []
        failed: list[Page | Alert] = []
        failures = 0
        pages = list(dict.fromkeys(i for i in items if isinstance(i, Page)))
        alerts = list(dict.fromkeys(i for i in items if isinstance(i, Alert)))
        io_alerts = [a for a in alerts if a.source == SOURCE_INCIDENT_IO]
        silenced = [a for a in alerts if a.source != SOURCE_INCIDENT_IO]
        acks: list[tuple[Page | Alert, Callable[[], Awaitable[Outcome]]]] = [
            *((page, partial(self._respond, page, "ack")) for page in pages),
            *((alert, partial(self._ack_incident_io_alert, alert)) for alert in io_alerts),
        ]
        for item, ack in acks:
            try:
                outcome = await ack()
            except ActionError as exc:
                lines.append(f"“{item.title}”: {exc}")
                failed.append(item)
                failures += 1
            else:
                lines.append(outcome.message)
                changed.extend(outcome.changed)
        if silenced:
            if plans is None:
                plans = await self.plan_silences(silenced)
            for plan in plans:
                try:
                    line, keys = await self._silence(plan)
                except ActionError as exc:
                    lines.append(f"{plan.source}: {exc}")
                    failed.extend(plan.alerts)
                    failures += 1
                else:
                    lines.append(line)
                    changed.extend(keys)
        return self._summary("Acked", items, lines, changed, failed, failures)

    def _summary(
        self,
        verb: str,
        items: Sequence[Page | Alert],
        lines: list[str],
        changed: list[str],
        failed: list[Page | Alert],
        failures: int,
    ) -> Outcome:
        """One member: its own words. Several: "Acked “T”: 1 of 2 done, 1 failed"."""
        if len(lines) == 1 and not failures:
            return Outcome(lines[0], tuple(changed))
        if len(lines) == 1:
            raise ActionError(lines[0])
        titles = list(dict.fromkeys(i.title for i in items))
        what = f"“{titles[0]}”" if len(titles) == 1 else f"{len(titles)} items"
        summary = f"{verb} {what}: {len(lines) - failures} of {len(lines)} done"
        if failures:
            summary += f", {failures} failed (offered for retry)"
        return Outcome(summary, tuple(changed), tuple(lines), tuple(failed))

    async def _respond(
        self, page: Page, response: str, *, until: datetime | None = None
    ) -> Outcome:
        if response == "ack":
            # Already done: say so, with who and when, and send nothing.
            already = paging.already_acked(
                page, now=self.clock(), zone=self.backends.settings.display_zone()
            )
            if already:
                return Outcome(already)
        self._check_write({"ack": "ack", "snooze": "snooze", "nack": "decline"}[response])
        io = self._io()
        if response == "nack" and page.status != PAGE_TRIGGERED:
            raise ActionError(
                f"“{page.title}” is {page.status}, not paging anyone: there is nothing to "
                "decline. To page someone else, escalate (e)."
            )
        # A decline moves the page on: the next poll shows where, so nothing is assumed.
        shown = {"ack": "acked", "snooze": "snoozed"}.get(response)
        previous = self._optimistic(page.id, shown) if shown else None
        try:
            as_person = await io.respond_escalation(
                page.id,
                response,
                snooze_until=until,
                reason=f"snoozed with {TOOL}" if response == "snooze" else None,
            )
        except CapabilityUnavailable as exc:
            if shown:
                self._rollback(page.id, previous)
            raise ActionError(
                f"{exc} Respond in the incident.io app or Slack; "
                "the dashboard will show the new state on its next refresh."
            ) from None
        except ApiError as exc:
            if shown:
                self._rollback(page.id, previous)
            verb = {"ack": "Ack", "snooze": "Snooze", "nack": "Decline"}[response]
            raise _failed(verb, exc) from None
        self._refresh(SOURCE_INCIDENT_IO)
        # incident.io may refuse to record a response as the person; the client then
        # responds as the API key, and the words say so.
        as_key = (
            " (recorded as the API key: incident.io would not record it as you)"
            if as_person is False and getattr(io, "act_as_user_id", None)
            else ""
        )
        if response == "ack":
            return Outcome(
                f"Acked “{page.title}”{as_key}. Paging stops at level {page.level}.", (page.id,)
            )
        if response == "snooze":
            assert until is not None
            return Outcome(
                f"Snoozed “{page.title}”{as_key} until "
                f"{timefmt.format_clock(until, self.backends.settings.display_zone())}; "
                "it pages again then.",
                (page.id,),
            )
        path = self.path_for(page)
        nxt = page.level + 1
        where = (
            f"to level {nxt} of {path.name}"
            if path is not None and nxt <= len(path.levels)
            else "up the escalation path"
        )
        return Outcome(f"Declined “{page.title}”: it moves {where}.", (page.id,))

    async def snooze(self, page: Page, duration: timedelta) -> Outcome:
        if duration <= timedelta(0):
            raise ActionError("Choose a snooze length above zero.")
        return await self._respond(page, "snooze", until=self.clock() + duration)

    async def decline(self, page: Page) -> Outcome:
        """Mark me unavailable for this page so it moves up the path (confirm first).

        incident.io takes a decline only on behalf of a user: it needs
        ``[incident_io] act_as_user = true`` and a key with ``act_on_behalf_of_users``.
        """
        return await self._respond(page, "nack")

    async def escalate(
        self,
        item: Page | Alert,
        *,
        path_id: str | None = None,
        user_ids: Iterable[str] = (),
        title: str | None = None,
        incident_id: str | None = None,
    ) -> Outcome:
        """Page a path or people about this item (confirm first). With neither given, page
        whoever is on the next level of the page's path."""
        self._check_write("escalate")
        io = self._io()
        users = tuple(user_ids)
        if not path_id and not users:
            if not isinstance(item, Page):
                raise ActionError("Choose an escalation path or a person to page.")
            users = self.next_level_users(item)
            if not users:
                raise ActionError(
                    "Nobody is on call on the next level of this path; choose a person."
                )
        text = title or (f"Escalated: {item.title}")
        description = f"Escalated by {self._who()} with {TOOL}."
        try:
            created = await io.create_escalation(
                text,
                path_id=path_id,
                user_ids=list(users) or None,
                description=description,
                incident_id=incident_id,
                idempotency_key=new_key("escalate"),
            )
        except ApiError as exc:
            raise _failed("Escalation", exc) from None
        self._sent(created.id, item, KIND_ESCALATE)
        self._refresh(SOURCE_INCIDENT_IO)
        who = self.names(users) if users else self._path_name(path_id)
        return Outcome(f"Paged {who} about “{item.title}”.", (created.id,))

    async def shadow(self, item: Page | Alert, user: User) -> Outcome:
        """Page a teammate to shadow me on this page or alert."""
        self._check_write("shadow")
        io = self._io()
        try:
            created = await io.create_escalation(
                f"Shadow request: {item.title}",
                user_ids=[user.id],
                description=(
                    f"{self._who()} asks you to join them on this ({TOOL}). "
                    "Not urgent unless they say so."
                ),
                idempotency_key=new_key("shadow"),
            )
        except ApiError as exc:
            raise _failed("Shadow page", exc) from None
        self._sent(created.id, item, KIND_SHADOW)
        self._refresh(SOURCE_INCIDENT_IO)
        return Outcome(
            f"Paged {user.name} to shadow you on “{item.title}”. "
            "(incident.io pages people directly at high urgency.)"
        )

    def _sent(self, page_id: str, about: Page | Alert, kind: str) -> None:
        """Remember a page this tool made, and what about: it shows with that, not as a
        row of its own (:mod:`oncall_tui.core.sent`)."""
        if self.sent is not None:
            self.sent.record(page_id, parent_of(about), kind)

    def next_level_users(self, page: Page) -> tuple[str, ...]:
        path = self.path_for(page)
        if path is None or page.level >= len(path.levels):
            return ()
        level = path.levels[page.level]  # 0-based index of the next level
        now = self.clock()
        shifts: tuple[Shift, ...] = self.engine.world.shifts if self.engine else ()
        ids: list[str] = []
        for target in level.targets:
            if target.type == "user":
                ids.append(target.id)
            elif target.type == "schedule":
                ids.extend(
                    s.user.id
                    for s in shifts
                    if s.schedule_id == target.id
                    and s.covers(now)
                    and s.user is not None
                    and not s.user.is_nobody
                )
        return tuple(dict.fromkeys(ids))

    def names(self, user_ids: Iterable[str]) -> str:
        """ "Ana Souza, Kofi Mensah" for user ids (an unknown id is shown as itself)."""
        snap = self.engine.snapshot() if self.engine else None
        known = {u.id: u for u in snap.people} if snap else {}
        return ", ".join(known[uid].name if uid in known else uid for uid in user_ids)

    def _path_name(self, path_id: str | None) -> str:
        if self.engine and path_id in self.engine.world.paths:
            return self.engine.world.paths[path_id].name
        return "the escalation path"

    # -- alerts --------------------------------------------------------------------

    async def _ack_incident_io_alert(self, alert: Alert) -> Outcome:
        self._check_write("ack")
        io = self._io()
        try:
            pages = await io.list_escalations(alert_id=alert.id)
        except ApiError as exc:
            raise _failed("Finding the alert's pages", exc) from None
        open_pages = [p for p in pages if p.status in (PAGE_TRIGGERED, "snoozed")]
        if not open_pages:
            raise ActionError(
                "incident.io alerts have no ack of their own and this one has no open page. "
                "Resolve it, or declare an incident."
            )
        for page in open_pages:
            await self._respond(page, "ack")
        return Outcome(
            f"Acked {len(open_pages)} page(s) raised by “{alert.title}”.",
            tuple(p.id for p in open_pages),
        )

    async def plan_silences(self, alerts: Sequence[Alert]) -> list[SilencePlan]:
        """The silences that ack these Grafana/Alertmanager alerts: one per instance (per
        distinct identity), each with how many firing alerts it would match now."""
        groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[Alert]] = {}
        for alert in alerts:
            client = self.backends.alertmanager_for(alert)
            if client is None:
                raise ActionError(f"No client for {alert.source_label}.")
            matchers = client.identity_matchers(alert, self.backends.silence_labels(alert))
            groups.setdefault((alert.source_label, matchers), []).append(alert)
        plans: list[SilencePlan] = []
        for (source, matchers), members in sorted(groups.items(), key=lambda g: g[0][0]):
            already = tuple(dict.fromkeys(sid for a in members for sid in a.silenced_by))
            if all(a.silenced_by for a in members):
                plans.append(SilencePlan(source, matchers, tuple(members), already=already))
                continue
            client = self.backends.alertmanager_for(members[0])
            assert client is not None
            try:
                firing = await client.count_firing(matchers)
            except ApiError as exc:
                plans.append(SilencePlan(source, matchers, tuple(members), problem=str(exc)))
            else:
                plans.append(SilencePlan(source, matchers, tuple(members), firing=firing))
        return plans

    async def _silence(self, plan: SilencePlan) -> tuple[str, list[str]]:
        """Create one plan's silence; its words and the keys it changed."""
        title = plan.alerts[0].title
        self._check_write("silence")
        if plan.already:
            return (
                f"“{title}” is already silenced on {plan.source} "
                f"(silence {plan.already[0][:8]}); nothing was sent.",
                [],
            )
        client = self.backends.alertmanager_for(plan.alerts[0])
        if client is None:
            raise ActionError(f"No client for {plan.source}.")
        minutes = self.backends.settings.actions.silence_minutes
        keys = [a.key for a in plan.alerts]
        previous = {key: self._optimistic(key, "silenced") for key in keys}
        now = self.clock()
        try:
            silence_id = await client.create_silence(
                plan.matchers,
                now,
                now + timedelta(minutes=minutes),
                self._who(),
                tool_comment(self._who()),
            )
        except ApiError as exc:
            for key, before in previous.items():
                self._rollback(key, before)
            raise _failed("Silence", exc) from None
        self._refresh(client.source)
        matched = f"; it matched {_firing(plan.firing)}" if plan.firing is not None else ""
        return (
            f"Silenced “{title}” on {plan.source} for {minutes} min "
            f"(silence {silence_id[:8]}{matched}).",
            keys,
        )

    async def unack(self, item: Page | Alert) -> Outcome:
        return await self.unack_all([item])

    async def unack_all(self, items: Sequence[Page | Alert]) -> Outcome:
        """Expire the silences holding these alerts, instance by instance, member by
        member. Pages have no un-acknowledge in incident.io."""
        self._check_write("unack")
        if any(isinstance(i, Page) or i.source == SOURCE_INCIDENT_IO for i in items):
            raise ActionError(
                "incident.io has no un-acknowledge. To page again, escalate (e) to the "
                "path or a person."
            )
        alerts = [i for i in items if isinstance(i, Alert)]
        by_source: dict[str, list[Alert]] = {}
        for alert in alerts:
            by_source.setdefault(alert.source_label, []).append(alert)
        lines: list[str] = []
        changed: list[str] = []
        failed: list[Page | Alert] = []
        failures = 0
        for source, members in sorted(by_source.items()):
            title = members[0].title
            ids = tuple(dict.fromkeys(sid for a in members for sid in a.silenced_by))
            if not ids:
                lines.append(f"“{title}” is not silenced on {source}; nothing was sent.")
                continue
            client = self.backends.alertmanager_for(members[0])
            if client is None:
                lines.append(f"{source}: no client for it.")
                failed.extend(members)
                failures += 1
                continue
            keys = [a.key for a in members]
            previous = {key: self._optimistic(key, "firing") for key in keys}
            try:
                for silence_id in ids:
                    await client.expire_silence(silence_id)
            except ApiError as exc:
                for key, before in previous.items():
                    self._rollback(key, before)
                lines.append(f"{source}: expiring the silence failed: {exc}")
                failed.extend(members)
                failures += 1
                continue
            self._refresh(client.source)
            changed.extend(keys)
            lines.append(f"Removed {len(ids)} silence(s) on {source}: “{title}” notifies again.")
        return self._summary("Unsilenced", items, lines, changed, failed, failures)

    async def resolve(self, alert: Alert) -> Outcome:
        if alert.source != SOURCE_INCIDENT_IO:
            raise ActionError(
                f"{alert.source_label} resolves alerts itself when the rule stops firing; "
                "silence it (a) instead."
            )
        self._check_write("resolve")
        io = self._io()
        previous = self._optimistic(alert.key, "resolved")
        try:
            await io.resolve_alert(alert.id)
        except ApiError as exc:
            self._rollback(alert.key, previous)
            raise _failed("Resolve", exc) from None
        self._refresh(SOURCE_INCIDENT_IO)
        return Outcome(f"Resolved “{alert.title}”.", (alert.key,))

    async def for_each(
        self,
        items: Iterable[Page | Alert],
        action: Callable[..., Awaitable[Outcome]],
        *args: Any,
    ) -> Outcome:
        """Run one action on several rows; report every success and failure."""
        done, failed = [], []
        for item in items:
            try:
                outcome = await action(item, *args)
                done.append(outcome.message)
            except ActionError as exc:
                failed.append(f"{item.title}: {exc}")
        summary = f"{len(done)} done" + (f", {len(failed)} failed" if failed else "")
        return Outcome(summary, details=tuple(done + failed))
