"""Score and regression metrics computed only from the tables of :mod:`audit.tables.scores`.

Everything here is a small pure function of counts and sums. Undefined is ``None``, never 0:
an AUC needs both classes, a variance needs two rows, a ratio needs a non-zero denominator.

Design choices (also stated where they apply):

* **AUC ties.** The Mann–Whitney AUC counts a (positive, negative) pair 1 when the positive
  scores higher and 1/2 when they tie. From a histogram every pair sharing a bin counts 1/2, so
  its error against the exact AUC is at most Σ_b neg_b·pos_b / (2·n_neg·n_pos)
  (:func:`auc_error_bound`). For smooth probabilities on [0, 1] the bound stays near 6e-5 at
  4096 bins (2.4e-4 at 1024) whatever n, while the realised error shrinks with n: measured over
  21 groups, max 7e-5 at 6,000 rows and 1.1e-6 at 1M rows with 4096 bins, 3.1e-6 at 1M with
  1024 (DESIGN.md: 3.4e-5 at 1024 bins, 1M rows, other data). When the table kept the rows
  (``exact``), the AUC is exact, ties between equal scores counted 1/2. A binned table (many rows
  of continuous probabilities, :class:`audit.tables.scores.ScoreCells`) decides a pair sharing a
  cell from the cell's extremes when it can and reports the bound of :func:`auc_cells`.
* **ECE.** Ten equal-width bins on [0, 1], closed on the right as in
  ``sklearn.calibration.calibration_curve`` ([0, 0.1], (0.1, 0.2], …); ECE = Σ_b (n_b/n)·|mean
  score_b − positive share_b|. Exact from the kept rows; from the histogram alone each fine bin is
  put whole into the coarse bin holding its centre and stands for its centre (no per-bin sums are
  carried): the error is at most half a fine bin (1.2e-4 at 4096 bins on [0, 1]) plus the share of
  rows in the fine bins straddling a coarse edge.
* **Scoring rate** (NYC LL144, 6 RCNY § 5-300): the share of a group scoring *strictly above* the
  median of the whole scored sample, every category included (see
  :func:`audit.tables.scores.sample_median`); impact ratio = group rate / highest rate among
  groups of known category. Its interval is Wilson (Clopper–Pearson below ``EXACT_BELOW``),
  conditional on the sample median.
* **Intervals.** ``"normal"``: the mean of a per-row quantity ± z·SD/√n, from exact sums (means,
  MAE, Brier, calibration-in-the-large); ``"normal-sqrt"``: RMSE as the square root of MSE's
  normal interval; ``"delong"``: AUC ± z·SE with DeLong's variance computed on the bins (exact
  for the histogram, O(bins), the default for AUC); ``"bootstrap-percentile"``: percentiles over
  resampled histograms, each (group, label) row a Multinomial(n, hist/n) — exactly the
  distribution of a row bootstrap that keeps each group's label counts fixed (ECE; AUC on request;
  LL144 impact ratios).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from audit.measures.bootstrap import DEFAULT_REPLICATES, multinomial_bootstrap, percentile_interval
from audit.measures.intervals import clopper_pearson, wilson, z_value
from audit.measures.values import EXACT_BELOW, MetricValue
from audit.tables.groups import UNKNOWN
from audit.tables.scores import RegressionTable, ScoreTable

Key = tuple[str, ...]
ECE_BINS = 10


def _none_if_nan(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


# --------------------------------------------------------------------------------------------
# AUC


def _auc_vec(hist_neg: np.ndarray, hist_pos: np.ndarray) -> np.ndarray:
    """Mann–Whitney AUC over the last axis (bins in score order); NaN when a class is empty."""
    neg = np.asarray(hist_neg, dtype=np.float64)
    pos = np.asarray(hist_pos, dtype=np.float64)
    below = np.cumsum(neg, axis=-1) - neg
    wins = (pos * (below + 0.5 * neg)).sum(axis=-1)
    pairs = neg.sum(axis=-1) * pos.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pairs > 0, wins / np.where(pairs > 0, pairs, 1), np.nan)


def auc(hist_neg: np.ndarray, hist_pos: np.ndarray) -> float | None:
    """AUC from two histograms over the same ordered bins; pairs in one bin count 1/2."""
    return _none_if_nan(float(_auc_vec(hist_neg, hist_pos)))


def auc_error_bound(hist_neg: np.ndarray, hist_pos: np.ndarray) -> float | None:
    """Largest possible |histogram AUC − exact AUC|: half the share of pairs sharing a bin."""
    neg = np.asarray(hist_neg, dtype=np.float64)
    pos = np.asarray(hist_pos, dtype=np.float64)
    pairs = neg.sum() * pos.sum()
    return None if pairs == 0 else float((neg * pos).sum() / (2 * pairs))


def auc_exact(scores: np.ndarray, y: np.ndarray) -> float | None:
    """Exact AUC from rows: the Mann–Whitney U from average ranks (ties count 1/2)."""
    s = np.asarray(scores, dtype=np.float64)
    pos = np.asarray(y).astype(bool)
    n_pos = int(pos.sum())
    n_neg = s.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    from scipy.stats import rankdata  # here, not at the top: a slow import that most audits never need

    ranks = rankdata(s)  # average ranks: multiples of 1/2, summed exactly in float64
    u = float(ranks[pos].sum()) - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def _auc_sorted(neg: np.ndarray, pos: np.ndarray) -> float | None:
    """Exact AUC from each class's sorted scores (integer pair counts, one division)."""
    if neg.size == 0 or pos.size == 0:
        return None
    lower = np.searchsorted(neg, pos, side="left").sum()
    upper = np.searchsorted(neg, pos, side="right").sum()
    return float((int(lower) + int(upper)) / (2 * neg.size * pos.size))


