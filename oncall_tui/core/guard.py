"""May I do action X on item Y now, and if not, why: the one rule for the whole product.

The dashboard dims a key when :func:`why_not` gives a reason and shows that reason when the
key is pressed; the actions call :func:`check` before anything is sent; the command line
calls :func:`check` before it opens a connection. So a write refused in one place is
refused in every place, with the same words.

Reasons, in the order they are asked:

- read-only mode (``--readonly`` or ``[ui] readonly = true``): every write is off;
- a backend the action needs is not configured ("no incident.io configured");
- the API key or the account cannot do it (the capability probe's reason);
- the item does not allow it now (nothing selected, decline on an alert row, decline on
  a page that is not paging anyone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from oncall_tui.core.errors import ActionError as ActionError  # re-exported
from oncall_tui.domain import PAGE_TRIGGERED
from oncall_tui.safety import clean_text

if TYPE_CHECKING:
    from oncall_tui.core.sources import Backends

INCIDENT_IO = "incident.io"

# Why an action was refused; the command line maps these to exit codes.
READ_ONLY = "read-only"
NOT_CONFIGURED = "not-configured"
NOT_ALLOWED = "not-allowed"  # the key or the account cannot do it
NOT_NOW = "not-now"  # the item does not allow it (or there is no item)

READ_ONLY_WORDS = "--readonly or [ui] readonly = true"
ADD_INCIDENT_IO = "add [incident_io] to the config and `oncall-tui auth set incident-io`"


class Refused(ActionError):
    """An action refused before anything was sent; ``kind`` says why (one of the reasons
    above)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class BadInput(ActionError):
    """What was asked for is not one of the allowed values (an unknown severity, status,
    person…); the message lists the allowed ones. Nothing was sent."""


@dataclass(frozen=True, slots=True)
class Act:
    """What an action is: its name in words, whether it writes, the incident.io
    capability behind it, the backend it needs, and whether it works on pages only."""

    label: str
    write: bool = True
    capability: str | None = None
    needs: str | None = None
    pages_only: bool = False
    triggered_only: bool = False


# Every write the product can make, by action id (the dashboard's binding ids where there
# is a key, the command's name otherwise).
ACTS: dict[str, Act] = {
    # pages and alerts
    "ack": Act("Ack", capability="ack"),
    "unack": Act("Unack"),
    "silence": Act("Silence"),
    "silence_extend": Act("Extend a silence"),
    "silence_expire": Act("Expire a silence"),
    "escalate": Act("Escalate", capability="escalate", needs=INCIDENT_IO),
    "shadow": Act("Page a shadow", capability="escalate", needs=INCIDENT_IO),
    "decline": Act(
        "Decline", capability="nack", needs=INCIDENT_IO, pages_only=True, triggered_only=True
    ),
    "snooze": Act("Snooze", capability="snooze", needs=INCIDENT_IO, pages_only=True),
    "resolve": Act("Resolve", capability="resolve_alert", needs=INCIDENT_IO),
    # incidents
    "declare": Act("Declare", capability="declare", needs=INCIDENT_IO),
    "note": Act("Note", capability="note", needs=INCIDENT_IO),
    "status": Act("Status", capability="update", needs=INCIDENT_IO),
    "severity": Act("Severity", capability="update", needs=INCIDENT_IO),
    "lead": Act("Hand over the lead", capability="update", needs=INCIDENT_IO),
    "page": Act("Page someone in", capability="escalate", needs=INCIDENT_IO),
    "checklist": Act("Checklist", capability="note", needs=INCIDENT_IO),
    "close": Act("Close", capability="update", needs=INCIDENT_IO),
    # the rota
    "unavailable": Act("Unavailable", capability="override", needs=INCIDENT_IO),
    "cover": Act("Cover", capability="override", needs=INCIDENT_IO),
    "overrides_remove": Act("Remove an override", capability="override", needs=INCIDENT_IO),
    # screens that read incident.io only
    "incidents": Act("Incidents", write=False, needs=INCIDENT_IO),
    "calendar": Act("The calendar", write=False, needs=INCIDENT_IO),
    # the outbox
    "outbox_send": Act("Sending the outbox", needs=INCIDENT_IO),
    "outbox_retry": Act("Resending a refused note", needs=INCIDENT_IO),
    # local only, yet a change the user did not ask for in read-only mode
    "outbox_skip": Act("Skipping a refused note"),
}

