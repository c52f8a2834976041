"""Incident commands: ``declare``, ``incidents``, ``note``, ``timeline`` and ``outbox``."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from oncall_tui.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    BackendSession,
    CliError,
    add_common,
    print_json,
    refuse_writes,
    run_async,
)


def register(sub: argparse._SubParsersAction) -> None:
    declare = sub.add_parser(
        "declare",
        help="declare an incident (you lead it)",
        description=(
            "Declare an incident. Safe to retry: pass the same --key again and incident.io "
            "returns the incident it already opened instead of a second one."
        ),
    )
    declare.add_argument("name", metavar="NAME", help="what is broken, in a few words")
    declare.add_argument(
        "--severity",
        "-s",
        required=True,
        metavar="S",
        help="severity name or id, e.g. minor, major, critical",
    )
    declare.add_argument("--summary", metavar="TEXT", help="what we know so far")
    declare.add_argument(
        "--type", dest="incident_type", metavar="TYPE", help="incident type name or id"
    )
    declare.add_argument("--private", action="store_true", help="a private incident")
    declare.add_argument("--no-lead", action="store_true", help="do not make me the incident lead")
    declare.add_argument(
        "--key", help="idempotency key: reuse the one printed by a failed attempt to retry it"
    )
    declare.add_argument("--json", action="store_true", help="machine-readable output")
    add_common(declare)
    declare.set_defaults(handler=cmd_declare)

    incidents = sub.add_parser("incidents", help="open and post-incident incidents")
    incidents.add_argument("--json", action="store_true", help="machine-readable output")
    add_common(incidents)
    incidents.set_defaults(handler=cmd_incidents)

    note = sub.add_parser(
        "note",
        help="add a note to an incident's timeline, through the local outbox; with "
        "incident.io down it is queued (by the id kept from the last list, else by "
        "reference) and exits 0",
    )
    note.add_argument("incident", metavar="INCIDENT", help="INC-123, 123 or the incident id")
    note.add_argument("text", metavar="TEXT", help="the note; '-' reads it from standard input")
    add_common(note)
    note.set_defaults(handler=cmd_note)

    timeline = sub.add_parser("timeline", help="an incident's whole timeline")
    timeline.add_argument("incident", metavar="INCIDENT", help="INC-123, 123 or the incident id")
    timeline.add_argument(
        "--markdown", action="store_true", help="markdown for the incident analysis"
    )
    timeline.add_argument("--output", "-o", metavar="FILE", help="write to FILE (markdown)")
    timeline.add_argument("--utc", action="store_true", help="times in UTC")
    add_common(timeline)
    timeline.set_defaults(handler=cmd_timeline)

    outbox = sub.add_parser(
        "outbox",
        help="notes and updates waiting to reach incident.io, numbered; held ones say behind which",
    )
    outbox.add_argument("--json", action="store_true", help="machine-readable output")
    outbox.add_argument("--all", action="store_true", help="include delivered items")
    outbox.add_argument("--send", action="store_true", help="try to send what is waiting, now")
    add_common(outbox)
    outbox.set_defaults(handler=cmd_outbox)
    what = outbox.add_subparsers(dest="outbox_command", metavar="ACTION")
    retry = what.add_parser(
        "retry",
        help="put refused notes and updates back in the queue and try them now",
        description=(
            "Put refused (or skipped) notes and updates back in the queue, in their place, "
            "and try to send them now. Name them by the number `oncall-tui outbox` shows, "
            "or give --all for every refused one."
        ),
    )
    retry.add_argument("ids", nargs="*", metavar="ID", help="item numbers (or keys)")
    retry.add_argument("--all", action="store_true", dest="every", help="every refused item")
    add_common(retry)
    retry.set_defaults(handler=cmd_outbox_retry)
    skip = what.add_parser(
        "skip",
        help="set a refused note aside (kept, not sent) so the ones held behind it go",
    )
    skip.add_argument("ids", nargs="+", metavar="ID", help="item numbers (or keys)")
    add_common(skip)
    skip.set_defaults(handler=cmd_outbox_skip)


# ----------------------------------------------------------------------- helpers


def _open_outbox(args: argparse.Namespace):
    from oncall_tui.core.incidents import outbox_path
    from oncall_tui.core.outbox import Outbox, OutboxError

    try:
        outbox = Outbox(outbox_path(demo=bool(getattr(args, "demo", False))))
    except OutboxError as exc:
        raise CliError(str(exc)) from None
    if outbox.repaired:
        print(f"oncall-tui: {outbox.repaired}", file=sys.stderr)
    return outbox


def _print_back(text: str, why: str) -> int:
    """A note that could not be kept: say why, and give the text back to keep."""
    print(
        f"oncall-tui: your note was NOT saved: {why}\n"
        "Here it is, so it is not lost (copy it, fix the cause, then run the command again):",
        file=sys.stderr,
    )
    print(text)
    return EXIT_FAILED


def _zone(settings, utc: bool):
    from oncall_tui.core import timefmt

    return timefmt.UTC_ZONE if utc else settings.display_zone()


# ----------------------------------------------------------------------- declare


def cmd_declare(args: argparse.Namespace) -> int:
    refuse_writes(args, "declare")
    return run_async(_declare(args))


async def _declare(args: argparse.Namespace) -> int:
    from oncall_tui.core.actions import ActionError
    from oncall_tui.core.guard import BadInput, Refused
    from oncall_tui.core.incidents import DeclareDraft

    draft = DeclareDraft(
        name=args.name,
        summary=args.summary or "",
        severity_id=args.severity,
        type_id=args.incident_type or "",
        private=args.private,
        me_as_lead=not args.no_lead,
    )
    if args.key:
        draft.key = args.key
    async with BackendSession(args) as session:
        actions = session.incidents
        try:
            declared = await actions.declare(draft)
        except ActionError as exc:
            retry = (
                "" if isinstance(exc, Refused | BadInput) else f" (retry with --key {draft.key})"
            )
            raise CliError.from_action(exc, retry) from None
    incident = declared.incident
    if args.json:
        print_json(
            {
                "id": incident.id,
                "reference": incident.reference,
                "name": incident.name,
                "severity": incident.severity.name if incident.severity else None,
                "status": incident.status.name,
                "visibility": incident.visibility,
                "lead": incident.lead.name if incident.lead else None,
                "permalink": incident.permalink,
                "slack_channel": incident.slack_channel_name,
                "key": draft.key,
            }
        )
    else:
        print(declared.message)
        if incident.permalink:
            print(incident.permalink)
    return EXIT_OK


# --------------------------------------------------------------------- incidents


def cmd_incidents(args: argparse.Namespace) -> int:
    return run_async(_incidents(args))


async def _incidents(args: argparse.Namespace) -> int:
    from oncall_tui.core import timefmt
    from oncall_tui.core.actions import ActionError
    from oncall_tui.core.sync import utcnow

    try:  # the list is kept there too, so notes can be taken when incident.io is down
        outbox = _open_outbox(args)
    except CliError:
        outbox = None
    try:
        async with BackendSession(args, outbox=outbox) as session:
            actions = session.incidents
            try:
                incidents = await actions.list_incidents()
            except ActionError as exc:
                raise CliError.from_action(exc) from None
            me = await actions.me()
    finally:
        if outbox is not None:
            outbox.close()
    now = utcnow()
    if args.json:
        print_json(
            [
                {
                    "id": i.id,
                    "reference": i.reference,
                    "name": i.name,
                    "status": i.status.name,
                    "category": i.status.category,
                    "severity": i.severity.name if i.severity else None,
                    "lead": i.lead.name if i.lead else None,
                    "created_at": i.created_at,
                    "my_roles": list(i.roles_of(me.id)) if me else [],
                }
                for i in incidents
            ]
        )
        return EXIT_OK
    if not incidents:
        print("No open incidents.")
    for i in incidents:
        mine = ", ".join(i.roles_of(me.id)) if me else ""
        severity = i.severity.name if i.severity else "-"
        lead = i.lead.name if i.lead else "no lead"
        print(
            f"{i.reference:<9} {severity[:9]:<9} {i.status.name[:13]:<13} "
            f"{timefmt.ago(i.created_at, now):>8}  {i.name}  (lead: {lead}"
            + (f"; you: {mine})" if mine else ")")
        )
    return EXIT_OK


# -------------------------------------------------------------------------- note


def cmd_note(args: argparse.Namespace) -> int:
    refuse_writes(args, "note")
    text = sys.stdin.read() if args.text == "-" else args.text
    return run_async(_note(args, text))


async def _note(args: argparse.Namespace, text: str) -> int:
    from oncall_tui.core.actions import ActionError
    from oncall_tui.core.incidents import NotSaved
    from oncall_tui.core.outbox import STATE_DELIVERED

    try:
        outbox = _open_outbox(args)
    except CliError as exc:
        return _print_back(text, str(exc))
    try:
        async with BackendSession(args, outbox=outbox) as session:
            actions = session.incidents
            try:
                queued, how = await actions.note_by_ref(args.incident, text)
            except NotSaved as exc:
                return _print_back(text, str(exc))
            except ActionError as exc:
                raise CliError.from_action(exc) from None
            reference = queued.item.payload.get("incident_ref") or args.incident
            if how:
                print(f"Note queued for {reference}: {how}.", file=sys.stderr)
            item = await actions.wait_for(queued.item.key)
    finally:
        outbox.close()
    if item is not None and item.state == STATE_DELIVERED:
        print(f"Note added to {reference}. {item.status_text}")
        return EXIT_OK
    if item is not None and item.is_open:
        print(
            f"Note saved, not sent yet ({item.status_text}). It waits in {outbox.path} as "
            f"item {item.id}; the dashboard or `oncall-tui outbox --send` sends it."
        )
        return EXIT_OK
    reason = item.status_text if item else "unknown"
    raise CliError(f"note not sent: {reason}")


# ---------------------------------------------------------------------- timeline


def cmd_timeline(args: argparse.Namespace) -> int:
    return run_async(_timeline(args))


async def _timeline(args: argparse.Namespace) -> int:
    from oncall_tui.core import timefmt
    from oncall_tui.core.actions import ActionError
    from oncall_tui.core.sync import utcnow

    outbox = _open_outbox(args)
    try:
        async with BackendSession(args, outbox=outbox) as session:
            actions = session.incidents
            try:
                incident = await actions.find(args.incident)
                data = await actions.load_timeline(incident)
            except ActionError as exc:
                raise CliError.from_action(exc) from None
            zone = _zone(session.settings, args.utc)
            now = utcnow()
            entries = actions.entries(data)
            markdown = actions.markdown(data, tz=zone, now=now)
    finally:
        outbox.close()
    for problem in data.problems:
        print(f"note: {problem}", file=sys.stderr)
    if args.output:
        path = Path(args.output)
        try:
            path.write_text(markdown, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {path}: {exc.strerror}") from None
        print(f"Wrote the timeline of {incident.reference} ({len(entries)} entries) to {path}")
        return EXIT_OK
    if args.markdown:
        sys.stdout.write(markdown)
        return EXIT_OK
    print(f"{incident.reference}: {incident.name}")
    print(
        f"{incident.status.name} · "
        f"{incident.severity.name if incident.severity else 'no severity'} · "
        f"times in {timefmt.zone_name(zone)}"
    )
    for entry in entries:
        when = timefmt.format_time(entry.at, zone, now=now)
        flag = f" [{entry.state or 'pending'}]" if entry.pending else ""
        author = f" {entry.author}:" if entry.author else ""
        print(f"{when}  {entry.kind:<8}{author} {entry.text}{flag}")
        for line in entry.detail.splitlines():
            print(f"{'':>20}{line}")
    return EXIT_OK


# ------------------------------------------------------------------------ outbox


def cmd_outbox_retry(args: argparse.Namespace) -> int:
    refuse_writes(args, "outbox_retry")
    return run_async(_outbox_retry(args))


async def _outbox_retry(args: argparse.Namespace) -> int:
    from oncall_tui.core.actions import ActionError
    from oncall_tui.core.incidents import delivery_words

    if not args.ids and not args.every:
        raise CliError("name the items to resend (numbers from `oncall-tui outbox`) or --all", 2)
    outbox = _open_outbox(args)
    try:
        async with BackendSession(args, outbox=outbox) as session:
            actions = session.incidents
            try:
                outcome = actions.resend(refs=list(args.ids))
            except ActionError as exc:
                raise CliError.from_action(exc) from None
            print(outcome.message)
            outbox.recover()
            results = await outbox.deliver_due(actions.send, fallback=actions.reroute)
        for result in results:
            said = delivery_words(result)
            if said is not None:
                print(said[0], file=sys.stderr)
        left = [i for i in outbox.undelivered() if i.needs_user]
    finally:
        outbox.close()
    return EXIT_FAILED if left else EXIT_OK


def cmd_outbox_skip(args: argparse.Namespace) -> int:
    refuse_writes(args, "outbox_skip")
    outbox = _open_outbox(args)
    try:
        for ref in args.ids:
            item = outbox.by_ref(ref)
            if item is None:
                raise CliError(f"no outbox item {ref!r}")
            if not item.needs_user:
                raise CliError(f"item {item.id} was not refused ({item.state}); nothing to skip")
            behind = [h for h, b in outbox.held(item.target) if b.key == item.key]
            outbox.dismiss(item.key)
            print(
                f"Skipped item {item.id}: kept in {outbox.path}, not sent"
                + (f"; {len(behind)} item(s) held behind it now go." if behind else ".")
            )
    finally:
        outbox.close()
    return EXIT_OK


def cmd_outbox(args: argparse.Namespace) -> int:
    if args.send:
        refuse_writes(args, "outbox_send")
    return run_async(_outbox(args))


async def _outbox(args: argparse.Namespace) -> int:
    from oncall_tui.core import timefmt
    from oncall_tui.core.incidents import delivery_words, item_summary
    from oncall_tui.core.outbox import STATE_DELIVERED, STATE_DISMISSED
    from oncall_tui.core.sync import utcnow

    outbox = _open_outbox(args)
    try:
        if args.send:
            async with BackendSession(args, outbox=outbox) as session:
                actions = session.incidents
                outbox.recover()
                # "Send now": whatever wait a backoff or a Retry-After set, try at once.
                outbox.retry_now()
                results = await outbox.deliver_due(actions.send, utcnow(), fallback=actions.reroute)
            for result in results:
                said = delivery_words(result)
                if said is not None:
                    print(said[0], file=sys.stderr)
        try:
            items = outbox.items()
            held = {h.key: b for h, b in outbox.held()}
        except sqlite3.DatabaseError as exc:
            raise CliError(
                f"the outbox {outbox.path} cannot be read ({exc}); run the command again to "
                "repair it (the file is moved aside and every readable item kept)"
            ) from None
        if not args.all:
            items = [i for i in items if i.state not in (STATE_DELIVERED, STATE_DISMISSED)]
    finally:
        outbox.close()
    rows = []
    for i in items:
        row = item_summary(i)
        blocker = held.get(i.key)
        if blocker is not None:
            row["held_by"] = blocker.id
            row["status"] = (
                f"Held: waits for item {blocker.id}, which was refused "
                f"(`oncall-tui outbox retry {blocker.id}` or `oncall-tui outbox skip "
                f"{blocker.id}`). " + row["status"]
            )
        rows.append(row)
    if args.json:
        print_json({"outbox": str(outbox.path), "items": rows})
        return EXIT_OK
    if not rows:
        print(f"Nothing waiting ({outbox.path}).")
        return EXIT_OK
    now = utcnow()
    print(f"{len(rows)} item(s) in {outbox.path}:")
    for row in rows:
        first = row["text"].splitlines()[0][:80] if row["text"] else ""
        what = " · ".join(p for p in (row["change"], first) if p)
        state = "held" if row.get("held_by") else row["state"]
        print(
            f"  {row['id']:>4} {state:<15} {row['incident']:<9} {row['kind']:<6} "
            f"{timefmt.ago(row['created_at'], now):>8}  {what}"
        )
        print(f"  {'':>4} {'':<15} {row['status']}")
    failed = [r for r in rows if r["state"] not in ("pending", "sending")]
    return EXIT_FAILED if failed else EXIT_OK
