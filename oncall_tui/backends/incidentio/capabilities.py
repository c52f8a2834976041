"""What this key may do on incident.io (the capability probe's answers, with reasons)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from oncall_tui.domain import (
    Identity,
)

# Newer-than-spec endpoint groups, as named in ``client.unavailable``.
CAP_RESPOND = "escalations.respond"


CAP_REASSIGN = "escalations.reassign"


CAP_INCIDENT_UPDATES_CREATE = "incident_updates.create"


CAP_TIMELINE_ITEMS = "incident_timeline_items"


NEWER_ENDPOINTS = (CAP_RESPOND, CAP_REASSIGN, CAP_INCIDENT_UPDATES_CREATE, CAP_TIMELINE_ITEMS)


# The actions the dashboard offers, as reported by :meth:`IncidentIoClient.probe_capabilities`.
ACTIONS = (
    "ack",
    "snooze",
    "nack",
    "escalate",
    "reassign",
    "override",
    "resolve_alert",
    "declare",
    "note",
    "update",
)


_PROBE_INCIDENT_ID = "01J" + "0" * 23  # a well-formed ULID no incident has


T = TypeVar("T")


def _roles_text(roles: Sequence[str]) -> str:
    quoted = [f"'{r}'" for r in roles]
    if len(quoted) == 1:
        return f"the {quoted[0]} role"
    return f"the {quoted[0]} role (or {', '.join(quoted[1:])})"


@dataclass(frozen=True, slots=True)
class Capability:
    """Whether one dashboard action can be used, and if not, why.

    ``available`` is ``None`` when it cannot be known without trying (a newer endpoint with
    no harmless probe): the action is offered, and a 404 on first use withdraws it.
    """

    action: str
    available: bool | None
    reason: str = ""

    @property
    def usable(self) -> bool:
        return self.available is not False


@dataclass(frozen=True, slots=True)
class Capabilities:
    identity: Identity | None
    actions: tuple[Capability, ...]
    unavailable_endpoints: frozenset[str] = frozenset()

    def __getitem__(self, action: str) -> Capability:
        for capability in self.actions:
            if capability.action == action:
                return capability
        raise KeyError(action)

    def available(self, action: str) -> bool:
        """True unless the action is known not to work."""
        return self[action].usable

    def reason(self, action: str) -> str:
        return self[action].reason

    @property
    def usable(self) -> frozenset[str]:
        return frozenset(c.action for c in self.actions if c.usable)

    @property
    def unavailable(self) -> frozenset[str]:
        return frozenset(c.action for c in self.actions if not c.usable)