WRITES = frozenset(name for name, act in ACTS.items() if act.write)


@dataclass(frozen=True, slots=True)
class Target:
    """The item an action would work on, as far as the rule needs it: ``kind`` is
    ``page`` or ``alert`` (or ``incident``), ``state`` its state (``triggered``…)."""

    kind: str
    state: str = ""
    title: str = ""
    ended: str = ""  # "resolved at 14:02": a recently resolved trace, nothing to act on


NO_TARGET = Target("")  # the action needs an item and none is selected


def features_off(backends: Backends) -> list[str]:
    """What is off for want of a backend, in words (the dashboard and doctor say these).
    Any subset of backends works; only none at all is an error (:func:`nothing_configured`)."""
    off: list[str] = []
    if backends.incidentio is None:
        off.append(
            "no incident.io configured: shifts and pages are off, and so are incidents "
            "and the calendar"
        )
    if not backends.alertmanagers:
        off.append("no Grafana or Alertmanager configured: only incident.io alerts are shown")
    return off


def nothing_configured(backends: Backends) -> bool:
    return backends.incidentio is None and not backends.alertmanagers


def readonly_mode(flag: bool, settings: object | None) -> bool:
    """Read-only when started with ``--readonly`` or when the config says so."""
    ui = getattr(settings, "ui", None)
    return bool(flag or getattr(ui, "readonly", False))


def why_not(
    action: str,
    *,
    readonly: bool,
    backends: Backends | None = None,
    target: Target | None = None,
    label: str | None = None,
) -> Refused | None:
    """Why ``action`` cannot run now (None when it can). ``target`` None means the rule
    does not look at an item; :data:`NO_TARGET` means there should be one and is not."""
    act = ACTS.get(action) or Act(action, write=False)
    label = label or act.label
    if act.write and readonly:
        return Refused(
            f"Read-only mode: {label} is off; nothing was changed ({READ_ONLY_WORDS}).",
            READ_ONLY,
        )
    if backends is not None and act.needs == INCIDENT_IO and backends.incidentio is None:
        return Refused(
            f"No incident.io configured: {label} is off ({ADD_INCIDENT_IO}).", NOT_CONFIGURED
        )
    caps = backends.capabilities if backends is not None else None
    if act.capability and caps is not None:
        try:
            usable = caps.available(act.capability)
        except KeyError:
            usable = True
        if not usable:
            why = clean_text(caps.reason(act.capability), limit=200) or "incident.io refused it"
            return Refused(f"{label} is not available: {why}", NOT_ALLOWED)
    if target is not None:
        if target is NO_TARGET or not target.kind:
            return Refused(f"{label}: nothing is selected (the list is empty).", NOT_NOW)
        if target.ended and act.write:
            title = clean_text(target.title, limit=120)
            return Refused(f"“{title}” already {target.ended}; nothing was sent.", NOT_NOW)
        if act.pages_only and target.kind != "page":
            return Refused(
                f"{label} works on pages; this row is an alert (a acks or silences it).",
                NOT_NOW,
            )
        if act.triggered_only and target.state and target.state != PAGE_TRIGGERED:
            return Refused(
                f"{label}: this page is {target.state}, not paging anyone; e escalates.",
                NOT_NOW,
            )
    return None


def check(
    action: str,
    *,
    readonly: bool,
    backends: Backends | None = None,
    target: Target | None = None,
    label: str | None = None,
) -> None:
    """Raise :class:`Refused` with the reason when ``action`` cannot run now."""
    refused = why_not(action, readonly=readonly, backends=backends, target=target, label=label)
    if refused is not None:
        raise refused
