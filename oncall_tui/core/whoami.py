"""Who I am on incident.io: the user with the configured ``[user] email``.

Looked up in one place (:func:`oncall_tui.core.sources.look_up_me`), by the engine's
identity feed and, before that feed has answered or where no engine polls (the command
line), by :class:`WhoAmI`, which every action of a session shares.
"""

from __future__ import annotations

from oncall_tui.backends.http import ApiError
from oncall_tui.core.errors import ActionError
from oncall_tui.core.sources import Backends, look_up_me
from oncall_tui.core.sync import SyncEngine
from oncall_tui.domain import User

NO_EMAIL = "No [user] email configured: set it with `oncall-tui config init`."


class NoEmailConfigured(ActionError):
    """No ``[user] email`` is set: a configuration problem, not a failure of the API."""


class WhoAmI:
    """Me, for every action of a session: what ``engine``'s identity feed last learnt,
    else one lookup of my own."""

    def __init__(self, backends: Backends, engine: SyncEngine | None = None) -> None:
        self.backends = backends
        self.engine = engine
        self._me: User | None = None

    @property
    def email(self) -> str:
        return self.backends.settings.user.email or ""

    @property
    def known(self) -> User | None:
        """Me if already known (no request)."""
        polled = self.engine.world.me if self.engine is not None else None
        return polled or self._me

    def who(self) -> str:
        """How a note or an action names me: my email, else my name, else a placeholder."""
        me = self.known
        if me is not None:
            return me.email or me.name
        return self.email or "the on-call engineer"

    async def me(self, *, strict: bool = False) -> User | None:
        """Me, or None when unknown. With ``strict`` an unknown me raises
        :class:`ActionError` saying why (no email set, the lookup failed, no such user)."""
        known = self.known
        if known is not None:
            return known
        email = self.email
        if not email:
            if strict:
                raise NoEmailConfigured(NO_EMAIL)
            return None
        try:
            self._me = await look_up_me(self.backends.io(), email)
        except ApiError as exc:
            if strict:
                raise ActionError(
                    f"Cannot look up your incident.io user ({email}): {exc}"
                ) from None
            return None
        if self._me is None and strict:
            raise ActionError(f"No incident.io user has the email {email}.")
        return self._me

    async def require(self) -> User:
        """Me, or :class:`ActionError` saying why not."""
        me = await self.me(strict=True)
        assert me is not None
        return me
