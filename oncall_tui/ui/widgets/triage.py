"""The triage card's head in the detail pane: the page, then the alert behind it.

For a page (or an incident.io alert) row the detail shows, above the graph:

    Page   level 1 of 3 on Payments · notified Robin Ahn (high urgency)
    From   grafana:us · firing since 10:19 (1m ago) · matched by deduplication key
           LedgerConsumerLag
           runbook  https://runbooks.example.com/payments/ledger-consumer-lag
           panel    https://grafana-us.example.com/d/payments-ledger?…&viewPanel=3

or, where no alert was found behind it, the reason ("no Grafana alert matches this page:
its source link points to grafana.other.example, which is not configured here"). Plain
text only: every value from an API goes through :func:`~oncall_tui.ui.text.clean`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from textual.content import Content

from oncall_tui.core import timefmt
from oncall_tui.core.linking import SourceView
from oncall_tui.core.metric import clock_ahead
from oncall_tui.domain import (
    LINK_DASHBOARD,
    LINK_PANEL,
    LINK_RUNBOOK,
    EscalationPath,
    Page,
)
from oncall_tui.ui.style import state_style
from oncall_tui.ui.text import clean

__all__ = ["card_content"]

HEAD = "bold $foreground-muted"


def _page_line(page: Page, path: EscalationPath | None, levels: int | None, notified: str) -> list:
    level = f"level {page.level}" + (f" of {levels}" if levels else "")
    parts: list[tuple[str, str] | str] = [("Page    ", HEAD), level]
    if path is not None:
        parts.append(f" on {clean(path.name, limit=80)}")
    if notified:
        parts.append((" · ", "$foreground-muted"))
        parts.append(notified)
    return parts


def _link_line(name: str, url: str | None, problem: str | None) -> list:
    parts: list[tuple[str, str] | str] = ["\n", (f"{name.capitalize():<8}", HEAD)]
    if url:
        parts.append(clean(url, limit=300))
    else:
        parts.append((clean(problem or "missing", limit=200), "$foreground-muted"))
    return parts


def card_content(
    *,
    pages: Sequence[Page],
    path: EscalationPath | None,
    levels: int | None,
    notified: str,
    source: SourceView | None,
    source_state: str,
    zone: timefmt.ZoneLike,
    now: datetime,
) -> Content:
    """The page line and the source block; empty for rows with neither."""
    parts: list[tuple[str, str] | str] = []
    if pages:
        parts += _page_line(pages[0], path, levels, notified)
    if source is not None:
        if parts:
            parts.append("\n")
        parts.append(("From    ", HEAD))
        alert = source.alert
        if alert is None:
            parts.append((clean(source.words, limit=400), "$major"))
        else:
            state = source_state or clean(alert.state, limit=40)
            parts += [
                clean(alert.source_label, limit=80),
                (" · ", "$foreground-muted"),
                (state, state_style(state)),
                f" since {timefmt.format_time(alert.started_at, zone, now=now)}",
                (f" ({timefmt.ago(alert.started_at, now)})", "$foreground-muted"),
                (" · ", "$foreground-muted"),
                (clean(source.words, limit=200), "$foreground-muted"),
            ]
            ahead = clock_ahead(alert.started_at, now)
            if ahead:
                where = clean(alert.source_label, limit=80)
                parts.append(
                    (f"\n⚠ it started {ahead} from now: {where}'s clock is ahead", "bold $warning")
                )
            parts += [
                "\n",
                ("Rule    ", HEAD),
                (clean(alert.label("alertname") or alert.title, limit=200), "bold"),
            ]
            for kind in (LINK_RUNBOOK, LINK_PANEL, LINK_DASHBOARD):
                link = alert.link(kind)
                if kind == LINK_DASHBOARD and alert.link(LINK_PANEL).url:
                    continue  # the panel is the dashboard, closer in
                parts += _link_line(kind, link.url, link.problem)
    return Content.assemble(*parts) if parts else Content("")
