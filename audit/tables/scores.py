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
end of a score audit, whatever the engine; see docs/large-data.md).

Many rows of continuous probabilities take the binned path instead (:func:`bins_scores`,
:func:`cell_index`, :func:`cell_sql`, :class:`ScoreCells`): cells of 2^14 equal-width bins split at
the calibration edges and the decision threshold, counted in the engine's own GROUP BY with exact
fixed-point sums, so that memory is bounded whatever the rows and every engine gives the same table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from audit.tables.groups import WEIGHT, finest_groups, frame_weights, level_sort_key

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
    cells: ScoreCells | None = None  # the binned path's extra statistics (None: every score known)

    @property
    def binned(self) -> bool:
        """True when the scores were counted in cells holding several distinct scores (see ScoreCells)."""
        return self.cells is not None

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
        cells = None if self.cells is None else self.cells.marginal(members)
        return ScoreTable(
            tuple(features),
            tuple(keys),
            self.edges,
            hist,
            s1,
            s2,
            s3,
            s4,
            above,
            self.threshold,
            self.has_label,
            exact,
            cells,
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
    split_at: float | None = None,
    bin_rows: bool = False,
) -> ScoreTable:
    """One pass: score histogram, power sums and above-threshold counts per (group, label).

    ``bins`` equal-width bins cover ``score_range`` (use ``(0.0, 1.0)`` for probabilities, so
    tables from different data share their bins) or else ``[min, max]`` of the scores; a score
    outside a given range is an error, not silently clipped. ``threshold`` defaults to
    :func:`sample_median` of all the scores handed in (every row, every category). ``scores``
    must be finite. ``exact`` keeps each group's sorted scores for exact AUC and ECE.

    Bounded memory (the binned path, ``bin_rows``; see :func:`bins_scores`): probabilities are
    counted in the cells of :func:`cell_index`
    (``split_at``: the decision threshold, so that no cell straddles it). When a cell holds two
    distinct scores, the table is binned (``table.cells``; AUC and the scoring rate carry an error
    bound, the sums stay exact); else every score is known and the table is exact as above. A
    frame read by a SQL engine with :func:`cell_sql` (``CELL`` columns; ``scores`` then hold each
    cell's smallest score) gives the same table as its rows would.
    """
    n = len(frame)
    s = _values("scores", scores, n)
    y = _labels(y_true, n)
    group, keys = finest_groups(frame, sensitive)
    if CELL in frame.columns:  # a SQL engine's cells: merge those that cleaning put in one group
        if threshold is not None:
            raise ValueError("a binned read has no exact median: count its cells without a threshold")
        gy = group * 2 + y
        c = frame[CELL].to_numpy(dtype=np.int64)
        order = np.lexsort((c, gy))
        weights = frame_weights(frame)
        count = np.ones(n, np.int64) if weights is None else weights
        sums = [frame[name].to_numpy(dtype=np.int64)[order] for name in CELL_SUMS]
        high = frame[CELL_MAX].to_numpy(dtype=np.float64)
        entries = _reduce_entries(gy[order], c[order], count[order], s[order], high[order], sums)
        return _binned_table(features=tuple(sensitive), keys=tuple(keys), entries=entries, has_label=y_true is not None)
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

    if bin_rows and exact and n and s.min() >= 0.0 and s.max() <= 1.0:
        c = cell_index(s, split_at)
        if bool(((cells[1:] == cells[:-1]) & (c[1:] == c[:-1]) & (s[1:] != s[:-1])).any()):
            table = _binned_table(
                features=tuple(sensitive),
                keys=tuple(keys),
                entries=_entries_from_rows(cells, s, split_at),
                has_label=y_true is not None,
            )
            if threshold is None:
                return table
            above = np.bincount(cells[s > threshold], minlength=len(keys) * 2).reshape(-1, 2)
            assert table.cells is not None  # binned
            cells_known = dataclasses.replace(table.cells, above_unsure=np.zeros_like(above))
            return dataclasses.replace(
                table, above=above.astype(np.int64), threshold=float(threshold), cells=cells_known
            )

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
# the binned path: scores counted in cells, in bounded memory


