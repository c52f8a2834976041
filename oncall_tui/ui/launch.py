"""Start the dashboard: build backends, the sync engine and actions, then run the app."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from oncall_tui.config import Settings
from oncall_tui.core.actions import Actions
from oncall_tui.core.outbox import Outbox, OutboxError
from oncall_tui.core.sources import Backends, build_backends, build_engine
from oncall_tui.core.sync import SyncEngine


@dataclass
class Session:
    """Everything the screens need: settings, clients, the engine, actions."""

    settings: Settings
    backends: Backends
    engine: SyncEngine
    actions: Actions
    readonly: bool = False
    demo: Any = None  # the sim.demo.Demo when running on the demo world
    outbox: Outbox | None = None  # notes and updates wait here until incident.io has them

    async def aclose(self) -> None:
        await self.backends.aclose()
        if self.outbox is not None:
            self.outbox.close()


def make_session(
    settings: Settings, *, demo: bool, readonly: bool, demo_speed: float = 1.0
) -> Session:
    demo_world = None
    if demo:
        from oncall_tui.sim.demo import build_demo

        demo_world = build_demo(settings, speed=demo_speed)
        settings = demo_world.settings
        backends = build_backends(
            settings, transports=demo_world.transports, tokens=demo_world.tokens
        )
    else:
        backends = build_backends(settings)
    engine = build_engine(backends)
    actions = Actions(backends, engine, readonly=readonly)
    return Session(
        settings, backends, engine, actions, readonly, demo_world, _open_outbox(demo=demo)
    )


def _open_outbox(*, demo: bool) -> Outbox | None:
    """The outbox file (``demo-outbox.sqlite3`` for the demo world, which starts afresh
    each time: its incidents do not outlive the process). None if it cannot be opened;
    the incident screen then refuses notes and says why."""
    import logging

    from oncall_tui.core.incidents import outbox_path

    path = outbox_path(demo=demo)
    if demo:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                path.with_name(path.name + suffix).unlink()
    try:
        return Outbox(path)
    except OutboxError as exc:
        logging.getLogger(__name__).warning("%s", exc)
        return None


def build_app(settings: Settings, *, demo: bool, readonly: bool, theme: str | None = None):
    from oncall_tui.ui.app import OnCallApp

    session = make_session(settings, demo=demo, readonly=readonly)
    return OnCallApp(
        session.settings, demo=demo, readonly=readonly, theme_name=theme, session=session
    )


def launch(settings: Settings, *, demo: bool, readonly: bool, theme: str | None) -> int:
    app = build_app(settings, demo=demo, readonly=readonly, theme=theme)
    result = app.run()
    return int(result or 0)
