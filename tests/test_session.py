"""The one wiring: a session on any subset of the backends, the same actions for all."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from oncall_tui.config import AlertmanagerConfig, GrafanaConfig, Settings
from oncall_tui.core.actions import ActionError
from oncall_tui.core.session import open_app_session, open_session
from oncall_tui.sim.demo import build_demo


def _settings() -> Settings:
    return Settings(
        grafana={"eu": GrafanaConfig(url="https://grafana.example")},
        alertmanager={"k8s": AlertmanagerConfig(url="https://am.example")},
    )


def test_only_alertmanager_builds_no_incident_io_client_and_no_incident_io_feeds():
    session = open_session(_settings(), services=["alertmanager"], tokens={})
    try:
        assert session.backends.incidentio is None
        assert list(session.backends.alertmanagers) == ["alertmanager:k8s"]
        assert [f.name for f in session.engine.feeds] == ["alertmanager:k8s"]
        with pytest.raises(ActionError, match=r"incident\.io is not configured"):
            _ = session.incidents.io
    finally:
        asyncio.run(session.aclose())


def test_a_named_service_and_every_service():
    only = open_session(_settings(), services=["grafana:eu", "incident-io"], tokens={})
    every = open_session(_settings(), tokens={})
    try:
        assert list(only.backends.alertmanagers) == ["grafana:eu"]
        assert only.backends.incidentio is not None
        assert sorted(every.backends.alertmanagers) == ["alertmanager:k8s", "grafana:eu"]
    finally:
        asyncio.run(only.aclose())
        asyncio.run(every.aclose())


def test_every_action_shares_the_session_backends_engine_clock_and_readonly():
    def clock():
        return demo.world.clock()

    demo = build_demo(Settings(), background_alerts=0)
    session = open_session(Settings(), demo=demo, readonly=True, clock=clock)
    try:
        assert session.settings is demo.settings
        for actions in (session.actions, session.incidents, session.overrides):
            assert actions.backends is session.backends
            assert actions.readonly is True
            assert actions.clock is clock
        assert session.actions.engine is session.engine
        assert session.incidents.engine is session.engine
        assert session.engine.clock is clock
    finally:
        asyncio.run(session.aclose())


def test_the_app_session_on_the_demo_has_its_own_outbox_removed_on_close():
    demo = build_demo(Settings(), background_alerts=0)
    session = open_app_session(Settings(), demo=demo)
    assert session.outbox is not None
    assert session.incidents.outbox is session.outbox
    directory = Path(session.outbox.path).parent
    assert directory.is_dir()
    asyncio.run(session.aclose())
    assert not directory.exists()


def test_me_is_looked_up_once_and_shared_by_every_action():
    demo = build_demo(Settings(), background_alerts=0)
    session = open_session(Settings(), demo=demo)
    calls = []
    io = session.backends.io()
    real = io.find_user_by_email

    async def counted(email):
        calls.append(email)
        return await real(email)

    io.find_user_by_email = counted  # type: ignore[method-assign]

    async def run():
        me = await session.incidents.me(strict=True)
        assert me is not None and me.email == demo.settings.user.email
        assert await session.overrides.me() is me
        assert session.actions.me is me
        await session.aclose()

    asyncio.run(run())
    assert calls == [demo.settings.user.email]


def test_the_people_index_is_built_once_per_snapshot_and_leaves_me_out_of_others():
    demo = build_demo(Settings(), background_alerts=0)
    session = open_session(Settings(), demo=demo)

    async def run():
        await session.engine.poll_due()
        await session.aclose()

    asyncio.run(run())
    snap = session.engine.snapshot()
    assert snap.me is not None and snap.people
    assert snap.me in snap.people and snap.me not in snap.others()
    names = [u.name.casefold() for u in snap.people]
    assert names == sorted(names)
    assert len({u.id for u in snap.people}) == len(snap.people)
    # A change that leaves shifts, paths and schedules alone keeps the very same index.
    session.engine.mutate(lambda w: setattr(w, "pending_writes", 3))
    assert session.engine.snapshot().people is snap.people
