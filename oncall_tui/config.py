"""Configuration: a TOML file, then ``ONCALL_TUI_*`` environment variables.

Sources, later wins: the TOML file (``--config``, else ``ONCALL_TUI_CONFIG``, else
``<user config dir>/oncall-tui/config.toml``), then environment variables with ``__``
nesting (``ONCALL_TUI_UI__THEME=oncall-light``). Secrets never live here: see
:mod:`oncall_tui.secrets`. A token found in the file is refused with a message that says
how to move it.

Every problem is reported as a :class:`ConfigError` naming the file and the field, so the
CLI can print it and exit 2 without a traceback.
"""

from __future__ import annotations

import functools
import os
import tomllib
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from oncall_tui.configpaths import (  # noqa: F401 (the old names stay importable here)
    APP_NAME,
    CONFIG_ENV,
    ENV_PREFIX,
    SECRET_KEYS,
    default_config_path,
    resolve_path,
)
from oncall_tui.domain import SEVERITY_ORDER
from oncall_tui.safety import INSTANCE_NAME, UnsafeUrl, check_api_url, openable_url


def default_data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME)


# ------------------------------------------------------------------------- sections


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _url(value: str) -> str:
    try:
        return check_api_url(value)
    except UnsafeUrl as exc:
        raise ValueError(str(exc)) from None


class UserConfig(_Section):
    email: str | None = None
    """How we find "me" in incident.io (``/v2/users?email=``)."""
    timezone: str | None = None
    """IANA zone for display, e.g. ``Europe/Berlin``. Default: the system's."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and ("@" not in value or value.strip() != value):
            raise ValueError(f"{value!r} is not an email address")
        return value


class PollConfig(_Section):
    """Seconds between polls of each kind of data. Quiet and paged intervals adapt."""

    pages: float = Field(15.0, ge=2, le=3600)
    pages_when_paged: float = Field(5.0, ge=2, le=3600)
    alerts: float = Field(30.0, ge=2, le=3600)
    schedules: float = Field(300.0, ge=10, le=86400)
    incidents: float = Field(60.0, ge=5, le=3600)
    timeline: float = Field(10.0, ge=2, le=3600)


class IncidentIoConfig(_Section):
    base_url: str = "https://api.incident.io"
    schedules: list[str] = Field(default_factory=list)
    """Schedule names or ids to show. Empty: every schedule I appear in."""
    act_as_user: bool = False
    """Send ``X-Incident-User`` so actions are attributed to me, not the key."""
    poll: PollConfig = Field(default_factory=PollConfig)
    timeout: float = Field(10.0, gt=0, le=120)

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _url(value)


# The labels that identify an alert's instance, for ack-by-silence: a silence matches
# these (and Grafana's rule UID) but never every label, so a label that churns, such as a
# pod name, does not stop it matching when the alert comes back.
DEFAULT_SILENCE_LABELS = ("alertname", "cluster", "namespace", "service", "job", "instance")


class GrafanaConfig(_Section):
    url: str
    org_id: int = Field(1, ge=1)
    alertmanager: str = "grafana"
    """Where alerts come from: ``grafana`` (the embedded Alertmanager) or a datasource uid."""
    prometheus_datasource: str | None = None
    """Datasource uid to evaluate sparkline queries with when a rule names none."""
    verify_tls: bool = True
    timeout: float = Field(10.0, gt=0, le=120)
    silence_labels: list[str] = Field(default_factory=lambda: list(DEFAULT_SILENCE_LABELS))
    """Labels an ack-by-silence matches, besides the rule UID (those the alert has)."""

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _url(value)


class AlertmanagerConfig(_Section):
    url: str
    prometheus_url: str | None = None
    verify_tls: bool = True
    timeout: float = Field(10.0, gt=0, le=120)
    silence_labels: list[str] = Field(default_factory=lambda: list(DEFAULT_SILENCE_LABELS))
    """Labels an ack-by-silence matches (those the alert has); never every label."""

    @field_validator("url", "prometheus_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return None if value is None else _url(value)


class LinkConfig(_Section):
    name: str
    url: str
    region: str = ""

    @field_validator("url")
    @classmethod
    def _openable(cls, value: str) -> str:
        url, problem = openable_url(value)
        if url is None:
            raise ValueError(f"{value!r}: {problem}")
        return url


DEFAULT_GUIDANCE = {
    "critical": (
        "Customers cannot use a core feature, data is at risk, or money is being lost now. "
        "Page widely, open a call, update the status page."
    ),
    "major": (
        "A feature is degraded for many customers or an internal system the business needs "
        "is down. Lead it, take notes, tell the announcement channel."
    ),
    "minor": (
        "Small or contained impact, or a near miss worth learning from. Declaring is cheap: "
        "when in doubt, declare and downgrade later."
    ),
}


class UiConfig(_Section):
    theme: str = "oncall-dark"
    refresh: float = Field(1.0, ge=0.2, le=60)
    """Seconds between redraws of countdowns and ages."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """Binding id → keys, e.g. ``ack = "a,space"``."""
    severity_guidance: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_GUIDANCE))
    links: list[LinkConfig] = Field(default_factory=list)
    bell: bool = True
    desktop_notifications: bool = False
    utc: bool = False
    """Show times in UTC instead of my zone."""
    readonly: bool = False
    """Disable every write in the dashboard and the command line (like ``--readonly``)."""
    resolved_minutes: int = Field(10, ge=0, le=24 * 60)
    """Alerts and pages that end leave a dimmed "recently resolved" row this long (0: none)."""


class ActionsConfig(_Section):
    silence_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    """How long an ack-by-silence lasts for Grafana and Alertmanager alerts."""
    forgotten_silence_hours: int = Field(24, ge=1, le=365 * 24)
    """A silence older than this that still matches firing alerts is "possibly forgotten"."""
    snooze_minutes: int = Field(30, ge=1, le=24 * 60)
    reminder_minutes: int = Field(15, ge=0, le=24 * 60)
    """Remind me this long before each of my shifts starts and ends (0: off)."""
    outbox_retention_days: int = Field(30, ge=1, le=3650)
    """Delivered notes and updates are kept in the local outbox this long, then pruned."""


class NotificationsConfig(_Section):
    """When a new page (or a shift reminder, or a watched item) rings the bell and sends a
    desktop notification; ``[ui] bell`` and ``desktop_notifications`` say whether each is
    wanted at all."""

    min_severity: str = ""
    """Only pages of this severity or above ring (critical, major, high, warning, minor,
    low, info); "" rings for every page. A page with no severity always rings."""
    only_on_call: bool = True
    """Ring for pages only while I hold a shift (reminders and watches ring regardless)."""

    @field_validator("min_severity")
    @classmethod
    def _known_severity(cls, value: str) -> str:
        value = value.strip().lower()
        if value and value not in SEVERITY_ORDER:
            raise ValueError(f'{value!r} is not one of {", ".join(SEVERITY_ORDER)} (or "")')
        return value


# --------------------------------------------------------------------------- settings


class Settings(BaseModel):
    """Every setting. ``Settings()`` is the defaults; :func:`load` reads the file and the
    environment into one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: UserConfig = Field(default_factory=UserConfig)
    incident_io: IncidentIoConfig = Field(default_factory=IncidentIoConfig)
    grafana: dict[str, GrafanaConfig] = Field(default_factory=dict)
    alertmanager: dict[str, AlertmanagerConfig] = Field(default_factory=dict)
    ui: UiConfig = Field(default_factory=UiConfig)
    actions: ActionsConfig = Field(default_factory=ActionsConfig)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)

    @field_validator("grafana", "alertmanager")
    @classmethod
    def _instance_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not INSTANCE_NAME.match(name):
                raise ValueError(
                    f"{name!r} cannot name an instance: its token is stored under this name, "
                    "so use letters, digits, '-' and '_' only (for example "
                    f"{_suggest_name(name)!r})"
                )
        return value

    # -- derived ----------------------------------------------------------------

    def display_zone(self) -> ZoneInfo:
        if self.ui.utc:
            return ZoneInfo("UTC")
        if self.user.timezone:
            return ZoneInfo(self.user.timezone)
        return system_zone()


