"""The app's polling workers: a poll replaced before it starts leaves nothing behind."""

from __future__ import annotations

import gc
import warnings

from factories import until

from oncall_tui.config import Settings
from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.launch import make_session


async def test_a_poll_replaced_before_it_runs_is_never_a_dropped_coroutine():
    session = make_session(Settings(), demo=True, readonly=False)
    app = OnCallApp(session.settings, demo=True, session=session)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.screen.__class__.__name__ == "DashboardScreen")
        engine = app.session.engine
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):  # each call replaces the last one's workers (exclusive)
                engine.poll_soon()
                app.poll_due()
            await pilot.pause(0.3)
            gc.collect()
        dropped = [w for w in caught if "was never awaited" in str(w.message)]
        assert not dropped, [str(w.message) for w in dropped]
