"""``oncall-tui auth set|status|forget SERVICE``: secrets in the OS keyring."""

from __future__ import annotations

import argparse
import getpass
import sys

from oncall_tui.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError, add_common

SERVICE_HELP = "incident-io, grafana:NAME or alertmanager:NAME"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("auth", help="store, inspect or remove API keys and tokens")
    inner = parser.add_subparsers(dest="auth_command", metavar="{set,status,forget}")
    inner.required = True

    set_ = inner.add_parser("set", help="store a secret in the OS keyring (hidden prompt)")
    set_.add_argument("service", help=SERVICE_HELP)
    add_common(set_)
    set_.set_defaults(handler=cmd_set)

    status = inner.add_parser("status", help="which secrets are present and where from")
    add_common(status)
    status.set_defaults(handler=cmd_status)

    forget = inner.add_parser("forget", help="remove a secret from the OS keyring")
    forget.add_argument("service", help=SERVICE_HELP)
    add_common(forget)
    forget.set_defaults(handler=cmd_forget)


def _service(name: str) -> str:
    from oncall_tui.secrets import SecretError, check_service

    try:
        return check_service(name)
    except SecretError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def cmd_set(args: argparse.Namespace) -> int:
    from oncall_tui.secrets import SecretError, set_secret

    service = _service(args.service)
    if sys.stdin.isatty():
        value = getpass.getpass(f"Secret for {service} (input hidden): ")
    else:
        value = sys.stdin.readline().rstrip("\n")
    try:
        backend = set_secret(service, value.strip())
    except SecretError as exc:
        raise CliError(str(exc)) from None
    print(f"Stored the secret for {service} in the keyring ({backend}).")
    return EXIT_OK


def cmd_forget(args: argparse.Namespace) -> int:
    from oncall_tui.secrets import SecretError, forget

    service = _service(args.service)
    try:
        removed = forget(service)
    except SecretError as exc:
        raise CliError(str(exc)) from None
    print(f"Removed {service} from the keyring." if removed else f"No {service} in the keyring.")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from oncall_tui.cli.common import load_settings
    from oncall_tui.secrets import env_name, get, keyring_backend_name, services_for

    settings = load_settings(args)
    print(f"keyring: {keyring_backend_name()}")
    missing = 0
    for service in services_for(list(settings.grafana), list(settings.alertmanager)):
        found = get(service)
        if found.value:
            print(f"  {service:<24} present ({found.origin})")
        else:
            missing += 1
            print(
                f"  {service:<24} missing — `oncall-tui auth set {service}` or {env_name(service)}"
            )
    return EXIT_FAILED if missing and not getattr(args, "demo", False) else EXIT_OK
