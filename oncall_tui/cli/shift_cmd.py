"""Availability and readiness from the command line: ``unavailable``, ``overrides``,
``doctor``.

``unavailable`` prints the plan (every override, who still covers, warnings) and then
applies it, unless ``--dry-run``. If a create fails half way it exits 1, lists what was
made and prints the commands that undo it. Bad input (a range in the past, an end before
the start, a range too long, an unknown colleague or schedule) exits 2 with the reason.
"""

from __future__ import annotations

import argparse
import sys

from oncall_tui.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    BackendSession,
    CliError,
    add_common,
    add_confirm,
    can_confirm,
    confirm,
    print_json,
    refuse_writes,
    run_async,
)

WHEN_HINT = (
    "ISO 8601 with or without a zone (no zone: your display zone), a date, today, "
    "tomorrow, a weekday, '<day> HH:MM', 'HH:MM', now, 'in 2h'"
)


def register(sub: argparse._SubParsersAction) -> None:
    unavailable = sub.add_parser(
        "unavailable",
        help="mark me unavailable (override to no one) or get a colleague to cover",
        description=(
            "Put an override on every layer you hold between --from and --to: to no one "
            "(pages for that layer reach no one), or to a colleague with --cover. Prints "
            "the plan and asks first (--yes skips the question; with no terminal, pass "
            "--yes or --dry-run). A date alone in --to means the end of that day."
        ),
    )
    unavailable.add_argument("--from", dest="start", required=True, metavar="T", help=WHEN_HINT)
    unavailable.add_argument("--to", dest="end", required=True, metavar="T", help=WHEN_HINT)
    unavailable.add_argument(
        "--schedule",
        action="append",
        default=[],
        metavar="S",
        help="only this schedule (name, part of a name, or id); repeat for several",
    )
    unavailable.add_argument(
        "--cover", metavar="EMAIL", help="a colleague who takes your shifts (email or name)"
    )
    add_confirm(unavailable)
    add_common(unavailable)
    unavailable.set_defaults(handler=cmd_unavailable)

    overrides = sub.add_parser(
        "overrides", help="my overrides on every schedule, soonest first (or remove one)"
    )
    overrides.add_argument("--json", action="store_true", help="machine-readable output")
    add_common(overrides)
    overrides.set_defaults(handler=cmd_overrides)
    osub = overrides.add_subparsers(dest="overrides_command", metavar="COMMAND")
    remove = osub.add_parser("remove", help="delete one of my overrides by id")
    remove.add_argument("id", help="override id (or a unique prefix) from `oncall-tui overrides`")
    add_confirm(remove)
    add_common(remove)
    remove.set_defaults(handler=cmd_overrides_remove)

    doctor = sub.add_parser(
        "doctor",
        help="check config, credentials, roles, my next shift, that a page will wake me "
        "(incident.io notification methods and rules) and that each quick link answers",
    )
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    add_common(doctor)
    doctor.set_defaults(handler=cmd_doctor)


# ------------------------------------------------------------------ unavailable


def cmd_unavailable(args: argparse.Namespace) -> int:
    if not args.dry_run:
        refuse_writes(args, "cover" if args.cover else "unavailable")
    can_confirm(args)
    return run_async(_unavailable(args))


async def _unavailable(args: argparse.Namespace) -> int:
    from oncall_tui.core import availability, timefmt
    from oncall_tui.core.actions import ActionError
    from oncall_tui.core.overrides import parse_when
    from oncall_tui.core.sync import utcnow

    async with BackendSession(args) as session:
        zone = session.settings.display_zone()
        now = utcnow()
        try:
            start = parse_when(args.start, now=now, zone=zone)
            end = parse_when(args.end, now=now, zone=zone, end=True)
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        if end <= start:
            raise CliError(
                f"--to ({timefmt.format_time(end, zone, now=now)}) is not after --from "
                f"({timefmt.format_time(start, zone, now=now)}); a date alone in --to means "
                "the end of that day",
                EXIT_USAGE,
            )
        actions = session.overrides
        try:
            me = await actions.me()
            colleague = await actions.colleague(args.cover, me) if args.cover else None
            plan, _ = await actions.plan(
                start, end, me=me, colleague=colleague, schedules=args.schedule, now=now
            )
        except ActionError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        print(f"Times in {timefmt.zone_name(zone)}.")
        if plan.errors:
            raise CliError(" ".join(plan.errors), EXIT_USAGE)
        print(availability.confirm_summary(plan, zone))
        if args.dry_run:
            print("Dry run: nothing was changed.")
            return EXIT_OK
        count = len(plan.overrides)
        if count:
            confirm(args, f"Make {'this override' if count == 1 else f'these {count} overrides'}?")
        try:
            result = await actions.apply(plan)
        except ActionError as exc:
            raise CliError.from_action(exc) from None
    if result.complete:
        print(result.summary)
        ids = " ".join(o.id for o in result.created)
        print(f"To undo: oncall-tui overrides remove ID (ids: {ids})")
        return EXIT_OK
    print(result.summary, file=sys.stderr)
    if result.created:
        print("Made so far:", file=sys.stderr)
        for o in result.created:
            rng = timefmt.format_range(o.start, o.end, zone)
            print(f"  {o.id}  {rng}", file=sys.stderr)
        if result.undo is not None:
            print(result.undo.text, file=sys.stderr)
        print("To undo what was made:", file=sys.stderr)
        for o in reversed(result.created):
            print(f"  oncall-tui overrides remove {o.id}", file=sys.stderr)
        if result.undo is not None and result.undo.recreate:
            print(
                "  (the overrides they replaced are named above; recreate them in "
                "incident.io if you still want them)",
                file=sys.stderr,
            )
    return EXIT_FAILED


