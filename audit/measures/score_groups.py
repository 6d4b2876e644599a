"""Score-based metrics (AUC, calibration, Brier, scoring rate) for every group of every scope.

They come from one ``ScoreTable`` pass and its marginals, exactly as the classification metrics
come from the count table; they are reported beside the decision metrics in results.json.
"""

from __future__ import annotations

from audit.measures.groups import Scope
from audit.measures.scores import SCORE_METRICS, compute_score, score_sums, smd, smd_interval
from audit.measures.values import MetricValue
from audit.tables.scores import ScoreTable


def score_metrics(
    table: ScoreTable, scopes: tuple[Scope, ...], *, level: float, seed: int
) -> dict[str, dict[str, MetricValue]]:
    """group id → {score metric name → value with interval}."""
    out: dict[str, dict[str, MetricValue]] = {}
    for scope in scopes:
        sub = table.marginal(scope.features) if scope.features else table.overall()
        index = {group.id: sub.index(tuple(group.features.values())) for group in scope.groups}
        for group in scope.groups:
            out[group.id] = {
                name: compute_score(name, sub, index[group.id], level=level, seed=seed) for name in SCORE_METRICS
            }
        _add_smd(out, sub, scope, index, level)
    return out


def _add_smd(
    out: dict[str, dict[str, MetricValue]], sub: ScoreTable, scope: Scope, index: dict[str, int], level: float
) -> None:
    """Standardised mean difference of each group's scores vs the known group with the highest mean."""
    known = [g for g in scope.groups if not g.has_unknown and out[g.id]["mean_score"].value is not None]
    if not scope.features or len(known) < 2:
        return
    top = max(known, key=lambda g: (out[g.id]["mean_score"].value, g.id))
    for group in scope.groups:
        a, b = score_sums(sub, index[group.id]), score_sums(sub, index[top.id])
        value = smd(a, b) if group is not top else 0.0
        ci = smd_interval(a, b, level=level) if group is not top else None
        out[group.id]["smd_vs_highest"] = MetricValue.estimate(value, None, group.n, ci, "hedges-olkin" if ci else None)
