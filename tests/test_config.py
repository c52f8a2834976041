"""Configuration: sources, precedence, and every bad input as one clear error."""

from __future__ import annotations

import pytest

from oncall_tui import config
from oncall_tui.config import ConfigError, load


def write(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid():
    loaded = load(config.example_path(), require_file=True)
    assert loaded.settings.user.email == "me@example.com"
    assert loaded.settings.ui.theme == "oncall-dark"
    assert set(loaded.settings.ui.severity_guidance) == {"critical", "major", "minor"}


def test_sections_parse(tmp_path):
    path = write(
        tmp_path,
        """
[user]
email = "ana@example.com"
timezone = "Europe/Berlin"
[incident_io]
schedules = ["Payments", "01HZ"]
act_as_user = true
[incident_io.poll]
pages = 20
[grafana.us]
url = "https://grafana-us.example.com"
org_id = 3
[grafana.eu]
url = "https://grafana-eu.example.com"
alertmanager = "am-uid"
[alertmanager.main]
url = "http://127.0.0.1:9093"
prometheus_url = "http://localhost:9090"
[ui]
theme = "oncall-light"
[ui.keymap]
ack = "a,space"
[[ui.links]]
name = "ArgoCD"
url = "https://argocd.example.com"
region = "eu"
""",
    )
    s = load(path).settings
    assert s.user.timezone == "Europe/Berlin"
    assert s.display_zone().key == "Europe/Berlin"
    assert s.incident_io.schedules == ["Payments", "01HZ"]
    assert s.incident_io.poll.pages == 20
    assert s.grafana["us"].org_id == 3
    assert s.grafana["eu"].alertmanager == "am-uid"
    assert s.alertmanager["main"].prometheus_url == "http://localhost:9090"
    assert s.ui.keymap == {"ack": "a,space"}
    assert s.ui.links[0].region == "eu"


def test_env_wins_over_file(tmp_path, monkeypatch):
    path = write(tmp_path, '[ui]\ntheme = "oncall-light"\n[user]\nemail = "a@b.c"\n')
    monkeypatch.setenv("ONCALL_TUI_UI__THEME", "oncall-high-contrast")
    monkeypatch.setenv("ONCALL_TUI_INCIDENT_IO__POLL__ALERTS", "45")
    s = load(path).settings
    assert s.ui.theme == "oncall-high-contrast"
    assert s.incident_io.poll.alerts == 45
    assert s.user.email == "a@b.c"


def test_path_from_env_variable(tmp_path, monkeypatch):
    path = write(tmp_path, '[user]\nemail = "env@example.com"\n')
    monkeypatch.setenv("ONCALL_TUI_CONFIG", str(path))
    loaded = load()
    assert loaded.path == path
    assert loaded.settings.user.email == "env@example.com"


def test_secret_env_variables_do_not_reach_settings(monkeypatch):
    monkeypatch.setenv("ONCALL_TUI_INCIDENT_IO__API_KEY", "s3cret")
    monkeypatch.setenv("ONCALL_TUI_GRAFANA__US__TOKEN", "s3cret")
    loaded = load()
    assert "s3cret" not in repr(loaded.settings.model_dump())


def test_missing_default_file_is_fine_but_explicit_is_not(tmp_path):
    assert load().exists is False
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("[user\nemail=", "", "not valid TOML"),
        ("[user]\nmood = 'fine'\n", "user.mood", "unknown key"),
        ("[incident_io.poll]\npages = 'often'\n", "incident_io.poll.pages", "valid number"),
        ("[grafana.us]\nurl = 'ftp://grafana'\n", "grafana.us.url", "not an http(s) URL"),
        ("[grafana.us]\nurl = 'http://grafana.example.com'\n", "grafana.us.url", "plain http"),
        ("[ui]\n[[ui.links]]\nname='x'\nurl='javascript:alert(1)'\n", "ui.links.0.url", "refused"),
        ("[user]\ntimezone = 'Nowhere/Land'\n", "user.timezone", "unknown time zone"),
        (
            "[incident_io]\napi_key = 'x'\n",
            "incident_io.api_key",
            "oncall-tui auth set incident-io",
        ),
        (
            "[grafana.us]\nurl='https://g'\ntoken = 'x'\n",
            "grafana.us.token",
            "ONCALL_TUI_GRAFANA__US__TOKEN",
        ),
    ],
)
def test_bad_input_names_file_and_field(tmp_path, text, field, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path)
    rendered = str(info.value)
    assert str(path) in rendered
    assert field in rendered
    assert message in rendered


def test_every_problem_is_listed(tmp_path):
    path = write(tmp_path, "[user]\nmood = 1\ntimezone = 'X/Y'\n[ui]\nrefresh = -1\n")
    with pytest.raises(ConfigError) as info:
        load(path)
    fields = {p.field for p in info.value.problems}
    assert fields == {"user.mood", "user.timezone", "ui.refresh"}


def test_loopback_http_is_allowed(tmp_path):
    path = write(tmp_path, "[incident_io]\nbase_url = 'http://127.0.0.1:8080'\n")
    assert load(path).settings.incident_io.base_url == "http://127.0.0.1:8080"
