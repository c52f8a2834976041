"""incident.io errors: an action the key or the account cannot do, and why."""

from __future__ import annotations

import logging
from typing import Any

from oncall_tui.backends.http import (
    AuthError,
    NotFound,
)

log = logging.getLogger(__name__)


class CapabilityUnavailable(NotFound):
    """The server has no such endpoint (it predates it): the action is not available.

    ``capability`` is one of :data:`NEWER_ENDPOINTS`.
    """

    def __init__(self, capability: str, message: str, **kwargs: Any) -> None:
        self.capability = capability
        super().__init__(message, **kwargs)


class AccessDenied(AuthError):
    """401/403 for one operation; ``missing_roles`` are the API-key roles that would grant it."""

    def __init__(
        self, message: str, *, operation: str, missing_roles: tuple[str, ...] = (), **kwargs: Any
    ) -> None:
        self.operation = operation
        self.missing_roles = missing_roles
        super().__init__(message, **kwargs)
