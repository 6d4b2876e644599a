"""Score-based metrics (AUC, calibration, Brier, scoring rate) for every group of every scope.

They come from one ``ScoreTable`` pass and its marginals, exactly as the classification metrics
come from the count table; they are reported beside the decision metrics in results.json.
"""

from __future__ import annotations

from typing import Any

from audit.measures.groups import Scope
from audit.measures.scores import SCORE_METRICS, compute_score, error_bounds, score_sums, smd, smd_interval
from audit.measures.values import MetricValue
from audit.tables.scores import CELL_BINS, ScoreTable

#: The AUC error bound a binned audit aims at (issue 23); the bound reached is reported either way.
AUC_TARGET = 1e-4
#: Metrics whose binned values come from exact integer sums (no binning error).
EXACT_WHEN_BINNED = ("brier", "calibration_in_the_large", "ece", "mean_score", "smd_vs_highest")


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


def score_accuracy(table: ScoreTable, scopes: tuple[Scope, ...]) -> dict[str, Any] | None:
    """How exact the score metrics are: None when every score was kept (all exact), else per metric
    whether it is exact or binned, the largest error bound over the groups, and each group's bounds."""
    if table.cells is None:
        return None
    groups: dict[str, dict[str, float | None]] = {}
    for scope in scopes:
        sub = table.marginal(scope.features) if scope.features else table.overall()
        for group in scope.groups:
            groups[group.id] = error_bounds(sub, sub.index(tuple(group.features.values())))

    def worst(name: str) -> float | None:
        found = [b[name] for b in groups.values() if b.get(name) is not None]
        return max(found) if found else None  # type: ignore[type-var]  # None filtered out above

    metrics: dict[str, dict[str, Any]] = {name: {"exact": True, "error_bound": 0.0} for name in EXACT_WHEN_BINNED}
    for name in ("auc", "scoring_rate"):
        metrics[name] = {"exact": False, "error_bound": worst(name)}
    auc_bound = metrics["auc"]["error_bound"]
    return {
        "method": "binned",
        "bins": CELL_BINS,
        "auc_target": AUC_TARGET,
        "auc_within_target": None if auc_bound is None else auc_bound <= AUC_TARGET,
        "metrics": dict(sorted(metrics.items())),
        "groups": groups,
    }
