"""``doctor`` checks: against the demo world (everything answers), with a wrong key, a
missing secret, a missing "me", a key without roles, and quick links that answer,
redirect, refuse HEAD, are missing, fail or hang (httpx.MockTransport, no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from oncall_tui.config import LinkConfig, Settings, UiConfig, UserConfig
from oncall_tui.core import doctor
from oncall_tui.core.doctor import FAIL, PASS, WARN
from oncall_tui.core.sources import build_backends
from oncall_tui.secrets import Found
from oncall_tui.sim.demo import build_demo

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def demo_backends(*, tokens=None, email: str | None = None):
    demo = build_demo(
        Settings(user=UserConfig(timezone="Europe/London")),
        clock=lambda: NOW,
        background_alerts=0,
    )
    settings = demo.settings
    if email is not None:
        settings = settings.model_copy(update={"user": UserConfig(email=email)})
    backends = build_backends(settings, transports=demo.transports, tokens=tokens or demo.tokens)
    return demo, backends


def by_name(report: doctor.Report) -> dict[str, doctor.Check]:
    return {c.name: c for c in report.checks}


async def run(backends, **kw) -> doctor.Report:
    return await doctor.run_doctor(
        backends,
        now=NOW,
        config=doctor.config_check("demo", exists=False, error=None, demo=True),
        secrets={"incident-io": None},
        keyring_backend="keyring.backends.SecretService.Keyring",
        demo=kw.pop("demo", True),
        **kw,
    )


async def test_demo_world_passes():
    _, backends = demo_backends()
    report = await run(backends)
    checks = by_name(report)
    assert report.ok and report.exit_code == 0, [c for c in report.checks if c.failed]
    assert checks["incident.io key"].status == PASS
    assert "schedule_overrides_editor" in checks["incident.io key"].detail
    assert checks["me"].detail.startswith("me@example.com is Robin Ahn")
    for action in ("ack", "escalate", "override"):
        assert checks[f"can {action}"].status == PASS
    assert checks["my next shift"].status == PASS
    assert "on call now: On call: Payments" in checks["my next shift"].detail
    for key in ("grafana:us", "grafana:eu", "alertmanager:k8s"):
        assert checks[key].status == PASS and "answers" in checks[key].detail
    assert checks["keyring"].status == PASS
    # The demo's links are made up: said once, as not checked (a warning, never a pass).
    assert checks["quick links"].status == WARN
    assert "6 configured, not checked" in checks["quick links"].detail
    assert [c.name for c in report.warnings] == ["quick links"]
    assert report.summary().endswith("1 warning. Nothing blocks you.")
    await backends.aclose()


async def test_wrong_key_fails_with_a_fix():
    _, backends = demo_backends(
        tokens={
            "incident-io": "wrong",
            "grafana:us": "demo-token",
            "grafana:eu": "wrong",
            "alertmanager:k8s": "demo-token",
        }
    )
    report = await run(backends)
    checks = by_name(report)
    assert checks["incident.io key"].status == FAIL
    assert "oncall-tui auth set incident-io" in checks["incident.io key"].fix
    assert checks["grafana:eu"].status == FAIL
    assert "oncall-tui auth set grafana:eu" in checks["grafana:eu"].fix
    assert checks["grafana:us"].status == PASS
    assert report.exit_code == 1
    assert "me" not in checks  # nothing more can be asked with a key that does not work
    await backends.aclose()


async def test_unknown_me_fails_and_skips_my_shift():
    _, backends = demo_backends(email="ghost@example.com")
    report = await run(backends)
    checks = by_name(report)
    assert checks["me"].status == FAIL
    assert "no incident.io user has the email ghost@example.com" in checks["me"].detail
    assert "my next shift" not in checks
    assert not report.ok
    await backends.aclose()


def test_missing_secret_and_no_keyring():
    missing = doctor.secrets_check(
        "grafana:eu", Found("grafana:eu", None, "", "no keyring"), demo=False
    )
    assert missing.status == FAIL
    assert "ONCALL_TUI_GRAFANA__EU__TOKEN" in missing.fix
    found = doctor.secrets_check(
        "incident-io", Found("incident-io", "s3cr3t-value", "keyring"), demo=False
    )
    assert found.status == PASS and found.detail == "found in the keyring"
    assert "s3cr3t" not in repr(found) and "s3cr3t" not in found.detail
    none = doctor.keyring_check("no OS keyring backend on this machine (a headless server?)", {})
    assert none.status == WARN and "environment" in none.fix
    used = doctor.keyring_check(
        "keyring.backends.SecretService.Keyring", {"incident-io": "keyring"}
    )
    assert used.status == PASS and "incident-io from keyring" in used.detail


def test_config_checks():
    bad = doctor.config_check("/x/config.toml", exists=True, error="/x/config.toml: ui.theme: bad")
    assert bad.status == FAIL and "ui.theme" in bad.detail
    assert doctor.config_check("/x/config.toml", exists=False, error=None).status == WARN
    assert doctor.config_check("/x/config.toml", exists=True, error=None).status == PASS
    report = doctor.Report((bad,))
    assert report.exit_code == 1 and "1 failed" in report.summary()


async def test_roles_missing_make_actions_fail_or_warn():
    _, backends = demo_backends()
    io = backends.incidentio
    real = io.identity

    async def narrow():
        from dataclasses import replace

        ident = await real()
        return replace(ident, roles=("viewer", "schedules_reader", "on_call_viewer"))

    io.identity = narrow  # a key that can read but not act
    report = await run(backends)
    checks = by_name(report)
    assert checks["can override"].status == FAIL
    assert "schedule_overrides_editor" in checks["can override"].detail
    assert checks["can escalate"].status == FAIL
    assert checks["can declare"].status == WARN  # not needed to go on call
    assert not report.ok
    await backends.aclose()


def handler(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/ok":
        return httpx.Response(200)
    if path == "/moved":
        return httpx.Response(302, headers={"Location": "https://links.test/ok"})
    if path == "/no-head":
        return httpx.Response(405) if request.method == "HEAD" else httpx.Response(200)
    if path == "/login":
        return httpx.Response(401)
    if path == "/gone":
        return httpx.Response(404)
    if path == "/broken":
        return httpx.Response(503)
    if path == "/slow":
        raise httpx.ReadTimeout("timed out", request=request)
    raise httpx.ConnectError("refused", request=request)


async def test_links_are_probed_in_parallel_with_head_then_get():
    names = ["ok", "moved", "no-head", "login", "gone", "broken", "slow", "down"]
    links = [LinkConfig(name=n, url=f"https://links.test/{n}") for n in names]
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return handler(request)

    checks = await doctor.link_checks(links, transport=httpx.MockTransport(record), timeout=1)
    got = {c.name: c for c in checks}
    assert got["link ok"].status == PASS and "(200)" in got["link ok"].detail
    assert got["link moved"].status == PASS
    assert got["link no-head"].status == PASS and "GET /no-head" in seen
    assert got["link login"].status == PASS and "sign in" in got["link login"].detail
    assert got["link gone"].status == WARN
    assert got["link broken"].status == FAIL and "503" in got["link broken"].detail
    assert got["link slow"].status == FAIL and "no answer within 1s" in got["link slow"].detail
    assert got["link down"].status == FAIL and "unreachable" in got["link down"].detail
    assert all(s.startswith("HEAD") for s in seen if "no-head" not in s)


async def test_links_not_probed_in_the_demo():
    links = [LinkConfig(name="Status", url="https://status.example.com")]
    checks = await doctor.link_checks(links, probe=False)
    assert [(c.name, c.status) for c in checks] == [("quick links", WARN)]
    assert "1 configured, not checked" in checks[0].detail


async def test_report_with_links_in_settings():
    demo, _ = demo_backends()
    ui = UiConfig(links=[LinkConfig(name="Runbooks", url="https://links.test/ok")])
    settings = demo.settings.model_copy(update={"ui": ui})
    backends = build_backends(settings, transports=demo.transports, tokens=demo.tokens)
    report = await run(backends, demo=False, link_transport=httpx.MockTransport(handler))
    assert by_name(report)["link Runbooks"].status == PASS
    await backends.aclose()


# ------------------------------------------------------------ the app will wake me


def _wake(report: doctor.Report) -> doctor.Check:
    return by_name(report)["wakes me"]


async def test_wakes_me_when_a_usable_method_has_high_urgency_rules():
    _, backends = demo_backends()
    check = _wake(await run(backends))
    assert check.status == PASS
    assert check.detail == "high-urgency pages reach you: app push at once, phone call after 5m"
    await backends.aclose()


async def test_no_usable_method_fails_with_the_fix():
    demo, backends = demo_backends()
    world = demo.world
    me = world.me.id
    methods, rules = world.notification_setup(me)
    for method in methods:
        method.is_usable = False
    world.notification_setups[me] = (methods, rules)
    report = await run(backends)
    check = _wake(report)
    assert check.status == FAIL and not report.ok
    assert check.detail.startswith("no usable notification method (app push ")
    assert "a page cannot wake you" in check.detail
    assert "incident.io app" in check.fix and "On-call notifications" in check.fix
    world.notification_setups[me] = ([], rules)
    check = _wake(await run(backends))
    assert check.status == FAIL and "(none set up)" in check.detail
    await backends.aclose()


async def test_rules_that_reach_no_usable_method_fail():
    from oncall_tui.sim.world import SimNotificationRule

    demo, backends = demo_backends()
    world = demo.world
    me = world.me.id
    methods, _ = world.notification_setup(me)
    phone = next(m for m in methods if m.method_type == "phone")
    phone.is_usable = False
    world.notification_setups[me] = (
        methods,
        [
            SimNotificationRule("r1", "phone", "high_urgency", 0, phone.id, "voice"),
            SimNotificationRule("r2", "app", "low_urgency", 0),
        ],
    )
    check = _wake(await run(backends))
    assert check.status == FAIL
    assert check.detail.startswith("no high-urgency rule reaches a usable method (usable: ")
    assert f"not usable: phone {phone.address}" in check.detail
    assert "high-urgency rule" in check.fix
    await backends.aclose()


async def test_a_long_first_delay_warns():
    from oncall_tui.sim.world import SimNotificationRule

    demo, backends = demo_backends()
    world = demo.world
    me = world.me.id
    methods, _ = world.notification_setup(me)
    world.notification_setups[me] = (
        methods,
        [SimNotificationRule("r1", "app", "high_urgency", 600, criticality="critical")],
    )
    check = _wake(await run(backends))
    assert check.status == WARN
    assert check.detail == (
        "high-urgency pages reach you: app push after 10m; nothing for the first 10m"
    )
    assert "no delay" in check.fix
    await backends.aclose()


async def test_unreadable_notification_settings_warn_with_a_fix():
    demo, backends = demo_backends()
    faults = demo.transports["incident-io"].app.state.faults
    rules = f"/v2/users/{demo.world.me.id}/notification_rules"
    faults.update(burst=10, burst_status=403, paths=[rules])
    check = _wake(await run(backends))
    assert check.status == WARN and "cannot read your notification settings" in check.detail
    assert "On-call notifications" in check.fix
    await backends.aclose()


async def test_links_that_hang_are_named_with_the_network_they_need():
    import asyncio

    async def hang(request: httpx.Request) -> httpx.Response:
        if request.url.host == "status.example.com":
            return httpx.Response(200)
        await asyncio.sleep(3600)  # never answers: the doctor's deadline ends it
        raise AssertionError("unreachable")

    links = [
        LinkConfig(name="Grafana", url="https://grafana.tail1234.ts.net/d/x"),
        LinkConfig(name="Admin", url="https://admin.corp/"),
        LinkConfig(name="Metabase", url="https://10.1.2.3/"),
        LinkConfig(name="ArgoCD", url="https://argocd.example.com/"),
        LinkConfig(name="Status", url="https://status.example.com/"),
    ]
    checks = await doctor.link_checks(links, transport=httpx.MockTransport(hang), timeout=0.2)
    got = {c.name: c for c in checks}
    assert got["link Status"].status == PASS
    assert got["link Grafana"].status == FAIL
    assert got["link Grafana"].detail.endswith(
        "no answer within 0.2s; it needs the tailnet (Tailscale)"
    )
    assert got["link Admin"].detail.endswith("it needs your VPN (an internal address)")
    assert got["link Metabase"].detail.endswith("it needs your VPN (an internal address)")
    assert got["link ArgoCD"].detail.endswith("it probably needs your VPN or tailnet")
    assert all("VPN or tailnet" in got[f"link {n}"].fix for n in ("Grafana", "Admin"))
    summary = got["links behind a VPN"]
    assert summary.status == WARN and summary.detail.startswith("4 of 5 timed out: ")
    assert "Grafana needs the tailnet (Tailscale)" in summary.detail


async def test_no_token_goes_to_a_link_host():
    demo, _ = demo_backends()
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    ui = UiConfig(
        links=[
            LinkConfig(name="Grafana US", url="https://grafana-us.demo.example.com/d/x"),
            LinkConfig(name="Admin", url="https://admin.links.test/"),
        ]
    )
    settings = demo.settings.model_copy(update={"ui": ui})
    backends = build_backends(settings, transports=demo.transports, tokens=demo.tokens)
    report = await run(backends, demo=False, link_transport=httpx.MockTransport(record))
    assert by_name(report)["link Grafana US"].status == PASS
    assert sorted(r.url.host for r in seen) == ["admin.links.test", "grafana-us.demo.example.com"]
    assert all(r.method == "HEAD" for r in seen)
    for request in seen:
        assert "authorization" not in request.headers
        assert demo.tokens["grafana:us"] not in str(request.headers)
    await backends.aclose()


async def test_plain_http_links_are_not_probed():
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    links = [LinkConfig(name="Old wiki", url="http://wiki.example.com/")]
    checks = await doctor.link_checks(links, transport=httpx.MockTransport(record), timeout=1)
    assert checks[0].status == WARN and "not checked (plain http" in checks[0].detail
    assert seen == []
