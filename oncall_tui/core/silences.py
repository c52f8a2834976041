"""Every active and pending silence, on every Grafana and Alertmanager, and what to do
about them: the one rule for the silences screen (``s``), ``oncall-tui silences`` and the
expiry notices.

Per source, one ``GET …/silences`` (and, when the caller has no fresh alert list, one
``GET …/alerts``): never one request per silence. A source that is down, or answers 404,
is "not available: …" while the others show.

Times are each server's own: a server's ``Date`` header says what time it is there, and a
countdown is ``endsAt`` minus that clock, moved on by the time elapsed here since. A
laptop clock five minutes off does not make a silence look five minutes longer.

How many firing alerts a silence matches now: an active silence is the server's word
(the alerts whose ``silencedBy`` names it); a pending one is matched here, label by
label, with Alertmanager's rules (a regex is anchored; ``!=`` and ``!~`` negate; a
missing label is the empty string).

Silences this tool makes carry a marker in their comment (:func:`tool_comment`); a silence
older than ``[actions] forgotten_silence_hours`` that still matches firing alerts is
"possibly forgotten"; one that ends within :data:`EXPIRY_NOTICE` while its alerts still
fire gives one notice (:class:`ExpiryWatch`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from time import monotonic
from typing import Any
from urllib.parse import quote, urlencode

from oncall_tui import __version__
from oncall_tui.backends.grafana import KIND_GRAFANA, AlertmanagerClient, parse_silences
from oncall_tui.backends.http import ApiError, NotFound
from oncall_tui.backends.silences import post_new_end, raw_silence
from oncall_tui.core import guard, timefmt
from oncall_tui.core.errors import ActionError
from oncall_tui.core.sources import Backends
from oncall_tui.core.timefmt import utcnow
from oncall_tui.domain import ALERT_RESOLVED, Alert, Silence
from oncall_tui.safety import clean_text, openable_url

TOOL_NAME = "oncall-tui"
TOOL = f"{TOOL_NAME} {__version__}"
# The marker in the comment of every silence this tool makes: "… with oncall-tui 0.1.0".
TOOL_MARK = re.compile(rf"\bwith {re.escape(TOOL_NAME)}(?: [0-9][\w.+-]*)?\s*$")
EXPIRY_NOTICE = timedelta(minutes=15)
SHOWN_STATES = ("active", "pending")
SKEW_WORTH_SAYING = timedelta(seconds=60)
CLOCK_JITTER = 2.0  # seconds: a Date header is whole seconds; less is no skew at all


def tool_comment(who: str) -> str:
    """The comment of a silence this tool makes (an ack): it carries :data:`TOOL_MARK`."""
    return f"Acknowledged by {who} with {TOOL}"


def made_here(silence: Silence) -> bool:
    """Whether this tool made ``silence`` (its comment ends with the tool's marker)."""
    return TOOL_MARK.search(silence.comment) is not None


# ------------------------------------------------------------------------- matchers


def matcher_text(matcher: tuple[str, str, bool, bool]) -> str:
    """``name="v"``, ``name=~"v.*"``, ``name!="v"``, ``name!~"v.*"``."""
    name, value, is_regex, is_equal = matcher
    op = ("=~" if is_regex else "=") if is_equal else ("!~" if is_regex else "!=")
    return f"{name}{op}{_quoted(value)}"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _compile(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


def matches(matchers: Sequence[tuple[str, str, bool, bool]], labels: Mapping[str, str]) -> bool:
    """Whether a silence's matchers all hold for ``labels`` (Alertmanager's rules: a regex
    matches the whole value, a missing label is ""). A regex this cannot read matches
    nothing, so a pending silence is never counted by a guess."""
    for name, value, is_regex, is_equal in matchers:
        have = labels.get(name, "")
        if is_regex:
            pattern = _compile(value)
            if pattern is None:
                return False
            hit = pattern.fullmatch(have) is not None
        else:
            hit = have == value
        if hit != is_equal:
            return False
    return True


def _labels(alert: Alert) -> dict[str, str]:
    labels = {k: v for k, v in alert.labels if k != "…"}
    if alert.rule_uid and "__alert_rule_uid__" not in labels:
        labels["__alert_rule_uid__"] = alert.rule_uid
    return labels


# ------------------------------------------------------------------------- listing


@dataclass(frozen=True, slots=True)
class SilenceRow:
    """One silence as shown: where it is, what it matches now, and what it looks like."""

    source: str  # "grafana:us", "alertmanager:k8s"
    silence: Silence
    firing: int  # firing alerts it matches now
    made_here: bool
    forgotten: bool  # old, and still matching firing alerts
    url: str | None = None  # its page in Grafana or the Alertmanager UI (http/https only)

    @property
    def id(self) -> str:
        return self.silence.id

    @property
    def short_id(self) -> str:
        return self.silence.id[:8]

    @property
    def state(self) -> str:
        return self.silence.state

    @property
    def matcher_texts(self) -> tuple[str, ...]:
        return tuple(matcher_text(m) for m in self.silence.matchers)


@dataclass(frozen=True, slots=True)
class SourceSilences:
    """One source's silences, or why it has none to show."""

    source: str
    rows: tuple[SilenceRow, ...] = ()
    problem: str = ""  # "" when it answered; else why it is not available
    server_date: datetime | None = None  # the server's clock when it answered …
    read_at: float = 0.0  # … at this monotonic() here
    local_at: datetime | None = None  # this machine's clock then (no Date header)

    @property
    def available(self) -> bool:
        return not self.problem

    def server_now(self, at: float | None = None) -> datetime:
        """What time it is on the server now: its clock when it answered, moved on by the
        time elapsed here since (this machine's clock when it sent no ``Date``)."""
        base = self.server_date or self.local_at or utcnow()
        elapsed = (monotonic() if at is None else at) - self.read_at
        return base + timedelta(seconds=max(0.0, elapsed)) if self.read_at else base

    @property
    def skew(self) -> timedelta:
        """The server's clock minus this machine's, when it answered (0 within a second
        or two, or without a ``Date`` header)."""
        if self.server_date is None or self.local_at is None:
            return timedelta(0)
        skew = self.server_date - self.local_at
        return skew if abs(skew.total_seconds()) > CLOCK_JITTER else timedelta(0)

    def skew_words(self) -> str:
        """ "its clock is 5m ahead of this machine's", or "" when that is under a minute."""
        skew = self.skew
        if abs(skew) < SKEW_WORTH_SAYING:
            return ""
        way = "ahead of" if skew > timedelta(0) else "behind"
        return f"its clock is {timefmt.format_duration(skew)} {way} this machine's"


def left_words(row: SilenceRow, now: datetime) -> str:
    """ "2h 14m left", "starts in 20m (then 1h)", "ended" — by the server's ``now``."""
    silence = row.silence
    if silence.state == "pending" or silence.starts_at > now:
        length = timefmt.format_duration(silence.ends_at - silence.starts_at)
        return f"starts {timefmt.countdown(silence.starts_at, now)} (then {length})"
    return timefmt.time_left(silence.ends_at, now)


def expiring_soon(row: SilenceRow, now: datetime) -> bool:
    """Active, ends within :data:`EXPIRY_NOTICE`, and its alerts still fire."""
    silence = row.silence
    return (
        silence.state == "active"
        and row.firing > 0
        and timedelta(0) < silence.ends_at - now <= EXPIRY_NOTICE
    )


def count_firing(silences: Sequence[Silence], alerts: Sequence[Alert]) -> dict[str, int]:
    """Firing alerts each silence matches now: for an active silence the server's
    ``silencedBy``; for a pending one, matched here. One pass over the alerts for the
    active ones, so a thousand silences cost no more than one."""
    by_id: dict[str, int] = {}
    live = [a for a in alerts if a.resolved_at is None and a.state != ALERT_RESOLVED]
    for alert in live:
        for silence_id in alert.silenced_by:
            by_id[silence_id] = by_id.get(silence_id, 0) + 1
    counts: dict[str, int] = {}
    labelled: list[dict[str, str]] | None = None
    for silence in silences:
        if silence.state == "active":
            counts[silence.id] = by_id.get(silence.id, 0)
            continue
        if labelled is None:
            labelled = [_labels(a) for a in live]
        counts[silence.id] = sum(matches(silence.matchers, labels) for labels in labelled)
    return counts


def silence_links(client: AlertmanagerClient) -> Callable[[str], str | None]:
    """Each silence's own page on ``client``'s server: Grafana's silence editor, or the
    Alertmanager UI. The server's address is checked (http/https) once, not per silence."""
    if client.kind == KIND_GRAFANA:
        base = (client.grafana_url or client.base_url).rstrip("/")
        query = urlencode({"alertmanager": client.alertmanager_uid, "orgId": client.org_id})
        good, _problem = openable_url(f"{base}/alerting/silence/")
        if good is None:
            return lambda _sid: None
        return lambda sid: f"{base}/alerting/silence/{quote(sid, safe='')}/edit?{query}"
    base = client.base_url.rstrip("/")
    good, _problem = openable_url(f"{base}/")
    if good is None:
        return lambda _sid: None
    return lambda sid: f"{base}/#/silences/{quote(sid, safe='')}"


def build_rows(
    source: str,
    silences: Iterable[Silence],
    alerts: Sequence[Alert],
    *,
    now: datetime,
    forgotten_after: timedelta,
    url: Callable[[str], str | None] = lambda _id: None,
) -> tuple[SilenceRow, ...]:
    """The shown silences of one source (active and pending), soonest to end first."""
    shown = [s for s in silences if s.state in SHOWN_STATES]
    counts = count_firing(shown, alerts)
    rows = []
    for silence in shown:
        firing = counts.get(silence.id, 0)
        old = silence.state == "active" and now - silence.starts_at >= forgotten_after
        rows.append(
            SilenceRow(
                source=source,
                silence=silence,
                firing=firing,
                made_here=made_here(silence),
                forgotten=old and firing > 0,
                url=url(silence.id),
            )
        )
    rows.sort(key=lambda r: (r.state != "active", r.silence.ends_at, r.id))
    return tuple(rows)


def find(found: Sequence[SourceSilences], ref: str) -> SilenceRow:
    """The one active or pending silence whose id is ``ref`` or starts with it (at least
    four characters), on any source; ``SOURCE:ID`` picks the source. A clear refusal when
    there is none, or more than one."""
    text = ref.strip()
    source, _, prefix = text.rpartition(":")
    if len(prefix) < 4:
        raise guard.BadInput(f"“{clean_text(ref, limit=80)}”: give at least 4 characters of the id")
    rows = [
        row
        for each in found
        if not source or each.source == source
        for row in each.rows
        if row.id.startswith(prefix)
    ]
    if not rows:
        down = [s.source for s in found if not s.available]
        more = f" ({', '.join(down)} could not be read)" if down else ""
        raise ActionError(
            f"No active or pending silence {clean_text(ref, limit=80)}{more}; "
            "`oncall-tui silences` lists them."
        )
    if len(rows) > 1:
        named = ", ".join(f"{r.short_id} on {r.source}" for r in rows[:5])
        raise guard.BadInput(f"“{clean_text(ref, limit=80)}” matches {named}: give more of the id")
    return rows[0]


def not_available(exc: BaseException, source: str) -> str:
    """ "not available: …" in words, from a failed read of ``source``."""
    if isinstance(exc, NotFound):
        return "not available: this server has no silences API here (404)"
    words = clean_text(str(exc), limit=300).removeprefix(f"{source}: ")
    return f"not available: {words or type(exc).__name__}"


class Silences:
    """Listing, extending and expiring silences, through the configured backends."""

    def __init__(
        self,
        backends: Backends,
        *,
        readonly: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.backends = backends
        self.readonly = readonly
        self.clock = clock

    @property
    def forgotten_after(self) -> timedelta:
        return timedelta(hours=self.backends.settings.actions.forgotten_silence_hours)

    async def fetch(
        self, alerts: Mapping[str, Sequence[Alert]] | None = None
    ) -> list[SourceSilences]:
        """Every source's silences, sources in name order; all asked at once.
        ``alerts`` (by source, ``grafana:us``) are the firing alerts the caller already
        has; a source not in it has its alerts read too."""
        names = sorted(self.backends.alertmanagers)
        have = alerts or {}
        found = await asyncio.gather(*(self._one(name, have.get(name)) for name in names))
        return list(found)

    async def _one(self, name: str, alerts: Sequence[Alert] | None) -> SourceSilences:
        client = self.backends.alertmanagers[name]
        try:
            if alerts is None:
                body, listed = await asyncio.gather(
                    client.silences_body(), client.list_alerts(now=self.clock())
                )
                alerts = listed
            else:
                body = await client.silences_body()
        except ApiError as exc:
            return SourceSilences(name, problem=not_available(exc, name))
        server_date, read_at = client.server_date or (None, 0.0)
        local_at = self.clock()
        if server_date is not None:  # the local clock at the moment of the Date header
            local_at -= timedelta(seconds=max(0.0, monotonic() - read_at))
        else:
            read_at = monotonic()
        result = SourceSilences(name, server_date=server_date, read_at=read_at, local_at=local_at)
        # A thousand silences take a few hundred milliseconds to read: not on the loop
        # that draws the screen.
        rows = await asyncio.to_thread(
            lambda: build_rows(
                name,
                parse_silences(body),
                tuple(alerts),
                now=result.server_now(),
                forgotten_after=self.forgotten_after,
                url=silence_links(client),
            )
        )
        return SourceSilences(
            name, rows, server_date=server_date, read_at=read_at, local_at=local_at
        )

    # -- actions -----------------------------------------------------------------------

    def _client(self, row: SilenceRow) -> AlertmanagerClient:
        client = self.backends.alertmanagers.get(row.source)
        if client is None:
            raise ActionError(f"{row.source} is not configured; nothing was sent.")
        return client

    async def extend(self, row: SilenceRow, by: timedelta) -> str:
        """Move the silence's end ``by`` later (from its end, or from now if that has
        passed); what happened, in words. The silence is read back from the server
        first, so it goes back exactly as the server holds it."""
        guard.check("silence_extend", readonly=self.readonly, backends=self.backends)
        if by <= timedelta(0):
            raise ActionError("Extend by a positive duration; nothing was sent.")
        client = self._client(row)
        what = f"silence {row.short_id} on {row.source}"
        try:
            raw = await raw_silence(client, row.id)
        except NotFound:
            raise ActionError(f"No {what}: it is gone; nothing was sent.") from None
        except ApiError as exc:
            raise ActionError(f"Extending {what} failed: {exc}") from None
        status = raw.get("status")
        state = status.get("state") if isinstance(status, Mapping) else None
        if state == "expired":
            raise ActionError(f"The {what} has already expired; nothing was sent.")
        now = client.server_date[0] if client.server_date else self.clock()
        current = _parse(raw.get("endsAt")) or row.silence.ends_at
        ends = max(current, now) + by
        try:
            new_id = await post_new_end(client, raw, ends)
        except ApiError as exc:
            raise ActionError(f"Extending {what} failed: {exc}") from None
        end_words = f"it now ends {timefmt.countdown(ends, now)}"
        if new_id != row.id:
            return (
                f"Extended {what} by {timefmt.format_duration(by)}: {row.source} replaced "
                f"it with silence {new_id[:8]}; {end_words}."
            )
        return f"Extended {what} by {timefmt.format_duration(by)}: {end_words}."

    async def extend_all(
        self, rows: Sequence[SilenceRow], by: timedelta
    ) -> tuple[str, tuple[str, ...]]:
        """Extend several silences; the summary by source, and one line per silence."""
        guard.check("silence_extend", readonly=self.readonly, backends=self.backends)
        return await _each("Extended", rows, lambda row: self.extend(row, by))

    async def expire_all(self, rows: Sequence[SilenceRow]) -> tuple[str, tuple[str, ...]]:
        """Expire several silences; the summary by source, and one line per silence."""
        guard.check("silence_expire", readonly=self.readonly, backends=self.backends)
        return await _each("Expired", rows, self.expire)

    async def expire(self, row: SilenceRow) -> str:
        """Expire the silence now; what happened, in words."""
        guard.check("silence_expire", readonly=self.readonly, backends=self.backends)
        client = self._client(row)
        what = f"silence {row.short_id} on {row.source}"
        try:
            await client.expire_silence(row.id)
        except NotFound:
            raise ActionError(f"No {what}: it was already gone; nothing changed.") from None
        except ApiError as exc:
            raise ActionError(f"Expiring {what} failed: {exc}") from None
        if row.firing == 1:
            return f"Expired {what}; the firing alert it matched notifies again."
        if row.firing:
            return f"Expired {what}; the {row.firing} firing alerts it matched notify again."
        return f"Expired {what}."


async def _each(
    verb: str, rows: Sequence[SilenceRow], act: Callable[[SilenceRow], Awaitable[str]]
) -> tuple[str, tuple[str, ...]]:
    """Run ``act`` on each silence in turn: "Expired 3 of 4 silences (grafana:us 2 of 2,
    alertmanager:k8s 1 of 2)", and what happened to each (done, refused or failed)."""
    done: dict[str, int] = {}
    asked: dict[str, int] = {}
    lines: list[str] = []
    for row in rows:
        asked[row.source] = asked.get(row.source, 0) + 1
        try:
            lines.append(await act(row))
        except ActionError as exc:
            lines.append(str(exc))
            continue
        done[row.source] = done.get(row.source, 0) + 1
    per = ", ".join(f"{name} {done.get(name, 0)} of {n}" for name, n in sorted(asked.items()))
    total = sum(done.values())
    return f"{verb} {total} of {len(rows)} silences ({per}).", tuple(lines)


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else None


# ------------------------------------------------------------------------- notices


@dataclass
class ExpiryWatch:
    """Gives each "expires soon while its alerts fire" notice once (per silence and end:
    extended and due again, it is given again)."""

    given: set[tuple[str, str, datetime]] = field(default_factory=set)

    def check(self, found: Iterable[SourceSilences]) -> list[str]:
        notices = []
        for source in found:
            now = source.server_now()
            for row in source.rows:
                key = (row.source, row.id, row.silence.ends_at)
                if key in self.given or not expiring_soon(row, now):
                    continue
                self.given.add(key)
                notices.append(expiry_words(row, now))
        return notices


def expiry_words(row: SilenceRow, now: datetime) -> str:
    """ "Silence 1a2b3c4d on grafana:us (alertname="X") ends in 12m while 2 alerts it
    matches still fire: extend it on the silences screen (s)"."""
    what = ", ".join(row.matcher_texts[:3]) + (" …" if len(row.matcher_texts) > 3 else "")
    alerts = (
        "1 alert it matches still fires"
        if row.firing == 1
        else (f"{row.firing} alerts it matches still fire")
    )
    return (
        f"Silence {row.short_id} on {row.source} ({what}) ends "
        f"{timefmt.countdown(row.silence.ends_at, now)} while {alerts}: extend it on the "
        "silences screen (s)."
    )


def alerts_by_source(alerts: Iterable[Alert], sources: Iterable[str]) -> dict[str, list[Alert]]:
    """The caller's alerts, grouped by the Grafana/Alertmanager source they came from."""
    wanted = set(sources)
    grouped: dict[str, list[Alert]] = {name: [] for name in wanted}
    for alert in alerts:
        if alert.source_label in wanted:
            grouped[alert.source_label].append(alert)
    return grouped


def _matcher_json(m: tuple[str, str, bool, bool]) -> dict[str, Any]:
    name, value, is_regex, is_equal = m
    return {
        "name": name,
        "value": value,
        "is_regex": is_regex,
        "is_equal": is_equal,
        "text": matcher_text(m),
    }


def as_json(found: Sequence[SourceSilences]) -> dict[str, Any]:
    """``oncall-tui silences --json``: every source, its silences or why it has none."""
    sources = []
    for source in found:
        now = source.server_now()
        silences = [
            {
                "id": row.id,
                "source": row.source,
                "state": row.state,
                "created_by": row.silence.created_by,
                "comment": row.silence.comment,
                "matchers": [_matcher_json(m) for m in row.silence.matchers],
                "starts_at": row.silence.starts_at,
                "ends_at": row.silence.ends_at,
                "seconds_left": int((row.silence.ends_at - now).total_seconds()),
                "seconds_to_start": max(0, int((row.silence.starts_at - now).total_seconds())),
                "left": left_words(row, now),
                "firing": row.firing,
                "made_here": row.made_here,
                "possibly_forgotten": row.forgotten,
                "expiring_soon": expiring_soon(row, now),
                "url": row.url,
            }
            for row in source.rows
        ]
        sources.append(
            {
                "source": source.source,
                "available": source.available,
                "problem": source.problem or None,
                "server_time": now if source.available else None,
                "clock_skew_seconds": int(source.skew.total_seconds()),
                "silences": silences,
            }
        )
    return {"sources": sources}


def firing_words(n: int) -> str:
    """ "The firing alert", "The 3 firing alerts" (to be followed by what happens to it)."""
    return "The firing alert" if n == 1 else f"The {n} firing alerts"


def row_flags(row: SilenceRow) -> list[str]:
    """The short marks a silence carries: made by this tool, possibly forgotten."""
    flags = []
    if row.made_here:
        flags.append(f"made with {TOOL_NAME}")
    if row.forgotten:
        flags.append("possibly forgotten")
    return flags


def source_heading(source: SourceSilences) -> str:
    """ "grafana:us: 3 silences", "alertmanager:a: not available: …"."""
    if not source.available:
        return f"{source.source}: {source.problem}"
    n = len(source.rows)
    words = f"{source.source}: {n} silence{'' if n == 1 else 's'}"
    skew = source.skew_words()
    return f"{words} ({skew})" if skew else words


def text_lines(found: Sequence[SourceSilences]) -> list[str]:
    """The plain listing ``oncall-tui silences`` prints."""
    if not found:
        return ["No Grafana or Alertmanager configured: there are no silences to show."]
    lines: list[str] = []
    for source in found:
        lines.append(source_heading(source))
        now = source.server_now()
        for row in source.rows:
            firing = "1 firing alert" if row.firing == 1 else f"{row.firing} firing alerts"
            flags = "".join(f"  [{flag}]" for flag in row_flags(row))
            lines.append(
                f"  {row.short_id}  {row.state:<7}  {left_words(row, now)}, {firing}{flags}"
            )
            comment = f": {row.silence.comment}" if row.silence.comment else ""
            lines.append(f"            by {row.silence.created_by or '(nobody named)'}{comment}")
            lines.append(f"            {', '.join(row.matcher_texts)}")
    return lines