#: Fine bins of the binned path: a probability s falls in bin ⌊s·CELL_BINS⌋ (1.0 in the last one).
CELL_BINS = 1 << 14
#: Inner edges of the ten calibration bins of audit.measures.scores (sklearn's, closed on the right).
ECE_EDGES = np.linspace(0.0, 1.0, 11)[1:-1]
#: Cell of a score: its fine bin plus the calibration edges below it plus 1 at or above a decision
#: threshold. Cells are ordered like the scores, never straddle a calibration edge or the threshold.
CELL_SLOTS = CELL_BINS + len(ECE_EDGES) + 1
#: Compact-frame columns of a binned read: the cell, its largest score (the score column holds its
#: smallest) and fixed-point sums of s, s², s³, s⁴, each split in a high and a low part.
CELL = "__fairgate_cell__"
CELL_MAX = "__fairgate_cell_max__"
CELL_SUMS = tuple(f"__fairgate_s{p}{part}__" for p in (1, 2, 3, 4) for part in ("h", "l"))
CELL_COLUMNS = (CELL, CELL_MAX, *CELL_SUMS)
# Fixed point: x in [0, 1] is ⌊x·2^52⌋/2^52, kept as ⌊x·2^26⌋ (high) and the rest (low, < 2^26), so
# sums of a billion rows fit in 64-bit integers on every engine and are exact whatever their order.
_HI, _LO = 1 << 26, 1 << 52
#: Score audits of up to this many rows (as read, before filters) keep every distinct score (exact);
#: above it probabilities are counted in cells when some cell holds two distinct scores.
EXACT_ROWS = 1 << 20


def bins_scores(rows: int) -> bool:
    """Whether an audit of ``rows`` rows (as read) counts probabilities in cells (see EXACT_ROWS)."""
    return rows > EXACT_ROWS


_ECE_SLOTS = len(ECE_EDGES) + 1


def cell_index(s: np.ndarray, split_at: float | None = None) -> np.ndarray:
    """The cell (0 … CELL_SLOTS − 1) of each score in [0, 1]; the SQL of :func:`cell_sql` in numpy."""
    c = np.minimum(np.floor(s * float(CELL_BINS)), CELL_BINS - 1).astype(np.int64)
    c += np.searchsorted(ECE_EDGES, s, side="left")  # edges strictly below s (sklearn's bins are closed right)
    if split_at is not None:
        c += s >= split_at
    return c


def _powers(s: np.ndarray) -> tuple[np.ndarray, ...]:
    s2 = s * s
    return s, s2, s2 * s, s2 * s2


