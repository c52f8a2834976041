"""The threshold of an alert rule, read from the rule itself.

* A Grafana-managed rule keeps it in an expression query: a ``threshold`` expression
  (``conditions[0].evaluator`` ``{"type": "gt", "params": [600]}``), a ``classic_conditions``
  one (same evaluator), or a ``math`` expression such as ``$B > 600``. The rule's
  ``condition`` names the query that decides; that one is read first.
* A Prometheus rule keeps it in its expression (``lag_seconds > 600``), which its alerts'
  ``generatorURL`` carries (``…/graph?g0.expr=…``).

Anything else (no threshold, a comparison against another series, values that are not
finite numbers) gives ``None``: the chart then draws no line, rather than a wrong one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from oncall_tui.backends.grafana.promql import _MATCHING, _NUMBER, _top_level_tokens
from oncall_tui.domain import Threshold

_EVALUATORS = {
    "gt": ">",
    "lt": "<",
    "gte": ">=",
    "lte": "<=",
    "within_range": "within",
    "outside_range": "outside",
    "within_range_included": "within",
    "outside_range_included": "outside",
}
_FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">="}
_MATH = re.compile(r"^\s*\$\{?\w+\}?\s*(>=|<=|>|<)\s*(\S+)\s*$")

__all__ = ["from_expression", "from_generator_url", "from_rule"]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        try:
            number = float(value.strip().replace("_", ""))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _from_evaluator(evaluator: Any) -> Threshold | None:
    if not isinstance(evaluator, Mapping):
        return None
    op = _EVALUATORS.get(str(evaluator.get("type") or ""))
    params = evaluator.get("params")
    if op is None or not isinstance(params, list) or not params:
        return None
    first = _number(params[0])
    if first is None:
        return None
    if op in ("within", "outside"):
        second = _number(params[1]) if len(params) > 1 else None
        if second is None:
            return None
        low, high = sorted((first, second))
        return Threshold(op, low, high)
    return Threshold(op, first)


def _from_model(model: Mapping[str, Any]) -> Threshold | None:
    kind = model.get("type")
    if kind in ("threshold", "classic_conditions"):
        conditions = model.get("conditions")
        if isinstance(conditions, list) and conditions and isinstance(conditions[0], Mapping):
            return _from_evaluator(conditions[0].get("evaluator"))
        return None
    if kind == "math":
        expression = model.get("expression")
        found = _MATH.match(expression) if isinstance(expression, str) else None
        value = _number(found.group(2)) if found else None
        if found and value is not None:
            return Threshold(found.group(1), value)
    return None


def from_rule(grafana_alert: Mapping[str, Any]) -> Threshold | None:
    """The threshold of a Grafana-managed rule (its ``grafana_alert`` object, or the
    provisioning shape with ``data`` at the top)."""
    data = grafana_alert.get("data")
    if not isinstance(data, list):
        return None
    queries = [q for q in data if isinstance(q, Mapping)]
    condition = grafana_alert.get("condition")
    # The condition's query first, then any other expression that has one.
    queries.sort(key=lambda q: 0 if q.get("refId") == condition else 1)
    for query in queries:
        model = query.get("model")
        if isinstance(model, Mapping):
            found = _from_model(model)
            if found is not None:
                return found
    return None


def from_expression(expr: str | None) -> Threshold | None:
    """The threshold of a PromQL alerting expression: ``x > 600``, ``x >= bool 3``,
    ``0.5 < x``. None when the top-level comparison is not against a plain number."""
    if not expr or len(expr) > 20000:
        return None
    text = expr.strip()
    scanned = _top_level_tokens(text)
    if scanned is None:
        return None
    comparisons, set_ops = scanned
    if len(comparisons) != 1 or set_ops:
        return None
    position, op = comparisons[0]
    if op not in _FLIP:
        return None
    left = text[:position].strip()
    right = text[position + len(op) :]
    modifier = _MATCHING.match(right)
    rest = right[modifier.end() :].strip() if modifier else right.strip()
    value = _number(rest)
    if value is not None:
        return Threshold(op, value)
    value = _number(left)
    if value is not None:  # "0.5 < x": x > 0.5
        return Threshold(_FLIP[op], value)
    return None


def from_generator_url(url: str | None) -> Threshold | None:
    """The threshold in a Prometheus ``generatorURL`` (``…/graph?g0.expr=x+>+600``)."""
    if not url or not isinstance(url, str):
        return None
    try:
        values = parse_qs(urlsplit(url).query).get("g0.expr")
    except ValueError:
        return None
    return from_expression(values[0]) if values else None
