"""Where the official API schemas the contract tests check against are found.

``scripts/fetch-oracles`` (run by ``scripts/test``) fetches them from package registries into
the git-ignored ``.cache/oracles/``; nothing is read from outside the repository. A missing
schema is a failure that says how to get it, never a skip: contract coverage must not vanish
without a word.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("ONCALL_ORACLES", ROOT / ".cache" / "oracles"))
FETCH = "scripts/fetch-oracles"

INCIDENT_IO_SPEC = CACHE / "incident-io-2.29.0" / "openapi.json"
"""incident.io's schema: the openapi.json in the sdist of the official SDK incident-io 2.29.0."""
ALERTMANAGER_SPEC = CACHE / "alertmanager-0.25.0" / "openapi.json"
"""Alertmanager 0.25.0's API v2 Swagger document (from Debian's Go source package)."""


class OracleMissing(AssertionError):
    """A schema the contract tests need is not in the cache."""


def load(path: Path) -> Any:
    if not path.exists():
        raise OracleMissing(
            f"{path} is missing: run `{FETCH}` (scripts/test runs it) to fetch the official "
            "schemas the contract tests check against"
        )
    return json.loads(path.read_text())


def incident_io() -> dict[str, Any]:
    return load(INCIDENT_IO_SPEC)


def alertmanager() -> dict[str, Any]:
    return load(ALERTMANAGER_SPEC)
