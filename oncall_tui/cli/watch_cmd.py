"""Read commands a person can script: ``shifts``, ``alerts``; and ``ack`` / ``unack``."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from oncall_tui.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    BackendSession,
    CliError,
    add_common,
    find_me,
    print_json,
    refuse_writes,
    run_async,
)


def register(sub: argparse._SubParsersAction) -> None:
    shifts = sub.add_parser("shifts", help="my upcoming shifts (or write them as a calendar)")
    shifts.add_argument(
        "--days", type=int, default=14, metavar="N", help="how far ahead (default 14)"
    )
    shifts.add_argument("--json", action="store_true", help="machine-readable output")
    shifts.add_argument("--ics", metavar="FILE", help="write an iCalendar file of my shifts")
    add_common(shifts)
    shifts.set_defaults(handler=cmd_shifts)

    alerts = sub.add_parser("alerts", help="open pages and firing alerts from every source")
    alerts.add_argument("--json", action="store_true", help="machine-readable output")
    alerts.add_argument("--mine", action="store_true", help="only pages that reach me")
    add_common(alerts)
    alerts.set_defaults(handler=cmd_alerts)

    ack = sub.add_parser(
        "ack", help="acknowledge a page, or silence a Grafana or Alertmanager alert"
    )
    ack.add_argument("id", help="page id, alert id/fingerprint, or a unique prefix")
    add_common(ack)
    ack.set_defaults(handler=cmd_ack)

    unack = sub.add_parser("unack", help="remove the silence an ack made")
    unack.add_argument("id", help="alert id/fingerprint, or a unique prefix")
    add_common(unack)
    unack.set_defaults(handler=cmd_unack)


# ----------------------------------------------------------------------- shifts


def cmd_shifts(args: argparse.Namespace) -> int:
    if args.days < 1 or args.days > 90:
        raise CliError("--days must be between 1 and 90", EXIT_USAGE)
    return run_async(_shifts(args))


async def _shifts(args: argparse.Namespace) -> int:
    from oncall_tui.core import timefmt
    from oncall_tui.core.sync import utcnow
    from oncall_tui.core.views import my_current_shifts, my_upcoming_shifts

    async with BackendSession(args) as session:
        backends = session.backends
        me = await find_me(session)
        now = utcnow()
        end = now + timedelta(days=args.days)
        schedules, shifts, scheduled = await _load_shifts(backends, now, end)
    current = my_current_shifts(shifts, schedules, me, now)
    upcoming = [s for s in my_upcoming_shifts(shifts, schedules, me, now) if s.start < end]
    mine = sorted([*current, *upcoming], key=lambda s: (s.start, s.schedule_name))
    if args.ics:
        from oncall_tui.core.calendar import shifts_to_ics

        my_parts = [p for s in mine for p in s.parts]
        data = shifts_to_ics(
            my_parts, schedules, me, calendar_name="On call", now=now, scheduled=scheduled
        )
        try:
            with open(args.ics, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise CliError(f"cannot write {args.ics}: {exc.strerror}") from None
        print(f"Wrote {len(my_parts)} shift(s) to {args.ics}")
        return EXIT_OK
    if args.json:
        print_json(
            [
                {
                    "schedule": s.schedule_name,
                    "schedule_id": s.schedule_id,
                    "rotation_id": s.rotation_id,
                    "layer_id": s.layer_id,
                    "layer": s.layer_name,
                    "start": s.start,
                    "end": s.end,
                    "override": s.is_override,
                    "now": s.active(now),
                }
                for s in mine
            ]
        )
        return EXIT_OK
    zone = backends.settings.display_zone()
    if not mine:
        print(f"{me.name}: no shifts in the next {args.days} days.")
        return EXIT_OK
    print(f"Shifts for {me.name} ({me.email}), times in {timefmt.zone_name(zone)}:")
    for s in mine:
        flag = " (override)" if s.is_override else ""
        state = f"  on now, {timefmt.time_left(s.end, now)}" if s.active(now) else ""
        where = f"{s.schedule_name} · {s.layer_name}{flag}"
        print(f"  {_when(s.start, s.end, zone):<32} {where}{state}")
    return EXIT_OK


def _when(start, end, zone) -> str:
    """ "Mon 23 Nov 08:00–17:00 UTC": always dated, so a list of weeks reads unambiguously."""
    a, b = start.astimezone(zone), end.astimezone(zone)
    tail = b.strftime("%H:%M") if a.date() == b.date() else b.strftime("%a %d %b %H:%M")
    return f"{a:%a %d %b %H:%M}–{tail} {a.tzname()}"


async def _load_shifts(backends, start, end):
    from oncall_tui.backends.http import ApiError
    from oncall_tui.core.sources import schedules_with_entries

    io = backends.incidentio
    try:
        fetched = await schedules_with_entries(
            io, await io.list_schedules(), start - timedelta(days=1), end
        )
    except ApiError as exc:
        raise CliError(f"cannot load schedules: {exc}") from None
    schedules = tuple(schedule for schedule, _ in fetched)
    shifts = tuple(s for _, entries in fetched for s in entries.final)
    # The rota before overrides: says whom an override replaces.
    scheduled = tuple(s for _, entries in fetched for s in entries.scheduled)
    return schedules, shifts, scheduled


# ----------------------------------------------------------------------- alerts


async def _collect(backends):
    """Open pages, paths and alerts from every backend; problems listed, not fatal."""
    import asyncio

    from oncall_tui.backends.http import ApiError

    problems: list[str] = []
    pages, paths, alerts = (), (), []
    io = backends.incidentio

    async def guarded(label, coro):
        try:
            return await coro
        except ApiError as exc:
            problems.append(f"{label}: {exc}")
            return ()

    async def nothing() -> tuple:
        return ()

    # Any subset of backends: a source that is not configured is simply not asked.
    results = await asyncio.gather(
        guarded("incident.io pages", io.list_escalations()) if io else nothing(),
        guarded("incident.io paths", io.list_escalation_paths()) if io else nothing(),
        guarded("incident.io alerts", io.list_alerts(("firing",))) if io else nothing(),
        *(guarded(key, client.list_alerts()) for key, client in backends.alertmanagers.items()),
    )
    pages, paths = results[0], results[1]
    for chunk in results[2:]:
        alerts.extend(chunk)
    return tuple(pages), tuple(paths), tuple(alerts), problems


def cmd_alerts(args: argparse.Namespace) -> int:
    return run_async(_alerts(args))


async def _alerts(args: argparse.Namespace) -> int:
    from oncall_tui.core import resolved, sent, timefmt
    from oncall_tui.core.linking import configured_hosts
    from oncall_tui.core.rows import row_id, row_items, row_links, row_source
    from oncall_tui.core.sync import utcnow
    from oncall_tui.core.views import AlertFilter, AlertIndex, alert_rows
    from oncall_tui.domain import LINK_DASHBOARD, LINK_PANEL, LINK_RUNBOOK, LINK_SOURCE

    opened = BackendSession(args, need_incident_io=False)
    async with opened as session:
        backends = session.backends
        me = await session.whoami.me()
        pages, paths, alerts, problems = await _collect(backends)
        tidy = sent.split(pages, paths, me, session.sent)  # pages I sent are not rows
        hosts = configured_hosts(session.settings)
        now = utcnow()
        index = AlertIndex(alerts)
        rows = alert_rows(tidy.rows, index, paths, me, AlertFilter(mine_only=args.mine))
        traces, _ = await _traces(session, rows, paths, me, now, problems, mine=args.mine)
    by_key = {a.key: a for a in alerts}
    behind = {r.key: row_source(r, pages, by_key, index.links, hosts) for r in rows}
    sent_of = _sent_by_row(rows, tidy.sent, pages, by_key)
    attached = {s.page.id for items in sent_of.values() for s in items}
    loose = [s for s in tidy.sent if s.page.id not in attached]
    if args.json:
        out = []
        for r in rows:
            links = row_links(row_items(r, pages, by_key))
            view = behind[r.key]
            source_alert = None
            if view is not None and view.alert is not None:
                own = row_links([view.alert])
                source_alert = {
                    "key": view.alert.key,
                    "source": view.alert.source_label,
                    "state": r.source_state,
                    "title": view.alert.title,
                    "matched_by": r.matched_by,
                    "match": view.words,
                    "runbook": own[LINK_RUNBOOK],
                    "panel": own[LINK_PANEL],
                    "dashboard": own[LINK_DASHBOARD],
                }
            out.append(
                {
                    "id": row_id(r),
                    "key": r.key,
                    "kind": r.kind,
                    "mine": r.mine,
                    "title": r.title,
                    "source": r.source,
                    "severity": r.severity,
                    "state": r.state,
                    "went": r.went or None,
                    "started_at": r.started_at,
                    "count": r.count,
                    "level": r.level,
                    "next_level_at": r.next_level_at,
                    "runbook": links[LINK_RUNBOOK],
                    "dashboard": links[LINK_DASHBOARD],
                    "panel": links[LINK_PANEL],
                    "source_url": links[LINK_SOURCE],
                    "runbook_state": r.runbook,
                    "dashboard_state": r.dashboard,
                    "page_ids": r.page_ids,
                    "alert_keys": r.alert_keys,
                    "sent": [s.page.id for s in sent_of.get(r.key, ())],
                    "source_alert": source_alert,
                    "source_alert_missing": (
                        view.words if view is not None and view.alert is None else None
                    ),
                }
            )
        print_json(
            {
                "rows": out,
                "recently_resolved": [_trace_json(t) for t in traces],
                "sent": [_sent_json(s) for s in tidy.sent],
                "problems": problems,
                "left_out": opened.notes,
            }
        )
    else:
        zone = backends.settings.display_zone()
        if not rows:
            print("Nothing open: no pages, no firing alerts.")
        for r in rows:
            mark = "*" if r.mine else " "
            count = f" ×{r.count}" if r.count > 1 else ""
            level = f" L{r.level}" if r.level else ""
            went = f" → {r.went}" if r.went else ""
            print(
                f"{mark} {r.severity[:8]:<8} {r.state[:9]:<9}{level:<4} "
                f"{timefmt.ago(r.started_at, now):>8}  {r.title}{count}{went}  [{r.source}]  "
                f"id {row_id(r)}"
            )
            view = behind[r.key]
            if view is not None and view.alert is not None:
                print(f"    ← {view.alert.source_label} {r.source_state}, {view.words}")
            elif view is not None:
                print(f"    ← {view.words}")
            for item in sent_of.get(r.key, ()):
                print(f"    ↳ sent by me: {sent.sent_words(item, now, zone)}")
        if loose:
            print("Sent by me (not alerts):")
        for item in loose:
            about = f" (incident {item.incident_id})" if item.incident_id else ""
            print(f"    ↳ {sent.sent_words(item, now, zone)}{about}")
        if traces:
            minutes = session.settings.ui.resolved_minutes
            print(f"Ended in the last {minutes} minutes (nothing to do):")
        for t in traces:
            count = f" ×{t.count}" if t.count > 1 else ""
            print(
                f"✓ {t.severity[:8]:<8} {resolved.ended_words(t, zone):<20} "
                f"{t.title}{count}  [{t.source}]  id {row_id(t)}"
            )
        for problem in problems:
            print(f"! {problem}")
    for note in opened.notes:
        print(f"oncall-tui: {note}", file=sys.stderr)
    return EXIT_FAILED if problems and not rows else EXIT_OK


def _sent_by_row(rows, items, pages, by_key) -> dict:
    """The pages I sent that belong to each row (by row key)."""
    from oncall_tui.core import sent

    if not items:
        return {}
    page_alerts = {p.id: p.alert_ids for p in pages}
    out = {}
    for r in rows:
        ids = [by_key[k].id for k in r.alert_keys if k in by_key]
        ids += [a for pid in r.page_ids for a in page_alerts.get(pid, ())]
        found = sent.belonging(items, sent.row_tokens(r.page_ids, r.alert_keys, ids))
        if found:
            out[r.key] = found
    return out


async def _traces(session, rows, paths, me, now, problems, *, mine=False):
    """Rows for what ended within ``[ui] resolved_minutes`` (pages no longer open and
    incident.io alerts that resolved), none of them open again; and their alerts by key.
    Grafana and Alertmanager do not list resolved alerts: theirs cannot be shown here."""
    from datetime import timedelta

    from oncall_tui.backends.http import ApiError
    from oncall_tui.core import resolved, sent
    from oncall_tui.core.views import AlertFilter, alert_rows

    io = session.backends.incidentio
    keep = timedelta(minutes=session.settings.ui.resolved_minutes)
    if io is None or keep <= timedelta(0):
        return (), {}
    try:
        pages, alerts = await resolved.recently_closed(io, now, keep)
    except ApiError as exc:
        problems.append(f"incident.io, what ended lately: {exc}")
        return (), {}
    pages = sent.split(pages, paths, me, session.sent).rows
    wanted = AlertFilter(mine_only=mine, include_resolved=True)
    closed = alert_rows(pages, alerts, paths, me, wanted)
    open_keys = {r.key for r in rows}
    traces = resolved.closed_rows(closed, pages, alerts, now, keep)
    return tuple(t for t in traces if t.key not in open_keys), {a.key: a for a in alerts}


def _trace_json(row) -> dict:
    from oncall_tui.core.rows import row_id

    return {
        "id": row_id(row),
        "key": row.key,
        "kind": row.kind,
        "title": row.title,
        "source": row.source,
        "severity": row.severity,
        "state": row.state,
        "resolved_at": row.resolved_at,
        "count": row.count,
        "page_ids": row.page_ids,
        "alert_keys": row.alert_keys,
    }


def _sent_json(item) -> dict:
    page = item.page
    return {
        "id": page.id,
        "kind": item.kind,
        "title": page.title,
        "status": page.status,
        "created_at": page.created_at,
        "belongs_to": list(item.parents),
        "incident_ids": page.incident_ids,
        "alert_ids": page.alert_ids,
    }


# ------------------------------------------------------------------ ack, unack


async def _find(session, ident: str):
    """Everything the row named by ``ident`` stands for: any ID ``alerts`` printed (a
    page's id, an alert group's id, which acts on every member), or an alert's own key,
    id or fingerprint, or a unique beginning of one."""
    from oncall_tui.core import sent
    from oncall_tui.core.rows import find_rows, row_id, row_targets
    from oncall_tui.core.sync import utcnow
    from oncall_tui.core.views import AlertFilter, alert_rows

    pages, paths, alerts, problems = await _collect(session.backends)
    me = await session.whoami.me()  # a page I sent to myself is still a row
    tidy = sent.split(pages, paths, me, session.sent)
    rows = alert_rows(tidy.rows, alerts, paths, None, AlertFilter())
    by_key = {a.key: a for a in alerts}
    hits = find_rows(rows, ident, by_key)
    if not hits:
        traces, ended_by_key = await _traces(session, rows, paths, me, utcnow(), problems)
        ended = find_rows(traces, ident, ended_by_key)
        if len(ended) == 1:  # it ended lately: say so, send nothing (exit 0)
            raise AlreadyDone(_ended_reason(session, ended[0]))
        extra = f" ({'; '.join(problems)})" if problems else ""
        # A source that did not answer may hold it (1); else the id is wrong (2).
        code = EXIT_FAILED if problems else EXIT_USAGE
        raise CliError(f"no open page or firing alert matches {ident!r}{extra}", code)
    if len(hits) > 1:
        listed = ", ".join(f"{row_id(r)} ({r.title})" for r in hits[:5])
        raise CliError(
            f"{ident!r} matches {len(hits)} rows: {listed}; give more of the id", EXIT_USAGE
        )
    return row_targets(hits[0], pages, by_key)


def cmd_ack(args: argparse.Namespace) -> int:
    refuse_writes(args, "ack")
    return run_async(_act(args, "ack"))


def cmd_unack(args: argparse.Namespace) -> int:
    refuse_writes(args, "unack")
    return run_async(_act(args, "unack"))


class AlreadyDone(Exception):
    """What the ID names has already ended; nothing was sent."""


def _ended_reason(session, row) -> str:
    """The guard's words for a key on a row that ended ("… already resolved at 14:02;
    nothing was sent."), as the dashboard says them."""
    from oncall_tui.core import guard, resolved

    zone = session.settings.display_zone()
    target = guard.Target(row.kind, row.state, row.title, resolved.ended_words(row, zone))
    refused = guard.why_not("ack", readonly=False, target=target)
    return str(refused)


async def _act(args: argparse.Namespace, verb: str) -> int:
    from oncall_tui.core.actions import ActionError
    from oncall_tui.domain import Alert

    async with BackendSession(args, need_incident_io=False) as session:
        try:
            items = await _find(session, args.id)
        except AlreadyDone as done:
            print(done)
            return EXIT_OK
        actions = session.actions
        try:
            if verb == "ack":
                alerts = [i for i in items if isinstance(i, Alert) and i.source != "incident.io"]
                plans = await actions.plan_silences(alerts) if alerts else []
                for plan in plans:  # what each silence would match, before it is made
                    print(plan.words())
                outcome = await actions.ack_all(items, plans)
            else:
                outcome = await actions.unack_all(items)
        except ActionError as exc:
            raise CliError.from_action(exc) from None
    print(outcome.message)
    for line in outcome.details:
        print(f"  {line}")
    if outcome.failed:
        print("Run the same command again to retry the ones that failed.")
        return EXIT_FAILED
    return EXIT_OK