def _suggest_name(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "main"


# The parsed TOML for the load in progress (set by ``load``; pydantic-settings builds its
# sources inside the loader's constructor, so the file's content reaches it through this
# variable).
_FILE_DATA: ContextVar[dict[str, Any] | None] = ContextVar("_FILE_DATA", default=None)


@functools.cache
def _loader() -> type[Settings]:
    """:class:`Settings` read from its sources, later wins: the TOML file, then the
    ``ONCALL_TUI_*`` environment. pydantic-settings is imported here, on the first load,
    not with this module: ``--demo`` and code that builds Settings itself never need it."""
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

    class TomlSource(PydanticBaseSettingsSource):
        def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]):
            super().__init__(settings_cls)
            self._data = dict(data)

        def get_field_value(self, field, field_name):  # pragma: no cover - unused
            return self._data.get(field_name), field_name, False

        def __call__(self) -> dict[str, Any]:
            return self._data

    class FromSources(BaseSettings, Settings):
        model_config = SettingsConfigDict(
            env_prefix=ENV_PREFIX,
            env_nested_delimiter="__",
            case_sensitive=False,
            extra="forbid",
            frozen=True,
        )

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls,
            init_settings,
            env_settings,
            dotenv_settings,
            file_secret_settings,
        ):
            file_data = _FILE_DATA.get() or {}

            def env_without_secrets() -> dict[str, Any]:
                return _strip_secret_keys(env_settings())

            return (init_settings, env_without_secrets, TomlSource(settings_cls, file_data))

    return FromSources


