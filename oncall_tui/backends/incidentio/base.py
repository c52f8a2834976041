"""incident.io client: the connection (requests, errors, pagination, what the key may
do) and who is who (users, lookups)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx

from oncall_tui.backends.http import (
    ApiClient,
    ApiError,
    AuthError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    RequestStats,
    RetryPolicy,
    Secret,
)
from oncall_tui.backends.incidentio.capabilities import (
    CAP_INCIDENT_UPDATES_CREATE,
    CAP_REASSIGN,
    CAP_RESPOND,
    CAP_TIMELINE_ITEMS,
    Capabilities,
    Capability,
    T,
    _roles_text,
)
from oncall_tui.backends.incidentio.errors import AccessDenied, CapabilityUnavailable, log
from oncall_tui.backends.incidentio.operations import (
    ACT_AS_HEADER,
    ACT_AS_OPERATIONS,
    ACT_AS_ROLE,
    DEFAULT_BASE_URL,
    MAX_PAGES,
    OPERATIONS,
    PAGE_USERS,
    SOURCE,
    Operation,
)
from oncall_tui.backends.incidentio.parsers import (
    _Obj,
    _root,
    _seg,
    parse_identity,
    parse_notification_method,
    parse_notification_rule,
    parse_role,
    parse_severity,
    parse_status,
    parse_type,
    parse_user,
)
from oncall_tui.domain import (
    NOBODY_ID,
    Identity,
    IncidentRole,
    IncidentStatus,
    IncidentType,
    NotificationMethod,
    NotificationRule,
    Schedule,
    Severity,
    Shift,
    User,
)
from oncall_tui.safety import clean_text


class IncidentIoBase(ApiClient):
    """The connection: requests, errors, pagination, what the key may do; and who is
    who (users, lookups)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        token: Secret | str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        act_as_user_id: str | None = None,
        retry: RetryPolicy | None = None,
        stats: RequestStats | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(
            SOURCE,
            base_url,
            token,
            transport=transport,
            timeout=timeout,
            retry=retry,
            stats=stats,
        )
        act_as = clean_text(act_as_user_id, limit=200).strip() if act_as_user_id else ""
        self.act_as_user_id: str | None = act_as or None
        self.unavailable: set[str] = set()  # newer endpoints this server lacks
        self.act_as_refused: set[str] = set()  # operations that refused X-Incident-User
        self.known_available: set[str] = set()  # newer endpoints that answered
        self.capabilities: Capabilities | None = None
        self.last_identity: Identity | None = None
        self.pagination_warnings: list[str] = []
        self._user_by_email: dict[str, User] = {}
        self._lead_role_id: str | None = None
        # Each schedule's rotations as last read, to find the layer of entries that name
        # only their rotation.
        self._schedules_seen: dict[str, Schedule] = {}

    async def _call(
        self,
        op_name: str,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        parent: str | None = None,
        act_as: bool = True,
    ) -> Any:
        """One request for a named operation, with incident.io's error translation.

        ``parent`` is the path of the object a newer endpoint acts on; it is fetched only
        to tell "route missing" from "object missing" after an ambiguous 404. With
        ``act_as`` false the request goes as the API key even when a user is configured.
        """
        op = OPERATIONS[op_name]
        headers = None
        if act_as and self.act_as_user_id and op_name in ACT_AS_OPERATIONS:
            headers = {ACT_AS_HEADER: self.act_as_user_id}
        cap = op.capability
        if cap is not None and cap in self.unavailable:
            raise CapabilityUnavailable(
                cap,
                f"this incident.io account cannot {op.does} through the API "
                f"({method} {path.split('?')[0]} is not there)",
                source=SOURCE,
                status=404,
                method=method,
                path=path,
            )
        try:
            body = await self.request(
                method,
                path,
                params=params,
                json_body=json_body,
                idempotent=idempotent,
                headers=headers,
            )
        except AuthError as err:
            raise self._auth_error(op_name, err, acting=headers is not None) from None
        except NotFound as err:
            if (
                cap is not None
                and cap not in self.known_available
                and await self._route_missing(err, parent)
            ):
                raise self._lose(cap, op, err) from None
            raise
        except InvalidRequest as err:
            if cap is not None and err.status == 405:
                raise self._lose(cap, op, err) from None
            raise
        if cap is not None:
            self.known_available.add(cap)
            self.unavailable.discard(cap)
        return body

    async def _route_missing(self, err: ApiError, parent: str | None) -> bool:
        """After a 404 on a newer endpoint: is the route (not the object) missing?

        A 404 that is not incident.io's JSON error body comes from a router that does not
        know the path. An incident.io-shaped 404 is ambiguous, so the object the call acts
        on is fetched: if it exists, the 404 was the route's.
        """
        if err.type is None or err.request_id is None:
            return True
        if parent is None:
            return False
        try:
            await self.request("GET", parent)
        except ApiError:
            return False
        return True

    def _lose(self, cap: str, op: Operation, err: ApiError) -> CapabilityUnavailable:
        self.unavailable.add(cap)
        self.known_available.discard(cap)
        if self.capabilities is not None:
            self.capabilities = self._build_capabilities(self.capabilities.identity)
        log.info("incident.io capability %s is not available on this server", cap)
        return CapabilityUnavailable(
            cap,
            f"this incident.io account cannot {op.does} through the API: the endpoint is "
            "not available (newer than this server)",
            source=SOURCE,
            status=err.status,
            type=err.type,
            request_id=err.request_id,
            method=err.method,
            path=err.path,
        )

    def _auth_error(self, op_name: str, err: AuthError, *, acting: bool) -> AccessDenied:
        op = OPERATIONS[op_name]
        identity = self.last_identity
        if err.status == 401:
            message = (
                f"incident.io refused the API key when trying to {op.does}: it is missing, "
                "mistyped or revoked; check the key in your config or keyring"
            )
            missing: tuple[str, ...] = ()
        else:
            held = set(identity.roles + identity.team_roles) if identity else set()
            if acting and identity is not None and ACT_AS_ROLE not in identity.roles:
                missing = (ACT_AS_ROLE,)
                message = (
                    f"the API key may not {op.does} on behalf of a user: it needs "
                    f"{_roles_text(missing)}"
                )
            elif op.roles and identity is not None and held.intersection(op.roles):
                missing = ()
                have = next(r for r in op.roles if r in held)
                message = (
                    f"the API key may not {op.does}, although it has the '{have}' role: "
                    "the object is probably private or owned by a team the key is not "
                    "scoped to"
                )
            elif op.roles:
                missing = op.roles
                message = f"the API key may not {op.does}: it needs {_roles_text(op.roles)}"
            else:
                missing = ()
                message = f"the API key may not {op.does}"
            if missing:
                message += "; add it to the key in incident.io settings (API keys)"
        if err.message and err.message not in message:
            message = f"{message} (incident.io said: {err.message})"
        return AccessDenied(
            message,
            operation=op_name,
            missing_roles=missing,
            source=SOURCE,
            status=err.status,
            type=err.type,
            request_id=err.request_id,
            errors=err.errors,
            method=err.method,
            path=err.path,
        )

    async def _read(
        self,
        op_name: str,
        method: str,
        path: str,
        key: str,
        parse: Callable[[_Obj], T],
        **kwargs: Any,
    ) -> T:
        body = await self._call(op_name, method, path, **kwargs)
        return self._parse(lambda: parse(_root(body, "response").obj(key)), method, path)

    def _parse(self, fn: Callable[[], T], method: str, path: str) -> T:
        try:
            return fn()
        except MalformedResponse as err:
            raise MalformedResponse(
                err.message, source=SOURCE, method=method, path=path.split("?")[0]
            ) from None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
            raise MalformedResponse(
                f"incident.io sent something we cannot read ({type(err).__name__})",
                source=SOURCE,
                method=method,
                path=path.split("?")[0],
            ) from None

    async def paginate(
        self,
        op_name: str,
        path: str,
        key: str,
        parse: Callable[[_Obj], T],
        *,
        params: Sequence[tuple[str, str]] = (),
        page_size: int,
        limit: int | None = None,
        parent: str | None = None,
    ) -> tuple[T, ...]:
        """Follow the ID cursor (``page_size``/``after``) of a list endpoint.

        Stops when ``after`` is absent, a page is empty, ``limit`` items are read, the
        server repeats a cursor, or :data:`MAX_PAGES` pages were read (the last two are
        logged and kept in ``pagination_warnings``). Items are de-duplicated by id.
        """
        items, after = await self.page_through(
            op_name,
            path,
            key,
            parse,
            params=params,
            page_size=page_size,
            limit=limit,
            parent=parent,
            max_pages=MAX_PAGES,
        )
        if after is not None and (limit is None or len(items) < limit):
            self._warn(f"GET {path} had more than {MAX_PAGES} pages; read only those")
        return items

    async def page_through(
        self,
        op_name: str,
        path: str,
        key: str,
        parse: Callable[[_Obj], T],
        *,
        params: Sequence[tuple[str, str]] = (),
        page_size: int,
        max_pages: int,
        after: str | None = None,
        limit: int | None = None,
        parent: str | None = None,
    ) -> tuple[tuple[T, ...], str | None]:
        """Read at most ``max_pages`` pages of a list endpoint, from the cursor ``after``
        (the start when None). Returns the items and the cursor to go on from, None when
        the listing ended (or the server repeated a cursor, which is logged). A listing
        read a few pages per poll costs each poll a bounded number of requests."""
        if limit is not None:
            page_size = max(1, min(page_size, limit))
        items: list[T] = []
        seen_ids: set[str] = set()
        seen_cursors: set[str] = set()
        for _ in range(max(1, max_pages)):
            query = [*params, ("page_size", str(page_size))]
            if after:
                query.append(("after", after))
            body = await self._call(op_name, "GET", path, params=query, parent=parent)

            def read_page(body: Any = body) -> tuple[list[tuple[str, T]], str | None]:
                root = _root(body, "response")
                page = []
                for item in root.objs(key, required=True):
                    page.append((item.id(required=False), parse(item)))
                meta = root.opt_obj("pagination_meta")
                cursor = meta.text("after", limit=500, required=False) if meta else ""
                return page, cursor or None

            page, after = self._parse(read_page, "GET", path)
            for item_id, item in page:
                if item_id and item_id in seen_ids:
                    continue
                if item_id:
                    seen_ids.add(item_id)
                items.append(item)
                if limit is not None and len(items) >= limit:
                    return tuple(items), None
            if not page or after is None:
                return tuple(items), None
            if after in seen_cursors:
                self._warn(f"GET {path} repeated the page cursor {after!r}; stopped there")
                return tuple(items), None
            seen_cursors.add(after)
        return tuple(items), after

    def _warn(self, message: str) -> None:
        text = clean_text(message, limit=300)
        log.warning("incident.io: %s", text)
        self.pagination_warnings.append(text)
        del self.pagination_warnings[:-20]

    async def identity(self) -> Identity:
        """``GET /v1/identity``: the API key's name and roles (it is not a person)."""
        identity = await self._read("identity", "GET", "/v1/identity", "identity", parse_identity)
        self.last_identity = identity
        return identity

    async def find_user_by_email(self, email: str) -> User | None:
        """The user with this email (case-insensitive), cached for the session."""
        wanted = email.strip().lower()
        if not wanted:
            return None
        if wanted in self._user_by_email:
            return self._user_by_email[wanted]
        for user in await self.list_users(email=email.strip()):
            if (user.email or "").lower() == wanted:
                self._user_by_email[wanted] = user
                return user
        return None

    async def get_user(self, user_id: str) -> User:
        return await self._read(
            "users.show", "GET", f"/v2/users/{_seg(user_id)}", "user", parse_user
        )

    async def notification_methods(self, user_id: str) -> tuple[NotificationMethod, ...]:
        """``GET /v2/users/{id}/notification_methods``: how incident.io can reach them."""
        path = f"/v2/users/{_seg(user_id)}/notification_methods"
        found = await self._lookup(
            "notification_methods.list", path, "notification_methods", parse_notification_method
        )
        return tuple(found)

    async def notification_rules(self, user_id: str) -> tuple[NotificationRule, ...]:
        """``GET /v2/users/{id}/notification_rules``: which methods a page reaches, when."""
        path = f"/v2/users/{_seg(user_id)}/notification_rules"
        found = await self._lookup(
            "notification_rules.list", path, "notification_rules", parse_notification_rule
        )
        return tuple(found)

    async def list_users(
        self,
        *,
        email: str | None = None,
        slack_user_id: str | None = None,
        include_inactive: bool = False,
        limit: int | None = None,
    ) -> tuple[User, ...]:
        params: list[tuple[str, str]] = []
        if email:
            params.append(("email", email))
        if slack_user_id:
            params.append(("slack_user_id", slack_user_id))
        if include_inactive:
            params.append(("include_inactive", "true"))
        return await self.paginate(
            "users.list",
            "/v2/users",
            "users",
            parse_user,
            params=params,
            page_size=PAGE_USERS,
            limit=limit,
        )

    async def _lookup(self, op: str, path: str, key: str, parse: Callable[[_Obj], T]) -> list[T]:
        body = await self._call(op, "GET", path)
        return self._parse(
            lambda: [parse(o) for o in _root(body, "response").objs(key, required=True)],
            "GET",
            path,
        )

    async def severities(self) -> tuple[Severity, ...]:
        """Severities, least severe first (a higher rank is more severe)."""
        found = await self._lookup(
            "severities.list", "/v1/severities", "severities", parse_severity
        )
        return tuple(sorted(found, key=lambda s: s.rank))

    async def incident_statuses(self) -> tuple[IncidentStatus, ...]:
        found = await self._lookup(
            "incident_statuses.list", "/v1/incident_statuses", "incident_statuses", parse_status
        )
        return tuple(sorted(found, key=lambda s: s.rank))

    async def incident_roles(self) -> tuple[IncidentRole, ...]:
        return tuple(
            await self._lookup(
                "incident_roles.list", "/v2/incident_roles", "incident_roles", parse_role
            )
        )

    async def incident_types(self) -> tuple[IncidentType, ...]:
        return tuple(
            await self._lookup(
                "incident_types.list", "/v1/incident_types", "incident_types", parse_type
            )
        )

    def _role_state(
        self, identity: Identity | None, roles: Sequence[str]
    ) -> tuple[bool | None, str]:
        if not roles:
            return True, ""
        if identity is None:
            return None, "the API key's roles are not known yet"
        if any(r in identity.roles for r in roles):
            return True, ""
        if any(r in identity.team_roles for r in roles):
            teams = ", ".join(identity.teams) or "its teams"
            return True, f"only for what {teams} own"
        return False, f"the API key lacks {_roles_text(roles)}"

    def _endpoint_state(self, cap: str) -> tuple[bool | None, str]:
        if cap in self.unavailable:
            return False, "this incident.io server does not offer it through the API yet"
        if cap in self.known_available:
            return True, ""
        return None, "not checked yet: it will be tried, and hidden if the server lacks it"

    def _build_capabilities(self, identity: Identity | None) -> Capabilities:
        def combine(action: str, *states: tuple[bool | None, str]) -> Capability:
            values = [s[0] for s in states]
            reasons = [s[1] for s in states if s[1]]
            if False in values:
                reasons = [s[1] for s in states if s[0] is False]
                return Capability(action, False, "; ".join(reasons))
            available = None if None in values else True
            return Capability(action, available, "; ".join(reasons))

        def role(op: str) -> tuple[bool | None, str]:
            return self._role_state(identity, OPERATIONS[op].roles)

        respond = self._endpoint_state(CAP_RESPOND)
        acting: tuple[bool | None, str]
        note: tuple[bool | None, str]
        if self.act_as_user_id and "escalations.respond" in self.act_as_refused:
            acting = (False, f"incident.io refused {ACT_AS_HEADER} on responses to pages")
        elif self.act_as_user_id:
            acting = self._role_state(identity, (ACT_AS_ROLE,))
        else:
            acting = (False, "declining needs the dashboard to act as you (no user configured)")
        timeline = self._endpoint_state(CAP_TIMELINE_ITEMS)
        updates = self._endpoint_state(CAP_INCIDENT_UPDATES_CREATE)
        if timeline[0] is False and updates[0] is False:
            note = (False, "this incident.io server has no API for incident notes")
        elif timeline[0] is True or updates[0] is True:
            note = (True, "")
        elif timeline[0] is False:
            note = (None, "no timeline endpoint; notes go out as incident updates, if offered")
        else:
            note = (None, timeline[1])
        if updates[0] is False:
            update = (True, "status and severity change without a message (edit only)")
        else:
            update = (True, "")
        actions = (
            combine("ack", role("escalations.respond"), respond),
            combine("snooze", role("escalations.respond"), respond),
            combine("nack", role("escalations.respond"), respond, acting),
            combine("escalate", role("escalations.create")),
            combine("reassign", role("escalations.reassign"), self._endpoint_state(CAP_REASSIGN)),
            combine("override", role("overrides.create")),
            combine("resolve_alert", role("alerts.resolve")),
            combine("declare", role("incidents.create")),
            combine("note", role("timeline_items.create"), note),
            combine("update", role("incidents.edit"), update),
        )
        return Capabilities(
            identity=identity,
            actions=actions,
            unavailable_endpoints=frozenset(self.unavailable),
        )


