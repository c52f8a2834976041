"""Pages and me, now: is this page mine, who acked it, where did it go, where the cursor
goes when a page to me arrives.

"Mine" means now, not "I was ever notified": a page is mine while it is paging me (the
latest round of notifications names me and it is still climbing or snoozed) or while I
acked it. After I decline, or once it moves past my level, it is no longer mine, and
:func:`where_it_went` says where it is instead.

Pure: no I/O, no clock; ``now`` is a parameter where it matters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from oncall_tui.core import timefmt
from oncall_tui.domain import (
    PAGE_PENDING_REPEAT,
    PAGE_TRIGGERED,
    EscalationPath,
    Page,
    PageEvent,
    Schedule,
    Shift,
    User,
)

PAGING_STATES = frozenset({PAGE_TRIGGERED, PAGE_PENDING_REPEAT})
ACKED_STATES = frozenset({"acked", "acknowledged"})


def latest_round(page: Page) -> PageEvent | None:
    """The latest ``notified_users`` event: who the page is paging now (or last paged)."""
    rounds = [e for e in page.events if e.event == "notified_users"]
    return max(rounds, key=lambda e: e.occurred_at) if rounds else None


def last_ack(page: Page) -> PageEvent | None:
    acks = [e for e in page.events if e.event in ACKED_STATES]
    return max(acks, key=lambda e: e.occurred_at) if acks else None


def _in_round(page: Page, path: EscalationPath | None, me: User) -> bool:
    current = latest_round(page)
    if current is not None:
        return any(u.id == me.id for u in current.users)
    # Nobody notified yet (a page in its grace period): whoever the path pages first.
    return path is not None and any(u.id == me.id for u in path.current_responders)


def paging_me(page: Page, path: EscalationPath | None, me: User | None) -> bool:
    """The page is climbing (or snoozed, to page again) and its latest round names me."""
    if me is None or page.status not in PAGING_STATES | {"snoozed"}:
        return False
    return _in_round(page, path, me)


def acked_by_me(page: Page, path: EscalationPath | None, me: User | None) -> bool:
    """I acked it. An ack with no person recorded (the API key in its own right) counts
    when the round it stopped was paging me."""
    if me is None or page.status not in ACKED_STATES:
        return False
    ack = last_ack(page)
    if ack is not None and ack.users:
        return any(u.id == me.id for u in ack.users)
    return _in_round(page, path, me)


def is_mine(page: Page, path: EscalationPath | None, me: User | None) -> bool:
    """Mine now: paging me, or acked by me."""
    return paging_me(page, path, me) or acked_by_me(page, path, me)


def was_mine(page: Page, me: User | None) -> bool:
    """Some round of this page notified me."""
    return me is not None and me.id in page.notified_user_ids


def _names(users: Iterable[User]) -> str:
    return ", ".join(u.name or u.id for u in users) or "no one"


def where_it_went(page: Page, path: EscalationPath | None, me: User | None) -> str:
    """For a page that paged me and is no longer mine: where it is now, in words
    ("now paging Kofi Mensah (level 2)", "acked by Ana Souza"). "" otherwise."""
    if me is None or not was_mine(page, me) or is_mine(page, path, me):
        return ""
    if page.status in ACKED_STATES:
        ack = last_ack(page)
        return f"acked by {_names(ack.users)}" if ack is not None and ack.users else "acked"
    current = latest_round(page)
    if page.status in PAGING_STATES | {"snoozed"} and current is not None:
        return f"now paging {_names(current.users)} (level {page.level})"
    return page.status or ""


def already_acked(page: Page, *, now: datetime, zone: timefmt.ZoneLike = None) -> str | None:
    """For a page that is acked already: "“T” is already acked by Ana Souza at 14:02
    (3m ago); nothing was sent." None when it is not acked."""
    if page.status not in ACKED_STATES:
        return None
    ack = last_ack(page)
    who = f" by {_names(ack.users)}" if ack is not None and ack.users else ""
    when = ""
    if ack is not None:
        when = (
            f" at {timefmt.format_time(ack.occurred_at, zone, now=now)}"
            f" ({timefmt.ago(ack.occurred_at, now)} ago)"
        )
    return f"“{page.title}” is already acked{who}{when}; nothing was sent."


# ----------------------------------------------------------------- new pages, cursor


