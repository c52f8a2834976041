"""The dashboard's keys that act on the selected rows: ack, unack, escalate, decline,
snooze, shadow and resolve (each asks first where a mistake would page someone), and the
row's links (runbook, dashboard, panel, source, copy).

:class:`RowActions` is the base of :class:`~oncall_tui.ui.screens.dashboard.DashboardScreen`:
it finds what the keys act on (the marked rows, else the row the detail shows) and runs the
core's actions through :meth:`AppScreen.perform`. What is shown, and when, stays in the
dashboard module.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, cast

from textual import work

from oncall_tui.core import views
from oncall_tui.core.actions import ActionError, Actions, Outcome
from oncall_tui.core.liverows import LiveRows
from oncall_tui.core.resolved import ResolvedTrace
from oncall_tui.core.rows import first_link, row_targets
from oncall_tui.core.session import Session
from oncall_tui.domain import (
    LINK_DASHBOARD,
    LINK_PANEL,
    LINK_RUNBOOK,
    LINK_SOURCE,
    SOURCE_INCIDENT_IO,
    Alert,
    Page,
    Snapshot,
    User,
)
from oncall_tui.safety import clean_text
from oncall_tui.ui.screens.base import AppScreen
from oncall_tui.ui.screens.modals import ChooseScreen, ConfirmScreen, DurationScreen
from oncall_tui.ui.widgets.alert_detail import AlertDetail
from oncall_tui.ui.widgets.alert_table import AlertTable

if TYPE_CHECKING:
    from oncall_tui.ui.app import OnCallApp


class RowActions(AppScreen):
    """What the dashboard's row keys act on, and the actions themselves."""

    session: Session
    actions: Actions
    _snapshot: Snapshot
    _live: LiveRows  # the rows, and the alerts by key and by id
    _trace: ResolvedTrace

    # -- what the keys act on -------------------------------------------------------

    def _current(self) -> views.AlertRow | None:
        """The row keys act on: the one the detail pane shows (as it is now)."""
        table = self.query_one(AlertTable)
        shown = self.query_one(AlertDetail).row
        if shown is not None:
            return table.get_row(shown.key)
        return table.cursor_item

    def _rows(self) -> tuple[views.AlertRow, ...]:
        raise NotImplementedError  # the dashboard's rows for its filter

    def _alert_lookup(self) -> tuple[Mapping[str, Alert], Mapping[str, tuple[int, Alert]]]:
        """Alerts by key, and by id with their position (the first of a key or id), kept
        with the rows in proportion to what changed, so a redraw does not scan them."""
        if self._live.source is not self._snapshot.alerts:
            self._rows()
        return self._live.alerts_by_key, self._live.alerts_by_id

    def _items(self, row: views.AlertRow | None) -> list[Page | Alert]:
        if row is None:
            return []
        if row.resolved_at is not None:  # a recently resolved trace: what it was then
            trace = self._trace.get(row.key)
            return list(trace.items) if trace is not None else []
        by_key, _ = self._alert_lookup()
        pages = [p for p in self._snapshot.pages if p.id in row.page_ids]
        alerts = [by_key[k] for k in row.alert_keys if k in by_key]
        return [*pages, *alerts]

    def _primary(self, row: views.AlertRow | None) -> Page | Alert | None:
        items = self._items(row)
        return items[0] if items else None

    def _first_alert(self, row: views.AlertRow | None) -> Alert | None:
        if row is None:
            return None
        if row.resolved_at is not None:
            return next((i for i in self._items(row) if isinstance(i, Alert)), None)
        by_key, by_id = self._alert_lookup()
        for key in row.alert_keys:
            if key in by_key:
                return by_key[key]
        # A page's related alert, when the world knows it (the first in snapshot order).
        for page in (p for p in self._snapshot.pages if p.id in row.page_ids):
            found = [by_id[aid] for aid in page.alert_ids if aid in by_id]
            if found:
                return min(found, key=lambda hit: hit[0])[1]
        return None

    def _graph_alert(self, row: views.AlertRow | None) -> Alert | None:
        """The alert whose metric and rule links a row shows: the Grafana or Alertmanager
        alert behind it (core.linking), else its own first alert."""
        if row is not None and row.source_key:
            by_key, _ = self._alert_lookup()
            if row.source_key in by_key:
                return by_key[row.source_key]
        return self._first_alert(row)

    # -- actions --------------------------------------------------------------------

    def _targets(self) -> list[Page | Alert]:
        """The marked rows' items, else the row under the cursor."""
        table = self.query_one(AlertTable)
        marked = table.marked
        if marked:
            rows = [table.get_row(k) for k in marked]
            items: list[Page | Alert] = []
            for row in rows:
                primary = self._primary(row)
                if primary is not None:
                    items.append(primary)
            return items
        primary = self._primary(self._current())
        return [primary] if primary is not None else []

    @work(group="action", exit_on_error=False)
    async def _run(self, coro_factory, *items, retry=None) -> None:
        await self._act(lambda: coro_factory(*items), retry=retry)

    async def _act(self, action, *, retry=None) -> None:
        """Run an action and say what happened; when part of a grouped or bulk action
        failed, say which and offer to retry those (again until none fails or no)."""
        outcome = await self.perform(action)
        while outcome is not None:
            self.query_one(AlertTable).clear_marks()
            if not outcome.failed or retry is None:
                return
            failed = list(outcome.failed)
            lines = [clean_text(line, limit=200) for line in outcome.details]
            if not await self._confirm(f"Retry the {_count(failed)} that failed?", lines, "Retry"):
                return
            outcome = await self.perform(partial(retry, failed))

    async def _confirm(self, title: str, lines: list[str], verb: str, *, danger=False) -> bool:
        """Ask, and wait for the answer (Esc and n mean no)."""
        answer = await self.app.push_screen_wait(ConfirmScreen(title, lines, verb, danger=danger))
        return bool(answer)

    def _row_targets(self) -> tuple[list[views.AlertRow], list[Page | Alert]]:
        """The marked rows (else the row the detail shows) and everything they stand
        for: a page row's page, every member of an alert group."""
        table = self.query_one(AlertTable)
        rows = [r for r in (table.get_row(k) for k in table.marked) if r is not None]
        if not rows:
            current = self._current()
            rows = [current] if current is not None else []
        by_key, _ = self._alert_lookup()
        items = [i for r in rows for i in row_targets(r, self._snapshot.pages, by_key)]
        return rows, list(dict.fromkeys(items))

    async def _many(self, items, action, *args) -> Outcome:
        if len(items) == 1:
            return await action(items[0], *args)
        return await self.actions.for_each(items, action, *args)

    def _need_items(self) -> list[Page | Alert] | None:
        items = self._targets()
        if not items:
            self.fail("Nothing selected.")
            return None
        return items

    def action_ack(self) -> None:
        rows, items = self._row_targets()
        if not items:
            self.fail("Nothing selected.")
            return
        silenced = [i for i in items if isinstance(i, Alert) and i.source != SOURCE_INCIDENT_IO]
        if not silenced and len(rows) == 1:  # a page: at once, no question
            self._run(self.actions.ack_all, items, retry=self.actions.ack_all)
            return
        self._confirm_ack(items, silenced)

    @work(group="action", exit_on_error=False)
    async def _confirm_ack(self, items: list[Page | Alert], silenced: list[Alert]) -> None:
        """Show what each silence would match (per instance) before anything is made."""
        try:
            plans = await self.actions.plan_silences(silenced) if silenced else []
        except ActionError as exc:
            self.fail(str(exc))
            return
        titles = list(dict.fromkeys(i.title for i in items))
        lines = [f"• {clean_text(t, limit=90)}" for t in titles[:20]]
        if len(titles) > 20:
            lines.append(f"… and {len(titles) - 20} more")
        lines += [clean_text(plan.words(), limit=300) for plan in plans]
        minutes = self.session.settings.actions.silence_minutes
        if plans:
            lines.append(f"One silence per instance, for {minutes} min.")
        if await self._confirm(f"Acknowledge {_count(items)}?", lines, "Acknowledge"):
            await self._act(lambda: self.actions.ack_all(items, plans), retry=self.actions.ack_all)

    def action_unack(self) -> None:
        _, items = self._row_targets()
        if not items:
            self.fail("Nothing selected.")
            return
        self._run(self.actions.unack_all, items, retry=self.actions.unack_all)

    @work(group="action", exit_on_error=False)
    async def _confirm_many(
        self, verb: str, items, action, *args, danger: bool = False, effect: str = ""
    ) -> None:
        lines = [f"• {clean_text(i.title, limit=90)}" for i in items[:20]]
        if len(items) > 20:
            lines.append(f"… and {len(items) - 20} more")
        if effect:
            lines.append(effect)
        if await self._confirm(f"{verb} {_count(items)}?", lines, verb, danger=danger):
            await self._act(lambda: self._many(items, action, *args))

    def action_decline(self) -> None:
        items = [i for i in (self._need_items() or []) if isinstance(i, Page)]
        if not items:
            self.fail("Decline works on pages; this row has none.")
            return
        self._confirm_many(
            "Decline",
            items,
            self.actions.decline,
            danger=True,
            effect="You are marked unavailable for these pages: each moves up its path.",
        )

    def action_snooze(self) -> None:
        items = [i for i in (self._need_items() or []) if isinstance(i, Page)]
        if not items:
            self.fail("Snooze works on pages; silence alerts with a.")
            return
        self._snooze(items)

    @work(group="action", exit_on_error=False)
    async def _snooze(self, items: list[Page]) -> None:
        default = self.session.settings.actions.snooze_minutes
        duration = await self.app.push_screen_wait(
            DurationScreen(
                "Snooze for how long?",
                presets=[timedelta(minutes=m) for m in sorted({15, default, 60, 120})],
            )
        )
        if duration:
            await self._act(lambda: self._many(items, self.actions.snooze, duration))

    def action_escalate(self) -> None:
        items = self._need_items()
        if not items:
            return
        item = items[0]
        options: list[tuple[str, str, str]] = []
        if isinstance(item, Page):
            users = self.actions.next_level_users(item)
            if users:
                options.append(
                    ("next", "Next level of this page's path", self.actions.names(users))
                )
        for path in self._snapshot.paths:
            options.append((f"path:{path.id}", f"Path: {path.name}", views.path_summary(path)))
        for user in self._people():
            options.append((f"user:{user.id}", f"Person: {user.name}", user.email or ""))

        self._escalate(items, options)

    @work(group="action", exit_on_error=False)
    async def _escalate(self, items: list[Page | Alert], options: list[tuple[str, str, str]]):
        choice = await self.app.push_screen_wait(ChooseScreen("Escalate to…", options))
        if not choice:
            return
        kwargs: dict = {}
        label = "the next level"
        if choice.startswith("path:"):
            kwargs["path_id"] = choice[5:]
            label = next((o[1] for o in options if o[0] == choice), choice)
        elif choice.startswith("user:"):
            kwargs["user_ids"] = [choice[5:]]
            label = next((o[1] for o in options if o[0] == choice), choice)
        summary = [f"• {clean_text(i.title, limit=90)}" for i in items[:10]]
        summary.append(f"Pages: {label}")
        if await self._confirm("Escalate?", summary, "Escalate", danger=True):
            await self._act(
                lambda: self._many(items, lambda it: self.actions.escalate(it, **kwargs))
            )

    def action_shadow(self) -> None:
        item = self._primary(self._current())
        if item is None:
            self.fail("Nothing selected.")
            return
        self._shadow(item, {u.id: u for u in self._people()})

    @work(group="action", exit_on_error=False)
    async def _shadow(self, item: Page | Alert, people: dict[str, User]) -> None:
        choice = await self.app.push_screen_wait(
            ChooseScreen(
                "Who should shadow you?",
                [(u.id, u.name, u.email or "") for u in people.values()],
            )
        )
        if choice and choice in people:
            await self._act(lambda: self.actions.shadow(item, people[choice]))

    def action_resolve(self) -> None:
        items = [i for i in (self._need_items() or []) if isinstance(i, Alert)]
        if not items:
            alert = self._first_alert(self._current())
            items = [alert] if alert else []
        if not items:
            self.fail("Resolve works on alerts; this row has none.")
            return
        self._confirm_many(
            "Resolve",
            items,
            self.actions.resolve,
            effect="The alerts are marked resolved in incident.io, and their pages end.",
        )

    def _people(self) -> tuple[User, ...]:
        return self._snapshot.others()

    # -- links ----------------------------------------------------------------------

    def _link(self, kind: str):
        row = self._current()
        alert = self._first_alert(row)
        if alert is None:
            return None, "This row has no alert with links."
        # A page's own alert first, then the Grafana alert behind it (the rule's links).
        link = first_link(kind, (alert, self._graph_alert(row)))
        if link.url is None:
            return None, f"{kind.capitalize()} link: {link.problem or 'missing'}."
        return link.url, None

    def _open(self, kind: str) -> None:
        url, problem = self._link(kind)
        if url is None:
            self.fail(problem or "No link.")
            return
        # Never blocks; says whether it opened, or copies and shows the link.
        cast("OnCallApp", self.app).open_url(url, what=kind)

    def action_open_runbook(self) -> None:
        self._open(LINK_RUNBOOK)

    def action_open_dashboard(self) -> None:
        self._open(LINK_DASHBOARD)

    def action_open_panel(self) -> None:
        self._open(LINK_PANEL)

    def action_open_source(self) -> None:
        self._open(LINK_SOURCE)

    def action_copy_link(self) -> None:
        for kind in (LINK_RUNBOOK, LINK_DASHBOARD, LINK_SOURCE):
            url, _ = self._link(kind)
            if url:
                self.app.copy_to_clipboard(url)
                self.app.notify(f"Copied the {kind} link.", timeout=4)
                return
        self.fail("This row has no link to copy.")


def _count(items) -> str:
    """ "this page", "3 pages", "2 items" for a confirmation's title."""
    pages = sum(isinstance(i, Page) for i in items)
    if len(items) == 1:
        return "this page" if pages else "this alert"
    noun = "pages" if pages == len(items) else "alerts" if not pages else "items"
    return f"{len(items)} {noun}"
