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


def dashboard_args(argv: list[str] | None) -> argparse.Namespace | None:
    """The options when ``argv`` only starts the dashboard (``--demo``, ``--config``…),
    read without importing every command's module: start-up draws the first frame
    sooner. None when there is a command, a help or version request, or anything else
    for the full parser to decide (and explain)."""
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help", "--version") for a in argv):
        return None
    parser = argparse.ArgumentParser(prog="oncall-tui", add_help=False)
    add_common(parser, top=True)
    parser.add_argument("--theme")
    try:
        args, rest = parser.parse_known_args(argv)
    except SystemExit:  # malformed: the full parser says what is wrong
        return None
    if rest:
        return None
    args.command = None
    return args


def main(argv: list[str] | None = None) -> int:
    args = dashboard_args(argv)
    if args is None:
        args = build_parser().parse_args(argv)
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
    import gc

    # What start-up imports and builds lives as long as the app: no collection meanwhile
    # (oncall_tui.ui.launch turns the collector on again once the session is open).
    gc.disable()
    from oncall_tui.core.startup import start_key
    from oncall_tui.ui.launch import launch, launch_from_cache

    def settings():
        from oncall_tui.cli.common import load_settings

        loaded = load_settings(args)
        if not args.demo and not loaded.user.email:
            raise CliError(
                "no [user] email configured. Run `oncall-tui config init` and set it, "
                "or try `oncall-tui --demo` first.",
                EXIT_USAGE,
            )
        return loaded

    how = {"demo": args.demo, "readonly": args.readonly, "theme": args.theme}
    # Drawn from the last run's cache before the settings are loaded, when there is one
    # made with this configuration; else the settings first, then the first frame.
    code = launch_from_cache(settings, config=args.config, **how)
    if code is not None:
        return code
    gc.enable()  # launch() pauses it again while it builds the app
    return launch(settings(), start_key=start_key(args.config, demo=args.demo), **how)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
