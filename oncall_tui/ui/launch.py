"""Start the dashboard: open the session (:mod:`oncall_tui.core.session`), then run the app."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

from oncall_tui.config import Settings
from oncall_tui.core.session import Session, open_app_session
from oncall_tui.core.snapcache import default_path as default_cache_path

__all__ = ["Session", "build_app", "launch", "make_session"]


def make_session(
    settings: Settings,
    *,
    demo: bool,
    readonly: bool,
    demo_speed: float = 1.0,
    cache: bool = False,
) -> Session:
    """The app's session: on the configured backends, or on a fresh demo world. With
    ``cache``, the last run's snapshot is shown at once and this run's is kept for the
    next (the demo world has a file of its own)."""
    demo_world = None
    if demo:
        from oncall_tui.sim.demo import build_demo

        demo_world = build_demo(settings, speed=demo_speed)
    path = default_cache_path(demo=demo) if cache else None
    return open_app_session(settings, readonly=readonly, demo=demo_world, cache=path)


def build_app(settings: Settings, *, demo: bool, readonly: bool, theme: str | None = None):
    """The dashboard app of this process, with its session. Call it once per process:
    it sets the garbage collector up for a long-running app (see :func:`_startup_gc`)."""
    with _startup_gc():
        from oncall_tui.ui.app import OnCallApp

        session = make_session(settings, demo=demo, readonly=readonly, cache=True)
        return OnCallApp(
            session.settings,
            demo=demo,
            readonly=session.readonly,
            theme_name=theme,
            session=session,
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
