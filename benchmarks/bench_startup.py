"""Start-up: process start to the first frame that shows data, against a bare Textual app.

What a user sees: each run starts a fresh process in a real terminal (tmux, 160×48) and
reads the screen (``tmux capture-pane``) every few milliseconds until it shows data:
for the dashboard, a shift ("ON CALL") and an alert row; for the bare Textual app, its
one line. The two alternate in the same run. The figure is the median time from
starting the process to the first capture that shows data, with the CPU time both
processes used (from ``/proc``), and the load average when each run began.

A second line keeps the older headless figure (``run(headless=True)``, the dashboard
exiting at its first frame with shifts and alerts, ``ONCALL_TUI_EXIT_AFTER_DATA``).

    .venv/bin/python benchmarks/bench_startup.py [--runs 7] [--headless-runs 7]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import oncall_tui

BARE = """
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("hello from a bare app")

Bare().run()
"""

BARE_HEADLESS = """
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(self.exit)

Bare().run(headless=True)
"""

DASHBOARD_HEADLESS = """
import argparse
from oncall_tui.core.startup import start_key
from oncall_tui.ui.launch import build_app, start_from_cache

def settings():
    from oncall_tui.cli.common import load_settings
    return load_settings(argparse.Namespace(demo=True, config=None))

# As `oncall-tui --demo` starts: from the cache when there is one, else settings first.
app = start_from_cache(settings, config=None, demo=True, readonly=False, theme=None)
if app is None:
    app = build_app(settings(), demo=True, readonly=False, start_key=start_key(None, demo=True))
app.run(headless=True)
"""


# A private tmux server (its own socket): nothing of anyone else's sessions is touched,
# and the server does not come and go with other people's sessions.
TMUX = ["tmux", "-L", f"bench-startup-{os.getpid()}", "-f", "/dev/null"]
RUNS = 0


# A row of the alert table: its severity, then its state ("CRIT  firing").
ALERT_ROW = re.compile(r"\b(CRIT|MAJOR|MINOR|WARN|INFO)\s+(firing|triggered|acked)\b")


def dashboard_shows_data(screen: str) -> bool:
    """My shift ("ON CALL", the demo's "me" is on call) and a row of the alert table."""
    return "ON CALL" in screen and ALERT_ROW.search(screen) is not None


def bare_shows_data(screen: str) -> bool:
    return "hello from a bare app" in screen


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its waited-for children, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(f) for f in fields[11:15]) / ticks


