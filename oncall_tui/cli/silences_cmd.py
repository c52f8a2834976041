"""``oncall-tui silences``: every active and pending silence on every Grafana and
Alertmanager, by source, with time left by each server's own clock."""

from __future__ import annotations

import argparse

from oncall_tui.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    BackendSession,
    add_common,
    print_json,
    run_async,
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "silences",
        help="every active and pending silence on every Grafana and Alertmanager",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_common(parser)
    parser.set_defaults(handler=cmd_silences)


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
