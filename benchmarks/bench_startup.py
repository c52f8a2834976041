"""Start-up: process start to the first frame that shows data, against a bare Textual app.

Runs ``oncall-tui --demo`` and a bare Textual app that shows one static line, alternately,
each in a fresh process, headless, and prints both medians and their ratio. The dashboard
exits at its first frame with shifts and alerts on screen (``ONCALL_TUI_EXIT_AFTER_DATA``);
the bare app exits at its first frame.

    .venv/bin/python benchmarks/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import oncall_tui

BARE = """
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(self.exit)

Bare().run(headless=True)
"""

DASHBOARD = """
import sys
from oncall_tui.cli.common import load_settings
from oncall_tui.ui.launch import build_app
import argparse
app = build_app(load_settings(argparse.Namespace(demo=True, config=None)), demo=True,
                readonly=False)
app.run(headless=True)
"""


def timed(code: str, env: dict) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"run failed:\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = dict(
        os.environ,
        ONCALL_TUI_EXIT_AFTER_DATA="1",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    # Measure what an installed user gets: bytecode compiled (pip compiles on install;
    # an environment with PYTHONDONTWRITEBYTECODE would otherwise recompile every run).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(oncall_tui.__file__).parent)],
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        check=True,
    )
    bare, dash = [], []
    timed(BARE, env)  # warm the file cache for both
    timed(DASHBOARD, env)
    for _ in range(args.runs):
        bare.append(timed(BARE, env))
        dash.append(timed(DASHBOARD, env))
    b, d = statistics.median(bare), statistics.median(dash)
    print(f"runs: {args.runs} each, alternating, headless")
    print(f"bare Textual app, first frame:        median {b * 1000:7.0f} ms")
    print(f"oncall-tui --demo, first data frame:  median {d * 1000:7.0f} ms")
    print(f"ratio: {d / b:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
