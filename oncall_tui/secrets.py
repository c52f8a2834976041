"""Secrets: the OS keyring first, the environment second. Never the config file.

Keyring service ``oncall-tui``; usernames ``incident-io``, ``grafana:NAME`` and
``alertmanager:NAME``, and ``alertmanager:NAME:prometheus`` for the Prometheus beside an
Alertmanager (a token goes only to the host it was configured for). Environment
fallbacks: ``ONCALL_TUI_INCIDENT_IO__API_KEY``, ``ONCALL_TUI_GRAFANA__NAME__TOKEN``,
``ONCALL_TUI_ALERTMANAGER__NAME__TOKEN``, ``ONCALL_TUI_ALERTMANAGER__NAME__PROMETHEUS__TOKEN``.

Values are never printed: :func:`status` says only where a secret was found.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

KEYRING_SERVICE = "oncall-tui"
_SERVICE = re.compile(
    r"^(incident-io|(grafana|alertmanager):([A-Za-z0-9_-]+)|alertmanager:[A-Za-z0-9_-]+:prometheus)$"
)


class SecretError(Exception):
    """A secret could not be stored, read or removed; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Found:
    service: str
    value: str | None
    origin: str  # "keyring", "env ONCALL_TUI_…", or "" when absent
    note: str = ""  # e.g. why the keyring could not be asked

    def __repr__(self) -> str:  # never show the value
        present = "present" if self.value else "absent"
        return f"Found(service={self.service!r}, {present}, origin={self.origin!r})"


def check_service(service: str) -> str:
    if not _SERVICE.match(service):
        raise SecretError(
            f"unknown service {service!r}: use incident-io, grafana:NAME, alertmanager:NAME "
            "or alertmanager:NAME:prometheus"
        )
    return service


def env_name(service: str) -> str:
    check_service(service)
    if service == "incident-io":
        return "ONCALL_TUI_INCIDENT_IO__API_KEY"
    kind, name, *extra = service.split(":")
    middle = "".join(f"__{part.upper()}" for part in extra)
    return f"ONCALL_TUI_{kind.upper()}__{name.upper().replace('-', '_')}{middle}__TOKEN"


def _env_lookup(name: str) -> str | None:
    """Environment lookup that ignores case, as the settings do."""
    if name in os.environ:
        return os.environ[name]
    lowered = name.lower()
    for key, value in os.environ.items():
        if key.lower() == lowered:
            return value
    return None


def _keyring():
    """The keyring module and its backend, or a reason it cannot be used."""
    if os.environ.get("ONCALL_TUI_NO_KEYRING"):
        return None, "keyring disabled by ONCALL_TUI_NO_KEYRING"
    try:
        import keyring
        from keyring.backends import fail
    except Exception as exc:  # pragma: no cover - broken installs
        return None, f"keyring unavailable: {type(exc).__name__}"
    try:
        backend = keyring.get_keyring()
    except Exception as exc:
        return None, f"keyring unavailable: {type(exc).__name__}"
    if isinstance(backend, fail.Keyring):
        return None, "no OS keyring backend on this machine (a headless server?)"
    return keyring, ""


def keyring_backend_name() -> str:
    module, reason = _keyring()
    if module is None:
        return reason
    backend = module.get_keyring()
    return f"{type(backend).__module__}.{type(backend).__name__}"


def get(service: str) -> Found:
    """Find a secret: keyring first, then the environment."""
    check_service(service)
    note = ""
    module, reason = _keyring()
    if module is not None:
        try:
            value = module.get_password(KEYRING_SERVICE, service)
        except Exception as exc:
            value, note = None, f"keyring error: {type(exc).__name__}"
        if value:
            return Found(service, value, "keyring")
    else:
        note = reason
    name = env_name(service)
    value = _env_lookup(name)
    if value:
        return Found(service, value, f"env {name}", note)
    return Found(service, None, "", note)


def set_secret(service: str, value: str) -> str:
    """Store in the keyring. Return where it went; raise SecretError with a way out."""
    check_service(service)
    if not value:
        raise SecretError("empty secret; nothing stored")
    module, reason = _keyring()
    if module is None:
        raise SecretError(f"{reason}. Set {env_name(service)} in the environment instead.")
    try:
        module.set_password(KEYRING_SERVICE, service, value)
    except Exception as exc:
        raise SecretError(
            f"the keyring refused to store it ({type(exc).__name__}). "
            f"Set {env_name(service)} in the environment instead."
        ) from None
    return keyring_backend_name()


def forget(service: str) -> bool:
    """Remove from the keyring. True if something was removed."""
    check_service(service)
    module, reason = _keyring()
    if module is None:
        raise SecretError(f"{reason}; nothing to forget there. Unset {env_name(service)}.")
    from keyring.errors import PasswordDeleteError

    try:
        module.delete_password(KEYRING_SERVICE, service)
    except PasswordDeleteError:
        return False
    except Exception as exc:
        raise SecretError(f"the keyring refused ({type(exc).__name__})") from None
    return True


def services_for(grafana: list[str], alertmanager: list[str]) -> list[str]:
    return (
        ["incident-io"]
        + [f"grafana:{name}" for name in grafana]
        + [f"alertmanager:{name}" for name in alertmanager]
    )
