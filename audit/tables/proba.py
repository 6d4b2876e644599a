"""Probabilistic group membership: expected counts from probability columns (a proxy such as BISG).

A sensitive feature given as K probability columns (``--sensitive-proba race=p_white,p_black,…``)
spreads each row over the K groups with weights π_ik. The audit's counts become *expected* counts:
Σ π_ik over the rows of each (group, y, ŷ) cell. Everything an audit needs from the rows comes out
of the engine's one GROUP BY, keyed by the raw columns it already groups by plus three derived
keys per row —

- ``STATE``: 0 valid, 1 unknown (every column missing: an explicit ``unknown`` group, as a missing
  recorded value is), 2 some but not all missing, 3 a negative value, 4 not summing to 1 within
  :data:`TOLERANCE` (2–4 stop the audit with a one-line error);
- ``TOP``: the most likely group (the first of the largest), for the most-likely-group comparison;
- ``BIN``: the largest probability in :data:`BINS` equal-width bins: with ``TOP`` it forms the
  *proxy cells* the partial-identification bounds are computed over (audit.measures.proba);

and per column k the sums Σ π_ik and Σ π_ik² (the latter for effective sample sizes). Each row's
probabilities are divided by their sum (so rounding in a file does not leak mass) and each sum is
taken in fixed point — ``floor(π·2³² + 0.5)`` as a 64-bit integer — so that the totals are exact
integers whatever order an engine adds the rows in: numpy, DuckDB and Spark give identical tables.
The rounding is at most 2⁻³³ per row and column (a relative error below 10⁻⁹ on any expected count).

:func:`compact_proba` does this pass in numpy (the in-memory engine, and rows whose probabilities
were estimated inline from a policy's ``proxy:`` block); :func:`proba_sql` writes the same pass as
one SQL query for DuckDB and Spark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from audit.tables.groups import UNKNOWN, WEIGHT, finest_groups, frame_weights

#: A row's probabilities must sum to 1 within this (absolute); they are then divided by their sum.
TOLERANCE = 1e-3
#: Bins of the largest probability: with the most likely group, the proxy cells of the bounds.
BINS = 10
#: Fixed-point scale of the per-row sums (2³²): exact 64-bit sums up to 2³¹ rows.
SCALE = 1 << 32
STATE = "__fairgate_pstate__"
TOP = "__fairgate_ptop__"
BIN = "__fairgate_pbin__"
STATES = {0: "valid", 1: "unknown", 2: "partly missing", 3: "negative", 4: "not summing to 1"}


def sum_column(k: int) -> str:
    return f"__fairgate_ps{k}__"


def square_column(k: int) -> str:
    return f"__fairgate_pq{k}__"


@dataclass(frozen=True)
class ProbaSpec:
    """One sensitive feature given as probability columns: its name, the columns and their levels."""

    feature: str
    columns: tuple[str, ...]

    @property
    def levels(self) -> tuple[str, ...]:
        """Group names: the column names without a ``p_``/``prob_`` prefix (``p_white`` → ``white``)."""
        out = []
        for column in self.columns:
            name = column
            for prefix in ("prob_", "p_"):
                if name.lower().startswith(prefix) and len(name) > len(prefix):
                    name = name[len(prefix) :]
                    break
            out.append(name)
        return tuple(out)

    def to_text(self) -> str:
        return f"{self.feature}={','.join(self.columns)}"

    def aggregates(self) -> list[str]:
        return [
            *(sum_column(k) for k in range(len(self.columns))),
            *(square_column(k) for k in range(len(self.columns))),
        ]


def parse_proba(text: str) -> ProbaSpec:
    """``race=p_white,p_black,…`` → a :class:`ProbaSpec` (ValueError with the reason otherwise)."""
    feature, sep, rest = text.partition("=")
    columns = tuple(c.strip() for c in rest.split(",") if c.strip())
    if not sep or not feature.strip():
        raise ValueError(f"{text!r} is not FEATURE=COLUMN,COLUMN,…")
    if len(columns) < 2:
        raise ValueError(f"{text!r} names {len(columns)} probability column(s); a feature needs at least 2")
    if len(set(columns)) != len(columns):
        raise ValueError(f"{text!r} names a column twice")
    spec = ProbaSpec(feature.strip(), columns)
    if len(set(spec.levels)) != len(columns) or UNKNOWN in spec.levels:
        raise ValueError(
            f"{text!r}: the columns' group names {', '.join(spec.levels)} must be distinct, not {UNKNOWN!r}"
        )
    return spec


# --- the pass in numpy ----------------------------------------------------------------------


def _fixed(values: np.ndarray) -> np.ndarray:
    return np.floor(values * float(SCALE) + 0.5).astype(np.int64)


def row_keys(probabilities: np.ndarray) -> dict[str, np.ndarray]:
    """Per row: STATE, TOP, BIN and the fixed-point π and π² of every column (zeros unless valid)."""
    p = np.asarray(probabilities, dtype=np.float64)
    n, k = p.shape
    missing = np.isnan(p)
    all_missing = missing.all(axis=1)
    some_missing = missing.any(axis=1) & ~all_missing
    with np.errstate(invalid="ignore"):
        negative = (p < 0).any(axis=1)
    total = np.zeros(n)
    for j in range(k):  # left to right, as the SQL adds them
        total = total + p[:, j]
    with np.errstate(invalid="ignore"):
        off = ~(np.abs(total - 1.0) <= TOLERANCE)
    state = np.select([all_missing, some_missing, negative, off], [1, 2, 3, 4], 0).astype(np.int64)
    valid = state == 0
    safe = np.where(valid, total, 1.0)
    with np.errstate(invalid="ignore"):
        normal = np.where(valid[:, None], p / safe[:, None], 0.0)
    largest = normal.max(axis=1) if k else np.zeros(n)
    top = np.where(valid, np.argmax(normal == largest[:, None], axis=1), -1).astype(np.int64)
    bins = np.where(valid, np.minimum(np.floor(largest * BINS), BINS - 1), -1).astype(np.int64)
    out = {STATE: state, TOP: top, BIN: bins}
    for j in range(k):
        out[sum_column(j)] = _fixed(normal[:, j])
        out[square_column(j)] = _fixed(normal[:, j] * normal[:, j])
    return out


def probabilities_of(frame: pd.DataFrame, spec: ProbaSpec) -> np.ndarray:
    """The probability columns as floats (text that is not a number counts as missing)."""
    return np.column_stack(
        [pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan) for c in spec.columns]
    )


def compact_proba(frame: pd.DataFrame, *, keep: Sequence[str], spec: ProbaSpec) -> pd.DataFrame:
    """``frame`` (rows, or a compact frame with :data:`WEIGHT`) grouped by ``keep`` and the derived keys,
    with the row count and the fixed-point sums: the frame DuckDB and Spark return for the same pass."""
    keys = row_keys(probabilities_of(frame, spec))
    weights = frame_weights(frame)
    part = frame[list(keep)].copy()
    for name in (STATE, TOP, BIN):
        part[name] = keys[name]
    part[WEIGHT] = np.ones(len(part), np.int64) if weights is None else weights
    for name in spec.aggregates():
        part[name] = keys[name] if weights is None else keys[name] * weights
    by = [*keep, STATE, TOP, BIN]
    out = part.groupby(by, dropna=False, observed=True, sort=False)[[WEIGHT, *spec.aggregates()]].sum().reset_index()
    return sort_compact(out, by)


def sort_compact(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Rows in one order whatever the engine returned (results never depend on it; this keeps it so)."""
    return frame.sort_values(list(by), na_position="last", kind="stable", ignore_index=True)


