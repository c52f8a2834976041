"""Pure views over the domain: who is on call, my shifts, coverage gaps, the alert list.

Nothing here does I/O or reads the clock; ``now`` is always a parameter. Inputs are the
frozen dataclasses of :mod:`oncall_tui.domain`; outputs are small frozen dataclasses the
UI renders as they are.

Shifts are the ``final`` schedule entries (the rota after overrides). A shift whose user
is missing or is :data:`~oncall_tui.domain.NOBODY` covers nothing: it is shown as "no one".

The views live by job in :mod:`oncall_tui.core.shifts` (who is on call, my shifts,
coverage) and :mod:`oncall_tui.core.alerts` (the alert list); this module keeps the old
import path for both.
"""

from __future__ import annotations

from oncall_tui.core.alerts import _LINK_NAMES as _LINK_NAMES
from oncall_tui.core.alerts import _LINK_RANK as _LINK_RANK
from oncall_tui.core.alerts import _SEVERITY_ALIASES as _SEVERITY_ALIASES
from oncall_tui.core.alerts import _STATE_ORDER as _STATE_ORDER
from oncall_tui.core.alerts import CLOSED_STATES as CLOSED_STATES
from oncall_tui.core.alerts import HANDLED_STATES as HANDLED_STATES
from oncall_tui.core.alerts import KIND_ALERT as KIND_ALERT
from oncall_tui.core.alerts import KIND_PAGE as KIND_PAGE
from oncall_tui.core.alerts import LINK_MISSING as LINK_MISSING
from oncall_tui.core.alerts import LINK_OK as LINK_OK
from oncall_tui.core.alerts import LINK_REFUSED as LINK_REFUSED
from oncall_tui.core.alerts import LINK_UNKNOWN as LINK_UNKNOWN
from oncall_tui.core.alerts import ROW_CELLS as ROW_CELLS
from oncall_tui.core.alerts import STATE_ACKED as STATE_ACKED
from oncall_tui.core.alerts import STATE_FIRING as STATE_FIRING
from oncall_tui.core.alerts import STATE_PENDING as STATE_PENDING
from oncall_tui.core.alerts import STATE_RESOLVED as STATE_RESOLVED
from oncall_tui.core.alerts import STATE_SILENCED as STATE_SILENCED
from oncall_tui.core.alerts import STATE_SNOOZED as STATE_SNOOZED
from oncall_tui.core.alerts import STATE_TRIGGERED as STATE_TRIGGERED
from oncall_tui.core.alerts import AlertFilter as AlertFilter
from oncall_tui.core.alerts import AlertIndex as AlertIndex
from oncall_tui.core.alerts import AlertRow as AlertRow
from oncall_tui.core.alerts import RowDiff as RowDiff
from oncall_tui.core.alerts import _alert_state as _alert_state
from oncall_tui.core.alerts import _Entry as _Entry
from oncall_tui.core.alerts import _first as _first
from oncall_tui.core.alerts import _group_key as _group_key
from oncall_tui.core.alerts import _group_row as _group_row
from oncall_tui.core.alerts import _group_state as _group_state
from oncall_tui.core.alerts import _keep as _keep
from oncall_tui.core.alerts import _matches as _matches
from oncall_tui.core.alerts import _one_link_state as _one_link_state
from oncall_tui.core.alerts import _page_row as _page_row
from oncall_tui.core.alerts import _same_facts as _same_facts
from oncall_tui.core.alerts import _severity_cache as _severity_cache
from oncall_tui.core.alerts import _severity_of as _severity_of
from oncall_tui.core.alerts import _title_token as _title_token
from oncall_tui.core.alerts import alert_group_key as alert_group_key
from oncall_tui.core.alerts import alert_link_states as alert_link_states
from oncall_tui.core.alerts import alert_rows as alert_rows
from oncall_tui.core.alerts import diff_rows as diff_rows
from oncall_tui.core.alerts import escalation_next_at as escalation_next_at
from oncall_tui.core.alerts import normalise_severity as normalise_severity
from oncall_tui.core.alerts import page_reaches_me as page_reaches_me
from oncall_tui.core.alerts import page_severity as page_severity
from oncall_tui.core.alerts import page_urgency as page_urgency
from oncall_tui.core.alerts import path_summary as path_summary
from oncall_tui.core.alerts import row_sort_key as row_sort_key
from oncall_tui.core.shifts import Gap as Gap
from oncall_tui.core.shifts import Glance as Glance
from oncall_tui.core.shifts import LayerKey as LayerKey
from oncall_tui.core.shifts import LayerOnCall as LayerOnCall
from oncall_tui.core.shifts import MyShift as MyShift
from oncall_tui.core.shifts import _build_my_shift as _build_my_shift
from oncall_tui.core.shifts import _by_id as _by_id
from oncall_tui.core.shifts import _group_by_layer as _group_by_layer
from oncall_tui.core.shifts import _layer_at as _layer_at
from oncall_tui.core.shifts import _mark_override as _mark_override
from oncall_tui.core.shifts import _my_chains as _my_chains
from oncall_tui.core.shifts import _replace_end as _replace_end
from oncall_tui.core.shifts import _schedule_name as _schedule_name
from oncall_tui.core.shifts import _until_text as _until_text
from oncall_tui.core.shifts import all_coverage_gaps as all_coverage_gaps
from oncall_tui.core.shifts import at_a_glance as at_a_glance
from oncall_tui.core.shifts import chain_end as chain_end
from oncall_tui.core.shifts import chain_start as chain_start
from oncall_tui.core.shifts import coverage_gaps as coverage_gaps
from oncall_tui.core.shifts import covered_intervals as covered_intervals
from oncall_tui.core.shifts import is_on_call as is_on_call
from oncall_tui.core.shifts import is_person as is_person
from oncall_tui.core.shifts import layer_display_name as layer_display_name
from oncall_tui.core.shifts import layer_key as layer_key
from oncall_tui.core.shifts import merge_contiguous as merge_contiguous
from oncall_tui.core.shifts import my_current_shifts as my_current_shifts
from oncall_tui.core.shifts import my_next_shift as my_next_shift
from oncall_tui.core.shifts import my_upcoming_shifts as my_upcoming_shifts
from oncall_tui.core.shifts import next_on_layer as next_on_layer
from oncall_tui.core.shifts import on_call_at as on_call_at
from oncall_tui.core.shifts import same_user as same_user
from oncall_tui.core.shifts import schedule_layers as schedule_layers
from oncall_tui.domain import severity_rank as severity_rank  # the old path, used by callers
