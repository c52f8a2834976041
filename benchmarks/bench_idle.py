"""Idle CPU: the dashboard left alone in a real terminal, as a share of one core.

Two cases, each in tmux (160×48), measured from ``/proc/PID/stat`` over a window after a
warm-up: ``oncall-tui --demo`` (the simulated world runs in the same process), and the
dashboard with the configuration ``oncall-tui sim serve`` prints (default poll
intervals) against that simulator in another process, which is what a real
configuration costs the dashboard alone. The two alternate, ``--runs`` times each; the
figure is the median, printed with every run's figure and load average.
Target: <= 1% of a core.

    .venv/bin/python benchmarks/bench_idle.py [--runs 7] [--warm 20] [--window 60]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SESSION = f"bench-idle-{os.getpid()}"
# A private tmux server (its own socket): nothing of anyone else's sessions is touched.
TMUX = ["tmux", "-L", SESSION, "-f", "/dev/null"]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(command: str, warm: float, window: float) -> tuple[float, float]:
    """Share of a core (percent) the command used over ``window`` seconds, and the
    load average at the start of the window."""
    subprocess.run([*TMUX, "kill-session", "-t", SESSION], capture_output=True)
    subprocess.run(
        [*TMUX, "new-session", "-d", "-s", SESSION, "-x", "160", "-y", "48", command],
        check=True,
    )
    try:
        time.sleep(warm)
        pid = int(
            subprocess.run(
                [*TMUX, "display-message", "-p", "-t", SESSION, "#{pane_pid}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        load = os.getloadavg()[0]
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(window)
        cpu1, t1 = cpu_seconds(pid), time.monotonic()
        return 100 * (cpu1 - cpu0) / (t1 - t0), load
    finally:
        subprocess.run([*TMUX, "kill-session", "-t", SESSION], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--warm", type=float, default=20)
    parser.add_argument("--window", type=float, default=60)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    home = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    env = {
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
    }
    prefix = "exec env " + " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())

    out = home / "sim.out"
    with out.open("wb") as handle:
        sim = subprocess.Popen(
            [str(bindir / "oncall-tui"), "sim", "serve", "--port", "0"],
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    figures: dict[str, list[tuple[float, float]]] = {"--demo": [], "real config": []}
    try:
        deadline = time.monotonic() + 30
        while "base_url" not in out.read_text(errors="replace"):
            if time.monotonic() > deadline or sim.poll() is not None:
                raise SystemExit(out.read_text(errors="replace"))
            time.sleep(0.1)
        text = out.read_text()
        token = re.search(r"\(token: ([^)]+)\)", text).group(1)  # type: ignore[union-attr]
        config = home / "config.toml"
        config.write_text(text[text.index("# oncall-tui config") :])
        commands = {
            "--demo": f"{prefix} {bindir}/oncall-tui --demo",
            "real config": (
                f"{prefix} ONCALL_TUI_INCIDENT_IO__API_KEY={shlex.quote(token)} "
                f"{bindir}/oncall-tui --config {shlex.quote(str(config))}"
            ),
        }
        for run in range(1, args.runs + 1):
            for name, command in commands.items():
                share, load = measure(command, args.warm, args.window)
                figures[name].append((share, load))
                print(f"run {run} {name:12s} {share:5.2f}% of a core  (load average {load:.2f})")
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    for name, runs in figures.items():
        median = statistics.median(share for share, _ in runs)
        loads = [load for _, load in runs]
        verdict = "met" if median <= 1 else "NOT met"
        print(
            f"{name}: median {median:.2f}% of a core over {len(runs)} runs of "
            f"{args.window:.0f} s (load average {min(loads):.2f}-{max(loads):.2f}); "
            f"target <= 1% -> {verdict}"
        )


if __name__ == "__main__":
    main()
