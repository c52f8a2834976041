"""The kill test: notes survive SIGKILL at any point and arrive exactly once, in order.

A child process (``tests/helpers/outbox_child.py``) types N notes on one incident and
delivers them over real HTTP on loopback to a receiver that honours idempotency keys the
way incident.io does (same key, same object). The parent kills it again and again, at
chosen points (inside the enqueue transaction, after the claim, with the request on the
wire, after the server accepted but before ``mark_delivered``, inside ``mark_delivered``)
and at seeded random moments, restarting it each time. At the end the receiver holds
every note exactly once and in the order typed.

The child sends with the real incident.io client (``create_timeline_item``) to the
incident.io simulator (``oncall_tui.sim.incidentio``), served by uvicorn on a free loopback
port; the simulator keeps one object per idempotency key, as the API does. A counting
wrapper around the app records every POST, so the test can show resends happened. Takes
a few seconds: each round starts a Python process.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from oncall_tui.core.outbox import STATE_DELIVERED, Outbox
from oncall_tui.sim.incidentio import create_app
from oncall_tui.sim.scenario import build_world

HELPERS = Path(__file__).parent / "helpers"
ROOT = Path(__file__).resolve().parent.parent
TOKEN = "kill-test-token"
NOTES = 30
SEED = 20260304
PATH = "/v2/incident_timeline_items"


class CountingApp:
    """ASGI wrapper: counts the timeline POSTs that reach the simulator."""

    def __init__(self, app) -> None:
        self.app = app
        self.posts = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == PATH:
            self.posts += 1
        await self.app(scope, receive, send)


class Receiver:
    """The simulator served by uvicorn in a thread, on a free loopback port."""

    def __init__(self, app) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return self
            time.sleep(0.01)
        raise RuntimeError("the receiver did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def _child(db: Path, url: str, incident: str, kill: str | None) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    args = [sys.executable, str(HELPERS / "outbox_child.py"), str(db), url, TOKEN, incident]
    args.append(str(NOTES))
    if kill:
        args.append(kill)
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _plan(rng: random.Random) -> list[tuple[str, str | float]]:
    """Rounds: every targeted kill point at least twice, plus random-time kills."""
    targeted = [
        f"{phase}:{rng.randint(1, 3)}"
        for phase in ("draft", "enqueue", "claimed", "inflight", "accepted", "delivered", "resend")
        for _ in range(2)
    ]
    rounds: list[tuple[str, str | float]] = [("hook", k) for k in targeted]
    rounds += [("timer", rng.uniform(0.3, 0.9)) for _ in range(5)]
    rng.shuffle(rounds)
    return rounds


def test_notes_survive_sigkill_at_any_point_and_arrive_once_in_order(tmp_path):
    rng = random.Random(SEED)
    db = tmp_path / "data" / "outbox.sqlite3"
    world = build_world(seed=11, background_alerts=0)
    incident = next(iter(world.incidents))
    before = {t.id for t in world.timeline_items.values()}
    app = CountingApp(create_app(world, token=TOKEN))
    killed = 0
    phases_hit: set[str] = set()
    with Receiver(app) as receiver:
        for mode, arg in _plan(rng):
            if mode == "hook":
                proc = _child(db, receiver.url, incident, str(arg))
                try:
                    _, err = proc.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
                    pytest.fail(f"child hung at {arg}")
            else:
                proc = _child(db, receiver.url, incident, None)
                try:
                    _, err = proc.communicate(timeout=float(arg))
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    _, err = proc.communicate()
            # reaped by communicate(): a dead claimant is seen as dead, not as a zombie
            if proc.returncode == -signal.SIGKILL:
                killed += 1
                if mode == "hook":
                    phases_hit.add(str(arg).partition(":")[0])
            else:
                assert proc.returncode == 0, err.decode(errors="replace")
        # A last, undisturbed run finishes the job.
        proc = _child(db, receiver.url, incident, None)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode(errors="replace")

    with world.lock:
        # The notes this test typed (the world's own story adds items too, such as an
        # alert attached to its incident): each must be on the one incident, once, in order.
        created = [
            t
            for t in world.timeline_items.values()
            if t.id not in before and t.title.startswith("note ")
        ]
    expected = [f"note {i:03d}" for i in range(NOTES)]
    assert all(t.incident_id == incident for t in created)
    assert [t.title for t in created] == expected  # every note, once, in the order typed
    assert killed >= 10  # the kills really happened, at every chosen point…
    # (a kill inside a resend needs a refused note waiting in that round: not required)
    assert phases_hit >= {"draft", "enqueue", "claimed", "inflight", "accepted", "delivered"}
    assert app.posts > NOTES  # …and resends reached the server, answered from the key

    with Outbox(db) as outbox:
        items = outbox.items()
        assert [i.payload["title"] for i in items] == expected
        assert all(i.state == STATE_DELIVERED for i in items)
        assert [i.remote_id for i in items] == [t.id for t in created]
        assert len({i.key for i in items}) == NOTES
        assert outbox.drafts() == []  # no draft of a note already sent is left to resend
