"""Shared test data and waiting: the people, shifts, alerts and pages a test builds with only
the fields it cares about, and :func:`until` for tests that drive the app with a pilot.

Import from any test (``tests`` is on pytest's path): ``from factories import ME, shift``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from oncall_tui.config import PollConfig
from oncall_tui.domain import Alert, Link, Page, PageEvent, Shift, User

# People. "Me" is the engineer at the keyboard.
ME = User("U_ME", "Mia", "mia@example.com")
ANA = User("U_ANA", "Ana")
BEN = User("U_BEN", "Ben")
CY = User("U_CY", "Cy")

# The clock of alerts and pages built here unless a test passes ``now``: a Monday, 03:00.
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def shift(
    schedule_id: str,
    rotation_id: str,
    layer_id: str,
    start: datetime,
    end: datetime,
    user: User | None = None,
    **fields: Any,
) -> Shift:
    """One shift on a schedule's layer (``user`` None: nobody holds it)."""
    return Shift(schedule_id, rotation_id, layer_id, start, end, user, **fields)


def alert(
    n: int,
    title: str = "High error rate",
    *,
    source: str = "grafana",
    instance: str = "prod",
    state: str = "firing",
    severity: str = "critical",
    minutes_ago: float = 10,
    now: datetime = NOW,
    labels: tuple[tuple[str, str], ...] = (),
    fingerprint: str | None = None,
    links: tuple[Link, ...] = (),
    **fields: Any,
) -> Alert:
    """Alert number ``n`` (id ``A<n>``, fingerprint ``fp<n>``), started ``minutes_ago``."""
    aid = f"A{n}"
    return Alert(
        key=f"{source}:{instance}:{aid}",
        id=aid,
        source=source,
        instance=instance,
        title=title,
        state=state,
        severity=severity,
        started_at=now - timedelta(minutes=minutes_ago),
        labels=labels,
        fingerprint=fingerprint if fingerprint is not None else f"fp{n}",
        links=links,
        **fields,
    )


def page(
    pid: str,
    *,
    title: str | None = None,
    status: str = "triggered",
    notified: tuple[tuple[float, tuple[User, ...]], ...] = ((9, (BEN,)),),
    path: str | None = "EP1",
    minutes_ago: float = 10,
    now: datetime = NOW,
    alert_ids: tuple[str, ...] = (),
    priority: str = "",
    urgency: str | None = "high",
) -> Page:
    """A page on escalation path ``path``, triggered ``minutes_ago``; ``notified`` lists
    (minutes ago, who) for each round of notifications."""
    created = now - timedelta(minutes=minutes_ago)
    events = [PageEvent(f"{pid}-t", "triggered", created, urgency=urgency)]
    events += [
        PageEvent(f"{pid}-n{i}", "notified_users", now - timedelta(minutes=m), users=u)
        for i, (m, u) in enumerate(notified)
    ]
    return Page(
        id=pid,
        title=title if title is not None else f"Page {pid}",
        status=status,
        created_at=created,
        updated_at=now,
        priority=priority,
        path_id=path,
        events=tuple(events),
        alert_ids=alert_ids,
    )


async def until(
    pilot: Any, condition: Callable[[], object], what: str = "", timeout: float = 10.0
) -> None:
    """Let the app run until ``condition()`` holds; fail saying ``what`` was not reached.
    The timeout only bounds a broken test: nothing is asserted about time."""
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"not reached: {what or 'condition'}")


# The demo's former fast polling, for drills that test faults and recovery rather than
# the demo's cadence (which follows the default intervals).
FAST_POLL = PollConfig(
    pages=2, pages_when_paged=2, alerts=5, schedules=60, incidents=10, timeline=3
)


def fast_polling(demo: Any) -> None:
    """Make a built demo poll as fast as it once did (before its first session)."""
    io = demo.settings.incident_io
    demo.settings = demo.settings.model_copy(
        update={"incident_io": io.model_copy(update={"poll": FAST_POLL})}
    )
