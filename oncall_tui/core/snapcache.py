"""The last snapshot, kept on disk so the dashboard draws something true at once.

At start the dashboard shows what it knew when it last ran (shifts, pages, alerts,
incidents), marked with its age ("from 14:02, refreshing…"), and replaces each part as
its feed answers. The file holds only what the backends told us, never a token; it is
written with mode 0600 in a 0700 directory, atomically (a crash leaves the old file),
and a file that cannot be read or written is ignored: the cache never stops the app.

The format is a pickle read by an unpickler that only builds the product's own domain
objects, dates and plain containers, so a damaged or planted file cannot run code. It
names the backends it came from; a cache from another configuration is not shown.

It also keeps how to draw it (:mod:`oncall_tui.core.startup`): the key of the
configuration it was made with, the display zone, theme, keymap and read-only mode, and
the sources' names. Start-up draws the first frame from that alone (:func:`peek`,
:func:`snapshot_of`), before the settings, the backends and their imports are loaded.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oncall_tui.domain import Snapshot, SourceHealth, index_people

if TYPE_CHECKING:  # not imported at start-up: the first frame is drawn without them
    from oncall_tui.core.sync import SyncEngine, World

log = logging.getLogger(__name__)

VERSION = 2
FILE = "snapshot.cache"
DEMO_FILE = "demo-snapshot.cache"
MAX_AGE = timedelta(days=7)  # older than this is not worth showing
SAVE_EVERY = 120.0  # seconds between saves while running (and once on close)

# Which feed replaces which part of the world when it answers.
PAGES_FEED = "incident.io pages"
SCHEDULES_FEED = "incident.io schedules"
INCIDENTS_FEED = "incident.io incidents"
ALERTS_FEED = "incident.io alerts"

_ALLOWED = {
    "builtins": {"frozenset", "set", "tuple", "list", "dict", "str", "int", "float", "bool"},
    "datetime": {"datetime", "date", "timedelta", "timezone", "time"},
    "zoneinfo": {"ZoneInfo"},
    "zoneinfo._zoneinfo": {"ZoneInfo"},
}


def default_path(*, demo: bool = False) -> Path:
    from platformdirs import user_cache_path

    return user_cache_path("oncall-tui") / (DEMO_FILE if demo else FILE)


class _DomainOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "oncall_tui.domain" and not name.startswith("_"):
            return super().find_class(module, name)
        if name in _ALLOWED.get(module, ()):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the cache")


@dataclass
class Cached:
    """What was known at ``saved_at``."""

    saved_at: datetime
    identity: str
    parts: dict[str, Any]
    start: dict[str, Any]  # how to draw it before the settings are loaded (may be empty)


def load(path: Path, identity: str, now: datetime) -> Cached | None:
    """The cache at ``path`` if it is readable, ours (same ``identity``) and recent
    enough; else None (and a damaged file is left for the next save to replace)."""
    cached = _read(path, now)
    return cached if cached is not None and cached.identity == identity else None


def peek(path: Path, key: str, now: datetime) -> Cached | None:
    """The cache at ``path`` if it was made with the configuration whose start key is
    ``key`` (:func:`oncall_tui.core.startup.start_key`) and is recent enough: what the
    first frame shows, before the settings are loaded."""
    cached = _read(path, now)
    if cached is None or cached.start.get("key") != key:
        return None
    return cached


def _read(path: Path, now: datetime) -> Cached | None:
    try:
        data = path.read_bytes()
        body = _DomainOnly(io.BytesIO(data)).load()
    except FileNotFoundError:
        return None
    except Exception as exc:  # damaged, planted, from another version: ignore it
        log.warning("ignoring the snapshot cache %s: %s", path, type(exc).__name__)
        return None
    if not isinstance(body, dict) or body.get("version") != VERSION:
        return None
    saved_at = body.get("saved_at")
    parts = body.get("parts")
    if not isinstance(saved_at, datetime) or not isinstance(parts, dict):
        return None
    identity = body.get("identity")
    start = body.get("start") or {}
    if not isinstance(identity, str) or saved_at.tzinfo is None or not isinstance(start, dict):
        return None
    if now - saved_at > MAX_AGE or saved_at > now + timedelta(minutes=5):
        return None
    return Cached(saved_at=saved_at, identity=identity, parts=parts, start=start)


def save(
    path: Path, world: World, identity: str, now: datetime, start: dict[str, Any] | None = None
) -> bool:
    """Write what ``world`` knows now. Never raises; False when it could not."""
    return write(path, body_of(world, identity, now, start))


def body_of(
    world: World, identity: str, now: datetime, start: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What to write, taken on the thread that owns ``world`` (cheap: tuples of what is
    there); :func:`write` can then run on another thread."""
    return {
        "version": VERSION,
        "saved_at": now,
        "identity": identity,
        "start": dict(start or {}),
        "parts": parts_of(world),
    }


def cached_words(saved_at: datetime, now: datetime, zone: Any) -> str:
    """What marks a view drawn from the cache: "from 14:02, refreshing…" (with the day
    when it is not today)."""
    from oncall_tui.core import timefmt

    when = timefmt.format_clock(saved_at, zone, with_zone=False)
    day = timefmt.day_label(saved_at, now, zone)
    when = when if day == "Today" else f"{day} {when}"
    return f"from {when}, refreshing…"


