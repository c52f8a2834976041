"""Notes from the command line, as a person runs them: the installed ``oncall-tui``
console script against ``oncall-tui sim serve`` (a process of its own, over loopback
HTTP), with incident.io refusing, unreachable, a full disk and a damaged outbox."""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_tmux import BIN, Sim, sim  # noqa: F401  (the simulator fixture)


@pytest.fixture
def cli(sim: Sim, tmp_path):  # noqa: F811
    config = tmp_path / "config.toml"
    config.write_text(sim.snippet)

    def run(*argv: str, limit_file_size: int | None = None) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env["ONCALL_TUI_INCIDENT_IO__API_KEY"] = sim.token

        def limits() -> None:
            if limit_file_size is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))

        return subprocess.run(
            [str(BIN / "oncall-tui"), *argv, "--config", str(config)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            preexec_fn=limits,
        )

    return run


def faults(sim: Sim, **changes) -> None:  # noqa: F811
    method = httpx.delete if not changes else httpx.post
    kwargs = {} if not changes else {"json": changes}
    answer = method(
        f"{sim.url}/_sim/faults", headers={"Authorization": f"Bearer {sim.token}"}, **kwargs
    )
    answer.raise_for_status()


def live_incident(sim: Sim) -> dict:  # noqa: F811
    return next(
        i
        for i in sim.get("/v2/incidents")["incidents"]
        if i["incident_status"]["category"] == "live"
    )


def outbox_items(cli) -> list[dict]:
    done = cli("outbox", "--json", "--all")
    return json.loads(done.stdout)["items"]


def outbox_file() -> Path:
    from oncall_tui.core.incidents import outbox_path

    return outbox_path()


def test_offline_a_note_is_queued_by_the_kept_id_and_sent_later(cli, sim):  # noqa: F811
    live = live_incident(sim)
    ref = live["reference"]
    assert cli("incidents").returncode == 0  # the list is kept on this machine
    faults(sim, down=True)
    done = cli("note", ref, "written while incident.io is down")
    assert done.returncode == 0, done.stderr
    assert "queued" in done.stderr and "id kept from the last incident list" in done.stderr
    assert "Note saved, not sent yet" in done.stdout
    [item] = [i for i in outbox_items(cli) if i["state"] == "pending"]
    assert item["incident_id"] == live["id"] and item["text"] == "written while incident.io is down"
    faults(sim)
    assert cli("outbox", "--send").returncode == 0
    [write] = [
        w
        for w in sim.writes("timeline_item.create")
        if w["data"]["title"] == "written while incident.io is down"
    ]
    assert write["data"]["incident_id"] == live["id"]


def test_offline_with_no_kept_list_a_note_is_queued_by_reference(cli, sim):  # noqa: F811
    live = live_incident(sim)
    faults(sim, down=True)
    done = cli("note", live["reference"], "by reference")
    assert done.returncode == 0, done.stderr
    assert "queued by reference" in done.stderr
    [item] = [i for i in outbox_items(cli) if i["state"] == "pending"]
    assert item["incident_id"] == f"ref:{live['reference']}"
    faults(sim)
    assert cli("outbox", "--send").returncode == 0
    [write] = [
        w for w in sim.writes("timeline_item.create") if w["data"]["title"] == "by reference"
    ]
    assert write["data"]["incident_id"] == live["id"]


def test_a_refused_note_holds_the_next_and_outbox_retry_sends_both_in_order(cli, sim):  # noqa: F811
    ref = live_incident(sim)["reference"]
    faults(sim, burst=1, burst_status=401, paths=["/v2/incident_timeline_items"])
    first = cli("note", ref, "first")
    assert first.returncode == 1 and "not sent" in first.stderr
    faults(sim)
    second = cli("note", ref, "second")
    assert second.returncode == 0 and "not sent yet" in second.stdout  # held behind "first"
    listing = cli("outbox")
    assert "held" in listing.stdout and "outbox retry" in listing.stdout
    [refused] = [i for i in outbox_items(cli) if i["state"] == "needs_attention"]
    done = cli("outbox", "retry", str(refused["id"]))
    assert done.returncode == 0, done.stderr
    titles = [w["data"]["title"] for w in sim.writes("timeline_item.create")]
    assert titles[-2:] == ["first", "second"]
    assert all(i["state"] == "delivered" for i in outbox_items(cli))


def test_outbox_skip_lets_the_held_notes_go_and_never_sends_the_refused_one(cli, sim):  # noqa: F811
    ref = live_incident(sim)["reference"]
    faults(sim, burst=1, burst_status=401, paths=["/v2/incident_timeline_items"])
    assert cli("note", ref, "refused").returncode == 1
    faults(sim)
    assert cli("note", ref, "after it").returncode == 0  # held behind the refused one
    [refused] = [i for i in outbox_items(cli) if i["state"] == "needs_attention"]
    done = cli("outbox", "skip", str(refused["id"]))
    assert done.returncode == 0, done.stderr
    assert f"Skipped item {refused['id']}" in done.stdout
    assert cli("outbox", "--send").returncode == 0
    titles = [w["data"]["title"] for w in sim.writes("timeline_item.create")]
    assert "after it" in titles and "refused" not in titles


def test_a_full_disk_prints_the_note_back_without_a_traceback(cli, sim):  # noqa: F811
    ref = live_incident(sim)["reference"]
    assert cli("note", ref, "fits").returncode == 0
    size = outbox_file().stat().st_size
    text = "does not fit " + "x" * 20_000
    done = cli("note", ref, text, limit_file_size=size)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "NOT saved" in done.stderr and text in done.stdout
    assert [i["text"] for i in outbox_items(cli)] == ["fits"]


def test_a_damaged_outbox_is_moved_aside_and_every_readable_note_kept(cli, sim):  # noqa: F811
    from oncall_tui.core.outbox import KIND_NOTE, Outbox, note_payload
    from oncall_tui.core.sync import utcnow

    live = live_incident(sim)
    path = outbox_file()
    box = Outbox(path)  # notes kept while incident.io was down, as `note` leaves them
    for n in range(12):
        text = f"note {n} " + "y" * 3000
        box.enqueue(KIND_NOTE, live["id"], note_payload(text, at=utcnow()))
    box.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    pages = path.stat().st_size // 4096
    with path.open("r+b") as f:
        f.seek((pages // 2) * 4096)
        f.write(b"\xde\xad" * 2048)
    done = cli("outbox", "--json")
    assert "Traceback" not in done.stderr
    assert "damaged" in done.stderr and "could still be read" in done.stderr
    kept = json.loads(done.stdout)["items"]
    assert 0 < len(kept) < 12
    assert list(path.parent.glob(f"{path.name}.damaged-*"))
    assert cli("note", live["reference"], "after the repair").returncode == 0
