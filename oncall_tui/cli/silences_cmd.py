"""``oncall-tui silences``: every active and pending silence on every Grafana and
Alertmanager, by source, with time left by each server's own clock; ``silences extend``
and ``silences expire`` act on one of them, as ``e`` and ``x`` do on the silences screen."""

from __future__ import annotations

import argparse

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

ID_HELP = "the silence's id or its first characters (SOURCE:ID to pick the source)"
WHAT = "this changes a silence"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "silences",
        help="every active and pending silence on every Grafana and Alertmanager",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_common(parser)
    parser.set_defaults(handler=cmd_silences)
    actions = parser.add_subparsers(dest="silence_action", metavar="ACTION")

    extend = actions.add_parser("extend", help="move a silence's end later")
    extend.add_argument("id", help=ID_HELP)
    extend.add_argument("duration", help='how much later: "30m", "2h", "1h30m", "until 14:00"')
    add_common(extend)
    extend.set_defaults(handler=cmd_extend)

    expire = actions.add_parser("expire", help="end a silence now (its alerts notify again)")
    expire.add_argument("id", help=ID_HELP)
    add_confirm(expire)
    add_common(expire)
    expire.set_defaults(handler=cmd_expire)


def cmd_silences(args: argparse.Namespace) -> int:
    return run_async(_silences(args))


async def _silences(args: argparse.Namespace) -> int:
    from oncall_tui.core import silences

    opened = BackendSession(args, need_incident_io=False)
    async with opened as session:
        found = await session.silences.fetch()
    if args.json:
        print_json({**silences.as_json(found), "left_out": opened.notes})
    else:
        for line in silences.text_lines(found):
            print(line)
        for note in opened.notes:
            print(f"({note})")
    if not found:
        return EXIT_OK
    return EXIT_OK if any(s.available for s in found) else EXIT_FAILED


def cmd_extend(args: argparse.Namespace) -> int:
    refuse_writes(args, "silence_extend")
    return run_async(_extend(args))


async def _extend(args: argparse.Namespace) -> int:
    from oncall_tui.core import silences
    from oncall_tui.core.durations import parse_duration
    from oncall_tui.core.errors import ActionError

    try:
        by = parse_duration(args.duration)
    except ValueError as exc:
        raise CliError(f"the duration: {exc}", EXIT_USAGE) from None
    async with BackendSession(args, need_incident_io=False) as session:
        try:
            row = silences.find(await session.silences.fetch(), args.id)
            print(await session.silences.extend(row, by))
        except ActionError as exc:
            raise CliError.from_action(exc) from None
    return EXIT_OK


def cmd_expire(args: argparse.Namespace) -> int:
    if not args.dry_run:
        refuse_writes(args, "silence_expire")
    can_confirm(args, WHAT)
    return run_async(_expire(args))


async def _expire(args: argparse.Namespace) -> int:
    from oncall_tui.core import silences
    from oncall_tui.core.errors import ActionError

    async with BackendSession(args, need_incident_io=False) as session:
        try:
            row = silences.find(await session.silences.fetch(), args.id)
        except ActionError as exc:
            raise CliError.from_action(exc) from None
        print(f"Expire silence {row.id} on {row.source}: {', '.join(row.matcher_texts)}")
        print(f"  by {row.silence.created_by or '(nobody named)'}: {row.silence.comment}")
        if row.firing:
            print(f"  {silences.firing_words(row.firing)} it matches will notify again.")
        if args.dry_run:
            print("Dry run: nothing was changed.")
            return EXIT_OK
        confirm(args, "Expire this silence?", WHAT)
        try:
            print(await session.silences.expire(row))
        except ActionError as exc:
            raise CliError.from_action(exc) from None
    return EXIT_OK
