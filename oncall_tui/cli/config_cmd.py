"""``oncall-tui config init|check|path``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from oncall_tui.cli.common import EXIT_OK, EXIT_USAGE, CliError, add_common


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config", help="create, check or locate the config file")
    inner = parser.add_subparsers(dest="config_command", metavar="{init,check,path}")
    inner.required = True

    init = inner.add_parser("init", help="write a commented config file to start from")
    add_common(init)
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=cmd_init)

    check = inner.add_parser("check", help="validate the config and list every problem")
    add_common(check)
    check.set_defaults(handler=cmd_check)

    path = inner.add_parser("path", help="print where the config file is read from")
    add_common(path)
    path.set_defaults(handler=cmd_path)


def cmd_path(args: argparse.Namespace) -> int:
    from oncall_tui.config import resolve_path

    path, _ = resolve_path(getattr(args, "config", None))
    state = "exists" if path.is_file() else "does not exist yet"
    print(f"{path}  ({state})")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from oncall_tui.config import example_path, resolve_path

    path, _ = resolve_path(getattr(args, "config", None))
    if path.exists() and not args.force:
        raise CliError(f"{path} already exists; use --force to overwrite it", EXIT_USAGE)
    source = example_path()
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read the example config {source}: {exc.strerror}") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".toml.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}") from None
    print(f"Wrote {path}")
    print("Next: set [user] email, then `oncall-tui auth set incident-io` and `oncall-tui doctor`.")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from oncall_tui.config import ConfigError, load

    try:
        loaded = load(getattr(args, "config", None), require_file=True)
    except ConfigError as exc:
        raise CliError(f"config check failed: {exc}", EXIT_USAGE) from None
    settings = loaded.settings
    print(f"{Path(loaded.path)}: ok")
    print(f"  me:            {settings.user.email or '(not set: [user] email)'}")
    print(f"  time zone:     {settings.display_zone().key}")
    print(f"  incident.io:   {settings.incident_io.base_url}")
    for name, grafana in settings.grafana.items():
        print(f"  grafana.{name}: {grafana.url} (org {grafana.org_id})")
    for name, am in settings.alertmanager.items():
        print(f"  alertmanager.{name}: {am.url}")
    print(f"  theme:         {settings.ui.theme}")
    if not settings.user.email:
        print("  warning: without [user] email the dashboard cannot tell which shifts are yours")
    return EXIT_OK
