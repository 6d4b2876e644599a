"""Score-based metrics (AUC, calibration, Brier, scoring rate) for every group of every scope.

They come from one ``ScoreTable`` pass and its marginals, exactly as the classification metrics
come from the count table; they are reported beside the decision metrics in results.json.
"""

from __future__ import annotations

from audit.measures.groups import Scope
from audit.measures.metrics import MetricValue
from audit.measures.scores import SCORE_METRICS, compute_score
from audit.tables.scores import ScoreTable


def score_metrics(
    table: ScoreTable, scopes: tuple[Scope, ...], *, level: float, seed: int
) -> dict[str, dict[str, MetricValue]]:
    """group id → {score metric name → value with interval}."""
    out: dict[str, dict[str, MetricValue]] = {}
    for scope in scopes:
        sub = table.marginal(scope.features) if scope.features else table.overall()
        for group in scope.groups:
            g = sub.index(tuple(group.features.values()))
            out[group.id] = {name: compute_score(name, sub, g, level=level, seed=seed) for name in SCORE_METRICS}
    return out