def auc_delong(hist_neg: np.ndarray, hist_pos: np.ndarray, *, level: float) -> tuple[float, float] | None:
    """DeLong et al. (Biometrics 1988) interval for the AUC, its placements computed per bin.

    Every positive in bin b has placement V10_b = P(neg below) + ½P(neg in b), every negative
    V01_b = P(pos above) + ½P(pos in b); Var(AUC) = S10/n_pos + S01/n_neg with S the sample
    variances of the placements. None with fewer than two rows in either class.
    """
    neg = np.asarray(hist_neg, dtype=np.float64)
    pos = np.asarray(hist_pos, dtype=np.float64)
    n_neg, n_pos = neg.sum(), pos.sum()
    if n_neg < 2 or n_pos < 2:
        return None
    v10 = (np.cumsum(neg) - neg + 0.5 * neg) / n_neg
    v01 = (pos.sum() - np.cumsum(pos) + 0.5 * pos) / n_pos
    a = float((pos * v10).sum() / n_pos)
    s10 = float((pos * (v10 - a) ** 2).sum() / (n_pos - 1))
    s01 = float((neg * (v01 - a) ** 2).sum() / (n_neg - 1))
    half = z_value(level) * math.sqrt(max(s10 / n_pos + s01 / n_neg, 0.0))
    return max(0.0, a - half), min(1.0, a + half)


# --------------------------------------------------------------------------------------------
# calibration and Brier, exact from the per-label power sums (index 0: y = 0, index 1: y = 1)


@dataclass(frozen=True)
class RowSums:
    """n, Σv and Σv² of a per-row quantity v: enough for its mean and a normal interval."""

    n: int
    total: float
    total_sq: float

    @property
    def mean(self) -> float | None:
        return None if self.n == 0 else self.total / self.n

    def variance(self) -> float | None:
        """Sample variance (n − 1 denominator); None below two rows."""
        if self.n < 2:
            return None
        return max(self.total_sq - self.total * self.total / self.n, 0.0) / (self.n - 1)

    def interval(self, *, level: float) -> tuple[float, float] | None:
        var, mean = self.variance(), self.mean
        if var is None or mean is None:
            return None
        half = z_value(level) * math.sqrt(var / self.n)
        return mean - half, mean + half


