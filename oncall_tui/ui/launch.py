"""Start the dashboard: open the session (:mod:`oncall_tui.core.session`), then run the app.

With a snapshot cache made with this same configuration (:mod:`oncall_tui.core.startup`),
the first frame is drawn from it before anything heavy is imported: the settings
(pydantic), the session, the backends (httpx, keyring…), the demo world and the
dashboard's actions are loaded after it (:func:`start_from_cache`). Only the first
start, or one after the configuration changed, draws its first frame after them.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oncall_tui.core import snapcache
from oncall_tui.core.snapcache import Cached
from oncall_tui.core.snapcache import default_path as default_cache_path
from oncall_tui.ui.themes import DEFAULT_THEME

if TYPE_CHECKING:
    from oncall_tui.config import Settings
    from oncall_tui.core.session import Session

__all__ = ["Session", "build_app", "launch", "launch_from_cache", "make_session"]


def __getattr__(name: str):
    if name == "Session":  # the old import path, without importing the session at start
        from oncall_tui.core.session import Session

        return Session
    raise AttributeError(name)


def make_session(
    settings: Settings,
    *,
    demo: bool,
    readonly: bool,
    demo_speed: float = 1.0,
    cache: bool = False,
    start_key: str | None = None,
    cached: Cached | None = None,
) -> Session:
    """The app's session: on the configured backends, or on a fresh demo world. With
    ``cache``, the last run's snapshot is shown at once and this run's is kept for the
    next (the demo world has a file of its own); ``start_key`` lets the next start draw
    it before its settings are loaded, ``cached`` is the file as already read."""
    demo_world = None
    if demo:
        from oncall_tui.sim.demo import build_demo

        demo_world = build_demo(settings, speed=demo_speed)
    from oncall_tui.core.session import open_app_session

    path = default_cache_path(demo=demo) if cache else None
    return open_app_session(
        settings,
        readonly=readonly,
        demo=demo_world,
        cache=path,
        start_key=start_key,
        cached=cached,
    )


def build_app(
    settings: Settings,
    *,
    demo: bool,
    readonly: bool,
    theme: str | None = None,
    start_key: str | None = None,
):
    """The dashboard app of this process, with its session. Call it once per process:
    it sets the garbage collector up for a long-running app (see :func:`_startup_gc`)."""
    with _startup_gc():
        from oncall_tui.ui.app import OnCallApp

        session = make_session(
            settings, demo=demo, readonly=readonly, cache=True, start_key=start_key
        )
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


def launch(
    settings: Settings,
    *,
    demo: bool,
    readonly: bool,
    theme: str | None,
    start_key: str | None = None,
) -> int:
    app = build_app(settings, demo=demo, readonly=readonly, theme=theme, start_key=start_key)
    result = app.run()
    return int(result or 0)


@dataclass
class Opening:
    """A start drawn from the snapshot cache: what the first frame shows, and how to open
    the session afterwards (``settings``: loads and checks them, raising on a problem)."""

    cached: Cached
    settings: Callable[[], Settings]
    demo: bool
    readonly_flag: bool
    key: str

    @property
    def theme(self) -> str:
        return str(self.cached.start.get("theme") or DEFAULT_THEME)

    @property
    def keymap(self) -> dict[str, str]:
        return dict(self.cached.start.get("keymap") or {})

    @property
    def readonly_config(self) -> bool:
        return bool(self.cached.start.get("readonly"))

    def first_frame(self):
        from zoneinfo import ZoneInfo

        from oncall_tui.core.timefmt import utcnow
        from oncall_tui.ui.screens.first_frame import FirstFrameScreen

        try:
            zone = ZoneInfo(str(self.cached.start.get("zone") or "UTC"))
        except Exception:  # an unknown zone name: times in UTC until the session opens
            zone = ZoneInfo("UTC")
        return FirstFrameScreen(
            snapcache.snapshot_of(self.cached),
            zone=zone,
            readonly=self.readonly_flag or self.readonly_config,
            notice=snapcache.cached_words(self.cached.saved_at, utcnow(), zone),
        )

    def open(self) -> Session:
        """Load the settings and open the session on them, seeded from the same cache.
        The collector, paused since :func:`start_from_cache`, runs again after it."""
        try:
            with _startup_gc():
                return make_session(
                    self.settings(),
                    demo=self.demo,
                    readonly=self.readonly_flag,
                    cache=True,
                    start_key=self.key,
                    cached=self.cached,
                )
        finally:
            gc.enable()


def start_from_cache(
    settings: Callable[[], Settings],
    *,
    config: str | None,
    demo: bool,
    readonly: bool,
    theme: str | None,
):
    """The app, drawing its first frame from the last run's snapshot cache before the
    settings are loaded, or None when there is no cache made with this configuration
    (:mod:`oncall_tui.core.startup`). ``settings`` loads them once the frame is drawn."""
    from oncall_tui.core.startup import start_key
    from oncall_tui.core.timefmt import utcnow
    from oncall_tui.ui.app import OnCallApp

    # No collection until the session is open (Opening.open): the first frame and what
    # follows make objects that live as long as the app (see _startup_gc).
    gc.disable()
    key = start_key(config, demo=demo)
    cached = snapcache.peek(default_cache_path(demo=demo), key, utcnow())
    if cached is None:
        gc.enable()
        return None
    opening = Opening(cached, settings, demo=demo, readonly_flag=readonly, key=key)
    return OnCallApp(None, demo=demo, readonly=readonly, theme_name=theme, opening=opening)


def launch_from_cache(settings: Callable[[], Settings], **how) -> int | None:
    """Run :func:`start_from_cache`'s app; None when there was none to run. A problem
    with the settings, found once the first frame is drawn, is raised here."""
    app = start_from_cache(settings, **how)
    if app is None:
        return None
    result = app.run()
    if app.start_error is not None:
        raise app.start_error
    return int(result or 0)
