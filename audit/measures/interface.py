"""The measures stage (counts → numbers), as the stages after it see it. It decides nothing.

Hands on: ``Scope``/``Group`` with each group's ``MetricValue`` (``build_scopes``,
``build_regression_scopes``, ``population_of``: a scope's known rows as one group), the metric vocabulary
(``METRIC_NAMES``, ``canonical_name``, ``is_known``, ``needs_label``, ``compute``), disparities
(``ScopeDisparity``), score metrics (``score_metrics``) and representativeness (``assess`` →
``Representation``).
"""

from __future__ import annotations

from audit.measures.disparities import ScopeDisparity
from audit.measures.groups import Group, Scope, build_regression_scopes, build_scopes, population_of
from audit.measures.metrics import METRIC_NAMES, canonical_name, compute, is_known, needs_label
from audit.measures.representativeness import Representation, assess
from audit.measures.score_groups import score_metrics
from audit.measures.values import MetricValue

__all__ = [
    "METRIC_NAMES",
    "Group",
    "MetricValue",
    "Representation",
    "Scope",
    "ScopeDisparity",
    "assess",
    "build_regression_scopes",
    "build_scopes",
    "canonical_name",
    "compute",
    "is_known",
    "needs_label",
    "population_of",
    "score_metrics",
]
