"""Secrets: keyring first, env second, values never shown, no traceback when headless."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend

from oncall_tui import secrets
from oncall_tui.secrets import SecretError


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self):
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        from keyring.errors import PasswordDeleteError

        if (service, username) not in self.store:
            raise PasswordDeleteError("absent")
        del self.store[(service, username)]


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_keyring_first_then_env(memory_keyring, monkeypatch):
    monkeypatch.setenv("ONCALL_TUI_INCIDENT_IO__API_KEY", "from-env")
    assert secrets.get("incident-io").origin == "env ONCALL_TUI_INCIDENT_IO__API_KEY"
    secrets.set_secret("incident-io", "from-keyring")
    found = secrets.get("incident-io")
    assert (found.value, found.origin) == ("from-keyring", "keyring")
    assert memory_keyring.store[("oncall-tui", "incident-io")] == "from-keyring"
    assert "from-keyring" not in repr(found)
    assert secrets.forget("incident-io") is True
    assert secrets.forget("incident-io") is False
    assert secrets.get("incident-io").value == "from-env"


def test_env_names():
    assert secrets.env_name("incident-io") == "ONCALL_TUI_INCIDENT_IO__API_KEY"
    assert secrets.env_name("grafana:us") == "ONCALL_TUI_GRAFANA__US__TOKEN"
    assert secrets.env_name("alertmanager:main") == "ONCALL_TUI_ALERTMANAGER__MAIN__TOKEN"


def test_env_lookup_ignores_case(monkeypatch):
    monkeypatch.setenv("oncall_tui_grafana__eu__token", "t")
    assert secrets.get("grafana:eu").value == "t"


def test_headless_keyring_is_a_message_not_a_traceback():
    # conftest selects keyring's "fail" backend, as on a server with no keyring.
    with pytest.raises(SecretError, match="ONCALL_TUI_GRAFANA__US__TOKEN"):
        secrets.set_secret("grafana:us", "x")
    found = secrets.get("grafana:us")
    assert found.value is None
    assert "no OS keyring" in found.note


@pytest.mark.parametrize("bad", ["", "grafana", "grafana:", "slack:x", "grafana:a b"])
def test_unknown_service_refused(bad):
    with pytest.raises(SecretError, match="unknown service"):
        secrets.check_service(bad)
