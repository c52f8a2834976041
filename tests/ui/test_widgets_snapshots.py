"""SVG snapshots of each widget at 80×24 with fixed data and a fixed clock.

Regenerate after a deliberate change with ``pytest tests/ui/test_widgets_snapshots.py
--snapshot-update`` and look at the SVGs (or PNGs made with ``rsvg-convert``) first.
"""

from __future__ import annotations

import pytest
import widget_apps as w

SIZE = (80, 24)


def check(snap_compare, made) -> None:
    app, run_before = made
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_shift_panel_on_call(snap_compare):
    check(snap_compare, w.shift_panel(on_call=True, compact=False))


def test_shift_panel_on_call_compact(snap_compare):
    check(snap_compare, w.shift_panel(on_call=True))


def test_shift_panel_off_call(snap_compare):
    check(snap_compare, w.shift_panel(on_call=False, compact=False))


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param(w.rows_quiet, id="quiet"),
        pytest.param(w.rows_paged, id="paged"),
        pytest.param(w.rows_acked, id="acked"),
        pytest.param(lambda: (), id="empty"),
    ],
)
def test_alert_table(snap_compare, rows):
    check(snap_compare, w.alert_table(rows(), cursor_down=1))


def test_alert_detail_with_sparkline_and_missing_links(snap_compare):
    check(snap_compare, w.alert_detail())


def test_status_bar_stale_and_readonly(snap_compare):
    check(snap_compare, w.status_bar())


def test_timeline(snap_compare):
    check(snap_compare, w.timeline())


def test_panel_table_and_status_together(snap_compare):
    check(snap_compare, w.together())
