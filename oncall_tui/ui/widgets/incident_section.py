"""The detail pane's "Incident" section: the incident a page or alert belongs to
(reference, name, status, lead), or "not part of an incident". The rule is the core's
(:mod:`oncall_tui.core.alert_incident`); this only draws what it says."""

from __future__ import annotations

from textual.content import Content

from oncall_tui.core.alert_incident import LINKED, LOADING, NONE, NOT_PART, RowIncidents
from oncall_tui.ui.text import clean

__all__ = ["incident_block", "linked_words"]


def linked_words(view: RowIncidents | None) -> str:
    """ "INC-242 (Incident, above)" where the row belongs to incidents, else ""."""
    if view is None or view.state != LINKED:
        return ""
    refs = ", ".join(clean(i.reference, limit=40) or "one" for i in view.incidents)
    return f"{refs} (Incident, above)"


def incident_block(view: RowIncidents | None) -> Content | None:
    """The section's lines (None: nothing to say, e.g. no row)."""
    if view is None:
        return None
    parts: list[tuple[str, str] | str] = [("Incident", "bold $foreground-muted")]
    if view.state == LINKED:
        for linked in view.incidents:
            parts.append("\n")
            parts.append((clean(linked.reference, limit=40) or "(no reference)", "bold"))
            parts.append("  " + (clean(linked.name, limit=200) or "(no name)"))
            facts = [clean(linked.status, limit=80)]
            if linked.lead:
                facts.append(f"lead {clean(linked.lead, limit=80)}")
            if linked.severity:
                facts.append(clean(linked.severity, limit=40))
            parts.append("\n" + " · ".join(facts))
            if linked.via:
                parts.append((f"\n{linked.via}", "$foreground-muted"))
        parts.append(("\nenter opens it · D offers a note to it", "$foreground-muted"))
    elif view.state == NONE:
        parts.append("\n" + NOT_PART)
        if view.reason:
            parts.append((f" ({clean(view.reason, limit=200)})", "$foreground-muted"))
    elif view.state == LOADING:
        parts.append(("\n" + clean(view.reason, limit=200), "$foreground-muted"))
    else:
        parts.append(("\n" + clean(view.reason, limit=300), "$major"))
    return Content.assemble(*parts)
