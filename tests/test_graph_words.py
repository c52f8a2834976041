"""A graph worth reading: the rule's threshold read from the rule, the words around the
chart (span, scale, now against the peak, against the threshold since when, doubt about
the samples), and the chart itself (threshold line, peaks kept, gaps shown as gaps)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oncall_tui.backends import thresholds
from oncall_tui.core.metric import describe
from oncall_tui.domain import Series, Threshold
from oncall_tui.ui.chart import GAP_CHAR, THRESHOLD_CHAR, chart_lines, columns

NOW = datetime(2026, 3, 3, 10, 20, tzinfo=UTC)


def series(values, *, step=60, threshold=None, end=NOW, unit="") -> Series:
    n = len(values)
    points = tuple((end - timedelta(seconds=step * (n - 1 - i)), v) for i, v in enumerate(values))
    return Series(
        "lag",
        points,
        unit=unit,
        start=end - timedelta(seconds=step * (n - 1)),
        end=end,
        threshold=threshold,
    )


# ------------------------------------------------------------------- thresholds


def rule(*data, condition="C"):
    return {"condition": condition, "data": list(data)}


def expr(ref, model):
    return {"refId": ref, "datasourceUid": "__expr__", "model": model}


def test_a_threshold_expression_gives_its_evaluator():
    found = thresholds.from_rule(
        rule(
            {"refId": "A", "datasourceUid": "prom", "model": {"expr": "x"}},
            expr("B", {"type": "reduce", "expression": "A"}),
            expr(
                "C",
                {
                    "type": "threshold",
                    "conditions": [{"evaluator": {"type": "gt", "params": [600]}}],
                },
            ),
        )
    )
    assert found == Threshold(">", 600.0)


def test_classic_conditions_ranges_and_math_expressions():
    classic = {
        "type": "classic_conditions",
        "conditions": [{"evaluator": {"type": "lt", "params": ["0.5"]}}],
    }
    assert thresholds.from_rule(rule(expr("C", classic))) == Threshold("<", 0.5)
    outside = {
        "type": "threshold",
        "conditions": [{"evaluator": {"type": "outside_range", "params": [90, 10]}}],
    }
    assert thresholds.from_rule(rule(expr("C", outside))) == Threshold("outside", 10.0, 90.0)
    assert thresholds.from_rule(
        rule(expr("C", {"type": "math", "expression": "$B >= 3"}))
    ) == Threshold(">=", 3.0)


def test_the_condition_query_wins_and_nonsense_gives_none():
    one = expr("D", {"type": "math", "expression": "$B > 1"})
    two = expr("C", {"type": "math", "expression": "$B > 2"})
    assert thresholds.from_rule(rule(one, two)) == Threshold(">", 2.0)
    bad = {"type": "threshold", "conditions": [{"evaluator": {"type": "gt", "params": ["NaN"]}}]}
    assert thresholds.from_rule(rule(expr("C", bad))) is None
    assert thresholds.from_rule({"data": "not a list"}) is None
    assert thresholds.from_rule(rule(expr("C", {"type": "math", "expression": "$A > $B"}))) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rate(x[5m]) > 0.5", Threshold(">", 0.5)),
        ("x >= bool 3", Threshold(">=", 3.0)),
        ("0.5 < rate(x[5m])", Threshold(">", 0.5)),
        ('sum(x{a="b>c"}) < 10', Threshold("<", 10.0)),
        ("x > y", None),
        ("x > 1 and y > 2", None),
        ("x", None),
        ("x > (1", None),
    ],
)
def test_a_prometheus_expression_gives_its_comparison(text, expected):
    assert thresholds.from_expression(text) == expected


def test_a_generator_url_carries_the_threshold():
    url = "http://prom:9090/graph?g0.expr=lag_seconds+%3E+600&g0.tab=1"
    assert thresholds.from_generator_url(url) == Threshold(">", 600.0)
    assert thresholds.from_generator_url("https://grafana/alerting/grafana/x/view") is None


# ------------------------------------------------------------------------ words


def test_the_words_say_span_range_now_against_peak_and_threshold():
    facts = describe(series([40, 40, 700, 900, 650], threshold=Threshold(">", 600)), NOW)
    assert facts.span == "last 4m"
    assert facts.scale == "range 40–900"
    assert facts.now_vs_peak == "now 650 · peak 900 at 10:19"
    assert facts.against_threshold == "past the threshold (> 600) since 10:18 (2m ago)"
    assert facts.doubt == ""


def test_a_unit_replaces_the_range_and_below_threshold_says_so():
    facts = describe(series([900, 300, 200], threshold=Threshold(">", 600), unit="s"), NOW)
    assert facts.scale == "unit s"
    assert facts.now_vs_peak == "now 200 s · peak 900 s at 10:18"
    assert facts.against_threshold.startswith("within the threshold (> 600 s) since 10:19")


def test_samples_from_the_future_say_the_clocks_differ():
    skewed = series([1, 2, 3], end=NOW + timedelta(minutes=4))
    assert "ahead of this machine's clock" in describe(skewed, NOW).doubt


def test_a_metric_that_stopped_says_so():
    stale = series([1, 2, 3], end=NOW - timedelta(minutes=20))
    assert describe(stale, NOW).doubt.startswith("no sample for 20m")


# ------------------------------------------------------------------------ chart


def test_the_chart_draws_the_threshold_line_and_keeps_the_peak():
    s = series([0, 0, 0, 1000, 0, 0, 0, 0], threshold=Threshold(">", 500))
    lines = [line.plain for line in chart_lines(s, 8, 4)]
    assert len(lines) == 4 and all(len(line) == 8 for line in lines)
    assert any(THRESHOLD_CHAR in line for line in lines)
    # The one high sample still reaches the top row, whatever column it lands in.
    assert "█" in lines[0]
    assert max(v for v in columns(s, 3) if v is not None) == 1000


def test_a_silence_in_the_samples_is_a_gap_not_a_low_value():
    points = (
        (NOW - timedelta(minutes=60), 5.0),
        (NOW - timedelta(minutes=59), 5.0),
        (NOW - timedelta(minutes=1), 5.0),
        (NOW, 5.0),
    )
    s = Series("x", points, start=NOW - timedelta(minutes=60), end=NOW)
    floor = chart_lines(s, 20, 2)[-1].plain
    assert GAP_CHAR in floor and floor[0] != GAP_CHAR and floor[-1] != GAP_CHAR


@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=40),
    st.integers(1, 30),
    st.integers(1, 6),
)
def test_any_values_draw_a_chart_of_the_asked_size(values, width, height):
    s = series(values or [math.nan], threshold=Threshold(">", 1.0))
    lines = chart_lines(s, width, height)
    assert [len(line.plain) for line in lines] == [width] * height


# ------------------------------------------------------------------- the card


def test_the_card_says_when_the_source_alerts_clock_is_ahead():
    from factories import alert

    from oncall_tui.core.linking import SourceView
    from oncall_tui.ui.widgets.triage import card_content

    ahead = alert(2, "LedgerConsumerLag", minutes_ago=-5, now=NOW)  # starts 5m from now
    card = card_content(
        pages=(),
        path=None,
        levels=None,
        notified="",
        source=SourceView(ahead, "matched by deduplication key"),
        source_state="firing",
        zone=None,
        now=NOW,
    ).plain
    assert "⚠ it started 5m from now: grafana:prod's clock is ahead" in card
    on_time = alert(2, "LedgerConsumerLag", minutes_ago=1, now=NOW)
    card = card_content(
        pages=(),
        path=None,
        levels=None,
        notified="",
        source=SourceView(on_time, "matched by deduplication key"),
        source_state="firing",
        zone=None,
        now=NOW,
    ).plain
    assert "clock is ahead" not in card
    assert card.startswith("From    grafana:prod · firing since")