def _fixed(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hi = np.floor(x * float(_HI))
    return hi.astype(np.int64), (np.floor(x * float(_LO)) - hi * float(_HI)).astype(np.int64)


def cell_sql(
    column: str, *, split_at: float | None, quote: Callable[[str], str], dialect: str = "duckdb"
) -> tuple[str, list[str]]:
    """``(cell expression, aggregates)`` for a GROUP BY that bins the score ``column``.

    The same arithmetic as :func:`cell_index` and :func:`_fixed` (IEEE doubles, floor, integer sums),
    so DuckDB and Spark produce the numpy engine's cells bit for bit. Rows whose score is missing,
    NaN or outside [0, 1] get no cell (NULL); :func:`settle_cells` then asks for the plain read.
    """

    def double(x: float) -> str:
        return f"CAST('{float(x)!r}' AS DOUBLE)"

    score = quote(column)
    wide = "HUGEINT" if dialect == "duckdb" else "DECIMAL(38, 0)"
    s = f"CAST({score} AS DOUBLE)"
    inside = f"({s} >= {double(0.0)} AND {s} <= {double(1.0)})"
    parts = [f"CAST(LEAST(floor({s} * {double(CELL_BINS)}), {CELL_BINS - 1}) AS INTEGER)"]
    parts += [f"CAST(({s} > {double(e)}) AS INTEGER)" for e in ECE_EDGES]
    if split_at is not None:
        parts.append(f"CAST(({s} >= {double(split_at)}) AS INTEGER)")
    key = f"CASE WHEN {inside} THEN {' + '.join(parts)} END"
    powers = [s, f"({s} * {s})", f"(({s} * {s}) * {s})", f"(({s} * {s}) * ({s} * {s}))"]
    aggregates = [f"min({s}) AS {score}", f"max({s}) AS {quote(CELL_MAX)}"]
    for p, x in enumerate(powers):
        # Σ⌊x·2^52⌋ once per cell, exact (DuckDB sums BIGINT in 128 bits; Spark in DECIMAL(38, 0)), then
        # handed over as high·2^26 + low: the numpy engine sums each row's (high, low) to the same total
        fixed = f"CASE WHEN {inside} THEN CAST(floor({x} * {double(_LO)}) AS {wide}) END"
        high, low = quote(CELL_SUMS[2 * p]), quote(CELL_SUMS[2 * p + 1])
        div = "//" if dialect == "duckdb" else "div"  # integer division (the sums are not negative)
        aggregates.append(f"CAST(sum({fixed}) {div} {_HI} AS BIGINT) AS {high}")
        aggregates.append(f"CAST(sum({fixed}) % {_HI} AS BIGINT) AS {low}")
    return key, aggregates


def settle_cells(frame: pd.DataFrame, score: str) -> pd.DataFrame | None:
    """A binned read's frame as the audit uses it.

    None when the rows are few enough to keep every score (:func:`bins_scores`) or a score is NaN
    or outside [0, 1] (read the distinct scores instead); the plain compact frame when every cell
    holds one distinct score (the exact path, as if the scores had been read); else the frame with
    its cell columns.
    """
    cell = frame[CELL]
    if not bins_scores(int(frame[WEIGHT].sum())) or bool((cell.isna() & frame[CELL_MAX].notna()).any()):
        return None
    low, high = frame[score].to_numpy(dtype=np.float64), frame[CELL_MAX].to_numpy(dtype=np.float64)
    has = cell.notna().to_numpy()
    if bool((low[has] == high[has]).all()):
        return frame.drop(columns=list(CELL_COLUMNS))
    frame[CELL] = cell.astype(np.int64)
    for name in CELL_SUMS:
        frame[name] = frame[name].astype(np.int64)
    return frame


@dataclass(frozen=True)
class ScoreCells:
    """What a binned :class:`ScoreTable` knows beyond its histogram (over cells, not equal bins).

    ``low[g, y, c]``/``high[g, y, c]``: the smallest and largest score in cell c (NaN when empty):
    pairs of a positive and a negative in one cell are the AUC's only ambiguity, none when all
    their scores are equal. ``ece_n``/``ece_sum`` ``(G, 2, 10)``: rows and exact Σs per calibration
    bin. ``above_unsure[g, y]``: rows in the cells that may hold the sample median (their side of
    it is unknown; ``above`` counts only rows in cells wholly above).
    """

    low: np.ndarray
    high: np.ndarray
    ece_n: np.ndarray
    ece_sum: np.ndarray
    above_unsure: np.ndarray

    def marginal(self, members: Sequence[Sequence[int]]) -> ScoreCells:
        def stacked(a: np.ndarray, reduce: Callable[..., np.ndarray]) -> np.ndarray:
            if not members:
                return a[:0].copy()
            return np.stack([reduce(a[list(m)], axis=0) for m in members])

        with np.errstate(invalid="ignore"):
            return ScoreCells(
                low=stacked(self.low, np.fmin.reduce),
                high=stacked(self.high, np.fmax.reduce),
                ece_n=stacked(self.ece_n, np.sum),
                ece_sum=stacked(self.ece_sum, np.sum),
                above_unsure=stacked(self.above_unsure, np.sum),
            )


def _runs(*keys: np.ndarray) -> np.ndarray:
    """Start of every run of equal keys in arrays already sorted by them."""
    if not len(keys[0]):
        return np.zeros(0, dtype=np.int64)
    change = np.zeros(len(keys[0]), dtype=bool)
    change[0] = True
    for k in keys:
        change[1:] |= k[1:] != k[:-1]
    return np.flatnonzero(change)


def _reduce_entries(gy, c, n, low, high, sums):
    """Merge entries (sorted by gy, c) that share a cell: counts and sums add, extremes stay."""
    starts = _runs(gy, c)
    return (
        gy[starts],
        c[starts],
        np.add.reduceat(n, starts) if len(starts) else n[:0],
        np.minimum.reduceat(low, starts) if len(starts) else low[:0],
        np.maximum.reduceat(high, starts) if len(starts) else high[:0],
        [np.add.reduceat(x, starts) if len(starts) else x[:0] for x in sums],
    )


def _entries_from_rows(gy: np.ndarray, s: np.ndarray, split_at: float | None):
    """Cells of rows sorted by (gy, s), chunk by chunk (8 integers a row only within a chunk)."""
    pieces = []
    for start in range(0, len(s), _CHUNK * 4):
        g, v = gy[start : start + _CHUNK * 4], s[start : start + _CHUNK * 4]
        sums = [part for x in _powers(v) for part in _fixed(x)]
        pieces.append(_reduce_entries(g, cell_index(v, split_at), np.ones(len(v), np.int64), v, v, sums))
    if not pieces:
        z = np.zeros(0, np.int64)
        return z, z, z, np.zeros(0), np.zeros(0), [z] * len(CELL_SUMS)
    gy_, c_, n_, low_, high_ = (np.concatenate([p[i] for p in pieces]) for i in range(5))
    sums = [np.concatenate([p[5][i] for p in pieces]) for i in range(len(CELL_SUMS))]
    return _reduce_entries(gy_, c_, n_, low_, high_, sums)


def _binned_table(
    *,
    features: tuple[str, ...],
    keys: tuple[Key, ...],
    entries,
    has_label: bool,
) -> ScoreTable:
    gy, c, n, low, high, sums = entries
    total = len(keys) * 2
    shape = (len(keys), 2, CELL_SLOTS)
    flat = gy * CELL_SLOTS + c
    hist = np.zeros(total * CELL_SLOTS, np.int64)
    hist[flat] = n
    lo, hi = np.full(total * CELL_SLOTS, np.nan), np.full(total * CELL_SLOTS, np.nan)
    lo[flat], hi[flat] = low, high
    # exact integer totals per (group, label) and per (group, label, calibration bin), then one rounding
    per = np.zeros((len(CELL_SUMS), total), np.int64)
    for i, x in enumerate(sums):
        np.add.at(per[i], gy, x)

    def value(h: int, low_part: int) -> float:
        return (h * _HI + low_part) / _LO

    power = [
        np.array([value(int(per[2 * p, k]), int(per[2 * p + 1, k])) for k in range(total)], dtype=np.float64).reshape(
            -1, 2
        )
        for p in range(4)
    ]
    ece_bin = np.searchsorted(ECE_EDGES, low, side="left")
    slot = gy * _ECE_SLOTS + ece_bin
    ece_n = np.zeros(total * _ECE_SLOTS, np.int64)
    np.add.at(ece_n, slot, n)
    ece_h, ece_l = np.zeros_like(ece_n), np.zeros_like(ece_n)
    np.add.at(ece_h, slot, sums[0])
    np.add.at(ece_l, slot, sums[1])
    ece_sum = np.array([value(int(a), int(b)) for a, b in zip(ece_h, ece_l, strict=True)], dtype=np.float64)
    hist = hist.reshape(shape)
    lo, hi = lo.reshape(shape), hi.reshape(shape)
    # the sample median (every row) lies between the smallest and largest score of the cells holding
    # its middle rank(s): rows in later cells are above it, rows in those cells are unsure
    everyone = hist.sum(axis=(0, 1))
    rows = int(everyone.sum())
    above = np.zeros((len(keys), 2), np.int64)
    unsure = np.zeros((len(keys), 2), np.int64)
    threshold = None
    if rows:
        ends = np.cumsum(everyone)
        first = int(np.searchsorted(ends, (rows - 1) // 2, side="right"))
        last = int(np.searchsorted(ends, rows // 2, side="right"))
        with np.errstate(invalid="ignore"):
            m_low = float(np.nanmin(lo[:, :, first]))
            m_high = float(np.nanmax(hi[:, :, last]))
        threshold = (m_low + m_high) / 2
        above = hist[:, :, last + 1 :].sum(axis=-1)
        if not (first == last and m_low == m_high):  # one score at the median: its rows are not above
            unsure = hist[:, :, first : last + 1].sum(axis=-1)
    return ScoreTable(
        features=features,
        keys=keys,
        edges=np.linspace(0.0, 1.0, CELL_SLOTS + 1),  # cells are not equal-width: only the range is meant
        hist=hist,
        sum_score=power[0],
        sum_score_sq=power[1],
        sum_score_cu=power[2],
        sum_score_4=power[3],
        above=above.astype(np.int64),
        threshold=threshold,
        has_label=has_label,
        exact=None,
        cells=ScoreCells(
            low=lo,
            high=hi,
            ece_n=ece_n.reshape(len(keys), 2, -1),
            ece_sum=ece_sum.reshape(len(keys), 2, -1),
            above_unsure=unsure.astype(np.int64),
        ),
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
