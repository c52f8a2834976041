"""The kill test: notes survive SIGKILL at any point and arrive exactly once, in order.

A child process (``tests/helpers/outbox_child.py``) types N notes on one incident and
delivers them over real HTTP on loopback to a receiver that honours idempotency keys the
way incident.io does (same key, same object). The parent kills it again and again, at
chosen points (inside the enqueue transaction, after the claim, with the request on the
wire, after the server accepted but before ``mark_delivered``, inside ``mark_delivered``)
and at seeded random moments, restarting it each time. At the end the receiver holds
every note exactly once and in the order typed.

The child sends with the real incident.io client (``create_timeline_item``). The receiver
is the small Starlette app in ``tests/helpers/outbox_receiver.py`` (the incident.io
simulator was not in the tree when this test was written), run with uvicorn on a free
loopback port. Takes a few seconds: each round starts a Python
process.
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

HELPERS = Path(__file__).parent / "helpers"
sys.path.insert(0, str(HELPERS))

from outbox_receiver import Store, create_receiver  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "kill-test-token"
INCIDENT = "01INCIDENTKILLTEST0000000"
NOTES = 30
SEED = 20260304


class Receiver:
    """The receiver app served by uvicorn in a thread, on a free loopback port."""

    def __init__(self, store: Store, delay: float) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        app = create_receiver(store, token=TOKEN, delay=delay)
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


def _child(db: Path, url: str, kill: str | None) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    args = [sys.executable, str(HELPERS / "outbox_child.py"), str(db), url, TOKEN, INCIDENT]
    args.append(str(NOTES))
    if kill:
        args.append(kill)
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _plan(rng: random.Random) -> list[tuple[str, str | float]]:
    """Rounds: every targeted kill point at least twice, plus random-time kills."""
    targeted = [
        f"{phase}:{rng.randint(1, 3)}"
        for phase in ("enqueue", "claimed", "inflight", "accepted", "delivered")
        for _ in range(2)
    ]
    rounds: list[tuple[str, str | float]] = [("hook", k) for k in targeted]
    rounds += [("timer", rng.uniform(0.3, 0.9)) for _ in range(5)]
    rng.shuffle(rounds)
    return rounds


def test_notes_survive_sigkill_at_any_point_and_arrive_once_in_order(tmp_path):
    rng = random.Random(SEED)
    db = tmp_path / "data" / "outbox.sqlite3"
    store = Store()
    killed = 0
    phases_hit: set[str] = set()
    with Receiver(store, delay=0.02) as receiver:
        for mode, arg in _plan(rng):
            if mode == "hook":
                proc = _child(db, receiver.url, str(arg))
                try:
                    _, err = proc.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
                    pytest.fail(f"child hung at {arg}")
            else:
                proc = _child(db, receiver.url, None)
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
        proc = _child(db, receiver.url, None)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode(errors="replace")

    expected = [f"note {i:03d}" for i in range(NOTES)]
    assert store.titles(INCIDENT) == expected  # every note, once, in the order typed
    assert killed >= 10  # the kills really happened, at every chosen point…
    assert phases_hit == {"enqueue", "claimed", "inflight", "accepted", "delivered"}
    assert store.replays >= 1  # …and at least one resend was answered from the key

    with Outbox(db) as outbox:
        items = outbox.items()
        assert [i.payload["title"] for i in items] == expected
        assert all(i.state == STATE_DELIVERED for i in items)
        assert [i.remote_id for i in items] == [i["id"] for i in store.items]
        assert len({i.key for i in items}) == NOTES
