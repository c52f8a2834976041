"""Notes in a real terminal: the installed ``oncall-tui`` in tmux against
``oncall-tui sim serve``. The wrong-incident, paste, quit-with-draft and disk-full cases
of issue 13, typed and pasted as a person would (``paste-buffer -p`` is a bracketed paste).
"""

from __future__ import annotations

import shlex
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_tmux import (  # noqa: F401  (fixtures)
    BIN,
    HEIGHT,
    WIDTH,
    Sim,
    Terminal,
    dashboard_command,
    head_ref,
    sim,
    terminal,
    wait_for,
)

pytestmark = pytest.mark.e2e


def start(sim: Sim, terminal: Terminal, tmp_path: Path, *, ulimit_kb: int = 0) -> Path:  # noqa: F811
    """Start the dashboard in the tmux session; returns the file its exit status goes to."""
    config = tmp_path / "config.toml"
    config.write_text(sim.snippet + "\n[incident_io.poll]\nincidents = 5\ntimeline = 5\n")
    rc_file = tmp_path / f"exit-status-{uuid.uuid4().hex[:6]}"
    run = dashboard_command(sim, config, EDITOR="true")
    limit = f"ulimit -f {ulimit_kb}; " if ulimit_kb else ""
    command = f"bash -c {shlex.quote(f'{limit}{run}; echo $? > {shlex.quote(str(rc_file))}')}"
    try:
        terminal.run("kill-session", "-t", terminal.session)
    except AssertionError:
        pass  # the first start: no session yet
    terminal.run(
        "-f", "/dev/null", "-u", "new-session", "-d", "-s", terminal.session,
        "-x", str(WIDTH), "-y", str(HEIGHT), command,
    )  # fmt: skip
    terminal.run("set-option", "-s", "escape-time", "0")
    try:
        wait_for("incident.io fresh", terminal.shows("incident.io ✓"), timeout=30)
    except AssertionError:
        raise AssertionError(f"the dashboard did not start:\n{terminal.screen()}") from None
    return rc_file


def open_box_on(terminal: Terminal, ref: str) -> None:  # noqa: F811
    terminal.keys("i")
    wait_for("the incidents screen", terminal.shows("Incidents"))
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
    for _ in range(3):  # n before the screen has its incident does nothing: ask again
        terminal.keys("n")
        try:
            wait_for(f"the note box for {ref}", terminal.shows(f"Note for {ref}"), timeout=3)
            return
        except AssertionError:
            continue
    raise AssertionError(f"no note box for {ref}:\n{terminal.screen()}")


def paste(terminal: Terminal, text: str, tmp_path: Path) -> None:  # noqa: F811
    """A bracketed paste, as a terminal sends one."""
    buffer = tmp_path / f"paste-{uuid.uuid4().hex[:6]}"
    buffer.write_bytes(text.encode())
    terminal.run("load-buffer", "-b", "notes", str(buffer))
    terminal.run("paste-buffer", "-p", "-d", "-b", "notes", "-t", terminal.session)


def open_incidents(sim: Sim) -> list[dict]:  # noqa: F811
    return [
        i
        for i in sim.get("/v2/incidents")["incidents"]
        if i["incident_status"]["category"] in ("live", "triage")
    ]


def close(sim: Sim, incident: dict) -> None:  # noqa: F811
    closed = next(
        s["id"]
        for s in sim.get("/v1/incident_statuses")["incident_statuses"]
        if s["category"] == "closed"
    )
    answer = httpx.post(
        f"{sim.url}/v2/incidents/{incident['id']}/actions/edit",
        json={"notify_incident_channel": False, "incident": {"incident_status_id": closed}},
        headers={"Authorization": f"Bearer {sim.token}"},
        timeout=5,
    )
    answer.raise_for_status()


def notes_titled(sim: Sim, title: str) -> list[dict]:  # noqa: F811
    return [w for w in sim.writes("timeline_item.create") if w["data"].get("title") == title]


def test_wrong_incident_paste_and_quit_with_a_draft(sim: Sim, terminal: Terminal, tmp_path):  # noqa: F811
    rc_file = start(sim, terminal, tmp_path)
    target = open_incidents(sim)[-1]
    open_box_on(terminal, target["reference"])

    # Someone closes the incident while the note is typed: the note still goes there.
    terminal.type("for the incident I opened the box on")
    close(sim, target)
    wait_for("the box to say it left the list", terminal.shows("has left the incident list"))
    terminal.keys("Enter")
    [made] = wait_for("the note", lambda: notes_titled(sim, "for the incident I opened the box on"))
    assert made["data"]["incident_id"] == target["id"]

    # A coloured paste with carriage returns is text: nothing is sent until Enter.
    other = open_incidents(sim)[0]
    terminal.keys("Escape")
    time.sleep(0.3)
    terminal.keys("Escape")
    time.sleep(0.3)
    open_box_on(terminal, other["reference"])
    paste(terminal, "pasted \x1b[31mred\x1b[0m\rsecond line\r", tmp_path)
    wait_for("the paste shown inert", terminal.shows("pasted ␛[31mred␛[0m"))
    time.sleep(1.0)
    assert not [w for w in sim.writes("timeline_item.create") if "red" in w["data"]["title"]]
    terminal.keys("Enter")
    [made] = wait_for("the pasted note", lambda: notes_titled(sim, "pasted red"))
    assert made["data"]["description"].startswith("second line")

    # A draft, then q: asked first; y quits; the draft is there after a restart.
    terminal.type("a draft to keep")
    time.sleep(1.0)  # saved as typed
    terminal.keys("Escape")
    time.sleep(0.5)
    terminal.keys("q")
    wait_for("the question", terminal.shows("Quit with notes not sent?"))
    assert "1 draft(s)" in terminal.screen()
    terminal.keys("y")
    status = wait_for("exit", lambda: rc_file.is_file() and rc_file.read_text(), 10)
    assert status.strip() == "0"
    start(sim, terminal, tmp_path)
    open_box_on(terminal, other["reference"])
    wait_for("the draft back", terminal.shows("a draft to keep"))


def test_a_full_disk_keeps_the_note_in_the_box(sim: Sim, terminal: Terminal, tmp_path):  # noqa: F811
    # Files may grow to 160 KB: enough to start, not enough for a 150 KB note.
    start(sim, terminal, tmp_path, ulimit_kb=160)
    target = open_incidents(sim)[0]
    open_box_on(terminal, target["reference"])
    big = "\n".join(f"{n:05d} upstream reset by peer while reading" for n in range(3500))
    paste(terminal, "too big to store\n" + big, tmp_path)
    last = "03499 upstream reset by peer"
    wait_for("the paste in the box", terminal.shows(last), timeout=20)
    terminal.keys("Enter")
    try:
        wait_for("the reason", terminal.shows("Not saved"), timeout=20)
    except AssertionError:
        raise AssertionError(f"no reason shown:\n{terminal.screen()}") from None
    screen = terminal.screen()
    assert last in screen  # still in the box
    assert "Traceback" not in screen
    assert not notes_titled(sim, "too big to store")
