"""The official schemas the contract tests check against: fetched, never assumed.

They come from package registries through ``scripts/fetch-oracles`` into the repository's
git-ignored cache; a missing one fails loudly with the command that fetches it, and no
test, script or module reads anything outside the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import oracles
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_a_missing_schema_fails_and_names_the_command(tmp_path):
    with pytest.raises(oracles.OracleMissing) as caught:
        oracles.load(tmp_path / "incident-io-2.29.0" / "openapi.json")
    assert "scripts/fetch-oracles" in str(caught.value)
    assert not isinstance(caught.value, pytest.skip.Exception)


def test_the_incident_io_schema_is_the_2_29_0_one():
    spec = oracles.incident_io()
    operations = sum(
        1
        for item in spec["paths"].values()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )
    assert operations == 337
    entry = spec["components"]["schemas"]["ScheduleEntryV2"]["properties"]
    assert "rotation_id" in entry and "layer_id" not in entry


def test_the_alertmanager_schema_has_the_definitions_we_fuzz():
    definitions = oracles.alertmanager()["definitions"]
    assert {"gettableAlert", "gettableSilence", "alertGroup"} <= set(definitions)


def test_nothing_reads_outside_the_repository():
    outside = re.compile(r"""(\.\./shared|["'/]shared/specs|/work/)""")
    offenders = []
    for folder in ("tests", "scripts", "oncall_tui", "benchmarks", ".ci"):
        for path in (ROOT / folder).rglob("*"):
            if (
                not path.is_file()
                or path.suffix in (".svg", ".png", ".pyc")
                or path == Path(__file__)
            ):
                continue
            try:
                text = path.read_text()
            except (UnicodeDecodeError, OSError):
                continue
            for n, line in enumerate(text.splitlines(), 1):
                if outside.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:80]}")
    assert not offenders, "reads outside the repository:\n" + "\n".join(offenders)
