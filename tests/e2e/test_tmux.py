"""End to end in a real terminal: the installed ``oncall-tui`` in tmux against
``oncall-tui sim serve`` over loopback HTTP.

The simulator runs as its own process (the console script from this venv's ``bin/``);
its printed config snippet becomes the config file, the token goes in the environment
(``ONCALL_TUI_INCIDENT_IO__API_KEY``), and the dashboard runs in a detached tmux session
of 140×40. The test reads the screen with ``capture-pane`` and types with ``send-keys``
like a person: the shift panel names who is on call, a page to me arrives and is acked,
the simulator recorded the ack, a note typed on the live incident reaches the simulator,
a single ``q`` quits and the process exits with status 0.

Skipped only when tmux is missing (``scripts/test`` installs it).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
WIDTH, HEIGHT = 140, 40
SPEED = 4  # the scenario's waits four times shorter
STEP = 0.1


def _tmux() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        pytest.skip("tmux is not installed (scripts/test installs it: apt-get install tmux)")
    return tmux


def wait_for(what: str, condition: Callable[[], object], timeout: float = 10.0):
    """Poll ``condition`` until it returns something truthy; fail saying ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(STEP)


# ------------------------------------------------------------------- the simulator


@dataclass
class Sim:
    url: str
    token: str
    me_name: str
    snippet: str
    process: subprocess.Popen
    log: Path

    def get(self, path: str, **params) -> dict:
        answer = httpx.get(
            f"{self.url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=5,
        )
        answer.raise_for_status()
        return answer.json()

    def post(self, path: str, body: dict) -> dict:
        answer = httpx.post(
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=5,
        )
        answer.raise_for_status()
        return answer.json()

    def current_holders(self, *schedules: str) -> set[str]:
        """Names of the people on call now on the schedules with these names."""
        names: set[str] = set()
        for schedule in self.get("/v2/schedules")["schedules"]:
            if schedule["name"] in schedules:
                for shift in schedule.get("current_shifts") or ():
                    name = (shift.get("user") or {}).get("name")
                    if name:
                        names.add(name)
        return names

    def writes(self, kind: str) -> list[dict]:
        return self.get("/_sim/writes", kind=kind)["writes"]


@pytest.fixture
def sim(tmp_path) -> Iterator[Sim]:
    script = BIN / "oncall-tui"
    assert script.is_file(), f"the console script is not installed in {BIN}"
    log = tmp_path / "sim.out"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(script), "sim", "serve", "--port", "0", "--speed", str(SPEED)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:

        def printed() -> str | None:
            if process.poll() is not None:
                raise AssertionError(f"sim serve exited:\n{log.read_text(errors='replace')}")
            text = log.read_text(errors="replace")
            return text if re.search(r'^base_url = ".+"$', text, re.M) else None

        text = wait_for("the simulator to print its config", printed, timeout=20)
        url = re.search(r"API on (http://127\.0\.0\.1:\d+)", text).group(1)
        token = re.search(r"\(token: ([^)]+)\)", text).group(1)
        me_name = re.search(r"^Me: (.+?) <", text, re.M).group(1)
        snippet = text[text.index("# oncall-tui config") :]
        yield Sim(url, token, me_name, snippet, process, log)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


# ------------------------------------------------------------------------ the terminal