def _user_reference(user: User | str) -> dict[str, str]:
    if isinstance(user, User):
        return {"id": user.id}
    text = user.strip()
    if not text:
        raise InvalidRequest("no user given for the override", source=SOURCE)
    if text.upper() == NOBODY_ID:
        return {"id": NOBODY_ID}
    if "@" in text:
        return {"email": text}
    return {"id": text}


def _check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InvalidRequest("the override must end after it starts", source=SOURCE)


def _refuses_acting(exc: ApiError) -> bool:
    """Does this refusal look like one of acting on a person's behalf? A 403 (the key may
    lack the scope for it), or a 400/422 that names the header or the scope."""
    if isinstance(exc, AuthError) and exc.status == 403:
        return True
    words = " ".join([exc.message, *(f"{e.field} {e.message}" for e in exc.errors)]).lower()
    return ACT_AS_HEADER.lower() in words or "behalf" in words


def _shift_key(shift: Shift) -> tuple[Any, ...]:
    if shift.fingerprint:
        return ("fp", shift.fingerprint)
    return (
        shift.rotation_id,
        shift.layer_id,
        shift.start,
        shift.end,
        shift.user.id if shift.user else None,
        shift.entry_id,
    )


def _with_kind(shift: Shift, kind: str) -> Shift:
    return replace(shift, kind=kind)
