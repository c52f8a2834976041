"""Reading many silences: how long `Silences.fetch()` takes against a real Alertmanager on
loopback, and the longest the event loop is stalled meanwhile (what the screen feels).

Starts Debian's ``prometheus-alertmanager`` (or ``ALERTMANAGER_BIN``) in a temporary
directory on a free port, posts ``--silences`` silences through its API, reads them
``--repeat`` times with the product's own session, and stops the process by its pid.

    .venv/bin/python benchmarks/bench_silences.py [--silences 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from oncall_tui.config import AlertmanagerConfig, Settings, UserConfig
from oncall_tui.core.session import open_session

TARGET_STALL_MS = 100  # issue 15: no frame later than 100 ms


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_alertmanager(root: Path) -> tuple[subprocess.Popen, str]:
    binary = os.environ.get("ALERTMANAGER_BIN") or shutil.which("prometheus-alertmanager")
    if not binary:
        raise SystemExit("no Alertmanager binary: apt-get install -y prometheus-alertmanager")
    (root / "am.yml").write_text('route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n')
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={root / 'am.yml'}",
            f"--storage.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.terminate()
    raise SystemExit("the Alertmanager did not start")


def post_silences(url: str, n: int) -> None:
    now = datetime.now(UTC)
    with httpx.Client(base_url=url) as client:
        for i in range(n):
            client.post(
                "/api/v2/silences",
                json={
                    "matchers": [
                        {"name": "alertname", "value": f"Noise{i}", "isRegex": False},
                        {"name": "team", "value": "t.*", "isRegex": True},
                    ],
                    "startsAt": now.isoformat(),
                    "endsAt": (now + timedelta(hours=1, minutes=i)).isoformat(),
                    "createdBy": f"user{i}",
                    "comment": f"bulk {i}",
                },
            ).raise_for_status()


async def measure(url: str, repeat: int) -> list[tuple[int, float, float]]:
    settings = Settings(
        user=UserConfig(email="me@example.com"), alertmanager={"a": AlertmanagerConfig(url=url)}
    )
    out = []
    async with open_session(settings) as session:
        for _ in range(repeat):
            gaps: list[float] = []
            done = asyncio.Event()

            async def tick(done: asyncio.Event = done, gaps: list[float] = gaps) -> None:
                last = time.perf_counter()
                while not done.is_set():
                    await asyncio.sleep(0.005)
                    now = time.perf_counter()
                    gaps.append(now - last)
                    last = now

            ticker = asyncio.create_task(tick())
            start = time.perf_counter()
            found = await session.silences.fetch()
            took = time.perf_counter() - start
            done.set()
            await ticker
            out.append((len(found[0].rows), took * 1000, max(gaps) * 1000))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--silences", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-silences-") as tmp:
        process, url = start_alertmanager(Path(tmp))
        try:
            post_silences(url, args.silences)
            runs = asyncio.run(measure(url, args.repeat))
        finally:
            process.terminate()
            process.wait(timeout=10)
    load = os.getloadavg()[0]
    for n, (rows, took, stall) in enumerate(runs, 1):
        print(f"read {n}: {rows} silences in {took:.0f} ms, longest loop stall {stall:.0f} ms")
    steady = runs[1:] or runs
    worst = max(stall for _, _, stall in steady)
    met = "met" if worst <= TARGET_STALL_MS else "not met"
    print(
        f"after the first read: longest stall {worst:.0f} ms (target ≤ {TARGET_STALL_MS} ms: "
        f"{met}); load average {load:.1f}"
    )


if __name__ == "__main__":
    main()