def _from_sources() -> Settings:
    loaded = _loader()()
    # A plain Settings (equal to one built directly), from the already validated values.
    return Settings.model_construct(
        loaded.model_fields_set, **{name: getattr(loaded, name) for name in Settings.model_fields}
    )


def _strip_secret_keys(data: Any) -> Any:
    """Drop secret keys (and tables left empty by that) from environment settings."""
    if not isinstance(data, dict):
        return data
    kept = {}
    for key, value in data.items():
        if key.lower() in SECRET_KEYS:
            continue
        stripped = _strip_secret_keys(value)
        if isinstance(value, dict) and value and not stripped:
            continue
        kept[key] = stripped
    return kept


def system_zone() -> ZoneInfo:
    """The system's IANA zone, or UTC when it cannot be told."""
    name = os.environ.get("TZ", "").lstrip(":")
    candidates = [name] if name else []
    try:
        link = os.readlink("/etc/localtime")
        if "zoneinfo/" in link:
            candidates.append(link.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    try:
        candidates.append(Path("/etc/timezone").read_text().strip())
    except OSError:
        pass
    for candidate in candidates:
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ConfigError(Exception):
    """One or more problems with the configuration, each naming its field."""

    def __init__(self, origin: str, problems: list[Problem]):
        self.origin = origin
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{origin}:\n{lines}" if len(problems) > 1 else f"{origin}: {problems[0]}")


@dataclass(frozen=True, slots=True)
class Loaded:
    settings: Settings
    path: Path
    exists: bool


def _secret_problems(data: Any, prefix: str = "") -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(data, dict):
        for key, value in data.items():
            dotted = f"{prefix}.{key}" if prefix else str(key)
            if str(key).lower() in SECRET_KEYS:
                problems.append(Problem(dotted, _move_secret_hint(dotted)))
            else:
                problems.extend(_secret_problems(value, dotted))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            problems.extend(_secret_problems(value, f"{prefix}[{index}]"))
    return problems


def _move_secret_hint(dotted: str) -> str:
    parts = dotted.split(".")
    if parts[0] == "incident_io":
        service, env = "incident-io", "ONCALL_TUI_INCIDENT_IO__API_KEY"
    elif parts[0] in ("grafana", "alertmanager") and len(parts) >= 3:
        service = f"{parts[0]}:{parts[1]}"
        env = f"ONCALL_TUI_{parts[0].upper()}__{parts[1].upper()}__TOKEN"
    else:
        return "secrets are not allowed in the config file; remove it"
    return (
        "secrets are not allowed in the config file. Remove this line, then run "
        f"`oncall-tui auth set {service}` (stored in the OS keyring) or set {env}"
    )


def _problems_from_validation(exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in error["loc"])
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see config.example.toml)"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        problems.append(Problem(loc, message))
    return problems


def load(explicit: str | os.PathLike[str] | None = None, *, require_file: bool = False) -> Loaded:
    """Load settings. Raise :class:`ConfigError` with every problem found."""
    path, asked = resolve_path(explicit)
    data: dict[str, Any] = {}
    exists = path.is_file()
    if exists:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(str(path), [Problem("", f"cannot read: {exc.strerror}")]) from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ConfigError(str(path), [Problem("", "not UTF-8 text")]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(path), [Problem("", f"not valid TOML: {exc}")]) from None
        problems = _secret_problems(data)
        if problems:
            raise ConfigError(str(path), problems)
    elif path.exists():
        raise ConfigError(str(path), [Problem("", "is not a file")])
    elif asked or require_file:
        raise ConfigError(
            str(path),
            [Problem("", "no such file (create one with `oncall-tui config init`)")],
        )
    token = _FILE_DATA.set(data)
    try:
        settings = _from_sources()
    except ValidationError as exc:
        origin = str(path) if exists else "environment"
        raise ConfigError(
            f"{origin} (or ONCALL_TUI_* variables)", _problems_from_validation(exc)
        ) from None
    except ValueError as exc:
        # pydantic-settings' SettingsError (a ValueError): an ONCALL_TUI_* variable holding
        # a table or list that is not valid JSON.
        raise ConfigError("environment (ONCALL_TUI_* variables)", [_env_problem(exc)]) from None
    finally:
        _FILE_DATA.reset(token)
    return Loaded(settings=settings, path=path, exists=exists)


def _env_problem(exc: ValueError) -> Problem:
    text = str(exc)
    field = ""
    if '"' in text:
        field = text.split('"')[1]
    stem = f"{ENV_PREFIX}{field.upper()}" if field else ENV_PREFIX
    names = sorted(
        key for key in os.environ if key.upper() == stem or key.upper().startswith(stem + "__")
    )
    where = " or ".join(names) if names else f"a {stem}* variable"
    return Problem(field, f"{where} is not valid JSON (a table or list there is written as JSON)")


def example_path() -> Path:
    """``config.example.toml``: packaged copy, or the one beside the source tree."""
    packaged = Path(__file__).parent / "_data" / "config.example.toml"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "config.example.toml"
