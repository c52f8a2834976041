"""Shared pieces of the command line: errors, exit codes, settings, JSON output."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oncall_tui.core.session import Session

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class CliError(Exception):
    """Ends a command with a message on stderr and an exit code (1 failed, 2 usage/config)."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code

    @classmethod
    def from_action(cls, exc: Exception, suffix: str = "") -> CliError:
        """An action that did not happen: exit 2 when it was refused before anything was
        sent for read-only mode, a missing backend or the item's state, else 1 (the
        server refused it or could not be reached)."""
        from oncall_tui.core import guard

        code = EXIT_FAILED
        if isinstance(exc, guard.Refused) and exc.kind != guard.NOT_ALLOWED:
            code = EXIT_USAGE
        if isinstance(exc, guard.BadInput):
            code = EXIT_USAGE
        return cls(f"{exc}{suffix}", code)


def add_common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``--config``, ``--demo`` and ``--readonly`` on the top level and on every
    subcommand (so each may come before or after the command)."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help="config file (default: $ONCALL_TUI_CONFIG, else the user config dir)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="use the embedded simulated world: no credentials, no network",
    )
    parser.add_argument(
        "--readonly",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="disable every write (ack, silence, notes, overrides…); also [ui] readonly",
    )


def refuse_writes(args: argparse.Namespace, action: str) -> bool:
    """Refuse the write ``action`` before anything is opened or sent when read-only mode
    is on (``--readonly`` or ``[ui] readonly = true``): exit 2 with the reason. Returns
    whether read-only mode is on (False when the action may go ahead)."""
    from oncall_tui.core import guard

    settings = load_settings(args)
    readonly = guard.readonly_mode(bool(getattr(args, "readonly", False)), settings)
    args.readonly = readonly
    refused = guard.why_not(action, readonly=readonly)
    if refused is not None:
        raise CliError.from_action(refused)
    return readonly


def add_confirm(parser: argparse.ArgumentParser) -> None:
    """``--yes`` and ``--dry-run`` for a command that changes the rota."""
    parser.add_argument(
        "--yes", "-y", action="store_true", help="make the change without asking first"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")


def can_confirm(args: argparse.Namespace, what: str = "this changes the rota") -> None:
    """Before anything is opened: a change (to the rota, unless ``what`` says otherwise)
    needs ``--yes``, ``--dry-run`` or a terminal to ask on (exit 2 otherwise, saying which
    to pass)."""
    if args.yes or args.dry_run or sys.stdin.isatty():
        return
    raise CliError(
        f"{what} and there is no terminal to ask on: pass --yes to make "
        "the change, or --dry-run to see the plan",
        EXIT_USAGE,
    )


def confirm(args: argparse.Namespace, question: str, what: str = "this changes the rota") -> None:
    """Ask on the terminal after the plan is printed (``--yes`` skips the question). Any
    answer but yes changes nothing and exits 1."""
    if args.yes:
        return
    can_confirm(args, what)
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise CliError("not confirmed: nothing was changed", EXIT_FAILED)


def load_settings(args: argparse.Namespace, *, require_file: bool = False):
    """Settings for a command; config errors become exit 2 with the file and field named."""
    from oncall_tui.config import ConfigError, load

    if getattr(args, "demo", False) and not getattr(args, "config", None):
        from oncall_tui.config import Settings

        return Settings.model_construct()
    try:
        return load(getattr(args, "config", None), require_file=require_file).settings
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def run_async(coro: Coroutine[Any, Any, int]) -> int:
    return asyncio.run(coro)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(data: Any) -> None:
    import json  # here, not at start-up: the dashboard never prints JSON

    json.dump(data, sys.stdout, default=_default, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


class BackendSession:
    """The session of a command (:func:`oncall_tui.core.session.open_session`): on the
    configured backends, or on the demo world with ``--demo``. ``outbox`` is passed on
    to the session and stays the caller's to close."""

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        need_incident_io: bool = True,
        outbox: Any = None,
        allow_nothing: bool = False,
    ) -> None:
        self.args = args
        self.need_incident_io = need_incident_io
        self.allow_nothing = allow_nothing
        self.outbox = outbox
        self.session: Session | None = None
        self.notes: list[str] = []  # what is left out and why, for the command to print

    async def __aenter__(self) -> Session:
        from oncall_tui.core import guard
        from oncall_tui.core.session import INCIDENT_IO, configured_services, open_session
        from oncall_tui.secrets import env_name
        from oncall_tui.secrets import get as get_secret

        demo = None
        services: list[str] | None = None
        if getattr(self.args, "demo", False):
            from oncall_tui.sim.demo import build_demo

            demo = build_demo(
                load_settings(self.args) if getattr(self.args, "config", None) else None
            )
            settings = demo.settings
        else:
            settings = load_settings(self.args)
            # Any subset of backends: only what is configured is built.
            services = configured_services(settings)
            no_key = INCIDENT_IO in services and not get_secret(INCIDENT_IO).value
            add_key = f"`oncall-tui auth set incident-io` or set {env_name(INCIDENT_IO)}"
            if no_key and self.need_incident_io:
                raise CliError(f"no incident.io API key: run {add_key} (or try --demo)", EXIT_USAGE)
            if no_key:
                services.remove(INCIDENT_IO)
                self.notes.append(f"incident.io left out: no API key ({add_key})")
            if INCIDENT_IO not in services and self.need_incident_io and not no_key:
                raise CliError(
                    f"no incident.io configured, and this command needs it: "
                    f"{guard.ADD_INCIDENT_IO} (or try --demo)",
                    EXIT_USAGE,
                )
            if not services and not self.allow_nothing:
                raise CliError(
                    "nothing is configured: add [incident_io], [grafana.NAME] or "
                    "[alertmanager.NAME] to the config (`oncall-tui config init`), "
                    "or try --demo",
                    EXIT_USAGE,
                )
        self.session = open_session(
            settings,
            demo=demo,
            readonly=bool(getattr(self.args, "readonly", False)),
            outbox=self.outbox,
            services=services,
        )
        return self.session

    async def __aexit__(self, *exc) -> None:
        if self.session is not None:
            await self.session.aclose()


async def find_me(session: Session) -> Any:
    """Me (the configured user), or a clear error: exit 2 when no email is configured."""
    from oncall_tui.core.actions import ActionError
    from oncall_tui.core.whoami import NoEmailConfigured

    try:
        return await session.whoami.require()
    except NoEmailConfigured as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except ActionError as exc:
        raise CliError(str(exc)) from None
