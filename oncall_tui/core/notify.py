"""Notifications that fit on call: the one path every bell, desktop notification and
toast for a new page, a shift reminder or a watched item goes through.

The rule (:func:`decide`), for each :class:`Notice`:

* **never twice**: a notice whose key was announced before is dropped, also across a
  restart (:class:`NoticeMemory` keeps the keys on disk). Pages drawn from the last run's
  snapshot cache are never offered here in the first place (``paging.new_pages_to_me``).
* the toast always shows (it is on this screen, not a wake-up), and says why the bell
  stayed silent when it did;
* the bell and the desktop notification (each only where ``[ui]`` wants it) are held back
  while **quiet** is on, for a page **below the minimum severity**
  (``[notifications] min_severity``; a page with no severity is never below it), and for
  a page while I am **not on call** (``[notifications] only_on_call``, default on; when
  my shifts are not known yet, I count as on call).

Quiet lasts a set time, is kept on disk with the announced keys, and ends by itself.
Nothing here imports Textual: the app gives a :class:`Sink` for the toast and the bell.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from oncall_tui.config import Settings
from oncall_tui.core import desktop, timefmt
from oncall_tui.core.alerts import page_severity
from oncall_tui.core.shifts import my_current_shifts
from oncall_tui.core.snapcache import write_private
from oncall_tui.core.sync import SyncEngine
from oncall_tui.domain import SEVERITY_ORDER, Page, Snapshot, severity_rank

log = logging.getLogger(__name__)

KIND_PAGE = "page"
KIND_REMINDER = "reminder"
KIND_WATCH = "watch"

FILE = "notified.json"
DEMO_FILE = "demo-notified.json"
KEEP_FOR = timedelta(days=14)  # announced keys older than this are forgotten
MAX_KEYS = 5000


def default_path(*, demo: bool = False) -> Path:
    from platformdirs import user_state_path

    return user_state_path("oncall-tui") / (DEMO_FILE if demo else FILE)


# ------------------------------------------------------------------------ notices


@dataclass(frozen=True, slots=True)
class Notice:
    """Something to tell the person. ``key`` makes it once-only ("page:01J…"; "" for no
    memory); ``severity`` is checked against the minimum (None: not a page, not
    checked); ``on_call_only`` holds the bell back while I am not on call."""

    kind: str
    key: str
    title: str  # the toast's title: "New page"
    text: str  # the toast's text
    body: str = ""  # the desktop notification's text ("": the toast's)
    severity: str | None = None
    on_call_only: bool = False
    level: str = "information"  # the toast's look: information | warning | error
    timeout: float = 15.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """What was done with one notice: shown as a toast, rung, sent to the desktop; and,
    when the bell and desktop were held back, why ("quiet until 03:40")."""

    notice: Notice
    toast: bool
    bell: bool
    desktop: bool
    held: str = ""


@dataclass(frozen=True, slots=True)
class Rules:
    bell: bool = True
    desktop: bool = False
    min_severity: str = ""
    only_on_call: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            bell=settings.ui.bell,
            desktop=settings.ui.desktop_notifications,
            min_severity=settings.notifications.min_severity,
            only_on_call=settings.notifications.only_on_call,
        )

    def rings(self) -> str:
        """What a notice that passes does: "the bell and a desktop notification"."""
        parts = (["the bell"] if self.bell else []) + (
            ["a desktop notification"] if self.desktop else []
        )
        return " and ".join(parts)

    def for_pages(self) -> str:
        """Which pages ring: "new pages of major and above (or with no severity) while
        you are on call"."""
        text = "every new page"
        if self.min_severity and self.min_severity != SEVERITY_ORDER[-1]:
            above = "critical" if self.min_severity == SEVERITY_ORDER[0] else ""
            scope = above or f"{self.min_severity} and above"
            text = f"new pages of {scope} (or with no severity)"
        if self.only_on_call:
            text += " while you are on call"
        return text


def below_minimum(severity: str, minimum: str) -> bool:
    """A known severity less urgent than ``minimum``; unknown or missing is never below."""
    sev = (severity or "").strip().lower()
    if not minimum or sev not in SEVERITY_ORDER:
        return False
    return severity_rank(sev) > severity_rank(minimum)