# -------------------------------------------------------------------- overrides


def cmd_overrides(args: argparse.Namespace) -> int:
    return run_async(_overrides(args))


async def _overrides(args: argparse.Namespace) -> int:
    from oncall_tui.core import timefmt
    from oncall_tui.core.actions import ActionError
    from oncall_tui.core.sync import utcnow

    async with BackendSession(args) as session:
        zone = session.settings.display_zone()
        now = utcnow()
        actions = session.overrides
        try:
            mine = await actions.my_overrides(now=now)
        except ActionError as exc:
            raise CliError.from_action(exc) from None
    if args.json:
        print_json(
            [
                {
                    "id": m.id,
                    "schedule_id": m.override.schedule_id,
                    "schedule": m.schedule_name,
                    "rotation_id": m.override.rotation_id,
                    "layer_id": m.override.layer_id,
                    "layer": m.layer_name,
                    "start": m.start,
                    "end": m.end,
                    "user": None
                    if m.override.user is None or m.override.user.is_nobody
                    else {"id": m.override.user.id, "name": m.override.user.name},
                    "nobody": m.override.user is None or m.override.user.is_nobody,
                    "replaces": None
                    if m.replaces is None
                    else {"id": m.replaces.id, "name": m.replaces.name},
                    "i_cover": m.i_cover,
                    "now": m.start <= now < m.end,
                }
                for m in mine
            ]
        )
        return EXIT_OK
    if not mine:
        print("You have no upcoming overrides.")
        return EXIT_OK
    print(f"Your overrides, soonest first (times in {timefmt.zone_name(zone)}):")
    for m in mine:
        state = "  (now)" if m.start <= now < m.end else ""
        print(f"  {m.id}  {m.describe(zone)}{state}")
    print("Remove one with: oncall-tui overrides remove ID")
    return EXIT_OK


def cmd_overrides_remove(args: argparse.Namespace) -> int:
    if not args.dry_run:
        refuse_writes(args, "overrides_remove")
    can_confirm(args)
    return run_async(_overrides_remove(args))


async def _overrides_remove(args: argparse.Namespace) -> int:
    from oncall_tui.core.actions import ActionError

    async with BackendSession(args) as session:
        actions = session.overrides
        try:
            target = await actions.find_mine(args.id)
        except ActionError as exc:
            raise CliError.from_action(exc) from None
        print(f"Remove: {target.describe(actions.zone)}")
        back = (
            f"{target.replaces.name} is back on the rota for that time"
            if target.replaces is not None
            else "the rota applies again for that time"
        )
        print(f"Then {back}.")
        if args.dry_run:
            print("Dry run: nothing was changed.")
            return EXIT_OK
        confirm(args, "Remove this override?")
        try:
            outcome = await actions.remove(target)
        except ActionError as exc:
            raise CliError.from_action(exc) from None
    print(outcome.message)
    return EXIT_OK


# ----------------------------------------------------------------------- doctor


def cmd_doctor(args: argparse.Namespace) -> int:
    return run_async(_doctor(args))


_MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}


async def _doctor(args: argparse.Namespace) -> int:
    from oncall_tui.config import ConfigError, load, resolve_path
    from oncall_tui.core import doctor
    from oncall_tui.core.session import configured_services
    from oncall_tui.core.sync import utcnow
    from oncall_tui.secrets import get, keyring_backend_name, services_for

    demo = bool(getattr(args, "demo", False))
    path, _ = resolve_path(getattr(args, "config", None))
    config_error = None
    exists = path.is_file()
    if not demo or getattr(args, "config", None):
        try:
            load(getattr(args, "config", None))
        except ConfigError as exc:
            config_error = str(exc)
    config = doctor.config_check(str(path), exists=exists, error=config_error, demo=demo)
    if config_error:
        report = doctor.Report((config,))
        return _print_report(args, report)
    async with BackendSession(args, need_incident_io=False, allow_nothing=True) as session:
        settings = session.settings
        services = services_for(sorted(settings.grafana), sorted(settings.alertmanager))
        if not demo:  # only what is configured is checked; see doctor.backend_checks
            services = configured_services(settings)
        secrets = {s: (None if demo else get(s)) for s in services}
        report = await doctor.run_doctor(
            session.backends,
            now=utcnow(),
            config=config,
            secrets=secrets,
            keyring_backend=keyring_backend_name(),
            demo=demo,
        )
    return _print_report(args, report)


def _print_report(args: argparse.Namespace, report) -> int:
    if getattr(args, "json", False):
        print_json(
            {
                "ok": report.ok,
                "checks": [
                    {"name": c.name, "status": c.status, "detail": c.detail, "fix": c.fix}
                    for c in report.checks
                ],
            }
        )
        return report.exit_code
    width = max((len(c.name) for c in report.checks), default=10)
    for c in report.checks:
        print(f"{_MARK.get(c.status, c.status.upper())}  {c.name:<{width}}  {c.detail}")
        if c.fix and c.status != "pass":
            print(f"{'':4}  {'':<{width}}  fix: {c.fix}")
    print(report.summary())
    return report.exit_code
