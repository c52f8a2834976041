"""The dashboard on the demo world with time standing still, for snapshot tests.

Everything that shows time reads the wall clock: the simulated worlds (ids, alert ages, the
scripted page), the sync engine (when a feed is due, how old its data is), the widgets
(countdowns, "5m ago"), Textual's header clock and its toasts. ``time_machine.travel(...,
tick=False)`` stops that clock for all of them at once, and a test moves it on by hand
(:meth:`FrozenDemo.advance`). Textual's timers and asyncio run on the monotonic clock,
which time-machine leaves alone, so the app itself keeps running.

With the clock stopped the engine polls only when the test moves time past a feed's
interval, so what is on screen changes only when the test says so; :meth:`FrozenDemo.settle`
waits for those polls (and the sparkline of the highlighted row) to land.

The session is the one ``make_session`` builds for ``--demo``; only the demo world's
seed, scenario and background load are chosen here (by wrapping ``build_demo`` while the
session is made), and the clients retry without real waits.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from factories import until

import oncall_tui.sim.demo as sim_demo
from oncall_tui.backends.http import RetryPolicy
from oncall_tui.config import ActionsConfig, NotificationsConfig, Settings, UiConfig, UserConfig
from oncall_tui.core import views
from oncall_tui.core.sync import utcnow
from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.launch import Session, make_session
from oncall_tui.ui.screens.dashboard import SPARKLINE_TTL
from oncall_tui.ui.widgets.alert_table import AlertTable
from oncall_tui.ui.widgets.status_bar import StatusBar

# Shown in this zone (the person's setting), and the machine's local zone while frozen:
# Textual's header clock shows local time, so it must not depend on the machine.
ZONE = "Europe/London"
# A Tuesday morning (GMT, so UTC too), inside "me"'s working-hours shift on Payments.
# A ZoneInfo destination makes time-machine set the process's local zone as well.
FROZEN_AT = datetime(2026, 3, 3, 10, 20, tzinfo=ZoneInfo(ZONE))
SEED = 7
FAST_RETRY = RetryPolicy(base=0.001, cap=0.01)


@contextlib.contextmanager
def frozen_time(at: datetime = FROZEN_AT) -> Iterator[time_machine.Coordinates]:
    """Stop the wall clock at ``at`` (the monotonic clock keeps running)."""
    with time_machine.travel(at, tick=False) as traveller:
        yield traveller


@contextlib.contextmanager
def _demo_options(**options) -> Iterator[None]:
    """Make ``make_session`` build its demo world with these ``build_demo`` options."""
    original = sim_demo.build_demo
    sim_demo.build_demo = functools.partial(original, **options)
    try:
        yield
    finally:
        sim_demo.build_demo = original


def demo_session(
    *,
    readonly: bool = False,
    scenario: bool = True,
    background_alerts: int = 500,
    seed: int = SEED,
    ui: UiConfig | None = None,
    actions: ActionsConfig | None = None,
    notifications: NotificationsConfig | None = None,
) -> Session:
    """``make_session(..., demo=True)`` on a seeded demo world, shown in :data:`ZONE`
    (``ui`` and ``actions`` settings as given, else the defaults).

    Call it with the clock already frozen: the world starts "now".
    """
    base = Settings(
        user=UserConfig(timezone=ZONE),
        ui=ui or UiConfig(),
        actions=actions or ActionsConfig(),
        notifications=notifications or NotificationsConfig(),
    )
    with _demo_options(seed=seed, scenario=scenario, background_alerts=background_alerts):
        session = make_session(base, demo=True, readonly=readonly)
    backends = session.backends
    clients = [backends.incidentio, *backends.alertmanagers.values()]
    clients += [*backends.grafanas.values(), *backends.prometheus.values()]
    for client in clients:
        if client is not None:
            client.retry = FAST_RETRY
    return session


class FrozenDemo:
    """An :class:`OnCallApp` on a seeded demo world, for one snapshot.

    Use it inside :func:`frozen_time`; ``traveller`` is what that yields.
    """

    def __init__(
        self,
        traveller: time_machine.Coordinates,
        *,
        readonly: bool = False,
        scenario: bool = True,
        background_alerts: int = 500,
        ui: UiConfig | None = None,
        actions: ActionsConfig | None = None,
        notifications: NotificationsConfig | None = None,
        session: Session | None = None,
    ) -> None:
        self.traveller = traveller
        self.session = session or demo_session(
            readonly=readonly,
            scenario=scenario,
            background_alerts=background_alerts,
            ui=ui,
            actions=actions,
            notifications=notifications,
        )
        self.app = OnCallApp(
            self.session.settings, demo=True, readonly=readonly, session=self.session
        )

    # -- what is there ----------------------------------------------------------------

    @property
    def demo(self):
        return self.session.demo

    @property
    def screen(self):
        """The screen on top (a modal, when one is open)."""
        return self.app.screen

    @property
    def dashboard(self):
        """The dashboard screen, also while a modal (help, the palette) is over it."""
        for screen in reversed(self.app.screen_stack):
            if screen.__class__.__name__ == "DashboardScreen":
                return screen
        raise AssertionError("no dashboard on the screen stack")

    def _on_dashboard(self) -> bool:
        return any(s.__class__.__name__ == "DashboardScreen" for s in self.app.screen_stack)

    @property
    def table(self) -> AlertTable:
        return self.dashboard.query_one(AlertTable)

    def watched_rows(self) -> set[str]:
        """The rows drawn with the ◎."""
        return {r.key for r in self.table.rows if self.table.is_watched(r)}

    def notices(self) -> list[str]:
        return [n.message for n in self.app._notifications]

    # -- moving the world ---------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the wall clock on; the dashboard polls whatever that made due."""
        self.traveller.shift(timedelta(seconds=seconds))

    def faults(self, service: str):
        """The simulator's fault switches (``app.state.faults``) for a demo service:
        ``incident-io`` has :class:`oncall_tui.sim.faults.Faults` (``.update(down=True)``),
        ``grafana:us``/``grafana:eu`` have :class:`oncall_tui.sim.grafana.Faults`
        (``.status = 503``); ``alertmanager:k8s`` is served by the ``grafana:us`` app."""
        return self.demo.transports[service].app.state.faults

    # -- waiting ------------------------------------------------------------------------

    async def until(self, pilot, condition: Callable[[], bool], what: str) -> None:
        await until(pilot, condition, what)

    def _busy(self) -> bool:
        """A poll, a sparkline fetch, an incident lookup or an action is still running
        (the outbox delivery loop runs for the app's life and is not counted)."""
        groups = ("poll:", "sparkline", "action", "incident-", "history")
        return any(w.group.startswith(groups) and not w.is_finished for w in self.app.workers)

    def _sparkline_settled(self) -> bool:
        """The highlighted row's sparkline and "fired before?" history are in."""
        screen = self.dashboard
        row = screen._current()
        alert = screen._graph_alert(row)
        if alert is None:
            return True
        # A graph older than its time to live is fetched again when the detail is next
        # drawn: ask for it now (as drawing would), so a snapshot never catches either one.
        screen._sparkline_state(alert)
        cached = screen._sparklines.get(alert.key)
        fresh = cached is not None and utcnow() - cached[0] < SPARKLINE_TTL
        return fresh and screen.history.cached(alert) is not None

    async def settle(self, pilot) -> None:
        """Wait until every due poll has landed and been drawn, and the highlighted
        row's sparkline has been fetched (with a modal over the dashboard too)."""
        await self.until(pilot, self._on_dashboard, "dashboard")
        engine = self.session.engine

        def quiet() -> bool:
            return (
                not engine.due()
                and not self._busy()
                and not self.dashboard._dirty
                and self._sparkline_settled()
            )

        # Twice in a row, a few frames apart: a landed poll may start a sparkline fetch.
        await self.until(pilot, quiet, "polls and sparkline settled")
        await pilot.pause(0.1)
        await self.until(pilot, quiet, "polls and sparkline settled")
        self.redraw_clocks()
        await pilot.pause()

    def redraw_clocks(self) -> None:
        """Redraw everything that shows the time now, rather than on its next one-second
        tick (real time): the header clock, ages and countdowns in the table, the shift
        panel and the status bar. Otherwise a screenshot taken within a second of
        :meth:`advance` could still show the time before it."""
        for screen in {self.screen, self.dashboard}:
            for widget in screen.query("*"):
                widget.refresh()
        self.dashboard.query_one(StatusBar).update_state()

    async def loaded(self, pilot) -> None:
        """The first polls of every feed have landed and the person has looked at them:
        every row seen, the cursor on the first row.

        Which feed lands first varies from run to run, and the table keeps its cursor on
        whichever row arrived first (marking that one seen); putting the cursor back on
        top and marking all seen makes the starting screen the same every time.
        """
        await self.until(pilot, self._on_dashboard, "dashboard")
        engine = self.session.engine
        await self.until(
            pilot,
            lambda: all(h.last_ok or h.error for h in engine.snapshot().health),
            "first poll of every source",
        )
        await self.settle(pilot)
        self.table.action_first()
        self.table.mark_seen()
        await self.settle(pilot)

    def move_to(self, predicate: Callable[[views.AlertRow], bool]) -> views.AlertRow:
        table = self.table
        for row in table.rows:
            if predicate(row):
                assert table.move_cursor_to_key(row.key)
                return row
        raise AssertionError("no such row")

    def my_triggered_page(self) -> views.AlertRow | None:
        for row in self.table.rows:
            if row.kind == "page" and row.state == "triggered":
                return row
        return None
