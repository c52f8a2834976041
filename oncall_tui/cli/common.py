"""Shared pieces of the command line: errors, exit codes, settings, JSON output."""

from __future__ import annotations

import argparse
import asyncio
import json
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


def add_common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``--config`` and ``--demo`` on the top level and on every subcommand."""
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
    json.dump(data, sys.stdout, default=_default, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


class BackendSession:
    """The session of a command (:func:`oncall_tui.core.session.open_session`): on the
    configured backends, or on the demo world with ``--demo``. ``outbox`` is passed on
    to the session and stays the caller's to close."""

    def __init__(
        self, args: argparse.Namespace, *, need_incident_io: bool = True, outbox: Any = None
    ) -> None:
        self.args = args
        self.need_incident_io = need_incident_io
        self.outbox = outbox
        self.session: Session | None = None

    async def __aenter__(self) -> Session:
        from oncall_tui.core.session import open_session

        demo = None
        if getattr(self.args, "demo", False):
            from oncall_tui.sim.demo import build_demo

            demo = build_demo(
                load_settings(self.args) if getattr(self.args, "config", None) else None
            )
            settings = demo.settings
        else:
            settings = load_settings(self.args)
        self.session = open_session(
            settings,
            demo=demo,
            readonly=bool(getattr(self.args, "readonly", False)),
            outbox=self.outbox,
        )
        if self.need_incident_io and "incident-io" in self.session.backends.missing_secrets:
            from oncall_tui.secrets import env_name

            await self.session.aclose()
            raise CliError(
                "no incident.io API key: run `oncall-tui auth set incident-io` or set "
                f"{env_name('incident-io')} (or try --demo)",
                EXIT_USAGE,
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
