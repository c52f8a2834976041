"""OnCallApp: the Textual application.

It owns themes, the keymap, notifications and the command palette; screens render state
and send actions. Nothing here talks HTTP directly: the core does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import Footer, Header, Static

from oncall_tui import __version__
from oncall_tui.core import guard
from oncall_tui.ui.screens.help import HelpScreen
from oncall_tui.ui.themes import DEFAULT_THEME, load_themes

if TYPE_CHECKING:
    from oncall_tui.config import Settings
    from oncall_tui.core.notify import Delivery, Notice, Notifier
    from oncall_tui.core.session import Session
    from oncall_tui.ui.launch import Opening

S = TypeVar("S", bound=Screen)

# Colours for the semantic variables when a built-in Textual theme is chosen.
SEMANTIC_DEFAULTS = {
    "critical": "#FF5F5A",
    "major": "#F29A3D",
    "minor": "#D9C65A",
    "info": "#7FA7D9",
    "acked": "#6FB98F",
    "snoozed": "#9C8FD9",
    "stale": "#C07A3A",
    "mine": "#F5D76E",
}


CAPABILITY_LABELS = {
    "ack": "Acknowledge",
    "snooze": "Snooze",
    "nack": "Decline",
    "escalate": "Escalate and shadow",
    "reassign": "Reassign",
    "override": "Overrides (unavailable, cover)",
    "resolve_alert": "Resolve alert",
    "declare": "Declare incident",
    "note": "Timeline notes",
    "update": "Status and severity updates",
}


class OnCallApp(App[int]):
    TITLE = "oncall-tui"
    SUB_TITLE = f"v{__version__}"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+t", "next_theme", "Theme", show=False, id="theme.next"),
        Binding("D", "declare", "Declare", show=False, id="declare"),
    ]

    def __init__(
        self,
        settings: Settings | None,
        *,
        demo: bool = False,
        readonly: bool = False,
        theme_name: str | None = None,
        main_screen: Callable[[OnCallApp], Any] | None = None,
        session: Session | None = None,
        opening: Opening | None = None,
    ) -> None:
        """``opening``: start drawn from the snapshot cache, before the settings and the
        session exist (``settings`` is then None until :meth:`_open` has them)."""
        from oncall_tui.ui import paste

        paste.install()  # a paste is text, never a command (see ui/paste.py)
        super().__init__()
        self.settings: Settings = settings  # type: ignore[assignment]  # None while opening
        self.demo = demo
        self._opening = opening
        # Read-only when asked for here, by the config, or by the session it runs.
        self.readonly = guard.readonly_mode(
            readonly or (session is not None and session.readonly), settings
        ) or (opening is not None and (opening.readonly_flag or opening.readonly_config))
        ui = settings.ui if settings is not None else None
        self._wanted_theme = theme_name or (ui.theme if ui else opening.theme)  # type: ignore[union-attr]
        self._main_screen = main_screen
        self.session = session
        if session is not None and main_screen is None:
            from oncall_tui.ui.screens.dashboard import DashboardScreen

            self._main_screen = lambda app: DashboardScreen(session)
        self._outbox_stop: asyncio.Event | None = None
        self._outbox_worker: Any = None
        self._asking_to_quit = False
        # Published after each batch of outbox deliveries (the list of Delivery results):
        # screens that show outbox items subscribe to redraw.
        self.outbox_signal: Signal[list[Any]] = Signal(self, "outbox")
        self._theme_problems: list[str] = []
        found = load_themes()
        for theme in found.themes.values():
            self.register_theme(theme)
        self._own_themes = sorted(found.themes)
        self._theme_problems.extend(found.problems)
        self._apply_theme(self._wanted_theme)
        keymap = ui.keymap if ui is not None else opening.keymap  # type: ignore[union-attr]
        if keymap:
            self.set_keymap(dict(keymap))
        if demo:
            self.sub_title = f"v{__version__} · demo world"

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Toasts are plain text unless asked otherwise: they quote page titles, alert
        names and API errors, which must never be read as markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # -- themes ------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(SEMANTIC_DEFAULTS)

    def _apply_theme(self, name: str) -> None:
        if name in self.available_themes:
            self.theme = name
            return
        choices = ", ".join(self._own_themes or sorted(self.available_themes))
        self._theme_problems.append(
            f"Theme {name!r} not found; using {DEFAULT_THEME}. Available: {choices}."
        )
        if DEFAULT_THEME in self.available_themes:
            self.theme = DEFAULT_THEME

    def action_next_theme(self) -> None:
        names = self._own_themes or sorted(self.available_themes)
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=2)

    # -- screens -----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        if self._opening is not None or self._main_screen is not None:
            return  # the first screen covers this one at once: nothing to lay out
        yield Header(icon="☎")
        yield Static(
            "No data source yet. Run with --demo to explore the simulated world.",
            id="placeholder",
        )
        yield Footer()

    def on_mount(self) -> None:
        for problem in self._theme_problems:
            self.notify(problem, severity="warning", timeout=8)
        if self._opening is not None:
            # The first frame from the cache now; the session once it is drawn.
            self.push_screen(self._opening.first_frame())
            self.call_after_refresh(self._open)
            return
        self._run_session()

    def _open(self) -> None:
        """Load the settings and open the session (the heavy imports happen here, after
        the first frame), then show the dashboard in place of the first frame. Keys
        typed meanwhile wait in the queue and go to the dashboard. A configuration
        error ends the app; the caller reports it (:attr:`start_error`)."""
        assert self._opening is not None
        from oncall_tui.ui.screens.dashboard_frame import EXIT_AFTER_DATA

        if EXIT_AFTER_DATA:
            return  # benchmarks: the first frame is what is measured (it exits next)
        try:
            session = self._opening.open()
        except Exception as exc:
            self.start_error = exc
            self.exit(2)
            return
        from oncall_tui.ui.screens.dashboard import DashboardScreen

        self.session = session
        self.settings = session.settings
        flag = self._opening.readonly_flag or session.readonly
        self.readonly = guard.readonly_mode(flag, session.settings)
        if session.settings.ui.keymap:
            self.set_keymap(dict(session.settings.ui.keymap))
        self._main_screen = None
        self.switch_screen(DashboardScreen(session))
        self._run_session()

    start_error: Exception | None = None

    def _run_session(self) -> None:
        outbox = getattr(self.session, "outbox", None)
        if outbox is not None and outbox.repaired:
            self.notify(outbox.repaired, title="Outbox repaired", severity="warning", timeout=30)
        if self._main_screen is not None:
            self.push_screen(self._main_screen(self))
        self._start_polling()
        self._start_delivery()
        self._start_reminders()
        from oncall_tui.ui.screens.silences import watch_expiring

        watch_expiring(self)  # a silence ending while its alerts fire: a notice, once

    async def on_unmount(self) -> None:
        await self._stop_delivery()
        if self.session is not None:
            await self.session.aclose()

    # -- quitting --------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit, but first say what happens to drafts and notes not yet sent."""
        if self._asking_to_quit:  # q again on the question: quit
            self.exit()
            return
        lines = self.unsent_words()
        if not lines:
            self.exit()
            return
        from oncall_tui.ui.screens.modals import ConfirmScreen

        def chosen(ok: bool | None) -> None:
            self._asking_to_quit = False
            if ok:
                self.exit()

        self._asking_to_quit = True
        lines.append("y or q quits; Esc stays.")
        self.push_screen(ConfirmScreen("Quit with notes not sent?", lines, "Quit"), chosen)

    def unsent_words(self) -> list[str]:
        """What quitting now would leave behind, in words ([] when nothing)."""
        from oncall_tui.ui.screens.incidents import NoteInput

        outbox = getattr(self.session, "outbox", None)
        if outbox is None:
            return []
        for screen in self.screen_stack:
            for box in screen.query(NoteInput):
                box.save_draft()
        try:
            waiting = outbox.undelivered()
            drafts = outbox.drafts()
        except Exception:  # a damaged file: nothing more to say than the log does
            return []
        if not waiting and not drafts:
            return []
        demo = getattr(self.session, "demo", None) is not None
        lines = []
        if waiting:
            refs = sorted({str(i.payload.get("incident_ref") or i.target) for i in waiting})
            lines.append(
                f"{len(waiting)} note(s) or update(s) for {', '.join(refs[:5])} are not sent yet."
            )
        if drafts:
            lines.append(
                f"{len(drafts)} draft(s) ({', '.join(d[1] or d[0] for d in drafts[:5])}) "
                "are in a note box, not sent."
            )
        if demo:
            lines.append("This is the demo world: they are discarded with it when you quit.")
        else:
            lines.append(
                f"They stay in the outbox ({outbox.path}): notes go on the next start "
                "(or with `oncall-tui outbox --send`), drafts come back in their note box."
            )
        return lines

    # -- polling ---------------------------------------------------------------------

    def _start_polling(self) -> None:
        """Poll each feed as it falls due, whatever screen is shown: every screen reads
        the engine's snapshots, and asks for fresh data with ``engine.poll_soon``. The
        first frame is drawn first (from the snapshot cache, when there is one): it never
        waits for a poll."""
        if self.session is None:
            return
        # At most once a second (the engine decides what is due; polls run in workers).
        self.set_interval(1.0, self.poll_due)
        self.call_after_refresh(self.poll_due)

    def poll_due(self) -> None:
        """Start a poll of each feed that is due (one worker group per feed)."""
        if self.session is None:
            return
        engine = self.session.engine

        def job(name: str):  # an async function: its coroutine is made when it runs
            async def poll() -> None:
                await engine.poll(name)

            return poll

        for name in engine.due():
            # The poll's coroutine is made when the worker starts: a worker replaced
            # before it runs (exclusive) then leaves no coroutine that was never awaited.
            self.run_worker(
                job(name),
                group=f"poll:{name}",
                exclusive=True,
                exit_on_error=False,
            )

    # -- the outbox ------------------------------------------------------------------

    def _start_delivery(self) -> None:
        """Deliver the outbox for as long as the app runs (one worker, whatever screen is
        shown). Each batch is told in a toast (unless the action that queued an item
        reports it itself) and published on :attr:`outbox_signal`."""
        if self.session is None or self.session.outbox is None:
            return
        from oncall_tui.core.incidents import delivery_words

        actions = self.session.incidents
        self._outbox_stop = stop = asyncio.Event()

        def delivered(results: list[Any]) -> None:
            for result in results:
                if result.item.key in actions.settling:
                    continue  # the action that queued it reports how it ended
                said = delivery_words(result)
                if said is not None:
                    text, severity = said
                    timeout = 12 if severity == "error" else 4
                    self.notify(text, severity=severity, timeout=timeout)  # type: ignore[arg-type]
            self.outbox_signal.publish(results)

        self._outbox_worker = self.run_worker(
            actions.run_delivery(stop, delivered),
            name="outbox delivery",
            group="outbox",
            exclusive=True,
            exit_on_error=False,
        )

    async def _stop_delivery(self, timeout: float = 3.0) -> None:
        """End the delivery loop cleanly, before the outbox file is closed."""
        if self._outbox_stop is None or self._outbox_worker is None:
            return
        self._outbox_stop.set()
        try:
            await asyncio.wait_for(self._outbox_worker.wait(), timeout)
        except Exception:  # cancelled, errored or slow: make sure it is gone
            self._outbox_worker.cancel()

    # -- incidents ---------------------------------------------------------------

    def open_incidents(self, select: Any = None) -> None:
        """Show the incident screen (on ``select``, an Incident, when given)."""
        from oncall_tui.ui.screens.incidents import IncidentsScreen

        session = self._session_for("incidents", "Incidents need")
        if session is None:
            return
        shown = self._back_to(IncidentsScreen)
        if shown is None:
            self.push_screen(IncidentsScreen(session, select=getattr(select, "id", None)))
        elif select is not None:
            shown.select_incident(select)

    def _session_for(self, action: str, need: str) -> Session | None:
        """The session, when ``action`` may run now; else say why not (None)."""
        if self.session is None:
            self.notify(f"{need} a data source (try --demo).", severity="warning")
            return None
        refused = guard.why_not(action, readonly=self.readonly, backends=self.session.backends)
        if refused is not None:
            self.notify(str(refused), severity="warning", markup=False)
            return None
        return self.session

    def _back_to(self, kind: type[S]) -> S | None:
        """Back to the open screen of ``kind`` (closing those above it), if one is open."""
        for screen in self.screen_stack:
            if isinstance(screen, kind):
                while self.screen is not screen:
                    self.pop_screen()
                return screen
        return None

    def open_declare(self, alert: Any = None, page: Any = None) -> None:
        """The declare form, prefilled from an alert or page when given."""
        from oncall_tui.core.incidents import draft_from_alert
        from oncall_tui.ui.screens.declare import DeclareScreen

        if self.session is None:
            self.notify("Declaring needs a data source (try --demo).", severity="warning")
            return
        refused = guard.why_not(
            "declare",
            readonly=self.readonly,
            backends=self.session.backends,
        )
        if refused is not None:
            self.notify(str(refused), severity="error", markup=False)
            return
        source = alert or page
        what = f"{getattr(source, 'title', '')}" if source is not None else ""

        def declared(result: Any) -> None:
            if result is not None:
                self.notify(result.message, title="Incident declared", timeout=10, markup=False)
                self.open_incidents(select=result.incident)

        self.push_screen(
            DeclareScreen(
                self.session.incidents,
                self.settings.ui.severity_guidance,
                draft_from_alert(alert, page),
                from_what=what,
            ),
            declared,
        )

    def action_declare(self) -> None:
        self.open_declare()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen, intro=self.help_intro()))

    def help_intro(self) -> str:
        parts = []
        from oncall_tui.ui.screens.incidents import IncidentsScreen

        if isinstance(self.screen, IncidentsScreen):
            parts.append(
                "Note box (n): it names the incident the note goes to. Enter sends · Ctrl+J "
                "new line · Ctrl+O edit in $EDITOR · Esc leaves, keeping the draft (drafts "
                "are saved as you type and come back after a restart). A paste is text: its "
                "line breaks never send, and colour or control codes show as ␛ and are "
                "removed when sent. R resends refused notes of this incident, K skips the "
                "first refused one (later notes wait behind it until then).\n"
            )
        if self.readonly:
            parts.append(f"Read-only: every write is disabled ({guard.READ_ONLY_WORDS}).")
        if self.demo:
            parts.append("Demo: a simulated incident.io and Grafana; nothing leaves this machine.")
        caps = self.session.backends.capabilities if self.session is not None else None
        if caps is not None:
            for capability in caps.actions:
                if not capability.usable:
                    label = CAPABILITY_LABELS.get(capability.action, capability.action)
                    parts.append(f"\n{label} is not available: {capability.reason}")
        return " ".join(parts)

    # -- calendar and shift reminders ------------------------------------------------

    def open_calendar(self) -> None:
        """Show the shift calendar (back to it if it is already open)."""
        from oncall_tui.ui.screens.calendar import CalendarScreen

        session = self._session_for("calendar", "The calendar needs")
        if session is not None and self._back_to(CalendarScreen) is None:
            self.push_screen(CalendarScreen(session))

    def _start_reminders(self) -> None:
        minutes = self.settings.actions.reminder_minutes
        if self.session is None or minutes <= 0:
            return
        from datetime import timedelta

        from oncall_tui.core.reminders import ReminderTracker

        self._reminders = ReminderTracker(timedelta(minutes=minutes))
        self.set_interval(15, self.check_reminders)

    def open_url(self, url: str, *, new_tab: bool = True, what: str = "link") -> None:
        """Open ``url`` (checked http/https) without ever blocking the dashboard: in a
        graphical browser, detached. With none usable here, copy it (OSC 52) and show it
        to select, saying why it was not opened."""
        from oncall_tui.core import desktop

        result = desktop.open_link(url)
        if result.opened:
            self.notify(f"Opened the {what} in your browser: {url}", timeout=6, markup=False)
            return
        self.copy_to_clipboard(url)
        self.notify(
            f"Not opened: {result.why_not}. Sent to your clipboard (OSC 52, where the "
            f"terminal allows it); select it here:\n{url}",
            title=f"The {what} link",
            severity="warning",
            timeout=30,
            markup=False,
        )

    def check_reminders(self) -> None:
        """Toast (and bell, and a desktop notification if wanted) each reminder due
        before one of my shifts starts or ends; each is given once."""
        tracker = getattr(self, "_reminders", None)
        if tracker is None or self.session is None:
            return
        engine = self.session.engine
        snap = engine.snapshot()
        found = tracker.check(
            snap.shifts, snap.schedules, snap.me, engine.clock(), zone=self.settings.display_zone()
        )
        if not found:
            return
        from oncall_tui.core.notify import KIND_REMINDER, Notice

        self.send_notices(
            [
                Notice(
                    KIND_REMINDER,
                    "reminder:" + "|".join(r.key),
                    "Shift starting" if r.kind == "start" else "Shift ending",
                    r.text,
                    timeout=30,
                )
                for r in found
            ]
        )

    # -- notifications -----------------------------------------------------------------

    def send_notices(self, notices: Sequence[Notice]) -> list[Delivery]:
        """Every toast-with-bell goes here: the session's notifier applies the rule
        (never twice, quiet, severity, on call; see :mod:`oncall_tui.core.notify`)."""
        notifier = self.notifier
        if notifier is None:
            return []
        notifier.sink = self
        return notifier.send(notices)

    @property
    def notifier(self) -> Notifier | None:
        return getattr(self.session, "notifier", None)

    def toast(self, title: str, text: str, level: str, timeout: float) -> None:
        """The notifier's toast (its :class:`~oncall_tui.core.notify.Sink`)."""
        severity = cast(SeverityLevel, level if level in ("warning", "error") else "information")
        self.notify(text, title=title, severity=severity, timeout=timeout, markup=False)
