"""``oncall-tui links``: the quick links from ``[[ui.links]]``, grouped by region."""

from __future__ import annotations

import argparse

from oncall_tui.cli.common import EXIT_OK, add_common, load_settings, print_json


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("links", help="the quick links ([[ui.links]]), grouped by region")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_common(parser)
    parser.set_defaults(handler=cmd_links)


def cmd_links(args: argparse.Namespace) -> int:
    from oncall_tui.core.links import by_region, quick_links

    settings = load_settings(args)
    ui = settings.ui
    if getattr(args, "demo", False):
        from oncall_tui.sim.demo import demo_ui

        ui = demo_ui(ui)
    links = quick_links(ui.links)
    if args.json:
        print_json([link.as_json() for link in links])
        return EXIT_OK
    if not links:
        print("No quick links: add [[ui.links]] entries (name, url, region) to the config.")
        return EXIT_OK
    for label, group in by_region(links):
        print(f"{label}:")
        width = max(len(link.name) for link in group)
        for link in group:
            print(f"  {link.name:<{width}}  {link.url}")
    return EXIT_OK
