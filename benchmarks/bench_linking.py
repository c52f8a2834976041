"""What linking pages to the alerts behind them costs per refresh (core/linking).

Builds ``--grafana`` Grafana alerts (300 rules, several alerts each) and ``--incident-io``
incident.io alerts that point at them (half by deduplication key, half by source link
only), then times :class:`~oncall_tui.core.linking.SourceLinks` and the whole
:class:`~oncall_tui.core.alert_index.AlertIndex` (with its previous index, as a refresh
builds it): the first build, and a refresh in which 1% of the alerts changed; best of
``--repeat``. Prints the load average: the machine is shared.

    .venv/bin/python benchmarks/bench_linking.py [--grafana 9000] [--incident-io 1000]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from oncall_tui.core.alert_index import AlertIndex
from oncall_tui.core.linking import SourceLinks
from oncall_tui.domain import LINK_RULE, LINK_SOURCE, Alert, Link

NOW = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
GRAFANA = "https://grafana.example.com"


def world(grafana: int, io: int) -> list[Alert]:
    alerts = []
    for i in range(grafana):
        uid = f"rule-{i % 300}"
        alerts.append(
            Alert(
                key=f"grafana:us:{i:016x}",
                id=f"{i:016x}",
                source="grafana",
                instance="us",
                title=f"Rule {i % 300}",
                state="firing",
                severity="warning",
                started_at=NOW - timedelta(minutes=i % 90),
                labels=(("alertname", f"Rule{i % 300}"), ("team", "payments"), ("pod", f"p{i}")),
                links=(Link(LINK_RULE, url=f"{GRAFANA}/alerting/grafana/{uid}/view?orgId=1"),),
                fingerprint=f"{i:016x}",
                dedup_key=f"{i:016x}",
                rule_uid=uid,
            )
        )
    for j in range(io):
        i = (j * 7) % max(1, grafana)
        dedup = f"{i:016x}" if j % 2 == 0 else f"io-{j}"
        url = f"{GRAFANA}/alerting/grafana/rule-{i % 300}/view"
        alerts.append(
            Alert(
                key=f"incident.io::{j}",
                id=f"IO{j}",
                source="incident.io",
                instance="",
                title=f"Rule {i % 300}",
                state="firing",
                severity="warning",
                started_at=NOW - timedelta(minutes=j % 90),
                labels=(("team", "payments"), ("pod", f"p{i}")),
                links=(Link(LINK_SOURCE, url=url),),
                fingerprint=dedup,
                dedup_key=dedup,
            )
        )
    return alerts


def best_ms(run, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grafana", type=int, default=9000)
    parser.add_argument("--incident-io", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    alerts = world(args.grafana, args.incident_io)
    links = SourceLinks(alerts)
    previous = AlertIndex(alerts)
    print(f"{len(alerts)} alerts, {args.incident_io} from incident.io, {len(links)} linked")
    print(f"SourceLinks, first build: {best_ms(lambda: SourceLinks(alerts), args.repeat):.1f} ms")
    # A refresh: 1% of the alerts (of both sources) come back changed, as new objects.
    changed = list(alerts)
    for i in range(0, len(changed), 100):
        changed[i] = replace(changed[i], title=changed[i].title + " (changed)")
    refresh = best_ms(lambda: AlertIndex(changed, previous=previous), args.repeat)
    print(f"AlertIndex refresh, 1% changed (linking included): {refresh:.1f} ms")
    links_ms = best_ms(lambda: SourceLinks(changed, previous=links), args.repeat)
    print(f"SourceLinks refresh, 1% changed: {links_ms:.1f} ms")
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
