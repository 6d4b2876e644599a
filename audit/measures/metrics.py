"""Group metrics computed from confusion counts, named as fairlearn names them.

The registry is data (as in fairlearn's ``METRICS_SPEC``): each metric is a ratio of sums of the
four confusion cells, so the same table gives its value, the sample it rests on (its
denominator) and a binomial confidence interval. A metric whose denominator is zero is
*undefined* (``None``), never 0: "no positives in this group" is not "a true-positive rate of 0".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audit.measures.bootstrap import bootstrap_statistic
from audit.measures.intervals import clopper_pearson, katz_log_ratio, wilson
from audit.measures.values import EXACT_BELOW, MetricValue

# Cell names → index into a flattened [y, ŷ] 2×2 table: tn=(0,0) fp=(0,1) fn=(1,0) tp=(1,1)
_CELL = {"tn": 0, "fp": 1, "fn": 2, "tp": 3}


@dataclass(frozen=True)
class MetricSpec:
    name: str
    label: str  # plain-language name used in sentences and tables
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    needs_label: bool
    formula: str
    description: str
    numerator_weight: int = 1  # f1 counts tp twice

    def parts(self, cells: np.ndarray) -> tuple[int, int]:
        flat = np.asarray(cells).reshape(4)
        num = self.numerator_weight * int(sum(flat[_CELL[c]] for c in self.numerator))
        den = int(sum(flat[_CELL[c]] for c in self.denominator)) + (
            (self.numerator_weight - 1) * int(sum(flat[_CELL[c]] for c in self.numerator))
        )
        return num, den


_ALL = ("tn", "fp", "fn", "tp")
REGISTRY: dict[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec(
            "selection_rate",
            "selection rate",
            ("fp", "tp"),
            _ALL,
            False,
            "(TP + FP) / n",
            "Share of the group that received the favourable decision.",
        ),
        MetricSpec(
            "base_rate",
            "base rate",
            ("fn", "tp"),
            _ALL,
            True,
            "(TP + FN) / n",
            "Share of the group whose true outcome is favourable.",
        ),
        MetricSpec(
            "true_positive_rate",
            "true positive rate",
            ("tp",),
            ("tp", "fn"),
            True,
            "TP / (TP + FN)",
            "Of those who truly qualify, the share the model selected (recall).",
        ),
        MetricSpec(
            "false_positive_rate",
            "false positive rate",
            ("fp",),
            ("fp", "tn"),
            True,
            "FP / (FP + TN)",
            "Of those who truly do not qualify, the share the model selected.",
        ),
        MetricSpec(
            "false_negative_rate",
            "false negative rate",
            ("fn",),
            ("tp", "fn"),
            True,
            "FN / (TP + FN)",
            "Of those who truly qualify, the share the model rejected.",
        ),
        MetricSpec(
            "true_negative_rate",
            "true negative rate",
            ("tn",),
            ("fp", "tn"),
            True,
            "TN / (FP + TN)",
            "Of those who truly do not qualify, the share the model rejected.",
        ),
        MetricSpec(
            "precision",
            "precision",
            ("tp",),
            ("tp", "fp"),
            True,
            "TP / (TP + FP)",
            "Of those the model selected, the share who truly qualify (PPV).",
        ),
        MetricSpec(
            "negative_predictive_value",
            "negative predictive value",
            ("tn",),
            ("tn", "fn"),
            True,
            "TN / (TN + FN)",
            "Of those the model rejected, the share who truly do not qualify.",
        ),
        MetricSpec(
            "false_discovery_rate",
            "false discovery rate",
            ("fp",),
            ("tp", "fp"),
            True,
            "FP / (TP + FP)",
            "Of those the model selected, the share who truly do not qualify.",
        ),
        MetricSpec(
            "false_omission_rate",
            "false omission rate",
            ("fn",),
            ("tn", "fn"),
            True,
            "FN / (TN + FN)",
            "Of those the model rejected, the share who truly qualify.",
        ),
        MetricSpec(
            "accuracy",
            "accuracy",
            ("tp", "tn"),
            _ALL,
            True,
            "(TP + TN) / n",
            "Share of the group the model classified correctly.",
        ),
        MetricSpec(
            "f1",
            "F1 score",
            ("tp",),
            ("tp", "fp", "fn"),
            True,
            "2·TP / (2·TP + FP + FN)",
            "Harmonic mean of precision and true positive rate.",
            numerator_weight=2,
        ),
    )
}
ALIASES = {"positive_predictive_value": "precision"}
#: Metrics that are not a single ratio of counts.
COMPOSITE = {
    "balanced_accuracy": ("balanced accuracy", "(TPR + TNR) / 2", "Mean of the true positive and true negative rates."),
}
#: Likelihood ratios (as in ProPublica's COMPAS tables): a ratio of two rates of the same group, each
#: over its own people (the truly qualified, the truly not), so the two are independent binomials.
#: name → (label, formula, description, (numerator cells, its denominator, divisor cells, its denominator)).
LIKELIHOOD_RATIOS: dict[str, tuple[str, str, str, tuple[tuple[str, ...], ...]]] = {
    "positive_likelihood_ratio": (
        "positive likelihood ratio",
        "TPR / FPR",
        "How many times more often the truly qualified are selected than the truly not qualified (LR+).",
        (("tp",), ("tp", "fn"), ("fp",), ("fp", "tn")),
    ),
    "negative_likelihood_ratio": (
        "negative likelihood ratio",
        "FNR / TNR",
        "How often the truly qualified are rejected, relative to the truly not qualified (LR−).",
        (("fn",), ("tp", "fn"), ("tn",), ("fp", "tn")),
    ),
}
#: A group's share of its scope (Aequitas' ``ppr`` and group-size share): they need the whole scope's
#: totals, so ``scope_shares`` computes them over the groups of a scope, not from one group's cells.
SHARES = {
    "ppr": (
        "share of favourable decisions",
        "(TP + FP) / all (TP + FP) of the scope",
        "The group's share of all favourable decisions in its scope (Aequitas' predicted positive rate, ppr).",
    ),
    "group_size_share": (
        "share of the people",
        "n / all n of the scope",
        "The group's share of the people in its scope (Aequitas' group size ratio).",
    ),
}
#: Exact descriptions of a group's size: no sampling interval, no significance test, no small-group
#: exact path; a rule on them compares the numbers as they are.
EXACT_METRICS = ("count", *SHARES)
#: Rates that are one count over another (one binomial proportion): the ones whose odds ratio
#: between two groups is defined (a rule ``compare: odds_ratio``).
BINOMIAL_RATES = tuple(name for name, spec in REGISTRY.items() if spec.numerator_weight == 1)
#: ``count`` is the group size itself. Every name here is computed from one group's own 2×2 cells.
METRIC_NAMES = ("count", *REGISTRY, *COMPOSITE, *LIKELIHOOD_RATIOS)


def canonical_name(name: str) -> str:
    return ALIASES.get(name, name)


def is_known(name: str) -> bool:
    return canonical_name(name) in METRIC_NAMES or canonical_name(name) in SHARES


def needs_label(name: str) -> bool:
    name = canonical_name(name)
    return name in COMPOSITE or name in LIKELIHOOD_RATIOS or (name in REGISTRY and REGISTRY[name].needs_label)


def label_of(name: str) -> str:
    name = canonical_name(name)
    if name == "count":
        return "count"
    if name in REGISTRY:
        return REGISTRY[name].label
    if name in COMPOSITE:
        return COMPOSITE[name][0]
    if name in LIKELIHOOD_RATIOS:
        return LIKELIHOOD_RATIOS[name][0]
    if name in SHARES:
        return SHARES[name][0]
    from audit.measures.scores import REGRESSION_METRICS

    return REGRESSION_METRICS[name].label


def regression_metric_names() -> tuple[str, ...]:
    from audit.measures.scores import REGRESSION_METRICS

    return tuple(REGRESSION_METRICS)


def vector_value(name: str, cells: np.ndarray) -> np.ndarray:
    """The metric for every 2×2 table in ``cells`` (shape ``(..., 2, 2)``); NaN where undefined."""
    name = canonical_name(name)
    flat = np.asarray(cells, dtype=float).reshape(*np.shape(cells)[:-2], 4)
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "count":
            return flat.sum(axis=-1)
        if name in COMPOSITE:
            return (vector_value("true_positive_rate", cells) + vector_value("true_negative_rate", cells)) / 2
        if name in LIKELIHOOD_RATIOS:
            first, second = ("true_positive_rate", "false_positive_rate")
            if name == "negative_likelihood_ratio":
                first, second = ("false_negative_rate", "true_negative_rate")
            top, bottom = vector_value(first, cells), vector_value(second, cells)
            return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)
        spec = REGISTRY[name]
        num = flat[..., [_CELL[c] for c in spec.numerator]].sum(axis=-1)
        den = flat[..., [_CELL[c] for c in spec.denominator]].sum(axis=-1)
        num, den = spec.numerator_weight * num, den + (spec.numerator_weight - 1) * num
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def compute(name: str, cells: np.ndarray, *, has_label: bool, level: float, seed: int = 0) -> MetricValue:
    """One metric of one group from its 2×2 ``cells`` (indexed [y, ŷ]), with its interval.

    Rates get Wilson score intervals (Clopper–Pearson below ``EXACT_BELOW`` people); metrics that
    are not a single binomial proportion (F1, balanced accuracy) get a percentile interval from a
    multinomial bootstrap of the group's own four cells.
    """
    name = canonical_name(name)
    if name == "count":
        total = int(np.asarray(cells).sum())
        return MetricValue(float(total), total, None, None, None, None)
    if needs_label(name) and not has_label:
        return MetricValue(None, None, None, None, None, "not applicable: no label")
    if name in LIKELIHOOD_RATIOS:
        return _likelihood_ratio(name, cells, level=level)
    if name in COMPOSITE or REGISTRY[name].numerator_weight != 1:
        value = float(vector_value(name, cells))
        num, den = REGISTRY[name].parts(cells) if name in REGISTRY else (None, None)
        if np.isnan(value):
            return MetricValue(None, num, den, None, None, None)
        ci = bootstrap_statistic(np.asarray(cells)[None], lambda d: vector_value(name, d[:, 0]), level=level, seed=seed)
        method = "bootstrap-percentile" if ci else None
        return MetricValue.estimate(value, num, den, ci, method)
    num, den = REGISTRY[name].parts(cells)
    if den == 0:
        return MetricValue(None, num, den, None, None, None)
    if den < EXACT_BELOW:
        low, high = clopper_pearson(num, den, level=level)
        return MetricValue(num / den, num, den, low, high, "clopper-pearson")
    low, high = wilson(num, den, level=level)
    return MetricValue(num / den, num, den, low, high, "wilson")


def _likelihood_ratio(name: str, cells: np.ndarray, *, level: float) -> MetricValue:
    """LR+ = TPR / FPR or LR− = FNR / TNR, with the log interval of a ratio of two independent
    proportions (Simel, Samsa & Matchar 1991; the Katz interval). Undefined (None, with the reason)
    when a rate's denominator is empty or the divisor rate is 0 (the ratio would be infinite)."""
    flat = np.asarray(cells).reshape(4)
    k1, n1, k2, n2 = (int(sum(flat[_CELL[c]] for c in part)) for part in LIKELIHOOD_RATIOS[name][3])
    if n1 == 0 or n2 == 0:
        return MetricValue(None, None, None, None, None, None)
    if k2 == 0:
        divisor = "false positive rate" if name == "positive_likelihood_ratio" else "true negative rate"
        return MetricValue(None, None, None, None, None, f"undefined: the {divisor} is 0 (the ratio is infinite)")
    ci = katz_log_ratio(k1, n1, k2, n2, level=level)
    return MetricValue.estimate((k1 / n1) / (k2 / n2), None, None, ci, "katz-log" if ci else None)


def scope_shares(cells: list[np.ndarray]) -> list[dict[str, MetricValue]]:
    """``ppr`` and ``group_size_share`` of every group of one scope, from all its groups' cells (every
    group counts in the totals, those with an unknown sensitive value too, as in Aequitas). Exact
    shares: numerator and denominator are the counts, with no interval. Undefined when the scope has
    no favourable decision (ppr) or no one (share)."""
    flat = [np.asarray(c).reshape(4) for c in cells]
    positives = [int(f[_CELL["fp"]] + f[_CELL["tp"]]) for f in flat]
    sizes = [int(f.sum()) for f in flat]
    total_pos, total = sum(positives), sum(sizes)

    def share(k: int, n: int) -> MetricValue:
        return MetricValue(k / n if n else None, k, n, None, None, None)

    return [
        {"ppr": share(k, total_pos), "group_size_share": share(n, total)} for k, n in zip(positives, sizes, strict=True)
    ]
