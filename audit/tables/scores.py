"""The sufficient statistics of score and regression audits: one pass, then engine-free.

Score audits (AUC, calibration, Brier, the LL144 scoring rate) count rows per
(finest group, label, score bin): a ``(G, 2, bins)`` integer histogram. Beside it sit exact
per-(group, label) power sums of the score (Σs, Σs², Σs³, Σs⁴: Brier, calibration-in-the-large
and their variances are exact functions of these) and the exact number of rows scoring strictly
above a threshold (by default the full sample's median: the LL144 scoring rate). Regression
audits keep per-group sums of y, ŷ and the errors. Finest groups, their ``unknown`` level and
their order are exactly those of :mod:`audit.tables.groups`; every marginal (one feature alone,
``overall``) is a sum of the finest table, never a second pass over the rows.

The table also keeps every group's scores, sorted per label (``exact=True``, the default), so AUC
and ECE are exact. Every engine produces the same table: the DuckDB and Spark engines count each
distinct (group, label, score) and the rows are expanded here to the same sorted arrays, so their
float sums are bit-identical to the in-memory engine's (this costs 16 bytes per scored row at the
end of a score audit, whatever the engine; see README "Large data").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from audit.tables.groups import finest_groups, frame_weights, level_sort_key

DEFAULT_BINS = 4096
_CHUNK = 1 << 18  # rows per bincount chunk (see DESIGN.md: cache-sized chunks are ~3× faster)

Key = tuple[str, ...]


# --------------------------------------------------------------------------------------------
# shared one-pass helpers


def _labels(y_true: np.ndarray | None, n: int) -> np.ndarray:
    if y_true is None:
        return np.zeros(n, dtype=np.int64)
    y = np.asarray(y_true)
    if y.shape != (n,):
        raise ValueError(f"y_true has shape {y.shape}, expected ({n},)")
    if y.dtype != bool and not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must hold only 0 and 1 (or booleans)")
    return y.astype(np.int64)


def _values(name: str, values: np.ndarray, n: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (n,):
        raise ValueError(f"{name} has shape {v.shape}, expected ({n},)")
    if not np.isfinite(v).all():
        raise ValueError(f"{name} must be finite (drop or reject missing values before counting)")
    return v


def _chunked_bincount(packed: np.ndarray, total: int) -> np.ndarray:
    flat = np.zeros(total, dtype=np.int64)
    for start in range(0, len(packed), _CHUNK):
        flat += np.bincount(packed[start : start + _CHUNK], minlength=total)
    return flat


def _group_sums(keys: Sequence[Key], idx: Sequence[int], arrays: Sequence[np.ndarray]):
    """Sum the per-group ``arrays`` (groups on axis 0) over the features not in ``idx``."""
    slots: dict[Key, list[int]] = {}
    for g, key in enumerate(keys):
        slots.setdefault(tuple(key[i] for i in idx), []).append(g)
    ordered = sorted(slots, key=level_sort_key)
    summed = [np.stack([a[slots[k]].sum(axis=0) for k in ordered]) if ordered else a[:0].copy() for a in arrays]
    return ordered, [slots[k] for k in ordered], summed


# --------------------------------------------------------------------------------------------
# scores


@dataclass(frozen=True)
class ScoreTable:
    """Score histogram and exact sums per finest group (``keys[g]``) and label (0, 1).

    ``hist[g, y, b]`` counts rows of group g with label y whose score falls in bin b =
    ``[edges[b], edges[b+1])`` (the last bin also holds ``edges[-1]``). Without a label every row
    sits in y = 0 and ``has_label`` is False. ``sum_score[g, y]`` = Σs, ``sum_score_sq`` = Σs²,
    ``sum_score_cu`` = Σs³, ``sum_score_4`` = Σs⁴ over the same rows, in float64, so Brier and
    calibration-in-the-large do not depend on the binning. ``above[g, y]`` counts rows scoring
    strictly above ``threshold``. ``exact[g] = (sorted scores with y=0, sorted scores with y=1)``
    when the rows were kept in memory, else None.
    """

    features: tuple[str, ...]
    keys: tuple[Key, ...]
    edges: np.ndarray  # float64, (bins + 1,)
    hist: np.ndarray  # int64, (G, 2, bins)
    sum_score: np.ndarray  # float64, (G, 2)
    sum_score_sq: np.ndarray
    sum_score_cu: np.ndarray
    sum_score_4: np.ndarray
    above: np.ndarray  # int64, (G, 2)
    threshold: float | None
    has_label: bool
    exact: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None

    @property
    def n(self) -> np.ndarray:
        """Rows per (group, label), int64 ``(G, 2)`` — always equal to the histogram's sums."""
        return self.hist.sum(axis=-1)

    @property
    def bins(self) -> int:
        return int(self.hist.shape[-1])

    @property
    def centres(self) -> np.ndarray:
        return (self.edges[:-1] + self.edges[1:]) / 2

    @property
    def is_probability(self) -> bool:
        """Scores binned inside [0, 1] (calibration metrics make sense only for these)."""
        return bool(self.edges[0] >= 0.0 and self.edges[-1] <= 1.0)

    def index(self, key: Key) -> int:
        return self.keys.index(tuple(key))

    def marginal(self, features: Sequence[str]) -> ScoreTable:
        """Sum the table over every feature not in ``features`` (order kept as given)."""
        idx = [self.features.index(f) for f in features]
        keys, members, (hist, s1, s2, s3, s4, above) = _group_sums(
            self.keys,
            idx,
            [self.hist, self.sum_score, self.sum_score_sq, self.sum_score_cu, self.sum_score_4, self.above],
        )
        exact: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None
        if self.exact is not None:
            scores = self.exact

            def merged(group: Sequence[int], y: int) -> np.ndarray:
                return np.sort(np.concatenate([scores[g][y] for g in group]), kind="stable")

            exact = tuple((merged(group, 0), merged(group, 1)) for group in members)
        return ScoreTable(
            tuple(features), tuple(keys), self.edges, hist, s1, s2, s3, s4, above, self.threshold, self.has_label, exact
        )

    def overall(self) -> ScoreTable:
        """The whole sample as a one-group table (key ``()``)."""
        return self.marginal(())


