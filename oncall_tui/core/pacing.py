"""How often to poll, and when what we know has gone stale.

Each feed has its own interval (faster while I am paged). The engine stretches it by
every :class:`Stretch` that applies now, each with its reason in words: a shared rate
limit running low is one; other rules (the number of firing alerts, say) are added with
:meth:`~oncall_tui.core.sync.SyncEngine.add_stretch`. Factors multiply, and the result
is capped, so a feed is never left unpolled for long whatever the reasons.

incident.io's rate limit is a token bucket shared by every API key of the organisation,
refilled continuously. Every engineer running the dashboard draws on it, so when the
remaining share falls below half, polls slow down in proportion, before a 429 can
happen: at 12% left a 15 s poll becomes about 60 s.

A feed with no answer for two of its (stretched) poll intervals is stale.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from oncall_tui.backends.http import RateLimit

MAX_INTERVAL = 300.0  # no stretch leaves a feed unpolled longer than five minutes
LOW_BUDGET = 0.5  # below this share of the shared limit left, polls slow down
MAX_BUDGET_STRETCH = 8.0  # …by at most this factor (at 6% left or less)
MIN_STALE_AFTER = 20.0  # a fast feed is not stale before this many seconds


@dataclass(frozen=True, slots=True)
class Stretch:
    """One reason to poll a feed less often: ``factor`` ≥ 1, ``reason`` in words
    ("12% of the shared rate limit left")."""

    factor: float
    reason: str


@dataclass(frozen=True, slots=True)
class Pace:
    """A feed's interval as configured, as polled, and the reasons between the two."""

    base: float
    interval: float
    reasons: tuple[str, ...] = ()

    @property
    def stretched(self) -> bool:
        return self.interval > self.base


def budget_stretch(rate: RateLimit | None) -> Stretch | None:
    """The stretch for a shared rate limit with ``rate`` left (None when it is fine or
    unknown: missing or unreadable headers never slow polls down)."""
    left = rate.fraction_left if rate is not None else None
    if left is None or left >= LOW_BUDGET:
        return None
    factor = min(MAX_BUDGET_STRETCH, LOW_BUDGET / max(left, 1e-9))
    return Stretch(factor, f"{math.floor(left * 100)}% of the shared rate limit left")


def paced(base: float, stretches: Iterable[Stretch | None]) -> Pace:
    """``base`` stretched by every reason, at most to :data:`MAX_INTERVAL` (a feed
    whose own interval is longer keeps it)."""
    factor = 1.0
    reasons: list[str] = []
    for stretch in stretches:
        if stretch is None or not math.isfinite(stretch.factor) or stretch.factor <= 1.0:
            continue
        factor *= stretch.factor
        reasons.append(stretch.reason)
    interval = base if factor == 1.0 else math.ceil(base * factor)  # whole seconds, as shown
    interval = min(max(base, MAX_INTERVAL), interval)
    return Pace(base=base, interval=interval, reasons=tuple(reasons))


def stale_after(interval: float) -> float:
    """Seconds without an answer after which a feed polled every ``interval`` is stale:
    two poll intervals."""
    return max(MIN_STALE_AFTER, 2.0 * interval)


def pace_words(source: str, pace: Pace) -> str | None:
    """ "incident.io: 12% of the shared rate limit left; polling every 60 s", or None
    when the feed is polled as configured."""
    if not pace.stretched or not pace.reasons:
        return None
    return f"{source}: {'; '.join(pace.reasons)}; polling every {_seconds(pace.interval)}"


def rate_words(per_minute: float, rate: RateLimit | None) -> str:
    """What this dashboard draws on the shared budget, for the status detail:
    "4.2 requests/min, 0.4% of the organisation's 1200/min; 88% of it left"."""
    text = f"{per_minute:.1f} requests/min from this dashboard"
    budget = rate.per_minute if rate is not None else None
    if budget:
        share = 100.0 * per_minute / budget
        text += f", {share:.1f}% of the organisation's {budget:g}/min"
    left = rate.fraction_left if rate is not None else None
    if left is not None:
        text += f"; {math.floor(left * 100)}% of the shared limit left"
    elif rate is None:
        text += "; the server sends no rate-limit headers"
    if rate is not None and rate.problem:
        text += f" (unreadable: {rate.problem}; not pacing by it)"
    return text


def _seconds(value: float) -> str:
    value = round(value)
    if value < 120:
        return f"{value} s"
    minutes, rest = divmod(value, 60)
    return f"{minutes} min" if not rest else f"{minutes} min {rest} s"
