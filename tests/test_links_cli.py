"""``oncall-tui links``: the quick links by region, in text and JSON, through the
installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("oncall-tui")

CONFIG = """
[user]
email = "me@example.com"

[[ui.links]]
name = "Metabase"
url = "https://metabase.example.com"

[[ui.links]]
name = "Grafana EU"
url = "https://grafana-eu.example.com"
region = "eu"

[[ui.links]]
name = "Admin EU"
url = "https://admin-eu.example.com/"
region = "EU"
"""


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_links_json_in_the_demo():
    result = run("links", "--demo", "--json")
    assert result.returncode == 0, result.stderr
    links = json.loads(result.stdout)
    names = {link["name"] for link in links}
    assert {"Grafana US", "Grafana EU", "ArgoCD", "Metabase"} <= names
    assert all(link["url"].startswith("https://") for link in links)
    assert {link["region"] for link in links} == {"us", "eu", None}


def test_links_grouped_by_region_from_the_config(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    result = run("links", "--config", str(config))
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines == [
        ["EU:"],
        ["Grafana", "EU", "https://grafana-eu.example.com"],
        ["Admin", "EU", "https://admin-eu.example.com/"],
        ["any", "region:"],
        ["Metabase", "https://metabase.example.com"],
    ]
    as_json = json.loads(run("links", "--json", "--config", str(config)).stdout)
    assert [link["region"] for link in as_json] == [None, "eu", "eu"]


def test_no_links_says_how_to_add_them(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[user]\nemail = "me@example.com"\n', encoding="utf-8")
    result = run("links", "--config", str(config))
    assert result.returncode == 0
    assert "[[ui.links]]" in result.stdout
    assert json.loads(run("links", "--json", "--config", str(config)).stdout) == []
