"""Grafana, Alertmanager and Prometheus: firing alerts, acks by silence, sparklines.

Three small clients on top of :class:`~oncall_tui.backends.http.ApiClient`:

* :class:`AlertmanagerClient` speaks Alertmanager API v2 under a configurable base
  path, so one class serves Grafana's embedded Alertmanager
  (``{grafana}/api/alertmanager/grafana/api/v2``, or a datasource uid in place of
  ``grafana``) and a plain Alertmanager (``{am}/api/v2``). An ack is a silence with
  equality matchers on the alert's own labels; an unack expires it.
* :class:`GrafanaClient` reads a Grafana-managed rule's query and runs it over a time
  range through ``/api/ds/query``.
* :class:`PrometheusClient` runs ``/api/v1/query_range``.

And pure helpers: :func:`alert_links` (runbook, dashboard, panel, rule and silence
links; missing ones are left out so ``Alert.link(kind)`` reports them missing, unsafe
ones are kept with the reason), :func:`expression_from_generator_url`, and
:func:`sparkline_for`, which picks whichever client can draw an alert's metric.

Both Alertmanager flavours are tolerated field by field: Grafana's answers look like
Alertmanager 0.25 (no ``mutedBy``, no silence ``annotations``, 202 on a new silence,
``{"message": "silence deleted"}`` on delete), newer upstream ones carry more.

The package splits by job: :mod:`.common` (kinds, limits, severities, time and label
parsing, errors), :mod:`.links`, :mod:`.promql`, :mod:`.alertmanager`, :mod:`.query` (rule
and range queries) and :mod:`.sparkline`. Every name stays importable from here.
"""

from oncall_tui.backends.grafana.alertmanager import AlertmanagerClient as AlertmanagerClient
from oncall_tui.backends.grafana.alertmanager import _alert_order as _alert_order
from oncall_tui.backends.grafana.alertmanager import _flag as _flag
from oncall_tui.backends.grafana.alertmanager import _list as _list
from oncall_tui.backends.grafana.alertmanager import _mapping as _mapping
from oncall_tui.backends.grafana.alertmanager import _path_id as _path_id
from oncall_tui.backends.grafana.alertmanager import parse_silence as parse_silence
from oncall_tui.backends.grafana.alertmanager import parse_silences as parse_silences
from oncall_tui.backends.grafana.common import _SEVERITY_ALIASES as _SEVERITY_ALIASES
from oncall_tui.backends.grafana.common import EXPRESSION_DATASOURCES as EXPRESSION_DATASOURCES
from oncall_tui.backends.grafana.common import GRAFANA_AM_BASE as GRAFANA_AM_BASE
from oncall_tui.backends.grafana.common import KIND_ALERTMANAGER as KIND_ALERTMANAGER
from oncall_tui.backends.grafana.common import KIND_GRAFANA as KIND_GRAFANA
from oncall_tui.backends.grafana.common import MAX_ALERTS as MAX_ALERTS
from oncall_tui.backends.grafana.common import MAX_ANNOTATION_VALUE as MAX_ANNOTATION_VALUE
from oncall_tui.backends.grafana.common import MAX_LABEL_NAME as MAX_LABEL_NAME
from oncall_tui.backends.grafana.common import MAX_LABEL_VALUE as MAX_LABEL_VALUE
from oncall_tui.backends.grafana.common import MAX_LABELS as MAX_LABELS
from oncall_tui.backends.grafana.common import MAX_POINTS as MAX_POINTS
from oncall_tui.backends.grafana.common import PLAIN_AM_BASE as PLAIN_AM_BASE
from oncall_tui.backends.grafana.common import SEVERITY_UNKNOWN as SEVERITY_UNKNOWN
from oncall_tui.backends.grafana.common import _clean_pairs as _clean_pairs
from oncall_tui.backends.grafana.common import _is_private as _is_private
from oncall_tui.backends.grafana.common import _str_map as _str_map
from oncall_tui.backends.grafana.common import _strings as _strings
from oncall_tui.backends.grafana.common import close_all as close_all
from oncall_tui.backends.grafana.common import format_time as format_time
from oncall_tui.backends.grafana.common import grafana_error_parser as grafana_error_parser
from oncall_tui.backends.grafana.common import normalize_severity as normalize_severity
from oncall_tui.backends.grafana.common import parse_time as parse_time
from oncall_tui.backends.grafana.links import _base_url as _base_url
from oncall_tui.backends.grafana.links import _check_link as _check_link
from oncall_tui.backends.grafana.links import _escape_matcher as _escape_matcher
from oncall_tui.backends.grafana.links import _ms as _ms
from oncall_tui.backends.grafana.links import _silence_page as _silence_page
from oncall_tui.backends.grafana.links import alert_links as alert_links
from oncall_tui.backends.grafana.promql import _COMPARISONS as _COMPARISONS
from oncall_tui.backends.grafana.promql import _MATCHING as _MATCHING
from oncall_tui.backends.grafana.promql import _NUMBER as _NUMBER
from oncall_tui.backends.grafana.promql import _SET_OPS as _SET_OPS
from oncall_tui.backends.grafana.promql import _top_level_tokens as _top_level_tokens
from oncall_tui.backends.grafana.promql import (
    expression_from_generator_url as expression_from_generator_url,
)
from oncall_tui.backends.grafana.promql import strip_threshold as strip_threshold
from oncall_tui.backends.grafana.query import RULE_LISTING_TTL as RULE_LISTING_TTL
from oncall_tui.backends.grafana.query import GrafanaClient as GrafanaClient
from oncall_tui.backends.grafana.query import PrometheusClient as PrometheusClient
from oncall_tui.backends.grafana.query import RuleQuery as RuleQuery
from oncall_tui.backends.grafana.query import _finite as _finite
from oncall_tui.backends.grafana.query import _labels_match as _labels_match
from oncall_tui.backends.grafana.query import _pick as _pick
from oncall_tui.backends.grafana.query import _series_name as _series_name
from oncall_tui.backends.grafana.query import _step_seconds as _step_seconds
from oncall_tui.backends.grafana.query import parse_grafana_frames as parse_grafana_frames
from oncall_tui.backends.grafana.query import parse_prometheus_matrix as parse_prometheus_matrix
from oncall_tui.backends.grafana.sparkline import sparkline_for as sparkline_for
from oncall_tui.backends.http import RetryPolicy as RetryPolicy