def decide(
    notice: Notice,
    rules: Rules,
    *,
    announced: bool,
    quiet_until: datetime | None,
    on_call: bool | None,
    now: datetime,
    zone: timefmt.ZoneLike = None,
) -> Delivery:
    """The rule for one notice (see the module's docstring)."""
    if announced:
        return Delivery(notice, toast=False, bell=False, desktop=False, held="announced before")
    held: list[str] = []
    if quiet_until is not None and now < quiet_until:
        held.append(f"quiet until {timefmt.format_clock(quiet_until, zone, with_zone=False)}")
    if notice.severity is not None and below_minimum(notice.severity, rules.min_severity):
        held.append(f"{notice.severity.lower()} is below {rules.min_severity}")
    if notice.on_call_only and rules.only_on_call and on_call is False:
        held.append("you are not on call")
    ring = not held
    return Delivery(
        notice,
        toast=True,
        bell=ring and rules.bell,
        desktop=ring and rules.desktop,
        held="; ".join(held),
    )


# ------------------------------------------------------------------------- memory


class NoticeMemory:
    """The keys already announced and the end of quiet, in a small JSON file (mode
    0600). ``path`` None keeps them in memory only. A file that cannot be read or
    written is ignored (and logged): it never stops the app."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._announced: dict[str, datetime] = {}
        self.quiet_until: datetime | None = None
        self._load()

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            body = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring the notification memory %s: %s", self.path, type(exc).__name__)
            return
        if not isinstance(body, dict):
            return
        announced = body.get("announced")
        for key, when in announced.items() if isinstance(announced, dict) else ():
            at = _parse(when)
            if isinstance(key, str) and at is not None:
                self._announced[key] = at
        self.quiet_until = _parse(body.get("quiet_until"))

    def seen(self, key: str) -> bool:
        return bool(key) and key in self._announced

    def remember(self, keys: Iterable[str], now: datetime) -> None:
        fresh = [k for k in keys if k and k not in self._announced]
        if not fresh:
            return
        for key in fresh:
            self._announced[key] = now
        self._forget_old(now)
        self.save()

    def set_quiet(self, until: datetime | None) -> None:
        self.quiet_until = until
        self.save()

    def _forget_old(self, now: datetime) -> None:
        cutoff = now - KEEP_FOR
        keep = sorted(
            ((k, t) for k, t in self._announced.items() if t >= cutoff), key=lambda kt: kt[1]
        )
        self._announced = dict(keep[-MAX_KEYS:])

    def save(self) -> bool:
        if self.path is None:
            return True
        body = {
            "version": 1,
            "announced": {k: t.isoformat() for k, t in self._announced.items()},
            "quiet_until": self.quiet_until.isoformat() if self.quiet_until else None,
        }
        try:
            write_private(self.path, json.dumps(body).encode())
            return True
        except OSError as exc:
            log.warning("could not save the notification memory %s: %s", self.path, exc)
            return False


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


# ----------------------------------------------------------------------- notifier


class Sink(Protocol):
    """Where notices go in the running app (the UI implements it)."""

    def toast(self, title: str, text: str, level: str, timeout: float) -> None: ...

    def bell(self) -> None: ...


@dataclass
class Notifier:
    """The one notification path. ``on_call`` says whether I hold a shift now (None: not
    known yet); ``zone`` shows times; ``send_desktop`` is the desktop notifier."""

    rules: Rules
    memory: NoticeMemory
    clock: Callable[[], datetime]
    on_call: Callable[[], bool | None] = lambda: None
    zone: timefmt.ZoneLike = None
    sink: Sink | None = None
    send_desktop: Callable[[str, str], bool] = desktop.notify
    sent: list[Delivery] = field(default_factory=list)  # the latest deliveries, newest last

    # -- sending ---------------------------------------------------------------------

    def send(self, notices: Sequence[Notice]) -> list[Delivery]:
        """Decide and deliver each notice: toasts one by one, at most one bell, and one
        desktop notification per kind. Returns what was done with each."""
        now = self.clock()
        quiet = self.quiet_until()
        on_call = self.on_call() if any(n.on_call_only for n in notices) else None
        deliveries = [
            decide(
                n,
                self.rules,
                announced=self.memory.seen(n.key),
                quiet_until=quiet,
                on_call=on_call,
                now=now,
                zone=self.zone,
            )
            for n in notices
        ]
        self.memory.remember((d.notice.key for d in deliveries if d.toast), now)
        sink = self.sink
        for d in deliveries:
            if d.toast and sink is not None:
                text = d.notice.text
                if d.held and (self.rules.bell or self.rules.desktop):
                    text += f" (no {self._what()}: {d.held})"
                sink.toast(d.notice.title, text, d.notice.level, d.notice.timeout)
        if sink is not None and any(d.bell for d in deliveries):
            sink.bell()
        for title, body in _desktop_messages([d.notice for d in deliveries if d.desktop]):
            self.send_desktop(title, body)
        self.sent = [*self.sent, *deliveries][-50:]
        return deliveries

    def _what(self) -> str:
        return " or ".join(
            (["bell"] if self.rules.bell else [])
            + (["desktop notification"] if self.rules.desktop else [])
        )

    # -- quiet -----------------------------------------------------------------------

    def quiet_until(self) -> datetime | None:
        """When quiet ends, while it is on; None when it is off (or has ended)."""
        until = self.memory.quiet_until
        if until is not None and self.clock() >= until:
            self.memory.set_quiet(None)  # it ended by itself
            return None
        return until

    def quiet_words(self) -> str:
        """For the status bar: "quiet until 03:40" ("" when off)."""
        until = self.quiet_until()
        if until is None:
            return ""
        return f"quiet until {timefmt.format_clock(until, self.zone, with_zone=False)}"

    def start_quiet(self, duration: timedelta) -> str:
        """Quiet for ``duration`` from now; the words that say exactly what it does."""
        until = self.clock() + duration
        self.memory.set_quiet(until)
        when = timefmt.format_clock(until, self.zone, with_zone=False)
        rings = self.rules.rings()
        if not rings:
            return (
                f"Quiet until {when}. The bell and desktop notifications are off in your "
                "settings anyway; new pages still show here."
            )
        return (
            f"Quiet until {when} ({timefmt.format_duration(duration)}): no {self._what()} "
            "for new pages, shift reminders or watched items; they still show here."
        )

    def end_quiet(self) -> str:
        was_on = self.quiet_until() is not None
        self.memory.set_quiet(None)
        rings = self.rules.rings()
        head = "Quiet is off" if was_on else "Quiet was not on"
        if not rings:
            return f"{head}. The bell and desktop notifications are off in your settings."
        rings = rings[0].upper() + rings[1:]
        return f"{head}. {rings} again for {self.rules.for_pages()}, and for shift reminders."


def _desktop_messages(notices: Sequence[Notice]) -> list[tuple[str, str]]:
    """One desktop notification per kind: pages as "oncall-tui: new page" (or "N new
    pages") with their titles, reminders and watches with their texts joined."""
    out: list[tuple[str, str]] = []
    pages = [n.body or n.text for n in notices if n.kind == KIND_PAGE]
    if pages:
        out.append(desktop.page_notification(pages))
    others: dict[str, list[str]] = {}
    for n in notices:
        if n.kind != KIND_PAGE:
            others.setdefault(n.kind, []).append(n.body or n.text)
    for kind, texts in others.items():
        title = "oncall-tui: shift reminder" if kind == KIND_REMINDER else f"oncall-tui: {kind}"
        out.append((title, " ".join(texts)))
    return out


# ---------------------------------------------------------------------- on call


def on_call_now(snap: Snapshot, now: datetime) -> bool | None:
    """I hold a shift now; None while it is not known (who I am, or the schedules, not
    loaded yet)."""
    if snap.me is None or not snap.schedules:
        return None
    return bool(my_current_shifts(snap.shifts, snap.schedules, snap.me, now))


def page_notice(page: Page) -> Notice:
    """The notice for a new page paging me."""
    return Notice(
        KIND_PAGE,
        f"page:{page.id}",
        "New page",
        f"Paged: {page.title}",
        body=page.title,
        severity=page_severity(page),
        on_call_only=True,
        level="error",
        timeout=15.0,
    )


def notifier_for(settings: Settings, engine: SyncEngine, *, demo: bool = False) -> Notifier:
    """The running app's notifier: the settings' rules, the announced keys and quiet kept
    in the user's state directory (the demo world has a file of its own), and "on call"
    read from the engine's latest snapshot."""
    return Notifier(
        Rules.from_settings(settings),
        NoticeMemory(default_path(demo=demo)),
        clock=engine.clock,
        on_call=lambda: on_call_now(engine.snapshot(), engine.clock()),
        zone=settings.display_zone(),
    )
