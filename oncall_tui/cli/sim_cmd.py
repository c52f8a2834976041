"""``oncall-tui sim serve``: the simulated incident.io over real HTTP on loopback."""

from __future__ import annotations

import argparse

from oncall_tui.cli.common import EXIT_OK, EXIT_USAGE, CliError, add_common, load_settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sim", help="the simulated world, for drills and tests")
    inner = parser.add_subparsers(dest="sim_command", metavar="{serve}")
    inner.required = True
    serve = inner.add_parser(
        "serve",
        help="serve the simulated incident.io API on loopback and print a config for it",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", metavar="HOST", help="loopback address (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, default=8025, metavar="N", help="port (default 8025; 0: any free)"
    )
    serve.add_argument(
        "--token", default=None, metavar="TOKEN", help="bearer token the simulator accepts"
    )
    serve.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="make the scenario's waits N times shorter",
    )
    serve.add_argument(
        "--seed", type=int, default=7, metavar="N", help="seed for the world (default 7)"
    )
    serve.add_argument(
        "--me", default=None, metavar="EMAIL", help="the email of 'me' (default: [user] email)"
    )
    # Like every command: --config (its [user] email is 'me' unless --me says otherwise);
    # --demo and --readonly change nothing here, the simulator is always the demo world.
    serve.add_argument(
        "--entry-layer-ids",
        action="store_true",
        help="schedule entries name their layer, as before incident.io's 2.29.0 schema "
        "(which names only the rotation)",
    )
    add_common(serve)
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from oncall_tui.sim.incidentio import DEFAULT_TOKEN
    from oncall_tui.sim.server import serve
    from oncall_tui.sim.world import DEFAULT_ME_EMAIL

    if not 0 <= args.port <= 65535:
        raise CliError("--port must be between 0 and 65535", EXIT_USAGE)
    if args.speed <= 0:
        raise CliError("--speed must be above zero", EXIT_USAGE)
    me = args.me
    if me is None and getattr(args, "config", None):
        me = load_settings(args).user.email
    try:
        serve(
            args.host,
            args.port,
            token=args.token or DEFAULT_TOKEN,
            speed=args.speed,
            seed=args.seed,
            me_email=me or DEFAULT_ME_EMAIL,
            entry_layer_ids=args.entry_layer_ids,
        )
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    except KeyboardInterrupt:
        pass
    return EXIT_OK
