"""The demo world: the simulated incident.io and two Grafana instances, in process.

``oncall-tui --demo`` runs the real clients against these Starlette apps through
``httpx.ASGITransport``: the same code path as production, with no network and no
credentials. A plain Alertmanager with Prometheus (served by the US Grafana world's app)
shows the "team without Grafana alerting" case.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from oncall_tui.config import (
    AlertmanagerConfig,
    GrafanaConfig,
    IncidentIoConfig,
    LinkConfig,
    PollConfig,
    Settings,
    UiConfig,
    UserConfig,
)
from oncall_tui.sim.grafana import Faults as GrafanaFaults
from oncall_tui.sim.grafana import GrafanaWorld, default_rules
from oncall_tui.sim.grafana import create_app as create_grafana_app
from oncall_tui.sim.incidentio import create_app as create_incidentio_app
from oncall_tui.sim.scenario import build_world, grafana_rules
from oncall_tui.sim.silences import seed_demo_silences
from oncall_tui.sim.world import DEFAULT_ME_EMAIL, IncidentIoWorld

DEMO_TOKEN = "demo-token"
GRAFANA_US = "https://grafana-us.demo.example.com"
GRAFANA_EU = "https://grafana-eu.demo.example.com"
ALERTMANAGER = "https://alertmanager.demo.example.com"
PROMETHEUS = "https://prometheus.demo.example.com"
INCIDENT_IO = "https://api.incident-io.demo.example.com"
# The handbook's quick links, for a demo with none configured.
DEMO_LINKS = (
    LinkConfig(name="Admin US", url="https://admin-us.demo.example.com", region="us"),
    LinkConfig(name="Grafana US", url=GRAFANA_US, region="us"),
    LinkConfig(name="Admin EU", url="https://admin-eu.demo.example.com", region="eu"),
    LinkConfig(name="Grafana EU", url=GRAFANA_EU, region="eu"),
    LinkConfig(name="ArgoCD", url="https://argocd.demo.example.com"),
    LinkConfig(name="Metabase", url="https://metabase.demo.example.com"),
)


@dataclass
class Demo:
    settings: Settings
    world: IncidentIoWorld
    grafana: dict[str, GrafanaWorld]
    transports: dict[str, httpx.AsyncBaseTransport]
    tokens: dict[str, str] = field(default_factory=dict)
    # Which run of the demo world this is: each start builds a new world, so what was
    # kept for an earlier one (the watch list) does not apply to it.
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)


def demo_ui(ui: UiConfig) -> UiConfig:
    """The user's UI settings, with the demo's quick links when none are configured."""
    if ui.links:
        return ui
    return ui.model_copy(update={"links": list(DEMO_LINKS)})


def build_demo(
    base: Settings | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    seed: int = 7,
    speed: float = 1.0,
    background_alerts: int = 500,
    scenario: bool = True,
) -> Demo:
    """A demo world and settings pointing the clients at it.

    ``base`` keeps the user's UI preferences (theme, keymap, zone); the data sources are
    replaced by the simulated ones.
    """
    world = build_world(
        clock,
        seed=seed,
        speed=speed,
        grafana_url=GRAFANA_US,
        background_alerts=background_alerts,
        scenario=scenario,
    )
    # The story's pages come from Grafana-managed rules on the US Grafana.
    story = grafana_rules(world.runbook_url) if scenario else []
    us = GrafanaWorld(
        clock,
        seed=seed,
        instance="us",
        grafana_url=GRAFANA_US,
        prometheus_url=PROMETHEUS,
        rules=[*default_rules(), *story],
    )
    eu = GrafanaWorld(
        clock, seed=seed + 1, instance="eu", grafana_url=GRAFANA_EU, prometheus_url=PROMETHEUS
    )
    seed_demo_silences(us.grafana_am, us.plain_am)
    # Every app gets its fault switches (all off), reachable as ``app.state.faults``, so
    # tests and drills can make one source fail while the dashboard runs.
    io_app = create_incidentio_app(world, token=DEMO_TOKEN)
    us_app = create_grafana_app(us, token=DEMO_TOKEN, faults=GrafanaFaults())
    eu_app = create_grafana_app(eu, token=DEMO_TOKEN, faults=GrafanaFaults())
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "incident-io": httpx.ASGITransport(app=io_app),
        "grafana:us": httpx.ASGITransport(app=us_app),
        "grafana:eu": httpx.ASGITransport(app=eu_app),
        "alertmanager:k8s": httpx.ASGITransport(app=us_app),
        "prometheus:k8s": httpx.ASGITransport(app=us_app),
    }
    base = base or Settings.model_construct()
    user = UserConfig(email=DEFAULT_ME_EMAIL, timezone=base.user.timezone if base.user else None)
    settings = Settings(
        user=user,
        # The default poll intervals (each poll redraws the dashboard, and idle must cost
        # nothing), but pages every 5 s, as when paged, so the story's page shows at once.
        incident_io=IncidentIoConfig(
            base_url=INCIDENT_IO, act_as_user=True, poll=PollConfig(pages=5, pages_when_paged=5)
        ),
        grafana={
            "us": GrafanaConfig(url=GRAFANA_US),
            "eu": GrafanaConfig(url=GRAFANA_EU),
        },
        alertmanager={"k8s": AlertmanagerConfig(url=ALERTMANAGER, prometheus_url=PROMETHEUS)},
        ui=demo_ui(base.ui),
        actions=base.actions,
        notifications=base.notifications,
    )
    tokens = {
        service: DEMO_TOKEN
        for service in ("incident-io", "grafana:us", "grafana:eu", "alertmanager:k8s")
    }
    return Demo(settings, world, {"us": us, "eu": eu}, transports, tokens)