def in_tmux(command: list[str], shows_data, env: dict[str, str], timeout: float = 60.0):
    """Seconds from starting ``command`` in a fresh tmux session to the first capture
    that shows data, and the CPU seconds the process had used by then."""
    global RUNS
    RUNS += 1
    name = f"run{RUNS}"
    env_args = [f"{k}={v}" for k, v in env.items()]
    shell = "exec env " + " ".join(shlex.quote(a) for a in [*env_args, *command])
    subprocess.run([*TMUX, "kill-session", "-t", name], capture_output=True)
    start = time.perf_counter()
    subprocess.run(
        [*TMUX, "new-session", "-d", "-s", name, "-x", "160", "-y", "48", shell], check=True
    )
    pid = int(
        subprocess.run(
            [*TMUX, "display-message", "-p", "-t", name, "#{pane_pid}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    try:
        while True:
            screen = capture(name)
            if shows_data(screen):
                elapsed = time.perf_counter() - start
                return elapsed, cpu_seconds(pid)
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"no data on screen after {timeout} s:\n{screen}")
            time.sleep(0.005)
    finally:
        subprocess.run([*TMUX, "kill-session", "-t", name], capture_output=True)


def leave_snapshot(command: list[str], env: dict[str, str], cache: Path) -> None:
    """Run the dashboard until its feeds have answered, then quit it with ``q`` (the
    runs measured are killed, which saves nothing): the snapshot it saves on the way
    out is what the measured starts draw first."""
    name = "snapshot"
    shell = "exec env " + " ".join(
        shlex.quote(a) for a in [*[f"{k}={v}" for k, v in env.items()], *command]
    )
    subprocess.run(
        [*TMUX, "new-session", "-d", "-s", name, "-x", "160", "-y", "48", shell], check=True
    )
    try:
        deadline = time.monotonic() + 60
        while "… loading" in (screen := capture(name)) or not dashboard_shows_data(screen):
            if time.monotonic() > deadline:
                raise SystemExit(f"the dashboard did not load:\n{screen}")
            time.sleep(0.2)
        time.sleep(2)
        subprocess.run([*TMUX, "send-keys", "-t", name, "q"], check=True)
        while time.monotonic() < deadline and not list(cache.glob("oncall-tui/*.cache")):
            time.sleep(0.2)
    finally:
        subprocess.run([*TMUX, "kill-session", "-t", name], capture_output=True)
    if not list(cache.glob("oncall-tui/*.cache")):
        raise SystemExit("the dashboard saved no snapshot when quit")


def capture(name: str) -> str:
    return subprocess.run(
        [*TMUX, "capture-pane", "-p", "-t", name], capture_output=True, text=True
    ).stdout


def headless(code: str, env: dict) -> float:
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
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--headless-runs", type=int, default=7)
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="start each dashboard run without a cached snapshot (the first start ever)",
    )
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is needed (scripts/test installs it)")
    # Measure what an installed user gets: bytecode compiled (pip compiles on install).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(oncall_tui.__file__).parent)],
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        check=True,
    )
    home = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    env = {
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_DATA_HOME": str(home / "data"),
        "TERM": "xterm-256color",
    }
    # A session that keeps the private server up between runs (a server that exits with
    # its last session races the next run's start).
    subprocess.run([*TMUX, "new-session", "-d", "-s", "keeper", "sleep 3600"], check=True)
    bare_cmd = [sys.executable, "-c", BARE]
    dash_cmd = [sys.executable, "-m", "oncall_tui", "--demo"]
    # Warm the file cache for both, and (unless --no-cache) leave the snapshot a
    # previous run wrote when it was quit, as a user has it from yesterday.
    in_tmux(bare_cmd, bare_shows_data, env)
    in_tmux(dash_cmd, dashboard_shows_data, env)
    if not args.no_cache:
        leave_snapshot(dash_cmd, env, home / "cache")
    time.sleep(1.5)
    bare, dash, bare_cpu, dash_cpu, loads = [], [], [], [], []
    for _ in range(args.runs):
        loads.append(os.getloadavg()[0])
        wall, cpu = in_tmux(bare_cmd, bare_shows_data, env)
        bare.append(wall)
        bare_cpu.append(cpu)
        if args.no_cache:
            shutil.rmtree(home / "cache", ignore_errors=True)
        loads.append(os.getloadavg()[0])
        wall, cpu = in_tmux(dash_cmd, dashboard_shows_data, env)
        dash.append(wall)
        dash_cpu.append(cpu)
    b, d = statistics.median(bare), statistics.median(dash)
    cache = "without a cached snapshot" if args.no_cache else "with the snapshot cached"
    print(f"real terminal (tmux 160x48), {args.runs} alternating runs each, {cache}")
    print(f"load average during the runs: {min(loads):.2f}-{max(loads):.2f}")
    print(
        f"bare Textual app, first frame:        median {b * 1000:7.0f} ms"
        f"  (cpu {statistics.median(bare_cpu) * 1000:5.0f} ms)"
    )
    print(
        f"oncall-tui --demo, first data frame:  median {d * 1000:7.0f} ms"
        f"  (cpu {statistics.median(dash_cpu) * 1000:5.0f} ms)"
    )
    print(f"ratio: {d / b:.2f} (target <= 1.5): {'met' if d / b <= 1.5 else 'NOT met'}")

    if args.headless_runs:
        henv = dict(os.environ, ONCALL_TUI_EXIT_AFTER_DATA="1", **env)
        hb, hd = [], []
        headless(BARE_HEADLESS, henv)
        headless(DASHBOARD_HEADLESS, henv)
        for _ in range(args.headless_runs):
            hb.append(headless(BARE_HEADLESS, henv))
            hd.append(headless(DASHBOARD_HEADLESS, henv))
        b, d = statistics.median(hb), statistics.median(hd)
        print(
            f"headless (second figure): bare {b * 1000:.0f} ms, dashboard {d * 1000:.0f} ms,"
            f" ratio {d / b:.2f}; load average now {os.getloadavg()[0]:.2f}"
        )
    shutil.rmtree(home, ignore_errors=True)
    subprocess.run([*TMUX, "kill-server"], capture_output=True)


if __name__ == "__main__":
    main()