@dataclass
class Terminal:
    tmux: str
    socket: Path
    session: str

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [self.tmux, "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.run("send-keys", "-t", self.session, key)

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", self.session, "-l", text)

    def detail(self) -> str:
        """The right-hand panel: the detail of the row under the cursor."""
        return "\n".join(
            line.split("▏", 1)[1] for line in self.screen().splitlines() if "▏" in line
        )

    def shows(self, text: str) -> Callable[[], bool]:
        return lambda: text in self.screen()


@pytest.fixture
def terminal(tmp_path) -> Iterator[Terminal]:
    tmux = _tmux()
    # A private tmux server (own socket, no user config): nothing of the user's is touched.
    term = Terminal(tmux, tmp_path / "tmux.sock", f"oncall-e2e-{uuid.uuid4().hex[:8]}")
    try:
        yield term
    finally:
        subprocess.run(
            [tmux, "-S", str(term.socket), "kill-server"], capture_output=True, timeout=10
        )


def dashboard_command(sim: Sim, config: Path, **extra_env: str) -> str:
    """The installed dashboard against ``sim`` in a clean environment (``env -i``): nothing
    inherited, not even COLUMNS/LINES, which would override the pane's real size."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ONCALL_TUI_INCIDENT_IO__API_KEY": sim.token,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "HOME": os.environ["HOME"],
        "XDG_CONFIG_HOME": os.environ.get("XDG_CONFIG_HOME", ""),
        "XDG_DATA_HOME": os.environ.get("XDG_DATA_HOME", ""),
        "XDG_STATE_HOME": os.environ.get("XDG_STATE_HOME", ""),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "tmux-256color",
        **extra_env,
    }
    return " ".join(
        [
            "env",
            "-i",
            *(shlex.quote(f"{k}={v}") for k, v in env.items()),
            shlex.quote(str(BIN / "oncall-tui")),
            "--config",
            shlex.quote(str(config)),
        ]
    )


# ------------------------------------------------------------------------------ the test


def test_page_ack_note_and_quit_in_a_real_terminal(sim: Sim, terminal: Terminal, tmp_path):
    config = tmp_path / "config.toml"
    # The printed snippet, plus faster polling so the test does not wait out the defaults.
    config.write_text(
        sim.snippet
        + "\n[incident_io.poll]\npages = 2\npages_when_paged = 2\nalerts = 3\nincidents = 5\n"
    )
    rc_file = tmp_path / "exit-status"
    command = f"{dashboard_command(sim, config)} ; echo $? > {shlex.quote(str(rc_file))}"
    terminal.run(
        "-f", "/dev/null", "-u", "new-session", "-d", "-s", terminal.session,
        "-x", str(WIDTH), "-y", str(HEIGHT), command,
    )  # fmt: skip
    terminal.run("set-option", "-s", "escape-time", "0")  # Esc is Esc, not Alt+next key

    # The shift panel says who is on call. Who that is depends on the hour the test runs
    # (the world's rotas follow the wall clock), so ask the simulator who holds the
    # escalators' and the global schedule now, and look for them on screen.
    holders = sim.current_holders("Escalators", "Global on-call")
    assert holders, "nobody holds the escalators' or the global schedule now"
    wait_for("the shift panel", terminal.shows("Escalators"), timeout=20)
    wait_for(
        f"one of {sorted(holders)} named in the shift panel",
        lambda: any(name in terminal.screen() for name in holders),
    )
    wait_for("incident.io fresh in the status bar", terminal.shows("incident.io ✓"))

    # A page to me arrives (a drill page with a title of our own) and is announced.
    title = f"E2E drill {uuid.uuid4().hex[:4]}: ack me"
    page = sim.post("/_sim/page", {"to_me": True, "title": title})["escalation"]
    wait_for("the page on screen", terminal.shows(title))
    wait_for("the page announced", terminal.shows("New page"))

    # Put the cursor on it: rows are sorted, pages to me first; read the detail panel.
    terminal.keys("Home")
    for _ in range(10):
        if wait_for_detail(terminal, title):
            break
        terminal.keys("Down")
    else:
        raise AssertionError(f"never got the cursor to the page:\n{terminal.screen()}")
    terminal.keys("a")
    wait_for("the ack said in words", terminal.shows("Acked"))
    acks = wait_for(
        "the simulator to record the ack",
        lambda: [w for w in sim.writes("escalation.respond") if w["target_id"] == page["id"]],
    )
    assert acks[-1]["data"]["response"] == "ack"
    row = wait_for(
        "the row to show acked",
        lambda: next(
            (
                line
                for line in terminal.screen().splitlines()
                if title[:20] in line and "acked" in line
            ),
            None,
        ),
    )
    assert "triggered" not in row

    # A note on the live incident, from the incidents screen.
    live = next(
        i
        for i in sim.get("/v2/incidents")["incidents"]
        if i["incident_status"]["category"] == "live"
    )
    ref = live["reference"]
    terminal.keys("i")
    wait_for("the incidents screen", terminal.shows("Incidents"))
    # Move down one row at a time, each time waiting for the head to show the next
    # incident, so no Down is still on its way when the note box opens.
    shown = wait_for("an incident in the head", lambda: head_ref(terminal), timeout=20)
    for _ in range(10):
        if shown == ref:
            break
        terminal.keys("Down")
        before = shown
        shown = wait_for(
            f"the head to move on from {before}",
            lambda before=before: (now := head_ref(terminal)) != before and now,
        )
    else:
        raise AssertionError(f"never selected {ref}:\n{terminal.screen()}")
    note = f"E2E note {uuid.uuid4().hex[:6]}: rolled back the gateway"
    terminal.keys("n")
    wait_for(f"the note box for {ref}", terminal.shows(f"Note for {ref}"))
    terminal.type(note)
    terminal.keys("Enter")
    made = wait_for(
        "the simulator to have the note",
        lambda: [w for w in sim.writes("timeline_item.create") if w["data"].get("title") == note],
    )
    assert len(made) == 1 and made[0]["data"]["incident_id"] == live["id"]
    wait_for("the note in the timeline", terminal.shows(note[:40]))

    # Leave the note box (Esc and q sent apart, so the terminal cannot read them as one
    # Alt+q), then a single q quits and the process exits cleanly.
    terminal.keys("Escape")
    time.sleep(0.5)
    terminal.keys("q")
    try:
        status = wait_for("exit", lambda: rc_file.is_file() and rc_file.read_text(), 10)
    except AssertionError:
        raise AssertionError(f"the dashboard did not exit on q:\n{terminal.screen()}") from None
    assert status.strip() == "0", f"exit status {status.strip()}"
    assert sim.process.poll() is None  # the simulator was never in trouble


def wait_for_detail(terminal: Terminal, title: str) -> bool:
    """True once the detail panel shows ``title`` (after the cursor has settled)."""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if title in terminal.detail():
            return True
        time.sleep(STEP)
    return False


def head_ref(terminal: Terminal) -> str | None:
    """The reference of the incident in the head (``INC-1  Major · Fixing · …``), if any."""
    found = re.search(r"^\s*(INC-\d+)\s+\S.*·", terminal.screen(), re.M)
    return found.group(1) if found else None