# --- the pass in SQL (DuckDB, Spark) ---------------------------------------------------------


def proba_sql(spec: ProbaSpec, *, keep: Sequence[str], source: str, quote: Callable[[str], str], dialect: str) -> str:
    """One GROUP BY over ``source``: ``keep`` and the derived keys, the row count and the fixed-point sums,
    computed per row exactly as :func:`row_keys` does (same operations in the same order)."""
    cast = "TRY_CAST({} AS DOUBLE)" if dialect == "duckdb" else "CAST({} AS DOUBLE)"
    k = len(spec.columns)
    v = [f"__v{j}" for j in range(k)]
    kept = [quote(c) for c in keep]
    scale = f"CAST({SCALE} AS DOUBLE)"
    # 1: the values as doubles, NaN as NULL
    first = ", ".join(
        [
            *kept,
            *(
                f"CASE WHEN isnan({cast.format(quote(c))}) THEN NULL ELSE {cast.format(quote(c))} END AS {v[j]}"
                for j, c in enumerate(spec.columns)
            ),
        ]
    )
    missing = " + ".join(f"(CASE WHEN {x} IS NULL THEN 1 ELSE 0 END)" for x in v)
    negative = " OR ".join(f"{x} < 0" for x in v)
    total = "(" + " + ".join(v) + ")"
    state = (
        f"CASE WHEN ({missing}) = {k} THEN 1 WHEN ({missing}) > 0 THEN 2 WHEN {negative} THEN 3 "
        f"WHEN NOT (abs({total} - CAST(1 AS DOUBLE)) <= CAST({TOLERANCE!r} AS DOUBLE)) THEN 4 ELSE 0 END"
    )
    second = ", ".join([*kept, *v, f"{state} AS __state", f"{total} AS __total"])
    n = [f"__n{j}" for j in range(k)]
    third = ", ".join(
        [
            *kept,
            "__state",
            *(
                f"CASE WHEN __state = 0 THEN {x} / __total ELSE CAST(0 AS DOUBLE) END AS {n[j]}"
                for j, x in enumerate(v)
            ),
        ]
    )
    largest = f"greatest({', '.join(n)})"
    fourth = ", ".join([*kept, "__state", *n, f"{largest} AS __max"])
    top = "CASE " + " ".join(f"WHEN {x} = __max THEN {j}" for j, x in enumerate(n)) + " END"
    top = f"CASE WHEN __state = 0 THEN {top} ELSE -1 END"
    binned = (
        f"CASE WHEN __state = 0 THEN least(CAST(floor(__max * CAST({BINS} AS DOUBLE)) AS BIGINT), {BINS - 1}) "
        "ELSE -1 END"
    )
    fixed = [
        *(f"CAST(floor({x} * {scale} + CAST(0.5 AS DOUBLE)) AS BIGINT) AS __s{j}" for j, x in enumerate(n)),
        *(f"CAST(floor(({x} * {x}) * {scale} + CAST(0.5 AS DOUBLE)) AS BIGINT) AS __q{j}" for j, x in enumerate(n)),
    ]
    fifth = ", ".join(
        [*kept, f"__state AS {quote(STATE)}", f"{top} AS {quote(TOP)}", f"{binned} AS {quote(BIN)}", *fixed]
    )
    sums = [
        *(f"CAST(sum(__s{j}) AS BIGINT) AS {quote(sum_column(j))}" for j in range(k)),
        *(f"CAST(sum(__q{j}) AS BIGINT) AS {quote(square_column(j))}" for j in range(k)),
    ]
    group = [*kept, quote(STATE), quote(TOP), quote(BIN)]
    return (
        f"SELECT {', '.join(group)}, CAST(count(*) AS BIGINT) AS {quote(WEIGHT)}, {', '.join(sums)} FROM ("
        f"SELECT {fifth} FROM (SELECT {fourth} FROM (SELECT {third} FROM (SELECT {second} FROM "
        f"(SELECT {first} FROM {source}) __a) __b) __c) __d) __e GROUP BY {', '.join(group)}"
    )


