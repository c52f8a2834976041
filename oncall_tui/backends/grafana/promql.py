"""The PromQL helpers now live in :mod:`oncall_tui.promql` (drawn rows need them before
the clients load); every old name stays importable here."""

from oncall_tui.promql import (
    _COMPARISONS as _COMPARISONS,
)
from oncall_tui.promql import (
    _MATCHING as _MATCHING,
)
from oncall_tui.promql import (
    _NUMBER as _NUMBER,
)
from oncall_tui.promql import (
    _SET_OPS as _SET_OPS,
)
from oncall_tui.promql import (
    _top_level_tokens as _top_level_tokens,
)
from oncall_tui.promql import (
    expression_from_generator_url as expression_from_generator_url,
)
from oncall_tui.promql import (
    strip_threshold as strip_threshold,
)
