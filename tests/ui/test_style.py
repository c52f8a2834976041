"""One place for display rules: severity and state styles name the theme's colours, and
one age format serves every cell."""

from __future__ import annotations

from oncall_tui.ui.app import SEMANTIC_DEFAULTS
from oncall_tui.ui.style import compact_duration, resolve, severity_style, state_style


def test_severity_and_state_styles_name_the_theme_colours_whatever_the_case():
    assert severity_style("Critical") == severity_style("critical") == "bold $critical"
    assert severity_style("warning") == "$minor"
    assert severity_style("sev-unknown", "bold") == "bold"
    assert state_style("triggered") == "bold $critical"
    assert state_style("silenced") == state_style("snoozed") == "$snoozed"


def test_resolve_turns_theme_variables_into_the_themes_colours():
    colours = dict(SEMANTIC_DEFAULTS)
    assert resolve("bold $critical", colours) == f"bold {colours['critical']}"
    assert resolve("$nothing", colours) == ""


def test_one_age_format_for_the_incident_list_and_the_alert_table():
    assert compact_duration(47 * 3600) == "1d23h"
    assert compact_duration(5 * 3600 + 7 * 60) == "5h07m"
