"""The silences screen (``s`` on the dashboard): every active and pending silence on every
Grafana and Alertmanager, by source, with who made it, what it matches, how many firing
alerts it matches now and a live countdown. ``e`` extends, ``x`` expires (after asking),
``g`` opens it in Grafana (or the Alertmanager UI), ``r`` reads them again.

The rules live in :mod:`oncall_tui.core.silences`; this screen draws them and sends the
actions. :func:`watch_expiring` is the app-wide notice for a silence about to expire while
its alerts still fire: it runs whatever screen is shown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Header, Static

from oncall_tui.core import timefmt
from oncall_tui.core.actions import Outcome
from oncall_tui.core.silences import (
    ExpiryWatch,
    SilenceRow,
    SourceSilences,
    alerts_by_source,
    firing_words,
    left_words,
    row_flags,
)
from oncall_tui.safety import clean_text
from oncall_tui.ui.screens.base import AppScreen
from oncall_tui.ui.screens.commands import BindingCommands
from oncall_tui.ui.screens.modals import ConfirmScreen, DurationScreen
from oncall_tui.ui.widgets.key_footer import KeyFooter
from oncall_tui.ui.widgets.silence_list import SilenceList

if TYPE_CHECKING:
    from oncall_tui.core.session import Session

REFRESH_SECONDS = 30.0  # the screen reads the silences again this often
WATCH_SECONDS = 60.0  # the app checks for silences about to expire this often
WATCH_FIRST = 20.0  # … first this long after start (the alert lists are in by then)
NOTICE_SECONDS = 30


def known_alerts(session: Session) -> dict[str, Any]:
    """The firing alerts the dashboard already holds, by source, for the sources whose
    alert list has been read live (not from the start-up cache): no second read."""
    world = session.engine.world
    names = [
        n for n in session.backends.alertmanagers if n in world.alerts and n not in world.cached
    ]
    return alerts_by_source((a for n in names for a in world.alerts[n]), names)


def give_notices(app: Any, found: Sequence[SourceSilences]) -> None:
    """Toast each silence about to expire while its alerts still fire, once."""
    watch: ExpiryWatch | None = getattr(app, "silence_watch", None)
    if watch is None:
        watch = app.silence_watch = ExpiryWatch()
    for text in watch.check(found):
        app.notify(text, title="Silence ending", severity="warning", timeout=NOTICE_SECONDS)


def watch_expiring(app: Any) -> None:
    """Check every minute, on every screen, for silences about to expire while their
    alerts fire (one ``GET …/silences`` per source; the alerts are the dashboard's)."""
    session = getattr(app, "session", None)
    if session is None or not session.backends.alertmanagers:
        return

    async def check() -> None:
        found = await session.silences.fetch(known_alerts(session))
        give_notices(app, found)

    def start() -> None:
        app.run_worker(check, group="silences-watch", exclusive=True, exit_on_error=False)

    app.set_timer(WATCH_FIRST, start)
    app.set_interval(WATCH_SECONDS, start)


class SilencesScreen(AppScreen):
    TITLE = "Silences"
    # Ctrl+P lists this screen's actions by name too ("expire" finds Expire).
    COMMANDS: ClassVar[set] = {BindingCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "extend", "Extend", id="silences.extend"),
        Binding("x", "expire", "Expire", id="silences.expire"),
        Binding("g", "open", "Open in Grafana", id="silences.open"),
        Binding("r", "refresh", "Refresh", id="silences.refresh"),
        Binding("escape,s", "close", "Back", id="silences.close"),
    ]
    DEFAULT_CSS = """
    SilencesScreen #silences-summary { height: auto; padding: 0 1; color: $foreground-muted; }
    SilencesScreen #silence-detail {
        height: auto; max-height: 12; padding: 0 1; border-top: hkey $panel;
    }
    """

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.found: list[SourceSilences] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Header(icon="☎")
        yield Static("", id="silences-summary", markup=False)
        yield SilenceList(id="silence-list")
        yield Static("", id="silence-detail", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(SilenceList).focus()
        self._summary("Reading silences from " + self._sources_words() + "…")
        self.reload()
        self.set_interval(1.0, self._tick, name="silences-clock")
        self.set_interval(REFRESH_SECONDS, self.reload, name="silences-refresh")

    def _sources_words(self) -> str:
        names = sorted(self.session.backends.alertmanagers)
        return ", ".join(names) if names else "no source"

    def _summary(self, text: str) -> None:
        self.query_one("#silences-summary", Static).update(text)

    # -- data ----------------------------------------------------------------------

    @work(group="silences-read", exclusive=True, exit_on_error=False)
    async def reload(self) -> None:
        try:
            found = await self.session.silences.fetch(known_alerts(self.session))
        except Exception as exc:  # a read never ends the screen
            self.fail(f"Reading the silences failed: {clean_text(str(exc), limit=300)}")
            return
        self.found = found
        self.loaded = True
        listing = self.query_one(SilenceList)
        listing.loading_text = (
            "No Grafana or Alertmanager configured: there are no silences to show."
        )
        listing.show(found)
        self._summary(self._summary_text(found))
        give_notices(self.app, found)

    def _summary_text(self, found: Sequence[SourceSilences]) -> str:
        total = sum(len(s.rows) for s in found)
        down = [s.source for s in found if not s.available]
        forgotten = sum(r.forgotten for s in found for r in s.rows)
        parts = [
            f"{total} silence{'' if total == 1 else 's'} on {len(found) - len(down)} source(s)"
        ]
        if down:
            parts.append(f"not available: {', '.join(down)}")
        if forgotten:
            parts.append(f"{forgotten} possibly forgotten")
        parts.append("space mark · e extend · x expire · g open · r refresh · Esc back")
        return " · ".join(parts)

    def _tick(self) -> None:
        self.query_one(SilenceList).refresh()
        self._show_detail(self.query_one(SilenceList).current)

    @on(SilenceList.Highlighted)
    def _highlighted(self, event: SilenceList.Highlighted) -> None:
        self._show_detail(event.row)

    def _source(self, row: SilenceRow) -> SourceSilences | None:
        return next((s for s in self.found if s.source == row.source), None)

    def _show_detail(self, row: SilenceRow | None) -> None:
        detail = self.query_one("#silence-detail", Static)
        if row is None:
            detail.update("")
            return
        source = self._source(row)
        now = source.server_now() if source is not None else self.session.clock()
        zone = self.oncall.settings.display_zone()
        silence = row.silence
        flags = row_flags(row)
        lines = [
            f"Silence {silence.id} on {row.source} · {silence.state} · {left_words(row, now)}"
            + (f" · {' · '.join(flags)}" if flags else ""),
            f"From {timefmt.format_time(silence.starts_at, zone, now=now)} to "
            f"{timefmt.format_time(silence.ends_at, zone, now=now)} (by {row.source}'s clock)",
            f"By {silence.created_by or '(nobody named)'}: {silence.comment or '(no comment)'}",
            f"Matches {row.firing} firing alert{'' if row.firing == 1 else 's'} now: "
            + ", ".join(row.matcher_texts),
        ]
        if row.forgotten:
            lines.append(
                "Possibly forgotten: it started over "
                f"{timefmt.format_duration(self.session.silences.forgotten_after)} ago and "
                "still holds firing alerts."
            )
        detail.update("\n".join(clean_text(line, limit=2000) for line in lines))

    # -- actions ---------------------------------------------------------------------

    def _current(self) -> SilenceRow | None:
        row = self.query_one(SilenceList).current
        if row is None:
            self.fail("No silence is selected (the list is empty).")
        return row

    def _targets(self) -> list[SilenceRow]:
        """The marked silences (space marks), else the one under the cursor."""
        marked = self.query_one(SilenceList).marked_rows
        if marked:
            return marked
        row = self._current()
        return [row] if row is not None else []

    def action_extend(self) -> None:
        rows = self._targets()
        if not rows:
            return

        def chosen(by: Any) -> None:
            if by is not None:
                self._extend(rows, by)

        zone = self.oncall.settings.display_zone()
        if len(rows) == 1:
            row = rows[0]
            source = self._source(row)
            now = source.server_now() if source is not None else self.session.clock()
            end = max(row.silence.ends_at, now)  # the presets say until when, from there
            title = (
                f"Extend silence {row.short_id} on {row.source} "
                f"(ends {timefmt.format_time(end, zone, now=now)}) by"
            )
            dialog = DurationScreen(title, clock=lambda: end, zone=zone)
        else:
            dialog = DurationScreen(f"Extend {len(rows)} silences, each by", zone=zone)
        self.app.push_screen(dialog, chosen)

    @work(group="silences-act", exit_on_error=False)
    async def _extend(self, rows: list[SilenceRow], by: Any) -> None:
        silences = self.session.silences
        if len(rows) == 1:
            await self._act(silences.extend(rows[0], by))
        else:
            await self._act(silences.extend_all(rows, by))

    def action_expire(self) -> None:
        rows = self._targets()
        if not rows:
            return
        lines: list[str] = []
        for row in rows[:6]:
            lines.append(f"{row.short_id} on {row.source}: {', '.join(row.matcher_texts)}")
            if len(rows) == 1:
                lines.append(
                    f"by {row.silence.created_by or '(nobody named)'}: {row.silence.comment}"
                )
        if len(rows) > 6:
            lines.append(f"… and {len(rows) - 6} more")
        firing = sum(row.firing for row in rows)
        if firing:
            which = "they match" if len(rows) > 1 else "it matches"
            lines.append(f"{firing_words(firing)} {which} will notify again.")

        def chosen(ok: bool | None) -> None:
            if ok:
                self._expire(rows)

        title = (
            f"Expire silence {rows[0].short_id}?"
            if len(rows) == 1
            else f"Expire {len(rows)} silences?"
        )
        self.app.push_screen(ConfirmScreen(title, lines, "Expire"), chosen)

    @work(group="silences-act", exit_on_error=False)
    async def _expire(self, rows: list[SilenceRow]) -> None:
        silences = self.session.silences
        if len(rows) == 1:
            await self._act(silences.expire(rows[0]))
        else:
            await self._act(silences.expire_all(rows))

    async def _act(self, action: Awaitable[str | tuple[str, tuple[str, ...]]]) -> None:
        """Run an extend or expire and say what happened to which silence where: one
        line, or for several a summary by source and a line per silence."""

        async def run() -> Outcome:
            said = await action
            if isinstance(said, str):
                return Outcome(said)
            return Outcome(said[0], details=said[1])

        await self.perform(run)
        self.reload()

    def action_open(self) -> None:
        row = self._current()
        if row is None:
            return
        if row.url is None:
            self.fail(f"Silence {row.short_id} on {row.source} has no http(s) page to open.")
            return
        self.oncall.open_url(row.url, what=f"silence {row.short_id}")

    def action_refresh(self) -> None:
        self._summary("Reading silences again…")
        self.reload()

    def action_close(self) -> None:
        self.app.pop_screen()
