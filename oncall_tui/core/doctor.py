"""``oncall-tui doctor``: check, before going on call, that everything needed works.

One :class:`Check` per line: pass, warn or fail, what was found, and for anything not
passing, what to do about it. Warnings never fail the run. The checks talk to the
configured backends (the same clients the dashboard uses), so a pass here means the
dashboard will work; the quick links are probed with HEAD (GET when HEAD is refused),
http(s) only, in parallel, each with a short timeout.

Nothing here prints; the CLI renders the :class:`Report`.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx

from oncall_tui import __version__
from oncall_tui.backends.grafana import AlertmanagerClient
from oncall_tui.backends.http import (
    ApiClient,
    ApiError,
    AuthError,
    MalformedResponse,
    NetworkError,
    RequestStats,
    RetryPolicy,
)
from oncall_tui.backends.incidentio import Capabilities, IncidentIoClient
from oncall_tui.config import LinkConfig, Settings
from oncall_tui.core import guard, timefmt, views
from oncall_tui.core.sources import Backends, look_up_me
from oncall_tui.domain import NotificationMethod, NotificationRule, User
from oncall_tui.safety import UnsafeUrl, check_api_url, clean_text, openable_url
from oncall_tui.secrets import Found, env_name

PASS = "pass"
WARN = "warn"
FAIL = "fail"

LINK_TIMEOUT = 4.0
SHIFT_HORIZON = timedelta(days=14)

# The dashboard actions checked against the key's roles. The first three are what an
# on-call engineer cannot do without; the others only warn.
NEEDED_ACTIONS = {
    "ack": "acknowledge pages",
    "escalate": "escalate and page people",
    "override": "mark yourself unavailable or get cover (overrides)",
}
OTHER_ACTIONS = {
    "nack": "decline a page",
    "snooze": "snooze a page",
    "resolve_alert": "resolve incident.io alerts",
    "declare": "declare incidents",
    "note": "take incident notes",
    "update": "update incident status and severity",
}


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str  # pass | warn | fail
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL


@dataclass(frozen=True, slots=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == FAIL)

    @property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == WARN)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def summary(self) -> str:
        n = len(self.checks)
        f, w = len(self.failed), len(self.warnings)
        if not f and not w:
            return f"All {n} checks passed. Ready to go on call."
        parts = []
        if f:
            parts.append(f"{f} failed")
        if w:
            parts.append(f"{w} warning{'s' if w != 1 else ''}")
        tail = " Fix what failed before your shift." if f else " Nothing blocks you."
        return f"{n} checks: " + ", ".join(parts) + "." + tail


# ======================================================================== checks


def config_check(origin: str, *, exists: bool, error: str | None, demo: bool = False) -> Check:
    """Whether the configuration loaded (the CLI loads it and passes what happened)."""
    if error:
        return Check(
            "config",
            FAIL,
            clean_text(error, limit=600, multiline=True),
            "fix the field named above (see config.example.toml), or run `oncall-tui config init`",
        )
    if demo:
        return Check("config", PASS, "demo world: built-in settings, no file needed")
    if not exists:
        return Check(
            "config",
            WARN,
            f"no file at {origin}; using defaults and ONCALL_TUI_* variables",
            "run `oncall-tui config init` to write one",
        )
    return Check("config", PASS, f"{origin} is valid")


def zone_check(settings: Settings) -> Check:
    zone = settings.display_zone()
    name = timefmt.zone_name(zone)
    how = "UTC (ui.utc)" if settings.ui.utc else name
    if settings.ui.utc or settings.user.timezone:
        return Check("time zone", PASS, f"times shown in {how}")
    return Check(
        "time zone",
        PASS if name != "UTC" else WARN,
        f"times shown in {name} (this machine's zone)",
        "" if name != "UTC" else "set [user] timezone (e.g. Europe/London) to see your own hours",
    )


def secrets_check(service: str, found: Found | None, *, demo: bool) -> Check:
    if demo:
        return Check(f"secret {service}", PASS, "demo token (built in)")
    if found is None or not found.value:
        note = f" ({found.note})" if found is not None and found.note else ""
        if service.startswith("alertmanager:"):
            # A plain Alertmanager often has no authentication at all.
            return Check(
                f"secret {service}",
                WARN,
                f"no token in the keyring or {env_name(service)}{note}: requests go without "
                "one (fine for an Alertmanager with no authentication)",
                f"if it needs one: `oncall-tui auth set {service}`",
            )
        return Check(
            f"secret {service}",
            FAIL,
            f"no token found in the keyring or {env_name(service)}{note}",
            f"run `oncall-tui auth set {service}`, or set {env_name(service)}",
        )
    return Check(f"secret {service}", PASS, f"found in the {found.origin}")


def keyring_check(backend_name: str, origins: Mapping[str, str]) -> Check:
    """The keyring in use (``secrets.keyring_backend_name()``) and where secrets came from."""
    where = ", ".join(f"{s} from {o}" for s, o in origins.items() if o)
    tail = f"; {where}" if where else ""
    if " " in backend_name or not backend_name:
        # keyring_backend_name() gives a reason, not a backend, when there is none.
        return Check(
            "keyring",
            WARN,
            f"{backend_name or 'no keyring'}{tail}",
            "secrets must come from ONCALL_TUI_* environment variables; on a desktop, "
            "install or unlock a keyring (GNOME Keyring, KWallet, macOS Keychain)",
        )
    return Check("keyring", PASS, f"{backend_name}{tail}")


def _api_fix(exc: ApiError, service: str) -> str:
    if isinstance(exc, AuthError):
        return f"the token is wrong or expired: `oncall-tui auth set {service}` with a new one"
    if isinstance(exc, NetworkError):
        return "check the URL in the config, your network or VPN, and that the service is up"
    return "check the URL in the config points at the right service"


async def incident_io_checks(backends: Backends, *, now: datetime) -> list[Check]:
    """The key, "me", the roles behind each action, and my next shift."""
    io = backends.incidentio
    settings = backends.settings
    if io is None:
        return []  # run_doctor says what is off without it (a warning, not a failure)
    checks: list[Check] = []
    try:
        identity = await io.identity()
    except ApiError as exc:
        checks.append(
            Check(
                "incident.io key",
                FAIL,
                clean_text(str(exc), limit=300),
                _api_fix(exc, "incident-io"),
            )
        )
        return checks
    roles = ", ".join(identity.roles) or "none"
    if identity.team_roles:
        roles += f"; for {', '.join(identity.teams) or 'its teams'} only: "
        roles += ", ".join(identity.team_roles)
    checks.append(Check("incident.io key", PASS, f"key {identity.name!r} works; roles: {roles}"))

    me: User | None = None
    email = settings.user.email
    if not email:
        checks.append(
            Check(
                "me",
                FAIL,
                "no [user] email configured, so your shifts and pages cannot be found",
                "set [user] email to the address you sign in to incident.io with",
            )
        )
    else:
        try:
            me = await look_up_me(io, email)
        except ApiError as exc:
            checks.append(
                Check("me", FAIL, f"looking up {email}: {exc}", _api_fix(exc, "incident-io"))
            )
        else:
            if me is None:
                checks.append(
                    Check(
                        "me",
                        FAIL,
                        f"no incident.io user has the email {email}",
                        "set [user] email to the address you sign in to incident.io with",
                    )
                )
            else:
                checks.append(Check("me", PASS, f"{email} is {me.name} ({me.id})"))
    if me is not None and settings.incident_io.act_as_user:
        io.act_as_user_id = me.id
    try:
        caps = await io.probe_capabilities()
    except ApiError as exc:
        checks.append(Check("roles", FAIL, f"cannot read the key's roles: {exc}"))
    else:
        backends.capabilities = caps
        for action, words in (*NEEDED_ACTIONS.items(), *OTHER_ACTIONS.items()):
            try:
                cap = caps[action]
            except KeyError:
                continue
            needed = action in NEEDED_ACTIONS
            if cap.available is False and action == "nack" and not io.act_as_user_id:
                checks.append(_decline_needs_act_as_user(caps, words, needed))
            elif cap.available is False:
                checks.append(
                    Check(
                        f"can {action}",
                        FAIL if needed else WARN,
                        f"you cannot {words} from here: {cap.reason}",
                        "ask an incident.io admin to add that role to the API key "
                        "(Settings → API keys), or do it in incident.io itself",
                    )
                )
            else:
                if cap.available is None:
                    note = " (the key has the role; the server is asked on first use)"
                else:
                    note = f" ({cap.reason})" if cap.reason else ""
                checks.append(Check(f"can {action}", PASS, f"you can {words}{note}"))
    if me is not None:
        checks.append(await next_shift_check(backends, me, now=now))
        checks.append(await wake_me_check(io, me))
    return checks


def _decline_needs_act_as_user(caps: Capabilities, words: str, needed: bool) -> Check:
    """Declining is refused because the dashboard does not act as me: the fix is in the
    config (``act_as_user``), and only also a role when the key lacks that too."""
    from oncall_tui.backends.incidentio import ACT_AS_ROLE

    identity = caps.identity
    roles = set(identity.roles) | set(identity.team_roles) if identity is not None else set()
    fix = (
        "set act_as_user = true under [incident_io] in the config file: incident.io takes "
        "a decline only on behalf of a person"
    )
    if identity is not None and ACT_AS_ROLE not in roles:
        fix += f"; the key also lacks the '{ACT_AS_ROLE}' role (ask an incident.io admin)"
    elif identity is not None:
        fix += " (the key already has the role for it)"
    return Check(
        "can nack",
        FAIL if needed else WARN,
        f"you cannot {words} from here: act_as_user is off in the config",
        fix,
    )


METHOD_WORDS = {
    "app": "app push",
    "phone": "phone",
    "email": "email",
    "slack": "Slack",
    "microsoft_teams": "Microsoft Teams",
    "whatsapp_message": "WhatsApp",
}
NOTIFICATION_SETTINGS = "incident.io → your profile → On-call notifications"


def _method_words(method_type: str, channel: str = "") -> str:
    words = METHOD_WORDS.get(method_type, clean_text(method_type, limit=40) or "unknown")
    if method_type == "phone" and channel:
        words = {"voice": "phone call", "sms": "SMS"}.get(channel, f"phone ({channel})")
    return words


def _delay(seconds: int) -> str:
    if seconds <= 0:
        return "at once"
    minutes, rest = divmod(seconds, 60)
    return f"after {minutes}m" + (f"{rest}s" if rest else "") if minutes else f"after {rest}s"


def wake_me(
    methods: Sequence[NotificationMethod], rules: Sequence[NotificationRule]
) -> tuple[str, str, str]:
    """Whether a high-urgency page will reach me: (status, what was found, the fix).

    A rule reaches me when it targets a usable method: that one method, or every method of
    its type. Unusable methods (an app signed out, a phone not verified) are named."""
    usable = [m for m in methods if m.is_usable]
    broken = [m for m in methods if not m.is_usable]
    broken_words = ", ".join(f"{_method_words(m.method_type)} {m.address}".strip() for m in broken)
    if not usable:
        found = "no usable notification method"
        found += f" ({broken_words} not usable)" if broken_words else " (none set up)"
        return (
            FAIL,
            found + ": a page cannot wake you",
            "install the incident.io app on your phone and sign in, or add and verify a "
            f"phone number, in {NOTIFICATION_SETTINGS}",
        )
    reaching: list[tuple[int, str]] = []
    for rule in rules:
        if rule.urgency != "high_urgency":
            continue
        targets = [
            m
            for m in usable
            if (m.id == rule.target_id)
            or (rule.target_id is None and m.method_type == rule.method_type)
        ]
        if targets:
            reaching.append((rule.delay_seconds, _method_words(rule.method_type, rule.channel)))
    have = ", ".join(sorted({_method_words(m.method_type) for m in usable}))
    tail = f"; not usable: {broken_words}" if broken_words else ""
    if not reaching:
        return (
            FAIL,
            f"no high-urgency rule reaches a usable method (usable: {have}){tail}",
            f"add a high-urgency rule that notifies the app at once, in {NOTIFICATION_SETTINGS}",
        )
    reaching.sort()
    steps = ", ".join(f"{words} {_delay(delay)}" for delay, words in reaching)
    first = reaching[0][0]
    found = f"high-urgency pages reach you: {steps}{tail}"
    if first > 5 * 60:
        return (
            WARN,
            f"{found}; nothing for the first {_delay(first).removeprefix('after ')}",
            f"add a high-urgency rule with no delay in {NOTIFICATION_SETTINGS}",
        )
    return PASS, found, ""


async def wake_me_check(io: IncidentIoClient, me: User) -> Check:
    """The incident.io app will wake me: a usable method, and high-urgency rules to it."""
    name = "wakes me"
    try:
        methods, rules = await asyncio.gather(
            io.notification_methods(me.id), io.notification_rules(me.id)
        )
    except ApiError as exc:
        fix = _api_fix(exc, "incident-io")
        if isinstance(exc, AuthError):
            fix = (
                "the key cannot read your notification settings: check them yourself in "
                f"{NOTIFICATION_SETTINGS}, or ask an admin for a key with the viewer role"
            )
        return Check(
            name,
            WARN,
            f"cannot read your notification settings: {clean_text(str(exc), limit=300)}",
            fix,
        )
    status, found, fix = wake_me(methods, rules)
    return Check(name, status, found, fix)


async def next_shift_check(backends: Backends, me: User, *, now: datetime) -> Check:
    from oncall_tui.core.actions import ActionError
    from oncall_tui.core.overrides import OverrideActions

    zone = backends.settings.display_zone()
    actions = OverrideActions(backends, clock=lambda: now, zone=zone)
    try:
        data = await actions.load(now - timedelta(days=1), now + SHIFT_HORIZON)
    except ActionError as exc:
        return Check("my next shift", FAIL, str(exc), "check the key can read schedules")
    current = views.my_current_shifts(data.shifts, data.schedules, me, now)
    upcoming = views.my_next_shift(data.shifts, data.schedules, me, now)

    def title(s: views.MyShift) -> str:
        if not s.layer_name or s.layer_name in s.schedule_name:
            return s.schedule_name
        return f"{s.schedule_name} — {s.layer_name}"

    parts = []
    if current:
        s = current[0]
        parts.append(f"on call now: {title(s)} until {timefmt.format_time(s.end, zone, now=now)}")
    if upcoming is not None:
        when = timefmt.format_range(upcoming.start, upcoming.end, zone)
        parts.append(f"next: {title(upcoming)}, {when} ({timefmt.countdown(upcoming.start, now)})")
    if not parts:
        days = SHIFT_HORIZON.days
        return Check(
            "my next shift",
            WARN,
            f"no shifts in the next {days} days on {len(data.schedules)} schedules",
            "if you expected one, check [user] email and [incident_io] schedules",
        )
    return Check("my next shift", PASS, "; ".join(parts))


async def alertmanager_checks(backends: Backends) -> list[Check]:
    async def one(key: str, client: AlertmanagerClient) -> Check:
        try:
            status = await client.status()
        except ApiError as exc:
            return Check(key, FAIL, clean_text(str(exc), limit=300), _api_fix(exc, key))
        facts = [
            f"{label} {status[field]}"
            for label, field in (("version", "version"), ("cluster", "cluster"))
            if status.get(field) not in (None, "", "unknown", "N/A")
        ]
        tail = f" ({', '.join(facts)})" if facts else ""
        return Check(key, PASS, f"{client.base_url} answers{tail}")

    items = sorted(backends.alertmanagers.items())
    return list(await asyncio.gather(*(one(k, c) for k, c in items)))


def _needs_network(host: str) -> str:
    """Which private network a link that timed out probably needs."""
    host = host.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if host.endswith(".ts.net") or (
        address is not None and address in ipaddress.ip_network("100.64.0.0/10")
    ):
        return "needs the tailnet (Tailscale)"
    internal = (".internal", ".corp", ".lan", ".local", ".intra", ".intranet", ".vpn", ".private")
    if (address is not None and address.is_private) or host.endswith(internal) or "." not in host:
        return "needs your VPN (an internal address)"
    return "probably needs your VPN or tailnet"


def _timed_out(exc: BaseException) -> bool:
    """A NetworkError from the shared HTTP layer that was a timeout (the layer raises its
    own error from the httpx one, which stays as the context)."""
    return isinstance(exc.__context__, httpx.TimeoutException | TimeoutError)


async def link_checks(
    links: Sequence[LinkConfig],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = LINK_TIMEOUT,
    probe: bool = True,
) -> list[Check]:
    """Each quick link from ``[ui.links]``, probed in parallel through the shared HTTP
    layer (HEAD, GET when HEAD is refused), one attempt each within ``timeout``, with no
    token: a link host never gets a credential. Links that time out are named as needing
    a VPN or tailnet, in one line at the end."""
    if not links:
        return [Check("quick links", PASS, "none configured ([ui.links] is empty)")]
    if not probe:
        # The demo world's links are made up: probing them would only leave this machine.
        return [
            Check(
                "quick links",
                WARN,
                f"{len(links)} configured, not checked: the demo world's links are made up "
                "and nothing leaves this machine",
                "run `oncall-tui doctor` without --demo to check your own [[ui.links]]",
            )
        ]
    stats = RequestStats()  # link probes are not API traffic: kept out of the counts
    private: list[tuple[str, str]] = []

    async def answer(url: str) -> tuple[int | None, ApiError | None]:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        client = ApiClient(
            "link",
            origin,
            None,  # never a token: a link host is not one of our backends
            transport=transport,
            timeout=timeout * 2,
            deadline=timeout * 2,
            retry=RetryPolicy(attempts=1),
            stats=stats,
            headers={"Accept": "*/*", "User-Agent": f"oncall-tui/{__version__} (doctor)"},
        )
        try:
            async with asyncio.timeout(timeout):
                for method in ("HEAD", "GET"):
                    try:
                        await client.request(method, path, allow_empty=True)
                        return 200, None
                    except MalformedResponse as exc:
                        if exc.status is not None and exc.status < 400:
                            return exc.status, None  # it answered, with a page (HTML)
                        raise
                    except ApiError as exc:
                        if method == "HEAD" and exc.status in (405, 501):
                            continue  # HEAD refused: ask with GET
                        if exc.status is not None and not isinstance(exc, NetworkError):
                            return exc.status, None
                        raise
        except ApiError as exc:
            return None, exc
        finally:
            await client.aclose()
        return None, None  # pragma: no cover - the loop always returns

    async def one(link: LinkConfig) -> Check:
        label = clean_text(link.name, limit=60)
        name = f"link {label}"
        url, problem = openable_url(link.url)
        if url is None:
            return Check(name, FAIL, f"{link.url}: {problem}", "use an http(s) address")
        try:
            check_api_url(url)
        except UnsafeUrl:
            return Check(
                name,
                WARN,
                f"{url}: not checked (plain http to a host that is not this machine)",
                "use the link's https address in [[ui.links]]",
            )
        try:
            code, error = await answer(url)
        except TimeoutError:
            code, error = None, None
        host = urlsplit(url).hostname or ""
        if code is None and (error is None or _timed_out(error)):
            needs = _needs_network(host)
            private.append((label, needs))
            return Check(
                name,
                FAIL,
                f"{url}: no answer within {timeout:g}s; it {needs}",
                "connect to the VPN or tailnet it is on and run doctor again; if you are "
                "connected, check the address in [[ui.links]]",
            )
        if code is None:
            reason = clean_text(error.message if error is not None else "", limit=160)
            return Check(
                name,
                FAIL,
                f"{url}: unreachable ({reason})",
                "check the URL, and your VPN if it is an internal site",
            )
        if code >= 500:
            return Check(name, FAIL, f"{url}: answers {code}", "the site is having trouble")
        if code == 404:
            return Check(name, WARN, f"{url}: answers 404", "check the address in [ui.links]")
        if code in (401, 403):
            return Check(name, PASS, f"{url}: reachable (asks you to sign in)")
        if 300 <= code < 400:
            return Check(name, PASS, f"{url}: reachable (redirects, {code}: a sign-in page?)")
        return Check(name, PASS, f"{url}: reachable ({code})")

    checks = list(await asyncio.gather(*(one(link) for link in links)))
    if private:
        names = "; ".join(f"{label} {needs}" for label, needs in private)
        checks.append(
            Check(
                "links behind a VPN",
                WARN,
                f"{len(private)} of {len(links)} timed out: {names}",
                "connect the VPN or tailnet before you need them at 3 a.m.",
            )
        )
    return checks


async def run_doctor(
    backends: Backends,
    *,
    now: datetime,
    config: Check,
    secrets: Mapping[str, Found | None],
    keyring_backend: str,
    demo: bool = False,
    link_transport: httpx.AsyncBaseTransport | None = None,
    link_timeout: float = LINK_TIMEOUT,
) -> Report:
    """Every check, in the order a person reads them."""
    settings = backends.settings
    checks: list[Check] = [config, zone_check(settings)]
    for service, found in secrets.items():
        checks.append(secrets_check(service, found, demo=demo))
    origins = {s: (f.origin if f is not None else "") for s, f in secrets.items()}
    if demo:
        origins = {}
    checks.append(keyring_check(keyring_backend, origins))
    io_checks, am_checks, links = await asyncio.gather(
        incident_io_checks(backends, now=now),
        alertmanager_checks(backends),
        link_checks(
            settings.ui.links, transport=link_transport, timeout=link_timeout, probe=not demo
        ),
    )
    checks += [*io_checks, *am_checks, *links]
    return Report(tuple([*checks, *backend_checks(backends, configured=set(secrets))]))


def backend_checks(backends: Backends, *, configured: set[str]) -> list[Check]:
    """Any subset of backends works: one that is not configured is a warning saying what
    is off without it; nothing configured at all is a failure."""
    if not configured:
        return [
            Check(
                "backends",
                FAIL,
                "nothing is configured: no incident.io, Grafana or Alertmanager",
                "add [incident_io], [grafana.NAME] or [alertmanager.NAME] to the config",
            )
        ]
    checks: list[Check] = []
    alert_sources = any(s.startswith(("grafana:", "alertmanager:")) for s in configured)
    for off in guard.features_off(backends):
        if off.startswith("no incident.io") and "incident-io" not in configured:
            checks.append(Check("incident.io", WARN, off, guard.ADD_INCIDENT_IO))
        elif off.startswith("no Grafana") and not alert_sources:
            checks.append(
                Check(
                    "Grafana / Alertmanager",
                    WARN,
                    off,
                    "add [grafana.NAME] or [alertmanager.NAME] to the config for their alerts",
                )
            )
    return checks