def brier_sums(n: np.ndarray, s1: np.ndarray, s2: np.ndarray, s3: np.ndarray, s4: np.ndarray) -> RowSums:
    """Sums of v = (s − y)²: Σv = Σ_{y=0}s² + Σ_{y=1}(1 − 2s + s²) = Σs² − 2Σ_{y=1}s + n₁."""
    n0, n1 = int(n[0]), int(n[1])
    total = float(s2[0] + s2[1] - 2 * s1[1] + n1)
    # (1 − s)⁴ = 1 − 4s + 6s² − 4s³ + s⁴
    total_sq = float(s4[0] + n1 - 4 * s1[1] + 6 * s2[1] - 4 * s3[1] + s4[1])
    return RowSums(n0 + n1, max(total, 0.0), max(total_sq, 0.0))


def brier(n: np.ndarray, sum_score: np.ndarray, sum_score_sq: np.ndarray) -> float | None:
    """Brier score (mean squared error of the probability) from per-label n, Σs and Σs²."""
    rows = int(n[0] + n[1])
    if rows == 0:
        return None
    return max(float(sum_score_sq[0] + sum_score_sq[1] - 2 * sum_score[1] + n[1]), 0.0) / rows


def calibration_in_the_large(n: np.ndarray, sum_score: np.ndarray) -> float | None:
    """Mean score − base rate (positive: the model over-predicts the positive class)."""
    rows = int(n[0] + n[1])
    if rows == 0:
        return None
    return float(sum_score[0] + sum_score[1]) / rows - int(n[1]) / rows


def _coarse_index(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Coarse calibration bin of each value: [0, 1/k], (1/k, 2/k], … as sklearn bins them."""
    inner = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    return np.searchsorted(inner, values, side="left")


def _ece_vec(neg: np.ndarray, pos: np.ndarray, mean_score: np.ndarray) -> np.ndarray:
    """ECE from per-coarse-bin class counts (last axis) and each bin's mean score."""
    neg = np.asarray(neg, dtype=np.float64)
    pos = np.asarray(pos, dtype=np.float64)
    count = neg + pos
    gap = np.abs(count * mean_score - pos).sum(axis=-1)
    total = count.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, gap / np.where(total > 0, total, 1), np.nan)


def _check_probability(lo: float, hi: float) -> None:
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"calibration needs probabilities in [0, 1]; scores span [{lo}, {hi}]")


