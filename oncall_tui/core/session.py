"""The one wiring: from settings to backends, the engine, the actions, the outbox and the
clock, for the dashboard and the command line alike.

:func:`open_session` builds a :class:`Session` for any subset of the configured backends
(``services``: only Alertmanager, only incident.io, everything). The demo world is passed
in as a :class:`DemoSource` (its settings, in-process transports and tokens), so the very
same clients, engine and actions run against the simulator without a network.
:func:`open_app_session` adds what a long-running app needs: its own outbox, closed (and,
for the demo, removed) with the session.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import httpx

from oncall_tui.backends.http import RequestStats
from oncall_tui.config import Settings, default_data_dir
from oncall_tui.core import guard, snapcache
from oncall_tui.core.actions import Actions
from oncall_tui.core.incidents import IncidentActions, outbox_path
from oncall_tui.core.notify import Notifier, notifier_for
from oncall_tui.core.outbox import Outbox, OutboxError
from oncall_tui.core.overrides import OverrideActions
from oncall_tui.core.sent import SENT_FILE, SentLedger
from oncall_tui.core.silences import Silences
from oncall_tui.core.snapcache import Saver
from oncall_tui.core.sources import Backends, build_backends, build_engine
from oncall_tui.core.startup import start_header
from oncall_tui.core.sync import SyncEngine, on_recovery, utcnow
from oncall_tui.core.whoami import WhoAmI
from oncall_tui.domain import SOURCE_INCIDENT_IO
from oncall_tui.secrets import Found
from oncall_tui.secrets import get as get_secret

INCIDENT_IO = "incident-io"  # its service name (keyring, environment, transports)

log = logging.getLogger(__name__)


class DemoSource(Protocol):
    """A simulated world to run against (``oncall_tui.sim.demo.Demo``): settings that
    point at it, the in-process transports that serve it, and its tokens."""

    @property
    def settings(self) -> Settings: ...

    @property
    def transports(self) -> Mapping[str, httpx.AsyncBaseTransport]: ...

    @property
    def tokens(self) -> Mapping[str, str]: ...


@dataclass
class Session:
    """Everything the dashboard and the commands act through, wired once."""

    settings: Settings
    backends: Backends
    engine: SyncEngine
    whoami: WhoAmI  # me, shared by every action
    actions: Actions  # pages and alerts
    incidents: IncidentActions
    overrides: OverrideActions
    silences: Silences  # every silence on every Grafana and Alertmanager
    clock: Callable[[], datetime] = utcnow
    readonly: bool = False
    outbox: Outbox | None = None  # notes and updates wait here until incident.io has them
    demo: DemoSource | None = None  # the simulated world, when running on one
    snapshot_cache: Saver | None = None  # the last snapshot on disk, for the next start
    sent: SentLedger | None = None  # pages this tool made: shown with what they are about
    notifier: Notifier | None = None  # the one path for bells and desktop notifications
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run ``closer`` when the session closes (after the clients), last added first."""
        self._closers.append(closer)

    async def aclose(self) -> None:
        await self.backends.aclose()
        while self._closers:
            self._closers.pop()()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def configured_services(
    settings: Settings,
    *,
    tokens: Mapping[str, str] | None = None,
    secret: Callable[[str], Found] = get_secret,
) -> list[str]:
    """The backends the user has set up, any subset of them: incident.io when the config
    has an ``[incident_io]`` section or its API key is in the keyring or environment;
    every ``[grafana.NAME]`` and ``[alertmanager.NAME]``."""
    services: list[str] = []
    has_key = (tokens is not None and INCIDENT_IO in tokens) or bool(secret(INCIDENT_IO).value)
    if "incident_io" in settings.model_fields_set or has_key:
        services.append(INCIDENT_IO)
    services += [f"grafana:{name}" for name in settings.grafana]
    services += [f"alertmanager:{name}" for name in settings.alertmanager]
    return services


