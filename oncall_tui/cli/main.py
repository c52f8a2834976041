"""The ``oncall-tui`` command.

argparse, not click: it ships with Python (no dependency, nothing to import at start-up,
which keeps ``oncall-tui --demo`` quick), and its sub-parsers cover everything we need.
Each command group lives in its own module with a ``register(subparsers)`` function.

Exit codes: 0 done or already done; 1 the action failed at the server; 2 usage,
configuration or read-only mode (nothing was sent).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from oncall_tui import __version__
from oncall_tui.cli.common import EXIT_OK, EXIT_USAGE, CliError, add_common

EXIT_CODES = (
    "Exit codes: 0 done or already done; 1 the action failed at the server; "
    "2 usage, configuration or read-only mode (nothing was sent)."
)

COMMAND_MODULES = (
    "oncall_tui.cli.config_cmd",
    "oncall_tui.cli.auth_cmd",
    "oncall_tui.cli.watch_cmd",
    "oncall_tui.cli.incident_cmd",
    "oncall_tui.cli.shift_cmd",
    "oncall_tui.cli.links_cmd",
    "oncall_tui.cli.silences_cmd",
    "oncall_tui.cli.sim_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oncall-tui",
        description=(
            "A keyboard-only terminal dashboard for the on-call engineer on incident.io "
            "and Grafana. With no command, starts the dashboard."
        ),
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"oncall-tui {__version__}")
    add_common(parser, top=True)
    parser.add_argument("--theme", metavar="NAME", help="theme to start with")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from oncall_tui.logs import setup_logging

    setup_logging()
    handler = getattr(args, "handler", None) or run_dashboard
    try:
        return int(handler(args) or EXIT_OK)
    except CliError as exc:
        print(f"oncall-tui: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("oncall-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


def run_dashboard(args: argparse.Namespace) -> int:
    from oncall_tui.cli.common import load_settings

    settings = load_settings(args)
    if not args.demo and not settings.user.email:
        raise CliError(
            "no [user] email configured. Run `oncall-tui config init` and set it, "
            "or try `oncall-tui --demo` first.",
            EXIT_USAGE,
        )
    from oncall_tui.ui.launch import launch

    return launch(settings, demo=args.demo, readonly=args.readonly, theme=args.theme)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
