"""The PromQL expression behind an alert, from its ``generatorURL``, with the alerting
threshold stripped so the graph shows the metric itself.

Plain text work with no client behind it: the alert list links alerts with it
(:mod:`oncall_tui.core.linking`) when the first frame is drawn, before the backends and
httpx are loaded. ``oncall_tui.backends.grafana.promql`` keeps the old names."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

# ------------------------------------------------------- PromQL from generatorURL

_COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
_SET_OPS = ("and", "or", "unless")
_NUMBER = re.compile(
    r"""[+-]?(?:
        (?:\d+(?:_\d+)*)?\.?\d+(?:_\d+)*(?:[eE][+-]?\d+)?
      | 0[xX][0-9a-fA-F]+
      | [iI][nN][fF]
      | [nN][aA][nN]
    )""",
    re.VERBOSE,
)
_MATCHING = re.compile(
    r"""\s*(?:bool\s*)?
        (?:(?:on|ignoring)\s*\([^()]*\)\s*
           (?:(?:group_left|group_right)\s*(?:\([^()]*\))?\s*)?)?""",
    re.VERBOSE | re.IGNORECASE,
)


def _top_level_tokens(expr: str) -> tuple[list[tuple[int, str]], list[int]] | None:
    """Positions of top-level comparison operators and set operators in ``expr``.

    Skips string literals, comments and anything inside (), {} or []. Returns ``None``
    for an expression whose brackets or quotes do not balance.
    """
    comparisons: list[tuple[int, str]] = []
    set_ops: list[int] = []
    depth = 0
    i = 0
    n = len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == "\\" and c != "`" else 1
            if j >= n:
                return None
            i = j + 1
            continue
        if c == "#":
            while i < n and expr[i] != "\n":
                i += 1
            continue
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0:
            two = expr[i : i + 2]
            if two in ("==", "!=", ">=", "<="):
                comparisons.append((i, two))
                i += 2
                continue
            if c in "<>":
                comparisons.append((i, c))
            elif c.isalpha() or c == "_":
                j = i
                while j < n and (expr[j].isalnum() or expr[j] in "_:"):
                    j += 1
                word = expr[i:j]
                if word.lower() in _SET_OPS:
                    set_ops.append(i)
                i = j
                continue
        i += 1
    if depth != 0:
        return None
    return comparisons, set_ops


def strip_threshold(expr: str) -> str:
    """Drop the final top-level comparison from an alerting expression.

    ``rate(x[5m]) > 0.5`` → ``rate(x[5m])``; also ``>= bool 3``, ``< on() group_left
    threshold``, ``x > 1 * 2`` (the left side is what the rule watches, because
    comparisons bind looser than arithmetic) and the reversed form ``0.5 < x``.

    Left unchanged (the sparkline then shows gaps where the condition was false):
    expressions with a top-level ``and``/``or``/``unless`` (which side to draw is a
    guess), expressions without a top-level comparison, and anything whose brackets or
    quotes do not balance.
    """
    text = expr.strip()
    scanned = _top_level_tokens(text)
    if scanned is None:
        return text
    comparisons, set_ops = scanned
    if not comparisons or set_ops:
        return text
    position, op = comparisons[-1]
    left = text[:position].strip()
    if len(comparisons) == 1:
        right = text[position + len(op) :]
        modifier = _MATCHING.match(right)
        rest = right[modifier.end() :].strip() if modifier else right.strip()
        if _NUMBER.fullmatch(left) and not _NUMBER.fullmatch(rest) and rest:
            # "0.5 < rate(x)": the watched side is on the right
            return rest
    return left or text


def expression_from_generator_url(url: str | None) -> str | None:
    """The PromQL behind a Prometheus ``generatorURL``, without its threshold.

    Reads ``g0.expr`` from ``…/graph?g0.expr=…`` (and the new UI's ``/query?g0.expr``).
    Returns ``None`` for a Grafana rule URL or anything without an expression.
    """
    if not url or not isinstance(url, str):
        return None
    try:
        query = urlsplit(url).query
    except ValueError:
        return None
    values = parse_qs(query).get("g0.expr")
    if not values or not values[0].strip():
        return None
    expr = values[0]
    if len(expr) > 20000:
        return None
    return strip_threshold(expr)