# --- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbaTable:
    """Expected counts of a probabilistic feature (crossed with the recorded sensitive features).

    ``expected[o, g, y, ŷ]``: Σ π_ig over the rows of other-features group ``o`` (``other_keys[o]``)
    and cell (y, ŷ); ``g`` runs over ``levels`` then ``unknown`` (rows without probabilities, weight 1).
    ``squares``: the same sums of π². ``likely``: integer counts with each row in its most likely
    group. ``cell_rows[t, b, y, ŷ]`` and ``cell_mass[t, b, y, ŷ, g]``: rows and Σ π_g per proxy cell
    (most likely group t, bin b of the largest probability), valid rows only.
    """

    feature: str
    levels: tuple[str, ...]
    other_features: tuple[str, ...]
    other_keys: tuple[tuple[str, ...], ...]
    expected: np.ndarray
    squares: np.ndarray
    likely: np.ndarray
    cell_rows: np.ndarray
    cell_mass: np.ndarray
    has_label: bool
    rows: int
    unknown_rows: int

    @property
    def groups(self) -> tuple[str, ...]:
        return (*self.levels, UNKNOWN)

    def marginal(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(expected, squares, likely) of the probabilistic feature alone: shape (K+1, 2, 2)."""
        return self.expected.sum(axis=0), self.squares.sum(axis=0), self.likely.sum(axis=0)


class ProbaError(ValueError):
    """Rows whose probabilities are unusable: ``counts[state]`` rows per :data:`STATES` code."""

    def __init__(self, spec: ProbaSpec, counts: dict[int, int]) -> None:
        self.spec = spec
        self.counts = counts
        parts = [f"{n:,} row(s) {STATES[s]}" for s, n in sorted(counts.items())]
        super().__init__(
            f"probability columns {', '.join(spec.columns)} of {spec.feature!r}: {'; '.join(parts)} "
            f"(each row needs values ≥ 0 summing to 1 within {TOLERANCE:g}, or all of them empty for unknown)"
        )


def _totals(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Exact int64 sums of ``values`` per ``index`` (chunked float bincount: each chunk's sums stay
    below 2⁵³, where float64 adds integers exactly; np.add.at is ten times slower)."""
    out = np.zeros(size, np.int64)
    if len(values) and int(np.abs(values).max()) > (1 << 53) // _CHUNK:  # large sums (a compact frame)
        np.add.at(out, index, values)
        return out
    for start in range(0, len(index), _CHUNK):
        part = np.bincount(index[start : start + _CHUNK], weights=values[start : start + _CHUNK], minlength=size)
        out += part.astype(np.int64)
    return out


_CHUNK = 1 << 20  # rows per chunk: 2²⁰ rows of at most 2³² each sum below 2⁵³


def count_proba(
    frame: pd.DataFrame,
    *,
    spec: ProbaSpec,
    sensitive: Sequence[str],
    y_true: np.ndarray | None,
    y_pred: np.ndarray,
) -> ProbaTable:
    """The :class:`ProbaTable` of ``frame``: rows (or a compact frame of rows) holding the probability
    columns, or a frame :func:`compact_proba` or an engine's SQL produced (with the derived keys)."""
    k = len(spec.columns)
    weights = frame_weights(frame)
    weights = np.ones(len(frame), np.int64) if weights is None else weights
    if STATE in frame.columns:
        state = frame[STATE].to_numpy(dtype=np.int64)
        top = frame[TOP].to_numpy(dtype=np.int64)
        binned = frame[BIN].to_numpy(dtype=np.int64)
        sums = [frame[sum_column(j)].to_numpy(dtype=np.int64) for j in range(k)]
        squares = [frame[square_column(j)].to_numpy(dtype=np.int64) for j in range(k)]
    else:
        keys = row_keys(probabilities_of(frame, spec))
        state, top, binned = keys[STATE], keys[TOP], keys[BIN]
        sums = [keys[sum_column(j)] * weights for j in range(k)]
        squares = [keys[square_column(j)] * weights for j in range(k)]
    bad = {int(s): int(weights[state == s].sum()) for s in np.unique(state) if s >= 2}
    if bad:
        raise ProbaError(spec, bad)
    index, keys_ = finest_groups(frame, sensitive)
    other = max(len(keys_), 1)
    y = np.zeros(len(frame), np.int64) if y_true is None else np.asarray(y_true, dtype=np.int64)
    cell = 2 * y + np.asarray(y_pred, dtype=np.int64)
    valid = state == 0
    size = other * (k + 1) * 4
    base = index * ((k + 1) * 4) + cell
    # exact integer totals first (fixed point), converted to floats once
    expected = np.zeros(size, np.int64)
    square = np.zeros(size, np.int64)
    for j in range(k):
        expected += _totals(base + j * 4, sums[j], size)
        square += _totals(base + j * 4, squares[j], size)
    unknown_w = np.where(valid, 0, weights)
    expected += _totals(base + k * 4, unknown_w * SCALE, size)
    square += _totals(base + k * 4, unknown_w * SCALE, size)
    likely = _totals(base + np.where(valid, top, k) * 4, weights, size)
    cells = np.where(valid, (np.where(valid, top, 0) * BINS + np.where(valid, binned, 0)) * 4 + cell, 0)
    cell_rows = _totals(cells, np.where(valid, weights, 0), k * BINS * 4)
    cell_mass = np.stack([_totals(cells, np.where(valid, sums[j], 0), k * BINS * 4) for j in range(k)], axis=-1)
    shape = (other, k + 1, 2, 2)
    return ProbaTable(
        feature=spec.feature,
        levels=spec.levels,
        other_features=tuple(sensitive),
        other_keys=tuple(keys_) if keys_ else ((),),
        expected=expected.reshape(shape) / SCALE,
        squares=square.reshape(shape) / SCALE,
        likely=likely.reshape(shape),
        cell_rows=cell_rows.reshape(k, BINS, 2, 2),
        cell_mass=cell_mass.reshape(k, BINS, 2, 2, k) / SCALE,
        has_label=y_true is not None,
        rows=int(weights.sum()),
        unknown_rows=int(weights[~valid].sum()),
    )
