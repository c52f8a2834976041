"""Changes to the rota are confirmed: ``unavailable`` (with or without ``--cover``) and
``overrides remove`` print the plan and ask on a terminal; ``--yes`` skips the question;
with no terminal and no ``--yes`` they refuse (exit 2) and say to pass ``--yes`` or
``--dry-run``. Run as the installed console script against ``oncall-tui sim serve``; the
simulator's write log shows what reached incident.io."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.simserve import SCRIPT, Sim, start_sim

RANGE = ("--from", "tomorrow", "--to", "tomorrow")


@pytest.fixture
def sim(tmp_path) -> Iterator[Sim]:
    yield from start_sim(tmp_path)


def on_tty(sim: Sim, *args: str, answer: str) -> tuple[int, str]:
    """Run the console script on a pseudo-terminal; type ``answer`` at the question."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [str(SCRIPT), *args, "--config", str(sim.config)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=sim.env(),
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and b"[y/N]" in seen:
                os.write(master, answer.encode() + b"\n")
                answered = True
            if process.poll() is not None and not ready:
                break
        code = process.wait(timeout=30)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    return code, seen.decode(errors="replace").replace("\r\n", "\n")


@pytest.mark.parametrize(
    "command",
    [
        ("unavailable", *RANGE),
        ("unavailable", *RANGE, "--cover", "robin@example.com"),
        ("overrides", "remove", "01NOSUCHOVERRIDE"),
    ],
    ids=["unavailable", "cover", "overrides remove"],
)
def test_no_terminal_and_no_yes_is_refused_with_what_to_pass(sim: Sim, command):
    done = sim.cli(*command)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--yes" in done.stderr and "--dry-run" in done.stderr
    assert not sim.writes("override.create") and not sim.writes("override.delete")


def test_on_a_terminal_the_plan_is_shown_and_a_no_changes_nothing(sim: Sim):
    code, screen = on_tty(sim, "unavailable", *RANGE, answer="n")
    assert code == 1, screen
    assert "Mark you unavailable" in screen and "[y/N]" in screen
    assert screen.index("Mark you unavailable") < screen.index("[y/N]")
    assert "not confirmed: nothing was changed" in screen
    assert not sim.writes("override.create")


def test_on_a_terminal_a_yes_makes_the_overrides_and_remove_asks_too(sim: Sim):
    code, screen = on_tty(sim, "unavailable", *RANGE, answer="y")
    assert code == 0, screen
    made = sim.writes("override.create")
    assert made and "Made " in screen

    listed = sim.cli("overrides", "--json")
    first = json.loads(listed.stdout)[0]["id"]
    code, screen = on_tty(sim, "overrides", "remove", first, answer="y")
    assert code == 0, screen
    assert "Remove: " in screen and "Remove this override? [y/N]" in screen
    assert "Removed: " in screen
    assert len(sim.writes("override.delete")) == 1


def test_yes_skips_the_question_and_dry_run_still_changes_nothing(sim: Sim):
    done = sim.cli("unavailable", *RANGE, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "Dry run: nothing was changed." in done.stdout and "[y/N]" not in done.stdout
    assert not sim.writes("override.create")
    done = sim.cli("unavailable", *RANGE, "--yes")
    assert done.returncode == 0, done.stderr
    assert "[y/N]" not in done.stdout and "Made " in done.stdout
    assert sim.writes("override.create")
