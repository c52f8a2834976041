"""Quick links (``[[ui.links]]``): the pages an on-call engineer keeps at hand (admin
tools, Grafana per region, deploys, BI), grouped by region for the dashboard's list,
the command palette and ``oncall-tui links``.

Only http(s) links are kept (the config refuses anything else); names are shown as
plain text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from oncall_tui.config import LinkConfig
from oncall_tui.safety import clean_text, openable_url

NO_REGION = "any region"


@dataclass(frozen=True, slots=True)
class QuickLink:
    name: str
    url: str
    region: str  # "" when the link is not tied to a region

    @property
    def region_label(self) -> str:
        return self.region.upper() if self.region else NO_REGION

    def as_json(self) -> dict[str, str | None]:
        return {"name": self.name, "url": self.url, "region": self.region or None}


def quick_links(links: Sequence[LinkConfig]) -> tuple[QuickLink, ...]:
    """The configured links, in config order, each openable (others are left out)."""
    out: list[QuickLink] = []
    for link in links:
        url, _ = openable_url(link.url)
        if url is None:
            continue
        name = clean_text(link.name, limit=80) or url
        region = clean_text(link.region, limit=20).strip().lower()
        out.append(QuickLink(name, url, region))
    return tuple(out)


def by_region(links: Sequence[QuickLink]) -> list[tuple[str, list[QuickLink]]]:
    """Groups in the order regions first appear; links with no region come last."""
    groups: dict[str, list[QuickLink]] = {}
    for link in links:
        if link.region:
            groups.setdefault(link.region, []).append(link)
    ordered = [(links_[0].region_label, links_) for links_ in groups.values()]
    loose = [link for link in links if not link.region]
    if loose:
        ordered.append((NO_REGION, loose))
    return ordered
