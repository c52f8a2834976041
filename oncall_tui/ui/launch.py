"""Start the dashboard: build backends, the sync engine and actions, then run the app."""

from __future__ import annotations

import contextlib
import gc
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oncall_tui.config import Settings
from oncall_tui.core.actions import Actions
from oncall_tui.core.outbox import Outbox, OutboxError
from oncall_tui.core.sources import Backends, build_backends, build_engine
from oncall_tui.core.sync import SyncEngine, on_recovery
from oncall_tui.domain import SOURCE_INCIDENT_IO


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
            if self.demo is not None:
                # The demo's outbox lives in a directory of its own, gone with the process.
                shutil.rmtree(Path(self.outbox.path).parent, ignore_errors=True)


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
    outbox = _open_outbox(demo=demo)
    if outbox is not None:
        # Notes typed during an outage go as soon as incident.io answers again.
        on_recovery(engine, SOURCE_INCIDENT_IO, outbox.retry_now)
    return Session(settings, backends, engine, actions, readonly, demo_world, outbox)


def _open_outbox(*, demo: bool) -> Outbox | None:
    """The outbox file (for the demo world, a fresh file in a temporary directory of
    its own). None if it cannot be opened;
    the incident screen then refuses notes and says why."""
    import logging

    from oncall_tui.core.incidents import outbox_path

    path = outbox_path(demo=demo)
    if demo:
        # Each demo process gets a fresh outbox of its own: demo incidents do not outlive
        # the process, and two demos at once must not share one file.
        path = Path(tempfile.mkdtemp(prefix="oncall-tui-demo-")) / path.name
    try:
        return Outbox(path)
    except OutboxError as exc:
        logging.getLogger(__name__).warning("%s", exc)
        return None


def build_app(settings: Settings, *, demo: bool, readonly: bool, theme: str | None = None):
    """The dashboard app of this process, with its session. Call it once per process:
    it sets the garbage collector up for a long-running app (see :func:`_startup_gc`)."""
    with _startup_gc():
        from oncall_tui.ui.app import OnCallApp

        session = make_session(settings, demo=demo, readonly=readonly)
        return OnCallApp(
            session.settings, demo=demo, readonly=readonly, theme_name=theme, session=session
        )


@contextlib.contextmanager
def _startup_gc() -> Iterator[None]:
    """Start-up makes tens of thousands of objects that live as long as the process
    (modules, clients, the demo world, the app). Collecting while they are being made
    finds nothing, and rescanning them on every full collection afterwards (and once more
    when the process exits) is wasted work: pause the collector while building, then move
    everything alive into the permanent generation (:func:`gc.freeze`). Objects made
    later are collected as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def launch(settings: Settings, *, demo: bool, readonly: bool, theme: str | None) -> int:
    app = build_app(settings, demo=demo, readonly=readonly, theme=theme)
    result = app.run()
    return int(result or 0)