@dataclass(frozen=True, slots=True)
class NewPages:
    """Pages paging me now, and which of them were not paging me at the last look."""

    paging: frozenset[str]
    new: tuple[str, ...]  # page ids, newest first


def new_pages_to_me(
    pages: Sequence[Page],
    paths: Mapping[str, EscalationPath] | Iterable[EscalationPath],
    me: User | None,
    known: frozenset[str] | set[str],
    *,
    cached: bool = False,
) -> NewPages:
    """Which pages are paging me now (status triggered), and which are new since
    ``known`` (the ``paging`` of the last call). Pages from a cached snapshot (the last
    run's, drawn before any backend answers) are never new: they were announced then and
    may have moved on since; only live data announces a page."""
    if cached:
        return NewPages(frozenset(known), ())
    by_id = paths if isinstance(paths, Mapping) else {p.id: p for p in paths}
    paging = {
        p.id: p
        for p in pages
        if p.status == PAGE_TRIGGERED and paging_me(p, by_id.get(p.path_id or ""), me)
    }
    new = sorted(
        (p for pid, p in paging.items() if pid not in known),
        key=lambda p: p.created_at,
        reverse=True,
    )
    return NewPages(frozenset(paging), tuple(p.id for p in new))


def row_is_paging_me(kind: str, state: str, mine: bool) -> bool:
    """A row the cursor should not be pulled away from: a page climbing towards me."""
    return kind == "page" and mine and state in PAGING_STATES


def cursor_for_new_page(
    cursor: tuple[str, str, bool] | None, new_page_keys: Sequence[str]
) -> str | None:
    """Where the cursor goes when pages to me arrive (``new_page_keys``, newest first):
    to the newest, when the cursor rests on nothing or on something not paging me
    (``cursor`` is the row's kind, state and mine); otherwise None, it stays."""
    if not new_page_keys:
        return None
    if cursor is not None and row_is_paging_me(*cursor):
        return None
    return new_page_keys[0]


# ------------------------------------------------------------- the escalation path


@dataclass(frozen=True, slots=True)
class LevelView:
    """One level of a page's path, in names: who it pages, who is on call now on each
    schedule it names, and (for the level the page is on) when it moves up."""

    number: int  # 1-based
    targets: tuple[str, ...]  # "Schedule On call: Payments (now: Robin Ahn)", "Ana Souza"
    wait: str  # "ack within 5m" or ""
    current: bool
    moves_up: str  # "moves up in 3m" on the current level, else ""


def path_view(
    path: EscalationPath,
    page: Page | None,
    *,
    schedules: Sequence[Schedule],
    shifts: Sequence[Shift],
    people: Iterable[User],
    now: datetime,
    next_level_at: datetime | None = None,
) -> tuple[LevelView, ...]:
    """The levels of ``path`` with schedule and user names instead of ids; an unknown
    id is shown as "unknown schedule"/"unknown person" with the id's end, never bare."""
    by_schedule = {s.id: s for s in schedules}
    by_user = {u.id: u for u in people}
    level_now = page.level if page is not None else None
    out: list[LevelView] = []
    for n, level in enumerate(path.levels, start=1):
        targets: list[str] = []
        for target in level.targets:
            if target.type == "schedule":
                schedule = by_schedule.get(target.id)
                name = schedule.name if schedule else (target.name or "unknown schedule")
                holders = [
                    s.user.name or s.user.id
                    for s in shifts
                    if s.schedule_id == target.id
                    and s.covers(now)
                    and s.user is not None
                    and not s.user.is_nobody
                ]
                who = ", ".join(dict.fromkeys(holders)) or "no one"
                targets.append(f"{name} (on call now: {who})")
            elif target.type == "user":
                user = by_user.get(target.id)
                targets.append(user.name if user else (target.name or "unknown person"))
            else:
                kind = target.type.replace("_", " ")
                targets.append(f"{kind} {target.name}" if target.name else kind)
        wait = (
            f"ack within {timefmt.format_duration(level.time_to_ack_seconds)}"
            if level.time_to_ack_seconds
            else ""
        )
        current = level_now == n
        moves_up = ""
        if current and next_level_at is not None:
            moves_up = f"moves up {timefmt.countdown(next_level_at, now)}"
        out.append(LevelView(n, tuple(targets), wait, current, moves_up))
    return tuple(out)