def sample_median(scores: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The exact median of the scores handed in (mean of the two middle values when n is even).

    For the NYC LL144 scoring rate (6 RCNY § 5-300: "the rate at which individuals in a category
    receive a score above the sample's median score") the sample is every scored applicant,
    *including* those whose sex or race/ethnicity is unknown: the median describes the score
    distribution, not a category, and the rule computes it before splitting into categories.
    Rows without a score cannot enter it; they must be dropped (or rejected) by the caller, as
    :func:`count_scores` accepts only finite scores.
    """
    s = np.asarray(scores, dtype=np.float64)
    if weights is None:
        if s.size == 0:
            raise ValueError("the median of an empty sample is undefined")
        return float(np.median(s))
    # ``weights[i]`` rows score ``s[i]`` (a compact frame): the same middle values np.median finds
    w = np.asarray(weights, dtype=np.int64)
    n = int(w.sum())
    if n == 0:
        raise ValueError("the median of an empty sample is undefined")
    order = np.argsort(s, kind="stable")
    ends = np.cumsum(w[order])  # rows up to and including each distinct value, in score order

    def at(rank: int) -> float:  # the value at 0-based position ``rank`` of the expanded sorted sample
        return float(s[order][int(np.searchsorted(ends, rank, side="right"))])

    if n % 2:
        return at(n // 2)
    return float(np.mean(np.array([at(n // 2 - 1), at(n // 2)])))  # np.median's own arithmetic


def _sorted_cells(cells: np.ndarray, values: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Rows ordered by (cell, value), each compact row repeated ``weights`` times."""
    order = np.lexsort((values, cells))
    cells, values = cells[order], values[order]
    if weights is not None:
        w = weights[order]
        cells, values = np.repeat(cells, w), np.repeat(values, w)
    return cells, values


def count_scores(
    frame: pd.DataFrame,
    *,
    sensitive: Sequence[str],
    y_true: np.ndarray | None,
    scores: np.ndarray,
    bins: int = DEFAULT_BINS,
    score_range: tuple[float, float] | None = None,
    threshold: float | None = None,
    exact: bool = True,
) -> ScoreTable:
    """One pass: score histogram, power sums and above-threshold counts per (group, label).

    ``bins`` equal-width bins cover ``score_range`` (use ``(0.0, 1.0)`` for probabilities, so
    tables from different data share their bins) or else ``[min, max]`` of the scores; a score
    outside a given range is an error, not silently clipped. ``threshold`` defaults to
    :func:`sample_median` of all the scores handed in (every row, every category). ``scores``
    must be finite. ``exact`` keeps each group's sorted scores for exact AUC and ECE.
    """
    n = len(frame)
    s = _values("scores", scores, n)
    y = _labels(y_true, n)
    group, keys = finest_groups(frame, sensitive)
    # Sorted by (group, label, score): every sum below is then taken in an order fixed by the
    # values alone, so the table does not depend on row order or on the engine that read the
    # rows (a compact frame's rows are expanded to the same sorted arrays).
    cells, s = _sorted_cells(group * 2 + y, s, frame_weights(frame))
    n = len(s)
    if bins < 1:
        raise ValueError("bins must be at least 1")
    if score_range is not None:
        lo, hi = float(score_range[0]), float(score_range[1])
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise ValueError(f"score_range must be finite with low < high, got {score_range}")
        if n and (s.min() < lo or s.max() > hi):
            raise ValueError(f"scores outside score_range {score_range}: [{s.min()}, {s.max()}]")
    else:
        lo, hi = (float(s.min()), float(s.max())) if n else (0.0, 1.0)
        if hi <= lo:  # one distinct score: any positive width will do (probabilities keep [0, 1])
            lo, hi = (0.0, 1.0) if 0.0 <= lo <= 1.0 else (lo, lo + 1.0)
    edges = np.linspace(lo, hi, bins + 1)
    edges[-1] = hi
    where = np.minimum(((s - lo) * (bins / (hi - lo))).astype(np.int64), bins - 1)
    # the product can round across an edge: settle on the edges themselves (as np.histogram does)
    where -= s < edges[where]
    where += (s >= edges[where + 1]) & (where < bins - 1)

    total = len(keys) * 2
    hist = _chunked_bincount(cells * bins + where, total * bins).reshape(-1, 2, bins)

    s2 = s * s
    sums = [np.bincount(cells, weights=w, minlength=total).reshape(-1, 2) for w in (s, s2, s2 * s, s2 * s2)]
    if threshold is None and n:
        threshold = sample_median(s)
    above = (
        np.bincount(cells[s > threshold], minlength=total).reshape(-1, 2)
        if threshold is not None
        else np.zeros((len(keys), 2), np.int64)
    )
    kept = None
    if exact:
        parts = np.split(s, np.cumsum(hist.sum(axis=-1).ravel())[:-1])  # already sorted per cell
        kept = tuple((parts[2 * g], parts[2 * g + 1]) for g in range(len(keys)))
    return ScoreTable(
        features=tuple(sensitive),
        keys=tuple(keys),
        edges=edges,
        hist=hist,
        sum_score=sums[0],
        sum_score_sq=sums[1],
        sum_score_cu=sums[2],
        sum_score_4=sums[3],
        above=above.astype(np.int64),
        threshold=None if threshold is None else float(threshold),
        has_label=y_true is not None,
        exact=kept,
    )


# --------------------------------------------------------------------------------------------
# regression


@dataclass(frozen=True)
class RegressionTable:
    """Per finest group: n and exact sums of the outcome, the prediction and the errors.

    Sums of y and ŷ are kept about a common ``shift`` (the mean prediction of the whole sample):
    ``sum_dy`` = Σ(y − shift), ``sum_dy_sq`` = Σ(y − shift)², likewise ``sum_dpred`` and
    ``sum_dpred_sq`` for ŷ. Variances computed from them then do not cancel catastrophically when
    the values are large relative to their spread, and marginals remain plain sums. The error
    e = y − ŷ needs no shift: ``sum_sq_err`` = Σe², ``sum_abs_err`` = Σ|e|, ``sum_err_4`` = Σe⁴.
    Without a label the outcome and error sums are zero and ``has_label`` is False.
    """

    features: tuple[str, ...]
    keys: tuple[Key, ...]
    shift: float
    n: np.ndarray  # int64, (G,)
    sum_dy: np.ndarray  # float64, (G,)
    sum_dy_sq: np.ndarray
    sum_dpred: np.ndarray
    sum_dpred_sq: np.ndarray
    sum_sq_err: np.ndarray
    sum_abs_err: np.ndarray
    sum_err_4: np.ndarray
    has_label: bool

    @property
    def sum_y(self) -> np.ndarray:
        """Σy per group."""
        return self.sum_dy + self.n * self.shift

    @property
    def sum_pred(self) -> np.ndarray:
        """Σŷ per group."""
        return self.sum_dpred + self.n * self.shift

    def index(self, key: Key) -> int:
        return self.keys.index(tuple(key))

    def marginal(self, features: Sequence[str]) -> RegressionTable:
        """Sum the table over every feature not in ``features`` (order kept as given)."""
        idx = [self.features.index(f) for f in features]
        keys, _, arrays = _group_sums(
            self.keys,
            idx,
            [
                self.n,
                self.sum_dy,
                self.sum_dy_sq,
                self.sum_dpred,
                self.sum_dpred_sq,
                self.sum_sq_err,
                self.sum_abs_err,
                self.sum_err_4,
            ],
        )
        n, sum_dy, sum_dy_sq, sum_dpred, sum_dpred_sq, sum_sq_err, sum_abs_err, sum_err_4 = arrays
        return RegressionTable(
            tuple(features),
            tuple(keys),
            self.shift,
            n,
            sum_dy,
            sum_dy_sq,
            sum_dpred,
            sum_dpred_sq,
            sum_sq_err,
            sum_abs_err,
            sum_err_4,
            self.has_label,
        )

    def overall(self) -> RegressionTable:
        return self.marginal(())


def count_regression(
    frame: pd.DataFrame,
    *,
    sensitive: Sequence[str],
    y_true: np.ndarray | None,
    y_pred: np.ndarray,
) -> RegressionTable:
    """One pass: per-group n and sums of y, ŷ, their squares and the errors (all finite)."""
    n = len(frame)
    pred = _values("y_pred", y_pred, n)
    y = np.zeros(n) if y_true is None else _values("y_true", y_true, n)
    group, keys = finest_groups(frame, sensitive)
    g = len(keys)
    # rows in (group, y, ŷ) order, compact rows expanded: sums independent of row order and engine
    order = np.lexsort((pred, y, group))
    group, y, pred = group[order], y[order], pred[order]
    weights = frame_weights(frame)
    if weights is not None:
        w = weights[order]
        group, y, pred = np.repeat(group, w), np.repeat(y, w), np.repeat(pred, w)
    n = len(group)
    shift = float(np.mean(pred)) if n else 0.0
    dy, dp = (y - shift, pred - shift) if y_true is not None else (np.zeros(n), pred - shift)
    err = y - pred if y_true is not None else np.zeros(n)
    err2 = err * err

    def total(w: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=w, minlength=g)

    return RegressionTable(
        features=tuple(sensitive),
        keys=tuple(keys),
        shift=shift,
        n=np.bincount(group, minlength=g).astype(np.int64),
        sum_dy=total(dy),
        sum_dy_sq=total(dy * dy),
        sum_dpred=total(dp),
        sum_dpred_sq=total(dp * dp),
        sum_sq_err=total(err2),
        sum_abs_err=total(np.abs(err)),
        sum_err_4=total(err2 * err2),
        has_label=y_true is not None,
    )


#: Named score bands: the number of equal-count bands.
QUANTILE_BANDS = {"quartiles": 4, "quintiles": 5, "deciles": 10}


def band_cuts(scores: np.ndarray, bands: str | list[float], weights: np.ndarray | None = None) -> list[float]:
    """The upper bounds of every score band but the last: a policy's cut-offs as given, or the sample's
    quantiles k/n by the inverted CDF (the smallest score with at least k/n of the rows at or below it, as
    ``np.quantile(..., method="inverted_cdf")``), counting each row of a compact frame by its weight so
    every engine cuts at the same scores. Tied quantiles give fewer bands."""
    if not isinstance(bands, str):
        return [float(c) for c in bands]
    n = QUANTILE_BANDS[bands]
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return []
    w = np.ones(s.size, dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)
    order = np.argsort(s, kind="stable")
    ends = np.cumsum(w[order])  # rows at or below each sorted score
    total = int(ends[-1])
    cuts: list[float] = []
    for k in range(1, n):
        at = int(np.searchsorted(ends * n, k * total, side="left"))  # first position with ≥ k/n of the rows
        value = float(s[order][at])
        if (not cuts or value > cuts[-1]) and value < float(s[order][-1]):
            cuts.append(value)
    return cuts


def band_labels(scores: np.ndarray, cuts: list[float]) -> np.ndarray:
    """Each score's band, named so that the bands sort in score order: ``01 [≤ 0.31]``,
    ``02 [> 0.31 to ≤ 0.45]``, …, ``10 [> 0.88]``. A score equal to a cut-off belongs to the band below it."""
    s = np.asarray(scores, dtype=np.float64)
    index = np.searchsorted(np.asarray(cuts, dtype=np.float64), s, side="left")
    width = max(2, len(str(len(cuts) + 1)))
    names = []
    for i in range(len(cuts) + 1):
        if not cuts:
            span = "all"
        elif i == 0:
            span = f"≤ {cuts[0]:.4g}"
        elif i == len(cuts):
            span = f"> {cuts[-1]:.4g}"
        else:
            span = f"> {cuts[i - 1]:.4g} to ≤ {cuts[i]:.4g}"
        names.append(f"{i + 1:0{width}d} [{span}]")
    return np.asarray(names, dtype=object)[index]