def open_session(
    settings: Settings,
    *,
    readonly: bool = False,
    clock: Callable[[], datetime] = utcnow,
    demo: DemoSource | None = None,
    services: Collection[str] | None = None,
    outbox: Outbox | None = None,
    stats: RequestStats | None = None,
    tokens: Mapping[str, str] | None = None,
) -> Session:
    """A session on the configured backends, or on ``demo`` (whose settings then replace
    ``settings``). ``services`` limits the backends built: ``incident-io``,
    ``grafana:NAME``, ``alertmanager:NAME``, or a whole kind (``grafana``,
    ``alertmanager``); None builds the configured ones (:func:`configured_services`).
    The ``outbox`` stays the caller's to close. ``tokens`` replace the keyring and environment."""
    readonly = guard.readonly_mode(readonly, settings)  # the flag or [ui] readonly
    transports = None
    if demo is not None:
        settings, transports, tokens = demo.settings, demo.transports, demo.tokens
    elif services is None:
        services = configured_services(settings, tokens=tokens)
    backends = build_backends(
        settings, transports=transports, tokens=tokens, services=services, stats=stats
    )
    engine = build_engine(backends, clock=clock)
    whoami = WhoAmI(backends, engine)
    if outbox is not None:
        # Notes typed during an outage go as soon as incident.io answers again.
        on_recovery(engine, SOURCE_INCIDENT_IO, outbox.retry_now)
    session = Session(
        settings=settings,
        backends=backends,
        engine=engine,
        whoami=whoami,
        actions=Actions(backends, engine, readonly=readonly, clock=clock, whoami=whoami),
        incidents=IncidentActions(
            backends, outbox, engine=engine, readonly=readonly, clock=clock, whoami=whoami
        ),
        overrides=OverrideActions(backends, readonly=readonly, clock=clock, whoami=whoami),
        silences=Silences(backends, readonly=readonly, clock=clock),
        clock=clock,
        readonly=readonly,
        outbox=outbox,
        demo=demo,
    )
    # The demo world lives as long as its process: its record stays in memory.
    ledger = SentLedger(None if demo is not None else default_data_dir() / SENT_FILE)
    session.sent = session.actions.sent = session.incidents.sent = ledger
    return session


def open_outbox(*, demo: bool = False) -> Outbox:
    """The outbox file notes wait in (the demo world's own file with ``demo``).
    Raises :class:`OutboxError` when it cannot be opened."""
    return Outbox(outbox_path(demo=demo))


def open_app_session(
    settings: Settings,
    *,
    readonly: bool = False,
    clock: Callable[[], datetime] = utcnow,
    demo: DemoSource | None = None,
    cache: Path | None = None,
    start_key: str | None = None,
    cached: snapcache.Cached | None = None,
) -> Session:
    """The session of a running dashboard: :func:`open_session` with an outbox of its
    own, closed with the session. On the demo world the outbox is a fresh file in a
    temporary directory, removed on close: demo incidents do not outlive the process, and
    two demos at once must not share one file. When no outbox can be opened the session
    has none, and the incident screen refuses notes and says why. ``cache`` is the
    snapshot cache file (:func:`use_snapshot_cache`), with the ``start_key`` of this
    start and the ``cached`` snapshot start-up already read from it, if any."""
    directory: Path | None = None
    path = outbox_path(demo=demo is not None)
    if demo is not None:
        directory = Path(tempfile.mkdtemp(prefix="oncall-tui-demo-"))
        path = directory / path.name
    try:
        outbox: Outbox | None = Outbox(path)
    except OutboxError as exc:
        log.warning("%s", exc)
        outbox = None
    session = open_session(settings, readonly=readonly, clock=clock, demo=demo, outbox=outbox)
    session.notifier = notifier_for(session.settings, session.engine, demo=demo is not None)
    if cache is not None:
        use_snapshot_cache(session, cache, start_key=start_key, cached=cached)
    if directory is not None:
        session.on_close(lambda: shutil.rmtree(directory, ignore_errors=True))
    if outbox is not None:
        session.on_close(outbox.close)
    return session


def cache_identity(settings: Settings) -> str:
    """Which backends a snapshot cache came from: a cache written for another
    configuration (another incident.io, another user) is never shown."""
    names = sorted([*settings.grafana, *settings.alertmanager])
    return "|".join([str(settings.incident_io.base_url), settings.user.email or "", *names])


def use_snapshot_cache(
    session: Session,
    path: Path,
    *,
    start_key: str | None = None,
    cached: snapcache.Cached | None = None,
) -> None:
    """Draw at once: put the snapshot cached by the last run into the engine's world
    (each part marked as cached until its feed answers), and save the world there now
    and then and when the session closes. ``cached`` is the file as start-up read it
    (read again when None); ``start_key`` lets the next start draw it before its
    settings are loaded (:mod:`oncall_tui.core.startup`)."""
    identity = cache_identity(session.settings)
    if cached is None:
        cached = snapcache.load(path, identity, session.clock())
    elif cached.identity != identity:
        cached = None
    if cached is not None:
        snapcache.seed(session.engine, cached)
        tail = session.backends.alert_tail
        alerts = session.engine.world.alerts.get("incident.io")
        if tail is not None and alerts:
            tail.seed(alerts, cached.saved_at)
    start = None
    if start_key is not None:
        settings = session.settings
        start = start_header(
            start_key,
            zone=getattr(settings.display_zone(), "key", None) or "UTC",
            theme=settings.ui.theme,
            keymap=dict(settings.ui.keymap or {}),
            readonly=guard.readonly_mode(False, settings),  # the config's, not the flag's
            sources=[h.name for h in session.engine.snapshot().health],
        )
    saver = snapcache.Saver(session.engine, path, identity, start=start)
    session.snapshot_cache = saver

    def save_on_close() -> None:
        saver.save()

    session.on_close(save_on_close)
