"""``oncall-tui sim serve`` as its own process, and the ``oncall-tui`` console script run
against it, the way a person uses the command line.

The printed config snippet becomes the config file; the token goes in the environment.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
SCRIPT = BIN / "oncall-tui"


@dataclass
class Sim:
    url: str
    token: str
    snippet: str
    process: subprocess.Popen
    log: Path
    config: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params) -> dict:
        answer = httpx.get(f"{self.url}{path}", params=params, headers=self._headers(), timeout=5)
        answer.raise_for_status()
        return answer.json()

    def post(self, path: str, body: dict) -> dict:
        answer = httpx.post(f"{self.url}{path}", json=body, headers=self._headers(), timeout=5)
        answer.raise_for_status()
        return answer.json()

    def writes(self, kind: str) -> list[dict]:
        return self.get("/_sim/writes", kind=kind)["writes"]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ONCALL_TUI_")}
        env["ONCALL_TUI_INCIDENT_IO__API_KEY"] = self.token
        env["ONCALL_TUI_NO_KEYRING"] = "1"
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, config: Path | None = None) -> subprocess.CompletedProcess:
        """Run ``oncall-tui ARGS --config CONFIG``; stdout and stderr as text."""
        return subprocess.run(
            [str(SCRIPT), *args, "--config", str(config or self.config)],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=60,
        )


def start_sim(tmp_path: Path, *extra: str) -> Iterator[Sim]:
    assert SCRIPT.is_file(), f"the console script is not installed in {BIN}"
    log = tmp_path / "sim.out"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(SCRIPT), "sim", "serve", "--port", "0", *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if not k.startswith("ONCALL_TUI_")},
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"sim serve exited:\n{log.read_text(errors='replace')}")
            text = log.read_text(errors="replace")
            if re.search(r'^base_url = ".+"$', text, re.M) and text.endswith("\n\n"):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"sim serve printed no config:\n{text}")
            time.sleep(0.05)
        url = re.search(r"API on (http://127\.0\.0\.1:\d+)", text).group(1)
        token = re.search(r"\(token: ([^)]+)\)", text).group(1)
        snippet = text[text.index("# oncall-tui config") :]
        config = tmp_path / "config.toml"
        config.write_text(snippet)
        yield Sim(url, token, snippet, process, log, config)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