def _ece_cells_hist(hist_neg, hist_pos, edges, n_bins):
    edges = np.asarray(edges, dtype=np.float64)
    _check_probability(float(edges[0]), float(edges[-1]))
    centres = (edges[:-1] + edges[1:]) / 2
    onehot = np.eye(n_bins)[_coarse_index(centres, n_bins)]  # (fine bins, coarse bins)
    neg = np.asarray(hist_neg, dtype=np.float64) @ onehot
    pos = np.asarray(hist_pos, dtype=np.float64) @ onehot
    both = np.asarray(hist_neg, np.float64) + np.asarray(hist_pos, np.float64)
    score_sum = both @ (onehot * centres[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(neg + pos > 0, score_sum / np.where(neg + pos > 0, neg + pos, 1), 0.0)
    return neg, pos, mean


def _ece_cells_exact(neg_scores, pos_scores, n_bins):
    neg_scores = np.asarray(neg_scores, np.float64)
    pos_scores = np.asarray(pos_scores, np.float64)
    both = np.concatenate([neg_scores, pos_scores])
    if both.size:
        _check_probability(float(both.min()), float(both.max()))
    bn, bp = _coarse_index(neg_scores, n_bins), _coarse_index(pos_scores, n_bins)
    neg = np.bincount(bn, minlength=n_bins).astype(np.float64)
    pos = np.bincount(bp, minlength=n_bins).astype(np.float64)
    score_sum = np.bincount(bn, weights=neg_scores, minlength=n_bins) + np.bincount(
        bp, weights=pos_scores, minlength=n_bins
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(neg + pos > 0, score_sum / np.where(neg + pos > 0, neg + pos, 1), 0.0)
    return neg, pos, mean


def ece(hist_neg: np.ndarray, hist_pos: np.ndarray, edges: np.ndarray, n_bins: int = ECE_BINS) -> float | None:
    """Expected calibration error from a score histogram (fine bins stand for their centres)."""
    return _none_if_nan(float(_ece_vec(*_ece_cells_hist(hist_neg, hist_pos, edges, n_bins))))


def ece_exact(scores: np.ndarray, y: np.ndarray, n_bins: int = ECE_BINS) -> float | None:
    """Expected calibration error from rows (exact bin means)."""
    s = np.asarray(scores, dtype=np.float64)
    pos = np.asarray(y).astype(bool)
    return _none_if_nan(float(_ece_vec(*_ece_cells_exact(s[~pos], s[pos], n_bins))))


# --------------------------------------------------------------------------------------------
# the histogram bootstrap


def bootstrap_hist(hist: np.ndarray, *, replicates: int = DEFAULT_REPLICATES, seed: int = 0) -> np.ndarray:
    """Resampled histograms, shape ``(replicates, *hist.shape)``.

    Every row along the last axis (one (group, label) histogram) is drawn as
    ``rng.multinomial(n, hist/n)``: exactly the bin counts of resampling that row set with
    replacement. Bins empty in the observed histogram stay empty, so only the occupied bins are
    drawn (the cost is O(occupied bins × replicates) per row: ~0.6 s for 4096 occupied bins and
    1000 replicates). Deterministic for a seed.
    """
    hist = np.asarray(hist, dtype=np.int64)
    rng = np.random.default_rng(seed)
    flat = hist.reshape(-1, hist.shape[-1])
    out = np.zeros((replicates, *flat.shape), dtype=np.int64)
    for r, row in enumerate(flat):
        n = int(row.sum())
        if n == 0:
            continue
        occupied = np.flatnonzero(row)
        out[:, r, occupied] = rng.multinomial(n, row[occupied] / n, size=replicates)
    return out.reshape(replicates, *hist.shape)


def hist_interval(
    statistic: Callable[[np.ndarray], np.ndarray],
    hist: np.ndarray,
    *,
    level: float,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile interval of ``statistic`` (vectorised over replicates) on resampled histograms."""
    draws = bootstrap_hist(hist, replicates=replicates, seed=seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.asarray(statistic(draws), dtype=np.float64)
    return percentile_interval(values, level=level)


# --------------------------------------------------------------------------------------------
# LL144 scoring rate


def scoring_rate(above: int, n: int) -> float | None:
    """Share of a group scoring strictly above the sample median."""
    return None if n <= 0 else above / n


def impact_ratios(rates: Mapping[Key, float | None]) -> dict[Key, float | None]:
    """Each group's rate over the highest rate among groups of known category (LL144).

    Groups with an ``unknown`` level are left out of the comparison (None), as the rule reports
    them only as a count; so are groups whose rate is undefined. None everywhere when the
    highest rate is 0.
    """
    known = {k: r for k, r in rates.items() if r is not None and UNKNOWN not in k}
    top = max(known.values(), default=0.0)
    return {k: (known[k] / top if k in known and top > 0 else None) for k in rates}


# --------------------------------------------------------------------------------------------
# regression


def smd(a: RowSums, b: RowSums) -> float | None:
    """Standardized mean difference (mean_a − mean_b) / pooled SD (Cohen's d).

    Pooled SD = √(((n_a − 1)·var_a + (n_b − 1)·var_b) / (n_a + n_b − 2)). None when a group is
    empty, there are fewer than three rows in all, or the pooled SD is 0.
    """
    if a.n < 1 or b.n < 1 or a.n + b.n < 3:
        return None
    ss_a = max(a.total_sq - a.total * a.total / a.n, 0.0)
    ss_b = max(b.total_sq - b.total * b.total / b.n, 0.0)
    pooled = math.sqrt((ss_a + ss_b) / (a.n + b.n - 2))
    if pooled == 0:
        return None
    return (a.total / a.n - b.total / b.n) / pooled


def smd_interval(a: RowSums, b: RowSums, *, level: float) -> tuple[float, float] | None:
    """Large-sample normal interval (Hedges & Olkin).

    SE² = (n_a + n_b)/(n_a·n_b) + d²/(2(n_a + n_b)).
    """
    d = smd(a, b)
    if d is None:
        return None
    se = math.sqrt((a.n + b.n) / (a.n * b.n) + d * d / (2 * (a.n + b.n)))
    half = z_value(level) * se
    return d - half, d + half


def prediction_sums(table: RegressionTable, g: int) -> RowSums:
    """n, Σ(ŷ − shift), Σ(ŷ − shift)² of a group: for SMD (the shift cancels in differences)."""
    return RowSums(int(table.n[g]), float(table.sum_dpred[g]), float(table.sum_dpred_sq[g]))


def score_sums(table: ScoreTable, g: int) -> RowSums:
    """n, Σs, Σs² of a group's scores, labels pooled: for the SMD of scores between groups."""
    return RowSums(int(table.n[g].sum()), float(table.sum_score[g].sum()), float(table.sum_score_sq[g].sum()))


@dataclass(frozen=True)
class RegressionSpec:
    """A regression metric = a transform of the mean of one per-row quantity v."""

    name: str
    label: str
    needs_label: bool
    formula: str
    description: str
    sums: Callable[[RegressionTable, int], RowSums]
    offset: Callable[[RegressionTable], float] = lambda t: 0.0  # added to the mean (the shift)
    sqrt: bool = False  # report √mean (RMSE from MSE)


def _row(table: RegressionTable, g: int, total: np.ndarray, total_sq: np.ndarray) -> RowSums:
    return RowSums(int(table.n[g]), float(total[g]), float(total_sq[g]))


REGRESSION_METRICS: dict[str, RegressionSpec] = {
    m.name: m
    for m in (
        RegressionSpec(
            "mean_prediction",
            "mean prediction",
            False,
            "Σŷ / n",
            "Average predicted value in the group.",
            lambda t, g: _row(t, g, t.sum_dpred, t.sum_dpred_sq),
            lambda t: t.shift,
        ),
        RegressionSpec(
            "mean_outcome",
            "mean outcome",
            True,
            "Σy / n",
            "Average true value in the group.",
            lambda t, g: _row(t, g, t.sum_dy, t.sum_dy_sq),
            lambda t: t.shift,
        ),
        RegressionSpec(
            "mae",
            "mean absolute error",
            True,
            "Σ|y − ŷ| / n",
            "Average size of the prediction error.",
            lambda t, g: _row(t, g, t.sum_abs_err, t.sum_sq_err),
        ),
        RegressionSpec(
            "rmse",
            "root mean squared error",
            True,
            "√(Σ(y − ŷ)² / n)",
            "Typical size of the prediction error, large errors weighing more.",
            lambda t, g: _row(t, g, t.sum_sq_err, t.sum_err_4),
            sqrt=True,
        ),
    )
}
REGRESSION_METRIC_NAMES = ("count", *REGRESSION_METRICS)


def compute_regression(name: str, table: RegressionTable, g: int, *, level: float) -> MetricValue:
    """One regression metric of group ``g`` with a normal interval (``"normal-sqrt"`` for RMSE)."""
    n = int(table.n[g])
    if name == "count":
        return MetricValue(float(n), n, None, None, None, None)
    spec = REGRESSION_METRICS[name]
    if spec.needs_label and not table.has_label:
        return MetricValue(None, None, None, None, None, "not applicable: no label")
    rows = spec.sums(table, g)
    if rows.mean is None:
        return MetricValue(None, None, n, None, None, None)
    shift = spec.offset(table)
    ci = rows.interval(level=level)
    if spec.sqrt:
        value = math.sqrt(max(rows.mean, 0.0))
        ci = None if ci is None else (math.sqrt(max(ci[0], 0.0)), math.sqrt(max(ci[1], 0.0)))
        method = "normal-sqrt"
    else:
        value = rows.mean + shift
        if ci is not None:
            ci = (ci[0] + shift, ci[1] + shift)
            if name == "mae":
                ci = (max(ci[0], 0.0), ci[1])
        method = "normal"
    return MetricValue.estimate(value, None, n, ci, method if ci else None)


# --------------------------------------------------------------------------------------------
# score metrics on a table


@dataclass(frozen=True)
class ScoreSpec:
    name: str
    label: str
    needs_label: bool
    needs_probability: bool
    formula: str
    description: str


SCORE_METRICS: dict[str, ScoreSpec] = {
    m.name: m
    for m in (
        ScoreSpec(
            "auc",
            "AUC",
            True,
            False,
            "P(s₊ > s₋) + ½P(s₊ = s₋)",
            "Chance that a random positive scores above a random negative (ties count half).",
        ),
        ScoreSpec(
            "ece",
            "expected calibration error",
            True,
            True,
            "Σ_b (n_b/n)·|mean score_b − positive share_b|, 10 equal-width bins",
            "Average gap between predicted probability and observed frequency.",
        ),
        ScoreSpec(
            "brier", "Brier score", True, True, "Σ(s − y)² / n", "Mean squared error of the predicted probability."
        ),
        ScoreSpec(
            "calibration_in_the_large",
            "calibration-in-the-large",
            True,
            True,
            "mean score − base rate",
            "How far the average predicted probability is from the observed base rate.",
        ),
        ScoreSpec("mean_score", "mean score", False, False, "Σs / n", "Average score in the group."),
        ScoreSpec(
            "scoring_rate",
            "scoring rate",
            False,
            False,
            "#(s > sample median) / n",
            "Share of the group scoring above the median of the full sample (NYC LL144).",
        ),
    )
}
SCORE_METRIC_NAMES = ("count", *SCORE_METRICS)


def auc_cells(neg: np.ndarray, pos: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[float, float] | None:
    """AUC and its error bound from cells ordered by score (the binned table).

    ``low``/``high`` ``(2, cells)``: each class's smallest and largest score per cell. A pair in
    different cells is ordered by its cells; in one cell it is decided when the positives all
    score above (1) or below (0) the negatives, or all scores are equal (½); otherwise it counts ½
    and may be off by ½. The bound, ½·Σ over undecided cells of pos·neg / (P·N), contains the
    exact AUC: |estimate − exact| ≤ bound.
    """
    neg = np.asarray(neg, dtype=np.float64)
    pos = np.asarray(pos, dtype=np.float64)
    pairs = neg.sum() * pos.sum()
    if pairs == 0:
        return None
    below = np.cumsum(neg) - neg
    inside = pos * neg
    with np.errstate(invalid="ignore"):
        wins = (high[0] < low[1]) & (inside > 0)  # every positive above every negative
        losses = (high[1] < low[0]) & (inside > 0)
        ties = (low[0] == high[0]) & (low[1] == high[1]) & (low[0] == low[1])
    undecided = (inside > 0) & ~wins & ~losses & ~ties
    share = np.where(wins, 1.0, np.where(losses, 0.0, 0.5))
    value = float(((pos * below).sum() + (inside * share).sum()) / pairs)
    return value, float(inside[undecided].sum() / (2 * pairs))


def group_auc(table: ScoreTable, g: int) -> float | None:
    """Exact when the table kept the rows; from the cells when binned; else from the histogram."""
    if table.exact is not None:
        return _auc_sorted(*table.exact[g])
    if table.cells is not None:
        found = auc_cells(table.hist[g, 0], table.hist[g, 1], table.cells.low[g], table.cells.high[g])
        return None if found is None else found[0]
    return auc(table.hist[g, 0], table.hist[g, 1])


def error_bounds(table: ScoreTable, g: int) -> dict[str, float | None]:
    """The largest possible |reported − exact| of the binned metrics of group ``g`` (empty when exact).

    AUC: :func:`auc_cells`. Scoring rate: the share of the group in the cells that may hold the
    sample median (the rate counts them below it, so the exact rate lies in [rate, rate + bound]).
    ECE, Brier, calibration-in-the-large, the mean score and SMD come from exact integer sums and
    carry no binning error.
    """
    if table.cells is None:
        return {}
    rows = int(table.n[g].sum())
    found = auc_cells(table.hist[g, 0], table.hist[g, 1], table.cells.low[g], table.cells.high[g])
    auc_bound = None if found is None or not table.has_label else found[1]
    unsure = int(table.cells.above_unsure[g].sum())
    return {"auc": auc_bound, "scoring_rate": None if rows == 0 else unsure / rows}


def group_ece(table: ScoreTable, g: int, n_bins: int = ECE_BINS) -> float | None:
    return _none_if_nan(float(_ece_vec(*_ece_cells(table, g, n_bins))))


def _ece_cells(table: ScoreTable, g: int, n_bins: int):
    if table.exact is not None:
        return _ece_cells_exact(*table.exact[g], n_bins)
    if table.cells is not None and n_bins == ECE_BINS:  # exact counts and Σs per calibration bin
        neg = table.cells.ece_n[g, 0].astype(np.float64)
        pos = table.cells.ece_n[g, 1].astype(np.float64)
        total = table.cells.ece_sum[g, 0] + table.cells.ece_sum[g, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(neg + pos > 0, total / np.where(neg + pos > 0, neg + pos, 1), 0.0)
        return neg, pos, mean
    return _ece_cells_hist(table.hist[g, 0], table.hist[g, 1], table.edges, n_bins)


def compute_score(
    name: str,
    table: ScoreTable,
    g: int,
    *,
    level: float,
    seed: int = 0,
    replicates: int = DEFAULT_REPLICATES,
    auc_interval: str = "delong",
) -> MetricValue:
    """One score metric of group ``g`` with its interval.

    AUC: exact when the table kept the rows; interval DeLong on the histogram (``auc_interval=
    "bootstrap"`` for a percentile interval over resampled histograms instead). ECE: percentile
    interval from resampling each label's counts over the ten calibration bins, each bin keeping
    its observed mean score (the within-bin spread of scores is far smaller than the binomial
    spread of outcomes: tests check it against resampling the full histogram). Brier,
    calibration-in-the-large, mean score: normal intervals from the exact power sums. Scoring
    rate: Wilson (Clopper–Pearson below ``EXACT_BELOW``), conditional on the sample median.
    """
    n = table.n[g]
    rows = int(n.sum())
    if name == "count":
        return MetricValue(float(rows), rows, None, None, None, None)
    spec = SCORE_METRICS[name]
    if spec.needs_label and not table.has_label:
        return MetricValue(None, None, None, None, None, "not applicable: no label")
    if spec.needs_probability and not table.is_probability:
        return MetricValue(None, None, None, None, None, "not applicable: scores are not probabilities")
    if name == "scoring_rate":
        if table.threshold is None or rows == 0:
            return MetricValue(None, None, rows, None, None, None)
        above = int(table.above[g].sum())
        if rows < EXACT_BELOW:
            low, high = clopper_pearson(above, rows, level=level)
            return MetricValue(above / rows, above, rows, low, high, "clopper-pearson")
        return MetricValue(above / rows, above, rows, *wilson(above, rows, level=level), "wilson")
    if name == "auc":
        value = group_auc(table, g)
        if value is None:
            return MetricValue(None, None, rows, None, None, None)
        if auc_interval == "bootstrap":
            ci = hist_interval(
                lambda d: _auc_vec(d[:, 0], d[:, 1]), table.hist[g], level=level, replicates=replicates, seed=seed
            )
            method: str | None = "bootstrap-percentile"
        elif auc_interval == "delong":
            ci, method = auc_delong(table.hist[g, 0], table.hist[g, 1], level=level), "delong"
        else:
            raise ValueError(f"unknown AUC interval method {auc_interval!r}")
        return MetricValue.estimate(value, None, rows, ci, method if ci else None)
    if name == "ece":
        neg, pos, mean = _ece_cells(table, g, ECE_BINS)
        value = _none_if_nan(float(_ece_vec(neg, pos, mean)))
        if value is None:
            return MetricValue(None, None, rows, None, None, None)
        cells = np.stack([neg, pos]).astype(np.int64)
        ci = hist_interval(
            lambda d: _ece_vec(d[:, 0], d[:, 1], mean), cells, level=level, replicates=replicates, seed=seed
        )
        method = "bootstrap-percentile" if ci else None
        return MetricValue.estimate(value, None, rows, ci, method)
    s1, s2 = table.sum_score[g], table.sum_score_sq[g]
    s3, s4 = table.sum_score_cu[g], table.sum_score_4[g]
    if name == "brier":
        sums = brier_sums(n, s1, s2, s3, s4)
        value = brier(n, s1, s2)
        low_clip = 0.0
    elif name == "calibration_in_the_large":
        b = brier_sums(n, s1, s2, s3, s4)
        sums = RowSums(rows, float(s1.sum() - n[1]), b.total)
        value, low_clip = calibration_in_the_large(n, s1), -1.0
    else:  # mean_score
        sums = RowSums(rows, float(s1.sum()), float(s2.sum()))
        value, low_clip = sums.mean, -math.inf
    if value is None:
        return MetricValue(None, None, rows, None, None, None)
    ci = sums.interval(level=level)
    if ci is not None:
        ci = (max(ci[0], low_clip), ci[1])
    return MetricValue.estimate(value, None, rows, ci, "normal" if ci else None)


def scoring_rates(table: ScoreTable, *, level: float) -> dict[Key, MetricValue]:
    """LL144 scoring rate of every group of ``table`` (use ``table.marginal`` for one feature)."""
    return {key: compute_score("scoring_rate", table, g, level=level) for g, key in enumerate(table.keys)}


def scoring_impact_ratios(
    table: ScoreTable, *, level: float, seed: int = 0, replicates: int = DEFAULT_REPLICATES
) -> dict[Key, MetricValue]:
    """LL144 impact ratios (scoring rate / highest known-category rate) with bootstrap intervals.

    The interval resamples every group's (above, not above) counts (a stratified multinomial
    bootstrap) and holds the sample median fixed. ``numerator``/``denominator`` are the group's
    above-median count and size.
    """
    rows = table.n.sum(axis=1)
    above = table.above.sum(axis=1)
    rates = {key: scoring_rate(int(a), int(r)) for key, a, r in zip(table.keys, above, rows, strict=True)}
    ratios = impact_ratios(rates)
    known = np.array([UNKNOWN not in k for k in table.keys], dtype=bool)
    cells = np.stack([above, rows - above], axis=1)[:, :, None]  # (G, 2, 1)
    draws = multinomial_bootstrap(cells, replicates=replicates, seed=seed)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        boot_rates = draws[:, :, 0] / draws.sum(axis=2)
        usable = known & np.isfinite(boot_rates)
        top = np.where(usable, boot_rates, -np.inf).max(axis=1, initial=-np.inf)
    out: dict[Key, MetricValue] = {}
    for g, key in enumerate(table.keys):
        value = ratios[key]
        if value is None:
            note = "not applicable: unknown category" if not known[g] else None
            out[key] = MetricValue(None, int(above[g]), int(rows[g]), None, None, note)
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            samples = np.where(top > 0, boot_rates[:, g] / np.where(top > 0, top, 1), np.nan)
        ci = percentile_interval(samples, level=level)
        out[key] = MetricValue.estimate(value, int(above[g]), int(rows[g]), ci, "bootstrap-percentile" if ci else None)
    return out