def snapshot_of(cached: Cached) -> Snapshot:
    """What the dashboard would show from the cache alone, as the engine's snapshot
    would have it once seeded (every part marked as from the cache, each source not
    answered yet): the first frame, drawn before the engine exists."""
    parts = cached.parts
    schedules = tuple(parts.get("schedules", ()))
    shifts = tuple(parts.get("shifts", ()))
    paths = tuple(parts.get("paths", ()))
    alerts = tuple(a for feed in dict(parts.get("alerts", {})).values() for a in feed)
    return Snapshot(
        at=cached.saved_at,
        me=parts.get("me"),
        schedules=schedules,
        shifts=shifts,
        pages=tuple(parts.get("pages", ())),
        alerts=alerts,
        incidents=tuple(parts.get("incidents", ())),
        paths=paths,
        health=tuple(SourceHealth(name=str(n)) for n in cached.start.get("sources", ())),
        cached_from=cached.saved_at,
        people=index_people(shifts, paths, schedules),
    )


def write(path: Path, body: dict[str, Any]) -> bool:
    """Write ``body`` atomically with mode 0600. Never raises; False when it could not."""
    try:
        write_private(path, pickle.dumps(body, protocol=pickle.HIGHEST_PROTOCOL))
        return True
    except Exception as exc:  # disk full, read-only home: the cache is a nicety
        log.warning("could not save the snapshot cache %s: %s", path, exc)
        return False


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (a crash leaves the old file), mode 0600
    in a 0700 directory. Raises :class:`OSError` when it cannot."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parts_of(world: World) -> dict[str, Any]:
    """The parts of the world worth showing at the next start (no tokens: only what the
    backends told us, and none of the local state such as optimistic actions)."""
    parts: dict[str, Any] = {}
    if world.cached.get(PAGES_FEED) is None:
        parts["pages"] = tuple(world.pages.values())
    if world.cached.get(SCHEDULES_FEED) is None:
        parts["me"] = world.me
        parts["schedules"] = tuple(world.schedules.values())
        parts["shifts"] = world.shifts
        parts["paths"] = tuple(world.paths.values())
    if world.cached.get(INCIDENTS_FEED) is None:
        parts["incidents"] = tuple(world.incidents.values())
    parts["alerts"] = {
        feed: alerts
        for feed, alerts in world.alerts.items()
        if world.cached.get(_alert_feed(feed)) is None
    }
    return parts


def _alert_feed(key: str) -> str:
    return ALERTS_FEED if key == "incident.io" else key


def seed(engine: SyncEngine, cached: Cached) -> None:
    """Put the cached parts into the engine's world, each marked as from the cache until
    its feed answers (the engine clears the mark when it does)."""
    world = engine.world
    parts = cached.parts
    at = cached.saved_at
    feeds = {f.name for f in engine.feeds}
    if PAGES_FEED in feeds and "pages" in parts:
        world.pages = {p.id: p for p in parts["pages"]}
        world.cached[PAGES_FEED] = at
    if SCHEDULES_FEED in feeds and "schedules" in parts:
        world.me = world.me or parts.get("me")
        world.schedules = {s.id: s for s in parts["schedules"]}
        world.shifts = tuple(parts.get("shifts", ()))
        world.paths = {p.id: p for p in parts.get("paths", ())}
        world.cached[SCHEDULES_FEED] = at
    if INCIDENTS_FEED in feeds and "incidents" in parts:
        world.incidents = {i.id: i for i in parts["incidents"]}
        world.cached[INCIDENTS_FEED] = at
    for key, alerts in dict(parts.get("alerts", {})).items():
        feed = _alert_feed(key)
        if feed in feeds:
            world.alerts[key] = tuple(alerts)
            world.cached[feed] = at
    engine.mutate(lambda w: None)


class Saver:
    """Saves the engine's world now and then while the app runs, and on close."""

    def __init__(
        self,
        engine: SyncEngine,
        path: Path,
        identity: str,
        *,
        every: float = SAVE_EVERY,
        monotonic: Callable[[], float] = time.monotonic,
        start: dict[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.path = path
        self.identity = identity
        self.start = dict(start or {})  # how the next start draws it (see module doc)
        self.every = every
        self.monotonic = monotonic
        self._last = monotonic()
        self.saves = 0

    def due(self) -> bool:
        """Time for a save: the last is older than ``every`` seconds, and something has
        been polled since start (a cache of nothing is not worth writing)."""
        return self.engine.polls > 0 and self.monotonic() - self._last >= self.every

    def take(self) -> dict[str, Any]:
        """What to write now (on the engine's thread); pass it to :meth:`write`, which
        may run on another thread."""
        self._last = self.monotonic()
        return body_of(self.engine.world, self.identity, self.engine.clock(), self.start)

    def write(self, body: dict[str, Any]) -> bool:
        ok = write(self.path, body)
        self.saves += ok
        return ok

    def save(self) -> bool:
        """Save now, on this thread (at close)."""
        if self.engine.polls == 0:
            return False
        return self.write(self.take())
